"""Returnees' enterprise: savings from work away, small rural businesses, local hires (issue 17,
part 4).

Returnees bring back "finances, ideas, skills and networks" that could found new livelihoods,
yet "only a small proportion establish small businesses" (seed 1.6, Zhao 2001); the biggest
hurdles are "a lack of capital and a limited availability of skilled labour", and local
governments help with training, information and credit (seed 2.4); the ILO's Start and Improve
Your Business (SIYB) programme piloted start-up training for migrants in 2005-2006 (seed 2.4,
annex table). In a 2008 survey of Wuwei county (Anhui), return savings and migration
experience raised returnees' self-employment (Demurger & Xu 2011, World Development 39(10)).
Two stages:

**savings** (after ``work_safety``, when the pay of the month is final). A rural-hukou migrant in
a wage job paid in full saves ``ent_saving_share`` of what is left of the wage after the
remittance and the destination's living cost (person field ``savings``, units of 10 RMB of
2000 prices, int16 capped at 300,000 RMB; fractions rounded up with the chance of the fraction,
draw keyed by person and month, so the sum is unbiased). Own-account earnings are not saved (a
simplification). Savings are kept at home (as deposits) until they are invested in a business;
``years_away`` counts completed years away over all spells (capped at 100).

**enterprise** (after ``rural_offfarm``, before ``decisions``). In each county (persons of a
county are contiguous, so counties run in parallel and each writes only its own persons):

1. a hired worker no longer at home, of working age (16-64) or rural, or who took a TVE job
   (``tve``, of ``rural_offfarm``, which runs just before), leaves the business job;
2. a running business (person fields ``biz_months`` > 0, months running capped at 120;
   ``biz_jobs``, jobs it offers) ends when its owner left the population or fails with the
   monthly hazard of ``ent_fail_rate_young`` (first three years) or ``ent_fail_rate_old``
   (draw 0, ``enterprise.fail``); its hires in the owner's household are released first;
3. a rural-hukou person at home aged 18-59 who is neither an owner, a hire nor a TVE holder
   starts a business with the monthly chance ``1 - (1 - P) ** (1/12)`` of the yearly logistic

       logit P = logit(ent_start_rate_year) + ent_savings_log * log(1 + K / 1000 RMB)
                 + ent_school_log * school + ent_trained_log * trained
                 + ent_away_log_per_year * min(years_away, 10) + ent_siyb_log * SIYB,

   with capital K = savings plus ``micro_loan_rmb`` for those with micro-credit (a share
   ``micro_credit_access`` of persons, a stable draw per person) and SIYB = 1 for returnees (left
   at least once) reached by start-up training (a share ``siyb_coverage``, a stable draw). Stayers
   (no savings, no time away) start at the base rate only. The savings are invested (set to 0).
   The business offers a geometric number of jobs with mean ``ent_jobs_per_business`` (draw 1)
   and first hires members of the owner's household who are at home, 16-64, rural and neither
   owners, hires nor TVE holders;
4. the county's jobs (offered by its running businesses) and hires are balanced: excess hires
   are released from the end of the county, open jobs are filled at once from the same pool of
   seekers, scanning from an offset drawn per county and month (``enterprise.hire``): surplus
   labour at home is ample (seed 1.1: over 30% un- and underemployment).

A household with n rural workers at home of whom k own or work in a business earns, per worker,
``y_h <- y_h + log(1 + (k / n) * (ent_income_ratio - 1))``: the business income, relative to the
household's income per worker at home, is shared by the household as the TVE wage is in
``rural_offfarm``. The decisions stage reads this next. **Owners do not migrate** while the
business runs: the decisions stage skips them as it skips those who returned this month
(``Enterprise.hold``, the one hook this mechanism added to ``decisions``); hires may leave, and
lose the job.

``ent_start_rate_year = 0`` (the default) switches both stages off: they write zeros into their
own indicators and touch nothing else, so every other number is bit-identical to a run without
them (the seed gives no start-up rate to default to). Under ``ht_mode`` (one national home
income) nothing is done. The Mesa reference model refuses the mechanism switched on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, NEVER_LEFT, NO_SECTOR, RURAL
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import household

UNIT_RMB = 10.0  # RMB (2000 prices) per unit of ``savings``
SAVINGS_CAP = 30000  # units: 300,000 RMB
AWAY_CAP = 100  # years_away cap
MONTHS_CAP = 120  # biz_months cap (survival windows need up to 48, the young phase 36)
YOUNG_MONTHS = 36  # the first three years: the young-business failure hazard
START_AGE_MIN, START_AGE_MAX = 18, 59  # assumption: who starts a business
WORK_AGE_MIN, WORK_AGE_MAX = 16, 64  # who is hired (as rural_offfarm, rural_reserve)
AWAY_YEARS_MAX = 10  # years away counted in the start-up logit
HIRED = -1  # biz_jobs of a hired worker
# slots of the coefficient vector handed to the kernel
A0, B_SAV, B_SCHOOL, B_TRAIN, B_AWAY, B_SIYB, SIYB, CREDIT, LOAN, H_YOUNG, H_OLD, Q_JOBS = range(12)

PARAMS = (
    Param("ent_start_rate_year", 0.0, "per year", 0.0, 0.5,
          "estimate (range 0.001-0.01, would use 0.003; no survey rate for 1985-2006 was found): "
          "seed 1.6 (Zhao 2001): 'only a small proportion [of returnees] establish small "
          "businesses'; MoHRSS (ecns.cn 2018-01-21): about 11% of returned migrants chose to "
          "start businesses in late 2017, under strong promotion, an upper bound; 0 switches "
          "the mechanism off",
          "yearly chance that a person at home with no savings, primary schooling, no training "
          "and no time away starts a business", role="behaviour"),
    Param("ent_savings_log", 0.5, "log-odds per log(1 + K/1000 RMB)", 0.0, 3.0,
          "estimate (range 0.2-1): Demurger & Xu 2011 (World Development 39(10)): return "
          "savings raise returnees' self-employment; seed 2.4: lack of capital the biggest "
          "hurdle", "rise of the start-up log-odds with log capital (savings plus micro-loan)",
          role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_school_log", 0.3, "log-odds per schooling level", 0.0, 2.0,
          "estimate (range 0-0.6): seed 2.4 (a new generation, more educated and skilled, "
          "could start businesses)", "rise of the start-up log-odds per schooling level",
          role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_trained_log", 0.3, "log-odds", 0.0, 2.0,
          "estimate (range 0-0.6): seed 2.4 (skills)", "rise of the start-up log-odds with "
          "vocational training", role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_away_log_per_year", 0.15, "log-odds per year away", 0.0, 1.0,
          "estimate (range 0.05-0.3): seed 1.6 (finances, ideas, skills and networks acquired "
          "away); Demurger & Xu 2011 (job changes during migration raise self-employment)",
          "rise of the start-up log-odds per completed year away (at most 10)",
          role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_siyb_log", 0.7, "log-odds", 0.0, 3.0,
          "estimate (range 0.3-1.2): McKenzie & Woodruff 2014 (World Bank Research Observer "
          "29(1)): business training speeds start-ups of would-be entrepreneurs, little "
          "evidence on survival", "rise of the start-up log-odds of a returnee given SIYB "
          "start-up training", role="behaviour",
          active_when="ent_start_rate_year > 0 and siyb_coverage > 0"),
    Param("siyb_coverage", 0.0, "share", 0.0, 1.0,
          "lever: seed 2.4 (ILO 'Start and Improve Your Business', piloted among migrants in "
          "Chengdu and other cities in 2005-2006, MoLSS/DfID); none before (assumption)",
          "share of returnees reached by SIYB start-up training", role="policy",
          active_when="ent_start_rate_year > 0"),
    Param("micro_credit_access", 0.0, "share", 0.0, 1.0,
          "lever: seed 2.4 (local governments help entrepreneurial returnees with credit); 0 = "
          "no micro-credit reaching would-be founders (assumption)",
          "share of persons at home who can borrow a micro-loan to start a business",
          role="policy",
          active_when="ent_start_rate_year > 0"),
    Param("micro_loan_rmb", 5000.0, "RMB (2000 prices)", 0.0, 100000.0,
          "estimate (range 2,000-10,000): size of rural micro-loans to farm households",
          "micro-loan added to the savings of a person with micro-credit", role="structural",
          active_when="ent_start_rate_year > 0 and micro_credit_access > 0"),
    Param("ent_jobs_per_business", 2.0, "workers", 0.0, 20.0,
          "estimate (range 1-4): MoHRSS (ecns.cn 2018-01-21) about 4 jobs per returnee "
          "start-up in 2017, larger than the small businesses before 2006; seed 2.4: skilled "
          "labour scarce", "mean number of local workers a new business hires (geometric)",
          role="structural",
          active_when="ent_start_rate_year > 0"),
    Param("ent_fail_rate_young", 0.2, "per year", 0.0, 1.0,
          "Knaup 2005 (Monthly Labor Review 128(5)): 66% of new US establishments survived two "
          "years, 44% four (about 0.2 a year); estimate for rural China (range 0.1-0.35)",
          "yearly failure hazard of a business in its first three years", role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_fail_rate_old", 0.1, "per year", 0.0, 1.0,
          "SBA Office of Advocacy (BLS Business Employment Dynamics): about half of new "
          "businesses survive five years, a third ten (about 0.08 a year after five); estimate "
          "(range 0.05-0.2)", "yearly failure hazard of a business older than three years",
          role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_income_ratio", 1.6, "ratio", 0.5, 4.0,
          "estimate (range 1.2-2.5), as tve_wage_ratio: off-farm work raises rural incomes "
          "(seed 1.1, 1.3)", "income of an owner or hire relative to the household's income "
          "per worker at home", role="behaviour",
          active_when="ent_start_rate_year > 0"),
    Param("ent_saving_share", 0.5, "share", 0.0, 1.0,
          "estimate (range 0.3-0.8): seed 1.5 (migrants cope with urban living costs and send a "
          "large share home); Demurger & Xu 2011 (migrants bring savings back)",
          "share of the wage left after remittance and living cost that a migrant saves",
          role="behaviour",
          active_when="ent_start_rate_year > 0"),
)


@njit(inline="always", cache=True)
def _worker(p, i):
    """Rural-hukou, at home, 16-64: may be hired (or keep a business job)."""
    return (p.hukou[i] == RURAL and p.loc[i] == HOME
            and WORK_AGE_MIN <= p.age[i] <= WORK_AGE_MAX)


@njit(cache=True, parallel=True)
def save(key, p, wage, paid, remit, living, share, savings, years_away):
    """This month's savings of migrants paid in full, and completed years away."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    months_away = p.months_away
    for i in prange(loc.shape[0]):
        d = loc[i]
        if d == HOME or hukou[i] != RURAL:
            continue
        m = months_away[i]
        if m > 0 and m % 12 == 0 and years_away[i] < AWAY_CAP:
            years_away[i] += 1
        if sector[i] == NO_SECTOR or paid[i] == 0:
            continue
        x = share * (wage[i] - remit[i] - living[d]) / UNIT_RMB
        if x <= 0.0:
            continue
        k = np.floor(x)
        if uniform(key, i, 0) < x - k:
            k += 1.0
        savings[i] = min(savings[i] + k, SAVINGS_CAP)


@njit(inline="always", cache=True)
def start_chance(p, i, savings, years_away, coef, u_siyb, u_credit):
    """Monthly start-up chance of person ``i`` from the yearly logistic (module docstring)."""
    k = savings[i] * UNIT_RMB
    if u_credit < coef[CREDIT]:
        k += coef[LOAN]
    z = (coef[A0] + coef[B_SAV] * np.log(1.0 + k / 1000.0) + coef[B_SCHOOL] * p.school[i]
         + coef[B_TRAIN] * p.trained[i] + coef[B_AWAY] * min(years_away[i], AWAY_YEARS_MAX))
    if p.first_left[i] != NEVER_LEFT and u_siyb < coef[SIYB]:
        z += coef[B_SIYB]
    py = 1.0 / (1.0 + np.exp(-z))
    return 1.0 - (1.0 - py) ** (1.0 / 12.0)


@njit(inline="always", cache=True)
def _hire_household(p, hh_start, h, tve, biz_months, biz_jobs, n):
    """Hire up to ``n`` seekers of household ``h``; returns the number hired."""
    got = 0
    for j in range(hh_start[h], hh_start[h + 1]):
        if got >= n:
            break
        if biz_jobs[j] == 0 and biz_months[j] == 0 and tve[j] == 0 and _worker(p, j):
            biz_jobs[j] = HIRED
            got += 1
    return got


@njit(cache=True, parallel=True)
def businesses(keys, year, p, county_start, hh_start, tve, savings, years_away, biz_months,
               biz_jobs, coef, out):
    """One month of business hires, failures, start-ups and the county balance of jobs and
    hires (module docstring). ``out[c]``: started, started by returnees, ended, hired."""
    k_fail, k_start, k_hire, k_lever = keys[0], keys[1], keys[2], keys[3]
    hukou = p.hukou
    loc = p.loc
    age = p.age
    for c in prange(county_start.shape[0] - 1):
        lo, hi = county_start[c], county_start[c + 1]
        started = by_ret = ended = hired = 0
        for i in range(lo, hi):  # 1. hires who left, aged out or took a TVE job
            if biz_jobs[i] == HIRED and (tve[i] == 1 or not _worker(p, i)):
                biz_jobs[i] = 0
        for i in range(lo, hi):
            m = biz_months[i]
            if m > 0:  # 2. running businesses end or age
                h = coef[H_YOUNG] if m <= YOUNG_MONTHS else coef[H_OLD]
                if hukou[i] != RURAL or loc[i] != HOME or uniform(k_fail, i, 0) < h:
                    n = biz_jobs[i]
                    biz_months[i] = 0
                    biz_jobs[i] = 0
                    ended += 1
                    h_i = household(p, i)
                    for j in range(hh_start[h_i], hh_start[h_i + 1]):
                        if n <= 0:
                            break
                        if biz_jobs[j] == HIRED:
                            biz_jobs[j] = 0
                            n -= 1
                elif m < MONTHS_CAP:
                    biz_months[i] = m + 1
                continue
            if (biz_jobs[i] != 0 or tve[i] == 1 or hukou[i] != RURAL or loc[i] != HOME
                    or not START_AGE_MIN <= age[i] <= START_AGE_MAX):
                continue
            born = year - age[i]  # 3. start-ups; stable lever draws per occupant of the slot
            pm = start_chance(p, i, savings, years_away, coef, uniform(k_lever, i, 2 * born),
                              uniform(k_lever, i, 2 * born + 1))
            if uniform(k_start, i, 0) >= pm:
                continue
            size = 0
            if coef[Q_JOBS] > 0.0:
                size = int(np.log(1.0 - uniform(k_start, i, 1)) / np.log(coef[Q_JOBS]))
            biz_months[i] = 1
            biz_jobs[i] = min(size, 100)
            savings[i] = 0
            started += 1
            if p.first_left[i] != NEVER_LEFT:
                by_ret += 1
            hired += _hire_household(p, hh_start, household(p, i), tve, biz_months, biz_jobs,
                                     biz_jobs[i])
        jobs = 0  # 4. the county's jobs and hires balanced
        held = 0
        for i in range(lo, hi):
            if biz_months[i] > 0:
                jobs += biz_jobs[i]
            elif biz_jobs[i] == HIRED:
                held += 1
        i = hi - 1
        while held > jobs and i >= lo:
            if biz_jobs[i] == HIRED:
                biz_jobs[i] = 0
                held -= 1
            i -= 1
        n = hi - lo
        if held < jobs and n > 0:
            off = int(uniform(k_hire, c, 0) * n)
            for q in range(n):
                if held >= jobs:
                    break
                i = lo + (off + q) % n
                if biz_jobs[i] == 0 and biz_months[i] == 0 and tve[i] == 0 and _worker(p, i):
                    biz_jobs[i] = HIRED
                    held += 1
                    hired += 1
        out[c, 0] = started
        out[c, 1] = by_ret
        out[c, 2] = ended
        out[c, 3] = hired


@njit(cache=True, parallel=True)
def add_income(hh_start, p, biz_months, biz_jobs, ratio, y_home):
    """y_h <- y_h + log(1 + (k / n) (ratio - 1)) for households with k > 0 owners and hires
    among their n rural workers at home."""
    loc = p.loc
    hukou = p.hukou
    for h in prange(hh_start.shape[0] - 1):
        n = 0
        k = 0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and loc[i] == HOME:
                n += 1
                if biz_months[i] > 0 or biz_jobs[i] == HIRED:
                    k += 1
        if k > 0:
            y_home[h] += np.log(1.0 + k / n * (ratio - 1.0))


def coefficients(pars) -> np.ndarray:
    """The start-up, lever and failure coefficients in the kernel's order."""
    r = pars.ent_start_rate_year
    m = pars.ent_jobs_per_business
    coef = np.zeros(12)
    coef[A0] = np.log(r / (1.0 - r)) if r > 0 else -np.inf
    coef[B_SAV], coef[B_SCHOOL] = pars.ent_savings_log, pars.ent_school_log
    coef[B_TRAIN], coef[B_AWAY] = pars.ent_trained_log, pars.ent_away_log_per_year
    coef[B_SIYB], coef[SIYB] = pars.ent_siyb_log, pars.siyb_coverage
    coef[CREDIT], coef[LOAN] = pars.micro_credit_access, pars.micro_loan_rmb
    coef[H_YOUNG] = 1.0 - (1.0 - pars.ent_fail_rate_young) ** (1.0 / 12.0)
    coef[H_OLD] = 1.0 - (1.0 - pars.ent_fail_rate_old) ** (1.0 / 12.0)
    coef[Q_JOBS] = m / (1.0 + m)  # geometric on 0, 1, ... with mean m
    return coef


class Savings(Mechanism):
    """Migrants paid in full save part of what is left after remittance and living cost (seed
    1.5, 1.6); completed years away are counted. Off unless ``ent_start_rate_year`` > 0."""

    name = "savings"
    doc = "migrants paid in full save part of the wage left after remittance and living cost"
    after = "work_safety"  # this month's pay is final
    params = PARAMS[-1:]
    person_state = (
        StateField("savings", "int16", "savings from work away, units of 10 RMB (2000 prices)"),
        StateField("years_away", "int8", "completed years away over all spells (capped)"),
    )
    streams = ("enterprise.save",)

    def step(self, sim: Any) -> None:
        pars = sim.pars
        if pars.ent_start_rate_year <= 0.0 or pars.ht_mode:
            return
        p, buf = sim.persons, sim.buf
        save(sim.key("enterprise.save"), p.core, buf.wage, buf.paid, buf.remit, sim.yq.living,
             pars.ent_saving_share, p.savings, p.years_away)


_ZERO = ("businesses_started", "businesses_started_by_returnees", "businesses_ended",
         "businesses_running", "business_owners_returnee_share", "business_jobs",
         "business_hires", "business_survival_1y", "business_survival_3y",
         "returnee_savings_rmb")


class Enterprise(Mechanism):
    """Persons at home, returnees above all, start small businesses with a chance rising with
    savings, schooling, training and years away, raised by SIYB training and micro-credit (seed
    1.6, 2.4); businesses hire locally and fail. Off by default (``ent_start_rate_year`` 0)."""

    name = "enterprise"
    doc = "persons at home start small businesses that hire locally and fail; owners stay home"
    after = "rural_offfarm"  # needs this month's y_home and TVE jobs; decisions read it next
    params = PARAMS[:-1]
    person_state = (
        StateField("biz_months", "int8", "months the person's business has run (0 = none, "
                   "capped at 120)"),
        StateField("biz_jobs", "int8", "jobs the person's business offers; -1 = hired by one"),
    )
    results = (
        Indicator("businesses_started", "agents", "businesses started", scaled=True, flow=True),
        Indicator("businesses_started_by_returnees", "agents",
                  "businesses started by persons who had left home before", scaled=True,
                  flow=True),
        Indicator("businesses_ended", "agents", "businesses that failed or whose owner left "
                  "the population", scaled=True, flow=True),
        Indicator("businesses_running", "agents", "businesses running", scaled=True),
        Indicator("business_owners_returnee_share", "share",
                  "share of running businesses owned by returnees (0 when none run)"),
        Indicator("business_jobs", "agents", "local workers hired by the businesses",
                  scaled=True),
        Indicator("business_hires", "agents", "hires by the businesses (jobs created)",
                  scaled=True, flow=True),
        Indicator("business_survival_1y", "share", "share of the businesses started 12-23 "
                  "months before this month still running (0 when none were started)"),
        Indicator("business_survival_3y", "share", "share of the businesses started 36-47 "
                  "months before this month still running (0 when none were started)"),
        Indicator("returnee_savings_rmb", "RMB (2000 prices)",
                  "mean savings of the returnees at home (0 when none)"),
    )
    streams = ("enterprise.fail", "enterprise.start", "enterprise.hire", "enterprise.levers")

    def __init__(self) -> None:
        self.active = False

    def hold(self, sim: Any, skip: np.ndarray) -> np.ndarray:
        """The decisions' skip flags with the owners of running businesses added (they do not
        weigh leaving); ``skip`` itself when the mechanism is inactive."""
        if not self.active:
            return skip
        return np.where(sim.persons.biz_months > 0, np.int8(1), skip)

    def step(self, sim: Any) -> None:
        pars, sc, t, p = sim.pars, sim.rec.scalars, sim.t, sim.persons
        # an unread biz_months is all 0 (no business ever ran): left unallocated
        self.active = not pars.ht_mode and (
            pars.ent_start_rate_year > 0.0
            or (p.allocated("biz_months") and bool(p.biz_months.any()))
        )
        if not self.active:
            for k in _ZERO:
                sc[k][t] = 0.0
            return
        tve = getattr(p, "tve", None)
        if tve is None:
            tve = np.zeros(p.n, np.int8)
        places = sim.places
        n_c = places.county_start.shape[0] - 1
        out = np.zeros((n_c, 4), np.int64)
        keys = np.array([sim.key(s) for s in self.streams[:3]]
                        + [sim.key("enterprise.levers", 0)], np.uint64)
        businesses(keys, sim.year, p.core, places.county_start, places.hh_start, tve,
                   p.savings, p.years_away, p.biz_months, p.biz_jobs, coefficients(pars), out)
        add_income(places.hh_start, p.core, p.biz_months, p.biz_jobs, pars.ent_income_ratio,
                   sim.buf.y_home)
        tot = out.sum(axis=0)
        for k, v in zip(_ZERO[:3], tot[:3], strict=True):
            sc[k][t] = float(v)
        sc["business_hires"][t] = float(tot[3])
        owner = p.biz_months > 0
        n_run = int(np.count_nonzero(owner))
        sc["businesses_running"][t] = n_run
        sc["business_owners_returnee_share"][t] = (
            np.count_nonzero(owner & (p.first_left != NEVER_LEFT)) / n_run if n_run else 0.0)
        sc["business_jobs"][t] = np.count_nonzero(p.biz_jobs == -1)
        age = p.biz_months[owner].astype(np.int64)
        started = sc["businesses_started"]
        for k, lo in (("business_survival_1y", 13), ("business_survival_3y", 37)):
            a, b = max(0, t - lo - 10), t - lo + 2  # months started of ages lo..lo+11
            n0 = started[a:b].sum() if b > 0 else 0.0
            alive = np.count_nonzero((age >= lo) & (age <= lo + 11))
            sc[k][t] = alive / n0 if n0 > 0 else 0.0
        ret = (p.loc == HOME) & (p.hukou == RURAL) & (p.first_left != NEVER_LEFT)
        n_ret = int(np.count_nonzero(ret))
        sc["returnee_savings_rmb"][t] = (
            UNIT_RMB * p.savings[ret].astype(np.float64).sum() / n_ret if n_ret else 0.0)
