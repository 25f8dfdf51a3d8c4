"""Kernels of marriage and of couples moving together (``life_course``, issue 12).

A woman marries with the first-marriage hazard of her age a man of her prefecture
(:func:`marry`); couples registered in two households move together where a household has room
(:func:`co_reside`); the movers take all personal state along (:func:`move_persons`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange
from scipy.special import ndtr

from sim.core.encodings import FEMALE, MALE, NO_MOTHER, NO_PERSON, NO_YEAR, RURAL, VACANT
from sim.core.rng import uniform
from sim.core.state import PERSON_FIELDS, household
from sim.mechanisms.demography.places import empty_homestead, free_in

MARRY_MIN, MARRY_MAX = 15, 49  # ages at which a first marriage is drawn
MIN_GROOM_AGE = 20  # 1980 Marriage Law: 22 for men, 20 for women; earlier customary unions
MAX_AGE_GROOM = 64


def marriage_hazard(mean: float, sd: float, share: float) -> np.ndarray:
    """Chance that a person still unmarried at age a (index) marries in the year: from the
    married shares E(a) = share x Phi((a + 0.5 - mean) / sd) of :func:`ever_married`."""
    a = np.arange(128, dtype=np.float64)
    e = share * ndtr((a + 0.5 - mean) / sd)
    prev = np.concatenate([[0.0], e[:-1]])
    h = (e - prev) / np.maximum(1.0 - prev, 1e-12)
    h[(a < MARRY_MIN) | (a > MARRY_MAX)] = 0.0
    return np.clip(h, 0.0, 1.0)


@njit(cache=True)
def widow(leavers, hh_start, p, hs):
    """Persons ``leavers`` left the population: their spouses are widowed and the children
    they bore lose their mother's place (before any entrant takes the slot)."""
    for i in leavers:
        sp = p.spouse[i]
        if sp != NO_PERSON:
            p.spouse[sp] = NO_PERSON
            p.spouse[i] = NO_PERSON
        h = household(p, i)
        off = i - hh_start[h]
        for j in range(hs.child_mother.shape[1]):
            if hs.child_mother[h, j] == off:
                hs.child_mother[h, j] = NO_MOTHER


@njit(inline="always")
def _room_for_children(w, h_to, hh_start, p, hs):
    """The child table of household ``h_to`` can take the children of mother ``w``."""
    h = household(p, w)
    off = w - hh_start[h]
    need = 0
    for j in range(hs.child_by.shape[1]):
        if hs.child_by[h, j] != NO_YEAR and hs.child_mother[h, j] == off:
            need += 1
    if need == 0 or h_to == h:
        return True
    free = 0
    for j in range(hs.child_by.shape[1]):
        if hs.child_by[h_to, j] == NO_YEAR:
            free += 1
    return free >= need


@njit(cache=True)  # not inlined: numba 0.68 loses writes through hs.x inlined in a prange
def _move_children(w, w_to, hh_start, p, hs):
    """The children of mother ``w`` follow her to slot ``w_to`` (another household)."""
    h = household(p, w)
    h_to = household(p, w_to)
    off = w - hh_start[h]
    for j in range(hs.child_by.shape[1]):
        if hs.child_by[h, j] != NO_YEAR and hs.child_mother[h, j] == off:
            for k in range(hs.child_by.shape[1]):
                if hs.child_by[h_to, k] == NO_YEAR:
                    hs.child_by[h_to, k] = hs.child_by[h, j]
                    hs.child_mother[h_to, k] = w_to - hh_start[h_to]
                    hs.n_children[h_to] += 1
                    break
            hs.child_by[h, j] = NO_YEAR
            hs.child_mother[h, j] = NO_MOTHER
            hs.n_children[h] -= 1


@njit(cache=True, parallel=True)
def marry(key, hazard_f, gap, pref_start, p, taken, wife, husband, n_out):
    """First marriages of the year, prefecture by prefecture (prefectures are independent, so
    the result does not depend on the thread count): an unmarried rural woman marries with
    the hazard of her age; her husband is an unmarried rural man of her prefecture, outside
    her household, of the age nearest hers plus ``gap`` (among men of one age, the lowest
    index still free). Writes the couples from each prefecture's first index on and their
    number into ``n_out``."""
    age = p.age
    sex = p.sex
    hukou = p.hukou
    spouse = p.spouse
    for r in prange(pref_start.shape[0] - 1):
        lo, hi = pref_start[r], pref_start[r + 1]
        count = np.zeros(MAX_AGE_GROOM + 2, np.int64)  # eligible men by age, then offsets
        for j in range(lo, hi):
            if (hukou[j] == RURAL and sex[j] == MALE and spouse[j] == NO_PERSON
                    and MIN_GROOM_AGE <= age[j] <= MAX_AGE_GROOM):
                count[age[j] + 1] += 1
        for a in range(1, count.shape[0]):
            count[a] += count[a - 1]
        men = np.empty(count[-1], np.int64)
        fill = count[:-1].copy()
        for j in range(lo, hi):
            if (hukou[j] == RURAL and sex[j] == MALE and spouse[j] == NO_PERSON
                    and MIN_GROOM_AGE <= age[j] <= MAX_AGE_GROOM):
                men[fill[age[j]]] = j
                fill[age[j]] += 1
        ptr = count[:-1].copy()  # next man of each age not yet married this year
        n_m = 0
        for i in range(lo, hi):
            if hukou[i] != RURAL or sex[i] != FEMALE or spouse[i] != NO_PERSON:
                continue
            if uniform(key, i, 0) >= hazard_f[age[i]]:
                continue
            target = age[i] + gap
            h_i = household(p, i)
            best = -1
            for step in range(2 * MAX_AGE_GROOM):
                a = target + (step + 1) // 2 * (1 if step % 2 == 0 else -1)
                if a < MIN_GROOM_AGE or a > MAX_AGE_GROOM:
                    continue
                while ptr[a] < count[a + 1] and taken[men[ptr[a]]] != 0:
                    ptr[a] += 1
                k = ptr[a]
                while k < count[a + 1] and (taken[men[k]] != 0 or household(p, men[k]) == h_i):
                    k += 1
                if k < count[a + 1]:
                    best = men[k]
                    break
            if best < 0:
                continue
            taken[best] = 1  # he does not marry twice
            wife[lo + n_m] = i  # a marriage joins two persons of the prefecture
            husband[lo + n_m] = best
            n_m += 1
        n_out[r] = n_m


@njit(cache=True, parallel=True)
def co_reside(key, patrilocal, pref_start, hh_county_start, hh_start, p, hs, taken, src, dst,
              n_out):
    """Couples registered in two households move together, prefecture by prefecture: into
    the husband's household (chance ``patrilocal``) or the wife's where it has a free place;
    else into an empty homestead of that household's county (a new household); else into the
    other spouse's household. The wife's children follow her (if the new household's table has
    room). Writes the moves (``src`` -> ``dst``) from each prefecture's first index on and per
    prefecture [moves, couples still apart] into ``n_out``; marks the places taken."""
    hukou = p.hukou
    sex = p.sex
    spouse = p.spouse
    for r in prange(pref_start.shape[0] - 1):
        lo, hi = pref_start[r], pref_start[r + 1]
        n_mv = 0
        apart = 0
        for i in range(lo, hi):
            j = spouse[i]
            if sex[i] != FEMALE or j == NO_PERSON or hukou[i] == VACANT:
                continue
            h_i = household(p, i)
            h_j = household(p, j)
            if h_j == h_i:
                continue
            pat = uniform(key, i, 1) < patrilocal
            w_at, m_at = -1, -1
            for option in range(3):
                if option == 0 or option == 2:
                    to_husband = pat if option == 0 else not pat
                    if to_husband:
                        s = free_in(h_j, hh_start, hukou, taken)
                        if s >= 0 and _room_for_children(i, h_j, hh_start, p, hs):
                            w_at, m_at = s, j
                    else:
                        s = free_in(h_i, hh_start, hukou, taken)
                        if s >= 0:
                            w_at, m_at = i, s
                else:
                    c = p.hh_county[h_j] if pat else p.hh_county[h_i]
                    e = empty_homestead(c, hh_county_start, hh_start, hukou, taken, hs.child_by)
                    if e >= 0 and _room_for_children(i, e, hh_start, p, hs):
                        w_at, m_at = hh_start[e], hh_start[e] + 1
                if w_at >= 0:
                    break
            if w_at < 0:
                apart += 1
                continue
            # each couple makes at most two moves and holds two persons of the prefecture
            if w_at != i:
                taken[w_at] = 1
                _move_children(i, w_at, hh_start, p, hs)
                src[lo + n_mv] = i
                dst[lo + n_mv] = w_at
                n_mv += 1
            if m_at != j:
                taken[m_at] = 1
                src[lo + n_mv] = j
                dst[lo + n_mv] = m_at
                n_mv += 1
        n_out[r, 0] = n_mv
        n_out[r, 1] = apart


def index_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices starts[k] .. starts[k] + counts[k] - 1 for every k, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    first = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return (first + np.arange(total)).astype(np.int64)


SLOT_BOUND = ("hh_off",)  # a slot's household (and so its county): it never moves


def move_persons(sim: Any, src: np.ndarray, dst: np.ndarray) -> None:
    """Persons at slots ``src`` move, with every personal field, to the free slots ``dst`` of
    other households (the slot-bound ``hh_off`` stays); the slots they leave become
    vacant. A household's children who lived with a mover in a city stay with the household."""
    if src.size == 0:
        return
    p, hs = sim.persons, sim.households
    kw = hs.kids_with
    with_kids = np.flatnonzero(kw != NO_PERSON)
    moved = with_kids[np.isin(sim.places.hh_start[with_kids] + kw[with_kids], src)]
    kw[moved] = NO_PERSON
    for name in p.names:
        if name in SLOT_BOUND:
            continue
        a = getattr(p, name)
        a[dst] = a[src]
    for f in PERSON_FIELDS:
        if f.name not in SLOT_BOUND:
            getattr(p, f.name)[src] = f.fill
    sim.entered(src)  # mechanisms' fields at their fill values
    order = np.argsort(src)
    s_sorted, d_sorted = src[order], dst[order]
    partner = p.spouse[dst]
    has = partner != NO_PERSON
    k = np.searchsorted(s_sorted, partner[has])
    k = np.minimum(k, s_sorted.size - 1)
    also = s_sorted[k] == partner[has]  # the partner moved too: to its new slot
    new_partner = partner[has].copy()
    new_partner[also] = d_sorted[k[also]]
    p.spouse[dst[has]] = new_partner
    p.spouse[new_partner] = dst[has]
