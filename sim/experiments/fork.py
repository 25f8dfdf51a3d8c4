"""Batches that fork: scenarios that agree up to a year share one run of their common history.

A policy batch often compares scenarios whose parameters differ only from some year on (a
reform in 2015, say). With ``run_batch(..., fork=True)`` (``migsim batch --fork``) the batch
finds the last year up to which every scenario of a sweep point has the same parameters
(:func:`fork_year`, from the resolved parameters, year by year), runs that common history once
per point and replicate (a *trunk*, :func:`run_trunk`) and saves its state at the end of that
December (``sim.engine.checkpoint``); each scenario then resumes from the state. A resumed run
equals the uninterrupted run byte for byte, so the batch's results are those of a batch without
forking; only the time differs. A scenario that cannot resume from the state (a parameter read
when a run is built differs) runs from the start, with the same result.

The trunks' states are written under ``DIR/states/`` and removed when the batch is complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.experiments.plan import BatchPlan, RunSpec

STATES = "states"  # the trunks' state files, under the batch directory
MIN_SHARED_YEARS = 2  # fork only when at least this many years are shared


def _params(scenario: Mapping[str, Any], sets: Mapping[str, Any],
            overrides: Mapping[str, Any]):
    from sim.engine.registry import Params

    return Params(scenario["params"]).update(sets).update(overrides)


def fork_year(plan: BatchPlan, point: Mapping[str, Any]) -> int | None:
    """The last December up to which every scenario of ``point`` has the same parameters (and
    before the last year), or None when fewer than ``MIN_SHARED_YEARS`` years are shared."""
    from sim.engine.checkpoint import FIRST_YEAR, comparable, params_history

    last = plan.start_year + plan.years - 2  # the trunk must leave a year to fork into
    if last < plan.start_year or len(plan.scenarios) < 2:
        return None
    hist = comparable([params_history(_params(s, plan.sets, point["overrides"]), last)
                       for s in plan.scenarios])  # levers by place: compared by destination
    n = last - FIRST_YEAR + 1
    first_diff = last + 1
    for name in sorted(set().union(*hist)):
        vals = [h.get(name) for h in hist]
        if all(v == vals[0] for v in vals):
            continue
        seqs = [v if isinstance(v, list) else [v] * n for v in vals]
        i = next(i for i in range(n) if any(s[i] != seqs[0][i] for s in seqs))
        first_diff = min(first_diff, FIRST_YEAR + i)
    year = first_diff - 1
    if year - plan.start_year + 1 < MIN_SHARED_YEARS:
        return None
    return year


def state_path(plan: BatchPlan, point_id: int, replicate: int, year: int) -> Path:
    """Where the trunk of a point and replicate saves its state."""
    return plan.out / STATES / f"p{point_id:03d}__r{replicate:03d}__{year}.npz"


def trunk_specs(plan: BatchPlan, specs: list[RunSpec]) -> tuple[list[RunSpec], list[RunSpec]]:
    """(trunks to run, ``specs`` with the state to resume from). A trunk is the first scenario
    of a point and replicate run to the end of its fork year; one is needed only where a run of
    that point and replicate is still to do and its state is not already saved."""
    years = {pt["point_id"]: fork_year(plan, pt) for pt in plan.points}
    trunks: dict[tuple[int, int], RunSpec] = {}
    out = []
    for s in specs:
        y = years.get(s.point_id)
        if y is None:
            out.append(s)
            continue
        path = state_path(plan, s.point_id, s.replicate, y)
        out.append(dataclasses.replace(s, state=str(path)))
        key = (s.point_id, s.replicate)
        if key not in trunks and not path.exists():
            trunks[key] = dataclasses.replace(
                s, run_id=f"trunk__p{s.point_id:03d}__r{s.replicate:03d}", state=str(path),
                save_year=y)
    return list(trunks.values()), out


def run_trunk(spec: RunSpec, params) -> Path:
    """Run ``spec``'s simulation to the end of ``spec.save_year`` and save its state."""
    from sim.engine import Simulation
    from sim.engine.checkpoint import initial_digest, save_state

    path = Path(spec.state)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = Simulation(params, agents=spec.agents, seed=spec.seed, start_year=spec.start_year,
                       years=spec.years, threads=spec.threads)
    initial = initial_digest(model)
    model.run(until=12 * (spec.save_year - spec.start_year + 1))
    return save_state(model, path, initial=initial, meta={"trunk": spec.run_id})


def resumed(spec: RunSpec, params):
    """The simulation of ``spec`` resumed from its trunk's state, or None when there is no
    state or it does not fit (the run then starts from the beginning, with the same result)."""
    from sim.engine.checkpoint import CheckpointError, load_state

    if not spec.state or not Path(spec.state).exists():
        return None
    try:
        return load_state(spec.state, params, threads=spec.threads, seed=spec.seed,
                          agents=spec.agents, start_year=spec.start_year, years=spec.years)
    except CheckpointError:
        return None
