"""Reading and combining a batch's runs: run records, ``combined.parquet``, tidy tables.

:func:`load` reads a ``migsim batch`` directory; :func:`load_runs` reads any directory of runs
(a batch, a folder of ``runs/<run>/manifest.json``, or one run directory) through the same code.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError, ReportError
from sim.experiments.plan import run_id
from sim.io.files import BATCH_JSON, COMBINED, FAILED, MANIFEST, RUNS, TIMESERIES

COLUMNS = ("scenario", "point", "replicate", "seed", "year", "month", "indicator", "group",
           "value")
_META_KEY = b"migsim.runs"
# column types of :func:`load_runs` (plain, for comparing and scoring)
_PLAIN = {"scenario": str, "indicator": str, "group": str, "point": "int64",
          "replicate": "int64", "seed": "int64", "year": "int64", "month": "int64"}


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(run_dir: Path) -> bool:
    """A run directory with a complete manifest and its time series."""
    man = read_json(Path(run_dir) / MANIFEST)
    return (isinstance(man, dict) and man.get("status") == "complete"
            and (Path(run_dir) / TIMESERIES).is_file())


def write_json_atomic(path: Path, obj: Any) -> None:
    from sim.io.output import dumps

    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    tmp.write_text(dumps(obj), encoding="utf-8")
    os.replace(tmp, path)



def _read_batch(out: Path) -> dict[str, Any]:
    info = read_json(out / BATCH_JSON)
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


def is_batch_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a ``batch.json`` written by ``migsim batch``."""
    info = read_json(Path(path) / BATCH_JSON)
    return isinstance(info, dict) and info.get("kind") == "migsim-batch"


def run_dirs(path: str | Path) -> list[Path]:
    """Run directories under ``path/runs/`` holding a manifest, sorted."""
    return sorted(p.parent for p in Path(path).glob(f"{RUNS}/*/{MANIFEST}"))


def _seed(man: Mapping[str, Any]) -> int:
    return int(man["seed"]) if man.get("seed") is not None else -1


def _found_runs(path: Path, allow_run_dir: bool) -> list[dict[str, Any]]:
    """Run records of a directory without ``batch.json``: one run directory (``migsim run``,
    when allowed) or ``runs/<run>/manifest.json`` (incomplete runs skipped)."""
    if allow_run_dir and (path / MANIFEST).is_file():
        man = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if man.get("status", "complete") != "complete" or not (path / TIMESERIES).is_file():
            raise ReportError(f"{path} is not a complete run")
        return [{"run_id": path.name, "scenario": str(man.get("scenario") or path.name),
                 "point": 0, "replicate": 0, "seed": _seed(man), "dir": path}]
    dirs = run_dirs(path)
    if not dirs:
        raise ReportError(f"no runs in {path}: expected {RUNS}/<run>/{MANIFEST} "
                          "(write a batch first)")
    runs = []
    for d in dirs:
        man = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        if man.get("status") != "complete" or not (d / TIMESERIES).is_file():
            continue  # an unfinished or failed run
        point = man.get("point_id", man.get("point", 0))
        runs.append({"run_id": d.name, "dir": d,
                     "scenario": str(man.get("scenario") or d.name.split("__")[0]),
                     "point": int(point or 0), "replicate": int(man.get("replicate", 0) or 0),
                     "seed": _seed(man)})
    if not runs:
        raise ReportError(f"no complete runs in {path}")
    return runs


def load_runs(path: str | Path, indicators: Iterable[str] | None = None, *,
              allow_run_dir: bool = False):
    """Complete runs of any directory of runs as one tidy pandas table (scenario, point,
    replicate, seed, year, month, indicator, group, value; plain ``str`` and ``int64``
    columns): a ``migsim batch`` directory (read with :func:`load`), a directory of
    ``runs/<run>/manifest.json``, or (``allow_run_dir``) one run directory. Raises
    :class:`~sim.experiments.errors.ReportError`."""
    import pyarrow as pa

    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"batch directory {path} does not exist")
    names = sorted(set(indicators)) if indicators is not None else None
    one_run = allow_run_dir and (path / MANIFEST).is_file()
    if is_batch_dir(path) and not one_run:
        try:
            frame = load(path, names)
        except BatchError as e:
            raise ReportError(str(e)) from None
        if frame.empty and not run_dirs(path):
            raise ReportError(f"no complete runs in {path} (run the batch first)")
        return frame.astype(_PLAIN)
    table = pa.concat_tables([_run_table(r, names) for r in _found_runs(path, allow_run_dir)])
    frame = table.to_pandas().astype(_PLAIN)
    dup = frame.duplicated(["scenario", "point", "replicate", "year", "month", "indicator",
                            "group"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise ReportError(f"batch {path} holds two runs of scenario {row.scenario!r}, "
                          f"point {row.point}, replicate {row.replicate}")
    return frame


def failures(out: str | Path) -> list[dict[str, Any]]:
    """The failure records in ``DIR/failed/`` of runs that are not complete."""
    out = Path(out).absolute()
    recs = []
    for r in runs_of(out):
        rec = read_json(out / FAILED / f"{r['run_id']}.json")
        if rec is not None and not r["complete"]:
            recs.append(rec)
    return recs




__all__ = ["COLUMNS", "combined_is_current", "failures", "is_batch_dir", "is_complete", "load",
           "load_runs", "read_json", "run_dirs", "runs_of", "write_combined",
           "write_json_atomic"]
