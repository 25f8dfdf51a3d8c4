"""Running a batch's runs: one run (:func:`run_one`), a local process pool, a dask cluster.

Every executor calls :func:`execute` on each :class:`~sim.experiments.plan.RunSpec`; a failing
run is recorded in ``failed/<run_id>.json`` and reported, never raised, so the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError
from sim.experiments.plan import RunSpec
from sim.experiments.store import write_json_atomic
from sim.io.files import FAILED


def run_one(spec: RunSpec | Mapping[str, Any]) -> Path:
    """Run one simulation and write its run directory (atomically); return the directory.

    A pure function of ``spec``: the same spec gives the same ``timeseries.parquet`` bytes in
    any process, on any worker, with any number of threads, resumed from a forked batch's
    state or not (``spec.state``). A trunk (``spec.save_year``) writes its state instead.
    """
    if not isinstance(spec, RunSpec):
        spec = RunSpec(**spec)
    from sim.engine import Simulation
    from sim.engine.registry import Params
    from sim.experiments import fork
    from sim.io.output import write_run

    t0 = time.perf_counter()
    params = Params(spec.scenario_params, where=spec.scenario_file)
    params.update(spec.sets, where="--set")
    params.update(spec.overrides, where=f"point {spec.point_id}")
    params.update(spec.draw, where=f"posterior draw of replicate {spec.replicate}")
    if spec.save_year >= 0:  # a forked batch's trunk: the common history, saved
        return fork.run_trunk(spec, params)
    model = fork.resumed(spec, params)
    if model is None:
        model = Simulation(params, agents=spec.agents, seed=spec.seed,
                           start_year=spec.start_year, years=spec.years, threads=spec.threads)
    res = model.run()
    extra = {"scenario": spec.scenario, "scenario_file": spec.scenario_file,
             "scenario_chain": list(spec.scenario_chain), "run_id": spec.run_id,
             "point_id": spec.point_id, "replicate": spec.replicate, "overrides": spec.overrides,
             "sets": spec.sets, "posterior_draw": spec.draw,
             **({"posterior_draw_index": spec.draw_index} if spec.draw_index >= 0 else {}),
             "batch": spec.out,
             "host": socket.gethostname(),
             "wall_seconds": time.perf_counter() - t0}
    return write_run(res, spec.run_dir, extra, simulation=model, plots=spec.plots)



def _record_failure(spec: RunSpec, exc: BaseException, tb: str | None = None,
                    seconds: float | None = None) -> dict[str, Any]:
    """Write ``failed/<run_id>.json``; return the result record (never raises)."""
    tb = tb if tb is not None else "".join(traceback.format_exception(exc))
    rec = {"run_id": spec.run_id, "status": "failed", "scenario": spec.scenario,
           "replicate": spec.replicate, "point": spec.point_id, "seed": spec.seed,
           "overrides": spec.overrides, "error_type": type(exc).__name__, "error": str(exc),
           "traceback": tb, "host": socket.gethostname(), "pid": os.getpid(),
           "seconds": seconds,
           "time_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        d = Path(spec.out) / FAILED
        d.mkdir(parents=True, exist_ok=True)
        write_json_atomic(d / f"{spec.run_id}.json", rec)
    except OSError as e:
        rec["record_error"] = f"could not write the failure record: {e}"
    return rec


def execute(spec: RunSpec) -> dict[str, Any]:
    """:func:`run_one` on a worker: a failure is written to ``failed/<run_id>.json`` and
    returned as a record instead of raised, so the other runs go on."""
    t0 = time.perf_counter()
    try:
        path = run_one(spec)
    except Exception as e:  # noqa: BLE001 - any failure of a run is recorded
        return _record_failure(spec, e, traceback.format_exc(), time.perf_counter() - t0)
    (Path(spec.out) / FAILED / f"{spec.run_id}.json").unlink(missing_ok=True)
    return {"run_id": spec.run_id, "status": "done", "path": str(path),
            "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------ executors
def _watch_parent(parent: int) -> None:
    """Exit a worker whose parent (the batch) has died, so no orphan keeps writing."""
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            os._exit(3)


def _init_worker(threads: int, parent: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops workers
    os.environ["NUMBA_NUM_THREADS"] = str(threads)  # inherited at spawn too (see _local)
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def spawned_pool(workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()):
    """A process pool (for :func:`map_one_thread` and :func:`run_local`). Its workers are
    spawned, not forked: a fork made after this process has started numba's threads inherits
    them with numba's settings, and a compilation in the child (a fresh cache) then fails on
    the thread count. Workers start in ``submit``, under the environment of that moment."""
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)


def map_one_thread(pool, fn: Callable[[Any], Any], jobs: list) -> list:
    """``pool.map(fn, jobs)`` whose workers start under NUMBA_NUM_THREADS=1: a spawned pool
    starts its processes in ``submit``, so they see that value before numba's first import."""
    with _environ(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1"):
        futures = [pool.submit(fn, j) for j in jobs]
    return [f.result() for f in futures]


def in_notebook() -> bool:
    ipy = sys.modules.get("IPython")
    if ipy is None or "ipykernel" not in sys.modules:
        return False
    try:
        return ipy.get_ipython() is not None
    except Exception:  # noqa: BLE001
        return False


def run_local(specs: list[RunSpec], workers: int, threads: int,
           on_result: Callable[[dict[str, Any]], None]) -> None:
    if workers == 1:
        for spec in specs:
            on_result(execute(spec))
        return
    from concurrent.futures import as_completed

    # Worker processes are spawned by submit() in this thread, with this environment, so numba
    # sees NUMBA_NUM_THREADS before it is first imported in the worker.
    with _environ(NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads)):
        pool = spawned_pool(min(workers, len(specs)), _init_worker, (threads, os.getpid()))
        futures = {pool.submit(execute, s): s for s in specs}
    try:
        for fut in as_completed(futures):
            spec = futures[fut]
            try:
                rec = fut.result()
            except Exception as e:  # noqa: BLE001 - a worker died (BrokenProcessPool, ...)
                rec = _record_failure(spec, e)
            on_result(rec)
    except BaseException:  # Ctrl-C or an error here: stop everything now (resume redoes it)
        _stop_workers(pool)  # before shutdown(), which forgets the processes
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool) -> None:
    """Terminate a process pool's workers (a killed run leaves only a temporary directory)."""
    stop = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if stop is not None:
        stop()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()


def run_dask(specs: list[RunSpec], address: str,
          on_result: Callable[[dict[str, Any]], None]) -> None:
    import uuid

    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise BatchError(f"cannot connect to the dask scheduler at {address}: {e}") from None
    token = uuid.uuid4().hex[:8]
    with client:
        futs = [client.submit(execute, s, key=f"migsim-{s.run_id}-{token}", pure=False)
                for s in specs]
        index = {f.key: s for f, s in zip(futs, specs, strict=True)}
        for fut in as_completed(futs, loop=client.loop):
            spec = index[fut.key]
            try:
                rec = fut.result()
            except Exception as e:  # noqa: BLE001 - a lost worker (KilledWorker, ...)
                rec = _record_failure(spec, e)
            on_result(rec)
            fut.release()



__all__ = ["execute", "in_notebook", "map_one_thread", "run_dask", "run_local", "run_one",
           "spawned_pool"]
