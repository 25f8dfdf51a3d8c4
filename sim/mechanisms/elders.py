"""Elderly members of rural households, their need for care, and who is left to give it
(issue 12, part 1: "elderly members who need care are a reason to return and to keep a worker
at home"; part 2: "report ... elderly left behind").

Persons leave the working population at ``exit_age`` (65). In this mechanism a rural-hukou
person who ages out stays in the household as an **elder** (a birth year in ``elder_by``, at
most two per household: the parents' generation), at home wherever they worked before (an
assumption: retirement to the village). At the start households get elders in proportion to
their rural members (``elders_per_rural_worker_init``), aged 65-99 by the model's own survival
(the Gompertz hazard of ``demography``), which also takes elders away each January.

Each January every elder needs care (limitations in the activities of daily living) with a
chance rising with age, ``elder_care_need_65 * exp(elder_care_need_slope * (age - 65))``
(capped at 1): an estimate, ranges in the parameters. ``elder_need`` counts the household's
elders who need care this year.

**Behaviour** (both off by default, pending calibration): a person at home whose household has
an elder in need and no other member aged 15-64 at home gives up ``elder_care_cost`` utils by
leaving (Giles & Mu 2007, Demography 44(2): 265-288: younger adults in rural China are less
likely to work as migrants when a parent is ill, less so when siblings can care); a migrant
whose household has an elder in need and nobody of working age at home returns with the hazard
times ``exp(return_elder_care_log)`` (Chen, Lucas, Bloom & Ding 2016, Journal of Agricultural
and Applied Economics 48(3): serious illness of an elder did not by itself bring migrants back
in Sichuan and Hubei, hence 0 by default).

**Recorded** in December: elders, those who need care, elders with a member away, elders
left without any member aged 15-64 at home ("left behind"), and those of them who need care;
and (with the household life course) the children left behind by every parent, by who of the
household is at home with them: the grandparents' generation (an elder or a member aged 45+),
only younger members, or nobody (issue 12, part 2: "who cares for the children who stay").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, NO_YEAR, RURAL
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import (
    CARER_MIN_AGE,
    CHILD_BEHIND,
    carer_at_home,
    child_place,
    families,
    household,
)

MAX_ELDERS = 2  # elders a household keeps (the parents' generation)
MAX_ELDER_AGE = 100  # an elder of this age leaves (the hazard makes it rare)
# Elders' birth years are kept as uint8 years after the run's base year, the start year less
# MAX_ELDER_AGE: every elder of a run (at most 200 years) is born in the 255 years after it.
NO_ELDER = 255  # an empty elder place

PARAMS = (
    Param("elders_per_rural_worker_init", 0.115, "elders per rural member aged 15-64", 0.05,
          0.25,
          "estimate (range 0.08-0.16): 7.6% of China's population aged 65+ in 2004 (Ministry "
          "of Civil Affairs, Xinhua 2005-05-14) over a rural share aged 15-64 of about two "
          "thirds; rural ageing a little faster (2010 census press release, NBS 2011-04-28)",
          "elders placed in households at the start, per rural working-age member",
          role="structural"),
    Param("elder_care_need_65", 0.06, "probability", 0.0, 1.0,
          "estimate (range 0.03-0.12): order of magnitude of limitations in the activities of "
          "daily living among rural Chinese aged 65-69 (CHARLS 2011 national baseline; CLHLS)",
          "chance that an elder aged 65 needs care in a year", role="structural"),
    Param("elder_care_need_slope", 0.085, "log per year of age", 0.0, 0.2,
          "estimate (range 0.05-0.12): need for care about five times as common at 85 as at 65 "
          "(the same surveys)", "rise of the need for care with age", role="structural"),
    Param("elder_care_cost", 0.0, "utils", 0.0, 3.0,
          "Giles & Mu 2007 (Demography 44(2)): less migration of younger adults when a parent "
          "is ill, unless siblings can care; 0 (off) until calibrated",
          "utility a person gives up by leaving an elder in need with no other carer at home",
          role="behaviour"),
    Param("return_elder_care_log", 0.0, "log multiplier", 0.0, 2.0,
          "Chen, Lucas, Bloom & Ding 2016 (JAAE 48(3)): an elder's serious illness did not "
          "by itself bring migrants back; 0 (off)",
          "log of the return hazard multiplier of a migrant whose household has an elder in "
          "need and nobody of working age at home", role="behaviour"),
)

RESULTS = (
    Indicator("elders", "agents", "household elders aged 65+ (December)", scaled=True),
    Indicator("elders_need_care", "agents", "elders who need care this year", scaled=True),
    Indicator("elders_with_migrant", "agents",
              "elders whose household has a member away", scaled=True),
    Indicator("elders_left_behind", "agents",
              "elders with a member away and no member aged 15-64 at home", scaled=True),
    Indicator("elders_need_care_alone", "agents",
              "elders in need of care with no member aged 15-64 at home", scaled=True),
)
#: children under 15 left behind (every parent away: ``sim.core.state.child_place``) by who of
#: the household is at home with them (December; household life course)
CHILD_RESULTS = (
    Indicator("children_behind_grandparents", "agents", "children left behind with an elder "
              "or a member aged 45+ at home (the grandparents' generation)", scaled=True),
    Indicator("children_behind_kin", "agents", "children left behind with only younger "
              "members at home (aunts, uncles, siblings aged 15-44)", scaled=True),
    Indicator("children_behind_no_carer", "agents", "children left behind with no member of "
              "the household at home (with relatives elsewhere)", scaled=True),
)


class Elders(Mechanism):
    """Elders of rural households: ageing out into the household, deaths, need for care
    (January); who is left with them (December)."""

    name = "elders"
    doc = ("January: persons aged out stay as household elders, elders die by the survival "
           "schedule and draw their need for care; December: elders left behind")
    params = PARAMS
    household_state = (
        StateField("elder_by", f"({MAX_ELDERS},)uint8", "birth years of the household's elders "
                   "less the run's base year (``Elders.base``; NO_ELDER: none)", NO_ELDER,
                   level="household"),
        StateField("elder_need", "int8", "elders of the household who need care this year",
                   level="household"),
    )
    results = RESULTS + CHILD_RESULTS
    streams = ("elders.init", "elders.death", "elders.need")

    def init(self, sim: Any) -> None:
        self.base = sim.start_year - MAX_ELDER_AGE  # the kernels take years less this
        pars, hs = sim.params.at(sim.start_year), sim.households
        n_rural = rural_working(sim.places.hh_start, sim.persons.core)
        ages = np.arange(65, MAX_ELDER_AGE)
        surv = np.exp(-np.cumsum(_hazard(pars, ages)))
        cdf = np.cumsum(surv / surv.sum())
        key = sim.key("elders.init", 0)
        place_elders(key, n_rural, float(pars.elders_per_rural_worker_init), cdf,
                     sim.start_year - self.base, hs.elder_by)
        self._need(sim, sim.start_year, pars)

    def step(self, sim: Any) -> None:
        sc, t = sim.rec.scalars, sim.t
        if sim.month == 1 and t > 0:
            pars, year, hs = sim.pars, sim.year, sim.households
            m30, g = float(pars.mortality_30), float(pars.mortality_gompertz)
            age_elders(sim.key("elders.death", year), hs.elder_by, year - self.base, m30, g)
            aged = getattr(sim, "aged_out", np.zeros(0, np.int64))
            born = year - int(pars.exit_age) - self.base
            if aged.size and not 0 <= born < NO_ELDER:
                raise ValueError(f"elders born in {born + self.base} are outside the "
                                 f"{NO_ELDER} years after {self.base} that elder_by holds")
            add_elders(aged, sim.persons.core, hs.elder_by, born)
            self._need(sim, year, pars)
        if sim.month == 12:
            counts = left_behind(sim.places.hh_start, sim.persons.core,
                                 sim.households.elder_by, sim.households.elder_need)
            for r, v in zip(RESULTS, counts, strict=True):
                sc[r.name][t] = v
            by = (children_behind_by_carer(sim.places.hh_start, sim.persons.core,
                                           sim.households.core, sim.households.elder_by)
                  if families(sim.pars) else (0, 0, 0))
            for r, v in zip(CHILD_RESULTS, by, strict=True):
                sc[r.name][t] = v

    def birth_years(self, hs: Any) -> np.ndarray:
        """The elders' birth years (int16; NO_YEAR for an empty place) of households ``hs``."""
        b = hs.elder_by
        return np.where(b == NO_ELDER, NO_YEAR, b.astype(np.int16) + self.base).astype(np.int16)

    def _need(self, sim: Any, year: int, pars: Any) -> None:
        draw_need(sim.key("elders.need", year), sim.households.elder_by, year - self.base,
                  float(pars.elder_care_need_65), float(pars.elder_care_need_slope),
                  sim.households.elder_need)


def _hazard(pars: Any, ages: np.ndarray) -> np.ndarray:
    """Yearly death hazard at ``ages`` (the Gompertz hazard of ``demography``)."""
    return pars.mortality_30 * np.exp(pars.mortality_gompertz * (ages - 30))


@njit(cache=True, parallel=True)
def rural_working(hh_start, p):
    """Rural-hukou members of each household (the persons are aged 15-64)."""
    hukou = p.hukou
    n_hh = hh_start.shape[0] - 1
    out = np.zeros(n_hh, np.int64)
    for h in prange(n_hh):
        k = 0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL:
                k += 1
        out[h] = k
    return out


@njit(cache=True, parallel=True)
def place_elders(key, n_rural, ratio, cdf, year, elder_by):
    """Each elder place of a household with ``n`` rural members is taken with the chance
    ``min(1, ratio * n / MAX_ELDERS)``, at an age drawn from ``cdf`` (ages 65, 66, ...)."""
    for h in prange(n_rural.shape[0]):
        p_slot = min(1.0, ratio * n_rural[h] / MAX_ELDERS)
        for k in range(MAX_ELDERS):
            elder_by[h, k] = NO_ELDER
            if n_rural[h] == 0 or uniform(key, h, 2 * k) >= p_slot:
                continue
            u = uniform(key, h, 2 * k + 1)
            a = 0
            while a < cdf.shape[0] - 1 and cdf[a] <= u:
                a += 1
            elder_by[h, k] = year - 65 - a


@njit(cache=True, parallel=True)
def age_elders(key, elder_by, year, m30, gompertz):
    """Elders die with the yearly Gompertz hazard of their age (and at ``MAX_ELDER_AGE``)."""
    for h in prange(elder_by.shape[0]):
        for k in range(MAX_ELDERS):
            b = elder_by[h, k]
            if b == NO_ELDER:
                continue
            a = year - b
            if a >= MAX_ELDER_AGE or uniform(key, h, k) < 1.0 - np.exp(
                    -m30 * np.exp(gompertz * (a - 30))):
                elder_by[h, k] = NO_ELDER


@njit(cache=True)
def add_elders(aged, p, elder_by, birth_year):
    """The persons ``aged`` (rural-hukou, just aged out) become elders of their households
    where a place is free (serial: two in one household take the places in index order)."""
    for i in aged:
        h = household(p, i)
        for k in range(MAX_ELDERS):
            if elder_by[h, k] == NO_ELDER:
                elder_by[h, k] = birth_year
                break


@njit(cache=True, parallel=True)
def draw_need(key, elder_by, year, need_65, slope, elder_need):
    """This year's elders in need of care, per household."""
    for h in prange(elder_by.shape[0]):
        n = 0
        for k in range(MAX_ELDERS):
            b = elder_by[h, k]
            if b == NO_ELDER:
                continue
            if uniform(key, h, k) < min(1.0, need_65 * np.exp(slope * (year - b - 65))):
                n += 1
        elder_need[h] = n


@njit(cache=True, parallel=True)
def left_behind(hh_start, p, elder_by, elder_need):
    """(elders, in need of care, with a member away, left behind, in need and alone): integer
    sums, the same with any thread count."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    n_e = n_need = n_mig = n_left = n_alone = 0
    for h in prange(elder_by.shape[0]):
        e = 0
        for k in range(MAX_ELDERS):
            if elder_by[h, k] != NO_ELDER:
                e += 1
        if e == 0:
            continue
        away = False
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and loc[i] != HOME:
                away = True
        carer = carer_at_home(h, -1, hh_start, loc, hukou, age)
        n_e += e
        n_need += elder_need[h]
        if away:
            n_mig += e
            if not carer:
                n_left += e
        if not carer:
            n_alone += elder_need[h]
    return n_e, n_need, n_mig, n_left, n_alone


@njit(cache=True, parallel=True)
def children_behind_by_carer(hh_start, p, hs, elder_by):
    """Children under 15 left behind (every parent away) by who of the household is at home
    with them: an elder or a rural member aged ``CARER_MIN_AGE`` or more (the grandparents'
    generation, as ``grandparent_care_relief`` counts it); else only younger rural members;
    else nobody (relatives elsewhere). Integer sums, the same with any thread count."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    child_by = hs.child_by
    n_children = hs.n_children
    n_g = n_k = n_o = 0
    for h in prange(hh_start.shape[0] - 1):
        if n_children[h] == 0:
            continue
        nb = 0
        for j in range(child_by.shape[1]):
            if child_by[h, j] != NO_YEAR and child_place(h, j, hh_start, p, hs) == CHILD_BEHIND:
                nb += 1
        if nb == 0:
            continue
        older = False
        for k in range(MAX_ELDERS):
            if elder_by[h, k] != NO_ELDER:
                older = True
        younger = False
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and loc[i] == HOME:
                if age[i] >= CARER_MIN_AGE:
                    older = True
                else:
                    younger = True
        if older:
            n_g += nb
        elif younger:
            n_k += nb
        else:
            n_o += nb
    return n_g, n_k, n_o
