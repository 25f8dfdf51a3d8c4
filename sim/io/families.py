"""Children and parents by age (issue 12, parts 2 and 4): where the children under 15 live by
single year of age, and how often their parents are away against others of the same age.

Each December, with the household life course on, the ``record`` stage counts

- the children under 15 by single year of age (0..14) and place (``CHILD_PLACES``: at home
  with both parents, with one parent while the other is away, left behind with every parent
  away, in a city with a migrant; :func:`count_children_by_age`, the rule of
  ``sim.core.state.child_place`` that the ``children_left_behind`` indicator sums), and
- the rural-hukou persons aged 15..64 by single year of age who are parents of a child under 15
  (the child's mother and her husband), at home and away (:func:`count_parents_by_age`).

The counts (agents) live in ``Recorder.children_by_age`` (years, 15, 4) and
``Recorder.parents_by_age`` (years, ages 15..64, [home, away]); years not recorded (or runs
without the life course) hold -1. Two tidy tables, in real persons, go to every run directory
(:func:`sim.io.output.write_run`):

- :func:`children_age_frame` (``children_ages.parquet``): year, age, children at each place,
  children left behind (one or both parents away, as the 2000 census and the 2005 1% survey
  count them) and their share of the children of that age.
- :func:`parent_age_frame` (``parent_ages.parquet``): year, age, rural persons, of whom
  parents, parents away, others away, and the share away of parents and of the others.

Summed over ages, the children left behind are the ``children_left_behind`` indicator (both
counted by ``record``), and those aged 0-5 over 0-14 are close to ``share_left_behind_under6``
(counted by the life course, before December's moves); the persons are those of
:mod:`sim.io.cohorts` (``tests/test_families_output.py``). The 2005 1% survey put 27% of the
children left behind at ages 0-5 and the rest spread over 6-17 much as rural children are
(``calibration/targets.toml``); the tables show where a run departs from that, and whether the
reason is who the parents are (their ages) or how often parents leave.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import HOME, NO_MOTHER, NO_PERSON, NO_YEAR, RURAL
from sim.core.state import child_place
from sim.io.cohorts import AGE_MIN, AT_HOME, AWAY, N_AGES

CHILD_AGES = 15  # children aged 0..14 (they enter the labour force at 15)
PLACES = ("home", "one_away", "behind", "city")  # sim.core.state.child_place codes 0..3
CHILDREN_AGE_COLUMNS = ("year", "age", *PLACES, "left_behind", "share_left_behind")
PARENT_AGE_COLUMNS = ("year", "age", "persons", "parents", "parents_away", "others_away",
                      "share_away_parents", "share_away_others")


@njit(cache=True, parallel=True)
def count_children_by_age(hh_start, p, hs, year):
    """Children under 15 in the households' tables by age this year (rows 0..14) and place
    (columns, :data:`PLACES`). Parallel over fixed chunks of households with partial integer
    counts (:mod:`sim.core.chunks`): the same with any number of threads."""
    n_hh = hh_start.shape[0] - 1
    part = np.zeros((N_CHUNKS, CHILD_AGES, len(PLACES)), np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n_hh)
        for h in range(lo, hi):
            if hs.n_children[h] == 0:
                continue
            for j in range(hs.child_by.shape[1]):
                b = hs.child_by[h, j]
                if b == NO_YEAR:
                    continue
                a = year - b
                if 0 <= a < CHILD_AGES:
                    part[c, a, child_place(h, j, hh_start, p, hs)] += 1
    return part.sum(axis=0)


@njit(cache=True, parallel=True)
def count_parents_by_age(hh_start, p, hs, year, age_min, n_ages):
    """Rural-hukou persons aged ``age_min`` .. ``age_min + n_ages - 1`` by single year of age
    who are parents of a child under 15 in their household's table (its mother, and her husband
    if he has a rural hukou): ``out[a - age_min, AT_HOME]`` at home, ``[.., AWAY]`` away
    (``loc != HOME``). Each parent counts once, whatever the number of children: a parent is
    counted from the mother's household (the mother, then her husband unless he is the mother
    of an earlier child there, which a man never is). Parallel over fixed chunks of households
    with partial integer counts (:mod:`sim.core.chunks`)."""
    n_hh = hh_start.shape[0] - 1
    part = np.zeros((N_CHUNKS, n_ages, 2), np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n_hh)
        for h in range(lo, hi):
            if hs.n_children[h] == 0:
                continue
            width = hs.child_by.shape[1]
            for j in range(width):
                b = hs.child_by[h, j]
                mo = hs.child_mother[h, j]
                if b == NO_YEAR or mo == NO_MOTHER or not 0 <= year - b < CHILD_AGES:
                    continue
                seen = False  # this mother counted already for an earlier child
                for k in range(j):
                    bk = hs.child_by[h, k]
                    if (bk != NO_YEAR and hs.child_mother[h, k] == mo
                            and 0 <= year - bk < CHILD_AGES):
                        seen = True
                        break
                if seen:
                    continue
                m = hh_start[h] + mo
                _count_parent(m, p, age_min, n_ages, part[c])
                if p.spouse[m] != NO_PERSON:
                    _count_parent(p.spouse[m], p, age_min, n_ages, part[c])
    return part.sum(axis=0)


@njit(cache=True, inline="always")
def _count_parent(i, p, age_min, n_ages, out):
    """Add person ``i`` to ``out`` by age and place if of rural hukou and of a counted age."""
    if p.hukou[i] != RURAL:
        return
    k = p.age[i] - age_min
    if 0 <= k < n_ages:
        out[k, 0 if p.loc[i] == HOME else 1] += 1


def empty_children(n_years: int) -> np.ndarray:
    """``Recorder.children_by_age`` before anything is recorded: (years, 15, 4), all -1."""
    return np.full((n_years, CHILD_AGES, len(PLACES)), -1, np.int64)


def empty_parents(n_years: int) -> np.ndarray:
    """``Recorder.parents_by_age`` before anything is recorded: (years, ages, 2), all -1."""
    return np.full((n_years, N_AGES, 2), -1, np.int64)


def _years(results, counts: np.ndarray) -> np.ndarray:
    """Row indices of the years recorded in ``counts`` (no -1 left)."""
    if counts is None or counts.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero((counts >= 0).all(axis=tuple(range(1, counts.ndim))))


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full_like(num, np.nan, dtype=np.float64), where=den > 0)


def children_age_frame(results):
    """Children under 15 by year, single year of age and place, in real persons (pandas
    DataFrame, long; empty for a run without the household life course)."""
    import pandas as pd

    counts = getattr(results.rec, "children_by_age", None)
    keep = _years(results, counts)
    c = counts[keep].astype(np.float64) * results.scale if keep.size else np.zeros(
        (0, CHILD_AGES, len(PLACES)))
    years = results.start_year + keep
    behind = c[:, :, 1] + c[:, :, 2]
    frame = pd.DataFrame({
        "year": np.repeat(years, CHILD_AGES).astype(np.int16),
        "age": np.tile(np.arange(CHILD_AGES), years.size).astype(np.int8),
        **{name: c[:, :, k].ravel() for k, name in enumerate(PLACES)},
        "left_behind": behind.ravel(),
        "share_left_behind": _share(behind, c.sum(axis=2)).ravel(),
    })
    return frame[list(CHILDREN_AGE_COLUMNS)]


def parent_age_frame(results):
    """Rural persons aged 15-64 by year and single year of age: parents of a child under 15,
    parents away, others away, and the shares away (pandas DataFrame, long, real persons;
    empty for a run without the household life course)."""
    import pandas as pd

    parents = getattr(results.rec, "parents_by_age", None)
    by_age = results.rec.by_age
    keep = _years(results, parents)
    keep = keep[(by_age[keep] >= 0).all(axis=(1, 2))] if keep.size else keep
    s = results.scale
    par = parents[keep].astype(np.float64) * s if keep.size else np.zeros((0, N_AGES, 2))
    allp = by_age[keep].astype(np.float64) * s if keep.size else np.zeros((0, N_AGES, 2))
    years = results.start_year + keep
    persons = allp.sum(axis=2)
    n_par = par.sum(axis=2)
    others_away = allp[:, :, AWAY] - par[:, :, AWAY]
    return pd.DataFrame({
        "year": np.repeat(years, N_AGES).astype(np.int16),
        "age": np.tile(np.arange(AGE_MIN, AGE_MIN + N_AGES), years.size).astype(np.int8),
        "persons": persons.ravel(),
        "parents": n_par.ravel(),
        "parents_away": par[:, :, AWAY].ravel(),
        "others_away": others_away.ravel(),
        "share_away_parents": _share(par[:, :, AWAY], n_par).ravel(),
        "share_away_others": _share(others_away, persons - n_par).ravel(),
    })[list(PARENT_AGE_COLUMNS)]


__all__ = ["AT_HOME", "AWAY", "CHILDREN_AGE_COLUMNS", "CHILD_AGES", "PARENT_AGE_COLUMNS",
           "PLACES", "children_age_frame", "count_children_by_age", "count_parents_by_age",
           "empty_children", "empty_parents", "parent_age_frame"]
