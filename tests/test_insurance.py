"""Social insurance by branch (``sim/mechanisms/insurance.py``, issue 17 part 3).

Kernel tests use hand-made populations of identical migrants, so counts are binomial with a known
mean, checked within 4 standard errors; amounts are checked by hand. Run tests are tiny (3,000
agents, a few years, fixed seeds); runs compared share every other random number (common random
numbers).
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
    JOB_INFORMAL,
    JOB_INSURED,
    NO_SECTOR,
    RURAL,
    SECTOR_NAMES,
    URBAN,
)
from sim.core.rng import tick_key
from sim.core.state import PERSON_FIELDS, Persons
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.experiments.scenario import load_scenario
from sim.mechanisms.insurance import (
    INS_DRAWN,
    INS_INJURY,
    INS_MATERNITY,
    INS_MEDICAL,
    INS_PENSION,
    INS_UNEMPLOYMENT,
    T_ALLOWANCE,
    T_CASHOUT,
    T_EMP,
    T_MEMBERS,
    T_MIG,
    T_TRANSFER,
    Insurance,
    enrol,
    labour_cost_mult,
    rate_of_flags,
)

N = 40_000
CONSTRUCTION, SERVICES = SECTOR_NAMES.index("construction"), SECTOR_NAMES.index("services")
HIGH_RISK = np.array([s in ("construction", "other") for s in SECTOR_NAMES])
# medical, unemployment, injury, maternity with pension; medical alone; injury high-risk
# formal, informal
CHANCE = np.array([0.6, 0.3, 0.9, 0.2, 0.25, 0.4, 0.1])
RATES = np.array([0.20, 0.06, 0.02, 0.01, 0.008])
CONTRIB = 0.11
AGENTS, SEED, START, YEARS = 3000, 2, 1998, 6


def _population(n=N, job=JOB_INSURED, sector=SERVICES, loc=0):
    t = Persons.allocate(n, PERSON_FIELDS)
    t.hukou[:] = RURAL
    t.age[:] = 30
    t.loc[:] = loc
    t.dist[:] = 1
    t.sector[:] = sector if loc != HOME else NO_SECTOR
    t.job[:] = job
    return t.core


class State:
    """The insurance fields of ``n`` persons, one call of the kernel, and its tally: ``n``
    (counts, ``T_*`` columns) and ``money`` (cash-outs, employer and worker contributions,
    allowances, gross wages)."""

    def __init__(self, n):
        self.branches = np.zeros(n, np.int8)
        self.job_months = np.zeros(n, np.int16)
        self.pool = np.full(n, -1, np.int16)
        self.account = np.zeros(n, np.float32)
        self.months = np.zeros(n, np.int16)
        self.n = self.money = None

    def run(self, p, emp_before=0, wage=445.0, portable=0.0, tick=3, n_dest=4,
            pool_of_dest=None):
        n = p.loc.shape[0]
        pods = np.arange(n_dest, dtype=np.int64) if pool_of_dest is None else pool_of_dest
        self.n, self.money = enrol(
            tick_key(1, "insurance.enrol", tick), tick_key(1, "insurance.transfer", tick), p,
            np.full(n, 0 if emp_before else NO_SECTOR, np.int8), np.full(n, wage, np.float32),
            CONTRIB, HIGH_RISK,
            CHANCE, rate_of_flags(RATES), 0.08, pods, np.full(n_dest, portable),
            np.full(n_dest, 100.0), 1.0, self.branches, self.job_months, self.pool,
            self.account, self.months)


def _share(flags, bit):
    return int(np.count_nonzero((flags & bit) != 0))


def _within(count, n, prob):
    se = math.sqrt(n * prob * (1 - prob))
    assert abs(count - n * prob) < 4 * se + 1e-9, (count, n * prob, se)


def test_pension_jobs_draw_the_package_by_branch():
    """New pension (JOB_INSURED) jobs carry each branch with its chance given pension."""
    p, s = _population(), State(N)
    s.run(p)
    b = s.branches
    assert np.all((b & INS_DRAWN) != 0) and np.all((b & INS_PENSION) != 0)
    for bit, prob in ((INS_MEDICAL, 0.6), (INS_UNEMPLOYMENT, 0.3), (INS_INJURY, 0.9),
                      (INS_MATERNITY, 0.2)):
        _within(_share(b, bit), N, prob)
    assert np.all(s.job_months == 1)


def test_without_pension_only_medical_and_high_risk_injury():
    """A formal job without pension: medical alone, never unemployment or maternity; injury
    only in a high-risk sector. An informal job: no medical either."""
    p, s = _population(job=0, sector=SERVICES), State(N)
    s.run(p)
    b = s.branches
    assert not _share(b, INS_PENSION | INS_UNEMPLOYMENT | INS_MATERNITY | INS_INJURY)
    _within(_share(b, INS_MEDICAL), N, 0.25)
    p, s = _population(job=0, sector=CONSTRUCTION), State(N)
    s.run(p)
    _within(_share(s.branches, INS_INJURY), N, 0.4)
    p, s = _population(job=JOB_INFORMAL, sector=CONSTRUCTION), State(N)
    s.run(p)
    assert not _share(s.branches, INS_MEDICAL | INS_PENSION)
    _within(_share(s.branches, INS_INJURY), N, 0.1)


def test_branches_are_drawn_once_per_job():
    """A job held on keeps its branches; a job lost clears them; a new one draws again."""
    p, s = _population(n=2000), State(2000)
    s.run(p, tick=1)
    first = s.branches.copy()
    s.run(p, emp_before=1, tick=2)
    assert np.array_equal(s.branches, first) and np.all(s.job_months == 2)
    p.sector[:] = NO_SECTOR
    s.run(p, emp_before=1, tick=3)
    assert not s.branches.any() and not s.job_months.any()


def test_contributions_and_the_pension_account():
    """Employer: gross wage times the rates of the branches held; worker: what pay deducted;
    the account accrues 8% of the gross wage in the destination's pool."""
    p, s = _population(n=500, sector=CONSTRUCTION), State(500)
    gross = 500.0
    s.run(p, wage=gross * (1 - CONTRIB))
    table = rate_of_flags(RATES)
    assert s.money[1] == pytest.approx((gross * table[s.branches & 31]).sum(), rel=1e-6)
    assert s.money[2] == pytest.approx(500 * gross * CONTRIB, rel=1e-6)
    assert s.money[4] == pytest.approx(500 * gross, rel=1e-6)
    assert s.n[T_EMP] == s.n[T_MIG] == s.n[T_MEMBERS] == 500
    for k, bit in enumerate((INS_PENSION, INS_MEDICAL, INS_UNEMPLOYMENT, INS_INJURY,
                             INS_MATERNITY)):
        assert s.n[k] == _share(s.branches, bit)
    np.testing.assert_allclose(s.account, 0.08 * gross, rtol=1e-5)
    assert np.all(s.months == 1) and np.all(s.pool == 0)
    assert table[INS_PENSION | INS_INJURY] == pytest.approx(0.21)


def test_leaving_the_pool_cashes_out_unless_portable():
    """Rights accrued in pool 0: a member at home or in another pool cashes out the account
    when nothing is portable, keeps it (held, no pool) when all is; staying changes nothing."""
    for portable, ev in ((0.0, T_CASHOUT), (1.0, T_TRANSFER)):
        p, s = _population(n=30, loc=HOME), State(30)
        s.account[:], s.months[:], s.pool[:] = 400.0, 50, 0
        p.loc[10:20] = 2  # moved on to another pool
        p.loc[20:] = 0  # still in the pool, without a job
        p.sector[:] = NO_SECTOR
        s.run(p, portable=portable)
        left = np.arange(30) < 20
        assert s.n[ev] == 20 and s.n[T_CASHOUT] + s.n[T_TRANSFER] == 20
        if portable == 0.0:
            assert s.money[0] == 20 * 400.0 and np.all(s.account[left] == 0)
            assert np.all(s.months[left] == 0) and s.n[T_MEMBERS] == 10
        else:
            assert s.money[0] == 0.0 and np.all(s.account == 400.0)
            assert s.n[T_MEMBERS] == 30
        assert s.n[T_MIG] == 20 and s.n[T_EMP] == 0
        assert np.all(s.pool[left] == -1) and np.all(s.pool[~left] == 0)


def test_provincial_pooling_keeps_rights_within_the_province():
    """With the pool of destinations 0 and 1 the same, a move from 0 to 1 is no departure."""
    p, s = _population(n=10, loc=1), State(10)
    p.sector[:] = NO_SECTOR
    s.account[:], s.months[:], s.pool[:] = 400.0, 50, 0
    s.run(p, pool_of_dest=np.array([0, 0, 1, 1], np.int64))
    assert s.n[T_CASHOUT] == s.n[T_TRANSFER] == 0
    assert np.all(s.account == 400.0) and np.all(s.pool == 0)


def test_unemployment_allowance_after_a_year():
    """A job with unemployment insurance that ended at the destination after 24 months pays 2
    months of benefit (1 per year worked); after 11 months, or without the branch, nothing."""
    p, s = _population(n=3), State(3)
    p.sector[:] = NO_SECTOR
    s.branches[:] = [INS_DRAWN | INS_UNEMPLOYMENT, INS_DRAWN | INS_UNEMPLOYMENT, INS_DRAWN]
    s.job_months[:] = [24, 11, 24]
    s.run(p, emp_before=1)
    assert s.n[T_ALLOWANCE] == 1 and s.money[3] == 200.0
    assert not s.branches.any()


def test_settled_persons_are_outside_the_schemes():
    p, s = _population(n=5), State(5)
    p.hukou[:] = URBAN
    s.run(p)
    assert not s.branches.any() and not s.n.any() and not s.money.any()


def test_labour_cost_multiplier():
    """1 + the mean employer rate of the jobs in each destination and sector; the sector's
    national mean where nobody works."""
    p = _population(n=4, sector=SERVICES)
    branches = np.array([INS_PENSION, 0, INS_PENSION | INS_MEDICAL, 0], np.int8)
    p.loc[:] = [0, 0, 1, 1]

    class P:  # the fields labour_cost_mult reads
        loc, sector, ins_branches = p.loc, p.sector, branches

    m = labour_cost_mult(P, np.ones(4, bool), rate_of_flags(RATES), 3)
    assert m[0, SERVICES] == pytest.approx(1.10) and m[1, SERVICES] == pytest.approx(1.13)
    assert m[2, SERVICES] == pytest.approx(1.115) and m[0, CONSTRUCTION] == 1.0


def test_mesa_reference_refuses_the_cost_in_demand():
    from sim.mesa.reference import ReferenceModel

    with pytest.raises(ValueError, match="insurance_cost_in_demand"):
        ReferenceModel({"insurance_cost_in_demand": True}, agents=200, years=1)


# ----------------------------------------------------------------------------- runs
def _run(params, registry_classes=None, monkeypatch=None, start=START, years=YEARS):
    if registry_classes is not None:
        monkeypatch.setattr(registry, "REGISTRY", registry_classes)
    s = Simulation(params, agents=AGENTS, seed=SEED, start_year=start, years=years, threads=1)
    return s.run()


@pytest.fixture(scope="module")
def default_run():
    return _run({})


def test_default_changes_nothing_else(default_run, monkeypatch):
    """The default run equals, bit for bit, a run without the mechanism in every other
    indicator; the pension branch is the share_insured of the model."""
    own = {i.name for i in Insurance.results}
    without = tuple(c for c in registry.REGISTRY if c is not Insurance)
    other = _run({}, without, monkeypatch)
    assert_same_series_except(default_run, other, own)
    ser = default_run.series()
    np.testing.assert_array_equal(ser["insurance_coverage_pension", "total"],
                                  ser["share_insured", "migrants"])
    cov = {b: ser[f"insurance_coverage_{b}", "total"] for b in ("pension", "medical",
                                                                 "unemployment", "maternity")}
    assert cov["pension"][-1] > 0
    for b in ("medical", "unemployment", "maternity"):  # drawn only with pension by default
        assert np.all(cov[b] <= cov["pension"]), b


def test_invariants_hold_with_everything_on():
    out = run_checked({"insurance_cost_in_demand": True, "pension_portable": 0.5,
                       "insurance_medical_alone": 0.3, "pension_pooling": "province"},
                      agents=AGENTS, seed=3, start_year=2002, years=3)
    assert out["failures"] == []


def test_portability_ends_cash_outs(default_run):
    """Common random numbers: portable pensions from 2001 turn every later cash-out into a
    transfer and move nothing else (insurance is only recorded)."""
    on = _run({"pension_portable": {"mode": "step", "1985": 0.0, "2001": 1.0}})
    off = default_run
    assert off.annual("pension_cashouts")[3:].sum() > 0
    assert on.annual("pension_cashouts")[3:].sum() == 0
    assert on.annual("pension_transfers")[3:].sum() >= off.annual("pension_cashouts")[3:].sum()
    assert on.annual("pension_members")[-1] > off.annual("pension_members")[-1]
    np.testing.assert_array_equal(on.annual("migrant_stock"), off.annual("migrant_stock"))


def test_contributions_in_labour_cost_lower_demand(default_run):
    """With the employers' contributions in the labour cost, demand is never higher (common
    random numbers; insurance starts in 1999)."""
    on = _run({"insurance_cost_in_demand": True})
    d_on, d_off = on.annual("labour_demand"), default_run.annual("labour_demand")
    assert d_on[0] == d_off[0]  # 1998: nobody insured yet
    assert d_on[2:].sum() < d_off[2:].sum()


def test_scenario_raises_coverage_and_ends_cash_outs():
    """insurance_by_branch_portable against its base from 2005 (common random numbers):
    medical and injury coverage are higher and nothing is cashed out after 2007, with the
    same migrant stock."""
    scn, base = load_scenario("insurance_by_branch_portable"), load_scenario(
        "social_insurance_portable")
    a = _run(scn.to_params(), start=2005, years=5)
    b = _run(base.to_params(), start=2005, years=5)
    for br in ("medical", "injury"):
        assert a.annual(f"insurance_coverage_{br}")[-1] > b.annual(f"insurance_coverage_{br}")[-1]
    assert a.annual("pension_cashouts")[2:].sum() == 0 < b.annual("pension_cashouts")[2:].sum()
    np.testing.assert_array_equal(a.annual("migrant_stock"), b.annual("migrant_stock"))


def test_defaults_are_valid_and_dated():
    pars = Params({}).at(2005)
    assert pars.insurance_injury_high_risk_formal == 0.1 and pars.pension_portable == 0.0
    assert Params({}).at(2003).insurance_injury_high_risk_formal == 0.0
    with pytest.raises(ValueError):
        Params({"insurance_employer_rate_maternity": 0.05})


_CHILD = """
import sys, numpy as np
from sim import Simulation
sim = Simulation({"insurance_medical_alone": 0.3}, agents=3000, seed=5, start_year=2003, years=2)
res = sim.run()
p = sim.persons
np.savez(sys.argv[1], br=p.ins_branches, acc=p.pension_account, pool=p.pension_pool,
         med=res.annual("insurance_coverage_medical"), cash=res.annual("pension_cashout_rmb"))
"""


def test_thread_count_bit_identical(tmp_path):
    """Enrolment and transfer draws are keyed by person and month: same state on 1 or 2
    threads."""
    out = arrays_by_thread_count(_CHILD, tmp_path)
    assert out[1]["br"].any()
    assert_same_arrays(out[1], out[2])
