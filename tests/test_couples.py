"""Couples deciding together (issue 12 item 2): ``couple_apart_cost`` in the choice and
``return_spouse_log`` in the return hazard.

A married person gives up ``couple_apart_cost`` utils in any state that parts the couple
(Mincer 1978; Fan, Sun & Zheng 2011): staying home keeps a couple at home together; the
spouse's destination reunites a couple apart. A married migrant returns faster with the spouse
at home and slower with the spouse in the same destination (Wang & Fan 2006: family demand
brings migrants home). Both 0 by default (spouses decide separately, the model of version
0.14, bit for bit: ``tests/baselines``).

Kernel tests are exact (a grid of draws) or statistical (4 standard errors); the model tests
are small runs under common random numbers, and one run with one and two threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import HOME, NO_PERSON, URBAN
from sim.engine.registry import Params
from sim.mechanisms.decisions import choice
from tests.test_mechanisms import persons


def test_spouse_terms_by_where_the_spouse_is():
    """Persons 0-1 a couple at home, 2-3 a couple with 3 away in destination 5, 4 single,
    5-6 a couple with 5 away and 6 at home, 7-8 a couple with 8 urban-hukou in destination 2,
    9-10 a couple both away, in destination 6 and 1."""
    p = persons(11, loc=[HOME, HOME, HOME, 5, HOME, 4, HOME, HOME, 2, 6, 1])
    p.spouse[:] = [1, 0, 3, 2, NO_PERSON, 6, 5, 8, 7, 10, 9]
    p.hukou[8] = URBAN
    c = 1.5
    assert choice._spouse_terms(0, True, p, True, c) == (c, -1)  # leaving parts them
    assert choice._spouse_terms(2, True, p, True, c) == (0.0, 5)  # 5 reunites them
    assert choice._spouse_terms(3, False, p, True, c) == (0.0, -1)  # away, spouse home
    assert choice._spouse_terms(9, False, p, True, c) == (0.0, 1)  # 1 reunites them
    assert choice._spouse_terms(4, True, p, True, c) == (0.0, -1)  # single
    assert choice._spouse_terms(5, False, p, True, c) == (0.0, -1)  # away, spouse home
    assert choice._spouse_terms(7, True, p, True, c) == (0.0, 2)  # settled spouse in the city
    assert choice._spouse_terms(0, True, p, True, 0.0) == (0.0, -1)  # off
    assert choice._spouse_terms(0, True, p, False, c) == (0.0, -1)  # no life course


def test_spouse_destination_drawn_with_its_weight_times_exp_cost_over_lambda():
    """Destination weights e[d] times the contacts' term and the home-province factor; the
    spouse's destination (3, which also has a contact and lies in the home province) gets them
    times exp(cost / lambda): checked on a grid of 200,000 draws (error below 1e-4)."""
    e = np.array([[0.5, 1.0, 2.0, 0.25, 1.25]])
    cum = np.cumsum(e, axis=1)
    near = np.zeros((5, 4))
    near[:, 3] = 1.0
    near[3, :] = (0.5, 0.5, 0.0, 0.0)  # destination 3 in the home province
    fmul, b, cost, lam = 1.7, 0.5, 0.9, 0.6
    cont = np.array([1, 2], np.int64)  # person 0's contacts
    loc = np.array([HOME, 3, 1], np.int16)  # contacts in destinations 3 and 1
    adj = choice._network_adjustment(0, e, cont, loc, b, near, fmul)
    nadj = choice._near_adjustment(0, e, near, fmul)
    sd = 3
    w3 = choice._dest_weight(0, sd, e, cont, loc, b, near, fmul)
    assert w3 == pytest.approx(0.25 * 2**b * fmul)
    sadj = w3 * (np.exp(cost / lam) - 1.0)
    total = cum[0, -1] + adj + nadj + sadj
    n = 200_000
    counts = np.zeros(5)
    for k in range(n):
        u = (k + 0.5) / n * total
        counts[choice._pick_spouse_or_dest(0, u, sd, sadj, adj, nadj, e, cum, cont, loc, b,
                                           near, fmul)] += 1
    w = e[0].copy()
    w[[3, 1]] *= 2**b
    w[3] *= fmul * np.exp(cost / lam)
    np.testing.assert_allclose(counts / n, w / w.sum(), atol=1e-4)
    # without a spouse away nothing is added and the draw is _pick_dest's
    for u in (0.0, 1.3, 4.9):
        assert choice._pick_spouse_or_dest(0, u, -1, 0.0, adj, nadj, e, cum, cont, loc, b,
                                           near, fmul) == choice._pick_dest(
            0, u, adj, nadj, e, cum, cont, loc, b, near, fmul)


AGENTS, SEED, START, YEARS = 20_000, 3, 1995, 6
KEYS = ("couples_one_away", "couples_both_away", "couples_together_away", "married_women",
        "migrant_stock")


def _december(cost: float) -> dict[str, float]:
    res = Simulation(Params({"couple_apart_cost": cost}), agents=AGENTS, seed=SEED,
                     start_year=START, years=YEARS, threads=1).run()
    return {k: float(res.annual(k)[-1]) for k in KEYS}


@pytest.fixture(scope="module")
def pair() -> dict[float, dict[str, float]]:
    return {c: _december(c) for c in (0.0, 2.0)}


def test_couples_counts_are_consistent(pair):
    for r in pair.values():
        assert 0 <= r["couples_together_away"] <= r["couples_both_away"]
        assert r["couples_one_away"] + r["couples_both_away"] <= r["married_women"]


def test_couples_apart_reunite_when_parting_costs(pair):
    """At 2 utils (common random numbers) fewer couples live with one spouse away, several
    times as many live together in a destination, and fewer leave at all (at seed 3 in 2000:
    one away 31.4 -> 20.3 million, together 0.5 -> 3.6 million, stock 87 -> 82 million)."""
    off, on = pair[0.0], pair[2.0]
    assert on["couples_one_away"] < 0.8 * off["couples_one_away"]
    assert on["couples_together_away"] > 3 * off["couples_together_away"]
    assert on["migrant_stock"] < off["migrant_stock"]


@pytest.mark.parametrize("ht_mode", [False, True])
def test_invariants_hold_with_couples_deciding_together(ht_mode):
    """Every month of a small run keeps the model's invariants (every person in one place,
    stocks moved by the flows, counts non-negative; ``sim.experiments.invariants``), in the
    nested logit and in the Harris-Todaro teaching mode (its arbitrage counts the spouse)."""
    from sim.experiments.invariants import run_checked

    out = run_checked({"couple_apart_cost": 2.5, "ht_mode": ht_mode}, agents=3000, seed=4,
                      start_year=1995, years=3)
    assert out["failures"] == [] and out["outflow"] > 0, out


def _return_share(spouse_loc: int, x: float, rate: float, n: int = 30_000) -> float:
    """Share returning in a month at hazard ``rate`` of n married migrants in destination 3
    whose spouses (persons n..2n-1, drawn after them) are in ``spouse_loc``, the spouses
    included when they are migrants too."""
    from sim.core.rng import tick_key
    from sim.mechanisms import returns
    from tests.test_mechanisms import households

    p = persons(2 * n, loc=3)
    p.sector[:] = 0  # all in wage jobs
    p.loc[n:] = spouse_loc
    p.dist[n:] = -1 if spouse_loc == HOME else 3
    p.spouse[:n] = np.arange(n, 2 * n)
    p.spouse[n:] = np.arange(n)
    returned = np.zeros(2 * n, np.int8)
    hh_start = np.array([0, 2 * n], np.int64)
    returns.draw_returns(tick_key(1, "test", 0), hh_start, p, households([0]), 25, 45, True,
                         rate, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, np.zeros(1, np.int8), 0.0,
                         1.0, x, 1.0, 2000, *returns.NO_WEDDINGS, returned)
    return float(returned[: n if spouse_loc == HOME else 2 * n].mean())


@pytest.mark.parametrize("spouse_loc, sign", [(HOME, 1), (3, -1), (5, 0)])
def test_return_hazard_by_where_the_spouse_is(spouse_loc, sign):
    """With ``return_spouse_log`` x the hazard is multiplied by exp(x) when the spouse is at
    home, exp(-x) when the spouse is in the same destination, 1 elsewhere; spouses who return
    in the same month do not change it (the start-of-month state: a kernel that sent each
    returner home before the next person's draw fails the second and third cases). Within 4
    standard errors."""
    n, x, rate = 30_000, 2.0, 0.3
    m = n if spouse_loc == HOME else 2 * n
    q = 1.0 - np.exp(-rate * np.exp(sign * x))
    assert abs(_return_share(spouse_loc, x, rate, n) - q) < 4 * np.sqrt(q * (1 - q) / m)
    q0 = 1.0 - np.exp(-rate)
    assert abs(_return_share(spouse_loc, 0.0, rate, n) - q0) < 4 * np.sqrt(q0 * (1 - q0) / m)


def test_couples_rules_give_the_same_run_with_any_number_of_threads():
    """Decisions and returns that read the spouse's place (and the elder-care return term,
    which reads the household's) take the start-of-month state: the state after three years
    is identical with one and two threads."""
    from sim.engine.checkpoint import state_arrays

    on = {"couple_apart_cost": 1.5, "return_spouse_log": 1.0, "return_elder_care_log": 1.0,
          "elder_care_cost": 1.0}
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread on this machine")
    out = []
    for threads in (1, 2):
        sim = Simulation(Params(on), agents=20_000, seed=9, start_year=1998, years=3,
                         threads=threads)
        sim.run()
        out.append(state_arrays(sim))
    assert out[0].keys() == out[1].keys()
    bad = [k for k in out[0] if not np.array_equal(out[0][k], out[1][k], equal_nan=True)]
    assert bad == []


def test_returns_bring_couples_apart_together():
    """A spouse at home draws the migrant back (common random numbers, 20,000 agents,
    1995-2000): fewer couples live with one spouse away."""
    base = _december(0.0)
    res = Simulation(Params({"return_spouse_log": 1.0}), agents=AGENTS, seed=SEED,
                     start_year=START, years=YEARS, threads=1).run()
    assert float(res.annual("couples_one_away")[-1]) < 0.9 * base["couples_one_away"]
