"""Parents who stay away while their children are at school, and returnees who leave again
(issue 12: the ages of children left behind). Both rules are off by default.

- ``return_children_school_ratio`` (returns): a parent whose children were left behind has
  the children's hazard ratio times this once the mother has no child under school age
  (Demurger & Xu 2015).
- ``returnee_move_bonus`` (decisions): a person at home who has migrated before subtracts
  this from the utility of staying (repeat migration, DaVanzo 1983).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import EVENT_DEPART, FEMALE, HOME, MALE, NEVER_LEFT, RURAL
from sim.core.rng import tick_key, uniform
from sim.core.state import HOUSEHOLD_FIELDS, PERSON_FIELDS, HouseholdArrays, Persons, Table
from sim.engine import checkpoint as ck
from sim.mechanisms import returns


def _away_family():
    """One household: a mother (0) and her husband (1), both away in destination 3 with wage
    jobs; a grandmother (2) at home with the children, born 1995 and 1999 (left behind)."""
    p = Persons.allocate(4, PERSON_FIELDS)
    p.hukou[:3] = RURAL
    p.age[:3] = (30, 32, 60)
    p.sex[:3] = (FEMALE, MALE, FEMALE)
    p.spouse[0], p.spouse[1] = 1, 0
    p.loc[:2], p.dist[:2], p.sector[:2] = 3, 3, 0
    h = Table.allocate(1, HOUSEHOLD_FIELDS)
    h.child_by[0, :2] = (1995, 1999)
    h.child_mother[0, :2] = 0
    h.n_children[0] = 2
    return p.core, HouseholdArrays(*(getattr(h, f.name) for f in HOUSEHOLD_FIELDS))


def _returned(rate, kids_mult, ratio, year, key):
    p, hs = _away_family()
    out = np.zeros(4, np.int8)
    returns.draw_returns(key, np.array([0, 4], np.int64), p, hs, 25, 45, True, rate, 1.0, 1.0,
                         0.0, 0.0, kids_mult, 0.0, 1.0, np.zeros(1, np.int8), 0.0, 1.0, 0.0,
                         ratio, year, *returns.NO_WEDDINGS, out)
    return out[:2]


def test_return_hazard_of_parents_whose_children_are_all_at_school():
    """Hand-checked: the hazard of both parents is rate * 2 (children left behind) while the
    younger child (born 1999) is under 6 (2004), and rate * 2 * 0.25 once both are at school
    (2005); each returns when its draw u < 1 - exp(-h). The ratio 1 leaves 2005 as 2004."""
    hits = 0
    for k in range(400):
        rate = 0.002 * (k + 1)
        key = tick_key(11, "test", k)
        u = np.array([uniform(key, i, 0) for i in range(2)])
        young = u < 1.0 - np.exp(-rate * 2.0)
        school = u < 1.0 - np.exp(-rate * 2.0 * 0.25)
        assert np.array_equal(_returned(rate, 2.0, 0.25, 2004, key), young)
        assert np.array_equal(_returned(rate, 2.0, 0.25, 2005, key), school)
        assert np.array_equal(_returned(rate, 2.0, 1.0, 2005, key), young)
        hits += int(np.count_nonzero(young != school))
    assert hits > 20  # the ratio changes who returns, so the checks can fail


def _fork(bonus: float):
    """A run without the bonus to the end of 1997 (30,000 persons from 1995, seed 5), then one
    more month with ``bonus``, from the same state and the same draws; the deciding persons'
    households may all leave (``hh_keep_one_home`` off), so no one's move depends on another's.
    """
    kw = {"agents": 30_000, "seed": 5, "start_year": 1995, "years": 4}
    base = {"hh_keep_one_home": False}
    first = Simulation(base, **kw)
    for _ in range(36):
        first.step()
    return first, Simulation({**base, "returnee_move_bonus": bonus}, **kw)


def test_returnees_leave_again_more_often_and_nobody_else_changes(tmp_path):
    """Common random numbers, one month (January 1998) from one state: with the bonus every
    returnee who left without it leaves, more returnees leave (2 -> 9 at 3 utils), and every
    other person decides exactly as without it."""
    a, b = _fork(3.0)
    path = ck.save_state(a, tmp_path / "s.npz")
    with np.load(path) as z:
        ck._restore(b, ck.read_header(path), z)
    p = a.persons
    returnee = (p.loc == HOME) & (p.hukou == RURAL) & (p.first_left != NEVER_LEFT)
    assert returnee.sum() > 1000
    a.step()
    b.step()
    left_a = (a.buf.event == EVENT_DEPART) & returnee
    left_b = (b.buf.event == EVENT_DEPART) & returnee
    assert np.all(left_b[left_a])
    assert left_b.sum() >= left_a.sum() + 4
    assert np.array_equal(a.buf.event[~returnee], b.buf.event[~returnee])
    assert np.count_nonzero(a.buf.event[~returnee] == EVENT_DEPART) > 20


@pytest.fixture(scope="module")
def runs():
    """Common random numbers, 8,000 persons, 1995-1998, seed 5: the defaults and both rules."""
    kw = {"agents": 8_000, "seed": 5, "start_year": 1995, "years": 4}
    rules = {"return_children_school_ratio": 0.2, "returnee_move_bonus": 2.0}
    return (Simulation({}, **kw).run().series(), Simulation(rules, **kw).run().series())


def test_both_rules_leave_more_school_age_children_behind(runs):
    """Parents who stay away through their children's schooling and returnees who leave
    again leave more children aged 6-14 behind and lower the share under 6 (at 100,000
    persons in 2005, seeds 7 and 8, with the school ratio 0.3: 0.73 -> 0.64; with the bonus 3
    as well as the cost ratio 0 and ratio 0.1 and the birth weight 0.2: 0.41; at this scale,
    seeds 5-7, 1.55-1.72 times as many aged 6-14 and a stock 4-5% larger)."""
    base, on = runs
    older = ("children_one_away_6_14", "total"), ("children_behind_6_14", "total")
    assert sum(on[k][-1] for k in older) > 1.25 * sum(base[k][-1] for k in older)
    key = "share_left_behind_under6", "total"
    assert on[key][-1] < base[key][-1]
    assert on["migrant_stock", "total"][-1] > base["migrant_stock", "total"][-1]
