"""Minimum-wage levels from their published source (issue 14: drivers after 2006).

The baseline's ``min_wage_ratio`` (minimum wage relative to the province's average urban wage)
is 0.295 from 2004 and 0.257 from 2009: the means over 30 provinces of Xing & Xu (2016),
table 4; from 2011 it follows ``sim/data/min_wage_ratio.csv`` (provincial minimum wages over
average wages, scaled to Xing & Xu's 2010 level). The scenario ``min_wage_by_province`` gives
each province its own row of that table, and the national path relative to 2010 after.
These tests check that they agree (one source, no typo in either), that the path steps at its
documents and its data, and that a province's ratio reaches its destinations and no others.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sim.core.geography import load_geography
from sim.core.policies import documents_for
from sim.engine.registry import Params
from sim.engine.yearly import year_quantities
from sim.experiments.scenario import load_scenario

GEO = load_geography()
LAND = np.linspace(1.0, 3.0, GEO.n_prov)
SCENARIO = "min_wage_by_province"


@pytest.fixture(scope="module")
def by_province() -> dict:
    """Province name -> its yearly path of ``min_wage_ratio`` in the scenario."""
    places = load_scenario(SCENARIO).to_params().by_place()
    assert all(k.startswith("by_province.") and k.endswith(".min_wage_ratio") for k in places)
    return {k.split(".")[1]: v for k, v in places.items()}


DATA = Path(__file__).resolve().parents[1] / "sim" / "data" / "min_wage_ratio.csv"


def _series() -> dict[int, float]:
    with DATA.open(encoding="utf-8") as f:
        return {int(r["year"]): float(r["ratio"]) for r in csv.DictReader(f)}


def test_baseline_path_steps_at_documents_then_follows_the_data():
    p, data = Params(), _series()
    assert p.at(2003).min_wage_ratio == 0.3
    assert p.at(2004).min_wage_ratio == 0.295 and p.at(2008).min_wage_ratio == 0.295
    assert p.at(2009).min_wage_ratio == 0.257  # the freeze of November 2008
    assert p.at(2010).min_wage_ratio == data[2010] == 0.257  # Xing & Xu's 2010 level
    assert all(p.at(y).min_wage_ratio == data[y] for y in range(2011, 2025))
    assert all(p.at(y).min_wage_ratio == data[2024] for y in range(2025, 2036))  # held
    assert {2004, 2009} <= {d.effective_year for d in documents_for("min_wage_ratio")}


def test_data_first_grade_and_model_concepts_move_together():
    """The model's column is the first-grade series times one factor (0.257 / 0.306, its 2010
    level over the first-grade one), so the two share their path to the rounding."""
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    k = 0.257 / 0.306
    for r in rows:
        assert abs(float(r["ratio"]) - k * float(r["first_grade_ratio"])) <= 1.5e-3, r["year"]


def test_provinces_average_to_the_national_path(by_province):
    """Unweighted mean over the 30 provinces of the table = the national default (to the
    table's three decimals); Tibet is not in the table and keeps the national path."""
    assert len(by_province) == 30 and "Tibet" not in by_province
    nat = Params()
    for year in (2004, 2009):
        vals = [path.at(year) for path in by_province.values()]
        assert abs(np.mean(vals) - nat.at(year).min_wage_ratio) < 5e-4, year
    for path in by_province.values():  # before 2004 every province keeps the national path
        assert all(path.at(y) == nat.at(y).min_wage_ratio for y in range(1985, 2004))
    for year in range(2011, 2036):  # then its 2010 ratio times the national path from 2010
        rel = nat.at(year).min_wage_ratio / 0.257
        for name, path in by_province.items():
            assert abs(path.at(year) - round(path.at(2010) * rel, 3)) < 1e-12, (name, year)


def test_a_province_ratio_reaches_its_destinations_only():
    base = load_scenario("baseline_2025").to_params()
    scn = load_scenario(SCENARIO).to_params()
    q0 = year_quantities(GEO, base.at(2010), 2010, LAND)
    q1 = year_quantities(GEO, scn.at(2010), 2010, LAND)
    ratio = q1.minw / q0.minw
    for prov, expected in (("Beijing", 0.173), ("Hubei", 0.332), ("Tibet", 0.257)):
        dests = GEO.dest_prov == GEO.prov_name.index(prov)
        assert dests.any()
        np.testing.assert_allclose(ratio[dests], expected / 0.257, rtol=1e-12)
