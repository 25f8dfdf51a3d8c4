"""Own-account work, the free-entry informal margin (``sim/mechanisms/self_employment.py``).

Runs are small (20,000 agents) with fixed seeds; the tolerances are stated where they are used.
Comparisons between a run with the margin and one without share the random numbers of every
other decision (common random numbers), so their differences are the margin's effect.
"""

from __future__ import annotations

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays

from sim import Simulation
from sim.core.encodings import HOME, JOB_INFORMAL, JOB_SELF, RURAL
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms.self_employment import earnings, steady_share

ON = {"self_entry_rate": 0.15}
AGENTS, SEED, START, YEARS = 20_000, 3, 1995, 8


def _run(params: dict):
    sim = Simulation(params, agents=AGENTS, seed=SEED, start_year=START, years=YEARS)
    return sim, sim.run()


@pytest.fixture(scope="module")
def pair():
    return _run({}), _run(ON)


def test_earnings_fall_with_crowding():
    """e_d = r * wbar_d * ((1 + N/K) / 2) ** -eta: r * wbar at capacity, falling in N."""
    pars = Params({"self_income_ratio": 0.8, "self_capacity": 0.5,
                   "self_crowding_elasticity": 0.7}).at(2000)
    levels = np.array([[400.0, 600.0], [500.0, 500.0]])
    demand = np.array([[10.0, 30.0], [5.0, 5.0]])
    base = demand.copy()
    wbar = np.array([550.0, 500.0])
    cap = 0.5 * base.sum(axis=1)
    np.testing.assert_allclose(earnings(levels, demand, base, cap, pars), 0.8 * wbar)
    grid = [earnings(levels, demand, base, np.full(2, n), pars)[0] for n in (0, 5, 20, 80)]
    assert np.all(np.diff(grid) < 0)
    assert steady_share(pars) == pytest.approx(0.0)  # entry 0: the margin is off
    on = Params({"self_entry_rate": 0.09, "self_exit_rate": 0.03}).at(2000)
    assert steady_share(on) == pytest.approx(0.75)


def test_off_by_default_nobody_self_employed(pair):
    (sim, res), _ = pair
    assert not np.any(sim.persons.job & JOB_SELF)
    assert np.all(res.annual("labour_status_share", "migrants:self_employed") == 0)


def test_margin_absorbs_the_jobless(pair):
    """With the margin, some migrants work on their own, only those away without a wage job,
    and a good part of the jobless are not idle (common random numbers)."""
    (_, off), (sim, on) = pair
    p = sim.persons
    own = (p.job & JOB_SELF) != 0
    assert own.any()
    assert np.all((p.loc[own] != HOME) & (p.hukou[own] == RURAL) & (p.employed[own] == 0))
    share = on.annual("labour_status_share", "migrants:self_employed")
    assert np.all((share > 0) & (share < 1))
    statuses = ("formal", "informal_wage", "self_employed", "unemployed")
    total = sum(on.annual("labour_status_share", f"migrants:{s}") for s in statuses)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    # the jobless are not all idle: of the migrants without a wage job, at least a quarter work
    # on their own account (about 0.4 with the 0.6 defaults). The unemployment rate itself need
    # not fall: the margin raises the income a migrant expects and draws more migrants (Fields
    # 1975, J. Dev. Econ. 2(2)); with the 0.6 defaults it is within noise of the run without.
    se = on.annual("labour_status_share", "migrants:self_employed")[-3:].mean()
    un = on.annual("labour_status_share", "migrants:unemployed")[-3:].mean()
    assert se / (se + un) > 0.25
    assert off.annual("labour_status_share", "migrants:self_employed").max() == 0


def test_margin_keeps_migrants_away(pair):
    """Own-account work is income and not idleness: fewer go home, so the stock is larger
    (seed 1.4: informal migrants earn several times farm incomes)."""
    (_, off), (_, on) = pair
    assert on.annual("migrant_stock")[-1] > off.annual("migrant_stock")[-1]


def test_informal_share_counts_own_account_work(pair):
    (_, off), (_, on) = pair
    a = on.annual("informal_share_of_urban_labour")
    b = off.annual("informal_share_of_urban_labour")
    assert np.all((a > 0) & (a < 1))
    assert a[-1] > b[-1]


def test_earnings_by_status_from_the_state(pair):
    """``mean_earnings_rmb_2000`` of the last month, by hand from the persons: wage jobs from
    the month's wages (formal: without the informal flag), own-account work from the
    remittance it sets (``remit_share`` of the earnings); all workers' mean is the mean over
    both. Without the margin nobody is self-employed: NaN, and wage earners' mean is the
    migrants' mean wage."""
    (sim_off, off), (sim, on) = pair
    p, w, t = sim.persons, sim.buf.wage.astype(np.float64), on.n_months - 1
    emp = (p.hukou == RURAL) & (p.loc != HOME) & (p.employed == 1)
    assert np.array_equal(emp, w > 0)
    informal = emp & ((p.job & JOB_INFORMAL) != 0)
    formal = emp & ~informal
    own = (p.job & JOB_SELF) != 0
    earned = sim.buf.remit[own].astype(np.float64) / sim.pars.remit_share
    assert formal.sum() > 100 and informal.sum() > 100 and own.sum() > 100
    ser = on.series()
    got = {g: ser["mean_earnings_rmb_2000", f"migrants:{g}"][t]
           for g in ("formal", "informal_wage", "self_employed", "working")}
    assert got["formal"] == pytest.approx(w[formal].mean(), rel=1e-9)
    assert got["informal_wage"] == pytest.approx(w[informal].mean(), rel=1e-9)
    assert got["self_employed"] == pytest.approx(earned.mean(), rel=1e-6)
    assert got["working"] == pytest.approx((w[emp].sum() + earned.sum()) / (emp.sum() + own.sum()),
                                           rel=1e-6)
    s_off = off.series()
    assert np.isnan(s_off["mean_earnings_rmb_2000", "migrants:self_employed"]).all()
    np.testing.assert_allclose(s_off["mean_earnings_rmb_2000", "migrants:working"],
                               s_off["mean_wage_rmb_2000", "migrants"], rtol=1e-12)


def test_invariants_hold_with_the_margin():
    out = run_checked({**ON, "self_exit_rate": 0.2}, agents=3000, seed=2, start_year=1990,
                      years=3)
    assert out["failures"] == []


_CHILD = """
import sys, numpy as np
from sim import Simulation
sim = Simulation({"self_entry_rate": 0.15}, agents=8000, seed=5, start_year=1998, years=4)
res = sim.run()
np.savez(sys.argv[1], job=sim.persons.job, loc=sim.persons.loc,
         se=res.annual("labour_status_share", "migrants:self_employed"))
"""


def test_thread_count_bit_identical(tmp_path):
    """The margin's draws are keyed by person and month: 1 and 2 threads give the same state."""
    out = arrays_by_thread_count(_CHILD, tmp_path)
    assert_same_arrays(out[1], out[2])
