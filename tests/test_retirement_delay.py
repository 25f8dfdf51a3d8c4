"""The 2024 decision to delay the statutory retirement age (issue 14: dated policies to today).

In force from 1 January 2025 (``sim/data/policies.toml`` "retirement_age_delay_2024"), it enters
as extra growth of the urban local workforce, ``retirement_delay_growth``, which fills urban jobs
first (``docs/markets/formal.md``, "Demand as the jobs locals leave"). The arithmetic is checked
by hand; the direction under common random numbers on runs forked from one saved 2024 state of
``baseline_2035`` (20,000 persons, seed 5; seed 7 agrees): without the delay more urban jobs are
left to migrants. Figures after 2006 are out of sample: directions, not levels.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim import Params
from sim.engine.checkpoint import fork_runs
from sim.experiments.scenario import load_scenario
from sim.mechanisms.labour.demand import grow_urban

AGENTS, SEED, START, YEARS, FORK = 20_000, 5, 1985, 46, 2025  # to 2030, forked at 2024's end


def test_local_workforce_grows_by_both_rates():
    pars = SimpleNamespace(urban_labour_output_elasticity=0.5, gdp_growth_shift=0.0,
                           local_labour_growth=0.02, retirement_delay_growth=0.006)
    total, local = np.array([100.0, 50.0]), np.array([80.0, 40.0])
    for _ in range(12):
        total, local = grow_urban(total, local, np.array([4.0, 8.0]), pars)
    np.testing.assert_allclose(local, [80.0 * 1.026, 40.0 * 1.026], rtol=1e-12)
    np.testing.assert_allclose(total, [100.0 * 1.02, 50.0 * 1.04], rtol=1e-12)


def test_delay_starts_in_2025_and_the_counterfactual_removes_only_it():
    """The default holds the policy of 2006 (no delay); the present-day baseline has the
    decision from 2025, and its counterfactual differs from it in that lever alone."""
    assert Params().at(2030).retirement_delay_growth == 0.0
    base = load_scenario("baseline_2035").to_params()
    assert [base.at(y).retirement_delay_growth for y in (2006, 2024, 2025, 2035)] == [
        0.0, 0.0, 0.006, 0.006]
    none = load_scenario("retirement_no_delay").to_params()
    for year in (1990, 2024, 2025, 2035):
        a, b = vars(base.at(year)), vars(none.at(year))
        assert {k for k in a if a[k] != b[k]} == (
            set() if year < FORK else {"retirement_delay_growth"}), year


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return fork_runs({name: load_scenario(name).to_params()
                      for name in ("baseline_2035", "retirement_no_delay")},
                     tmp_path_factory.mktemp("retire") / "trunk.npz", fork_year=FORK,
                     agents=AGENTS, seed=SEED, start_year=START, years=YEARS, threads=1)


def _years(res, indicator, first=2028, last=2030):
    years = START + np.arange(YEARS)
    return res.annual(indicator, "total")[(years >= first) & (years <= last)]


def test_without_the_delay_more_jobs_go_to_migrants(runs):
    base, none = runs["baseline_2035"], runs["retirement_no_delay"]
    years = START + np.arange(YEARS)
    before = years < FORK
    for ind in ("labour_demand", "migrant_stock"):  # one shared history up to the fork
        np.testing.assert_array_equal(base.annual(ind, "total")[before],
                                      none.annual(ind, "total")[before])
    assert (_years(none, "labour_demand") > _years(base, "labour_demand")).all()
    assert _years(none, "migrant_share_of_urban_labour").mean() > _years(
        base, "migrant_share_of_urban_labour").mean()
    # The stock's own effect (+0.7 million in 2035, 95% interval 0.3-1.1, four replicates of
    # 100,000: scenarios/README.md) is below the noise of one run of 20,000 persons since 0.18,
    # when a shortage raises the wage paid (seeds 5, 7, 9: -0.6 to +1.3 million a year).
