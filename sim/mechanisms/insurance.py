"""Social insurance of migrants by branch: enrolment, contributions, portability, what it pays
(issue 17, part 3).

The seed (1.5) reports migrants' participation in "the five areas of social insurance" from three
studies that disagree: one report (Workers' Daily, July 2004) pension 33.7%, medical 21.6%,
unemployment 10.3%, employment injury 31.8%, maternity 5.5%; the IILS pension 15%, medical 10%;
CASS (China Human Development Report 2005) pension under 5%, unemployment under 3%. Entitlements
are organised locally, "not transferable to other cities and therefore incompatible with migrant
mobility" (seed 2.3); measure 4 of the State Council's 2006 measures (seed 2.1) is to enlarge
migrants' coverage of injury, medical and pension insurance. Until 2010 a migrant who left the
city could only cash in (tuibao) their own pension contributions, the employer's stayed in the
local pool (China Labour News Translations 2008, clntranslations.org/article/31; China Daily
2008-11-20: 840,000 migrants quit Shenzhen's scheme by mid-November 2008 and withdrew 1.43
billion yuan).

**Enrolment** (a per-person bit field ``ins_branches``, ``INS_*``). ``labour.match_jobs`` still
draws the combined flag ``JOB_INSURED`` of a formal job (chance ``social_insurance_coverage``,
unchanged); it is read here as the **pension** branch. When a job starts (a rural-hukou migrant
employed now who was not employed at the start of this month's matching, or whose job has not
been drawn yet, as the initial stock's jobs), the other branches are drawn from the stream
``insurance.enrol`` (draws 0-3: medical, unemployment, injury, maternity), conditionally on the
pension flag so that they are correlated as employers enrol the package:

- a pension-enrolled job carries medical, unemployment, injury, maternity with the chances
  ``insurance_<branch>_with_pension`` (the seed's ratios of each branch to pension; fitted);
- a formal job without pension carries medical with ``insurance_medical_alone`` (0: the 2006
  drive for migrants' serious-illness cover is a scenario lever);
- a job in construction or "other" (mining, seed 1.4 (3)) carries injury insurance with
  ``insurance_injury_high_risk_formal`` / ``_informal`` (the 2004 MoLSS order that high-risk
  enterprises insure their migrants, seed 2.1 Box 1), if not already drawn with the pension.
  The same draw decides both routes, so the chance is the larger of the two.

**Contributions** of the month, on the gross wage (``wage`` of ``pay`` is net of the worker's
share ``insurance_contribution_rate`` on ``JOB_INSURED`` jobs; that deduction is unchanged):
the employer pays ``insurance_employer_rate_<branch>`` for each branch held; the worker's share
is what ``pay`` deducted, of which ``pension_worker_rate`` accrues in the individual account
(``pension_account``, RMB 2000 prices, with ``pension_months`` and the pooling area
``pension_pool``: the destination, or its province under ``pension_pooling = "province"``).
With ``insurance_cost_in_demand`` (off by default) the employers' contributions raise labour
cost: ``sim.labour_cost_mult`` (1 + the mean employer rate of migrants' jobs by destination and
sector) multiplies the paid wage levels in ``labour``'s demand next month.

**Portability.** A rural-hukou person with accrued rights who is no longer in the pooling area
(went home, moved on) keeps them with chance ``pension_portable`` of the area (stream
``insurance.transfer``; ``pension_portable_by_province`` is the interface for province rules)
and otherwise cashes out: the account (the worker's own contributions) is paid out and the
employer's contributions stay in the pool (``pension_forfeited_rmb``, reckoned at today's rate
ratio). Rights kept are held until the next pension job.

**What the branches pay.** Unemployment: a migrant whose unemployment-insured job ended at the
destination after at least 12 months receives the one-off living allowance of rural contract
workers (1999 Regulations on Unemployment Insurance, art. 21): ``unemployment_allowance_months
_per_year`` months per full year worked, at most 12 (art. 17), of a benefit
``unemployment_benefit_share`` of the local minimum wage (art. 18). Injury: ``work_safety``
compensates only holders of the injury branch (``INS_INJURY``) who held the job before the
month's matching: it runs before this stage, so a worker hired this month counts as not yet
enrolled (``work_safety`` docstring). Medical and maternity:
recorded as coverage only (the model has no illness and no births at the destination).
Benefits, cash-outs and contributions are recorded, not added to incomes, so they change no
decision.

**Coverage** is recorded as shares of rural-hukou migrants in wage jobs (the studies survey
migrant workers; ``insurance_coverage_pension`` equals ``share_insured``) and of all migrants
away (``_all``). The branch levels follow the pension coverage that ``social_insurance_coverage``
gives (3.7% of migrants in wage jobs in 2004, below the seed's 5-34%), so the branch targets of
``calibration/targets.toml`` are not asserted (see their note).

**Where in the month.** After ``work_safety``: the month's hires and wages are known and the
injured have lost their jobs; ``record`` comes later. Nothing this stage writes is read by another
stage (unless ``insurance_cost_in_demand``), so every other number of a default run is
bit-identical to a run without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import (  # noqa: F401  (INS_* re-exported: the branch bits)
    HOME,
    INS_DRAWN,
    INS_INJURY,
    INS_MATERNITY,
    INS_MEDICAL,
    INS_PENSION,
    INS_UNEMPLOYMENT,
    JOB_INFORMAL,
    JOB_INSURED,
    N_SECTORS,
    NO_SECTOR,
    RURAL,
    SECTOR_NAMES,
)
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import TALLY_CHUNK, n_chunks

BRANCHES = ("pension", "medical", "unemployment", "injury", "maternity")
BRANCH_BITS = (INS_PENSION, INS_MEDICAL, INS_UNEMPLOYMENT, INS_INJURY, INS_MATERNITY)
HIGH_RISK = ("construction", "other")  # seed 1.4 (3): construction, mining (in "other")
NO_POOL = -1
MAX_POOL = 127  # pooling areas are destinations (94) or provinces: an int8

# columns of the counts of :func:`enrol` after the five branches
T_EMP, T_MIG, T_MEMBERS, T_CASHOUT, T_TRANSFER, T_ALLOWANCE = 5, 6, 7, 8, 9, 10

_SEED15 = ("seed 1.5: Workers' Daily 2004 pension 33.7%, medical 21.6%, unemployment 10.3%, "
           "injury 31.8%, maternity 5.5%; IILS pension 15%, medical 10%; CASS pension <5%, "
           "unemployment <3%")


def _p(name, default, unit, lo, hi, source, doc, role="policy", kind=float, choices=()):
    return Param(name, default, unit, lo, hi, source, doc, kind=kind, choices=choices, role=role)


PARAMS = (
    _p("insurance_medical_with_pension", 0.65, "probability", 0.0, 1.0,
       f"fitted, ratio to pension: {_SEED15}; medical/pension 21.6/33.7 = 0.64 "
       "(Workers' Daily), 10/15 = 0.67 (IILS)",
       "chance a pension-enrolled job also carries medical insurance"),
    _p("insurance_unemployment_with_pension", 0.31, "probability", 0.0, 1.0,
       f"fitted, ratio to pension: {_SEED15}; 10.3/33.7 = 0.31 "
       "(Workers' Daily); 1999 Regulations on Unemployment Insurance (rural contract workers)",
       "chance a pension-enrolled job also carries unemployment insurance"),
    _p("insurance_injury_with_pension", 0.94, "probability", 0.0, 1.0,
       f"fitted, ratio to pension: {_SEED15}; 31.8/33.7 = 0.94 (Workers' Daily)",
       "chance a pension-enrolled job also carries work-injury insurance"),
    _p("insurance_maternity_with_pension", 0.16, "probability", 0.0, 1.0,
       f"fitted, ratio to pension: {_SEED15}; 5.5/33.7 = 0.16 (Workers' Daily)",
       "chance a pension-enrolled job also carries maternity insurance"),
    _p("insurance_medical_alone", 0.0, "probability", 0.0, 1.0,
       "lever (seed 2.1: the 2006 scheme adds medical insurance for serious diseases; Guofa "
       "[2006] No. 5); 0 in the baseline as social_insurance_coverage stays flat after 2004",
       "chance a formal job without pension carries medical insurance"),
    _p("insurance_injury_high_risk_formal", {"mode": "step", "1985": 0.0, "2004": 0.1},
       "probability", 0.0, 1.0,
       "estimate (range 0-0.3): seed 2.1 Box 1 (2004: MoLSS ordered mining and construction to "
       "insure migrants; Regulation on Work-Related Injury Insurance in force 2004), seed 1.4 "
       "(3): 'poorly enforced' (steps at dated documents, sim/data/policies.toml)",
       "chance a formal job in construction or other (mining) carries injury insurance "
       "without pension"),
    _p("insurance_injury_high_risk_informal", {"mode": "step", "1985": 0.0, "2004": 0.05},
       "probability", 0.0, 1.0,
       "estimate (range 0-0.2, half the formal chance): as insurance_injury_high_risk_formal; "
       "construction insures by project, contracts or not",
       "chance an informal job in construction or other (mining) carries injury insurance"),
    _p("insurance_employer_rate_pension", 0.20, "share of wage", 0.0, 0.5,
       "State Council Decision on a unified basic pension system (Guofa [1997] No. 26): "
       "employers up to 20% of payroll, workers 8%; china.org.cn 2009-10-15 (20% and 8%)",
       "employer's pension contribution"),
    _p("insurance_employer_rate_medical", 0.06, "share of wage", 0.0, 0.2,
       "State Council Decision on basic medical insurance for urban employees (Guofa [1998] "
       "No. 44): employers about 6%, workers 2%",
       "employer's medical insurance contribution"),
    _p("insurance_employer_rate_unemployment", 0.02, "share of wage", 0.0, 0.1,
       "Regulations on Unemployment Insurance 1999 (Decree No. 258), art. 6: employers 2%; "
       "rural contract workers pay nothing themselves",
       "employer's unemployment insurance contribution"),
    _p("insurance_employer_rate_injury", 0.01, "share of wage", 0.0, 0.1,
       "estimate (range 0.005-0.02): Regulation on Work-Related Injury Insurance 2003 (Decree "
       "No. 375), employers only, rates by industry risk class (about 0.5%, 1%, 2%)",
       "employer's work-injury insurance contribution (mean over industries)"),
    _p("insurance_employer_rate_maternity", 0.008, "share of wage", 0.0, 0.01,
       "Trial Measures on Maternity Insurance for Enterprise Employees (Ministry of Labour "
       "1994), art. 4: set locally, at most 1% of payroll, workers pay nothing (Guangzhou 0.7%)",
       "employer's maternity insurance contribution"),
    _p("pension_worker_rate", 0.08, "share of wage", 0.0, 0.2,
       "Guofa [1997] No. 26: workers' pension contribution rising to 8% (part of the 11% of "
       "insurance_contribution_rate; at most that)",
       "worker's pension contribution, accrued in the individual account"),
    _p("pension_portable", 0.0, "probability", 0.0, 1.0,
       "seed 2.3 (entitlements local, not transferable); clntranslations.org/article/53: "
       "inter-regional transfer permitted from 1 January 2010; a yearly path dates a reform",
       "chance a pension member leaving the pooling area keeps the accrued rights (else the "
       "worker's contributions are cashed out)"),
    _p("pension_pooling", "city", "level", 0, 0,
       "clntranslations.org/article/31: migrants leaving their city of work could not transfer "
       "the account; pooling was by city", "pooling area of the pension: city or province",
       role="structural", kind=str, choices=("city", "province")),
    _p("unemployment_benefit_share", 0.7, "share of minimum wage", 0.0, 1.0,
       "estimate (range 0.6-0.9): 1999 Regulations on Unemployment Insurance, art. 18 "
       "(benefit below the local minimum wage, above the urban subsistence line)",
       "monthly unemployment benefit relative to the local minimum wage"),
    _p("unemployment_allowance_months_per_year", 1.0, "months per year worked", 0.0, 12.0,
       "estimate (range 0.5-2): 1999 Regulations on Unemployment Insurance, art. 21 (a one-off "
       "living allowance for rural contract workers after a year, by length of work, standard "
       "set by provinces; m.sarr.cn/dongshi/rdesc/m6m5QY7X6M), at most 12 months (art. 17)",
       "months of benefit in the one-off allowance per full year of an insured job"),
    _p("insurance_cost_in_demand", False, "switch", 0, 1,
       "seed 2.2 ('compliance with all the labour laws would lead to spiraling operating "
       "costs'); off by default so the calibrated demand is unchanged",
       "employers' insurance contributions raise the labour cost that demand responds to",
       role="structural", kind=bool),
)


def pension_portable_by_province(pars, n_prov: int) -> np.ndarray:
    """Chance accrued pension rights are kept on leaving, by the province of the pooling area:
    today the national ``pension_portable`` everywhere (a province's own rule enters here)."""
    return np.full(n_prov, float(pars.pension_portable))


def pools(geo, pars) -> tuple[np.ndarray, np.ndarray]:
    """Pooling area of each destination and the portability chance of each area."""
    by_prov = pension_portable_by_province(pars, geo.n_prov)
    dest_prov = np.asarray(geo.dest_prov, np.int64)
    if pars.pension_pooling == "province":
        return dest_prov, by_prov
    return np.arange(geo.n_dest, dtype=np.int64), by_prov[dest_prov]


def enrolment_chances(pars) -> np.ndarray:
    """[medical, unemployment, injury, maternity with pension; medical alone; injury in a
    high-risk formal job, informal job]."""
    return np.array([
        pars.insurance_medical_with_pension, pars.insurance_unemployment_with_pension,
        pars.insurance_injury_with_pension, pars.insurance_maternity_with_pension,
        pars.insurance_medical_alone, pars.insurance_injury_high_risk_formal,
        pars.insurance_injury_high_risk_informal,
    ], np.float64)


def employer_rates(pars) -> np.ndarray:
    """Employer contribution rate of each branch, in ``BRANCHES`` order."""
    return np.array([getattr(pars, f"insurance_employer_rate_{b}") for b in BRANCHES])


def rate_of_flags(rates: np.ndarray) -> np.ndarray:
    """Employer rate of every combination of branch flags (index: flags & 31)."""
    out = np.zeros(32)
    for f in range(32):
        out[f] = sum(r for r, bit in zip(rates, BRANCH_BITS, strict=True) if f & bit)
    return out


@njit(cache=True)
def _draw_branches(key, i, jb, high_risk, chance):
    """Branch flags of a new job with flags ``jb`` (JOB_*) in a sector of risk ``high_risk``."""
    f = INS_DRAWN
    pen = (jb & JOB_INSURED) != 0
    formal = (jb & JOB_INFORMAL) == 0
    inj = 0.0
    if high_risk:
        inj = chance[5] if formal else chance[6]
    if pen:
        f |= INS_PENSION
        if uniform(key, i, 0) < chance[0]:
            f |= INS_MEDICAL
        if uniform(key, i, 1) < chance[1]:
            f |= INS_UNEMPLOYMENT
        inj = max(inj, chance[2])
        if uniform(key, i, 3) < chance[3]:
            f |= INS_MATERNITY
    elif formal and uniform(key, i, 0) < chance[4]:
        f |= INS_MEDICAL
    if uniform(key, i, 2) < inj:
        f |= INS_INJURY
    return f


@njit(cache=True, parallel=True)
def enrol(key_enrol, key_move, p, sector_before, wage, contrib, high_risk, chance, erate_flags,
          pension_rate, pool_of_dest, portable, benefit, allow_per_year, branches, job_months,
          pool, account, months):
    """One month of enrolment, contributions, cash-outs and allowances, and its tally in the
    same pass: counts (``T_*`` columns: migrants in wage jobs by branch, migrants in wage jobs,
    all migrants, pension members, cash-outs, transfers, allowances) and money (cash-outs,
    employer and worker contributions, allowances, gross wages of migrants in wage jobs; RMB,
    each person's amount rounded to float32 as the stored state). Each person reads and writes
    only its own state; the tallies are summed per fixed chunk of ``TALLY_CHUNK`` persons and the
    chunks in order, so the result is the same with any number of threads."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    n_all = loc.shape[0]
    n_c = n_chunks(n_all)
    part_n = np.zeros((n_c, 11), np.int64)
    part_m = np.zeros((n_c, 5))
    for c in prange(n_c):
        # local accumulators (kept in registers): branches 0-4, then the T_* columns
        b0 = b1 = b2 = b3 = b4 = n_emp = n_mig = n_mem = n_cash = n_tr = n_all_ = 0
        m_cash = m_emp = m_wrk = m_allow = m_gross = 0.0
        for i in range(c * TALLY_CHUNK, min((c + 1) * TALLY_CHUNK, n_all)):
            if hukou[i] != RURAL:  # settled or an empty slot: out of the migrants' schemes
                if branches[i] != 0 or job_months[i] != 0:
                    branches[i] = 0
                    job_months[i] = 0
                continue
            d = loc[i]
            here = NO_POOL if d == HOME else pool_of_dest[d]
            if pool[i] != NO_POOL and pool[i] != here:  # rights accrued in an area left
                if uniform(key_move, i, 0) < portable[pool[i]]:
                    n_tr += 1
                else:
                    n_cash += 1
                    m_cash += np.float64(account[i])
                    account[i] = 0.0
                    months[i] = 0
                pool[i] = NO_POOL
            if d == HOME:
                if branches[i] != 0 or job_months[i] != 0:
                    branches[i] = 0
                    job_months[i] = 0
                n_mem += months[i] > 0
                continue
            n_mig += 1
            if sector[i] == NO_SECTOR:  # no wage job; one that ended at the destination may pay
                if (branches[i] & INS_UNEMPLOYMENT) != 0 and job_months[i] >= 12:
                    m = min((job_months[i] // 12) * allow_per_year, 12.0)
                    n_all_ += 1
                    m_allow += np.float64(np.float32(m * benefit[d]))
                branches[i] = 0
                job_months[i] = 0
                n_mem += months[i] > 0
                continue
            if sector_before[i] == NO_SECTOR or (branches[i] & INS_DRAWN) == 0:  # a job started
                branches[i] = _draw_branches(key_enrol, i, job[i], high_risk[sector[i]], chance)
                job_months[i] = 0
            if job_months[i] < 32000:
                job_months[i] += 1
            f = branches[i]
            w = wage[i]
            gross = w / (1.0 - contrib) if (job[i] & JOB_INSURED) != 0 else w
            if (f & INS_PENSION) != 0:
                account[i] += min(pension_rate, contrib) * gross
                if months[i] < 32000:
                    months[i] += 1
                pool[i] = here
            n_mem += months[i] > 0
            n_emp += 1
            b0 += (f & INS_PENSION) != 0
            b1 += (f & INS_MEDICAL) != 0
            b2 += (f & INS_UNEMPLOYMENT) != 0
            b3 += (f & INS_INJURY) != 0
            b4 += (f & INS_MATERNITY) != 0
            m_emp += np.float64(np.float32(gross * erate_flags[f & 31]))
            m_wrk += np.float64(np.float32(gross - w))
            m_gross += gross
        part_n[c, 0], part_n[c, 1], part_n[c, 2], part_n[c, 3], part_n[c, 4] = b0, b1, b2, b3, b4
        part_n[c, T_EMP], part_n[c, T_MIG], part_n[c, T_MEMBERS] = n_emp, n_mig, n_mem
        part_n[c, T_CASHOUT], part_n[c, T_TRANSFER], part_n[c, T_ALLOWANCE] = n_cash, n_tr, n_all_
        part_m[c, 0], part_m[c, 1], part_m[c, 2] = m_cash, m_emp, m_wrk
        part_m[c, 3], part_m[c, 4] = m_allow, m_gross
    n = np.zeros(11, np.int64)
    money = np.zeros(5)
    for c in range(n_c):
        n += part_n[c]
        money += part_m[c]
    return n, money


COVERAGE = tuple(
    Indicator(f"insurance_coverage_{b}{suffix}", "share",
              f"share of rural-hukou migrants {who} enrolled in {b} insurance")
    for b in BRANCHES
    for suffix, who in (("", "in wage jobs"), ("_all", "(all, away from home)"))
)
_FLOWS = (
    ("insurance_contributions_employer_rmb", "RMB (2000 prices)",
     "employers' contributions for migrants, all branches"),
    ("insurance_contributions_worker_rmb", "RMB (2000 prices)",
     "migrants' own contributions (deducted in pay)"),
    ("pension_cashouts", "agents", "pension members who cashed out on leaving the pooling area"),
    ("pension_cashout_rmb", "RMB (2000 prices)", "worker's contributions paid out on cashing out"),
    ("pension_forfeited_rmb", "RMB (2000 prices)",
     "employer's pension contributions left in the local pool on cashing out"),
    ("pension_transfers", "agents", "pension members who kept their rights on leaving"),
    ("unemployment_allowances", "agents", "one-off unemployment allowances paid"),
    ("unemployment_allowance_rmb", "RMB (2000 prices)", "one-off unemployment allowances paid"),
)


class Insurance(Mechanism):
    """Social insurance of migrants by branch (seed 1.5, 2.1 measure 4, 2.3): enrolment of new
    jobs, contributions, pension cash-outs or transfers on leaving, unemployment allowances."""

    name = "insurance"
    doc = ("new jobs enrol by insurance branch; contributions accrue; pension members who leave "
           "the pooling area cash out or transfer; unemployment allowances")
    params = PARAMS
    person_state = (
        StateField("ins_branches", "int8", "insurance branches of the current job (INS_*)",
                   home=0),
        StateField("ins_job_months", "int16", "months the current job has been held", home=0),
        StateField("pension_pool", "int8", "pooling area of the accrued pension rights, or -1",
                   NO_POOL),
        StateField("pension_account", "float32",
                   "worker's pension contributions in the pool (RMB, 2000 prices)"),
        StateField("pension_months", "int16", "months of pension contributions accrued"),
    )
    results = (
        *COVERAGE,
        *(Indicator(n, u, d, scaled=True, flow=True) for n, u, d in _FLOWS),
        Indicator("pension_members", "agents",
                  "rural-hukou persons with accrued pension rights", scaled=True),
        Indicator("insurance_labour_cost_share", "share",
                  "employers' contributions over migrants' gross wage bill this month"),
    )
    streams = ("insurance.enrol", "insurance.transfer")

    def init(self, sim: Any) -> None:
        sim.labour_cost_mult = None  # read by labour's demand (insurance_cost_in_demand)
        self.high_risk = np.array([s in HIGH_RISK for s in SECTOR_NAMES], np.bool_)

    def yearly(self, sim: Any) -> None:
        """The year's inputs: pooling areas, portability, chances, rates, benefits."""
        pars = sim.pars
        self.pool_of_dest, self.portable = pools(sim.geo, pars)
        if self.pool_of_dest.max(initial=0) > MAX_POOL:  # pension_pool is an int8
            raise ValueError(f"{self.pool_of_dest.max() + 1} pooling areas: pension_pool holds "
                             f"at most {MAX_POOL + 1}")
        self.chance = enrolment_chances(pars)
        self.erate = rate_of_flags(employer_rates(pars))
        self.contrib = float(pars.insurance_contribution_rate)
        self.benefit = pars.unemployment_benefit_share * np.asarray(sim.yq.minw, np.float64)

    def step(self, sim: Any) -> None:
        if not hasattr(self, "erate"):  # a step outside the loop (tests): the year's inputs
            self.yearly(sim)
        pars, p, buf = sim.pars, sim.persons, sim.buf
        n, money = enrol(
            sim.key("insurance.enrol"), sim.key("insurance.transfer"), p.core, buf.sector_before,
            buf.wage, self.contrib, self.high_risk, self.chance, self.erate,
            float(pars.pension_worker_rate), self.pool_of_dest, self.portable, self.benefit,
            float(pars.unemployment_allowance_months_per_year), p.ins_branches,
            p.ins_job_months, p.pension_pool, p.pension_account, p.pension_months)
        self.record(sim, n, money)
        if pars.insurance_cost_in_demand:
            emp = (p.hukou == RURAL) & (p.loc != HOME) & (p.sector != NO_SECTOR)
            sim.labour_cost_mult = labour_cost_mult(p, emp, self.erate, sim.geo.n_dest)
        else:
            sim.labour_cost_mult = None

    def record(self, sim: Any, n: np.ndarray, money: np.ndarray) -> None:
        """The month's coverage and flows from the tally of :func:`enrol`."""
        pars, sc, t = sim.pars, sim.rec.scalars, sim.t
        n_emp, n_mig = max(n[T_EMP], 1), max(n[T_MIG], 1)
        for k, b in enumerate(BRANCHES):
            sc[f"insurance_coverage_{b}"][t] = n[k] / n_emp
            sc[f"insurance_coverage_{b}_all"][t] = n[k] / n_mig
        cash, employer, worker, allowance, gross = money
        sc["insurance_contributions_employer_rmb"][t] = employer
        sc["insurance_contributions_worker_rmb"][t] = worker
        sc["pension_cashouts"][t] = n[T_CASHOUT]
        sc["pension_cashout_rmb"][t] = cash
        ratio = pars.insurance_employer_rate_pension / max(
            min(pars.pension_worker_rate, self.contrib), 1e-12)
        sc["pension_forfeited_rmb"][t] = cash * ratio
        sc["pension_transfers"][t] = n[T_TRANSFER]
        sc["unemployment_allowances"][t] = n[T_ALLOWANCE]
        sc["unemployment_allowance_rmb"][t] = allowance
        sc["pension_members"][t] = n[T_MEMBERS]
        sc["insurance_labour_cost_share"][t] = employer / gross if gross > 0 else 0.0


def labour_cost_mult(p, emp: np.ndarray, erate: np.ndarray, n_dest: int) -> np.ndarray:
    """1 + the mean employer contribution rate of migrants' jobs, by destination and sector
    (shape (n_dest, N_SECTORS)); where nobody works, the sector's national mean."""
    d = p.loc[emp].astype(np.int64)
    s = p.sector[emp].astype(np.int64)
    r = erate[p.ins_branches[emp] & 31]
    cell = d * N_SECTORS + s
    n = np.bincount(cell, minlength=n_dest * N_SECTORS).reshape(n_dest, N_SECTORS)
    tot = np.bincount(cell, r, minlength=n_dest * N_SECTORS).reshape(n_dest, N_SECTORS)
    nat = tot.sum(0) / np.maximum(n.sum(0), 1)
    return 1.0 + np.where(n > 0, tot / np.maximum(n, 1), nat[None, :])
