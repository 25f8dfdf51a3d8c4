"""Urbanisation by residence and by hukou (issue 14, part 5; ``sim.io.urbanisation``).

The rates are read off a run's records; here they are checked against a count made directly
from the agents' state at the end of the run (persons, children, elders and where each lives),
so the records and the accounting rule are tested, not restated. The comparison with the
published 1985-2006 figures is in ``tests/test_validation.py``; the direction under today's
settlement rules in ``tests/test_today_scenarios.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import HOME, NO_YEAR, RURAL
from sim.experiments.invariants import Checker, check_indicators, december_only
from sim.io.urbanisation import INDICATORS
from sim.mechanisms.elders import NO_ELDER


@pytest.fixture(scope="module")
def run():
    """2004-2005 at 5,000 agents: tens of millions of migrants and of children in cities."""
    sim = Simulation({}, agents=5000, seed=3, start_year=2004, years=2, threads=1)
    res = sim.run()
    return sim, res, res.series()


def test_yearly_and_within_bounds(run):
    sim, res, ser = run
    dec = np.arange(res.n_months) % 12 == 11
    for name in INDICATORS:
        v = ser[name, "total"]
        assert december_only(name, "total"), name
        assert np.isnan(v[~dec]).all() and np.isfinite(v[dec]).all(), name
        assert (v[dec] > 0).all(), name
    for name in ("urbanisation_by_hukou", "urbanisation_by_residence", "urbanisation_gap"):
        assert (ser[name, "total"][dec] < 1).all()
    chk = Checker()
    check_indicators(res, set(), chk)
    assert chk.failures == []


def test_counts_equal_a_count_of_the_state(run):
    """December of the last year: every rural-hukou person, child and elder counted from the
    arrays; those living in the village are the ones at home and the children not taken to a
    city; the population splits into rural- and urban-hukou, and the gap is the rural-hukou
    persons living in cities."""
    sim, res, ser = run
    p, hh, s = sim.persons, sim.households, sim.scale
    pop = sim.rec.scalars["population"][-1]
    rural = p.hukou == RURAL
    has_child = hh.child_by != NO_YEAR
    children = int(has_child.sum())
    children_city = int(has_child[hh.kids_with >= 0].sum())
    elders = int((hh.elder_by != NO_ELDER).sum())
    rural_hukou = (int(rural.sum()) + children + elders) * s
    at_home = (int((rural & (p.loc == HOME)).sum()) + children - children_city + elders) * s
    last = {k: ser[k, "total"][-1] for k in INDICATORS}
    assert last["rural_hukou_population"] == pytest.approx(rural_hukou, rel=1e-12)
    assert last["urban_hukou_population"] == pytest.approx(pop - rural_hukou, rel=1e-12)
    assert last["urban_residents"] == pytest.approx(pop - at_home, rel=1e-12)
    assert last["urbanisation_by_residence"] - last["urbanisation_by_hukou"] == pytest.approx(
        last["urbanisation_gap"], abs=1e-12)
    assert last["urbanisation_gap"] * pop == pytest.approx(rural_hukou - at_home, rel=1e-12)
    assert children_city > 0 and (p.hukou[rural & (p.loc != HOME)]).size > 0


def test_absent_without_children_and_elders():
    """Without the household life course (version 0.6's rules) the children are not counted:
    the rates are not reported rather than reported without them."""
    res = Simulation({"life_course": False}, agents=2000, seed=1, start_year=2004,
                     years=1, threads=1).run()
    ser = res.series()
    assert not any((k, "total") in ser for k in INDICATORS)
    assert ("migrant_share_of_population", "total") in ser
