"""Age through the working horizon, and returns at the wedding (issue 12, part 4). Both rules
are off by default (``age_horizon_cost`` 0, ``return_wedding_female`` and ``_male`` 0).

- ``age_horizon_cost`` (decisions): a move's fixed cost spread over the working years left,
  k (H(22) / H(a) - 1) with H = ``exit_age`` - a, at the age groups' mid-ages 22, 37, 52
  (Sjaastad 1962).
- ``return_wedding_female`` / ``_male`` (returns): a migrant who marries in January goes home
  for good then with this chance (the wedding in the village; Murphy 2002, Fan 2004).
"""

from __future__ import annotations

import numpy as np
from forks import fork_one_month

from sim.core.encodings import FEMALE, HOME, MALE, RURAL
from sim.core.rng import tick_key, uniform
from sim.core.state import HOUSEHOLD_FIELDS, PERSON_FIELDS, HouseholdArrays, Persons, Table
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms import returns
from sim.mechanisms.decisions.tables import age_costs
from sim.mesa.agents import _age_cost


def test_horizon_age_costs_by_hand():
    """Exit at 65: the working years left at 22, 37, 52 are 43, 28, 13, so k = 1 costs 0,
    43/28 - 1 and 43/13 - 1; at exit 60, 38/23 - 1 and 38/8 - 1. The per-decade form is
    1.5 and 3 decades exactly, and the two add."""
    p = Params({"age_cost_per_decade": 0.0, "age_horizon_cost": 1.0}).at(2000)
    assert np.allclose(age_costs(p), [0.0, 43 / 28 - 1, 43 / 13 - 1], rtol=0, atol=1e-12)
    p = Params({"age_cost_per_decade": 0.0, "age_horizon_cost": 2.0, "exit_age": 60}).at(2000)
    assert np.allclose(age_costs(p), [0.0, 2 * (38 / 23 - 1), 2 * (38 / 8 - 1)], atol=1e-12)
    p = Params({"age_cost_per_decade": 1.228, "age_horizon_cost": 0.0}).at(2000)
    assert np.array_equal(age_costs(p), np.array([0.0, 1.5, 3.0]) * 1.228)  # 0.18's form
    p = Params().at(2000)  # the default since 0.19: the horizon alone
    assert p.age_cost_per_decade == 0.0
    assert np.allclose(age_costs(p), p.age_horizon_cost * np.array([0.0, 43 / 28 - 1,
                                                                    43 / 13 - 1]), atol=1e-12)
    p = Params({"age_cost_per_decade": 0.4, "age_horizon_cost": 1.3}).at(2000)
    both = 0.4 * np.array([0.0, 1.5, 3.0]) + 1.3 * np.array([0.0, 43 / 28 - 1, 43 / 13 - 1])
    assert np.allclose(age_costs(p), both, atol=1e-12)
    assert [_age_cost(p, g) for g in range(3)] == list(age_costs(p))  # the Mesa reference


def _couple_away():
    """Three migrants in wage jobs at destination 3: a woman and a man who married this
    January (``wed`` 1) and a woman who did not."""
    p = Persons.allocate(3, PERSON_FIELDS)
    p.hukou[:] = RURAL
    p.age[:] = (23, 25, 23)
    p.sex[:] = (FEMALE, MALE, FEMALE)
    p.loc[:], p.dist[:], p.sector[:] = 3, 3, 0
    h = Table.allocate(1, HOUSEHOLD_FIELDS)
    return p.core, HouseholdArrays(*(getattr(h, f.name) for f in HOUSEHOLD_FIELDS))


def _returned(rate, q_male, q_female, key):
    p, hs = _couple_away()
    out = np.zeros(3, np.int8)
    wed = np.array([1, 1, 0], np.int8)
    hz = -np.log1p(-np.array([q_male, q_female]))
    returns.draw_returns(key, np.array([0, 3], np.int64), p, hs, 25, 45, True, rate, 1.0, 1.0,
                         0.0, 0.0, 1.0, 0.0, 1.0, np.zeros(1, np.int8), 0.0, 1.0, 0.0, 1.0,
                         2000, wed, hz, out)
    return out


def test_wedding_return_chance_by_hand():
    """Hand-checked: a newly married migrant returns when u < 1 - (1 - q) exp(-rate) (the
    wedding's chance q of her or his sex and the month's hazard as two independent risks);
    the migrant who did not marry keeps u < 1 - exp(-rate)."""
    hits = 0
    for k in range(300):
        rate = 0.001 * (k + 1)
        key = tick_key(13, "test", k)
        u = np.array([uniform(key, i, 0) for i in range(3)])
        q = np.array([0.7, 0.2, 0.7])  # by person: the woman, the man, the other woman
        expect = u < 1.0 - (1.0 - q * np.array([1, 1, 0])) * np.exp(-rate)
        got = _returned(rate, 0.2, 0.7, key)
        assert np.array_equal(got.astype(bool), expect)
        off = _returned(rate, 0.0, 0.0, key).astype(bool)
        assert np.array_equal(off, u < 1.0 - np.exp(-rate))
        hits += int(np.count_nonzero(got.astype(bool) != off))
    assert hits > 50  # the rule changes who returns, so the checks can fail


def _january(tmp_path, rule: dict):
    """A default run of 30,000 persons from 1996 (seed 4) to December 1998, then January 1999
    from the same saved state with ``rule``: the same weddings (their stream is the rule's
    neither) and the same return draws."""
    return fork_one_month(tmp_path, rule, agents=30_000, seed=4, start_year=1996, years=4)


def test_newly_married_migrants_go_home_and_nobody_else_changes(tmp_path):
    """Common random numbers, January 1999: with the chances 0.8 (women) and 0.3 (men) every
    migrant who went home without the rule goes home with it, the newly married women away
    at the weddings go home with about their chance (a binomial share, 4 standard errors),
    the men with about theirs, and everyone else returns or stays exactly as without it."""
    a, b = _january(tmp_path, {"return_wedding_female": 0.8, "return_wedding_male": 0.3})
    ra, rb = a.buf.returned.astype(bool), b.buf.returned.astype(bool)
    wed = b.buf.wed.astype(bool)
    assert np.all(rb[ra])
    assert np.array_equal(ra[~wed], rb[~wed])
    p = b.persons
    was_away = wed & (rb | ((p.loc != HOME) & (p.hukou == RURAL)))  # away when they married
    for sex, q in ((FEMALE, 0.8), (MALE, 0.3)):
        group = was_away & (p.sex == sex)
        n = int(group.sum())
        assert n > 60
        share = rb[group].mean()
        assert abs(share - q) < 0.05 + 4 * np.sqrt(q * (1 - q) / n)  # 0.05: January's own hazard
    assert rb.sum() > ra.sum() + 50


def test_both_rules_keep_the_population_consistent():
    """Every monthly invariant holds with both rules on (families, places, flows and stocks)."""
    rules = {"age_horizon_cost": 1.5, "age_cost_per_decade": 0.0,
             "return_wedding_female": 0.6, "return_wedding_male": 0.2}
    out = run_checked(rules, agents=4000, seed=2, start_year=1995, years=3)
    assert out["failures"] == []


def test_horizon_with_an_early_exit_age_stays_finite():
    """Exit at 50 (the declared floor): the 45-64 group, 45-49 here, is costed at 47 (the
    middle of its ages before the exit), 3 years left; the others as before. The Mesa
    reference agrees to the bit."""
    p = Params({"age_cost_per_decade": 0.0, "age_horizon_cost": 1.0, "exit_age": 50}).at(2000)
    assert np.allclose(age_costs(p), [0.0, 28 / 13 - 1, 28 / 3 - 1], atol=1e-12)
    assert [_age_cost(p, g) for g in range(3)] == list(age_costs(p))
