"""The destination-choice tables (``choice.type_tables``) computed by fused kernels equal, bit for
bit, the array formula they replaced (version 0.11; the formula is kept here as the reference):
utilities in the same order of operations, numpy's exp, sequential running sums per row. So
the kernels changed no result, and any future change that does shows here first. The tables of
a month's deciders only (``tables_for``, which builds the full ones too) are the same rows of them,
bit for bit, with the same maximum, for any choice of rows."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.geography import load_geography
from sim.engine.registry import Params
from sim.mechanisms.decisions.choice import (
    N_SEX,
    dist_class_probs,
    n_types,
    table_inputs,
    tables_for,
    type_tables,
)

GEO = load_geography()


def reference(geo, pars, wage, emp_rate, living, hukou_pen, y_ref, dist_probs, log_size=None,
              fallback=None, female_cost=None):
    """The array formula of version 0.10 (seven-dimensional broadcast)."""
    lam = pars.nest_lambda
    costs = np.array([pars.cost_within_county, pars.cost_across_county,
                      pars.cost_across_prefecture, pars.cost_across_province])
    move_cost = dist_probs @ costs
    move_cost = move_cost + pars.cost_per_1000km * (
        geo.prov_dist_km[:, geo.dest_prov] / 1000.0)[:, None, :]
    if emp_rate.ndim == 1:
        emp_rate = np.repeat(emp_rate[:, None], N_SEX, axis=1)
    er = emp_rate[:, None, None, :]
    income = wage[..., None] * er
    if fallback is not None:
        income = income + (1.0 - er) * fallback[..., None]
    net = np.maximum(income - living[:, None, None, None], 0.05 * y_ref)
    log_net = np.log(net / y_ref)
    pull = np.array([1.0 + pars.young_pull_shift, 1.0, 1.0]) * pars.beta_income
    left = pars.exit_age - np.array([22.0, 37.0, 52.0])  # working years left (exit >= 55)
    assert pars.exit_age >= 55
    age_cost = (np.array([0.0, 1.5, 3.0]) * pars.age_cost_per_decade
                + pars.age_horizon_cost * (left[0] / left - 1.0))
    sex_cost = np.zeros((geo.n_prov, N_SEX))  # by home province (decisions.norms)
    sex_cost[:, 1] = pars.female_cost if female_cost is None else female_cost
    v = (pull[None, None, None, :, None, None, None]
         * log_net.transpose(1, 2, 3, 0)[None, :, :, None, :, None, :]
         - move_cost[:, None, None, None, None, :, :]
         - age_cost[None, None, None, :, None, None, None]
         - sex_cost[:, None, None, None, :, None, None]
         + (-hukou_pen)[None, None, None, None, None, None, :])
    if log_size is not None:
        v = v + lam * log_size
    v = v.reshape(n_types(geo.n_prov), geo.n_dest) / lam
    vmax = v.max()
    e = np.exp(v - vmax)
    cum = np.cumsum(e, axis=1)
    return e, cum, cum[:, -1].copy(), vmax


def _case(case, seed=7):
    rng = np.random.default_rng(seed)
    nd = GEO.n_dest
    pars = Params({"female_cost": 0.3, "young_pull_shift": 0.2}).at(2000)
    wage = rng.uniform(300, 1500, (nd, 3, 2))
    emp = rng.uniform(0.5, 1.0, (nd, 2) if case == "by_sex" else nd)
    args = (GEO, pars, wage, emp, rng.uniform(100, 400, nd), rng.normal(1.0, 0.5, nd), 350.0,
            dist_class_probs(GEO.n_prov, GEO.dest_prov, GEO.dest_tier, pars))
    extra = {"size": (rng.normal(0, 1, nd), None, None),
             "fallback": (None, rng.uniform(100, 600, (nd, 3, 2)), None),
             "female_by_prov": (None, None, rng.normal(0.0, 1.5, GEO.n_prov))}.get(
        case, (None, None, None))
    return args, extra


CASES = ["plain", "by_sex", "size", "fallback", "female_by_prov"]


@pytest.mark.parametrize("case", CASES)
def test_kernels_equal_the_array_formula(case):
    args, extra = _case(case)
    got = type_tables(*args, *extra)
    want = reference(*args, *extra)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(np.asarray(g), np.asarray(w))
    e, cum, rowsum, _ = got
    assert e.shape == (n_types(GEO.n_prov), GEO.n_dest) and (e > 0).all() and e.max() == 1.0
    np.testing.assert_array_equal(rowsum, cum[:, -1])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_of_deciders_equal_the_full_tables(case, seed):
    """Any set of rows (none, a few, all) is those rows of the full tables, and the maximum
    found without the table is the table's, bit for bit."""
    args, extra = _case(case, seed)
    e, cum, rowsum, vmax = type_tables(*args, *extra)
    inp = table_inputs(*args, *extra)
    rng = np.random.default_rng(seed)
    n = e.shape[0]
    for rows in (np.arange(0), np.sort(rng.choice(n, 5, replace=False)),
                 np.sort(rng.choice(n, n // 3, replace=False)), np.arange(n)):
        got = tables_for(inp, rows)
        assert got[3] == vmax
        for g, w in zip(got[:3], (e[rows], cum[rows], rowsum[rows]), strict=True):
            assert np.array_equal(g, w)


def test_maximum_found_where_a_single_type_holds_it():
    """A destination far cheaper for the capital prefecture of one province than for anyone
    else: the largest utility is there, and the shift found without the table is exactly it
    (the largest exp(V/lambda - vmax) is 1)."""
    args, _ = _case("plain", 11)
    inp = table_inputs(*args)
    mc = inp.move_cost.copy()
    mc[5, 1, 17] -= 40.0
    inp = inp._replace(move_cost=mc)
    e, *_ = tables_for(inp, np.arange(n_types(GEO.n_prov)))
    assert e.max() == 1.0 and (e == 1.0).sum() >= 1
    top = np.unravel_index(int(np.argmax(e)), e.shape)
    assert top[1] == 17 and top[0] // (e.shape[0] // GEO.n_prov) == 5 and top[0] % 2 == 1


def test_rows_of_the_deciders_are_their_types():
    """The rows built in a month are the deciders' types, each once, increasing, and a type's
    slot points at its row."""
    from sim import Simulation
    from sim.mechanisms.decisions.choice import _rows_of, person_type

    sim = Simulation(agents=3000, seed=2, start_year=2000, years=1, threads=1)
    p, pl = sim.persons.core, sim.places
    n_all = n_types(GEO.n_prov)
    rng = np.random.default_rng(5)
    for size in (0, 1, 40, 3000):
        who = np.sort(rng.choice(3000, size, replace=False)).astype(np.int64)
        slot, rows = _rows_of(who, p, pl.county_prov, pl.county_capital, n_all)
        types = [person_type(i, p, pl.county_prov, pl.county_capital)[0] for i in who]
        assert rows.tolist() == sorted(set(types))
        assert np.array_equal(slot[rows], np.arange(rows.size))
        assert (np.delete(slot, rows) == -1).all()
