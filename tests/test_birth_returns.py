"""Returns at a birth (issue 12, family events): a woman away as a migrant who has a child in
January goes home for good then with chance ``return_birth_female`` (off at 0, the default).
The life course flags the mothers of the year's births (``WED_BIRTH`` in the buffer ``wed``)
and the returns add -log(1 - chance) to their January hazard, as for the wedding returns."""

from __future__ import annotations

import numpy as np
from forks import fork_one_month

from sim.core.encodings import FEMALE, HOME, MALE, NO_MOTHER, NO_YEAR, RURAL, WED_BIRTH, WED_MARRIED
from sim.core.rng import tick_key, uniform
from sim.core.state import HOUSEHOLD_FIELDS, PERSON_FIELDS, HouseholdArrays, Persons, Table
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms import returns
from sim.mechanisms.demography.births import family_returns, flag_birth_mothers


def _three_away(flags):
    """Three migrants in wage jobs at destination 3 (two women, one man) with ``wed`` flags."""
    p = Persons.allocate(3, PERSON_FIELDS)
    p.hukou[:] = RURAL
    p.age[:] = (24, 26, 23)
    p.sex[:] = (FEMALE, FEMALE, MALE)
    p.loc[:], p.dist[:], p.sector[:] = 3, 3, 0
    h = Table.allocate(1, HOUSEHOLD_FIELDS)
    hs = HouseholdArrays(*(getattr(h, f.name) for f in HOUSEHOLD_FIELDS))
    return p.core, hs, np.array(flags, np.int8)


def _returned(rate, q, key, flags):
    p, hs, wed = _three_away(flags)
    out = np.zeros(3, np.int8)
    hz = -np.log1p(-np.asarray(q, np.float64))
    returns.draw_returns(key, np.array([0, 3], np.int64), p, hs, 25, 45, True, rate, 1.0, 1.0,
                         0.0, 0.0, 1.0, 0.0, 1.0, np.zeros(1, np.int8), 0.0, 1.0, 0.0, 1.0,
                         2000, wed, hz, out)
    return out.astype(bool)


def test_birth_return_chance_by_hand():
    """Hand-checked: a mother of a child born this January returns when
    u < 1 - (1 - q_b) exp(-rate); a bride who is also a mother adds both risks,
    1 - (1 - q_w)(1 - q_b) exp(-rate); the man without a family event keeps 1 - exp(-rate)."""
    qm, qw, qb = 0.3, 0.4, 0.7
    flags = (WED_BIRTH, WED_BIRTH | WED_MARRIED, 0)
    hits = 0
    for k in range(300):
        rate = 0.001 * (k + 1)
        key = tick_key(21, "test", k)
        u = np.array([uniform(key, i, 0) for i in range(3)])
        keep = np.array([1 - qb, (1 - qw) * (1 - qb), 1.0])
        got = _returned(rate, (qm, qw, qb), key, flags)
        assert np.array_equal(got, u < 1.0 - keep * np.exp(-rate))
        off = _returned(rate, (qm, qw, 0.0), key, flags)
        assert np.array_equal(off, u < 1.0 - np.array([1.0, 1 - qw, 1.0]) * np.exp(-rate))
        hits += int(np.count_nonzero(got != off))
    assert hits > 50  # the birth's chance changes who returns, so the checks can fail


def test_mothers_of_the_years_births_are_flagged_by_hand():
    """Two households of three places: the mothers (by offset) of the children born in 2001
    get ``WED_BIRTH``; a child of 2000 and a child without a mother flag nobody; a wedding
    flag already set is kept."""
    h = Table.allocate(2, HOUSEHOLD_FIELDS)
    hs = HouseholdArrays(*(getattr(h, f.name) for f in HOUSEHOLD_FIELDS))
    hs.child_by[:] = NO_YEAR
    hs.child_mother[:] = NO_MOTHER
    hs.child_by[0, :2] = (2000, 2001)
    hs.child_mother[0, :2] = (1, 2)
    hs.child_by[1, :2] = (2001, 2001)
    hs.child_mother[1, :2] = (0, NO_MOTHER)
    hs.n_children[:] = 2
    hh_start = np.array([0, 3, 6], np.int64)
    wed = np.zeros(6, np.int8)
    wed[3] = WED_MARRIED
    flag_birth_mothers(hh_start, hs, 2001, wed)
    assert wed.tolist() == [0, 0, WED_BIRTH, WED_MARRIED | WED_BIRTH, 0, 0]


def test_the_buffer_is_filled_only_with_a_family_return_on():
    assert not family_returns(Params().at(2000))  # the default: the rules off
    assert family_returns(Params({"return_birth_female": 0.5}).at(2000))
    assert family_returns(Params({"return_wedding_male": 0.1}).at(2000))


def _january(tmp_path, rule: dict):
    """A default run of 30,000 persons from 1996 (seed 6) to December 1998, then January 1999
    from the same saved state with ``rule``: the same births (the rule draws nothing there)
    and the same return draws."""
    return fork_one_month(tmp_path, rule, agents=30_000, seed=6, start_year=1996, years=4)


def test_mothers_away_at_a_birth_go_home_and_nobody_else_changes(tmp_path):
    """Common random numbers, January 1999, chance 0.8: every migrant who went home without
    the rule goes home with it, the mothers of the month's births who were away go home with
    about the chance (a binomial share, 4 standard errors; 0.05 for January's own hazard),
    and everyone else returns or stays exactly as without it; the same births either way."""
    a, b = _january(tmp_path, {"return_birth_female": 0.8})
    assert np.array_equal(a.households.child_by, b.households.child_by)
    assert np.array_equal(a.households.child_mother, b.households.child_mother)
    ra, rb = a.buf.returned.astype(bool), b.buf.returned.astype(bool)
    mothers = (b.buf.wed & WED_BIRTH) != 0
    assert np.all(rb[ra])
    assert np.array_equal(ra[~mothers], rb[~mothers])
    p = b.persons
    assert np.all(p.sex[mothers] == FEMALE)
    was_away = mothers & (rb | ((p.loc != HOME) & (p.hukou == RURAL)))
    n = int(was_away.sum())
    assert n > 40, n
    share = rb[was_away].mean()
    assert abs(share - 0.8) < 0.05 + 4 * np.sqrt(0.8 * 0.2 / n), (share, n)
    assert rb.sum() > ra.sum() + 30
    assert not np.any(p.sex[(b.buf.wed & WED_MARRIED) != 0] == MALE)  # weddings off: no flags


def test_birth_returns_keep_the_population_consistent():
    """Every monthly invariant holds with the rule on (families, places, flows and stocks)."""
    out = run_checked({"return_birth_female": 0.7}, agents=4000, seed=3, start_year=1995,
                      years=3)
    assert out["failures"] == []
