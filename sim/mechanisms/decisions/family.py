"""The family terms of a decision: the cost a parent gives up by leaving the children, the
cost of parting a couple, and the array of these parameters the decision kernels take.

Grounds: children lower rural parents' migration, mothers' more than fathers' (CHIP 2019
event histories, 2024); grandparents at home relieve it (Chen, Lucas, Bloom & Ding 2016);
couples weigh their joint state (Mincer 1978; Fan, Sun & Zheng 2011). Off without the
household life course.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.encodings import FEMALE, HOME, RURAL
from sim.core.state import CARER_MIN_AGE, has_young_child, household, is_parent


def family_params(pars, year: int = 0) -> np.ndarray:
    """``fam`` of :func:`family_cost` and ``_decide``: the cost for a mother, for a father, the
    share a carer at home removes, the share borne by a move inside the home province, the
    cost of living apart from one's spouse (:func:`_spouse_terms`), the ratio of a parent's
    cost once every child is of school age, and the year (children's ages)."""
    return np.array([pars.parent_cost_mother, pars.parent_cost_father,
                     pars.grandparent_care_relief, pars.family_near_share,
                     getattr(pars, "couple_apart_cost", 0.0),
                     getattr(pars, "parent_cost_school_ratio", 1.0), float(year)])


@njit(inline="always", cache=True)
def _spouse_terms(i, at_home, p, families, cost):
    """(utility added to staying home, the spouse's destination or -1) for person ``i``: a
    married person gives up ``cost`` utils in any state that parts the couple (Mincer 1978 on
    family migration; Fan, Sun & Zheng 2011 on split households of rural migrants). At home
    with the spouse at home, leaving parts them (``cost`` added to staying); with the spouse
    away at destination s, every choice but s keeps them apart, so s gains ``cost`` (its weight
    times exp(cost / lambda)); a migrant whose spouse is at home weighs destinations alike.
    Off with ``cost`` 0 or without the household life course (no spouses)."""
    if cost == 0.0 or not families:
        return 0.0, -1
    sp = p.spouse[i]
    if sp < 0:
        return 0.0, -1
    s = p.loc[sp]
    if s >= 0:
        return 0.0, s
    if at_home and p.hukou[sp] == RURAL:
        return cost, -1
    return 0.0, -1


@njit(inline="always")
def family_cost(i, hh_start, p, hs, fam):
    """Utility a parent of children under 15 gives up by leaving them (``fam``: the cost for a
    mother, for a father, the share of it removed when another member aged 45 or more, other
    than the spouse, is at home to look after them, and its ratio ``fam[5]`` when the mother
    has no child under school age, in the year ``fam[6]``)."""
    h = household(p, i)
    if not is_parent(i, h, hh_start, p, hs, 0, 0, True):
        return 0.0
    c = fam[0] if p.sex[i] == FEMALE else fam[1]
    if fam[5] != 1.0:
        m = i if p.sex[i] == FEMALE else p.spouse[i]
        if not has_young_child(m, hh_start, p, hs, int(fam[6])):
            c *= fam[5]
    for k in range(hh_start[h], hh_start[h + 1]):
        if (k != i and k != p.spouse[i] and p.hukou[k] == RURAL and p.loc[k] == HOME
                and p.age[k] >= CARER_MIN_AGE):
            return c * (1.0 - fam[2])
    return c
