"""Demography of the rural working-age population: ageing, deaths, exit at 65, entrants at 15.

Once a year (January) everyone ages a year; persons who reach the exit age or die leave, and
their slot falls vacant (``hukou == VACANT``). New entrants aged 15 then take vacant slots. By
default (``cohort_entry``) the number entering each year follows the rural birth cohort born 15
years earlier (``sim/data/births.csv``: national births, rural share, survival to 15) less those
who leave the rural population through tertiary schooling, so the population is open: it grows
while the large 1962-1975 and 1981-1991 birth cohorts come of age and stops growing as the small
cohorts of the late 1990s arrive. The same cohort table, with the model's adult mortality, gives
the age structure at the start year (:class:`Projection`); the level is normalised once to the
2000 rural-hukou population aged 15-64 (census rural residents plus the rural migrants the
census counted in cities). With ``cohort_entry``
off, each leaver's slot is refilled at once (a closed, stationary population).

Entrants' schooling follows a yearly path of cohort shares (compulsory schooling spread, seed
1.3: most migrants completed nine years); those with senior schooling took the vocational
track with its national share of the year (``entrant_vocational_share``) and enter trained
(seed 1.3: 9.1% of rural labourers and 18% of migrants had skills training). A person who
leaves while away as a rural migrant leaves the migrant stock: that is ``exitflow`` (ageing or
death).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import EXIT_CAUSES, HOME, NEVER_LEFT, RURAL, VACANT
from sim.core.mechanism import Indicator, Mechanism
from sim.core.params import Param, ParamSet
from sim.core.rng import uniform, uniform_array
from sim.core.state import send_home

CENSUS_YEAR = 2000  # year of the rural working-age total in sim/data/provinces.csv
ENTRY_AGE = 15

PARAMS = (
    Param(
        "exit_age",
        65,
        "years",
        50,
        80,
        "working-age definition 15-64 (NBS)",
        "age at which persons leave the working-age population",
        kind=int,
        role="structural",
    ),
    Param(
        "mortality_30",
        0.0012,
        "per year",
        0.0004,
        0.005,
        "China life tables 2000 (rural, ages 30-34), rounded; range a third to four times it "
        "(the range was 0-0.05 up to version 0.19: rates that high leave so few survivors that the "
        "census-fitted cohorts exceed the published births and the rural-hukou population "
        "exceeds China's)",
        "death rate at age 30",
        role="structural",
    ),
    Param(
        "mortality_gompertz",
        0.075,
        "log per year of age",
        0.05,
        0.12,
        "Gompertz slope of adult mortality; range: adult death rates double every 6 to 14 "
        "years of age in human populations (estimate; 0-0.2 up to version 0.19)",
        "rise of log mortality per year of age",
        role="structural",
    ),
    Param(
        "entrant_share_junior",
        {"1985": 0.45, "1995": 0.6, "2006": 0.68, "2010": 0.674, "2015": 0.601, "2021": 0.464},
        "share",
        0.0,
        1.0,
        "1985-2006: estimate (seed 1.3: most migrants hold junior high diplomas; 1986 "
        "compulsory schooling law); from 2010 junior or more = 0.942: 5.8% of rural children "
        "aged 15-17 had not received or completed compulsory education (2010 census, Duan "
        "Chengrong et al., UNICEF China atlas fig. 10.8), held after; the split with "
        "entrant_share_senior as there",
        "share of new entrants whose highest level is junior secondary",
        role="exogenous",
    ),
    Param(
        "entrant_share_senior",
        {"1985": 0.08, "1995": 0.12, "2006": 0.2, "2010": 0.268, "2015": 0.341, "2021": 0.478},
        "share",
        0.0,
        1.0,
        "1985-2006: estimate (2000 census and rural schooling tabulations, remembered); after "
        "2006 derived, an estimate (range +/-0.1): the log-odds gap of 2006 between rural "
        "entrants with junior schooling going on (0.20/0.88) and the national share of junior "
        "graduates entering senior secondary (72% in 2005: 8.78 M + 6.47 M entrants of 21.23 M "
        "graduates, 'Education Development in 2005') held, with the national share linear to "
        "90% in 2021 (MoE national tables: 91.7% 2021, 88.2% 2022); held after 2021",
        "share of entrants with senior secondary+",
        role="exogenous",
    ),
    Param(
        "entrant_vocational_share",
        {"1985": 0.33, "1990": 0.476, "1995": 0.574, "2001": 0.453, "2005": 0.424,
         "2007": 0.48},
        "share of entrants with senior secondary+",
        0.0,
        1.0,
        "share of senior-secondary students in vocational schools (specialised secondary, "
        "skilled-worker and vocational high schools): 19% 1980 and 45.3% 2001 (41.6% of "
        "that year's intake), MoE Department of International Cooperation and Exchange "
        "(goapply.com.cn/Article/Detail/19); 57.42% at the end of 1995, 9.8 points above "
        "1990 (a review of vocational schooling in the Eighth Five-Year Plan, "
        "soulun.net/periodical/b5fdecdf8f377cb1a57290a0fe917d57.html); 2005 intake 6.47 M of "
        "15.25 M ('Education Development in 2005'); 2007 'nearly half' (Xinhua, 18 December "
        "2008); 1985 interpolated between 1980 and 1990 (estimate, +/-0.1); held after 2007 "
        "(estimate, +/-0.1). National shares: rural pupils are over-represented in the "
        "vocational track (85% of vocational students from rural and low-income urban "
        "families, MoE via Xinhua, 27 November 2010), so the rural share is likely higher",
        "share of entrants with senior schooling whose senior schooling was vocational: they "
        "enter trained (Persons.trained)",
        role="exogenous",
    ),
    Param(
        "births_series",
        "published",
        "series",
        0,
        0,
        "sim/data/births.csv and sources.toml: 'published' is the NBS series (birth rates and "
        "year-end totals of CSY 1999 for 1949-1998, yearbooks and releases after), from "
        "version 0.20.0; '0.19' the series of versions up to 0.19.0, compiled from memory (1982 "
        "5.5% low, the other years of 1949-2008 within 1.1%), which the committed calibrations "
        "up to 0.19.0 ran with",
        "national births series behind the entering cohorts and the initial age structure: "
        "'published' (births_m) or '0.19' (births_m_0_19, to reproduce runs of earlier "
        "versions)",
        kind=str,
        choices=("published", "0.19"),
        role="structural",
    ),
    Param(
        "province_series",
        "published",
        "series",
        0,
        0,
        "sim/data/provinces.csv and sources.toml: 'published' holds the 2000 wages of Beijing, "
        "Tianjin, Chongqing, Sichuan and Qinghai, Qinghai's rural income and six regional "
        "products as read in provincial yearbooks and communiques (session 54; Chongqing's wage "
        "14% below the recalled value, Qinghai's 7%, the others within 3%), the default since "
        "version 0.21.0, and from 0.22.0 the 2000 wages of 16 more provinces derived from their "
        "2002 wages (Shandong yearbook 2003, appendix 1-7; -7% to +8% from the recalled); "
        "'recalled' the values first compiled from memory, which versions up to 0.20.0 and the "
        "committed calibrations ran with",
        "provincial urban wages, rural incomes and regional products of 2000: 'published' "
        "(the current columns, read in yearbooks or derived from them where found; default) or "
        "'recalled' (the <name>_recalled columns, to reproduce runs of versions up to 0.20.0)",
        kind=str,
        choices=("recalled", "published"),
        role="structural",
    ),
    Param(
        "cohort_entry",
        True,
        "flag",
        0,
        1,
        "NBS births by year (sim/data/births.csv); the closed variant is for teaching",
        "entrants follow the rural birth cohorts (open population); off: one entrant per "
        "leaver (closed, stationary size)",
        kind=bool,
        role="structural",
    ),
    Param(
        "rural_hukou_away_2000",
        6.0e7,
        "persons",
        0.0,
        1.5e8,
        "CRSY 2001 (NBS rural labour survey): 78.5 million rural labourers worked outside their "
        "township in 2000; the census counts those away over six months where they live, taken "
        "as three quarters of them (assumption)",
        "rural-hukou persons aged 15-64 counted as urban residents by the 2000 census; added "
        "to the census rural total when the cohort projection is normalised",
        role="exogenous",
    ),
    Param(
        "births_net_of_exits",
        False,
        "flag",
        0,
        1,
        "version 0.11 and earlier; kept to reproduce runs of those versions (the committed "
        "0.7 calibration, calibration/results/defaults_0.7.0.json)",
        "births are placed net of the cohort's later tertiary exits (no exit at 15); off: "
        "the whole cohort is born and its college-bound leave at 15 (``life_course``)",
        kind=bool,
        role="structural",
    ),
    Param(
        "tertiary_exit_share",
        {"1985": 0.01, "1995": 0.03, "2000": 0.05, "2006": 0.10, "2007": 0.100,
         "2009": 0.113, "2012": 0.151, "2013": 0.161, "2015": 0.182, "2017": 0.205,
         "2018": 0.218, "2019": 0.225},
        "share of the rural cohort reaching 15 in the year",
        0.0,
        0.6,
        "China Education Statistical Yearbook: regular higher-education intake 0.62 M (1985), "
        "0.93 M (1995), 2.2 M (2000), 5.5 M (2006); about half from rural households, most of "
        "whom took urban hukou with admission (assumption on the shares). From 2007 (an "
        "estimate, range +/-0.05): 0.10 times the national gross enrolment ratio in higher "
        "education three years after entry over 2010's 26.5% (MoE figures as reported: 30% "
        "2012, 40% 2015, 42.7% 2016, 48.1% 2018, 54.4% 2020, 57.8% 2021, 59.6% 2022; sources "
        "in calibration/README.md), held from 2019",
        "share of a rural cohort leaving the rural population through tertiary schooling "
        "(at 15, ``life_course``: the college-bound are not rural workers)",
        role="exogenous",
    ),
)


def _value_at(params: ParamSet, name: str, year: float) -> float:
    v = params[name]
    return float(v.at(year)) if hasattr(v, "at") else float(v)


def survival_from_entry(m30: float, gompertz: float, exit_age: int) -> np.ndarray:
    """Chance of being alive at ages 15..exit_age-1 given alive at 15 (the kernel's hazard)."""
    ages = np.arange(ENTRY_AGE + 1, exit_age)
    q = 1.0 - np.exp(-m30 * np.exp(gompertz * (ages - 30)))
    return np.concatenate([[1.0], np.cumprod(1.0 - q)])


class Projection:
    """Rural working-age population implied by the birth cohorts (real persons).

    ``entering(y)`` is the cohort reaching 15 in year ``y``: births(y - 15) x rural share x
    survival to 15 x (1 - tertiary exit share), times one normalising factor ``k`` chosen so that
    the projected 2000 population equals the rural-hukou population aged 15-64 of 2000: the
    census rural residents of ``sim/data/provinces.csv`` plus the rural-hukou migrants the
    census counted in cities (``rural_hukou_away_2000``), since the model's population
    includes its migrants. ``k`` absorbs the level error of the reconstructed rural shares.
    """

    def __init__(self, geo, params: ParamSet):
        b = geo.births
        self.first_entry = int(b["birth_year"][0]) + ENTRY_AGE
        self.last_entry = int(b["birth_year"][-1]) + ENTRY_AGE
        years = np.arange(self.first_entry, self.last_entry + 1)
        self._exit = np.array([_value_at(params, "tertiary_exit_share", y) for y in years])
        births = b["births_m_0_19" if params["births_series"] == "0.19" else "births_m"]
        self._born = births * 1e6 * b["rural_share"] * b["survival_to_15"]
        self._raw = self._born * (1.0 - self._exit)
        self._params = params
        self.k = 1.0
        total_2000 = float(geo.rural_pop_working_age.sum()) + _value_at(
            params, "rural_hukou_away_2000", CENSUS_YEAR
        )
        self.k = total_2000 / self.population(CENSUS_YEAR)

    def _survival(self, year: int) -> np.ndarray:
        m30 = _value_at(self._params, "mortality_30", year)
        g = _value_at(self._params, "mortality_gompertz", year)
        return survival_from_entry(m30, g, int(_value_at(self._params, "exit_age", year)))

    def _check(self, year: int) -> int:
        if not self.first_entry <= year <= self.last_entry:
            raise ValueError(
                f"births.csv covers entrants of {self.first_entry}-{self.last_entry}; "
                f"year {year} is outside it"
            )
        return year - self.first_entry

    def entering(self, year: int) -> float:
        """Persons reaching 15 in ``year`` who join the rural working-age population."""
        return self.k * float(self._raw[self._check(year)])

    def born(self, year: int) -> float:
        """The rural cohort reaching 15 in ``year`` before tertiary exits: its births that
        survive to 15 (``entering`` is this times one minus ``exit_share``)."""
        return self.k * float(self._born[self._check(year)])

    def exit_share(self, year: int) -> float:
        """Share of the cohort reaching 15 in ``year`` that leaves through tertiary schooling."""
        return float(self._exit[self._check(year)])

    def by_age(self, year: int) -> np.ndarray:
        """Persons aged 15, 16, ... exit_age-1 in ``year`` (index 0 is age 15)."""
        if year > self.last_entry:
            raise ValueError(
                f"births.csv gives cohorts entering up to {self.last_entry}; the age structure "
                f"of {year} needs the cohort entering in {year} (start in {self.last_entry} or "
                "earlier)"
            )
        surv = self._survival(year)
        first = year - (surv.size - 1)
        if first < self.first_entry:
            raise ValueError(
                f"births.csv starts with the cohort entering in {self.first_entry}; the age "
                f"structure of {year} needs cohorts from {first} (start in "
                f"{self.first_entry + surv.size - 1} or later)"
            )
        entry_years = year - np.arange(surv.size)
        return self.k * self._raw[entry_years - self.first_entry] * surv

    def population(self, year: int) -> float:
        """Rural working-age persons in ``year``."""
        return float(self.by_age(year).sum())

    def capacity_factor(self, start_year: int, years: int) -> float:
        """Largest projected population of the run relative to its start (at least 1). The
        slots depend on the run's length, so with cohort entry a shorter run is a statistically
        equivalent run, not a prefix of a longer one (the closed population is a prefix)."""
        p0 = self.population(start_year)
        last = min(start_year + years, self.last_entry)
        peak = max(self.population(y) for y in range(start_year, last + 1))
        return max(1.0, peak / p0)


def slot_capacity(proj: Projection, agents: int, start_year: int, years: int,
                  cohort_entry: bool, families: bool = False) -> int:
    """Person slots for a run: the agents, plus room for the projected growth over the run and
    2% for the spread of deaths when entrants follow the cohorts (closed: exactly the agents);
    with the household life course (``families``) 10%, so that entrants and newly-weds find
    places in their households (measured: at 2% a fifth of the couples of 2004 were still
    registered apart and half the entrants of the early 2000s left their county)."""
    slack = 1.10 if families else 1.02
    if not cohort_entry:
        return int(agents)
    factor = proj.capacity_factor(start_year, years)
    return int(math.ceil(agents * (factor * slack))) + 64


def entrants_this_year(proj: Projection, year: int, scale: float, seed: int) -> int:
    """Agents entering in ``year``: the cohort over the scale, rounded by a counter-based draw."""
    x = proj.entering(year) / scale
    n = math.floor(x)
    return n + int(uniform_array(seed, "demography.entry_round", year, 1)[0] < x - n)


def choose_entry_slots(vacant: np.ndarray, n_entrants: int, seed: int, year: int) -> np.ndarray:
    """The ``n_entrants`` vacant slots (sorted) with the smallest counter-based keys: the choice
    depends only on (seed, year, slot), never on threads or on earlier draws."""
    if n_entrants >= vacant.size:
        return vacant
    u = uniform_array(seed, "demography.entry_slot", year, int(vacant.max()) + 1)[vacant]
    pick = np.argsort(u, kind="stable")[:n_entrants]
    return np.sort(vacant[pick])


@njit(cache=True, parallel=True)
def age_and_exit(key, p, exit_age, m30, gompertz, left):
    """Yearly ageing of occupied slots. ``left``: 0 stays, 1 aged out, 2 died; a leaver's slot
    becomes vacant (at home, out of any job). Converted (urban-hukou) persons age and leave too."""
    age = p.age
    hukou = p.hukou
    for i in prange(age.shape[0]):
        left[i] = 0
        if hukou[i] == VACANT:
            continue
        a = age[i] + 1
        if a >= exit_age:
            left[i] = 1
        elif uniform(key, i, 0) < 1.0 - np.exp(-m30 * np.exp(gompertz * (a - 30))):
            left[i] = 2
        if left[i] == 0:
            age[i] = a
            continue
        age[i] = 0
        hukou[i] = VACANT
        send_home(i, p)


@njit(cache=True, parallel=True)
def enter(key, slots, p, share_junior, share_senior, share_vocational):
    """New rural members aged 15 take the vacant ``slots``; schooling by the cohort's shares;
    those with senior schooling are trained (vocational track) with ``share_vocational``."""
    age = p.age
    sex = p.sex
    school = p.school
    trained = p.trained
    hukou = p.hukou
    first_left = p.first_left
    for k in prange(slots.shape[0]):
        i = slots[k]
        age[i] = ENTRY_AGE
        sex[i] = 1 if uniform(key, i, 1) < 0.49 else 0
        u = uniform(key, i, 2)
        school[i] = 2 if u < share_senior else (1 if u < share_senior + share_junior else 0)
        trained[i] = 1 if school[i] == 2 and uniform(key, i, 3) < share_vocational else 0
        hukou[i] = RURAL
        first_left[i] = NEVER_LEFT


class Demography(Mechanism):
    """Each January everyone ages a year; those reaching the exit age or dying leave; the year's
    rural cohort enters at 15 into vacant slots (``sim/data/births.csv``)."""

    name = "demography"
    doc = (
        "(January) everyone ages a year; those reaching 65 or dying leave; the year's rural "
        "cohort enters at 15 into vacant slots"
    )
    params = PARAMS
    results = (
        Indicator("entrants", "agents", "persons entering the rural labour force", True, True),
        Indicator("leavers", "agents", "persons leaving it by age or death", True, True),
        Indicator("entrants_unplaced", "agents", "entrants without a vacant slot", True, True),
    )
    streams = ("demography", "demography.entry_round", "demography.entry_slot")

    def step(self, sim: Any) -> None:
        sc, t = sim.rec.scalars, sim.t
        for name in ("entrants", "leavers", "entrants_unplaced"):
            sc[name][t] = 0
        if sim.month == 1 and t > 0:
            self.new_year(sim)

    def new_year(self, sim: Any) -> None:
        """Ageing and exits, then the year's entrants into vacant slots."""
        p, t, year = sim.persons, sim.t, sim.year
        pars = sim.params.at(year)
        key = sim.key("demography")
        was_away = (p.loc != HOME) & (p.hukou == RURAL)
        was_rural = p.hukou == RURAL
        left = np.empty(p.n, np.int8)  # a temporary: fully written here, read only here
        age_and_exit(
            key,
            p.core,
            pars.exit_age,
            pars.mortality_30,
            pars.mortality_gompertz,
            left,
        )
        sim.exits[EXIT_CAUSES.index("ageing")] = np.count_nonzero(was_away & (left == 1))
        sim.exits[EXIT_CAUSES.index("death")] = np.count_nonzero(was_away & (left == 2))
        leavers = np.flatnonzero(left)
        # rural-hukou persons who aged out: elders of their households (``elders``)
        sim.aged_out = leavers[(left[leavers] == 1) & was_rural[leavers]]
        sim.mech["household"].release_children(sim, leavers, settled=False)
        if "life_course" in sim.mech:  # widowhood, then the year's weddings (before entry)
            sim.mech["life_course"].left(sim, leavers)
            sim.mech["life_course"].weddings(sim)
        sc = sim.rec.scalars
        sc["leavers"][t] = np.count_nonzero(was_rural & (left != 0))
        if pars.cohort_entry and pars.life_course:  # the children of the year's cohort
            lc = sim.mech["life_course"]
            slots = lc.entrant_slots(sim, year)
            sc["entrants_unplaced"][t] = int(lc.unplaced)
        elif pars.cohort_entry:
            n_in = entrants_this_year(sim.projection, year, sim.scale, sim.seed)
            vacant = np.flatnonzero(p.hukou == VACANT)
            slots = choose_entry_slots(vacant, n_in, sim.seed, year)
            sc["entrants_unplaced"][t] = n_in - slots.size
        else:  # closed population: every leaver's slot is refilled at once
            slots = leavers
        enter(
            key,
            slots,
            p.core,
            pars.entrant_share_junior,
            pars.entrant_share_senior,
            pars.entrant_vocational_share,
        )
        sim.entered(slots)
        sc["entrants"][t] = slots.size
