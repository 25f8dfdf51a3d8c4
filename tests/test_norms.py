"""The women's migration experience and the female cost of moving (``decisions.norms``).

Counts by hand first; then the rule in a run: the cost is recomputed each January from the
state, it falls as women leave, and a stronger effect feminises the stock (20,000 agents, fixed
seed, common random numbers; tolerances stated where used).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import FEMALE, MALE, NO_YEAR, RURAL, URBAN, VACANT
from sim.core.state import PERSON_FIELDS, Persons
from sim.engine.registry import Params
from sim.mechanisms.decisions import norms


def _core(age, sex, hukou, county, first):
    """Core person state, each person a household of one in ``county``."""
    p = Persons.allocate(len(age), PERSON_FIELDS)
    p.age[:], p.sex[:], p.hukou[:] = age, sex, hukou
    p.first_year = first
    p.hh = np.arange(len(age))
    p.hh_county[:] = county
    return p.core


def _persons(rows):
    """Core person state from rows of (age, sex, hukou, county, first_year)."""
    return _core(*np.array(rows, dtype=np.int64).T)


def test_counts_by_hand():
    """Only rural-hukou women aged 15-39 count, by the province of their home county; those
    with a first departure are the experienced."""
    county_prov = np.array([0, 0, 1, 2], np.int32)
    rows = [
        (20, FEMALE, RURAL, 0, 1990),  # province 0, has left
        (25, FEMALE, RURAL, 1, NO_YEAR),  # province 0, never left
        (39, FEMALE, RURAL, 1, 1985),  # province 0, the oldest counted
        (40, FEMALE, RURAL, 0, 1985),  # too old
        (14, FEMALE, RURAL, 0, NO_YEAR),  # too young
        (22, MALE, RURAL, 0, 1990),  # a man
        (22, FEMALE, URBAN, 3, 1990),  # converted hukou
        (22, FEMALE, VACANT, 3, NO_YEAR),  # an empty slot
        (15, FEMALE, RURAL, 2, NO_YEAR),  # county 2 is in province 1; the youngest counted
    ]
    ever, total = norms.women_ever_away(_persons(rows), county_prov, 3)
    np.testing.assert_array_equal(ever, [2, 0, 0])
    np.testing.assert_array_equal(total, [3, 1, 0])


def test_costs_by_hand():
    pars = Params({"female_cost": 1.5, "female_norm_effect": 4.0}).at(2000)
    np.testing.assert_allclose(norms.female_costs(pars, np.array([0.0, 0.25, 1.0])),
                               [1.5, 0.5, -2.5])
    off = Params({"female_cost": 1.5, "female_norm_effect": 0.0}).at(2000)
    np.testing.assert_array_equal(norms.female_costs(off, np.array([0.0, 0.9])), [1.5, 1.5])


def test_counts_do_not_depend_on_chunking():
    """The parallel counts equal a direct count over a random population."""
    rng = np.random.default_rng(5)
    n = 50_000
    county_prov = rng.integers(0, 31, 300).astype(np.int32)
    age = rng.integers(0, 70, n).astype(np.int8)
    sex = rng.integers(0, 2, n).astype(np.int8)
    hukou = rng.choice([RURAL, URBAN, VACANT], n, p=[0.8, 0.1, 0.1]).astype(np.int8)
    county = rng.integers(0, 300, n).astype(np.int32)
    first = np.where(rng.random(n) < 0.3, 1995, NO_YEAR).astype(np.int16)
    ever, total = norms.women_ever_away(_core(age, sex, hukou, county, first), county_prov, 31)
    sel = (sex == FEMALE) & (hukou == RURAL) & (age >= 15) & (age <= 39)
    prov = county_prov[county]
    np.testing.assert_array_equal(total, np.bincount(prov[sel], minlength=31))
    np.testing.assert_array_equal(ever, np.bincount(prov[sel & (first >= 0)], minlength=31))


@pytest.fixture(scope="module")
def runs():
    """1985-1996 at 20,000 persons, without and with the effect of experience (same seed)."""
    out = {}
    for effect in (0.0, 8.0):
        sim = Simulation(Params({"female_norm_effect": effect}), agents=20_000, seed=3,
                         start_year=1985, years=12)
        sim.run()
        out[effect] = sim
    return out


def test_cost_is_the_rule_of_the_january_state(runs):
    """The cost by province is the rule applied to the women's experience of the last January,
    within its bounds; recomputed from the state at the end of the year it is lower on the
    whole, since more women have left since (no one loses a first departure, though new
    cohorts dilute the share)."""
    sim = runs[8.0]
    pars = sim.pars
    first = sim.female_cost_prov.copy()
    assert first.shape == (sim.geo.n_prov,)
    assert (first <= pars.female_cost).all() and (first >= pars.female_cost - 8.0).all()
    later = norms.female_costs(
        pars, norms.experience_share(sim.persons, sim.places.county_prov, sim.geo.n_prov))
    assert later.mean() < first.mean()


def test_no_effect_means_one_constant_cost(runs):
    np.testing.assert_array_equal(runs[0.0].female_cost_prov, runs[0.0].pars.female_cost)


def test_experience_feminises_the_stock(runs):
    """Under common random numbers, a stronger effect of experience lowers the share male of
    the stock by 1996, and the cost is lower in every province. At 20,000 persons the share
    male moves by about 0.01 between seeds; the gap is 0.05 or more."""
    def share_male(sim):
        s = sim.persons
        away = (s.loc >= 0) & (s.hukou == RURAL)
        return float((s.sex[away] == MALE).mean())

    assert share_male(runs[0.0]) - share_male(runs[8.0]) > 0.05
    low, flat = runs[8.0].female_cost_prov, runs[0.0].female_cost_prov
    assert (low <= flat).all() and low.mean() < flat.mean() - 0.5


def test_mesa_reference_counts_the_same():
    """The Mesa reference model's per-agent count (``sim.mesa.norms``) gives the core's costs
    on a common state (the core's persons transplanted after 14 months)."""
    from sim.mesa import docking
    from sim.mesa.norms import female_cost_by_province

    sim = Simulation(Params({"female_norm_effect": 5.0}), agents=3_000, seed=2, start_year=1990,
                     years=2, threads=1)
    for _ in range(14):
        sim.step()
    m = docking.transplant(sim)
    want = norms.female_costs(
        sim.pars, norms.experience_share(sim.persons, sim.places.county_prov, sim.geo.n_prov))
    np.testing.assert_array_equal(female_cost_by_province(m), want)
    assert want.min() < sim.pars.female_cost  # some women of some province have been away
