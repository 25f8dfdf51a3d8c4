"""The household's life course: marriage, births to couples, children growing up and joining
the household's labour force (issue 12, part 1).

**Couples.** At the start, who has married follows a first-marriage schedule by sex (normal in
age, ``marriage_mean_age_*`` and ``marriage_sd_age``, times the share who ever marry) and
spouses live together (``population.assemble_families``). Each January, after deaths and
before the year's entrants, an unmarried rural woman marries with the schedule's hazard at her
age; her husband is an unmarried rural man of her prefecture, outside her household, of the
age nearest hers plus the gap of the two schedules (village exogamy: brides come from nearby
villages and townships; the prefecture keeps the marriage market large enough at every
scale, where a county holds only a handful of agents in a small run). The couple then moves
together: into the husband's household (patrilocal, with chance ``patrilocal_share``) or the
wife's where that household has a free place; else into an empty homestead of that
household's county (a household split: the village reallocates the land of households that
died out, and under the fixed land tenure each spouse brings a share of the land of the
household left: ``sim.core.land``); else into the other spouse's household.
Where none has room the couple stays registered in two households (``couples_apart``) and
tries again every January. The one who moves takes all personal state along (also while away
as a migrant) into the new place, whose village contacts they take over; a wife's children
follow her. A spouse who dies or ages out leaves a widow(er); there is no divorce (rare in
rural China before 2006: an assumption).

**Births.** The year's rural births (the cohort that reaches 15 in ``year + 15`` according to
``sim/data/births.csv``: births x rural share x survival to 15, ``Projection.born`` of the open
population; births lost to child mortality are netted out by that table rather than drawn;
beyond the file's last birth year the last cohort is held, an assumption) go to married rural
women in proportion to the fertility of their age (a normal schedule, ``birth_mean_age``,
``birth_sd_age``, on 15-49); a wife away as a migrant counts like one at home (the child is
registered, and usually left, at home: seed 1.3; ``birth_away_weight`` below 1 lowers it), and
with ``birth_parity_ratio`` below 1 a wife's weight is that ratio to the power of her children
under 15 already in the table, so first births follow marriage closely and later ones are
rarer (Zheng 2000; Tu 1991; 1 by default: the age schedule alone, until calibrated; the
births by order are counted, ``first_births``). The draw is systematic sampling with
probability proportional to these weights, one counter-based uniform per birth year (stream
``life_course.births``): exactly the year's number of births, placed independently of threads
and of every other draw. Each child is recorded with its birth year and its mother
(``child_by``, ``child_mother``; at most ``MAX_CHILDREN`` per household; households with a full
table take no more, ``births_unplaced``).

**The initial children.** The cohorts born in the 14 years before the start year and in it are
placed the same way, each with the weights of the wives' ages in its birth year.

**Entry at 15.** In January the children born 15 years earlier who go on to tertiary
schooling leave first, each with the cohort's ``tertiary_exit_share`` (stream
``life_course.tertiary``, keyed by household and table place; counted as ``tertiary_exits``):
they are taken out at 15 rather than at 18 because the model's persons begin at 15 and the
college-bound spend those years in senior secondary school, not as rural workers (an
assumption); most took urban hukou with admission. The others leave the table and take a free
place in their own household; else a household in an empty homestead of their county; else a
free place in another household of the county; else the province; else anywhere (each counted).

**Parents.** A child's parents are its mother and her husband. Who is a parent decides whether
children follow a departing migrant (``household.children_follow``) and whose return is
hastened by children left behind (``returns``); children are counted by age (under 6, 6-14)
and by whether both parents are at home, one is away, both are away (left with relatives), or
they live with a migrant in a city.

**Couples deciding together.** With ``couple_apart_cost`` above 0 (``sim.mechanisms.decisions``)
a married person weighs the utility lost while the couple lives apart: staying home with the
spouse at home keeps them together, going to the spouse's destination reunites them; 0 by
default (spouses decide separately) until calibrated. Couples apart and together are counted
in December (``couples_one_away``, ``couples_both_away``, ``couples_together_away``).

**Weddings bring migrants home.** With ``return_wedding_female`` or ``_male`` above 0 the
weddings flag the newly married (buffer ``wed``, following them when the couple moves
together) and the returns of the same January send those away home with that chance
(``sim.mechanisms.returns``); 0 by default.

**Not yet here** (issue 12): divorce and remarriage. Elders of the household are their own
mechanism (``sim.mechanisms.elders``).

With ``life_course`` off (or a closed population, ``cohort_entry`` off) the model is that of
version 0.6: households are random groups of working-age persons with a fixed number of
children drawn at the start, and entrants take random vacant slots anywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.encodings import (
    FEMALE,
    HOME,
    NO_MOTHER,
    NO_PERSON,
    NO_YEAR,
    RURAL,
    WED_MARRIED,
)
from sim.core.land import is_fixed, split_land
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import tick_key, uniform_array
from sim.core.schedules import fertility_weights
from sim.core.state import CHILD_CITY, families
from sim.mechanisms.demography.births import (
    CHILD_PLACES,
    children_by_place,
    cohort_count,
    college_exits,
    college_share,
    family_returns,
    first_births,
    flag_birth_mothers,
    left_behind_under6_share,
    mother_weights,
    place_births,
    take_entrants,
)
from sim.mechanisms.demography.marriage import (
    co_reside,
    index_ranges,
    marriage_hazard,
    marry,
    move_persons,
    widow,
)

ENTRY_AGE = 15
ENTRY_PLACES = ("own household", "new household", "other household", "province", "elsewhere")

PARAMS = (
    Param(
        "life_course",
        True,
        "flag",
        0,
        1,
        "issue 12: couples, children born to them (rural birth series as the total) who enter "
        "the household at 15; off = version 0.6 (random households, fixed children)",
        "households are families with a life course",
        kind=bool,
        role="structural",
    ),
    Param(
        "marriage_mean_age_female",
        23.0,
        "years",
        16.0,
        35.0,
        "women's mean age at first marriage 22.8 (1982 census; Popul. Res. 2(4), 1985) and "
        "23.3 (2000 census; Chen & Ouyang, Population Research 48(6), 2024), rural women "
        "slightly earlier",
        "mean age of women at first marriage",
        role="structural",
    ),
    Param(
        "marriage_mean_age_male",
        25.0,
        "years",
        16.0,
        40.0,
        "estimate (range 24-26.5): husbands about two years older than wives in the census "
        "tabulations of first marriage",
        "mean age of men at first marriage",
        role="structural",
    ),
    Param(
        "marriage_sd_age",
        2.5,
        "years",
        0.5,
        8.0,
        "estimate (range 1.5-4): most first marriages within a few years of the mean",
        "spread of the age at first marriage",
        role="structural",
    ),
    Param(
        "ever_married_female",
        0.99,
        "share",
        0.5,
        1.0,
        "estimate (range 0.97-1.0): marriage of women near universal (census: about 1% of "
        "women aged 40-44 never married)",
        "share of women who ever marry",
        role="structural",
    ),
    Param(
        "ever_married_male",
        0.95,
        "share",
        0.5,
        1.0,
        "estimate (range 0.9-0.98): more rural men than women stay single",
        "share of men who ever marry",
        role="structural",
    ),
    Param(
        "patrilocal_share",
        0.9,
        "share",
        0.0,
        1.0,
        "estimate (range 0.8-1.0): brides usually move into the husband's family; uxorilocal "
        "marriage is the exception",
        "chance that a couple lives with the husband's household (else the wife's)",
        role="structural",
    ),
    Param(
        "birth_mean_age",
        25.5,
        "years",
        18.0,
        35.0,
        "estimate (range 24-28): first births within about a year of marriage (women marry at "
        "about 23), a second birth some years later for most rural couples (1984 rules)",
        "mean age of rural women at a birth",
        role="structural",
    ),
    Param(
        "birth_sd_age",
        4.5,
        "years",
        1.0,
        10.0,
        "estimate (range 3.5-6): most rural births at ages 20-30",
        "spread of the age of rural women at a birth",
        role="structural",
    ),
    Param(
        "birth_parity_ratio",
        1.0,
        "ratio",
        0.0,
        1.0,
        "rural couples have their first child soon after marriage, most within two years "
        "(Zheng Zhenzhen, J. Biosocial Science 32(3), 2000: women married 1980-1992; Tu Ping, "
        "Studies in Family Planning 22(4), 1991: Shaanxi), and under the 1984 rules a second "
        "birth only with conditions and after an interval; births by order: 46.2% first in "
        "1989, 64.6% in 1995, 74.5% in 2000 (Fujian Statistical Yearbook, table 'births by "
        "order', censuses and the 1995 1% survey; stored page tjj.fujian.gov.cn dz05 0305); "
        "estimate, range 0.1-0.5; 1 switches the rule off (births by the age schedule alone)",
        "fertility of a wife relative to a childless one of her age, per child she already "
        "has under 15",
        role="structural",
    ),
    Param(
        "birth_away_weight",
        1.0,
        "ratio",
        0.0,
        1.0,
        "migration lowers the propensity to have a child (Goldstein, White & Goldstein, "
        "Demography 34(4), 1997: life histories of a 1988 Hubei survey, 'migration tends to "
        "lower the propensity to have a child'); estimate, range 0.2-1; 1 switches the rule "
        "off",
        "fertility of a wife away as a migrant, relative to one at home (this year's births)",
        role="behaviour",
    ),
)


assert CHILD_CITY == len(CHILD_PLACES) - 1


# values at a date recorded in January (the weddings, the births); the other ones: December
JANUARY_COUNTS = ("couples_apart", "first_birth_share")


class LifeCourse(Mechanism):
    """Marriage, births to couples and children who grow up in the household (issue 12)."""

    name = "life_course"
    doc = (
        "(January) first marriages and the couple's residence; the year's rural births to "
        "wives by their fertility; children counted by age and by where their parents are"
    )
    params = PARAMS
    results = (
        Indicator("marriages", "agents", "first marriages", True, True),
        Indicator("couples_apart", "agents", "married couples registered in two households "
                  "(no place to live together yet; January)", True),
        Indicator("marriage_moves", "agents", "persons who moved household at marriage", True,
                  True),
        Indicator("married_women", "agents", "married rural women (December)", True),
        Indicator("couples_one_away", "agents", "married couples living apart: one spouse a "
                  "migrant, the other at home (December)", True),
        Indicator("couples_both_away", "agents", "married couples both away as migrants "
                  "(December)", True),
        Indicator("couples_together_away", "agents", "married couples both away in the same "
                  "destination (December)", True),
        Indicator("births", "agents", "children born to rural households", True, True),
        Indicator("births_unplaced", "agents", "births with no free place", True, True),
        Indicator("first_births", "agents", "births to mothers with no earlier child under 15 "
                  "in the household", True, True),
        Indicator("first_birth_share", "share", "first births among the year's births "
                  "(January; 0 with none)"),
        Indicator("tertiary_exits", "agents", "children reaching 15 who leave the rural "
                  "population for tertiary schooling", True, True),
        *(
            Indicator(f"entrants_{k}", "agents", f"entrants at 15 into {where}", True, True)
            for k, where in (
                ("own_household", "their own household"),
                ("new_household", "a household they set up in an empty homestead of the county"),
                ("other_household", "another household of their county"),
                ("same_province", "another county of their province"),
                ("other_province", "another province"),
            )
        ),
        *(
            Indicator(f"children_{place}_{ages}", "agents", f"children aged {ages} {what}", True)
            for place, what in (
                ("home", "at home with their parents"),
                ("one_away", "at home while one parent is away"),
                ("behind", "left with relatives while both parents are away"),
                ("city", "living with a migrant in a city"),
            )
            for ages in ("under6", "6_14")
        ),
        Indicator("share_left_behind_under6", "share", "children under 6 among the children "
                  "under 15 left behind (one or both parents away; December; 0 with none)"),
    )
    streams = ("life_course.births", "life_course.marriage", "life_course.tertiary")
    buffers = (
        StateField("wed", "int8", "bit flags of this January's family events (WED_MARRIED: "
                   "first married; WED_BIRTH: had a child), read by the returns in January when "
                   "a wedding- or birth-return chance is set"),
    )

    def init(self, sim: Any) -> None:
        """The children of the start year: the cohorts born in the 14 years before it and in
        it, placed with the wives of child-bearing age at each birth year."""
        pars = sim.params.at(sim.start_year)
        self._where = np.zeros(len(ENTRY_PLACES) + 1, np.int64)
        self._wed = (0, 0, 0)
        self._college = 0
        n_counties = sim.places.county_start.size - 1
        counts = np.bincount(sim.households.county, minlength=n_counties)
        self._hh_county_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        pref = sim.places.county_pref  # counties of a prefecture are consecutive
        if np.any(np.diff(pref) < 0):
            raise ValueError("the counties of a prefecture must be consecutive")
        first = np.concatenate([[0], np.flatnonzero(np.diff(pref)) + 1, [pref.size]])
        self._pref_start = sim.places.county_start[first].astype(np.int64)
        if not families(pars):
            return
        hs = sim.households
        hs.child_by[:] = NO_YEAR
        hs.child_mother[:] = NO_MOTHER
        hs.n_children[:] = 0
        for b in range(sim.start_year - ENTRY_AGE + 1, sim.start_year + 1):
            self._births(sim, pars, b, years_back=sim.start_year - b)

    def _births(self, sim: Any, pars: Any, birth_year: int, years_back: int) -> tuple[int, int]:
        n = cohort_count(sim.projection, birth_year + ENTRY_AGE, sim.scale, sim.seed,
                         pars.births_net_of_exits)
        w_age = fertility_weights(pars.birth_mean_age, pars.birth_sd_age)
        w = np.empty(sim.households.n, np.float64)  # once a year: not kept as state
        hh_start, p, hs = sim.places.hh_start, sim.persons.core, sim.households.core
        away_w = float(pars.birth_away_weight)
        parity_r = float(pars.birth_parity_ratio)
        mother_weights(hh_start, p, hs, w_age, years_back, w, away_w, parity_r)
        u0 = float(uniform_array(sim.seed, "life_course.births", birth_year, 1)[0])
        placed = place_births(w, n, u0, birth_year, hh_start, p, w_age, years_back, hs, away_w,
                              parity_r)
        return n, placed

    def left(self, sim: Any, leavers: np.ndarray) -> None:
        """Persons who died or aged out: their spouses are widowed, their children motherless."""
        widow(leavers, sim.places.hh_start, sim.persons.core, sim.households.core)

    def entrant_slots(self, sim: Any, year: int) -> np.ndarray:
        """The slots taken this January by the children born 15 years earlier (sorted), after
        the college-bound among them have left (``college_exits``)."""
        p, pl = sim.persons, sim.places
        share = college_share(sim.projection, sim.params.at(year), year)
        key = tick_key(sim.seed, "life_course.tertiary", year)
        self._college = college_exits(key, share, year - ENTRY_AGE, sim.households.core)
        n_in = int(np.count_nonzero(sim.households.child_by == year - ENTRY_AGE))
        slots = np.empty(n_in, np.int64)
        self._where[:] = 0
        m = take_entrants(
            year - ENTRY_AGE,
            pl.hh_start,
            self._hh_county_start,
            pl.county_start,
            pl.prov_start,
            pl.county_prov,
            sim.households.core,
            p.hukou,
            np.zeros(p.n, np.int8),
            slots,
            self._where,
        )
        return np.sort(slots[:m])

    @property
    def unplaced(self) -> int:
        """Entrants of this January without any vacant slot."""
        return int(self._where[-1])

    def weddings(self, sim: Any) -> None:
        """January, after deaths and before the year's entrants: the year's first marriages,
        then couples who live apart move together where they can."""
        pars = sim.params.at(sim.year)
        self._wed = self._marriages(sim, pars) if families(pars) else (0, 0, 0)

    def _marriages(self, sim: Any, pars: Any) -> tuple[int, int, int]:
        """Returns (marriages, persons who moved, couples still apart)."""
        p, pl = sim.persons, sim.places
        n = p.n
        lo = self._pref_start[:-1]
        n_c = lo.size
        taken = np.zeros(n, np.int8)
        # slot lists laid out by prefecture (n long, few used): int32 while slots fit
        idx = np.int32 if n <= np.iinfo(np.int32).max else np.int64
        wife = np.empty(n, idx)
        husband = np.empty(n, idx)
        n_m = np.zeros(n_c, np.int64)
        key = sim.key("life_course.marriage")
        hazard = marriage_hazard(
            pars.marriage_mean_age_female, pars.marriage_sd_age, pars.ever_married_female
        )
        gap = round(pars.marriage_mean_age_male - pars.marriage_mean_age_female)
        marry(key, hazard, gap, self._pref_start, p.core, taken, wife, husband, n_m)
        cp = index_ranges(lo, n_m)
        p.spouse[wife[cp]] = husband[cp]
        p.spouse[husband[cp]] = wife[cp]
        wed = None
        if family_returns(pars):
            wed = sim.buf.wed  # read by the returns this January
            wed[:] = 0
            if pars.return_wedding_female > 0.0 or pars.return_wedding_male > 0.0:
                wed[wife[cp]] = WED_MARRIED
                wed[husband[cp]] = WED_MARRIED
        del wife, husband
        taken[:] = 0
        src = np.empty(n, idx)
        dst = np.empty(n, idx)
        n_out = np.zeros((n_c, 2), np.int64)
        co_reside(
            key,
            pars.patrilocal_share,
            self._pref_start,
            self._hh_county_start,
            pl.hh_start,
            p.core,
            sim.households.core,
            taken,
            src,
            dst,
            n_out,
        )
        mv = index_ranges(lo, n_out[:, 0])
        src, dst = src[mv].astype(np.int64), dst[mv].astype(np.int64)
        if is_fixed(pars):  # a couple in an empty homestead takes its shares (land.py)
            split_land(src, dst, pl.hh_start, p.core, sim.households.land_mu)
        move_persons(sim, src, dst)
        if wed is not None:  # the newly married follow their moves
            wed[dst] = wed[src]
            wed[src] = 0
        return int(cp.size), int(mv.size), int(n_out[:, 1].sum())

    def step(self, sim: Any) -> None:
        sc, t = sim.rec.scalars, sim.t
        for r in self.results:  # flows are 0 where nothing happens; counts at a date stay NaN
            if r.flow:
                sc[r.name][t] = 0
        pars = sim.pars
        if not families(pars):
            return
        if sim.month == 1 and t > 0:
            sc["marriages"][t], sc["marriage_moves"][t], sc["couples_apart"][t] = self._wed
            n, placed = self._births(sim, pars, sim.year, years_back=0)
            if pars.return_birth_female > 0.0:  # the year's parameters (sim.resolve_year)
                flag_birth_mothers(sim.places.hh_start, sim.households.core, sim.year,
                                   sim.buf.wed)  # cleared at this January's weddings
            sc["births"][t] = placed
            first = first_births(sim.places.hh_start, sim.households.core, sim.year)
            sc["first_births"][t] = first
            sc["first_birth_share"][t] = first / placed if placed else 0.0
            sc["births_unplaced"][t] = n - placed
            sc["tertiary_exits"][t] = self._college
            for k, name in enumerate(
                ("own_household", "new_household", "other_household", "same_province",
                 "other_province")
            ):
                sc[f"entrants_{name}"][t] = self._where[k]
        if sim.month == 12:
            p = sim.persons
            wives = np.flatnonzero(
                (p.spouse != NO_PERSON) & (p.sex == FEMALE) & (p.hukou == RURAL)
            )
            sc["married_women"][t] = wives.size
            husbands = p.spouse[wives]
            w_away = p.loc[wives] != HOME
            h_away = (p.loc[husbands] != HOME) & (p.hukou[husbands] == RURAL)
            sc["couples_one_away"][t] = np.count_nonzero(w_away != h_away)
            sc["couples_both_away"][t] = np.count_nonzero(w_away & h_away)
            sc["couples_together_away"][t] = np.count_nonzero(
                w_away & h_away & (p.loc[wives] == p.loc[husbands])
            )
            by = children_by_place(sim.places.hh_start, p.core, sim.households.core, sim.year)
            for k, place in enumerate(CHILD_PLACES):
                sc[f"children_{place}_under6"][t] = by[0, k]
                sc[f"children_{place}_6_14"][t] = by[1, k]
            sc["share_left_behind_under6"][t] = left_behind_under6_share(by)
