"""Own-account work as a choice (``self_review_rate`` > 0, ``sim/mechanisms/self_employment.py``):
the logit chances by hand, the kernels' moves against their draws, and the run-level direction
with common random numbers. Tolerances are stated where they are used."""

from __future__ import annotations

import numpy as np
import pytest
from test_mechanisms import KEY, persons

from sim import Simulation
from sim.core.contacts import Network
from sim.core.encodings import JOB_INFORMAL, JOB_SELF, NO_SECTOR
from sim.core.rng import tick_key, uniforms
from sim.mechanisms import labour
from sim.mechanisms.self_employment import (
    SelfEmployment,
    choice_gain,
    net_wage_levels,
    own_account,
    own_account_chance,
)

I32 = np.int32


def test_choice_chance_by_hand():
    """beta 2, earnings twice the wage, no taste: 1 / (1 + 2 ** -2) = 0.8; equal earnings give
    the taste alone, L(asc); the chance rises with earnings and falls with the wage."""
    inc = np.array([800.0, 400.0])
    wage = np.array([[400.0, 800.0], [400.0, 400.0]])
    a = own_account_chance(inc, wage, 2.0, 0.0)
    assert a[0, 0] == pytest.approx(0.8)
    assert a[0, 1] == pytest.approx(0.5)
    assert a[1, 1] == pytest.approx(0.5)
    assert own_account_chance(inc, wage, 2.0, 1.0)[1, 0] == pytest.approx(1 / (1 + np.exp(-1)))
    assert a[0, 0] > a[1, 0] and a[0, 0] > a[0, 1]


def test_net_wage_by_hand():
    """Paid level 500 with arrears risk 0.1 and contributions 0.04: 500 * 0.9 * 0.96 = 432; a
    contribution loss by destination applies by row."""
    paid = np.array([[500.0, 1000.0], [500.0, 1000.0]])
    out = net_wage_levels(paid, np.array([0.1, 0.0]), 0.04)
    np.testing.assert_allclose(out, [[432.0, 960.0], [432.0, 960.0]])
    out = net_wage_levels(paid, np.array([0.0, 0.0]), np.array([0.0, 0.5]))
    np.testing.assert_allclose(out, [[500.0, 1000.0], [250.0, 500.0]])


def test_choice_gain_by_hand():
    """One destination, sectors 0 and 1 with demand 3:1, own-account earnings 600 against net
    wages 400 and 800, beta 2, no taste: pi = 1.5 ** 2 / (1 + 1.5 ** 2) and 0.75 ** 2 /
    (1 + 0.75 ** 2), gain 0.75 * pi_0 * 200 - 0.25 * pi_1 * 200; where no sector has demand
    the gain is 0; a taste for own-account work makes a loss larger where it earns less."""
    demand = np.array([[3.0, 1.0], [0.0, 0.0]])
    inc = np.array([600.0, 600.0])
    wage = np.array([[400.0, 800.0], [400.0, 800.0]])
    pi0, pi1 = 2.25 / 3.25, 0.5625 / 1.5625
    out = choice_gain(demand, inc, wage, 2.0, 0.0)
    assert out[0] == pytest.approx(0.75 * pi0 * 200.0 - 0.25 * pi1 * 200.0)
    assert out[1] == 0.0
    low = choice_gain(demand[:1], np.array([300.0]), wage[:1], 2.0, 0.0)
    assert choice_gain(demand[:1], np.array([300.0]), wage[:1], 2.0, 2.0)[0] < low[0] < 0.0


def test_job_income_lies_between_the_two_earnings():
    """The income a destination's work promises: the wage term itself (the same array) in the
    fallback model; in the choice model, for every destination with demand, between the net
    wage and own-account earnings (both times the premia), below the wage where own-account
    work earns less than every sector pays and above it where it earns more. 5,000 persons,
    2000, after three months."""
    for ratio, sign in ((0.2, -1.0), (3.0, 1.0)):
        for q in (0.0, 0.1):
            sim = Simulation({"self_review_rate": q, "self_income_ratio": ratio},
                             agents=5000, seed=1, start_year=2000, years=1)
            for _ in range(3):
                sim.step()
            wages = sim.mech["labour"].expected_wages(sim)
            out = SelfEmployment.job_income(sim, wages)
            if q == 0.0:
                assert out is wages
                continue
            inc = SelfEmployment.income(sim)[:, None, None] * sim.yq.mult[None]
            net = SelfEmployment.wage_levels(sim)
            has = sim.demand.sum(axis=1) > 0
            below = np.all(inc[has, 0, 0, None] < net[has]) if sign < 0 else np.all(
                inc[has, 0, 0, None] > net[has])
            assert below  # the premise: own-account work earns less (more) than every sector
            diff = (out - wages)[has]
            assert np.all(np.sign(diff) == sign)
            lo, hi = np.minimum(wages, inc)[has], np.maximum(wages, inc)[has]
            assert np.all(out[has] >= lo - 1e-9) and np.all(out[has] <= hi + 1e-9)


def _state(n):
    """n rural migrants at destination 0: the first third in a wage job (sector 1), the second
    third self-employed, the last third without work."""
    p = persons(n, loc=0)
    third = n // 3
    p.sector[:third] = 1
    p.job[:third] = JOB_INFORMAL
    p.job[third:2 * third] = JOB_SELF
    return p, third


def test_moves_follow_their_draws():
    """Wage workers move with chance switch[d, s] on draw 2, and nobody else is touched by it;
    the self-employed exit on draw 0 and the jobless enter on draw 1, as before. Checked person
    by person against the draws, and the move count returned."""
    n = 3000
    p, third = _state(n)
    switch = np.zeros((1, 5))
    switch[0, 1] = 0.3
    remit = np.zeros(n)
    wage, paid = np.full(n, 500.0), np.ones(n, np.int8)
    mult = np.ones((4, 2))
    moved = own_account(KEY, p, np.array([600.0]), mult, 0.2, 0.1, switch, 0.5, remit, wage,
                        paid)
    ids = np.arange(n)
    u0, u1, u2 = (uniforms(KEY, n, k) for k in (0, 1, 2))
    w = ids < third
    expect_move = w & (u2 < 0.3)
    assert moved == expect_move.sum()
    np.testing.assert_array_equal(p.sector[w] == NO_SECTOR, expect_move[w])
    np.testing.assert_array_equal(p.job[expect_move], JOB_SELF)
    assert np.all(p.job[w & ~expect_move] == JOB_INFORMAL)
    np.testing.assert_allclose(remit[expect_move], 300.0)
    assert np.all(wage[expect_move] == 0.0) and np.all(paid[expect_move] == 0)  # wage cleared
    assert np.all(wage[~expect_move] == 500.0) and np.all(paid[~expect_move] == 1)
    s = (ids >= third) & (ids < 2 * third)
    np.testing.assert_array_equal(p.job[s] == 0, u0[s] < 0.1)
    j = ids >= 2 * third
    np.testing.assert_array_equal(p.job[j] == JOB_SELF, u1[j] < 0.2)
    assert 0.25 < expect_move.sum() / third < 0.35  # 1000 draws at 0.3: +/- 3.5 s.e.


def test_no_switch_table_leaves_wage_workers():
    """A zero table: the kernel is the fallback margin (no wage worker moves, same draws)."""
    n = 900
    a, _ = _state(n)
    b, _ = _state(n)
    ra, rb = np.zeros(n), np.zeros(n)
    mult = np.ones((4, 2))
    inc = np.array([600.0])
    w, pd = np.zeros(n), np.zeros(n, np.int8)
    assert own_account(KEY, a, inc, mult, 0.2, 0.1, np.zeros((1, 5)), 0.5, ra, w, pd) == 0
    switch = np.zeros((1, 5))
    switch[0, 1] = 1.0
    own_account(KEY, b, inc, mult, 0.2, 0.1, switch, 0.5, rb, w, pd)
    rest = np.arange(n) >= n // 3  # the self-employed and the jobless: the same either way
    np.testing.assert_array_equal(a.job[rest], b.job[rest])
    np.testing.assert_array_equal(ra[rest], rb[rest])
    assert np.all(b.sector == NO_SECTOR)


def _offers(accept):
    """2,400 self-employed seekers with a sure job offer in sector 1; ``accept`` the chance
    they take it (None: every offer taken)."""
    n = 2400
    p = persons(n, loc=0)
    p.job[:] = JOB_SELF
    openings = np.zeros((1, 5))
    openings[0, 1] = 1.0
    no_contacts = Network.from_rows(np.zeros(n + 1, I32), np.zeros(0, np.int16),
                                    np.zeros(n + 1, I32), np.zeros(0, I32)).arrays
    key_job = tick_key(3, "t", 0)
    labour.match_jobs(KEY, tick_key(2, "t", 0), key_job, p, p.sector.copy(), no_contacts, 0,
                      np.ones((1, 2)), np.ones((5, 2)), openings, np.zeros((1, 5)), 0.0, 0.5,
                      1.0, np.zeros(5), 0.0, 0.0, 0.0, accept)
    return p, uniforms(key_job, n, 4)


def test_self_employed_take_offers_by_the_table():
    """Offers to the self-employed: all taken without a table or with ones; with chance 0.25 in
    sector 1 exactly those whose draw 4 is below 0.25 take it, the others keep working on
    their own (JOB_SELF, no sector)."""
    p, _ = _offers(None)
    assert np.all(p.sector == 1) and not np.any(p.job & JOB_SELF)
    q, _ = _offers(np.ones((1, 5)))
    np.testing.assert_array_equal(p.sector, q.sector)
    np.testing.assert_array_equal(p.job, q.job)
    acc = np.zeros((1, 5))
    acc[0, 1] = 0.25
    r, u4 = _offers(acc)
    took = u4 < 0.25
    np.testing.assert_array_equal(r.sector == 1, took)
    np.testing.assert_array_equal(r.job[~took], JOB_SELF)
    assert np.all(r.sector[~took] == NO_SECTOR)


def test_competing_leaves_out_the_self_employed_not_reviewing():
    """Fallback (q = 0): the count is returned as it is. Choice (q = 0.1): present less 0.9
    times last month's own-account workers, never below 0 nor below those in wage jobs (the
    own-account workers counted last month may have left since)."""
    from types import SimpleNamespace

    from sim.mechanisms.self_employment import SelfEmployment

    present = np.array([100, 10, 0])
    n_self = np.array([50.0, 20.0, 0.0])
    idle = np.zeros((3, 5))
    for q, want in ((0.0, None), (0.1, [55.0, 0.0, 0.0])):
        sim = SimpleNamespace(pars=SimpleNamespace(self_review_rate=q), n_self=n_self,
                              mech={"self_employment": SelfEmployment()})
        out = labour.competing(sim, present, idle)
        if want is None:
            assert out is present
        else:
            np.testing.assert_allclose(out, want)
    working = np.array([[30, 10, 0, 0, 0], [4, 2, 0, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_allclose(labour.competing(sim, present, working), [55.0, 6.0, 0.0])


AGENTS, SEED, START, YEARS = 20_000, 3, 1995, 8
FALLBACK = {"self_entry_rate": 0.1}
CHOICE = {**FALLBACK, "self_review_rate": 0.05}


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, pars in (("fallback", FALLBACK), ("choice", CHOICE),
                       ("taste", {**CHOICE, "self_asc": 1.0})):
        sim = Simulation(pars, agents=AGENTS, seed=SEED, start_year=START, years=YEARS)
        out[name] = (sim, sim.run())
    return out


def test_choice_raises_own_account_work(runs):
    """Common random numbers, 20,000 agents, 1995-2002: with reviews the self-employed share of
    migrants in December 2002 is higher than the fallback's, and a taste for own-account work
    (asc 1) raises it further; wage workers move only when reviews are on."""
    share = {k: r.annual("labour_status_share", "migrants:self_employed")[-1]
             for k, (_, r) in runs.items()}
    moves = {k: r.annual("wage_to_self")[-1] for k, (_, r) in runs.items()}
    assert moves["fallback"] == 0 and moves["choice"] > 0
    assert share["choice"] > share["fallback"] + 0.02
    assert share["taste"] > share["choice"] + 0.02


def test_choice_state_is_consistent(runs):
    """Every self-employed person is a rural migrant away without a wage job, in every run."""
    for sim, _ in runs.values():
        p = sim.persons
        self_emp = (p.job & JOB_SELF) != 0
        assert np.all(p.sector[self_emp] == NO_SECTOR)
        assert np.all(p.loc[self_emp] >= 0)


def test_invariants_hold_with_the_choice():
    """Every monthly invariant (shares in [0, 1], every person in one place, counts never
    negative) with many moves both ways: a strong taste and frequent reviews."""
    from sim.experiments.invariants import run_checked

    out = run_checked({**CHOICE, "self_asc": 2.0, "self_review_rate": 0.3}, agents=3000,
                      seed=2, start_year=1990, years=3)
    assert out["failures"] == []
