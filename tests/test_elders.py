"""Elders of rural households (``sim/mechanisms/elders.py``, issue 12): placement at the start,
ageing out into the household, deaths, need for care, who is left with them, and the two
behaviour terms (off by default).

Runs are small (4,000 persons, a few years, fixed seeds); runs compared share every other
random number. Rates are checked within 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
from threads import assert_same_series_except

import sim.engine.registry as registry
from sim import Simulation
from sim.core.encodings import NO_YEAR, RURAL
from sim.core.rng import tick_key
from sim.core.state import PERSON_FIELDS, Persons
from sim.mechanisms.elders import (
    CHILD_RESULTS,
    MAX_ELDERS,
    NO_ELDER,
    Elders,
    add_elders,
    age_elders,
    draw_need,
    left_behind,
)

AGENTS, SEED, START, YEARS = 4000, 7, 1998, 4


def _run(params, registry_classes=None, monkeypatch=None, years=YEARS):
    if registry_classes is not None:
        monkeypatch.setattr(registry, "REGISTRY", registry_classes)
    s = Simulation(params, agents=AGENTS, seed=SEED, start_year=START, years=years, threads=1)
    return s, s.run()


def _n_elders(elder_by):
    return int(np.count_nonzero(elder_by != NO_ELDER))


def test_elders_at_the_start_follow_the_ratio():
    s = Simulation({}, agents=AGENTS, seed=SEED, start_year=START, years=1, threads=1)
    n_rural = int(np.count_nonzero(s.persons.hukou == RURAL))
    n = _n_elders(s.households.elder_by)
    want = s.params.at(START).elders_per_rural_worker_init * n_rural
    assert abs(n - want) < 4 * math.sqrt(want) + 5, (n, want)
    born = s.mech["elders"].birth_years(s.households)
    ages = START - born[born != NO_YEAR]
    assert ages.min() >= 65 and ages.max() < 100 and 70 < ages.mean() < 80


def test_aged_out_persons_become_elders_and_elders_die():
    elder_by = np.full((3, MAX_ELDERS), NO_ELDER, np.uint8)  # years after 1900
    elder_by[1, 0] = 30
    p = Persons.allocate(6, PERSON_FIELDS)
    p.hh = np.array([0, 1, 1, 2, 2, 2])
    add_elders(np.array([0, 1, 3, 4, 5], np.int64), p.core, elder_by, 35)
    assert list(elder_by[0]) == [35, NO_ELDER]
    assert list(elder_by[1]) == [30, 35]
    assert list(elder_by[2]) == [35, 35]  # the third has no place
    many = np.full((20_000, MAX_ELDERS), 20, np.uint8)  # born 1920: aged 80 in 2000
    age_elders(tick_key(1, "t", 0), many, 100, 0.002, 0.085)
    q = 1 - math.exp(-0.002 * math.exp(0.085 * 50))
    died = np.count_nonzero(many == NO_ELDER)
    n = many.size
    assert abs(died - n * q) < 4 * math.sqrt(n * q * (1 - q)), (died, n * q)
    old = np.full((10, MAX_ELDERS), 0, np.uint8)  # born 1899 (years after 1899)
    age_elders(tick_key(1, "t", 1), old, 101, 0.0, 0.0)
    assert not np.any(old != NO_ELDER)  # aged 101: none left


def test_need_for_care_rises_with_age():
    n = 20_000
    for age in (65, 85):
        elder_by = np.full((n, MAX_ELDERS), NO_ELDER, np.uint8)  # years after 1900
        elder_by[:, 0] = 100 - age
        need = np.zeros(n, np.int8)
        draw_need(tick_key(2, "t", age), elder_by, 100, 0.06, 0.085, need)
        p = min(1.0, 0.06 * math.exp(0.085 * (age - 65)))
        k = int(need.sum())
        assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p)), (age, k, n * p)


def test_left_behind_counts_by_household():
    """Household 0: elder, one member away, one aged 30 at home -> with a migrant, not left
    behind. Household 1: elder in need, the only member away -> left behind, alone. Household
    2: two elders, the member at home is 70 (an elder's age) -> no carer, nobody away."""


    t = Persons.allocate(4, PERSON_FIELDS)
    t.hukou[:] = RURAL
    t.loc[:] = [3, -1, 5, -1]
    t.age[:] = [30, 30, 40, 70]
    p = t.core
    hh_start = np.array([0, 2, 3, 4], np.int64)
    elder_by = np.array([[30, NO_ELDER], [30, NO_ELDER], [30, 31]], np.uint8)
    need = np.array([0, 1, 1], np.int8)
    assert left_behind(hh_start, p, elder_by, need) == (4, 2, 2, 1, 2)


def test_recorded_in_december_and_scaled():
    s, res = _run({}, years=2)
    sc = s.rec.scalars["elders"]
    assert np.all(np.isnan(sc[np.arange(sc.size) % 12 != 11]))
    assert res.annual("elders")[-1] == _n_elders(s.households.elder_by) * s.scale
    assert 0 < res.annual("elders_left_behind")[-1] < res.annual("elders_with_migrant")[-1]


def test_off_by_default_changes_nothing(monkeypatch):
    """With the defaults every number but the elders' own equals, bit for bit, a run of the
    model without the stage in the registry; the urbanisation rates, which count the elders,
    are reported only with it."""
    from sim.io.urbanisation import INDICATORS as URBANISATION

    _, on = _run({})
    without = tuple(c for c in registry.REGISTRY if c is not Elders)
    _, off = _run({}, without, monkeypatch)
    assert not any((k, "total") in off.series() for k in URBANISATION)
    assert_same_series_except(on, off, {i.name for i in Elders.results} | set(URBANISATION))


def test_elder_care_keeps_workers_home_and_brings_them_back():
    """Under common random numbers a cost of leaving an elder in need lowers departures in the
    first month it acts, and a return multiplier raises returns in the first year it acts (later
    months differ through the markets: others take the jobs the stayers or returners leave, so
    totals over years are not ordered at this size) and leaves fewer elders in need alone at
    the end, while the elders are the same people."""
    base, b = _run({})
    stay, s = _run({"elder_care_cost": 3.0})
    back, r = _run({"return_elder_care_log": 2.0})
    ob, os_ = b.series()["outflow", "total"], s.series()["outflow", "total"]
    acts = np.flatnonzero(ob != os_)
    assert acts.size and os_[acts[0]] < ob[acts[0]]
    rb, rr = b.annual("returnflow"), r.annual("returnflow")
    first = int(np.flatnonzero(rb != rr)[0])
    assert rr[first] > rb[first]
    assert r.annual("elders_need_care_alone")[-1] < b.annual("elders_need_care_alone")[-1]
    assert (s.annual("elders_need_care_alone")[-1] <= b.annual("elders_need_care_alone")[-1])
    np.testing.assert_array_equal(base.households.elder_need, stay.households.elder_need)


def test_children_left_behind_by_who_is_at_home_with_them():
    """Every December the children left behind by every parent are split by who of the
    household is at home: the three counts add up to the life course's own count of them (by
    age), and most are with the grandparents' generation. A whole parent's cost removed by a
    grandparent at home (``grandparent_care_relief`` 1 against 0, common random numbers) leaves
    more of them with grandparents. (The grandparents' share is read at 100,000 persons: over
    seeds 5-12 it averages 0.55 there and is the largest at every seed (version 0.22.0); at
    20,000 it averages 0.51 but ranges down to 0.38, below the kin's 0.40 at seed 7, so one
    seed there is not enough; at 4,000 persons it rests on some ten children.)"""
    s, res = _run({}, years=YEARS)
    parts = sum(res.annual(i.name) for i in CHILD_RESULTS)
    whole = res.annual("children_behind_under6") + res.annual("children_behind_6_14")
    np.testing.assert_allclose(parts, whole, rtol=1e-12)
    assert whole[-1] > 0
    mid, lo, hi = (Simulation(over, agents=100_000, seed=SEED, start_year=1995, years=6,
                              threads=1).run()
                   for over in ({}, {"grandparent_care_relief": 0.0},
                                {"grandparent_care_relief": 1.0}))
    by = {i.name: mid.annual(i.name)[-1] for i in CHILD_RESULTS}
    assert max(by, key=by.get) == "children_behind_grandparents", by
    assert (hi.annual("children_behind_grandparents")[-1]
            > 1.1 * lo.annual("children_behind_grandparents")[-1])
