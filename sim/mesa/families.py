"""The household life course in the reference model, written plainly per agent.

The rules of ``sim.mechanisms.demography.life_course`` (see its module docstring), applied to
the reference model's :class:`~sim.mesa.agents.Person` places and
:class:`~sim.mesa.household.Household`\\ s each January, after ageing, exits and widowhood
(``Person.age_one_year``):

1. :func:`weddings`: an unmarried rural woman marries with the first-marriage hazard of her
   age (``marriage.marriage_hazard``) an unmarried rural man of her prefecture aged 20-64,
   outside her household, of the age nearest hers plus the gap of the two schedules (the
   younger first at equal distance, the first in person order at equal age); then every couple
   registered in two households moves together: into the husband's household (chance
   ``patrilocal_share``) or the wife's where it has a free place (for a wife, room for her
   children in its table); else into an empty homestead of that household's county (both
   move); else into the other spouse's household; else it stays apart. Places are promised
   during the pass and the moves made after it (``marriage.co_reside``, ``move_persons``);
   the mover takes all personal state into the new place (``Person.move_to``); a wife's
   children follow her at once.
2. :func:`entrants`: the children born 15 years earlier leave the table; the college-bound
   (the cohort's ``tertiary_exit_share``, a draw of the model's generator each) leave the
   rural population (``births.college_exits``) and the others take a free place
   of their own household; else the first place of an empty homestead of the county; else the
   first vacant place of the county; else of the province; else anywhere
   (``births.take_entrants``). Households left without children take none to the city.
3. :func:`births` (the ``life_course`` stage, after demography): the year's births
   (``births.cohort_count``, the core's count) go to married rural women aged 15-49 by
   systematic sampling with probability proportional to the fertility weight of their age
   (``sim.core.schedules.fertility_weights``), from one uniform of the model's generator; a
   birth to a household whose table is full is not placed.

The initial children are the core's: :func:`initial_children` runs the core's own kernels
(``births.mother_weights``, ``births.place_births``, with the counter-based uniforms of
``LifeCourse.init``) on the built arrays before the agents are created.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.core.encodings import (
    FEMALE,
    HOME,
    MALE,
    MAX_CHILDREN,
    NO_MOTHER,
    NO_YEAR,
    RURAL,
    VACANT,
    WED_BIRTH,
    WED_MARRIED,
)
from sim.core.rng import uniform_array
from sim.core.schedules import FERTILE_MAX, FERTILE_MIN, fertility_weights
from sim.core.state import (  # the places of a child (``sim.core.state.child_place``)
    CARER_MIN_AGE,
    CENSUS_AWAY_MONTHS,
    CHILD_BEHIND,
    CHILD_CITY,
    CHILD_HOME,
    CHILD_ONE_AWAY,
    SCHOOL_AGE,
)
from sim.mechanisms.demography.births import (
    cohort_count,
    college_share,
    mother_weights,
    place_births,
)
from sim.mechanisms.demography.life_course import ENTRY_AGE, ENTRY_PLACES
from sim.mechanisms.demography.marriage import MAX_AGE_GROOM, MIN_GROOM_AGE, marriage_hazard
from sim.mesa import land as mesa_land

#: the January counts of the life course, named as the core's indicators
LIFE_INDICATORS = (
    "marriages",
    "marriage_moves",
    "couples_apart",
    "births",
    "births_unplaced",
    "entrants_own_household",
    "entrants_new_household",
    "entrants_other_household",
    "entrants_same_province",
    "entrants_other_province",
    "entrants_unplaced",
    "married_women",
    "couples_one_away",
    "couples_both_away",
    "couples_together_away",
    "tertiary_exits",
)
#: those counted in December (the others in January)
DECEMBER = ("married_women", "couples_one_away", "couples_both_away", "couples_together_away")
assert len(ENTRY_PLACES) == 5


def initial_children(persons: Any, hhs: Any, places: Any, pars: Any, projection: Any,
                     scale: float, seed: int, start_year: int) -> None:
    """The children of the start year in the core's arrays, as ``LifeCourse.init``: the
    cohorts born in the 14 years before it and in it, each placed with the wives of
    child-bearing age at its birth year."""
    hhs.child_by[:] = NO_YEAR
    hhs.child_mother[:] = NO_MOTHER
    hhs.n_children[:] = 0
    w_age = fertility_weights(pars.birth_mean_age, pars.birth_sd_age)
    w = np.empty(hhs.n, np.float64)
    for b in range(start_year - ENTRY_AGE + 1, start_year + 1):
        back = start_year - b
        n = cohort_count(projection, b + ENTRY_AGE, scale, seed, pars.births_net_of_exits)
        parity_r = float(pars.birth_parity_ratio)
        mother_weights(places.hh_start, persons.core, hhs.core, w_age, back, w, 1.0, parity_r)
        u0 = float(uniform_array(seed, "life_course.births", b, 1)[0])
        place_births(w, n, u0, b, places.hh_start, persons.core, w_age, back, hhs.core, 1.0,
                     parity_r)


def _free_place(h: Any) -> Any:
    """A free place of household ``h`` (vacant, not promised), or None (``places.free_in``)."""
    for x in h.members:
        if x.hukou == VACANT and not x.taken:
            return x
    return None


def _empty_homestead(model: Any, county: int) -> Any:
    for h in model.county_households[county]:
        if is_empty_homestead(h):
            return h
    return None


def _room_for_children(wife: Any, h_to: Any) -> bool:
    """The table of ``h_to`` can take the children of ``wife``."""
    need = len(wife.household.children_of(wife))
    return need == 0 or h_to is wife.household or MAX_CHILDREN - len(h_to.children) >= need


def _husband_for(wife: Any, men: list, target: int) -> Any:
    """The unmarried man of ``men`` (person order) outside her household of the age nearest
    ``target``, the younger at equal distance, the first at equal age; or None."""
    best, best_key = None, None
    for x in men:
        if x.spouse is not None or x.household is wife.household:
            continue
        key = (abs(x.age - target), x.age)
        if best_key is None or key < best_key:
            best, best_key = x, key
    return best


def weddings(model: Any, pars: Any) -> tuple[int, int, int]:
    """The year's first marriages, then couples apart move together. Returns (marriages,
    persons who moved, couples still apart)."""
    rng = model.rng
    hazard = marriage_hazard(
        pars.marriage_mean_age_female, pars.marriage_sd_age, pars.ever_married_female
    )
    gap = round(pars.marriage_mean_age_male - pars.marriage_mean_age_female)
    n_wed = 0
    for x in model.persons:
        x.wed = 0  # married this January (the wedding returns, ``returns.wedding_hazards``)
    for lo, hi in model.pref_ranges:
        people = model.persons[lo:hi]
        men = [
            x for x in people
            if x.hukou == RURAL and x.sex == MALE and x.spouse is None
            and MIN_GROOM_AGE <= x.age <= MAX_AGE_GROOM
        ]
        for x in people:
            if x.hukou != RURAL or x.sex != FEMALE or x.spouse is not None:
                continue
            if rng.random() >= hazard[x.age]:
                continue
            y = _husband_for(x, men, x.age + gap)
            if y is None:
                continue
            x.spouse, y.spouse = y, x
            x.wed = y.wed = WED_MARRIED
            n_wed += 1
    moves, apart = _co_reside(model, pars)
    return n_wed, len(moves), apart


def _co_reside(model: Any, pars: Any) -> tuple[list, int]:
    """Couples registered in two households move together where a household has room."""
    rng = model.rng
    moves: list[tuple[Any, Any]] = []
    apart = 0
    for lo, hi in model.pref_ranges:
        for x in model.persons[lo:hi]:
            y = x.spouse
            if x.sex != FEMALE or y is None or y.household is x.household or x.hukou == VACANT:
                continue
            pat = rng.random() < pars.patrilocal_share
            plan = None
            for option in range(3):
                if option == 1:  # an empty homestead of the chosen household's county
                    e = _empty_homestead(model, (y if pat else x).household.county)
                    if e is not None and _room_for_children(x, e):
                        plan = (e.members[0], e.members[1])
                elif (pat if option == 0 else not pat):  # into the husband's household
                    s = _free_place(y.household)
                    if s is not None and _room_for_children(x, y.household):
                        plan = (s, y)
                else:  # into the wife's household
                    s = _free_place(x.household)
                    if s is not None:
                        plan = (x, s)
                if plan is not None:
                    break
            if plan is None:
                apart += 1
                continue
            w_at, m_at = plan
            if w_at is not x:
                w_at.taken = True
                for c in x.household.children_of(x):  # her children follow her
                    x.household.children.remove(c)
                    w_at.household.add_child(c.birth_year, w_at)
                moves.append((x, w_at))
            if m_at is not y:
                m_at.taken = True
                moves.append((y, m_at))
    to = {id(src): dst for src, dst in moves}
    partners = [src.spouse for src, _ in moves]
    mesa_land.split(model, pars, moves)  # a couple in an empty homestead takes its shares
    for src, dst in moves:
        src.move_to(dst)
    for (_, dst), partner in zip(moves, partners, strict=True):
        partner = to.get(id(partner), partner)
        dst.spouse, partner.spouse = partner, dst
    for _, dst in moves:
        dst.taken = False
    return moves, apart


def entrants(model: Any, year: int) -> tuple[list, list[int], int]:
    """The places taken this January by the children born 15 years earlier (person order),
    the counts by place (``ENTRY_PLACES``, then unplaced) and the college-bound, who leave
    first with the cohort's tertiary exit share (``births.college_exits``)."""
    born = year - ENTRY_AGE
    share = college_share(model.projection, model.params.at(year), year)
    where = [0] * (len(ENTRY_PLACES) + 1)
    out = []
    college = 0

    def first_vacant(lo: int, hi: int) -> Any:
        for x in model.persons[lo:hi]:
            if x.hukou == VACANT:
                return x
        return None

    for h in model.households:
        for c in [c for c in h.children if c.birth_year == born]:
            h.children.remove(c)
            if model.rng.random() < share:
                college += 1
                continue
            s, k = next((x for x in h.members if x.hukou == VACANT), None), 0
            if s is None:
                e = _empty_homestead(model, h.county)
                if e is not None:
                    s, k = e.members[0], 1
                    e.kids_with = None
            if s is None:
                s, k = first_vacant(*model.county_ranges[h.county]), 2
            if s is None:
                s, k = first_vacant(*model.prov_ranges[h.prov]), 3
            if s is None:
                s, k = first_vacant(0, len(model.persons)), 4
            if s is None:
                where[-1] += 1
                continue
            where[k] += 1
            s.hukou = RURAL  # the place is taken (``become_entrant`` sets the rest)
            out.append(s)
        if not h.children:
            h.kids_with = None
    out.sort(key=lambda x: x.unique_id)
    return out, where, college


def births(model: Any, pars: Any, year: int) -> tuple[int, int]:
    """The year's births to married rural women by the fertility of their age (times
    ``birth_parity_ratio`` per child under 15 a wife already has). Returns (births, births
    placed)."""
    n = cohort_count(model.projection, year + ENTRY_AGE, model.scale, model.seed,
                     pars.births_net_of_exits)
    w_age = fertility_weights(pars.birth_mean_age, pars.birth_sd_age)
    away_w = float(pars.birth_away_weight)  # a wife away as a migrant (births.mother_weights)
    parity_r = float(pars.birth_parity_ratio)  # per child she has under 15 (births.parity)
    wives = [
        (x, float(w_age[x.age]) * (away_w if away_w != 1.0 and x.loc != HOME else 1.0)
         * (parity_r ** len(h.children_of(x)) if parity_r != 1.0 else 1.0))
        for h in model.households
        if len(h.children) < MAX_CHILDREN
        for x in h.members
        if x.hukou == RURAL and x.sex == FEMALE and x.spouse is not None
        and FERTILE_MIN <= x.age <= FERTILE_MAX
    ]
    total = sum(w for _, w in wives)
    if n <= 0 or total <= 0.0:
        return n, 0
    step = total / n
    pos = model.rng.random() * step  # systematic sampling, probability proportional to w
    acc, k, placed = 0.0, 0, 0
    flag = model.params.at(year).return_birth_female > 0.0  # births.flag_birth_mothers
    for x, w in wives:
        acc += w
        while k < n and pos < acc:
            got = x.household.add_child(year, x)
            placed += got
            if got and flag:
                x.wed |= WED_BIRTH
            k += 1
            pos += step
    return n, placed


def record_couples(model: Any) -> None:
    """December: married rural women, and couples living apart because one spouse is away as
    a migrant or both away, and of these both in one destination (``LifeCourse.step``; a
    husband counts as away with a rural hukou)."""
    one = both = together = n = 0
    for x in model.persons:
        if x.spouse is None or x.sex != FEMALE or x.hukou != RURAL:
            continue
        n += 1
        w_away = x.loc != HOME
        h_away = x.spouse.loc != HOME and x.spouse.hukou == RURAL
        one += w_away != h_away
        both += w_away and h_away
        together += w_away and h_away and x.loc == x.spouse.loc
    for k, v in zip(DECEMBER, (n, one, both, together), strict=True):
        model.life_rec[k].append(v)


class Child:
    """A child under 15 in a household's table: birth year and mother (or None)."""

    __slots__ = ("birth_year", "mother")

    def __init__(self, birth_year: int, mother: Any):
        self.birth_year = int(birth_year)
        self.mother = mother


#: personal state a person takes along when moving to another place (``move_persons``)
PERSONAL = ("age", "sex", "school", "trained", "wage_z", "loc", "hukou", "dist", "employed",
            "months_away", "sector", "job", "permit", "first_year", "tve", "wed")


def is_mother(person: Any) -> bool:
    """Has a child under 15 in her household's table (``state._mother_of_child_in``)."""
    return any(c.mother is person for c in person.household.children)


def is_parent(person: Any) -> bool:
    """A parent of children under 15 (``sim.core.state.is_parent``): with the life course
    the mother of a child in her household's table or her husband; otherwise (version 0.6)
    any member of parent age while the household has children."""
    m = person.model
    if not m.families:
        return (person.household.n_children > 0
                and m.pars.parent_age_min <= person.age <= m.pars.parent_age_max)
    return is_mother(person) or (person.spouse is not None and is_mother(person.spouse))


def has_young_child(parent: Any) -> bool:
    """The mother of ``parent``'s children (the parent or the spouse) has a child under school
    age in her household (``sim.core.state.has_young_child``)."""
    mother = parent if parent.sex == FEMALE else parent.spouse
    if mother is None:
        return False
    year = parent.model.year
    return any(ch.mother is mother and year - ch.birth_year < SCHOOL_AGE
               for ch in mother.household.children)


def family_cost(person: Any) -> float:
    """Utility a parent gives up by leaving the children (``choice.family_cost``): the
    mother's or the father's cost, less the relief share when another member aged 45 or
    more, not the spouse, is at home with a rural hukou to look after them."""
    pars = person.model.pars
    if not is_parent(person):
        return 0.0
    c = pars.parent_cost_mother if person.sex == FEMALE else pars.parent_cost_father
    ratio = pars.parent_cost_school_ratio
    if ratio != 1.0 and not has_young_child(person):  # the ratio of the cost
        c *= ratio
    for k in person.household.members:
        if (k is not person and k is not person.spouse and k.hukou == RURAL and k.loc == HOME
                and k.age >= CARER_MIN_AGE):
            return c * (1.0 - pars.grandparent_care_relief)
    return c


def child_place(house: Any, child: Child) -> int:
    """Where a child lives (``sim.core.state.child_place``): with a migrant in a city (the
    household's children were taken along); else at home with its parents (its mother and
    her husband, those with a rural hukou), with one while the other is away, or left with
    relatives while all are away; a parent counts as away after six months (the census
    rule); a child whose mother left the household counts as at home."""
    if house.kids_with is not None:
        return CHILD_CITY
    if child.mother is None:
        return CHILD_HOME
    parents = [child.mother, child.mother.spouse]
    parents = [x for x in parents if x is not None and x.hukou == RURAL]
    away = sum(1 for x in parents if x.loc != HOME and x.months_away >= CENSUS_AWAY_MONTHS)
    if away == 0:
        return CHILD_HOME
    return CHILD_BEHIND if away == len(parents) else CHILD_ONE_AWAY


def is_empty_homestead(house: Any) -> bool:
    """No member and no child, and at least two places: a homestead that died out
    (``places.empty``)."""
    return (
        len(house.members) >= 2
        and not house.children
        and all(x.hukou == VACANT and not x.taken for x in house.members)
    )


def children_status(house: Any) -> tuple[int, int]:
    """(children left behind, children in cities) (``household.children_counts``; seed
    1.3). With the life course a child is left behind when one parent or both are away
    (:func:`child_place`); otherwise (version 0.6) when every parent-age member is away."""
    if house.n_children == 0:
        return 0, 0
    if house.model.families:
        places = [child_place(house, c) for c in house.children]
        behind = sum(1 for k in places if k in (CHILD_ONE_AWAY, CHILD_BEHIND))
        return behind, sum(1 for k in places if k == CHILD_CITY)
    if house.kids_with is not None:
        return 0, house.n_children
    lo, hi = house.model.pars.parent_age_min, house.model.pars.parent_age_max
    parents = [x for x in house.members if x.hukou == RURAL and lo <= x.age <= hi]
    if parents and all(x.loc != HOME for x in parents):
        return house.n_children, 0
    return 0, 0


def spouse_terms(person: Any) -> tuple[float, int]:
    """(utility added to staying home, the spouse's destination or -1): a married person
    gives up ``couple_apart_cost`` in any state that parts the couple
    (``choice._spouse_terms``; Mincer 1978)."""
    cost = person.model.pars.couple_apart_cost
    sp = person.spouse
    if cost == 0.0 or not person.model.families or sp is None:
        return 0.0, -1
    if sp.loc != HOME:
        return 0.0, sp.loc
    if person.loc == HOME and sp.hukou == RURAL:
        return cost, -1
    return 0.0, -1


def spouse_adjust(person: Any, v: np.ndarray, lam: float) -> float:
    """Add ``couple_apart_cost / lam`` to the spouse's destination in ``v`` (utilities over
    lambda) and return the cost added to staying home (:func:`spouse_terms`)."""
    stay_cost, sd = spouse_terms(person)
    if sd >= 0:
        v[sd] += person.model.pars.couple_apart_cost / lam
    return stay_cost


def wedding_hazard(person: Any, month: int) -> float:
    """Hazard added in January for a migrant married this January, -log(1 - chance) with the
    chance ``return_wedding_female`` or ``_male``, plus for a mother of a child born this
    January -log(1 - ``return_birth_female``) (``returns.wedding_hazards``)."""
    pars = person.model.pars
    if month != 1 or not person.wed or not person.model.families:
        return 0.0
    h = 0.0
    q = pars.return_wedding_female if person.sex == FEMALE else pars.return_wedding_male
    if person.wed & WED_MARRIED and q > 0.0:
        h -= math.log1p(-q)
    if person.wed & WED_BIRTH and pars.return_birth_female > 0.0:
        h -= math.log1p(-pars.return_birth_female)
    return h


def spouse_return_log(person: Any) -> float:
    """Log hazard ratio of the return for a married migrant: ``return_spouse_log`` with the
    spouse at home, its negative with the spouse in the same destination
    (``returns.draw_returns``; Wang & Fan 2006)."""
    x, sp = person.model.pars.return_spouse_log, person.spouse
    if x == 0.0 or not person.model.families or sp is None:
        return 0.0
    if sp.loc == HOME and sp.hukou == RURAL:
        return x
    return -x if sp.loc == person.loc else 0.0
