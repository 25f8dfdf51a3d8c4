"""The initial stock arrives in rounds and starts near the jobs (issue 11).

Placed in one round, every member of the initial stock weighs destinations as if no one else
had come, so the high-wage cities fill far beyond their jobs while others stay short. In
``initial_arrival_rounds`` rounds, each followed by a month of matching and wage adjustment,
later arrivals see the crowding (Harris & Todaro 1970). Fixed seeds, 200,000 persons (the
1985 stock is about 800 agents at this scale); tolerances are stated per test.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine import Simulation
from sim.engine.registry import Params
from sim.mechanisms.labour import count_workers

AGENTS, SEEDS = 200_000, (1, 2)


def _start(rounds: int, seed: int):
    sim = Simulation(Params({"initial_arrival_rounds": rounds}), agents=AGENTS, seed=seed,
                     start_year=1985, years=1, threads=1)
    present, working = count_workers(sim.persons.core, sim.geo.n_dest)
    misplaced = np.maximum(present - sim.demand.sum(axis=1), 0.0).sum() / present.sum()
    return sim, present.sum(), working.sum() / present.sum(), misplaced


@pytest.fixture(scope="module")
def starts():
    return {r: [_start(r, s) for s in SEEDS] for r in (1, 12)}


def test_about_the_same_stock_whatever_the_rounds(starts):
    """Every drawn person moves, unless a household sends only one of them in a round (a few
    in a thousand)."""
    for rounds, runs in starts.items():
        for sim, present, *_ in runs:
            target = round(sim.pars.initial_migrant_stock / sim.scale)
            assert present == sim.initial_stock
            assert target * 0.99 <= present <= target, (rounds, present, target)


def test_rounds_place_the_stock_nearer_the_jobs(starts):
    """The share of the stock beyond its destination's jobs falls by at least a third (one
    round: about 0.4 at these seeds), and more of the stock holds a job at the start."""
    for one, twelve in zip(starts[1], starts[12], strict=True):
        assert twelve[3] < one[3] * 2 / 3, (one[3], twelve[3])
        assert twelve[2] > one[2], (one[2], twelve[2])


def test_initial_stock_is_of_working_age(starts):
    for sim, *_ in starts[12]:
        away = sim.persons.loc >= 0
        assert away.any() and (sim.persons.age[away] >= 15).all()
