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
from threads import arrays_by_thread_count, assert_same_arrays, assert_same_series_except

import sim.engine.registry as registry
from sim import Simulation
from sim.core.encodings import (
    HOME,
    INS_DRAWN,
    INS_INJURY,
    JOB_INFORMAL,
    JOB_INSURED,
    NO_SECTOR,
    RURAL,
    SECTOR_NAMES,
)
from sim.core.rng import tick_key
from sim.core.state import PERSON_FIELDS, Persons
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms.work_safety import (
    EV_COMPENSATED,
    EV_HOME,
    EV_INJURED,
    WorkSafety,
    hazard_table,
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
    t = Persons.allocate(n, PERSON_FIELDS)
    t.hukou[:] = RURAL
    t.age[:] = 30
    t.loc[:] = 0
    t.dist[:] = 1
    t.months_away[:] = 24
    t.sector[:] = sector
    t.job[:] = JOB_INFORMAL
    t.job[::insured_every] = JOB_INSURED
    t.first_year = 1998
    p = t.core
    wage = np.full(n, 500.0, np.float32)
    return p, wage


def _injure(p, wage, hazard_month, months_lost=3, p_home=0.0, enforce=0.0, left=None, tick=5,
            comp_share=0.75, remit_share=0.5, branches=None, emp_before=None, pay=None,
            remit=None):
    """One call of the kernel; ``hazard_month`` is a number (every cell of the table) or a
    [sector, trained, informal] table; ``branches`` switches compensation to the injury branch."""
    n = p.loc.shape[0]
    left = np.zeros(n, np.int8) if left is None else left
    pay = np.zeros(n, np.float32) if pay is None else pay
    paid = np.ones(n, np.int8)
    remit = np.full(n, 100.0, np.float32) if remit is None else remit
    event = np.zeros(n, np.int8)
    spell = np.zeros(n, np.int16)
    lost = np.zeros(n, np.float32)
    comp = np.zeros(n, np.float32)
    hazard = np.asarray(hazard_month, np.float64)
    if hazard.ndim == 0:
        hazard = np.full((len(SECTOR_NAMES), 2, 2), float(hazard))
    by_branch = branches is not None
    branches = np.zeros(n, np.int8) if branches is None else branches
    emp_before = np.ones(n, np.int8) if emp_before is None else emp_before
    injure(tick_key(1, "work_safety.injury", tick), p, left, pay, wage, paid, remit, hazard,
           months_lost, p_home, enforce, comp_share, remit_share, by_branch, branches,
           np.where(emp_before == 1, 0, NO_SECTOR).astype(np.int8), event, spell, lost, comp)
    return {"left": left, "paid": paid, "remit": remit, "event": event, "spell": spell,
            "lost": lost, "pay": pay, "comp": comp}


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
    assert np.all(p.sector != NO_SECTOR) and np.all(p.loc == 0) and np.all(wage == 500.0)


def test_injured_lose_the_job_and_the_pay():
    """Monthly hazard 0.1: about 4,000 of 40,000 injured (within 4 s.e. = 240); each loses the
    job, this month's pay and remittance, and is off work for the 2 further months of 3."""
    p, wage = _population()
    out = _injure(p, wage, 0.1)
    inj = (out["event"] & EV_INJURED) != 0
    _within(inj.sum(), N, 0.1)
    assert np.all(p.sector[inj] == NO_SECTOR)
    assert np.all(p.job[inj] == 0) and np.all(wage[inj] == 0) and np.all(out["remit"][inj] == 0)
    assert np.all(out["paid"][inj] == 0) and np.all(out["lost"][inj] == 500.0)
    assert np.all(out["left"][inj] == 2) and np.all(out["left"][~inj] == 0)
    assert np.all(p.sector[~inj] != NO_SECTOR) and np.all(wage[~inj] == 500.0)
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
    assert np.all(p.sector[:2] == NO_SECTOR) and np.all(wage[:2] == 0)
    assert np.all(out["event"][:2] == 0)
    assert np.all((out["event"][2:] & EV_INJURED) != 0)  # hazard 1: every other one injured
    assert np.all(left[2:] == 2)



def test_hazard_table_multiplies_the_yearly_hazard():
    """[sector, trained, informal]: y, y*m_informal, y*m_trained, y*both, capped at 1, then
    made monthly; multipliers leave a hazard of 0 at 0 (the mechanism stays off)."""
    y = np.zeros(len(SECTOR_NAMES))
    y[0], y[1] = 0.2, 0.8
    h = hazard_table(y, 0.5, 2.0)
    month = lambda v: 1.0 - (1.0 - v) ** (1.0 / 12.0)  # noqa: E731
    assert h[0, 0, 0] == pytest.approx(month(0.2))
    assert h[0, 0, 1] == pytest.approx(month(0.4))
    assert h[0, 1, 0] == pytest.approx(month(0.1))
    assert h[0, 1, 1] == pytest.approx(month(0.2))
    assert h[1, 0, 1] == 1.0  # 1.6 capped at 1
    assert not h[2:].any()
    pars = Params({}).at(2000)
    assert pars.injury_hazard_mult_trained < 1.0 < pars.injury_hazard_mult_informal
    for k in ("injury_hazard_mult_trained", "injury_hazard_mult_informal"):
        p = registry.schema()[k]
        assert "estimate" in p.source and "range" in p.source and p.role == "structural"


def test_hazard_by_training_and_informality():
    """Four groups of 40,000 (trained or not, informal job or not) in construction: yearly
    hazard 0.3 of an untrained worker in a formal job, times 0.5 for training and 2 for an
    informal job. Each group's injuries are binomial with its cell's monthly hazard (within 4
    s.e.), and the trained-informal group's equals the untrained-formal one's in expectation."""
    n = 4 * N
    p, wage = _population(n=n)
    p.job[:] = 0
    p.job[n // 2:] = JOB_INFORMAL
    p.trained[: n // 4] = 1
    p.trained[n // 2: 3 * n // 4] = 1
    y = np.zeros(len(SECTOR_NAMES))
    y[0] = 0.3
    table = hazard_table(y, 0.5, 2.0)
    out = _injure(p, wage, table)
    inj = (out["event"] & EV_INJURED) != 0
    groups = {(1, 0): slice(0, n // 4), (0, 0): slice(n // 4, n // 2),
              (1, 1): slice(n // 2, 3 * n // 4), (0, 1): slice(3 * n // 4, n)}
    for (tr, inf), sl in groups.items():
        _within(int(inj[sl].sum()), N, table[0, tr, inf])
    assert table[0, 0, 1] > table[0, 0, 0] > table[0, 1, 0]
    assert table[0, 1, 1] == pytest.approx(table[0, 0, 0])


def test_compensation_by_injury_branch():
    """With the insurance mechanism's branches, a claim is paid (enforce 1) exactly when the
    worker holds the injury branch of a job held before this month's matching; JOB_INSURED no
    longer matters. Without branches, JOB_INSURED decides (as before)."""
    p, wage = _population()
    insured = (p.job & JOB_INSURED) != 0
    rng = np.random.default_rng(0)
    branches = np.where(rng.random(N) < 0.5, INS_DRAWN | INS_INJURY, INS_DRAWN).astype(np.int8)
    emp_before = (rng.random(N) < 0.8).astype(np.int8)  # 20% hired this month
    out = _injure(p, wage, 0.1, enforce=1.0, branches=branches, emp_before=emp_before)
    inj = (out["event"] & EV_INJURED) != 0
    comp = (out["event"] & EV_COMPENSATED) != 0
    holds = ((branches & INS_INJURY) != 0) & (emp_before == 1)
    assert np.array_equal(comp, inj & holds)
    assert (comp & ~insured).any() and (inj & insured & ~comp).any()  # not by JOB_INSURED
    assert not (comp & (emp_before == 0)).any()  # a same-month hire is not yet enrolled
    _within(int(comp.sum()), int(inj.sum()), 0.5 * 0.8)


def test_compensation_is_remitted_over_the_months_off_work():
    """Hazard 1, all insured and enforced, 3 months lost: the compensation (share 0.75 of the
    wage of 500 a month) is owed a month and remit_share 0.5 of it is added to the remittance
    of the injury month and of the 2 months after (on top of a hire undone in month 2), then
    nothing; the total is share x wage x months x remit_share. Those who go home get nothing."""
    p, wage = _population(n=10, insured_every=1)
    left = np.zeros(10, np.int8)
    pay = np.zeros(10, np.float32)
    per_month = 0.5 * 0.75 * 500.0
    total = np.zeros(10)
    for tick in range(5):
        if tick == 1:
            p.sector[:5] = 0  # matching hires some of the off-work: undone
            wage[:5] = 400.0
        remit = np.zeros(10, np.float32)
        out = _injure(p, wage, 1.0 if tick == 0 else 0.0, enforce=1.0, left=left, pay=pay,
                      tick=tick, remit=remit)
        if tick < 3:
            assert np.allclose(out["remit"], per_month) and np.allclose(out["comp"], per_month)
        else:
            assert not out["remit"].any() and not out["comp"].any()
        total += out["comp"]
    assert np.allclose(total, 3 * per_month) and not pay.any() and not left.any()
    assert np.all(p.sector == NO_SECTOR)
    p, wage = _population(n=10, insured_every=1)
    out = _injure(p, wage, 1.0, enforce=1.0, p_home=1.0)
    assert np.all((out["event"] & EV_COMPENSATED) != 0) and np.all(p.loc == HOME)
    assert not out["pay"].any() and not out["comp"].any()


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
    assert_same_series_except(off, res, own)


def test_off_costs_no_buffer_memory(pair):
    """Switched off, the mechanism never reads its four per-person scratch buffers, so they are
    never allocated (``Buffers`` allocates on first read) and the run's memory omits them;
    switched on, they exist with one row a person."""
    (off_sim, _), (on_sim, _) = pair
    own = [f.name for f in WorkSafety.buffers]
    assert set(own) <= set(off_sim.buf.declared)
    assert not set(own) & set(off_sim.buf.names)
    assert set(own) <= set(on_sim.buf.names)
    assert all(getattr(on_sim.buf, k).shape[0] == on_sim.persons.n for k in own)
    per_person = sum(np.dtype(f.dtype).itemsize for f in WorkSafety.buffers)
    assert on_sim.buf.nbytes() - off_sim.buf.nbytes() >= per_person * off_sim.persons.n


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


COMP = {**ON, "injury_return_prob": 0.0, "social_insurance_coverage": 1.0,
        "insurance_injury_with_pension": 1.0, "inspection_focus_injury": 0.3}


def test_compensation_raises_household_income():
    """Common random numbers, one year with hazards on: with compensation (share 1) the
    injuries and every decision of the year are those of a run without it (share 0), and the
    rural household income per head of December is higher (nothing reads the remittances of
    the off-work before December). ``remittances_rmb`` sums the remittances of wage earners
    only (``sim.io.results.tally_pay``), so it does not show the compensation."""
    runs = {}
    for share in (0.0, 1.0):
        s = Simulation({**COMP, "injury_compensation_share": share}, agents=AGENTS, seed=SEED,
                       start_year=2004, years=1, threads=1)
        res = s.run()
        runs[share] = {**res.series(), ("income", "total"): s.rec.scalars["rural_income_per_head"]}
    a, b = runs[0.0], runs[1.0]
    key = lambda k: (k, "total")  # noqa: E731
    assert np.array_equal(a[key("injuries")], b[key("injuries")])
    assert np.array_equal(a[key("migrant_stock")], b[key("migrant_stock")])
    assert not a[key("injury_compensation_remitted_rmb")].any()
    added = b[key("injury_compensation_remitted_rmb")]
    assert added.sum() > 0 and b[key("injuries_compensated")].sum() > 0
    assert added[11] > 0  # some compensated migrants still off work in December
    assert b[key("income")][11] > a[key("income")][11]


def test_off_costs_no_person_state():
    """Off (the default), the mechanism never reads its person fields, so they are not
    allocated (``Table.declare``); read later, they hold their fill value. On, a run allocates
    them."""
    from sim import Simulation

    off = Simulation(agents=3000, seed=SEED, start_year=2001, years=1, threads=1)
    off.run()
    p = off.persons
    assert not p.allocated("injury_pay") and "injury_pay" in p.declared
    before = p.nbytes()
    assert (p.injury_pay == 0.0).all() and p.injury_pay.shape == (p.n,)
    assert p.allocated("injury_pay") and p.nbytes() == before + p.injury_pay.nbytes
    on = Simulation(ON, agents=3000, seed=SEED, start_year=2001, years=1, threads=1)
    on.run()
    assert on.persons.allocated("injury_left") and on.persons.allocated("injury_pay")
