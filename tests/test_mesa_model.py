"""The Mesa model over the fast core (``sim.mesa.fast.MigrationModel``) and the reference model's
Mesa plumbing."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pytest

from sim import Params, Simulation
from sim.mesa.fast import MigrationModel
from sim.mesa.reference import KEY_INDICATORS, ReferenceModel
from sim.mesa.support import NOT_IMPLEMENTED, refuse_unsupported

SMALL = {"agents": 5000, "start_year": 2000, "years": 1, "threads": 1}
REPORTERS = (
    "migrant_stock",
    "share_to_six_destinations",
    "unemployment_rate",
    "outflow",
    "returnflow",
    "migrants_by_province",
    "top_provinces",
)


def test_model_steps_and_collects():
    m = MigrationModel(seed=3, **SMALL)
    for _ in range(3):
        m.step()
    assert m.steps == 3 and m.sim.t == 3 and m.running
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 3
    for r in REPORTERS:
        assert r in df.columns
    assert list(df["month"]) == [1, 2, 3]
    assert (df["migrant_stock"] > 0).all()
    by_prov = df["migrants_by_province"].iloc[-1]
    assert len(by_prov) == 31
    assert sum(by_prov.values()) == pytest.approx(df["migrant_stock"].iloc[-1])


def test_running_false_at_end_and_equal_to_direct_simulation():
    m = MigrationModel(seed=4, hukou_penalty_small=0.5, **SMALL)
    while m.running:
        m.step()
    assert m.steps == 12
    df = m.datacollector.get_model_vars_dataframe()
    sim = Simulation({"hukou_penalty_small": 0.5}, seed=4, **SMALL)
    ser = sim.run().series()
    np.testing.assert_array_equal(df["migrant_stock"].to_numpy(), ser["migrant_stock", "total"])
    np.testing.assert_array_equal(df["outflow"].to_numpy(), ser["outflow", "total"])
    np.testing.assert_array_equal(df["returnflow"].to_numpy(), ser["returnflow", "total"])
    np.testing.assert_allclose(
        df["unemployment_rate"].to_numpy(), ser["unemployment_rate", "migrants"], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        df["share_to_six_destinations"].to_numpy(),
        ser["share_to_six_destinations", "total"],
        rtol=0,
        atol=1e-12,
    )
    gd = df["migrants_by_province"].iloc[-1]["Guangdong"]
    assert gd == pytest.approx(ser["migrant_stock", "prov:Guangdong"][-1])


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="hukou_penalty_smal"):
        MigrationModel(seed=1, hukou_penalty_smal=0.5, **SMALL)


@pytest.mark.parametrize("name", NOT_IMPLEMENTED)
def test_rules_the_reference_lacks_are_refused(name):
    """Each rule the reference model lacks is refused before it builds, by name, when its
    parameter is above 0 (a model that silently ignored it would not be the same model)."""
    on = True if isinstance(getattr(Params({}).at(2000), name), bool) else 0.05
    with pytest.raises(ValueError, match=f"does not implement {name} > 0"):
        refuse_unsupported(Params({name: on}), 2000, 1)
    refuse_unsupported(Params({}), 2000, 1)  # the defaults are all supported


def test_batch_run_over_a_lever():
    rows = mesa.batch_run(
        MigrationModel,
        parameters={**SMALL, "seed": 2, "hukou_penalty_small": [0.0, 2.0]},
        iterations=1,
        max_steps=12,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 2
    assert sorted(r["hukou_penalty_small"] for r in rows) == [0.0, 2.0]
    for r in rows:
        assert r["month"] == 12 and r["year"] == 2000  # the final month
        for k in REPORTERS:
            assert k in r
    direct = Simulation({"hukou_penalty_small": 2.0}, seed=2, **SMALL).run().series()
    row = next(r for r in rows if r["hukou_penalty_small"] == 2.0)
    assert row["migrant_stock"] == direct["migrant_stock", "total"][-1]


def test_reference_model_is_a_mesa_model():
    m = ReferenceModel(agents=1000, seed=1, start_year=2000, years=1)
    from sim.core.state import VACANT
    from sim.mesa.agents import Household, Person

    people = m.agents_by_type[Person]
    # one agent per person slot: 1000 persons plus vacant places for the cohorts to come
    assert len(people) >= 1000
    assert sum(x.hukou != VACANT for x in people) == 1000
    assert len(m.agents_by_type[Household]) == len(m.households)
    m.run()
    assert not m.running and m.t == 12
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 12
    ser = m.series()
    assert set(ser) == set(KEY_INDICATORS)
    stock = ser["migrant_stock", "total"] / m.scale
    assert np.all(stock == np.round(stock)) and stock[-1] > 0
    # every person in one place; households own their members
    assert sum(len(h.members) for h in m.households) == len(people)


def test_reference_life_course_against_core_at_the_same_seed():
    """The reference model's household life course (``sim.mesa.families``) starts from the
    core's couples and children (placed by the core's kernels, so the first check is of the
    copy into Mesa objects, not of the placing rules), places the year's births
    (``cohort_count``, tested on its own in ``test_life_course.py``), and marries, houses
    couples and admits entrants in the core's orders of magnitude. The rules' statistical
    agreement is ``test_docking.py``'s."""
    from sim.core.encodings import NO_MOTHER, NO_PERSON, NO_YEAR
    from sim.mechanisms.demography.births import cohort_count

    kw = {"agents": 3000, "seed": 2, "start_year": 2000, "years": 3}
    sim = Simulation(threads=1, **kw)
    m = ReferenceModel(**kw)
    assert m.families
    idx = {id(x): i for i, x in enumerate(m.persons)}
    spouse = [idx[id(x.spouse)] if x.spouse is not None else NO_PERSON for x in m.persons]
    np.testing.assert_array_equal(spouse, sim.persons.spouse)
    hs, hh_start = sim.households, sim.places.hh_start
    for h, house in enumerate(m.households):
        core = sorted(
            (int(b), int(mo)) for b, mo in zip(hs.child_by[h], hs.child_mother[h], strict=True)
            if b != NO_YEAR
        )
        ref = sorted(
            (c.birth_year, idx[id(c.mother)] - int(hh_start[h]) if c.mother else NO_MOTHER)
            for c in house.children
        )
        assert ref == core
    assert sum(len(h.children) for h in m.households) > 500
    sim.run()
    m.run()
    sc, rec = sim.rec.scalars, m.life_rec
    for k, year in enumerate((2001, 2002)):
        n = cohort_count(m.projection, year + 15, m.scale, m.seed)
        t = 12 * (k + 1)
        assert rec["births"][k] + rec["births_unplaced"][k] == n
        assert sc["births"][t] + sc["births_unplaced"][t] == n
        assert rec["births"][k] > 0.9 * n
    entrants = ("own_household", "new_household", "other_household", "same_province",
                "other_province")
    for name, lo, hi in (("marriages", 0.5, 2.0), ("marriage_moves", 0.5, 2.0)):
        ref_n, core_n = sum(rec[name]), sum(sc[name][t] for t in (12, 24))
        assert core_n > 10 and lo < ref_n / core_n < hi, (name, ref_n, core_n)
    ref_in = sum(sum(rec[f"entrants_{e}"]) for e in entrants)
    core_in = sum(sc[f"entrants_{e}"][t] for e in entrants for t in (12, 24))
    assert core_in > 50 and abs(ref_in - core_in) <= max(3, 0.1 * core_in)
    for y in range(3):
        assert rec["married_women"][y] == pytest.approx(sc["married_women"][12 * y + 11], rel=0.05)
    assert sum(rec["couples_one_away"]) > 0.5 * sum(sc["couples_one_away"][11::12])


def test_reference_college_bound_leave_at_fifteen():
    """In the reference model, as in the core (``births.college_exits``), the children reaching
    15 either leave for tertiary schooling with the cohort's exit share or enter; 0.5 here, so
    the binomial check (4 standard errors) has power at 3,000 persons."""
    params = {"tertiary_exit_share": {"1985": 0.01, "1995": 0.03, "2000": 0.5}}
    m = ReferenceModel(params, agents=3000, seed=2, start_year=2000, years=2)
    due = sum(c.birth_year == 2001 - 15 for h in m.households for c in h.children)
    m.run()
    rec = m.life_rec
    entered = sum(rec[k][0] for k in rec if k.startswith("entrants_"))
    assert entered + rec["tertiary_exits"][0] == due > 40
    assert abs(rec["tertiary_exits"][0] - 0.5 * due) < 4 * math.sqrt(0.25 * due)
    assert not any(c.birth_year == 2001 - 15 for h in m.households for c in h.children)


def test_reference_model_without_the_life_course():
    """With ``life_course`` off the reference model runs version 0.6 households (a count of
    children, no couples)."""
    m = ReferenceModel({"life_course": False}, agents=1000, seed=3, start_year=2000, years=1)
    assert not m.families
    assert all(x.spouse is None for x in m.persons)
    assert sum(h.n_children for h in m.households) > 100
    assert not any(h.children for h in m.households)
    m.run()
    assert m.series()["children_left_behind", "total"][-1] > 0
