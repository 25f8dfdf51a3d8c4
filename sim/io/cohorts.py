"""A cohort view of migration (issue 12, part 4): who is away, by single year of age and birth
cohort, once a year.

Each December the ``record`` stage counts the rural-hukou persons aged 15..64 by single year of
age, at home and away (:func:`count_by_age`; away is ``loc != HOME``, the definition of the
``migrant_stock`` indicator: vacant slots and converted, urban-hukou persons are not counted).
The counts (agents) live in ``Recorder.by_age`` (years, ages, [home, away]); years not yet
recorded hold -1. Two tidy tables are read from them, both in real persons (agents times the
scale), and written to every run directory by :func:`sim.io.output.write_run`:

- :func:`cohort_frame` (``cohorts.parquet``): per five-year birth cohort (``"1960-64"``: born
  1960-1964, birth year = calendar year - age) and calendar year, the persons aged 15-64, of
  whom away, and the share away. ``age_min`` and ``age_max`` are the ages the cohort's members
  have that year within 15..64: a cohort at the edge of the range (entering at 15, or leaving at
  65) is only partly covered. Only (cohort, year) pairs with persons are listed.
- :func:`migrant_age_frame` (``migrant_ages.parquet``): migrants by single year of age and
  calendar year, and their share of the year's migrants aged 15-64.

With the default ``exit_age`` of 65 every person of the model is aged 15..64, so the persons of a
year summed over ages equal ``rural_labour_force`` and the migrants ``migrant_stock`` (December).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.encodings import HOME, RURAL

AGE_MIN = 15  # youngest age counted (entry to the working-age population)
AGE_MAX = 64  # oldest age counted (NBS working age 15-64)
N_AGES = AGE_MAX - AGE_MIN + 1
COHORT_YEARS = 5  # width of a birth cohort
AT_HOME, AWAY = 0, 1  # last axis of Recorder.by_age

COHORT_COLUMNS = ("cohort", "year", "age_min", "age_max", "persons", "away", "share_away")
MIGRANT_AGE_COLUMNS = ("year", "age", "migrants", "share_of_migrants")


@njit(cache=True)
def count_by_age(age, hukou, loc, age_min, n_ages):
    """Rural-hukou persons aged ``age_min`` .. ``age_min + n_ages - 1`` by single year of age:
    ``out[a - age_min, AT_HOME]`` at home, ``out[a - age_min, AWAY]`` away (``loc != HOME``).
    Vacant slots, converted (urban-hukou) persons and other ages are not counted. Serial, one
    pass over the person arrays."""
    out = np.zeros((n_ages, 2), np.int64)
    for i in range(age.shape[0]):
        if hukou[i] != RURAL:
            continue
        k = age[i] - age_min
        if k < 0 or k >= n_ages:
            continue
        if loc[i] == HOME:
            out[k, 0] += 1
        else:
            out[k, 1] += 1
    return out


def empty_by_age(n_years: int) -> np.ndarray:
    """The recorder's array before anything is recorded: (years, ages, 2), all -1."""
    return np.full((n_years, N_AGES, 2), -1, np.int64)


def cohort_label(first_birth_year: int) -> str:
    """``1960`` -> ``"1960-64"``: the five birth years of a cohort."""
    return f"{first_birth_year}-{(first_birth_year + COHORT_YEARS - 1) % 100:02d}"


def _recorded(results) -> tuple[np.ndarray, np.ndarray]:
    """Calendar years with a December record and their counts in real persons
    (years, ages, [home, away])."""
    by_age = getattr(results.rec, "by_age", None)
    if by_age is None or by_age.size == 0:
        return np.zeros(0, np.int64), np.zeros((0, N_AGES, 2))
    keep = (by_age >= 0).all(axis=(1, 2))
    years = results.start_year + np.flatnonzero(keep)
    return years.astype(np.int64), by_age[keep].astype(np.float64) * results.scale


def cohort_frame(results):
    """Share of each five-year birth cohort away, by calendar year (pandas DataFrame, long:
    cohort, year, age_min, age_max, persons, away, share_away; persons in real persons)."""
    import pandas as pd

    years, counts = _recorded(results)
    ages = np.arange(AGE_MIN, AGE_MAX + 1)
    birth = years[:, None] - ages[None, :]  # (years, ages)
    first = birth // COHORT_YEARS * COHORT_YEARS
    rows = []
    for k, year in enumerate(years):
        for c in np.unique(first[k]):
            sel = first[k] == c
            persons = float(counts[k, sel].sum())
            if persons <= 0:
                continue
            away = float(counts[k, sel, AWAY].sum())
            rows.append((cohort_label(int(c)), int(year), int(ages[sel].min()),
                         int(ages[sel].max()), persons, away, away / persons))
    frame = pd.DataFrame(rows, columns=list(COHORT_COLUMNS))
    frame = frame.astype({"year": np.int16, "age_min": np.int8, "age_max": np.int8,
                          "persons": np.float64, "away": np.float64, "share_away": np.float64})
    frame["cohort"] = frame["cohort"].astype(str)
    return frame.sort_values(["cohort", "year"], kind="stable").reset_index(drop=True)


def migrant_age_frame(results):
    """Migrants by single year of age (15..64) and calendar year (pandas DataFrame: year, age,
    migrants in real persons, share_of_migrants of the year's migrants aged 15-64; NaN in a
    year without migrants)."""
    import pandas as pd

    years, counts = _recorded(results)
    away = counts[:, :, AWAY]
    total = away.sum(axis=1, keepdims=True)
    share = np.divide(away, total, out=np.full_like(away, np.nan), where=total > 0)
    return pd.DataFrame({
        "year": np.repeat(years, N_AGES).astype(np.int16),
        "age": np.tile(np.arange(AGE_MIN, AGE_MAX + 1), years.size).astype(np.int8),
        "migrants": away.ravel(),
        "share_of_migrants": share.ravel(),
    })


__all__ = ["AGE_MAX", "AGE_MIN", "AT_HOME", "AWAY", "COHORT_YEARS", "N_AGES", "cohort_frame",
           "cohort_label", "count_by_age", "empty_by_age", "migrant_age_frame"]
