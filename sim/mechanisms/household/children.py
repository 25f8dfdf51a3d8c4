"""Where a migrant parent's children live: the chances by destination, following a departing
parent, joining a mother away at a birth, and going home at school entry (seed 1.5: the
barrier is schooling, fees, 'donations' and enrolment; :mod:`sim.mechanisms.household` holds
the parameters and calls these kernels). The household's children move as one: ``kids_with``
is the member they live with in a city, or ``NO_PERSON``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.encodings import EVENT_DEPART, NO_MOTHER, NO_PERSON, RURAL
from sim.core.rng import uniform
from sim.core.state import SCHOOL_AGE, eldest_child_age, household, is_parent

BRING_SCHOOL, BRING_PRESCHOOL, SENT_HOME = 0, 1, 2
"""Columns of ``YearInputs.p_bring`` (by destination): the chance children follow a departing
parent when one of them is of school age, when all are younger, and the chance children in the
city are sent home in the year the eldest reaches school age."""


def bring_chances(bring_max: float, barrier: float, preschool_share: float) -> np.ndarray:
    """(follow with a school-age child, follow with preschool children only, sent home at
    school entry) for a destination whose school barrier is ``barrier``. A family that left
    with preschool children meets ``preschool_share`` of the barrier then and the rest at the
    eldest's school entry, so either way a family with a school-age child is in the city with
    chance ``bring_max * (1 - barrier)``: (1 - s b)(1 - x) = 1 - b."""
    sb = preschool_share * barrier
    home = 0.0 if sb >= 1.0 else barrier * (1.0 - preschool_share) / (1.0 - sb)
    return np.array([bring_max * (1.0 - barrier), bring_max * (1.0 - sb), home])


@njit(cache=True)
def children_follow(key_u, cand, event, hh_start, p, hs, p_bring_dest, new_loc, age_lo, age_hi,
                    families, year):
    """Children of a departing parent follow with the destination's chance (a parent:
    ``sim.core.state.is_parent``): the preschool chance while (with ``families``) every child
    of the household is under school age, else the school-age one."""
    kids_with = hs.kids_with
    for i in cand:
        if event[i] != EVENT_DEPART:
            continue
        h = household(p, i)
        if kids_with[h] >= 0 or not is_parent(i, h, hh_start, p, hs, age_lo, age_hi, families):
            continue
        col = BRING_SCHOOL
        if families and eldest_child_age(h, hs, year) < SCHOOL_AGE:
            col = BRING_PRESCHOOL
        if uniform(key_u, i, 0) < p_bring_dest[new_loc[i], col]:
            kids_with[h] = i - hh_start[h]


@njit(cache=True)
def newborns_follow(key_u, hh_start, p, hs, p_bring_dest, year, factor):
    """January, after the year's births: in a household whose children are all under school
    age and in the village, a child born this year to a mother away takes them to her with
    ``factor`` times her destination's preschool chance. The draw is the mother's. Returns the
    children who joined a mother."""
    kids_with = hs.kids_with
    joined = 0
    for h in range(hh_start.shape[0] - 1):
        if kids_with[h] >= 0 or hs.n_children[h] == 0:
            continue
        if eldest_child_age(h, hs, year) >= SCHOOL_AGE:
            continue
        for j in range(hs.child_by.shape[1]):
            mo = hs.child_mother[h, j]
            if hs.child_by[h, j] != year or mo == NO_MOTHER:
                continue
            m = hh_start[h] + mo
            d = p.loc[m]
            if d >= 0 and p.hukou[m] == RURAL:
                if uniform(key_u, m, 1) < factor * p_bring_dest[d, BRING_PRESCHOOL]:
                    kids_with[h] = mo
                    joined += hs.n_children[h]
                break
    return joined


@njit(cache=True)
def school_entry(key_u, hh_start, p, hs, p_bring_dest, year):
    """January: children in a city with a migrant parent (``kids_with``) whose eldest reaches
    school age this year are sent home with the parent's destination's chance
    (``SENT_HOME``), the family meeting the school barrier it did not meet when it left (seed
    1.5). The draw is the parent's. Returns the children sent home."""
    kids_with = hs.kids_with
    sent = 0
    for h in range(hh_start.shape[0] - 1):
        k = kids_with[h]
        if k < 0 or eldest_child_age(h, hs, year) != SCHOOL_AGE:
            continue
        i = hh_start[h] + k
        d = p.loc[i]
        if d >= 0 and uniform(key_u, i, 0) < p_bring_dest[d, SENT_HOME]:
            kids_with[h] = NO_PERSON
            sent += hs.n_children[h]
    return sent
