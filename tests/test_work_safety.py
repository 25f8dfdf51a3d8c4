"""Work injuries of migrants (``sim/mechanisms/work_safety.py``, issue 17 part 1).

The kernel tests use a hand-made population of identical employed migrants, so counts are
binomial with a known mean; they are checked within 4 standard errors. The run tests are tiny
(3,000 agents, a few years) with fixed seeds; runs compared share the random numbers of every
other decision (common random numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays

import sim.engine.registry as registry
from sim import Simulation
from sim.core.encodings import HOME, JOB_INFORMAL, JOB_INSURED, NO_SECTOR, RURAL, SECTOR_NAMES
from sim.core.rng import tick_key
from sim.core.state import PERSON_FIELDS, PersonArrays, Table
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms.work_safety import (
    EV_COMPENSATED,
    EV_HOME,
    EV_INJURED,
    WorkSafety,
    injure,
    monthly_hazards,
)

N = 40_000
ON = {  # high hazards, so a tiny run has many injuries
    "injury_rate_year_construction": 0.3,
    "injury_rate_year_manufacturing": 0.2,
    "injury_rate_year_trade_catering": 0.1,
    "injury_rate_year_services": 0.1,
    "injury_rate_year_other": 0.2,
}
AGENTS, SEED, START, YEARS = 3000, 2, 2000, 4


def _population(n=N, sector=0, insured_every=2):
    """n rural migrants at destination 0, all employed in ``sector``; every
    ``insured_every``-th job insured, the others informal."""
    t = Table.allocate(n, PERSON_FIELDS)
    t.hukou[:] = RURAL
    t.age[:] = 30
    t.loc[:] = 0
    t.dist[:] = 1
    t.employed[:] = 1
    t.months_away[:] = 24
    t.sector[:] = sector
    t.job[:] = JOB_INFORMAL
    t.job[::insured_every] = JOB_INSURED
    t.first_year[:] = 1998
    p = PersonArrays(*(getattr(t, f.name) for f in PERSON_FIELDS))
    wage = np.full(n, 500.0, np.float32)
    return p, wage


def _injure(p, wage, hazard_month, months_lost=3, p_home=0.0, enforce=0.0, left=None, tick=5):
    n = p.loc.shape[0]
    left = np.zeros(n, np.int8) if left is None else left
    paid = np.ones(n, np.int8)
    remit = np.full(n, 100.0, np.float32)
    event = np.zeros(n, np.int8)
    spell = np.zeros(n, np.int16)
    lost = np.zeros(n, np.float32)
    hazard = np.full(len(SECTOR_NAMES), hazard_month)
    injure(tick_key(1, "work_safety.injury", tick), p, left, wage, paid, remit, hazard,
           months_lost, p_home, enforce, event, spell, lost)
    return {"left": left, "paid": paid, "remit": remit, "event": event, "spell": spell,
            "lost": lost}


def _within(count, n, prob):
    se = math.sqrt(n * prob * (1 - prob))
    assert abs(count - n * prob) < 4 * se, (count, n * prob, se)


def test_monthly_hazard_from_yearly():
    """1 - (1 - y) ** (1/12): y = 1 - 0.9**12 gives 0.1 a month, 0 gives 0, 1 gives 1."""
    pars = Params({"injury_rate_year_construction": 1 - 0.9**12,
                   "injury_rate_year_services": 1.0}).at(2000)
    h = monthly_hazards(pars)
    assert h[0] == pytest.approx(0.1)
    assert h[SECTOR_NAMES.index("services")] == 1.0
    assert h[SECTOR_NAMES.index("manufacturing")] == 0.0


def test_defaults_are_off():
    pars = Params({}).at(2000)
    assert not monthly_hazards(pars).any()
    for s in SECTOR_NAMES:
        p = registry.schema()[f"injury_rate_year_{s}"]
        assert p.default == 0.0 and "estimate" in p.source and p.role


def test_hazard_zero_injures_nobody():
    p, wage = _population()
    out = _injure(p, wage, 0.0, p_home=1.0, enforce=1.0)
    assert not out["event"].any()
    assert np.all(p.employed == 1) and np.all(p.loc == 0) and np.all(wage == 500.0)


def test_injured_lose_the_job_and_the_pay():
    """Monthly hazard 0.1: about 4,000 of 40,000 injured (within 4 s.e. = 240); each loses the
    job, this month's pay and remittance, and is off work for the 2 further months of 3."""
    p, wage = _population()
    out = _injure(p, wage, 0.1)
    inj = (out["event"] & EV_INJURED) != 0
    _within(inj.sum(), N, 0.1)
    assert np.all(p.employed[inj] == 0) and np.all(p.sector[inj] == NO_SECTOR)
    assert np.all(p.job[inj] == 0) and np.all(wage[inj] == 0) and np.all(out["remit"][inj] == 0)
    assert np.all(out["paid"][inj] == 0) and np.all(out["lost"][inj] == 500.0)
    assert np.all(out["left"][inj] == 2) and np.all(out["left"][~inj] == 0)
    assert np.all(p.employed[~inj] == 1) and np.all(wage[~inj] == 500.0)
    assert np.all(p.loc == 0)  # p_home 0: nobody went home


def test_compensation_only_when_insured_and_enforced():
    p, wage = _population()
    out = _injure(p, wage, 0.1, enforce=0.0)
    assert not (out["event"] & EV_COMPENSATED).any()  # nothing enforced
    p, wage = _population()
    insured = (p.job & JOB_INSURED) != 0
    out = _injure(p, wage, 0.1, enforce=1.0)
    inj = (out["event"] & EV_INJURED) != 0
    comp = (out["event"] & EV_COMPENSATED) != 0
    assert np.array_equal(comp, inj & insured)  # all insured claims paid, no uninsured one
    p, wage = _population()
    out = _injure(p, wage, 0.1, enforce=0.5)
    inj = (out["event"] & EV_INJURED) != 0
    comp = (out["event"] & EV_COMPENSATED) != 0
    assert not (comp & ~insured).any()
    _within(comp.sum(), int((inj & insured).sum()), 0.5)


def test_a_share_of_the_injured_go_home():
    """p_home 0.3: about 30% of the injured go home (send_home: at home, no spell, no job)."""
    p, wage = _population()
    out = _injure(p, wage, 0.1, p_home=0.3)
    inj = (out["event"] & EV_INJURED) != 0
    home = (out["event"] & EV_HOME) != 0
    assert not (home & ~inj).any()
    _within(home.sum(), int(inj.sum()), 0.3)
    assert np.all(p.loc[home] == HOME) and np.all(p.months_away[home] == 0)
    assert np.all(p.dist[home] == -1) and np.all(out["spell"][home] == 24)
    assert np.all(p.loc[~home] == 0)


def test_off_work_cannot_keep_a_new_job():
    """A migrant still off work whom this month's matching hired loses the hire (and its pay);
    the months left count down; nobody off work is injured again."""
    p, wage = _population(n=10)
    left = np.array([2, 1, 0, 0, 0, 0, 0, 0, 0, 0], np.int8)
    out = _injure(p, wage, 1.0, left=left)
    assert list(left[:2]) == [1, 0]
    assert np.all(p.employed[:2] == 0) and np.all(wage[:2] == 0)
    assert np.all(out["event"][:2] == 0)
    assert np.all((out["event"][2:] & EV_INJURED) != 0)  # hazard 1: every other one injured
    assert np.all(left[2:] == 2)


# ----------------------------------------------------------------------------- runs
def _run(params, registry_classes=None, monkeypatch=None):
    if registry_classes is not None:
        monkeypatch.setattr(registry, "REGISTRY", registry_classes)
    s = Simulation(params, agents=AGENTS, seed=SEED, start_year=START, years=YEARS, threads=1)
    return s, s.run()


@pytest.fixture(scope="module")
def pair():
    return _run({}), _run(ON)


def test_off_by_default_changes_nothing(pair, monkeypatch):
    """With the defaults nobody is injured, and every other number equals, bit for bit, a run
    of the model without the mechanism in the registry."""
    (_, off), _ = pair
    own = {i.name for i in WorkSafety.results}
    for k in own:
        assert np.all(off.annual(k) == 0), k
    without = tuple(c for c in registry.REGISTRY if c is not WorkSafety)
    _, res = _run({}, without, monkeypatch)
    a = {k: v for k, v in off.summary().items() if k.split("[")[0] not in own}
    b = res.summary()
    assert set(a) == set(b)
    for k in b:
        assert (a[k] == b[k]) or (a[k] != a[k] and b[k] != b[k]), k  # equal, or both NaN


def test_invariants_hold_with_injuries():
    out = run_checked({**ON, "injury_return_prob": 0.5, "inspection_focus_injury": 0.3},
                      agents=AGENTS, seed=3, start_year=2002, years=3)
    assert out["failures"] == []


def test_injuries_send_migrants_home(pair):
    """Common random numbers: with hazards on, injured migrants go home and the migrant stock
    is not larger than without."""
    (_, off), (_, on) = pair
    assert on.annual("injuries").sum() > 0
    assert on.annual("injury_returns").sum() > 0
    assert on.annual("injury_returns").sum() < on.annual("injuries").sum()
    assert on.annual("migrant_stock")[-1] <= off.annual("migrant_stock")[-1]
    share = on.annual("injured_compensated_share")
    assert np.all((share >= 0) & (share <= 1))


_CHILD = """
import sys, numpy as np
from sim import Simulation
on = {f"injury_rate_year_{s}": 0.2 for s in ("construction", "manufacturing", "trade_catering",
                                             "services", "other")}
sim = Simulation(on, agents=3000, seed=5, start_year=2001, years=2)
res = sim.run()
np.savez(sys.argv[1], loc=sim.persons.loc, left=sim.persons.injury_left,
         inj=res.annual("injuries"), ret=res.annual("injury_returns"))
"""


def test_thread_count_bit_identical(tmp_path):
    """Injury draws are keyed by person and month: 1 and 2 threads give the same state."""
    out = arrays_by_thread_count(_CHILD, tmp_path)
    assert out[1]["inj"].sum() > 0
    assert_same_arrays(out[1], out[2])
