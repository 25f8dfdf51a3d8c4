"""Land tenure (``sim.core.land``): the stock follows the workers while villages
readjust, stays with the household once tenure is fixed (2003), is divided only at a split, and
is conserved; the income anchor keeps the published rural income the average; the Mesa
reference model writes the same rules."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim import Simulation
from sim.core import land
from sim.core.encodings import HOME, RURAL, VACANT
from sim.core.params import ParamError
from sim.core.state import PERSON_FIELDS, Persons, rural_members
from sim.engine import checkpoint as ck
from sim.mesa import land as mesa_land

AGENTS = 20_000


def _toy():
    """Three households: 0 with three workers and 6 mu, 1 an empty homestead still holding
    1 mu (a household that died out), 2 with two workers and 4 mu; one free slot in each."""
    hh_start = np.array([0, 4, 7, 10])
    p = Persons.allocate(10, PERSON_FIELDS)
    p.hh = np.repeat(np.arange(3), np.diff(hh_start))
    p.hukou[:] = VACANT
    p.hukou[[0, 1, 2, 7, 8]] = RURAL
    p.loc[:] = HOME
    stock = np.array([6.0, 1.0, 4.0], np.float32)
    return hh_start, p, stock


def test_split_divides_by_hand():
    hh_start, p, stock = _toy()
    # a couple sets up in the empty homestead: he from household 0 (6 mu / 3 workers), she
    # from household 2 (4 mu / 2 workers); a third person marries into household 2's free slot
    src, dst = np.array([1, 7, 2]), np.array([4, 5, 9])
    moved = land.split_land(src, dst, hh_start, p.core, stock)
    assert moved == pytest.approx(4.0)
    np.testing.assert_allclose(stock, [4.0, 5.0, 2.0])
    assert float(stock.sum()) == pytest.approx(11.0)


def test_mesa_split_matches_the_kernel():
    hh_start, p, stock = _toy()
    hh, hukou = p.hh, p.hukou
    houses = [SimpleNamespace(members=[], land_stock=np.float32(s)) for s in stock]
    people = []
    for i in range(10):
        x = SimpleNamespace(household=houses[hh[i]], hukou=int(hukou[i]), loc=HOME)
        houses[hh[i]].members.append(x)
        people.append(x)
    moves = [(people[1], people[4]), (people[7], people[5]), (people[2], people[9])]
    mesa_land.split(None, SimpleNamespace(land_tenure="fixed"), moves)
    land.split_land(np.array([1, 7, 2]), np.array([4, 5, 9]), hh_start, p.core, stock)
    assert [float(h.land_stock) for h in houses] == [float(s) for s in stock]
    before = [float(h.land_stock) for h in houses]
    mesa_land.split(None, SimpleNamespace(land_tenure="readjusted"), moves)
    assert [float(h.land_stock) for h in houses] == before  # no division while readjusting


def test_tenure_is_a_validated_dated_policy():
    sim = Simulation(agents=2000, seed=1, years=1)
    assert sim.params.at(2002).land_tenure == "readjusted"
    assert sim.params.at(2003).land_tenure == "fixed"
    with pytest.raises(ParamError, match="allowed values.*readjusted"):
        Simulation({"land_tenure": "fixd"}, agents=2000, seed=1, years=1)


def _counts(sim):
    hs, p = sim.households, sim.persons
    n = np.array([rural_members(sim.places.hh_start, h, p.loc, p.hukou)[0]
                  for h in range(hs.n)])
    return n


@pytest.fixture(scope="module")
def fixed_run():
    """Fixed tenure from the start (2000), four years with the life course."""
    sim = Simulation({"land_tenure": "fixed"}, agents=AGENTS, seed=3, start_year=2000, years=4)
    start = sim.households.land_mu.astype(np.float64).copy()
    sim.run()
    return sim, start


def test_fixed_land_is_conserved_and_moves_only_at_splits(fixed_run):
    sim, start = fixed_run
    end = sim.households.land_mu.astype(np.float64)
    assert end.sum() == pytest.approx(start.sum(), rel=1e-6)
    changed = np.flatnonzero(np.abs(end - start) > 1e-4)
    assert changed.size > 0  # some couples set up their own household
    assert (end >= 0).all()
    # households that grew hold the same land: land per worker fell where members joined
    n = _counts(sim)
    grown = (n > 0) & (np.abs(end - start) <= 1e-4)
    pw_now = end[grown] / n[grown]
    pw_entitled = sim.households.land_mu_per_worker[grown].astype(np.float64)
    assert (pw_now < pw_entitled * 0.999).any() and (pw_now > pw_entitled * 1.001).any()


def test_anchor_keeps_the_provincial_mean(fixed_run):
    sim, _ = fixed_run
    n = _counts(sim)
    hs = sim.households
    s = np.bincount(sim.hh_prov, hs.land_mu.astype(np.float64), sim.geo.n_prov)
    e = np.bincount(sim.hh_prov, hs.land_mu_per_worker.astype(np.float64) * n, sim.geo.n_prov)
    np.testing.assert_allclose(land.anchor_factor(sim), s / e, rtol=1e-12)
    # the year's farm productivity uses the mean anchored on the state of its January
    sim.resolve_year(sim.year)
    np.testing.assert_allclose(sim.mean_land_now / sim.mean_land_prov,
                               land.anchor_factor(sim), rtol=1e-12)


def test_readjusted_stock_follows_the_workers():
    sim = Simulation({"land_tenure": "readjusted"}, agents=AGENTS, seed=3, start_year=2000,
                     years=2)
    sim.run()
    n = _counts(sim)
    expect = sim.households.land_mu_per_worker * n.astype(np.float32)
    sim.mech["household"].home_income(sim)
    np.testing.assert_array_equal(sim.households.land_mu, expect)
    np.testing.assert_array_equal(land.anchor_factor(sim), np.ones(sim.geo.n_prov))


def test_fixed_income_is_the_cobb_douglas_of_the_stock(fixed_run):
    sim, _ = fixed_run
    sim.mech["household"].home_income(sim)
    hs, p, pars = sim.households, sim.persons, sim.pars
    a = pars.land_output_elasticity
    h = np.arange(hs.n)
    at_home = np.array([rural_members(sim.places.hh_start, k, p.loc, p.hukou)[1] for k in h])
    log_t = np.log(np.maximum(hs.land_mu.astype(np.float64), 1e-3))
    expect = (sim.yq.log_farm_prod[sim.hh_prov] + a * log_t
              - a * np.log(np.clip(at_home, 1, 63)) + pars.local_development)
    np.testing.assert_allclose(sim.buf.y_home, expect, rtol=0, atol=1e-9)


def test_reference_model_has_the_same_incomes_and_land_under_fixed_tenure():
    """Rule level, on the core's state after 14 months of fixed tenure: the reference model's
    home incomes, land per worker for conversions and income anchor equal the core's."""
    from sim.mesa import docking as dk

    sim = Simulation({"land_tenure": "fixed"}, agents=3000, seed=5, start_year=2000, years=2,
                     threads=1)
    for _ in range(14):
        sim.step()
    m = dk.transplant(sim)
    sim.mech["household"].home_income(sim)
    m.update_market_signals()
    for h in m.households:
        h.compute_home_income()
    np.testing.assert_allclose([h.log_income_home for h in m.households], sim.buf.y_home,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.mean_land_now, sim.mean_land_now, rtol=1e-12)
    mesa_land.land_now(m)
    p, hs = sim.persons, sim.households
    core = [land.land_per_worker(k, sim.places.hh_start, p.loc, p.hukou,
                                 hs.land_mu_per_worker, hs.land_mu, True) for k in range(hs.n)]
    np.testing.assert_allclose([h.land_now for h in m.households], core, rtol=1e-12)


def test_resume_across_the_switch_is_byte_identical(tmp_path):
    from tests.test_checkpoint import assert_same_results, assert_same_state

    kw = {"agents": 3000, "seed": 2, "start_year": 2001, "years": 4}
    for year in (2002, 2003):  # saved before the switch (readjusted), and after it
        path = tmp_path / f"s{year}.npz"
        sim = Simulation(**kw)
        res = sim.run(progress=ck.save_at(sim, year, path))
        resumed = ck.load_state(path)
        assert_same_results(res, resumed.run())
        assert_same_state(sim, resumed)


def test_fixing_land_in_1994_raises_the_surplus():
    """Scenario ``land_fixed_1994`` against the baseline, common random numbers: from 1994
    households that grow keep the same land, so more of their workers at home are surplus by
    2002; nothing differs before the switch."""
    from sim.experiments.scenario import load_scenario

    runs = {}
    for name in ("baseline", "land_fixed_1994"):
        sc = load_scenario(name)
        runs[name] = Simulation(sc.to_params(), agents=AGENTS, seed=4, years=18).run()
    base, alt = (runs[k].annual("surplus_rural_labour") for k in ("baseline", "land_fixed_1994"))
    np.testing.assert_array_equal(base[:9], alt[:9])  # 1985-1993
    assert alt[-1] > base[-1] * 1.05, (base[-1], alt[-1])  # 2002
