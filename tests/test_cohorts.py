"""The cohort view of migration (issue 12, part 4): counting by age, the two tables, the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.encodings import HOME, RURAL, URBAN, VACANT
from sim.experiments.cohorts import (
    children_age_table,
    cohort_table,
    migrant_age_table,
    parent_age_table,
)
from sim.io.cohorts import AGE_MAX, AGE_MIN, AWAY, N_AGES, cohort_label, count_by_age
from sim.io.files import CHILDREN_AGES, COHORTS, MIGRANT_AGES, PARENT_AGES
from sim.io.output import write_run
from sim.io.results import Recorder, Results

AGENTS, SEED, START, YEARS = 3000, 5, 1990, 2


def _counts(rows):
    """count_by_age over persons given as (age, hukou, loc)."""
    age = np.array([r[0] for r in rows], np.int8)
    hukou = np.array([r[1] for r in rows], np.int8)
    loc = np.array([r[2] for r in rows], np.int16)
    return count_by_age(age, hukou, loc, AGE_MIN, N_AGES)


def test_kernel_counts_rural_persons_by_age_at_home_and_away():
    out = _counts([
        (15, RURAL, HOME), (15, RURAL, 3), (15, RURAL, 0),
        (20, RURAL, HOME), (20, URBAN, 0),  # converted: not a migrant, not counted
        (30, VACANT, HOME),  # an empty slot
        (64, RURAL, 2), (65, RURAL, 1), (14, RURAL, HOME),  # 65 and 14 lie outside 15..64
    ])
    assert out.shape == (N_AGES, 2) and out.dtype == np.int64
    want = np.zeros((N_AGES, 2), np.int64)
    want[15 - AGE_MIN] = (1, 2)
    want[20 - AGE_MIN] = (1, 0)
    want[64 - AGE_MIN] = (0, 1)
    np.testing.assert_array_equal(out, want)
    assert _counts([(40, URBAN, HOME), (40, VACANT, HOME)]).sum() == 0


def _hand_results() -> Results:
    """Two recorded years (2000, 2001), scale 10: in 2000, age 20 has 1 at home and 3 away,
    age 24 has 2 at home; in 2001, age 21 has 4 at home; nothing else."""
    rec = Recorder(24, 2)
    rec.by_age[:] = 0
    rec.by_age[0, 20 - AGE_MIN] = (1, 3)
    rec.by_age[0, 24 - AGE_MIN] = (2, 0)
    rec.by_age[1, 21 - AGE_MIN] = (4, 0)
    return Results(rec=rec, start_year=2000, scale=10.0, dest_name=("a", "b"),
                   dest_prov=np.array([0, 1]), dest_tier=np.array([0, 1]),
                   dest_is_six=np.array([True, False]), prov_name=("p0", "p1"),
                   prov_region=np.array([0, 1]), initial_stock=0)


def test_cohort_table_by_hand():
    tab = cohort_table(_hand_results())
    assert list(tab.columns) == ["cohort", "year", "age_min", "age_max", "persons", "away",
                                 "share_away"]
    # 2000: born 1980 (age 20) and 1976 (age 24); 2001: born 1980 (age 21)
    got = {(r.cohort, r.year): (r.age_min, r.age_max, r.persons, r.away, r.share_away)
           for r in tab.itertuples()}
    assert got == {
        ("1980-84", 2000): (16, 20, 40.0, 30.0, 0.75),  # born 1980-84 are aged 16..20 in 2000
        ("1975-79", 2000): (21, 25, 20.0, 0.0, 0.0),
        ("1980-84", 2001): (17, 21, 40.0, 0.0, 0.0),
    }
    assert cohort_label(1920) == "1920-24" and cohort_label(2015) == "2015-19"
    assert cohort_label(1995) == "1995-99" and cohort_label(2000) == "2000-04"


def test_migrant_age_table_by_hand():
    tab = migrant_age_table(_hand_results())
    assert list(tab.columns) == ["year", "age", "migrants", "share_of_migrants"]
    assert len(tab) == 2 * N_AGES
    y0 = tab[tab["year"] == 2000].set_index("age")
    assert y0.loc[20, "migrants"] == 30.0 and y0.loc[20, "share_of_migrants"] == 1.0
    assert y0["migrants"].sum() == 30.0
    assert tab[tab["year"] == 2001]["share_of_migrants"].isna().all()  # no migrants that year


def test_unrecorded_years_are_left_out():
    res = _hand_results()
    res.rec.by_age[1] = -1  # a run stopped before its second December
    assert set(cohort_table(res)["year"]) == {2000}
    assert set(migrant_age_table(res)["year"]) == {2000}


@pytest.fixture(scope="module")
def run():
    model = sim.Simulation({}, agents=AGENTS, seed=SEED, start_year=START, years=YEARS)
    return model, model.run()


def test_recorded_in_december_and_consistent_with_the_indicators(run):
    model, res = run
    years = np.arange(START, START + YEARS)
    by_age = res.rec.by_age
    assert by_age.shape == (YEARS, N_AGES, 2) and (by_age >= 0).all()
    # the last December is the state at the end of the run
    p = model.persons
    rural = p.hukou == RURAL
    np.testing.assert_array_equal(
        by_age[-1, :, AWAY], np.bincount(p.age[rural & (p.loc != HOME)] - AGE_MIN,
                                         minlength=N_AGES)[:N_AGES])
    ages = migrant_age_table(res)
    cohorts = cohort_table(res)
    stock = res.annual("migrant_stock")
    labour = res.annual("rural_labour_force")
    assert stock.min() > 0
    for k, year in enumerate(years):
        a = ages[ages["year"] == year]
        c = cohorts[cohorts["year"] == year]
        assert list(a["age"]) == list(range(AGE_MIN, AGE_MAX + 1))
        assert a["migrants"].sum() == pytest.approx(stock[k])  # every migrant is aged 15..64
        assert a["share_of_migrants"].sum() == pytest.approx(1.0)
        assert c["persons"].sum() == pytest.approx(labour[k])  # working-age rural hukou
        assert c["away"].sum() == pytest.approx(stock[k])
    assert ((cohorts["share_away"] >= 0) & (cohorts["share_away"] <= 1)).all()
    assert (cohorts["persons"] > 0).all()
    # birth cohort = year - age: the cohort's birth years hold the ages it covers
    first = cohorts["cohort"].str[:4].astype(int)
    assert ((cohorts["year"] - cohorts["age_max"]) >= first).all()
    assert ((cohorts["year"] - cohorts["age_min"]) <= first + 4).all()
    assert (cohorts["age_min"] >= AGE_MIN).all() and (cohorts["age_max"] <= AGE_MAX).all()
    assert set(first % 5) == {0}


def test_run_directory_holds_the_tables_and_the_plot(run, tmp_path):
    model, res = run
    out = write_run(res, tmp_path / "run", simulation=model)
    pd.testing.assert_frame_equal(pd.read_parquet(out / COHORTS), cohort_table(res))
    pd.testing.assert_frame_equal(pd.read_parquet(out / MIGRANT_AGES), migrant_age_table(res))
    assert (out / "cohorts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the families tables and plot (sim.io.families; tests/test_families_output.py)
    kids, par = children_age_table(res), parent_age_table(res)
    assert not kids.empty and not par.empty
    pd.testing.assert_frame_equal(pd.read_parquet(out / CHILDREN_AGES), kids)
    pd.testing.assert_frame_equal(pd.read_parquet(out / PARENT_AGES), par)
    assert (out / "children.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # batches write no plots but the tables all the same
    bare = write_run(res, tmp_path / "bare", plots=False)
    assert {COHORTS, MIGRANT_AGES, CHILDREN_AGES, PARENT_AGES} <= {p.name for p in bare.iterdir()}
    assert not (bare / "cohorts.png").exists()
