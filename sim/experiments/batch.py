"""Replicated, parallel, resumable batches: scenarios x parameter points x replicates.

A batch runs every scenario for every parameter point (``--set key=v1,v2`` sweeps, a design
file) and every replicate. Replicate ``r`` uses seed ``S + r`` in every scenario and every point
(common random numbers), so differences between scenarios are policy, not noise.

Layout of a batch directory ``DIR`` (others read it; keep it stable)::

    DIR/batch.json                 what the batch is (written first, atomically)
    DIR/runs/<scenario>__p<point:03d>__r<rep:03d>/   one run directory per run (sim.output)
    DIR/failed/<run_id>.json       runs that raised: error, traceback (redone on resume)
    DIR/combined.parquet           all completed runs' time series (rebuilt at the end)
    DIR/.lock                      empty file locked (OS lock) while a batch process writes

Each run is :func:`run_one`, a pure function of its :class:`RunSpec`: it builds the parameters
(scenario, then fixed ``--set`` values, then the point's overrides), runs the model and writes its
own run directory with :func:`sim.io.output.write_run` (atomically: a hidden temporary sibling
renamed into place), so a local process pool and a dask cluster give byte-identical time series.
Starting the same batch again skips the runs whose directory holds a complete manifest, removes
temporary directories left by killed runs and redoes the rest; a ``DIR`` whose ``batch.json``
describes a different batch is refused.

Where to use what:

* :func:`run_batch` (and ``migsim batch``) is for scripts and the command line. It starts worker
  processes (``spawn``); in a script, call it under ``if __name__ == "__main__":``. It refuses
  to start a process pool inside a notebook.
* :func:`load` is for notebooks: it only reads a batch directory into one tidy table.

This module is the public entry point; the parts live in :mod:`sim.experiments.plan` (the plan,
run ids, seeds), :mod:`~sim.experiments.design` (``--set`` sweeps, design files),
:mod:`~sim.experiments.executors` (one run, process pool, dask), :mod:`~sim.experiments.store`
(``combined.parquet``, loading), :mod:`~sim.experiments.directory` (lock, checks, cleaning) and
:mod:`~sim.experiments.progress`.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.experiments import fork as fork_runs
from sim.experiments.design import parse_sets, read_design
from sim.experiments.directory import BatchLock, check_batch_dir, clean_temporaries
from sim.experiments.errors import BatchError
from sim.experiments.executors import execute, in_notebook, run_dask, run_local, run_one
from sim.experiments.plan import (
    BatchPlan,
    BatchSummary,
    RunSpec,
    batch_differences,
    plan_batch,
    run_id,
)
from sim.experiments.progress import ProgressBar, stderr_is_terminal
from sim.experiments.store import (
    COLUMNS,
    combined_is_current,
    failures,
    is_complete,
    load,
    runs_of,
    write_combined,
    write_json_atomic,
)
from sim.io.files import BATCH_JSON, COMBINED, FAILED, RUNS


def run_batch(scenarios: Sequence[str | Path] | str | Path, *, out: str | Path,
              replicates: int = 1, agents: int = 200_000, seed: int = 1,
              workers: int | None = None, years: int | None = None,
              start_year: int | None = None,
              sets: Iterable[str] | Mapping[str, Any] | None = None,
              design: str | Path | None = None, scheduler: str | None = None,
              threads_per_run: int = 1,
              progress: bool | Callable[[dict[str, Any]], None] = False,
              command: list[str] | None = None, fork: bool = False,
              posterior: str | Path | None = None, draws: int | None = None,
              seeds_per_draw: int | None = None,
              warn: Callable[[str], None] | None = None) -> BatchSummary:
    """Run (or resume) a batch; return a :class:`BatchSummary`. For scripts and the CLI only:
    it starts worker processes (call it under ``if __name__ == "__main__":``); in notebooks use
    :func:`load` on a batch written by ``migsim batch``.

    ``workers`` local processes (default: cores // threads_per_run; 1 runs in this process), or
    ``scheduler`` a dask.distributed scheduler address. ``progress=True`` shows a bar on a
    terminal; a callable gets each run's result record. Run failures do not raise: they are in
    ``failed/`` and in the summary. Planning errors raise :class:`BatchError` before anything
    is written. ``fork`` runs the history the scenarios of a point share once per replicate
    and resumes each scenario from it (:mod:`sim.experiments.fork`): the same results, faster.
    ``posterior`` (a CSV of draws) pairs replicate r with draw r // M in every scenario, M
    ``seeds_per_draw`` (default 1); there are ``draws`` x M replicates
    (:mod:`sim.experiments.posterior`). M >= 2 lets the comparison report separate the
    parameter and the stochastic share of each effect's variance. An override (``sets``,
    ``design``, ``posterior``) of a key a scenario itself sets is reported through ``warn``
    (default: :func:`warnings.warn`): every run of that scenario takes the override instead.
    """
    t0 = time.perf_counter()
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // max(1, threads_per_run))
    plan = plan_batch(scenarios, out=out, replicates=replicates, agents=agents, seed=seed,
                      years=years, start_year=start_year, sets=sets, design=design,
                      threads_per_run=threads_per_run, command=command, posterior=posterior,
                      draws=draws, seeds_per_draw=seeds_per_draw)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"workers must be an integer >= 1, got {workers!r}")
    for msg in plan.warnings:
        if warn is None:
            warnings.warn(msg, UserWarning, stacklevel=2)
        else:
            warn(msg)
    if scheduler is None and workers == 1:
        import numba

        if threads_per_run > numba.config.NUMBA_NUM_THREADS:
            raise BatchError(f"threads_per_run {threads_per_run} exceeds the "
                             f"{numba.config.NUMBA_NUM_THREADS} threads numba has here")
    if scheduler is None and workers > 1:
        if in_notebook():
            raise BatchError("run_batch starts worker processes and must not run in a "
                             "notebook: run `migsim batch ...` (or a script), then read the "
                             "results with sim.batch.load(DIR)")
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise BatchError("run_batch was called while a worker process imported your "
                             "script; call it under `if __name__ == \"__main__\":`")
    if workers is not None and scheduler is None:
        _check_limits(plan, min(workers, len(plan.specs())))
    check_batch_dir(plan)
    out_dir = plan.out
    out_dir.mkdir(parents=True, exist_ok=True)
    with BatchLock(out_dir):
        if not (out_dir / BATCH_JSON).exists():
            write_json_atomic(out_dir / BATCH_JSON, plan.describe())
        clean_temporaries(out_dir)
        (out_dir / RUNS).mkdir(exist_ok=True)
        specs = plan.specs()
        pending = [s for s in specs if not is_complete(s.run_dir)]
        skipped = len(specs) - len(pending)
        results: list[dict[str, Any]] = []
        callback = progress if callable(progress) else None

        def on_result(rec: dict[str, Any]) -> None:
            results.append(rec)
            if callback is not None:
                callback(rec)
            if bar is not None:
                bar(rec)

        bar = ProgressBar(len(pending)) if (progress is True and pending
                                     and stderr_is_terminal()) else None
        if pending and fork:  # the shared history first, once per point and replicate
            trunks, forked = fork_runs.trunk_specs(plan, specs)
            by_id = {s.run_id: s for s in forked}
            pending = [by_id[s.run_id] for s in pending]
            if trunks:
                _execute(trunks, scheduler, workers, threads_per_run, lambda rec: None)
        if pending:
            if bar is not None:
                bar.__enter__()
            try:
                _execute(pending, scheduler, workers, threads_per_run, on_result)
            finally:
                if bar is not None:
                    bar.__exit__()
        for s in specs:  # failure records of runs now complete are stale
            if is_complete(s.run_dir):
                (out_dir / FAILED / f"{s.run_id}.json").unlink(missing_ok=True)
        write_combined(out_dir)
        if all(is_complete(s.run_dir) for s in specs):  # trunks' states are not kept
            shutil.rmtree(out_dir / fork_runs.STATES, ignore_errors=True)
    failures = [r for r in results if r.get("status") != "done"]
    return BatchSummary(out=out_dir, total=len(specs), done=len(results) - len(failures),
                        skipped=skipped, failed=len(failures), failures=failures,
                        seconds=time.perf_counter() - t0)


def _execute(specs: list[RunSpec], scheduler: str | None, workers: int, threads: int,
             on_result: Callable[[dict[str, Any]], None]) -> None:
    """Run ``specs`` on the dask scheduler or the local pool."""
    if scheduler is not None:
        run_dask(specs, scheduler, on_result)
    else:
        run_local(specs, workers, threads, on_result)


def _check_limits(plan: BatchPlan, concurrent: int) -> None:
    """Every scenario and point within the years the data allow, and ``concurrent`` runs of
    the largest within the memory available (local runs only); raise :class:`BatchError`."""
    from sim.engine.registry import Params
    from sim.experiments.resources import LimitError, check_memory, check_years, slots

    worst = None
    try:
        for s in plan.scenarios:
            for pt in plan.points:
                params = Params(s["params"]).update(plan.sets).update(pt["overrides"])
                check_years(params, plan.start_year, plan.years)
                n = slots(params, plan.agents, plan.start_year, plan.years)
                if worst is None or n > worst[0]:
                    worst = (n, params)
        if worst is not None:
            check_memory(worst[1], plan.agents, plan.start_year, plan.years, runs=concurrent,
                         processes=concurrent if concurrent > 1 else 0)
    except LimitError as e:
        raise BatchError(str(e)) from None


__all__ = ["BATCH_JSON", "COLUMNS", "COMBINED", "FAILED", "RUNS", "BatchError", "BatchPlan",
           "BatchSummary", "RunSpec", "batch_differences", "combined_is_current", "execute",
           "failures", "is_complete", "load", "parse_sets", "plan_batch", "read_design",
           "run_batch", "run_id", "run_one", "runs_of", "write_combined"]
