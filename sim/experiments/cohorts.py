"""A cohort view of migration for notebooks (issue 12, part 4).

>>> from sim.experiments.cohorts import cohort_table, migrant_age_table   # doctest: +SKIP
>>> res = Simulation(agents=20_000, years=5).run()                        # doctest: +SKIP
>>> cohort_table(res).query("cohort == '1965-69'")                        # doctest: +SKIP

The same tables a run directory holds as ``cohorts.parquet`` and ``migrant_ages.parquet``; they
are read from the December counts of rural-hukou persons by single year of age, at home and
away, that the ``record`` stage keeps (see :mod:`sim.io.cohorts` for the definitions). With the
household life course, :func:`children_age_table` and :func:`parent_age_table` (the run
directory's ``children_ages.parquet`` and ``parent_ages.parquet``, :mod:`sim.io.families`) show
the children left behind by their age and how often their parents are away.
"""

from __future__ import annotations

from sim.io.cohorts import AGE_MAX, AGE_MIN, COHORT_YEARS, cohort_frame, migrant_age_frame
from sim.io.families import children_age_frame, parent_age_frame
from sim.io.results import Results


def cohort_table(results: Results):
    """Share of each five-year birth cohort away, by calendar year (pandas DataFrame, long:
    ``cohort`` such as ``"1960-64"``, ``year``, ``age_min`` and ``age_max`` of the cohort's
    members within 15-64 that year, ``persons`` (real persons), ``away``, ``share_away``).
    Birth year = calendar year - age; only (cohort, year) pairs with persons are listed."""
    return cohort_frame(results)


def migrant_age_table(results: Results):
    """Migrants (rural hukou, away from home) by single year of age 15-64 and calendar year
    (pandas DataFrame: ``year``, ``age``, ``migrants`` in real persons, ``share_of_migrants``
    of the year's migrants aged 15-64)."""
    return migrant_age_frame(results)


def children_age_table(results: Results):
    """Children under 15 by calendar year, single year of age (0-14) and place (pandas
    DataFrame: ``year``, ``age``, ``home``, ``one_away``, ``behind``, ``city`` in real persons,
    ``left_behind`` = one_away + behind, ``share_left_behind`` of the children of that age);
    empty without the household life course."""
    return children_age_frame(results)


def parent_age_table(results: Results):
    """Rural persons aged 15-64 by calendar year and single year of age (pandas DataFrame:
    ``year``, ``age``, ``persons``, ``parents`` of a child under 15, ``parents_away``,
    ``others_away``, ``share_away_parents``, ``share_away_others``); empty without the
    household life course."""
    return parent_age_frame(results)


__all__ = ["AGE_MAX", "AGE_MIN", "COHORT_YEARS", "children_age_table", "cohort_table",
           "migrant_age_table", "parent_age_table"]
