"""Demand for migrants as the urban jobs locals do not fill (``local_competition``, issue 11).

Total urban labour demand grows with regional product; the local (urban hukou) workforce fills
it first; migrants are offered the rest, and former migrants who converted to a local hukou
count as locals. The unit tests use the functions in ``sim/mechanisms/labour/demand.py``; the
run uses 20,000 agents, seed 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.geography import load_geography
from sim.engine.registry import Params
from sim.mechanisms.labour.demand import (
    advance_market,
    market_at_start,
    migrant_demand_shares,
    residual_demand,
    urban_at_start,
)
from sim.mechanisms.labour.gender import export_factor

ON = {"local_competition": True}


@pytest.fixture(scope="module")
def geo():
    return load_geography()


def test_start_splits_urban_jobs_between_locals_and_migrants(geo):
    """1985: total = urban employment spread by economy size; total - local = the migrants'
    share of it, spread by the migrant demand weights (east and six main destinations up)."""
    pars = Params(ON).at(1985)
    total, local = urban_at_start(geo, pars, scale=1.0)
    assert np.all(local >= 0) and np.all(total >= local)
    migrant = total - local
    assert migrant.sum() == pytest.approx(
        pars.migrant_share_urban_jobs_1985 * pars.urban_jobs_1985, rel=1e-9
    )
    assert total.sum() >= pars.urban_jobs_1985 * (1 - 1e-9)
    east = geo.prov_region[geo.dest_prov] == 0
    # the east holds a larger share of migrant jobs than of all urban jobs
    assert migrant[east].sum() / migrant.sum() > total[east].sum() / total.sum()
    base = residual_demand(total, local, geo, pars)
    assert base.sum() == pytest.approx(migrant.sum(), rel=1e-12)
    np.testing.assert_allclose(base / base.sum(), migrant_demand_shares(geo, pars), rtol=1e-12)


def test_residual_moves_with_output_and_locals(geo):
    """A month of growth: total demand grows with output times its elasticity, locals at their
    own rate; migrants get the national difference, never less than nothing, placed by the
    migrant demand shares; settled former migrants reduce it one for one."""
    pars = Params(ON).at(2000)
    total, local = urban_at_start(geo, pars, scale=1.0)
    growth = np.full(geo.n_dest, 10.0)
    demand = residual_demand(total, local, geo, pars)
    d1, t1, l1 = advance_market(demand, total, local, growth, geo, pars)
    np.testing.assert_allclose(
        t1, total * (1 + pars.urban_labour_output_elasticity * 0.10) ** (1 / 12)
    )
    np.testing.assert_allclose(l1, local * (1 + pars.local_labour_growth) ** (1 / 12))
    assert d1.sum() == pytest.approx(max(t1.sum() - l1.sum(), 0), rel=1e-12)
    settled = np.full(geo.n_dest, 1000.0)
    d2, _, _ = advance_market(demand, total, local, growth, geo, pars, settled)
    assert d2.sum() == pytest.approx(d1.sum() - settled.sum(), rel=1e-12)
    np.testing.assert_allclose(d2 / d2.sum(), d1 / d1.sum(), rtol=1e-12)
    shrink = Params({**ON, "local_labour_growth": 0.05, "urban_labour_output_elasticity": 0.1})
    d, t, lo = demand, total, local
    for _ in range(12 * 30):  # locals outgrow demand: migrant demand reaches zero, not below
        d, t, lo = advance_market(d, t, lo, np.full(geo.n_dest, 5.0), geo, shrink.at(2000))
    assert np.all(d >= 0) and d.sum() == 0


def test_later_start_continues_the_1985_path(geo):
    """A 2000 start opens with the total urban demand and local workforce that a run from 1985
    has grown to by December 1999 (the same monthly steps), and with the migrant demand their
    residual gives (no settled persons at a start)."""
    run = Simulation(ON, agents=2000, seed=3, start_year=1985, years=15)
    run.run()
    assert (run.year, run.month) == (1999, 12)
    d00, t00, l00 = market_at_start(geo, run.params, run.scale, 2000)
    np.testing.assert_allclose(t00, run.urban_total, rtol=1e-12)
    np.testing.assert_allclose(l00, run.urban_local, rtol=1e-12)
    _, t85, _ = market_at_start(geo, run.params, run.scale, 1985)
    assert t00.sum() > 1.5 * t85.sum()  # fifteen years of growth, not the 1985 level
    np.testing.assert_allclose(
        d00, residual_demand(t00, l00, geo, run.params.at(2000),
                             mfg=export_factor(geo, run.params.at(2000), 2000)), rtol=1e-12)


def test_off_leaves_the_exogenous_level(geo):
    """With the switch off the base demand is the old level grown with GDP: the same numbers as
    the exogenous-level rule has always given (the regression baselines hold this for whole
    runs)."""
    params = Params({"local_competition": False})
    d, _, _ = market_at_start(geo, params, 1.0, 1985)
    assert d.sum() == pytest.approx(params.at(1985).migrant_jobs_initial, rel=1e-9)


def test_run_keeps_invariants_and_counts_settled_as_locals():
    """A 1995-2005 run with the switch on: demand equals total less locals less settled former
    migrants in the last month, and stays non-negative."""
    sim = Simulation({**ON, "conversion_rate_small": 0.1}, agents=20_000, seed=3,
                     start_year=1995, years=10)
    sim.run()
    from sim.mechanisms.labour import count_settled

    settled = count_settled(sim.persons.core, sim.geo.n_dest)
    assert settled.sum() > 0
    base = sim.base_demand.sum(axis=1)
    assert np.all(base >= 0)
    # base demand was computed at the start of the last month, before that month's moves
    expected = max(sim.urban_total.sum() - sim.urban_local.sum() - settled.sum(), 0)
    assert abs(base.sum() - expected) <= 0.02 * expected + 50


def test_reference_model_follows_the_same_rule():
    """The Mesa reference model (plain agents) applies the same residual: its base demand is
    total less locals less its own settled former migrants."""
    from sim.mesa.reference import ReferenceModel

    m = ReferenceModel(ON, agents=1500, seed=1, start_year=2000, years=1)
    m.run()
    settled = m.count_settled()
    expected = max(m.urban_total.sum() - m.urban_local.sum() - settled.sum(), 0)
    assert m.base_demand.sum() == pytest.approx(expected, rel=0.05, abs=5)
