"""Children and parents by age (issue 12): the December counts, their tables and the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.encodings import HOME, NO_MOTHER, NO_PERSON, NO_YEAR, RURAL
from sim.core.state import families
from sim.experiments.cohorts import children_age_table, migrant_age_table, parent_age_table
from sim.io.cohorts import AGE_MIN, AWAY, N_AGES
from sim.io.families import (
    CHILD_AGES,
    CHILDREN_AGE_COLUMNS,
    PARENT_AGE_COLUMNS,
    PLACES,
    count_parents_by_age,
)
from sim.io.files import CHILDREN_AGES
from sim.io.output import write_run
from sim.io.results import Results
from sim.mechanisms.demography.births import children_by_place
from tests.test_cohorts import _hand_results as cohort_hand_results

AGENTS, SEED, START, YEARS = 4000, 7, 1995, 2


@pytest.fixture(scope="module")
def run():
    model = sim.Simulation({}, agents=AGENTS, seed=SEED, start_year=START, years=YEARS)
    return model, model.run()


def _parents_by_hand(model) -> np.ndarray:
    """Parents of a child under 15 by age, at home and away, from the child table in Python."""
    p, hs, hh_start, year = model.persons, model.households.core, model.places.hh_start, \
        model.year
    parent = set()
    for h in range(hh_start.size - 1):
        for b, mo in zip(hs.child_by[h], hs.child_mother[h], strict=True):
            if b == NO_YEAR or mo == NO_MOTHER or not 0 <= year - b < CHILD_AGES:
                continue
            m = int(hh_start[h] + mo)
            parent.add(m)
            if p.spouse[m] != NO_PERSON:
                parent.add(int(p.spouse[m]))
    out = np.zeros((N_AGES, 2), np.int64)
    for i in parent:
        if p.hukou[i] == RURAL and AGE_MIN <= p.age[i] < AGE_MIN + N_AGES:
            out[p.age[i] - AGE_MIN, int(p.loc[i] != HOME)] += 1
    return out


def test_counts_agree_with_the_child_indicators_and_a_count_by_hand(run):
    model, res = run
    assert families(model.pars)
    kids = res.rec.children_by_age
    assert kids.shape == (YEARS, CHILD_AGES, len(PLACES)) and (kids >= 0).all()
    # the last December is the end state: ages from the child table, places summed by band
    hs, hh_start = model.households.core, model.places.hh_start
    by = hs.child_by[hs.child_by != NO_YEAR]
    ages = model.year - by
    np.testing.assert_array_equal(kids[-1].sum(axis=1),
                                  np.bincount(ages[ages < CHILD_AGES], minlength=CHILD_AGES))
    bands = children_by_place(hh_start, model.persons.core, hs, model.year)
    np.testing.assert_array_equal(kids[-1, :6].sum(axis=0), bands[0])
    np.testing.assert_array_equal(kids[-1, 6:].sum(axis=0), bands[1])
    np.testing.assert_array_equal(res.rec.parents_by_age[-1], _parents_by_hand(model))
    # every year: the tables sum to the indicators
    tab = children_age_table(res)
    behind = res.annual("children_left_behind")
    under6 = res.annual("share_left_behind_under6")
    for k, year in enumerate(range(START, START + YEARS)):
        t = tab[tab["year"] == year]
        assert list(t["age"]) == list(range(CHILD_AGES))
        assert t["left_behind"].sum() == pytest.approx(behind[k])
        # the indicator is counted at the life-course stage, before December's moves
        assert t["left_behind"][t["age"] < 6].sum() / t["left_behind"].sum() == pytest.approx(
            under6[k], abs=0.02)
        assert (t["left_behind"] == t["one_away"] + t["behind"]).all()


def test_parent_table_splits_the_persons_and_the_migrants(run):
    _, res = run
    par, mig = parent_age_table(res), migrant_age_table(res)
    assert list(par.columns) == list(PARENT_AGE_COLUMNS)
    assert len(par) == YEARS * N_AGES
    np.testing.assert_allclose(par["parents_away"] + par["others_away"], mig["migrants"])
    by_age = res.rec.by_age.astype(float) * res.scale
    np.testing.assert_allclose(par["persons"], by_age.sum(axis=2).ravel())
    assert (par["parents"] <= par["persons"]).all() and (par["others_away"] >= 0).all()
    assert par["parents"].sum() > 0 and par["parents_away"].sum() > 0
    share = par["share_away_parents"].dropna()
    assert ((share >= 0) & (share <= 1)).all()


def _hand_results() -> Results:
    """The cohort tests' two recorded years (2000, 2001; scale 10), with the children and
    parents of 2000 only: at age 0, 3 children at home and 1 behind; at age 7, 2 with one parent
    away; at age 30, 5 rural persons at home and 3 away, of whom 4 parents (1 away)."""
    res = cohort_hand_results()
    rec = res.rec
    rec.by_age[0, 30 - AGE_MIN] = (5, 3)
    rec.children_by_age[0] = 0
    rec.children_by_age[0, 0] = (3, 0, 1, 0)
    rec.children_by_age[0, 7] = (0, 2, 0, 0)
    rec.parents_by_age[0] = 0
    rec.parents_by_age[0, 30 - AGE_MIN] = (3, 1)
    return res


def test_tables_by_hand():
    res = _hand_results()
    kids = children_age_table(res)
    assert list(kids.columns) == list(CHILDREN_AGE_COLUMNS) and len(kids) == CHILD_AGES
    row0, row7 = kids.iloc[0], kids.iloc[7]
    assert (row0["home"], row0["behind"], row0["left_behind"]) == (30.0, 10.0, 10.0)
    assert row0["share_left_behind"] == pytest.approx(0.25)
    assert row7["one_away"] == 20.0 and row7["share_left_behind"] == 1.0
    assert np.isnan(kids.iloc[3]["share_left_behind"])  # no child of 3
    par = parent_age_table(res)
    row = par[par["age"] == 30].iloc[0]
    assert (row["persons"], row["parents"], row["parents_away"], row["others_away"]) == (
        80.0, 40.0, 10.0, 20.0)
    assert row["share_away_parents"] == pytest.approx(0.25)
    assert row["share_away_others"] == pytest.approx(0.5)
    assert set(par["year"]) == {2000}


def test_kernel_counts_each_parent_once(run):
    model, _ = run
    out = count_parents_by_age(model.places.hh_start, model.persons.core, model.households.core,
                               model.year, AGE_MIN, N_AGES)
    p = model.persons
    rural = p.hukou == RURAL
    away = np.bincount(p.age[rural & (p.loc != HOME)] - AGE_MIN, minlength=N_AGES)[:N_AGES]
    assert (out[:, AWAY] <= away).all()


def test_without_the_life_course_the_tables_are_empty(tmp_path):
    model = sim.Simulation({"life_course": False}, agents=1500, seed=3, start_year=2000,
                           years=1)
    res = model.run()
    assert not families(model.pars)
    assert children_age_table(res).empty and parent_age_table(res).empty
    out = write_run(res, tmp_path / "run", simulation=model)
    assert pd.read_parquet(out / CHILDREN_AGES).empty
    assert (out / "children.png").is_file()
