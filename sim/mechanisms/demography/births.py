"""Kernels of births to wives, children entering their household at 15, and where the
children are (``life_course``, issue 12)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import (
    FEMALE,
    HOME,
    NO_MOTHER,
    NO_PERSON,
    NO_YEAR,
    RURAL,
    VACANT,
    WED_BIRTH,
)
from sim.core.rng import uniform, uniform_array
from sim.core.schedules import FERTILE_MAX, FERTILE_MIN
from sim.core.state import SCHOOL_AGE, child_place
from sim.mechanisms.demography.places import empty, next_vacant

ANY_YEAR = 32767  # ``parity`` counts every child of the table born before it
CHILD_PLACES = ("home", "one_away", "behind", "city")  # ``sim.core.state.child_place`` codes


def cohort_count(proj: Any, entry_year: int, scale: float, seed: int, net: bool = False) -> int:
    """Births (agents) of the rural cohort reaching 15 in ``entry_year``: the whole cohort,
    before its tertiary exits (``Projection.born``; ``net``: after them, ``entering``, the rule
    of version 0.11 and earlier), rounded by the counter-based draw the open population uses;
    beyond the last cohort of ``births.csv`` that cohort is held."""
    year = min(entry_year, proj.last_entry)
    x = (proj.entering(year) if net else proj.born(year)) / scale
    n = math.floor(x)
    return n + int(uniform_array(seed, "demography.entry_round", entry_year, 1)[0] < x - n)


@njit(inline="always", cache=True)
def _away_factor(loc_i, years_back, away_w):
    """Factor of a wife's fertility while she is away as a migrant (this year's births only:
    where she was in earlier years is not kept)."""
    if away_w != 1.0 and years_back == 0 and loc_i != HOME:
        return away_w
    return 1.0


@njit(inline="always", cache=True)
def parity(i, h, hh_start, hs, before):
    """Children under 15 of wife ``i`` (of household ``h``) in her household's table born
    before the year ``before``: her births so far for every woman under about 38 (older
    ones' first children have left the table at 15, where the age schedule is low)."""
    off = i - hh_start[h]
    n = 0
    for j in range(hs.child_by.shape[1]):
        b = hs.child_by[h, j]
        if b != NO_YEAR and b < before and hs.child_mother[h, j] == off:
            n += 1
    return n


@njit(inline="always", cache=True)
def _parity_factor(i, h, hh_start, hs, parity_r, before):
    """``parity_r`` to the power of wife ``i``'s children under 15 born before ``before``
    (``birth_parity_ratio``; 1: off, the age schedule alone)."""
    if parity_r == 1.0:
        return 1.0
    return parity_r ** parity(i, h, hh_start, hs, before)


@njit(cache=True, parallel=True)
def mother_weights(hh_start, p, hs, w_age, years_back, out, away_w=1.0, parity_r=1.0):
    """Weight of each household for a birth ``years_back`` years ago: the fertility of its
    married rural women at their age then, times ``away_w`` for a wife away as a migrant this
    year (``birth_away_weight``) and ``parity_r`` per child she already has under 15
    (``birth_parity_ratio``); 0 when its child table is full."""
    age = p.age
    sex = p.sex
    hukou = p.hukou
    spouse = p.spouse
    loc = p.loc
    child_by = hs.child_by
    for h in prange(hh_start.shape[0] - 1):
        out[h] = 0.0
        free = False
        for j in range(child_by.shape[1]):
            if child_by[h, j] == NO_YEAR:
                free = True
                break
        if not free:
            continue
        w = 0.0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and sex[i] == FEMALE and spouse[i] != NO_PERSON:
                a = age[i] - years_back
                if FERTILE_MIN <= a <= FERTILE_MAX:
                    w += (w_age[a] * _away_factor(loc[i], years_back, away_w)
                          * _parity_factor(i, h, hh_start, hs, parity_r, ANY_YEAR))
        out[h] = w


@njit(cache=True)
def place_births(weights, n_births, u0, birth_year, hh_start, p, w_age, years_back, hs,
                 away_w=1.0, parity_r=1.0):
    """Systematic sampling with probability proportional to ``weights``: birth k goes to the
    household whose cumulative weight covers (k + u0) / n_births of the total, to the wife of
    that household whose fertility weight (as :func:`mother_weights` counts it) covers the
    rest (each weighed as :func:`mother_weights` weighs it, before this year's births are
    added). Returns the births placed."""
    child_by = hs.child_by
    child_mother = hs.child_mother
    total = 0.0
    for h in range(weights.shape[0]):
        total += weights[h]
    if n_births <= 0 or total <= 0.0:
        return 0
    step = total / n_births
    pos = u0 * step
    k = 0
    placed = 0
    acc = 0.0
    for h in range(weights.shape[0]):
        before = acc
        acc += weights[h]
        while k < n_births and pos < acc:
            mother = -1  # the wife whose share of the household's weight covers ``pos``
            inner = before
            for i in range(hh_start[h], hh_start[h + 1]):
                if p.hukou[i] == RURAL and p.sex[i] == FEMALE and p.spouse[i] != NO_PERSON:
                    a = p.age[i] - years_back
                    if FERTILE_MIN <= a <= FERTILE_MAX:
                        inner += (w_age[a] * _away_factor(p.loc[i], years_back, away_w)
                                  * _parity_factor(i, h, hh_start, hs, parity_r, birth_year))
                        mother = i
                        if pos < inner:
                            break
            for j in range(child_by.shape[1]):
                if child_by[h, j] == NO_YEAR:
                    child_by[h, j] = birth_year
                    child_mother[h, j] = mother - hh_start[h]
                    hs.n_children[h] += 1
                    placed += 1
                    break
            k += 1
            pos += step
    return placed


def college_share(proj: Any, pars: Any, year: int) -> float:
    """Chance that a child reaching 15 in ``year`` leaves for tertiary schooling (0 when births
    are placed net of exits, ``births_net_of_exits``)."""
    if pars.births_net_of_exits:
        return 0.0
    return proj.exit_share(min(year, proj.last_entry))


@njit(cache=True)
def college_exits(key, share, birth_year, hs):
    """Children born in ``birth_year`` who leave for tertiary schooling as they reach 15, each
    with chance ``share`` (draw keyed by household and table place): they leave the table and
    the rural population. Returns their number."""
    child_by = hs.child_by
    n = 0
    for h in range(child_by.shape[0]):
        gone = 0
        for j in range(child_by.shape[1]):
            if child_by[h, j] == birth_year and uniform(key, h, j) < share:
                child_by[h, j] = NO_YEAR
                hs.child_mother[h, j] = NO_MOTHER
                gone += 1
        if gone > 0:
            hs.n_children[h] -= gone
            if hs.n_children[h] == 0:
                hs.kids_with[h] = NO_PERSON
            n += gone
    return n


@njit(cache=True)
def take_entrants(birth_year, hh_start, hh_county_start, county_start, prov_start, county_prov,
                  hs, hukou, taken, slots, where):
    """Children born in ``birth_year`` leave the table and take vacant slots: of their own
    household; else they set up a household in an empty homestead of their county; else join
    another household of the county; else their province; else anywhere (cursors walk each
    range once). Writes the slots into ``slots`` and the counts by place into ``where``
    (``ENTRY_PLACES``, then unplaced); marks each taken slot RURAL (``enter`` sets the rest);
    returns the number placed."""
    child_by = hs.child_by
    n_children = hs.n_children
    kids_with = hs.kids_with
    county = hs.county
    n_c = county_start.shape[0] - 1
    n_p = prov_start.shape[0] - 1
    cur_h = hh_county_start[:n_c].copy()
    cur_c = county_start[:n_c].copy()
    cur_p = prov_start[:n_p].copy()
    cur_g = 0
    n_all = hukou.shape[0]
    m = 0
    for h in range(hh_start.shape[0] - 1):
        for j in range(child_by.shape[1]):
            if child_by[h, j] != birth_year:
                continue
            child_by[h, j] = NO_YEAR
            hs.child_mother[h, j] = NO_MOTHER
            n_children[h] -= 1
            s = -1
            for i in range(hh_start[h], hh_start[h + 1]):
                if hukou[i] == VACANT:
                    s = i
                    where[0] += 1
                    break
            c = county[h]
            if s < 0:
                while cur_h[c] < hh_county_start[c + 1] and not empty(
                    cur_h[c], hh_start, hukou, taken, child_by
                ):
                    cur_h[c] += 1
                if cur_h[c] < hh_county_start[c + 1]:
                    s = hh_start[cur_h[c]]
                    kids_with[cur_h[c]] = NO_PERSON
                    cur_h[c] += 1
                    where[1] += 1
            if s < 0:
                cur_c[c] = next_vacant(cur_c[c], county_start[c + 1], hukou)
                if cur_c[c] < county_start[c + 1]:
                    s = cur_c[c]
                    where[2] += 1
            if s < 0:
                pv = county_prov[c]
                cur_p[pv] = next_vacant(cur_p[pv], prov_start[pv + 1], hukou)
                if cur_p[pv] < prov_start[pv + 1]:
                    s = cur_p[pv]
                    where[3] += 1
            if s < 0:
                cur_g = next_vacant(cur_g, n_all, hukou)
                if cur_g < n_all:
                    s = cur_g
                    where[4] += 1
            if s < 0:
                where[5] += 1
                continue
            hukou[s] = RURAL
            slots[m] = s
            m += 1
        if n_children[h] == 0:
            kids_with[h] = NO_PERSON
    return m


@njit(cache=True, parallel=True)
def children_by_place(hh_start, p, hs, year):
    """Children under 15 by age (rows: under 6, 6-14) and place (columns, ``CHILD_PLACES``).
    Integer sums reduced by numba (exact: the counts do not depend on threads). A parallel loop
    because a serial kernel that reads the state through ``p.x`` in its loop pays a reference
    count on every access (ten times slower here)."""
    child_by = hs.child_by
    n_children = hs.n_children
    h0 = h1 = h2 = h3 = s0 = s1 = s2 = s3 = 0
    for h in prange(hh_start.shape[0] - 1):
        if n_children[h] == 0:
            continue
        for j in range(child_by.shape[1]):
            b = child_by[h, j]
            if b == NO_YEAR:
                continue
            place = child_place(h, j, hh_start, p, hs)
            school = year - b >= SCHOOL_AGE
            if school:
                s0 += place == 0
                s1 += place == 1
                s2 += place == 2
                s3 += place == 3
            else:
                h0 += place == 0
                h1 += place == 1
                h2 += place == 2
                h3 += place == 3
    out = np.zeros((2, len(CHILD_PLACES)), np.int64)
    out[0, 0], out[0, 1], out[0, 2], out[0, 3] = h0, h1, h2, h3
    out[1, 0], out[1, 1], out[1, 2], out[1, 3] = s0, s1, s2, s3
    return out


@njit(cache=True)
def first_births(hh_start, hs, year):
    """Births of ``year`` whose mother had no earlier child under 15 in her household's
    table (first births, for every mother under about 38: :func:`parity`)."""
    n = 0
    for h in range(hh_start.shape[0] - 1):
        if hs.n_children[h] == 0:
            continue
        for j in range(hs.child_by.shape[1]):
            mo = hs.child_mother[h, j]
            if hs.child_by[h, j] == year and mo != NO_MOTHER:
                n += parity(hh_start[h] + mo, h, hh_start, hs, year) == 0
    return n


@njit(cache=True)
def flag_birth_mothers(hh_start, hs, year, wed):
    """Set ``WED_BIRTH`` in ``wed`` for the mother of every child born in ``year`` (read by
    the January birth returns, ``returns.wedding_hazards``)."""
    child_by = hs.child_by
    child_mother = hs.child_mother
    for h in range(hh_start.shape[0] - 1):
        if hs.n_children[h] == 0:
            continue
        for j in range(child_by.shape[1]):
            mo = child_mother[h, j]
            if child_by[h, j] == year and mo != NO_MOTHER:
                wed[hh_start[h] + mo] |= WED_BIRTH


def family_returns(pars) -> bool:
    """A January family-event return is on (a wedding or a birth chance above 0): the life
    course then fills the buffer ``wed``."""
    return (float(getattr(pars, "return_wedding_female", 0.0)) > 0.0
            or float(getattr(pars, "return_wedding_male", 0.0)) > 0.0
            or float(getattr(pars, "return_birth_female", 0.0)) > 0.0)


def left_behind_under6_share(by: np.ndarray) -> float:
    """Share of children under 6 among the children under 15 left behind (``by`` from
    :func:`children_by_place`: one or both parents away, as the 2000 census and the 2005 1%
    survey count them); 0 when no child is left behind."""
    away = (CHILD_PLACES.index("one_away"), CHILD_PLACES.index("behind"))
    total = int(by[:, away[0]].sum() + by[:, away[1]].sum())
    return float(by[0, away[0]] + by[0, away[1]]) / total if total else 0.0
