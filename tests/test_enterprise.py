"""Returnees' enterprise and savings (``sim/mechanisms/enterprise.py``, issue 17 part 4).

The kernel tests use hand-made populations (one county of two-person households, everyone at
home), so counts are binomial with a known mean; they are checked within 4 standard errors. The
run tests are small (3,000-20,000 agents, a few years) with fixed seeds; runs compared share the
random numbers of every other decision (common random numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays, assert_same_series_except

import sim.engine.registry as registry
from sim import Simulation
from sim.core.encodings import HOME, NO_SECTOR, RURAL
from sim.core.rng import tick_key
from sim.core.state import FIRST_YEAR0, PERSON_FIELDS, Persons
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.experiments.scenario import load_scenario
from sim.mechanisms.enterprise import (
    A0,
    B_SAV,
    CREDIT,
    H_YOUNG,
    HIRED,
    LOAN,
    Q_JOBS,
    SIYB,
    Enterprise,
    Savings,
    add_income,
    businesses,
    coefficients,
    save,
    start_chance,
)

N = 40_000
AGENTS, SEED, START, YEARS = 3000, 2, 2000, 4
ON = {"ent_start_rate_year": 0.05}  # high, so a tiny run has many businesses


def _population(n=N, age=30, first_year=1998):
    """n rural persons at home in one county, in households of two."""
    t = Persons.allocate(n, PERSON_FIELDS)
    t.hukou[:] = RURAL
    t.age[:] = age
    t.loc[:] = HOME
    t.hh = np.arange(n) // 2
    t.first_year = first_year
    p = t.core
    hh_start = np.arange(0, n + 1, 2, dtype=np.int64)
    county_start = np.array([0, n], np.int64)
    return p, hh_start, county_start


def _state(n=N):
    return {"tve": np.zeros(n, np.int8), "savings": np.zeros(n, np.int16),
            "years_away": np.zeros(n, np.int8), "biz_months": np.zeros(n, np.int8),
            "biz_jobs": np.zeros(n, np.int8)}


def _coef(**kw):
    pars = Params({"ent_start_rate_year": 0.01, **kw}).at(2005)
    return coefficients(pars)


def _run_kernel(p, hh_start, county_start, st, coef, tick=5):
    keys = np.array([tick_key(1, s, tick) for s in Enterprise.streams[:3]]
                    + [tick_key(1, "enterprise.levers", 0)], np.uint64)
    out = np.zeros((county_start.size - 1, 4), np.int64)
    businesses(keys, 2005, p, county_start, hh_start, st["tve"], st["savings"],
               st["years_away"], st["biz_months"], st["biz_jobs"], coef, out)
    return out


def _within(count, n, prob):
    se = math.sqrt(n * prob * (1 - prob))
    assert abs(count - n * prob) < 4 * se, (count, n * prob, se)


def _monthly(py):
    return 1.0 - (1.0 - py) ** (1.0 / 12.0)


# ----------------------------------------------------------------------------- kernels
def test_defaults_are_off_and_estimates_marked():
    sch = registry.schema()
    assert sch["ent_start_rate_year"].default == 0.0
    for name in ("ent_start_rate_year", "ent_savings_log", "ent_jobs_per_business",
                 "ent_saving_share", "micro_loan_rmb"):
        assert "estimate" in sch[name].source, name
    assert sch["siyb_coverage"].role == sch["micro_credit_access"].role == "policy"
    assert sch["siyb_coverage"].default == sch["micro_credit_access"].default == 0.0


def test_start_chance_base_and_its_gradients():
    """A stayer with nothing starts at the base rate; savings, schooling, training, years away,
    SIYB (returnees only) and a micro-loan each raise the chance."""
    p, _, _ = _population(n=8, first_year=-1)
    st = _state(8)
    coef = _coef(siyb_coverage=1.0, micro_credit_access=1.0)
    base = start_chance(p, 0, st["savings"], st["years_away"], coef, 1.0, 1.0)
    assert base == pytest.approx(_monthly(0.01))
    st["savings"][1] = 500  # RMB 5,000
    p.school[2] = 2
    p.trained[3] = 1
    st["years_away"][4] = 5
    got = [start_chance(p, i, st["savings"], st["years_away"], coef, 1.0, 1.0) for i in range(1, 5)]
    assert all(g > base for g in got)
    # log-odds of 5,000 RMB of savings: ent_savings_log * log(6)
    z = coef[A0] + coef[B_SAV] * math.log(6.0)
    assert got[0] == pytest.approx(_monthly(1 / (1 + math.exp(-z))))
    assert start_chance(p, 0, st["savings"], st["years_away"], coef, 1.0, 0.0) == pytest.approx(
        got[0])  # a RMB 5,000 micro-loan is the same capital as RMB 5,000 of savings
    assert coef[LOAN] == 5000.0 and coef[CREDIT] == 1.0
    assert start_chance(p, 0, st["savings"], st["years_away"], coef, 0.0, 1.0) == base  # stayer
    p.first_left[0] = 1999 - FIRST_YEAR0  # a returnee reached by SIYB
    assert start_chance(p, 0, st["savings"], st["years_away"], coef, 0.0, 1.0) > base
    assert coef[SIYB] == 1.0


def test_start_ups_are_binomial_and_invest_the_savings():
    """Monthly chance from the yearly rate 0.5 (no jobs offered, so nobody is hired): starts
    within 4 s.e.; each founder's savings are invested; returnees are counted."""
    p, hh, cs = _population()
    st = _state()
    st["savings"][:] = 300
    coef = _coef(ent_jobs_per_business=0.0, ent_savings_log=0.0, ent_school_log=0.0)
    coef[A0] = 0.0  # yearly 0.5
    out = _run_kernel(p, hh, cs, st, coef)
    started = st["biz_months"] == 1
    _within(started.sum(), N, _monthly(0.5))
    assert out[0, 0] == started.sum() == out[0, 1]  # all are returnees (first_year 1998)
    assert np.all(st["savings"][started] == 0) and np.all(st["savings"][~started] == 300)
    assert not (st["biz_jobs"] != 0).any() and out[0, 3] == 0


def test_only_eligible_persons_start():
    p, hh, cs = _population(n=10)
    st = _state(10)
    coef = _coef()
    coef[A0] = 50.0  # everyone eligible starts
    coef[Q_JOBS] = 0.0
    p.loc[0] = 3  # away
    p.age[1] = 17  # too young
    p.age[2] = 60  # too old
    st["tve"][3] = 1  # TVE holder
    p.hukou[4] = 1  # converted
    _run_kernel(p, hh, cs, st, coef)
    assert list(st["biz_months"]) == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]


def test_hires_household_first_then_county_and_never_beyond_jobs():
    """Founders hire their household first; the county fills the rest of the jobs; hires never
    exceed the jobs offered; TVE holders and persons away are not hired."""
    p, hh, cs = _population(n=2000)
    st = _state(2000)
    st["tve"][1::7] = 1
    p.loc[3::11] = 5
    coef = _coef(ent_jobs_per_business=3.0)
    coef[A0] = -1.0
    out = _run_kernel(p, hh, cs, st, coef)
    owner = st["biz_months"] > 0
    hired = st["biz_jobs"] == HIRED
    assert out[0, 0] == owner.sum() > 20
    assert hired.sum() == min(st["biz_jobs"][owner].sum(), out[0, 3])
    assert hired.sum() <= st["biz_jobs"][owner].sum()
    assert not (hired & (st["tve"] == 1)).any() and not (hired & (p.loc != HOME)).any()
    assert not (hired & owner).any()
    partner = np.flatnonzero(owner) ^ 1  # the other member of a founder's household
    ok = (st["tve"][partner] == 0) & (p.loc[partner] == HOME) & ~owner[partner]
    wants = st["biz_jobs"][np.flatnonzero(owner)] > 0
    assert np.all(hired[partner[ok & wants]])  # own household first


def test_failures_and_release():
    """Yearly hazard 0.2 in the first three years: ends within 4 s.e.; a failed business's
    hires are released; ends of owners who left are certain."""
    n = N
    p, hh, cs = _population(n)
    st = _state(n)
    st["biz_months"][0::2] = 5
    st["biz_jobs"][0::2] = 1
    st["biz_jobs"][1::2] = HIRED
    coef = _coef()
    coef[A0] = -np.inf  # no start-ups
    assert coef[H_YOUNG] == pytest.approx(_monthly(0.2))
    out = _run_kernel(p, hh, cs, st, coef)
    ended = st["biz_months"][0::2] == 0
    _within(ended.sum(), n // 2, coef[H_YOUNG])
    assert out[0, 2] == ended.sum()
    assert np.all(st["biz_months"][0::2][~ended] == 6)  # the others age a month
    hires = st["biz_jobs"][1::2]
    assert np.all(hires[ended] == 0) and np.all(hires[~ended] == HIRED)
    p.hukou[2] = 2  # an owner left the population (a vacant slot)
    st["biz_months"][2] = 5
    st["biz_jobs"][2] = 1
    coef[H_YOUNG] = 0.0
    _run_kernel(p, hh, cs, st, coef, tick=6)
    assert st["biz_months"][2] == 0


def test_savings_from_what_is_left_after_remittance_and_living_cost():
    """0.5 * (wage - remittance - living cost) / 10 RMB units, fractions rounded up with their
    chance (unbiased); unpaid or jobless migrants and persons at home save nothing; a year away
    is counted at every 12th month."""
    p, _, _ = _population(n=N)
    p.loc[:] = 0
    p.sector[:] = 0  # all in wage jobs
    p.months_away[:] = 12
    wage = np.full(N, 601.0, np.float32)
    remit = np.full(N, 300.0, np.float32)
    paid = np.ones(N, np.int8)
    paid[:10] = 0
    p.sector[10:20] = NO_SECTOR
    p.loc[20:30] = HOME
    st = _state(N)
    save(tick_key(1, "enterprise.save", 3), p, wage, paid, remit, np.array([100.0]), 0.5,
         st["savings"], st["years_away"])
    s = st["savings"].astype(np.float64)
    assert not s[:30].any()
    assert set(np.unique(s[30:])) == {10.0, 11.0}
    assert abs(s[30:].mean() - 10.05) < 4 * math.sqrt(0.05 * 0.95 / (N - 30))
    assert np.all(st["years_away"][20:30] == 0) and np.all(st["years_away"][30:] == 1)


def test_business_income_by_hand():
    p, hh, _ = _population(n=6)
    bm = np.array([3, 0, 0, 0, 0, 0], np.int8)
    bj = np.array([1, HIRED, 0, 0, 0, 0], np.int8)
    p.loc[3] = 2  # household 1: one of two at home, not in a business
    y = np.log(np.array([100.0, 100.0, 100.0]))
    add_income(hh, p, bm, bj, 1.6, y)
    np.testing.assert_allclose(np.exp(y), [160.0, 100.0, 100.0])


# ----------------------------------------------------------------------------- runs
def _run(params, registry_classes=None, monkeypatch=None):
    if registry_classes is not None:
        monkeypatch.setattr(registry, "REGISTRY", registry_classes)
    s = Simulation(params, agents=AGENTS, seed=SEED, start_year=START, years=YEARS, threads=1)
    return s, s.run()


def test_off_by_default_changes_nothing(monkeypatch):
    """With the defaults nobody saves or starts a business, and every other number equals, bit
    for bit, a run of the model without the two stages in the registry."""
    s, off = _run({})
    own = {i.name for i in Enterprise.results}
    for k in own:
        assert np.all(off.annual(k) == 0), k
    assert not s.persons.savings.any() and not s.persons.biz_months.any()
    without = tuple(c for c in registry.REGISTRY if c not in (Enterprise, Savings))
    _, res = _run({}, without, monkeypatch)
    assert_same_series_except(off, res, own)


def test_invariants_hold_with_businesses():
    out = run_checked({**ON, "siyb_coverage": 0.5, "micro_credit_access": 0.5},
                      agents=AGENTS, seed=3, start_year=2002, years=3)
    assert out["failures"] == []


def test_owners_stay_home_and_businesses_hire_and_fail():
    """Month by month, every owner of a running business is at home (owners do not migrate);
    over the run businesses start, hire, end, and returnees save."""
    s = Simulation(ON, agents=AGENTS, seed=4, start_year=START, years=3, threads=1)
    while s.t < s.n_months:
        s.step()
        owner = s.persons.biz_months > 0
        assert np.all(s.persons.loc[owner] == HOME), s.t
    res = s.results()
    for k in ("businesses_started", "businesses_started_by_returnees", "businesses_ended",
              "business_hires"):
        assert res.annual(k).sum() > 0, k
    assert res.annual("returnee_savings_rmb")[-1] > 0
    assert 0 < res.annual("business_survival_1y")[-1] <= 1


def _scenario_runs(name):
    """The scenario and its base (returnee_enterprise) on a short window, 20,000 agents, the
    base rate raised in both (0.03) so that the small run has enough start-ups."""
    out = {}
    for n in (name, "returnee_enterprise"):
        pars = load_scenario(n).to_params().update({"ent_start_rate_year": 0.03})
        s = Simulation(pars, agents=20_000, seed=7, start_year=2004, years=5, threads=1)
        out[n] = s.run()
    return out[name], out["returnee_enterprise"]


@pytest.mark.parametrize("name, year", [("siyb_training", 2005), ("returnee_credit", 2007)])
def test_levers_start_more_businesses(name, year):
    """Common random numbers: identical before the lever's year; from it, SIYB training and
    micro-credit start more businesses (and more by returnees) than the base."""
    scen, base = _scenario_runs(name)
    k = year - 2004
    for ind in ("businesses_started", "businesses_started_by_returnees"):
        a, b = scen.annual(ind), base.annual(ind)
        assert np.array_equal(a[:k], b[:k]), ind
        assert a[k:].sum() > b[k:].sum(), (ind, a, b)


_CHILD = """
import sys, numpy as np
from sim import Simulation
sim = Simulation({"ent_start_rate_year": 0.05, "siyb_coverage": 0.5}, agents=3000, seed=5,
                 start_year=2001, years=2)
res = sim.run()
p = sim.persons
np.savez(sys.argv[1], loc=p.loc, sav=p.savings, bm=p.biz_months, bj=p.biz_jobs,
         st=res.annual("businesses_started"), hi=res.annual("business_hires"))
"""


def test_thread_count_bit_identical(tmp_path):
    """Draws are keyed by person (or county) and month: 1 and 2 threads give the same state."""
    out = arrays_by_thread_count(_CHILD, tmp_path)
    assert out[1]["st"].sum() > 0
    assert_same_arrays(out[1], out[2])


def test_mesa_reference_refuses_the_mechanism_switched_on():
    from sim.mesa.reference import ReferenceModel

    with pytest.raises(ValueError, match="ent_start_rate_year"):
        ReferenceModel(ON, agents=500, seed=1, start_year=2000, years=1)


def test_households_lie_within_one_county():
    """The kernel runs counties in parallel and hires within a founder's household: each
    household's persons must lie in one county's person range."""
    s = Simulation({}, agents=2000, seed=1, start_year=2000, years=1, threads=1)
    pl = s.places
    county = np.repeat(np.arange(pl.county_start.size - 1), np.diff(pl.county_start))
    assert pl.county_start[-1] == pl.hh_start[-1] == s.persons.n
    first, last = county[pl.hh_start[:-1]], county[pl.hh_start[1:] - 1]
    assert np.array_equal(first, last)
