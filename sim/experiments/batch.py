"""Replicated, parallel, resumable batches: scenarios x parameter points x replicates.

A batch runs every scenario for every parameter point (``--set key=v1,v2`` sweeps, a design
file) and every replicate. Replicate ``r`` uses seed ``S + r`` in every scenario and every point
(common random numbers), so differences between scenarios are policy, not noise.

Layout of a batch directory ``DIR`` (others read it; keep it stable)::

    DIR/batch.json                 what the batch is (written first, atomically)
    DIR/runs/<scenario>__p<point:03d>__r<rep:03d>/   one run directory per run (sim.output)
    DIR/failed/<run_id>.json       runs that raised: error, traceback (redone on resume)
    DIR/combined.parquet           all completed runs' time series (rebuilt at the end)

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
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import shutil
import socket
import sys
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BATCH_JSON = "batch.json"
RUNS = "runs"
FAILED = "failed"
COMBINED = "combined.parquet"
LOCK = ".lock"
FORMAT = 1
COLUMNS = ("scenario", "point", "replicate", "seed", "year", "month", "indicator", "group",
           "value")
# batch.json fields that define a batch: resuming with any of them different is refused
IDENTITY = ("scenarios", "replicates", "seed", "agents", "start_year", "years", "sets", "sweep",
            "points")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_META_KEY = b"migsim.runs"


class BatchError(ValueError):
    """A batch that cannot be planned or started (bad scenario, parameter, design, directory)."""


# ------------------------------------------------------------------ specs and plans
@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; :func:`run_one` is a pure function of it."""

    out: str                       # batch directory
    run_id: str
    scenario: str
    scenario_file: str
    scenario_params: dict[str, Any]
    sets: dict[str, Any]           # fixed overrides (``--set key=value``), all points
    overrides: dict[str, Any]      # this point's overrides
    point_id: int
    replicate: int
    seed: int
    agents: int
    start_year: int
    years: int
    threads: int = 1
    scenario_chain: tuple[str, ...] = ()
    plots: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / RUNS / self.run_id


def run_id(scenario: str, point: int, replicate: int) -> str:
    """Name of a run directory: ``<scenario>__p<point:03d>__r<rep:03d>``."""
    return f"{scenario}__p{point:03d}__r{replicate:03d}"


@dataclass
class BatchPlan:
    """A validated batch; nothing is written until :func:`run_batch` executes it."""

    out: Path
    scenarios: list[dict[str, Any]]   # name, file, chain, description, params
    replicates: int
    seed: int
    agents: int
    start_year: int
    years: int
    sets: dict[str, Any]
    sweep: dict[str, list[Any]]
    points: list[dict[str, Any]]      # [{point_id, overrides}]
    design: dict[str, Any] | None = None
    threads_per_run: int = 1
    command: list[str] | None = None

    def specs(self) -> list[RunSpec]:
        """All runs, by point, then replicate, then scenario (so a replicate's scenarios, which
        are compared with each other, finish close together)."""
        out = []
        for pt in self.points:
            for r in range(self.replicates):
                for s in self.scenarios:
                    out.append(RunSpec(
                        out=str(self.out), run_id=run_id(s["name"], pt["point_id"], r),
                        scenario=s["name"], scenario_file=s["file"],
                        scenario_params=s["params"], sets=self.sets,
                        overrides=pt["overrides"], point_id=pt["point_id"], replicate=r,
                        seed=self.seed + r, agents=self.agents, start_year=self.start_year,
                        years=self.years, threads=self.threads_per_run,
                        scenario_chain=tuple(s["chain"])))
        return out

    def describe(self) -> dict[str, Any]:
        """The content of ``batch.json``."""
        import sim
        from sim.io.output import git_commit

        return {
            "format": FORMAT, "kind": "migsim-batch",
            "scenarios": self.scenarios, "replicates": self.replicates, "seed": self.seed,
            "seeds": [self.seed + r for r in range(self.replicates)], "agents": self.agents,
            "start_year": self.start_year, "years": self.years, "sets": self.sets,
            "sweep": self.sweep, "design": self.design, "points": self.points,
            "n_runs": len(self.points) * self.replicates * len(self.scenarios),
            "threads_per_run": self.threads_per_run, "version": sim.__version__,
            "git_commit": git_commit(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": self.command,
        }


@dataclass
class BatchSummary:
    """What :func:`run_batch` did."""

    out: Path
    total: int
    done: int
    skipped: int
    failed: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def line(self) -> str:
        return (f"batch {self.out}: {self.total} runs: {self.done} done, {self.skipped} already "
                f"complete, {self.failed} failed ({self.seconds:.1f} s)")


# ------------------------------------------------------------------ parameters
def _normalize(overrides: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate overrides against the schema; values as the manifest stores them."""
    from sim.core.params import ParamError, Params

    try:
        js = Params().update(overrides, where=where).to_json()
    except (ParamError, TypeError, ValueError, OverflowError) as e:
        raise BatchError(str(e)) from None
    return {k: js[k] for k in overrides}


def parse_sets(sets: Iterable[str] | Mapping[str, Any] | None
               ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Fixed overrides and sweeps from ``--set`` texts (or a mapping; a list value sweeps).

    ``key=v`` fixes a value, ``key=v1,v2,v3`` sweeps scalars, ``key=1990:0.5,2000:1`` (colons)
    is one yearly path, not a sweep.
    """
    from sim.core.params import ParamError, parse_assignment

    raw: dict[str, Any] = {}
    sweep_raw: dict[str, list[Any]] = {}
    if isinstance(sets, Mapping):
        items = list(sets.items())
    else:
        items = []
        for text in sets or ():
            try:
                key, value = parse_assignment(text)
            except ParamError as e:
                raise BatchError(str(e)) from None
            if not key:
                raise BatchError(f"--set expects key=value, got {text!r}")
            if isinstance(value, str) and "," in value:
                value = [v.strip() for v in value.split(",")]
                if any(v == "" for v in value):
                    raise BatchError(f"--set {key}: empty value in sweep {text!r}")
            items.append((key, value))
    for key, value in items:
        if key in raw or key in sweep_raw:
            raise BatchError(f"--set {key} given more than once")
        if isinstance(value, list | tuple):
            if not value:
                raise BatchError(f"--set {key}: a sweep needs at least one value")
            sweep_raw[key] = list(value)
        else:
            raw[key] = value
    fixed = _normalize(raw, "--set")
    sweep = {k: [_normalize({k: v}, "--set")[k] for v in vals] for k, vals in sweep_raw.items()}
    return fixed, sweep


def _design_csv(path: Path) -> list[dict[str, Any]]:
    from sim.core.params import ParamError, parse_assignment

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BatchError(f"design {path}: cannot read: {e}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise BatchError(f"design {path}: needs a header of parameter names and at least one row")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header) or len(set(header)) != len(header):
        raise BatchError(f"design {path}: header must name each parameter once, got {header}")
    points = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise BatchError(f"design {path} row {line}: {len(row)} values for "
                             f"{len(header)} columns")
        over = {}
        for key, cell in zip(header, row, strict=True):
            if cell.strip():
                try:
                    over[key] = parse_assignment(f"{key}={cell.strip()}")[1]
                except ParamError as e:
                    raise BatchError(f"design {path} row {line}: {e}") from None
        points.append(_normalize(over, f"design {path} row {line}"))
    return points


def _design_toml(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import numpy as np

    from sim.core.params import ParamError, closest, schema

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BatchError(f"design {path}: cannot read: {e}") from None
    allowed = ("kind", "n", "seed", "params")
    for key in data:
        if key not in allowed:
            hint = closest(key, allowed)
            raise BatchError(f"design {path}: unknown key '{key}'; allowed: {', '.join(allowed)}"
                             + (f"; did you mean '{hint}'?" if hint else ""))
    kind = data.get("kind")
    if kind not in ("grid", "lhs"):
        raise BatchError(f"design {path}: 'kind' must be \"grid\" or \"lhs\", got {kind!r}")
    n = data.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise BatchError(f"design {path}: 'n' must be a positive integer, got {n!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BatchError(f"design {path}: 'seed' must be a non-negative integer, got {seed!r}")
    specs = data.get("params")
    if not isinstance(specs, dict) or not specs:
        raise BatchError(f"design {path}: needs a [params.NAME] table with low and high for "
                         "each varied parameter")
    sch = schema()
    names, lows, highs, lists = [], [], [], []
    for name, spec in specs.items():
        where = f"design {path} [params.{name}]"
        if name not in sch:
            hint = closest(name, sch)
            raise BatchError(f"unknown parameter '{name}' in {where}"
                             + (f"; did you mean '{hint}'?" if hint else ""))
        p = sch[name]
        if p.kind not in (float, int):
            raise BatchError(f"{where}: parameter '{name}' is not numeric; use a CSV design")
        if not isinstance(spec, dict):
            raise BatchError(f"{where}: expected a table with low and high, got {spec!r}")
        keys = ("low", "high", "values") if kind == "grid" else ("low", "high")
        for k in spec:
            if k not in keys:
                raise BatchError(f"{where}: unknown key '{k}'; allowed: {', '.join(keys)}")
        try:
            if "values" in spec:
                vals = spec["values"]
                if not isinstance(vals, list) or not vals:
                    raise BatchError(f"{where}: 'values' must be a non-empty list")
                lists.append([p.check(v, where) for v in vals])
                lows.append(None)
                highs.append(None)
            else:
                if "low" not in spec or "high" not in spec:
                    raise BatchError(f"{where}: needs both 'low' and 'high'")
                lo, hi = p.check(spec["low"], f"{where} low"), p.check(spec["high"],
                                                                        f"{where} high")
                if lo > hi:
                    raise BatchError(f"{where}: low {lo} is above high {hi}")
                lows.append(float(lo))
                highs.append(float(hi))
                lists.append(None)
        except ParamError as e:
            raise BatchError(str(e)) from None
        names.append(name)

    def value(name: str, x: float) -> float | int:
        return int(round(x)) if sch[name].kind is int else float(x)

    if kind == "lhs":
        if n is None:
            raise BatchError(f"design {path}: an lhs design needs 'n' (number of points)")
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(names), rng=seed).random(n)
        lo, hi = np.array(lows), np.array(highs)
        x = lo + u * (hi - lo)
        points = [{nm: value(nm, x[i, j]) for j, nm in enumerate(names)} for i in range(n)]
    else:
        axes = []
        for nm, lo, hi, vals in zip(names, lows, highs, lists, strict=True):
            if vals is not None:
                axes.append([value(nm, v) for v in vals])
                continue
            if n is None:
                raise BatchError(f"design {path}: a grid with low/high needs 'n' (values per "
                                 f"parameter), or give [params.{nm}] values = [...]")
            axes.append([value(nm, float(f"{v:.12g}")) for v in np.linspace(lo, hi, n)])
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    info = {"kind": kind, "n": n, "seed": seed if kind == "lhs" else None,
            "params": {nm: ({"values": lists[i]} if lists[i] is not None
                            else {"low": lows[i], "high": highs[i]})
                       for i, nm in enumerate(names)}}
    return [_normalize(pt, f"design {path} point {i}") for i, pt in enumerate(points)], info


def read_design(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Points of a design file (CSV: one row per point, columns = parameter names; TOML:
    ``kind = "grid"|"lhs"``, ``n``, ``seed``, ``[params.NAME]`` with ``low``/``high``), validated.

    A grid has ``n`` evenly spaced values per parameter (or its ``values`` list) and all their
    combinations; an LHS has ``n`` points (scipy's LatinHypercube with ``seed``).
    """
    p = Path(path)
    if not p.is_file():
        raise BatchError(f"design file {p} not found")
    if p.suffix.lower() == ".csv":
        points, info = _design_csv(p), {"kind": "csv"}
    elif p.suffix.lower() == ".toml":
        points, info = _design_toml(p)
    else:
        raise BatchError(f"design file {p}: expected a .csv or .toml file")
    info["file"] = str(p.resolve())
    info["n_points"] = len(points)
    return points, info


# ------------------------------------------------------------------ planning
def plan_batch(scenarios: Sequence[str | Path], *, out: str | Path, replicates: int = 1,
               agents: int = 200_000, seed: int = 1, years: int | None = None,
               start_year: int | None = None,
               sets: Iterable[str] | Mapping[str, Any] | None = None,
               design: str | Path | None = None, threads_per_run: int = 1,
               command: list[str] | None = None) -> BatchPlan:
    """Load and validate everything (scenarios, overrides, every point against every scenario)
    without running or writing anything; raise :class:`BatchError` naming the problem."""
    from sim.core.params import ParamError
    from sim.experiments.scenario import ScenarioError, load_scenario
    from sim.io.output import jsonable

    if isinstance(scenarios, str | Path):
        scenarios = [scenarios]
    if not scenarios:
        raise BatchError("no scenario given")
    for name, value, lo in (("replicates", replicates, 1), ("agents", agents, 1),
                            ("seed", seed, 0), ("threads_per_run", threads_per_run, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise BatchError(f"{name} must be an integer >= {lo}, got {value!r}")
    if seed + replicates - 1 >= 2**63:
        raise BatchError(f"seeds {seed}..{seed + replicates - 1} exceed 2**63 - 1")
    loaded, seen = [], {}
    for s in scenarios:
        try:
            scn = load_scenario(s)
        except ScenarioError as e:
            raise BatchError(str(e)) from None
        if not _SAFE_NAME.fullmatch(scn.name) or "__" in scn.name:
            raise BatchError(f"scenario name {scn.name!r} ({scn.path}) cannot name a run "
                             "directory: use letters, digits, '.', '-', '_' (no '__')")
        if scn.name in seen:
            raise BatchError(f"two scenarios are named '{scn.name}' ({seen[scn.name]} and "
                             f"{scn.path}); give one a different name")
        seen[scn.name] = scn.path
        loaded.append(scn)
    y0, n = start_year, years
    for label, given, attr in (("start_year", start_year, "start_year"),
                               ("years", years, "years")):
        if given is None:
            vals = {getattr(scn, attr) for scn in loaded}
            if len(vals) > 1:
                each = ", ".join(f"{scn.name}: {getattr(scn, attr)}" for scn in loaded)
                flag = "--" + label.replace("_", "-")
                raise BatchError(f"scenarios disagree on {label} ({each}); pass {flag}")
            given = vals.pop()
        if label == "start_year":
            y0 = given
        else:
            n = given
    if not 1949 <= y0 <= 2100:
        raise BatchError(f"start_year must be in [1949, 2100], got {y0}")
    if not 1 <= n <= 200:
        raise BatchError(f"years must be in [1, 200], got {n}")
    fixed, sweep = parse_sets(sets)
    design_points: list[dict[str, Any]] = [{}]
    design_info = None
    if design is not None:
        design_points, design_info = read_design(design)
        if not design_points:
            raise BatchError(f"design {design} has no points")
        keys = set().union(*design_points)
        both = sorted(keys & (set(fixed) | set(sweep)))
        if both:
            raise BatchError(f"parameters set both by --set and by design {design}: "
                             f"{', '.join(both)}")
    grid = [dict(zip(sweep, combo, strict=True)) for combo in itertools.product(*sweep.values())]
    points = [{"point_id": i, "overrides": {**d, **g}}
              for i, (d, g) in enumerate(itertools.product(design_points, grid))]
    # every point against every scenario: the exact parameters each run will use
    for scn in loaded:
        base = scn.to_params()
        for pt in points:
            try:
                base.copy().update(fixed, where="--set").update(
                    pt["overrides"], where=f"point {pt['point_id']}")
            except (ParamError, TypeError, ValueError) as e:
                raise BatchError(f"scenario {scn.name}, point {pt['point_id']}: {e}") from None
    scen = [{"name": scn.name, "file": str(scn.path), "chain": [str(c) for c in scn.chain],
             "description": scn.description, "params": jsonable(scn.params)} for scn in loaded]
    return BatchPlan(out=Path(out).absolute(), scenarios=scen, replicates=replicates, seed=seed,
                     agents=agents, start_year=y0, years=n, sets=fixed, sweep=sweep,
                     points=points, design=design_info, threads_per_run=threads_per_run,
                     command=command)


# ------------------------------------------------------------------ one run
def run_one(spec: RunSpec | Mapping[str, Any]) -> Path:
    """Run one simulation and write its run directory (atomically); return the directory.

    A pure function of ``spec``: the same spec gives the same ``timeseries.parquet`` bytes in
    any process, on any worker, with any number of threads.
    """
    if not isinstance(spec, RunSpec):
        spec = RunSpec(**spec)
    from sim.core.params import Params
    from sim.engine import Simulation
    from sim.io.output import write_run

    t0 = time.perf_counter()
    params = Params(spec.scenario_params, where=spec.scenario_file)
    params.update(spec.sets, where="--set")
    params.update(spec.overrides, where=f"point {spec.point_id}")
    model = Simulation(params, agents=spec.agents, seed=spec.seed, start_year=spec.start_year,
                       years=spec.years, threads=spec.threads)
    res = model.run()
    extra = {"scenario": spec.scenario, "scenario_file": spec.scenario_file,
             "scenario_chain": list(spec.scenario_chain), "run_id": spec.run_id,
             "point_id": spec.point_id, "replicate": spec.replicate, "overrides": spec.overrides,
             "sets": spec.sets, "batch": spec.out, "host": socket.gethostname(),
             "wall_seconds": time.perf_counter() - t0}
    return write_run(res, spec.run_dir, extra, simulation=model, plots=spec.plots)


def _write_json_atomic(path: Path, obj: Any) -> None:
    from sim.io.output import dumps

    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    tmp.write_text(dumps(obj), encoding="utf-8")
    os.replace(tmp, path)


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
        _write_json_atomic(d / f"{spec.run_id}.json", rec)
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


def _in_notebook() -> bool:
    ipy = sys.modules.get("IPython")
    if ipy is None or "ipykernel" not in sys.modules:
        return False
    try:
        return ipy.get_ipython() is not None
    except Exception:  # noqa: BLE001
        return False


def _local(specs: list[RunSpec], workers: int, threads: int,
           on_result: Callable[[dict[str, Any]], None]) -> None:
    if workers == 1:
        for spec in specs:
            on_result(execute(spec))
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    # Worker processes are spawned by submit() in this thread, with this environment, so numba
    # sees NUMBA_NUM_THREADS before it is first imported in the worker.
    with _environ(NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads)):
        pool = ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=ctx,
                                   initializer=_init_worker, initargs=(threads, os.getpid()))
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


def _dask(specs: list[RunSpec], address: str,
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


# ------------------------------------------------------------------ batch directory
def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(run_dir: Path) -> bool:
    """A run directory with a complete manifest and its time series."""
    from sim.io.output import MANIFEST, TIMESERIES

    man = _load_json(Path(run_dir) / MANIFEST)
    return (isinstance(man, dict) and man.get("status") == "complete"
            and (Path(run_dir) / TIMESERIES).is_file())


def _short(v: Any, width: int = 160) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= width else s[: width - 3] + "..."


def batch_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The defining fields (``IDENTITY``) in which two batch descriptions differ."""
    from sim.io.output import jsonable

    old, new = jsonable(old), jsonable(new)
    diffs = []
    for key in IDENTITY:
        a, b = old.get(key), new.get(key)
        if key == "scenarios" and isinstance(a, list) and isinstance(b, list):
            a = [{k: s.get(k) for k in ("name", "file", "params")} for s in a]
            b = [{k: s.get(k) for k in ("name", "file", "params")} for s in b]
            names_a, names_b = [s["name"] for s in a], [s["name"] for s in b]
            if names_a != names_b:
                diffs.append(f"scenarios: {names_a} in batch.json, {names_b} now")
                continue
            for sa, sb in zip(a, b, strict=True):
                if sa["file"] != sb["file"]:
                    diffs.append(f"scenario {sa['name']}: file {sa['file']} in batch.json, "
                                 f"{sb['file']} now")
                if sa["params"] != sb["params"]:
                    keys = sorted(k for k in set(sa["params"]) | set(sb["params"])
                                  if sa["params"].get(k) != sb["params"].get(k))
                    diffs.append(f"scenario {sa['name']}: parameters changed: {', '.join(keys)}")
            continue
        if key == "points" and isinstance(a, list) and isinstance(b, list) and len(a) != len(b):
            diffs.append(f"points: {len(a)} in batch.json, {len(b)} now")
            continue
        if a != b:
            diffs.append(f"{key}: {_short(a)} in batch.json, {_short(b)} now")
    return diffs


class _Lock:
    """``DIR/.lock``: one batch process writes to a directory at a time (stale locks of dead
    processes on this host are taken over)."""

    def __init__(self, out: Path):
        self.path = out / LOCK
        self.mine = f"{os.getpid()} {socket.gethostname()}"
        self.held = False

    def _holder_alive(self) -> tuple[bool, str]:
        text = ""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
            pid_s, host = text.split(" ", 1)
            pid = int(pid_s)
        except (OSError, ValueError):
            return False, text
        if host != socket.gethostname():
            return True, text
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, text
        except PermissionError:
            return True, text
        return True, text

    def __enter__(self) -> _Lock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                alive, text = self._holder_alive()
                if alive:
                    raise BatchError(f"another migsim batch (pid and host: {text}) is writing "
                                     f"to {self.path.parent}; wait for it or stop it") from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.mine)
            self.held = True
            return self
        raise BatchError(f"cannot take the lock {self.path}")

    def __exit__(self, *exc: Any) -> None:
        if self.held:
            try:
                if self.path.read_text(encoding="utf-8").strip() == self.mine:
                    self.path.unlink()
            except OSError:
                pass
            self.held = False


def _prepare_dir(plan: BatchPlan) -> None:
    """Check the batch directory (new, or the same batch to resume) and write batch.json."""
    out = plan.out
    if out.exists() and not out.is_dir():
        raise BatchError(f"batch directory {out} exists and is not a directory")
    bj = out / BATCH_JSON
    if bj.exists():
        old = _load_json(bj)
        if not isinstance(old, dict) or old.get("kind") != "migsim-batch":
            raise BatchError(f"{bj} is not a migsim batch description; choose another --out")
        diffs = batch_differences(old, plan.describe())
        if diffs:
            raise BatchError(f"{out} holds a different batch; refusing to resume into it "
                             f"(choose another --out or repeat the original command):\n  "
                             + "\n  ".join(diffs))
    elif out.is_dir() and any(not _is_temporary(p) for p in out.iterdir()):
        raise BatchError(f"refusing to write a batch into {out}: it is not empty and holds no "
                         f"{BATCH_JSON}; choose another --out")


def _is_temporary(p: Path) -> bool:
    """A lock or a temporary file left by a killed writer (ignored, cleaned)."""
    return p.name == LOCK or (p.name.startswith(".") and (".tmp-" in p.name
                                                          or ".old-" in p.name))


def _clean_temporaries(out: Path) -> None:
    """Remove what killed runs and writers left: hidden ``.*.tmp-*``/``.*.old-*`` entries."""
    for d in (out / RUNS, out / FAILED, out):
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.name != LOCK and _is_temporary(p):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)


# ------------------------------------------------------------------ progress
class _Bar:
    """Rich progress on stderr: runs done / failed / ETA."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]runs"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[red]{task.fields[failed]} failed"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("runs", total=total, failed=0)
        self.failed = 0

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, rec: dict[str, Any]) -> None:
        self.failed += rec.get("status") == "failed"
        self.progress.update(self.task, advance=1, failed=self.failed)


def _stderr_is_terminal() -> bool:
    from rich.console import Console

    return Console(stderr=True).is_terminal


# ------------------------------------------------------------------ running a batch
def run_batch(scenarios: Sequence[str | Path] | str | Path, *, out: str | Path,
              replicates: int = 1, agents: int = 200_000, seed: int = 1,
              workers: int | None = None, years: int | None = None,
              start_year: int | None = None,
              sets: Iterable[str] | Mapping[str, Any] | None = None,
              design: str | Path | None = None, scheduler: str | None = None,
              threads_per_run: int = 1,
              progress: bool | Callable[[dict[str, Any]], None] = False,
              command: list[str] | None = None) -> BatchSummary:
    """Run (or resume) a batch; return a :class:`BatchSummary`. For scripts and the CLI only:
    it starts worker processes (call it under ``if __name__ == "__main__":``); in notebooks use
    :func:`load` on a batch written by ``migsim batch``.

    ``workers`` local processes (default: cores // threads_per_run; 1 runs in this process), or
    ``scheduler`` a dask.distributed scheduler address. ``progress=True`` shows a bar on a
    terminal; a callable gets each run's result record. Run failures do not raise: they are in
    ``failed/`` and in the summary. Planning errors raise :class:`BatchError` before anything
    is written.
    """
    t0 = time.perf_counter()
    plan = plan_batch(scenarios, out=out, replicates=replicates, agents=agents, seed=seed,
                      years=years, start_year=start_year, sets=sets, design=design,
                      threads_per_run=threads_per_run, command=command)
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // threads_per_run)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"workers must be an integer >= 1, got {workers!r}")
    if scheduler is None and workers == 1:
        import numba

        if threads_per_run > numba.config.NUMBA_NUM_THREADS:
            raise BatchError(f"threads_per_run {threads_per_run} exceeds the "
                             f"{numba.config.NUMBA_NUM_THREADS} threads numba has here")
    if scheduler is None and workers > 1:
        if _in_notebook():
            raise BatchError("run_batch starts worker processes and must not run in a "
                             "notebook: run `migsim batch ...` (or a script), then read the "
                             "results with sim.batch.load(DIR)")
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise BatchError("run_batch was called while a worker process imported your "
                             "script; call it under `if __name__ == \"__main__\":`")
    _prepare_dir(plan)
    out_dir = plan.out
    out_dir.mkdir(parents=True, exist_ok=True)
    with _Lock(out_dir):
        if not (out_dir / BATCH_JSON).exists():
            _write_json_atomic(out_dir / BATCH_JSON, plan.describe())
        _clean_temporaries(out_dir)
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

        bar = _Bar(len(pending)) if (progress is True and pending
                                     and _stderr_is_terminal()) else None
        if pending:
            if bar is not None:
                bar.__enter__()
            try:
                if scheduler is not None:
                    _dask(pending, scheduler, on_result)
                else:
                    _local(pending, workers, threads_per_run, on_result)
            finally:
                if bar is not None:
                    bar.__exit__()
        for s in specs:  # failure records of runs now complete are stale
            if is_complete(s.run_dir):
                (out_dir / FAILED / f"{s.run_id}.json").unlink(missing_ok=True)
        write_combined(out_dir)
    failures = [r for r in results if r.get("status") != "done"]
    return BatchSummary(out=out_dir, total=len(specs), done=len(results) - len(failures),
                        skipped=skipped, failed=len(failures), failures=failures,
                        seconds=time.perf_counter() - t0)


# ------------------------------------------------------------------ reading a batch
def _read_batch(out: Path) -> dict[str, Any]:
    info = _load_json(out / BATCH_JSON)
    if not isinstance(info, dict) or info.get("kind") != "migsim-batch":
        raise BatchError(f"{out} is not a migsim batch directory (no valid {BATCH_JSON})")
    return info


def runs_of(out: str | Path) -> list[dict[str, Any]]:
    """The runs a batch defines (from batch.json), in batch order: run_id, scenario, point,
    replicate, seed, dir, complete."""
    out = Path(out).absolute()
    info = _read_batch(out)
    rows = []
    for pt in info["points"]:
        for r in range(info["replicates"]):
            for s in info["scenarios"]:
                rid = run_id(s["name"], pt["point_id"], r)
                d = out / RUNS / rid
                rows.append({"run_id": rid, "scenario": s["name"], "point": pt["point_id"],
                             "replicate": r, "seed": info["seed"] + r, "dir": d,
                             "complete": is_complete(d)})
    return rows


def _manifest_hash(run_dir: Path) -> str:
    from sim.io.output import MANIFEST

    return hashlib.sha256((run_dir / MANIFEST).read_bytes()).hexdigest()[:16]


def _schema():
    import pyarrow as pa

    return pa.schema([("scenario", pa.string()), ("point", pa.int32()),
                      ("replicate", pa.int32()), ("seed", pa.int64()), ("year", pa.int16()),
                      ("month", pa.int8()), ("indicator", pa.string()), ("group", pa.string()),
                      ("value", pa.float64())])


def _run_table(run: Mapping[str, Any], indicators: list[str] | None = None):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.io.output import TIMESERIES

    filters = [("indicator", "in", indicators)] if indicators else None
    t = pq.read_table(Path(run["dir"]) / TIMESERIES, filters=filters)
    n, schema = t.num_rows, _schema()
    cols = [pa.array([run["scenario"]] * n, pa.string()),
            pa.array(np.full(n, run["point"], np.int32)),
            pa.array(np.full(n, run["replicate"], np.int32)),
            pa.array(np.full(n, run["seed"], np.int64))]
    cols += [t.column(f.name).cast(f.type) for f in list(schema)[4:]]
    return pa.Table.from_arrays(cols, schema=schema)


def write_combined(out: str | Path) -> Path:
    """``DIR/combined.parquet``: every complete run's time series with scenario, point,
    replicate and seed, in batch order; written atomically, stamped with the runs it holds."""
    import pyarrow.parquet as pq

    out = Path(out).absolute()
    runs = [r for r in runs_of(out) if r["complete"]]
    stamp = {r["run_id"]: _manifest_hash(r["dir"]) for r in runs}
    schema = _schema().with_metadata({_META_KEY: json.dumps(stamp, sort_keys=True).encode()})
    path = out / COMBINED
    tmp = out / f".{COMBINED}.tmp-{os.getpid()}"
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            if not runs:
                writer.write_table(schema.empty_table())
            for r in runs:
                writer.write_table(_run_table(r).replace_schema_metadata(schema.metadata))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _tidy(frame, scenarios: list[str]):
    import pandas as pd

    frame = frame.astype({"point": "int32", "replicate": "int32", "seed": "int64",
                          "year": "int16", "month": "int8", "value": "float64"})
    frame["scenario"] = pd.Categorical(frame["scenario"].astype(str), categories=scenarios)
    for c in ("indicator", "group"):
        vals = frame[c].astype(str)
        frame[c] = pd.Categorical(vals, categories=sorted(vals.unique()))
    return frame[list(COLUMNS)].reset_index(drop=True)


def combined_is_current(out: str | Path) -> bool:
    """Whether ``combined.parquet`` holds exactly the batch's complete runs as they are now."""
    import pyarrow.parquet as pq

    out = Path(out).absolute()
    path = out / COMBINED
    if not path.is_file():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
        stamp = json.loads(meta.get(_META_KEY, b"null"))
    except (OSError, ValueError):
        return False
    now = {r["run_id"]: _manifest_hash(r["dir"]) for r in runs_of(out) if r["complete"]}
    return stamp == now


def load(out: str | Path, indicators: Iterable[str] | None = None):
    """A batch's completed runs as one tidy pandas table: scenario, point, replicate, seed,
    year, month, indicator, group, value. Safe in notebooks (reads only).

    Reads ``combined.parquet`` when it holds exactly the complete runs, else the run
    directories (a batch still running, or resumed but not finished). ``indicators`` keeps
    only those indicators.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out).absolute()
    info = _read_batch(out)
    names = sorted(set(indicators)) if indicators is not None else None
    scen = [s["name"] for s in info["scenarios"]]
    if combined_is_current(out):
        filters = [("indicator", "in", names)] if names else None
        table = pq.read_table(out / COMBINED, filters=filters, schema=_schema())
    else:
        parts = [_run_table(r, names) for r in runs_of(out) if r["complete"]]
        table = pa.concat_tables(parts) if parts else _schema().empty_table()
    return _tidy(table.replace_schema_metadata(None).to_pandas(), scen)


def failures(out: str | Path) -> list[dict[str, Any]]:
    """The failure records in ``DIR/failed/`` of runs that are not complete."""
    out = Path(out).absolute()
    recs = []
    for r in runs_of(out):
        rec = _load_json(out / FAILED / f"{r['run_id']}.json")
        if rec is not None and not r["complete"]:
            recs.append(rec)
    return recs


__all__ = ["BATCH_JSON", "COLUMNS", "COMBINED", "FAILED", "RUNS", "BatchError", "BatchPlan",
           "BatchSummary", "RunSpec", "batch_differences", "combined_is_current", "execute",
           "failures", "is_complete", "load", "parse_sets", "plan_batch", "read_design",
           "run_batch", "run_id", "run_one", "runs_of", "write_combined"]
