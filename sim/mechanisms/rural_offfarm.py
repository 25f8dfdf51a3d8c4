"""Rural off-farm work: jobs in township and village enterprises (TVEs) at home.

From the mid-1980s township and village enterprises took up much of the surplus farm labour
without a move to the cities (seed 1.1-1.3: off-farm work raises rural incomes and absorbs the
surplus; Zhou, Dillon & Wan 1992, Agric. Econ. 6: 201-, "Development of township enterprise and
alleviation of the employment problem in rural China"). This mechanism gives the rural workers
at home a local labour market of their own; it is **off by default** (``tve_jobs_scale = 0``)
until the calibration includes it (issue 11).

**Jobs.** Province p offers, in year y (persons per agent ``scale``),

    K_p(y) = tve_jobs_scale * E(y) * s_p / scale,   s_p = E98_p / sum_q E98_q,

with E(y) the national persons employed by TVEs (``sim/data/tve_employment.csv``: CSY 1996
table 11-30 for 1985-1995, CSY 1999 table 12-27 for 1998, the State Council information office
for 2004; linear between the published years, 1985 before 1985 and **held at the 2004 level
after 2004, an assumption**) and E98_p the province's TVE employment in 1998 (CSY 1999 table
12-27; Tibet is blank there and gets no jobs).

**Who holds one** (person field ``tve``): rural-hukou persons at home aged 16 to
``tve_age_max``. Each month, in order:

1. holders no longer eligible (left home, aged out, converted) lose the job; each remaining
   holder separates with chance ``tve_separation_rate`` (draw keyed by person and month);
2. with H_p holders and S_p eligible non-holders (seekers) in the province, the openings are
   O_p = max(K_p - H_p, 0) and each seeker is hired with chance
   min(1, ``tve_matching_efficiency`` * O_p / S_p) (draw keyed by person and month). Hires are
   made in person order and stop when a province's openings are filled, so H_p never exceeds K_p
   by hiring (one serial pass: the same result with any number of threads). When K_p falls from
   one year to the next no one is laid off: holders above K_p leave by separation, departure and
   ageing, and no one is hired until they have;
3. a household with n workers at home (rural hukou, ``loc == HOME``, as
   ``household.home_income`` counts them) of whom k hold TVE jobs earns, per worker at home,

       y_h <- log(exp(y_h) + (k / n) * (w_p - exp(y_h))),   w_p = tve_wage_ratio * mean_p,

   with mean_p the provincial mean of exp(y_h) over households with a worker at home, before the
   change. The result is written back into ``sim.buf.y_home``, which the decisions stage reads
   next (this stage runs right after ``household``). k = 0 leaves y_h unchanged.

**Simplifications.** The TVE wage is shared within the household (it raises the income per
worker at home that every member weighs, not the holder's alone); job capacity follows the 1998
provincial shares in every year; the national series is flat after 2004; hires do not depend
on schooling; TVE jobs are not counted as migration (they are at home). Under ``ht_mode`` (one
national rural income, no household differences) the mechanism does nothing.

``tve_jobs_scale = 0`` switches it off: the step returns at once, writing only zeros into its own
two indicators, so every other number of a run is bit-identical to a run without it. See
``docs/markets/rural.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, RURAL
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import household

AGE_MIN = 16  # youngest TVE worker (persons enter the model at 15)
AGE_MAX_LABOUR = 64  # oldest rural worker counted in the share of rural labour

PARAMS = (
    Param(
        "tve_jobs_scale",
        0.0,
        "ratio",
        0.0,
        3.0,
        "CSY 1996 table 11-30, CSY 1999 table 12-27, State Council information office 2006 "
        "(persons employed by TVEs); 0 switches the mechanism off",
        "TVE jobs at home relative to the published national TVE employment of the year, "
        "spread by the provincial shares of 1998",
        role="structural",
    ),
    Param(
        "tve_wage_ratio",
        1.6,
        "ratio",
        0.5,
        4.0,
        "estimate (range 1.2-2.5): off-farm wages above farm income per worker (seed 1.1, 1.3: "
        "off-farm work raises rural incomes)",
        "TVE wage relative to the provincial mean farm income per worker at home",
        role="behaviour",
        active_when="tve_jobs_scale > 0",
    ),
    Param(
        "tve_separation_rate",
        0.01,
        "per month",
        0.0,
        0.2,
        "assumption",
        "chance a TVE job ends in a month",
        role="behaviour",
        active_when="tve_jobs_scale > 0",
    ),
    Param(
        "tve_matching_efficiency",
        0.2,
        "per month",
        0.0,
        1.0,
        "assumption",
        "share of a province's open TVE jobs filled in a month when seekers are many",
        role="behaviour",
        active_when="tve_jobs_scale > 0",
    ),
    Param(
        "tve_age_max",
        50,
        "years",
        AGE_MIN,
        AGE_MAX_LABOUR,
        "assumption: TVE jobs go to younger workers",
        "oldest age at which a rural worker at home holds or takes a TVE job",
        kind=int,
        role="behaviour",
    ),
)


def national_tve(geo: Any, year: int) -> float:
    """National persons employed by TVEs in ``year``: the published figures, linear between
    them, the first (1985) before and the last (2004) after (an assumption)."""
    tv = geo.tve_national
    return float(np.interp(year, tv["year"], tv["employed"]))


def capacity(geo: Any, year: int, jobs_scale: float, scale: float) -> np.ndarray:
    """TVE jobs per province in agents: jobs_scale * E(year) * s_p / scale, with s_p the
    province's share of 1998 TVE employment."""
    share = geo.tve_employed_1998 / geo.tve_employed_1998.sum()
    return jobs_scale * national_tve(geo, year) * share / scale


@njit(inline="always", cache=True)
def _eligible(loc, hukou, age, i, age_max):
    return loc[i] == HOME and hukou[i] == RURAL and AGE_MIN <= age[i] <= age_max


@njit(cache=True, parallel=True)
def separate(key, p, tve, age_max, p_sep):
    """Holders no longer eligible lose the job; the others separate with chance ``p_sep``
    (draw 0 of person i in this month's key). Each person writes only its own slot."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    for i in prange(loc.shape[0]):
        if tve[i] == 0:
            continue
        if not _eligible(loc, hukou, age, i, age_max):
            tve[i] = 0
        elif uniform(key, i, 0) < p_sep:
            tve[i] = 0


@njit(cache=True)
def count_by_province(p, tve, hh_prov, age_max, n_prov):
    """(holders, seekers = eligible non-holders, rural workers at home aged 16-64) per
    province (integer counts, one serial pass)."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    holders = np.zeros(n_prov, np.int64)
    seekers = np.zeros(n_prov, np.int64)
    labour = np.zeros(n_prov, np.int64)
    for i in range(loc.shape[0]):
        if loc[i] != HOME or hukou[i] != RURAL:
            continue
        pr = hh_prov[household(p, i)]
        if AGE_MIN <= age[i] <= AGE_MAX_LABOUR:
            labour[pr] += 1
        if tve[i] == 1:
            holders[pr] += 1
        elif AGE_MIN <= age[i] <= age_max:
            seekers[pr] += 1
    return holders, seekers, labour


@njit(cache=True)
def hire(key, p, tve, hh_prov, age_max, prob, openings):
    """Each seeker is hired with the province's chance ``prob`` (draw 1 of person i), in person
    order, while the province has openings left (``openings`` is decremented). Serial, so the
    result does not depend on the number of threads."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    for i in range(loc.shape[0]):
        if tve[i] == 1 or not _eligible(loc, hukou, age, i, age_max):
            continue
        pr = hh_prov[household(p, i)]
        if openings[pr] >= 1.0 and uniform(key, i, 1) < prob[pr]:
            tve[i] = 1
            openings[pr] -= 1.0


@njit(cache=True, parallel=True)
def household_counts(hh_start, p, tve, n_home, k_tve):
    """Per household: rural workers at home (as ``sim.core.state.rural_members``) and TVE
    holders."""
    loc = p.loc
    hukou = p.hukou
    for h in prange(hh_start.shape[0] - 1):
        n = 0
        k = 0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and loc[i] == HOME:
                n += 1
                k += tve[i]
        n_home[h] = n
        k_tve[h] = k


@njit(cache=True)
def provincial_mean_income(y_home, n_home, hh_prov, n_prov):
    """Mean of exp(y_home) over households with a worker at home, per province (serial sums:
    the same with any number of threads); 0 where a province has none."""
    total = np.zeros(n_prov)
    count = np.zeros(n_prov)
    for h in range(y_home.shape[0]):
        if n_home[h] > 0:
            total[hh_prov[h]] += np.exp(y_home[h])
            count[hh_prov[h]] += 1.0
    out = np.zeros(n_prov)
    for q in range(n_prov):
        if count[q] > 0:
            out[q] = total[q] / count[q]
    return out


@njit(cache=True, parallel=True)
def add_tve_income(y_home, n_home, k_tve, hh_prov, wage):
    """y_h <- log(exp(y_h) + (k / n) * (w_p - exp(y_h))) for households with k > 0 holders."""
    for h in prange(y_home.shape[0]):
        k = k_tve[h]
        n = n_home[h]
        if k == 0 or n == 0:
            continue
        y = np.exp(y_home[h])
        y_home[h] = np.log(y + (k / n) * (wage[hh_prov[h]] - y))


class RuralOffFarm(Mechanism):
    """Jobs in township and village enterprises for rural workers at home (seed 1.1-1.3; Zhou,
    Dillon & Wan 1992): capacity from the published TVE employment, a monthly matching of
    seekers to openings, and the TVE wage added to the household's income per worker at home.
    Off by default (``tve_jobs_scale = 0``)."""

    name = "rural_offfarm"
    doc = "rural workers at home take and leave TVE jobs; TVE wages raise income at home"
    after = "household"  # needs y_home of this month; decisions read it next
    params = PARAMS
    person_state = (
        StateField("tve", "int8", "1 = holds a job in a township or village enterprise", home=0),
    )
    buffers = (
        StateField("tve_n_home", "int32", "rural workers at home", level="household"),
        StateField("tve_k", "int32", "TVE job holders at home", level="household"),
    )
    results = (
        Indicator("tve_employment", "persons", "holders of TVE jobs", scaled=True),
        Indicator(
            "tve_share_of_rural_labour",
            "share",
            "TVE job holders over the rural-hukou persons at home aged 16-64",
        ),
    )
    streams = ("rural_offfarm.separate", "rural_offfarm.hire")

    def step(self, sim: Any) -> None:
        pars, sc, t = sim.pars, sim.rec.scalars, sim.t
        if pars.tve_jobs_scale <= 0.0 or pars.ht_mode:  # off: touch nothing but the records
            sc["tve_employment"][t] = 0.0
            sc["tve_share_of_rural_labour"][t] = 0.0
            return
        p, tve, buf, geo = sim.persons.core, sim.persons.tve, sim.buf, sim.geo
        age_max = int(pars.tve_age_max)
        separate(sim.key("rural_offfarm.separate"), p, tve, age_max, pars.tve_separation_rate)
        holders, seekers, _ = count_by_province(p, tve, sim.hh_prov, age_max, geo.n_prov)
        cap = capacity(geo, sim.year, pars.tve_jobs_scale, sim.scale)
        openings = np.maximum(cap - holders, 0.0)
        prob = np.minimum(1.0, pars.tve_matching_efficiency * openings / np.maximum(seekers, 1))
        hire(sim.key("rural_offfarm.hire"), p, tve, sim.hh_prov, age_max, prob, openings)
        household_counts(sim.places.hh_start, p, tve, buf.tve_n_home, buf.tve_k)
        mean = provincial_mean_income(buf.y_home, buf.tve_n_home, sim.hh_prov, geo.n_prov)
        add_tve_income(
            buf.y_home, buf.tve_n_home, buf.tve_k, sim.hh_prov, pars.tve_wage_ratio * mean
        )
        holders, _, labour = count_by_province(p, tve, sim.hh_prov, age_max, geo.n_prov)
        sc["tve_employment"][t] = float(holders.sum())
        n_lab = int(labour.sum())
        sc["tve_share_of_rural_labour"][t] = holders.sum() / n_lab if n_lab > 0 else 0.0

    @staticmethod
    def capacity(sim: Any) -> np.ndarray:
        """TVE jobs per province this year (agents)."""
        return capacity(sim.geo, sim.year, sim.pars.tve_jobs_scale, sim.scale)
