"""Free places in households (slots), shared by the weddings and the entrants of the life course."""

from __future__ import annotations

from numba import njit

from sim.core.encodings import NO_YEAR, VACANT


@njit(inline="always")
def is_free(i, hukou, taken):
    return hukou[i] == VACANT and taken[i] == 0


@njit(inline="always")
def free_in(h, hh_start, hukou, taken):
    """A free place of household ``h``, or -1."""
    for i in range(hh_start[h], hh_start[h + 1]):
        if is_free(i, hukou, taken):
            return i
    return -1


@njit(inline="always")
def empty(h, hh_start, hukou, taken, child_by):
    """Household ``h`` has no member and no child: a homestead that died out."""
    if hh_start[h + 1] - hh_start[h] < 2:
        return False
    for i in range(hh_start[h], hh_start[h + 1]):
        if not is_free(i, hukou, taken):
            return False
    for j in range(child_by.shape[1]):
        if child_by[h, j] != NO_YEAR:
            return False
    return True


@njit(inline="always")
def empty_homestead(c, hh_county_start, hh_start, hukou, taken, child_by):
    for h in range(hh_county_start[c], hh_county_start[c + 1]):
        if empty(h, hh_start, hukou, taken, child_by):
            return h
    return -1


@njit(inline="always")
def next_vacant(cursor, end, hukou):
    while cursor < end and hukou[cursor] != VACANT:
        cursor += 1
    return cursor
