"""Writing a run to disk, atomically: manifest, tidy time series, summary and plots.

:func:`write_run` fills a hidden sibling directory ``.<name>.tmp-<pid>`` and renames it to the
output directory only when everything, ``manifest.json`` last, has been written. A crash on the
way leaves nothing at the output directory (or the previous run, untouched). A directory counts
as a migsim run directory when it holds a ``manifest.json``; any other non-empty directory is
never overwritten.

``timeseries.parquet`` is deterministic: identical results give identical bytes. So are the
cohort tables ``cohorts.parquet`` and ``migrant_ages.parquet`` (:mod:`sim.io.cohorts`) and the
tables of children and parents by age, ``children_ages.parquet`` and ``parent_ages.parquet``
(:mod:`sim.io.families`), written to every run directory, with or without plots.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.version import __version__
from sim.io.cohorts import AGE_MAX, AGE_MIN, COHORT_YEARS, cohort_frame, migrant_age_frame
from sim.io.families import children_age_frame, parent_age_frame
from sim.io.files import (
    CHILDREN_AGES,
    COHORTS,
    MANIFEST,
    MIGRANT_AGES,
    PARENT_AGES,
    SUMMARY,
    TIMESERIES,
)
from sim.io.maps import MAP_FILES, write_maps
from sim.io.provenance import defaults_provenance
from sim.io.yearly import annual

CHART_FILES = ("stock.png", "stock_by_distance.png", "stock_by_tier.png", "flows.png",
               "profile.png", "cohorts.png", "urbanisation.png", "children.png")
# every plot a run directory can hold; the maps (sim.io.maps) only for runs on the 31 provinces,
# the net-migration map only when the run records migrants by origin (the manifest lists those made)
PLOT_FILES = (*CHART_FILES, *MAP_FILES)
# written to every run directory, with or without plots (the children's and parents' tables
# are empty without the household life course)
TABLE_FILES = (COHORTS, MIGRANT_AGES, CHILDREN_AGES, PARENT_AGES)


class OutputError(RuntimeError):
    """An output directory that cannot be written or must not be overwritten."""


# ------------------------------------------------------------------ JSON
def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types: numpy scalars unwrapped, NaN/inf as null, paths as text."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | np.ndarray):
        return [jsonable(v) for v in (sorted(obj) if isinstance(obj, set) else obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str | int | bool) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, type):
        return obj.__name__
    return str(obj)


def dumps(obj: Any) -> str:
    """Stable, float-safe JSON text (sorted keys, indent 2, trailing newline)."""
    return json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


# ------------------------------------------------------------------ provenance
def git_commit(repo: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of ``repo`` (default: the source checkout holding the package), or
    None: git missing, or the package installed from a wheel (no checkout next to it)."""
    if repo is None:
        repo = Path(__file__).resolve().parents[2]  # sim/io/output.py -> the checkout
        if not ((repo / ".git").exists() and (repo / "pyproject.toml").is_file()):
            return None
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def versions() -> dict[str, str]:
    import numba
    import pandas
    import pyarrow

    return {"migsim": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "pandas": pandas.__version__,
            "pyarrow": pyarrow.__version__}


def build_manifest(results, params=None, simulation=None,
                   extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reproduce and read a run."""

    if params is None and simulation is not None:
        params = simulation.params
    meta = dict(results.meta)
    man: dict[str, Any] = {
        "status": "complete",
        "version": __version__,
        "versions": versions(),
        "git_commit": git_commit(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": meta.get("seed"), "agents": meta.get("agents"),
        "scale": meta.get("scale", results.scale),
        "start_year": meta.get("start_year", results.start_year),
        "years": meta.get("years", results.n_months // 12),
        "params": params.to_json() if params is not None else None,
        "changed_params": params.changed() if params is not None else None,
        "scenario": None, "scenario_file": None,
        "files": [TIMESERIES, SUMMARY, *TABLE_FILES, *PLOT_FILES],
        "added_indicators": meta.get("indicators", []),
        "defaults": defaults_provenance(params.changed() if params is not None else ()),
    }
    if simulation is not None:
        man.update(inert_params=dict(getattr(simulation, "inert_params", {})),
                   build_seconds=simulation.build_seconds,
                   run_seconds=getattr(simulation, "run_seconds", None),
                   threads=simulation.threads, timings=dict(simulation.timings))
    man.update(extra or {})
    man["status"] = "complete"
    return man


# ------------------------------------------------------------------ time series
def write_parquet(frame, path: Path) -> None:
    """Tidy table to Parquet with no timestamps or other run-dependent metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


# ------------------------------------------------------------------ plots
def _yearly(results) -> tuple[np.ndarray, dict]:
    """Calendar years and the series (made yearly with :func:`sim.io.yearly.annual`)."""
    return np.unique(results.calendar()[0]), results.series()


def _figure(title: str, ylabel: str):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("year")
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


LAST_FITTED_YEAR = 2006  # the seed report's present: later years are out of sample


def _out_of_sample(ax, years: np.ndarray) -> None:
    """Shade the years after :data:`LAST_FITTED_YEAR` (nothing after it was fitted)."""
    if len(years) and years[-1] > LAST_FITTED_YEAR:
        x0 = max(LAST_FITTED_YEAR + 0.5, years[0] - 0.5)
        ax.axvspan(x0, years[-1] + 0.5, color="0.5", alpha=0.12, lw=0)
        ax.text(x0, 0.98, " out of sample", transform=ax.get_xaxis_transform(), ha="left",
                va="top", fontsize="small", color="0.35")


def _save(fig, path: Path) -> None:
    fig.savefig(path, format="png", metadata={"Software": None})


def _groups(ser: dict, indicator: str, prefix: str) -> list[tuple[str, np.ndarray]]:
    return [(g.removeprefix(prefix), v) for (ind, g), v in ser.items()
            if ind == indicator and g.startswith(prefix)]


def plot_stock(results, path: Path) -> None:
    years, ser = _yearly(results)
    fig, ax = _figure("Rural migrant stock (end of year)", "million persons")
    ax.plot(years, annual(ser["migrant_stock", "total"], "migrant_stock") / 1e6, marker="o")
    _out_of_sample(ax, years)
    ax.set_ylim(bottom=0)
    _save(fig, path)


def plot_distance_shares(results, path: Path) -> None:
    years, ser = _yearly(results)
    fig, ax = _figure("Migrant stock by distance class (end of year)", "share of stock")
    parts = _groups(ser, "share_stock", "dist:")
    ax.stackplot(years, *[annual(v, "share_stock") for _, v in parts],
                 labels=[n for n, _ in parts])
    _out_of_sample(ax, years)
    ax.set_ylim(0, 1)
    ax.legend(loc="best", fontsize="small")
    _save(fig, path)


def plot_tiers(results, path: Path) -> None:
    years, ser = _yearly(results)
    fig, ax = _figure("Migrant stock by destination tier (end of year)", "million persons")
    for name, v in _groups(ser, "migrant_stock", "tier:"):
        ax.plot(years, annual(v, "migrant_stock") / 1e6, marker="o", label=name)
    _out_of_sample(ax, years)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize="small")
    _save(fig, path)


def plot_flows(results, path: Path) -> None:
    years, ser = _yearly(results)
    fig, ax = _figure("Migration flows per year", "million persons")
    for ind in ("outflow", "returnflow", "exitflow"):
        v = annual(np.asarray(ser[ind, "total"], np.float64), ind)
        ax.plot(years, v / 1e6, marker="o", label=ind)
    _out_of_sample(ax, years)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize="small")
    _save(fig, path)


def plot_profile(results, path: Path) -> None:
    years, ser = _yearly(results)
    fig, ax = _figure("Migrant profile (end of year)", "share of stock")
    for ind, name in (("share_male", "male"), ("share_aged_15_29", "aged 15-29")):
        ax.plot(years, annual(ser[ind, "total"], ind), marker="o", label=name)
    _out_of_sample(ax, years)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower left", fontsize="small")
    _save(fig, path)


def plot_cohorts(results, path: Path) -> None:
    """Share away of each five-year birth cohort against its age (one line per cohort).

    Against age rather than calendar year: each cohort then occupies its own stretch of the
    axis (it ages one year per calendar year), so a run's ten or more lines hardly overlap, and
    cohorts compare at the same age, which is the cohort question (do the young of later
    cohorts leave more, and do the older return?). Against calendar year all lines share the
    same years and pile up. A cohort is placed at its middle age (year - first birth year - 2),
    and drawn only in years when all its five birth years are aged 15-64 (edge years, with
    only the youngest or oldest members, would mix ages)."""
    from matplotlib import colormaps

    frame = cohort_frame(results)
    full = frame[(frame["age_max"].astype(int) - frame["age_min"].astype(int))
                 == COHORT_YEARS - 1]
    fig, ax = _figure("Share of each birth cohort away (end of year)", "share away")
    ax.set_xlabel("age (middle of the five-year birth cohort)")
    cohorts = sorted(full["cohort"].unique())
    cmap = colormaps["viridis"]
    for k, c in enumerate(cohorts):
        part = full[full["cohort"] == c]
        age = part["year"].astype(int) - int(c[:4]) - (COHORT_YEARS - 1) // 2
        ax.plot(age, part["share_away"], marker=".", color=cmap(k / max(len(cohorts) - 1, 1)),
                label=f"born {c}")
    ax.set_xlim(AGE_MIN, AGE_MAX)
    ax.set_ylim(bottom=0)
    if cohorts:
        ax.legend(loc="best", fontsize="x-small", ncols=2)
    _save(fig, path)


def plot_urbanisation(results, path: Path) -> None:
    """Urbanisation by residence and by hukou, and the gap (``sim.io.urbanisation``); a run
    that does not count children and elders says so on an empty plot."""
    years, ser = _yearly(results)
    fig, ax = _figure("Urbanisation by residence and by hukou (end of year)",
                      "share of the population")
    if ("urbanisation_by_residence", "total") in ser:
        for ind, name in (("urbanisation_by_residence", "by residence"),
                          ("urbanisation_by_hukou", "by hukou"),
                          ("urbanisation_gap", "gap: rural migrants and children in cities")):
            ax.plot(years, annual(ser[ind, "total"], ind), marker=".", label=name)
        # below the "out of sample" label, in the empty top of the plot
        ax.legend(loc="upper left", bbox_to_anchor=(0, 0.92), fontsize="small")
    else:
        ax.text(0.5, 0.5, "not counted: this run has no household life course or elders",
                transform=ax.transAxes, ha="center", color="0.4")
    _out_of_sample(ax, years)
    ax.set_ylim(0, 1)
    _save(fig, path)


def plot_children(results, path: Path) -> None:
    """Share of children left behind by their age, for every fifth year and the last (left);
    share away of parents of children under 15 and of other rural persons by age, in the last
    recorded year up to 2005, the year of the 1% survey, at ages where parents are at least 2% of
    the persons (right). A run without the household
    life course says so on empty panels."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    kids, par = children_age_frame(results), parent_age_frame(results)
    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.set_title("Children left behind, by age (end of year)")
    left.set_xlabel("age of the child")
    left.set_ylabel("share of the children of that age")
    right.set_xlabel("age")
    right.set_ylabel("share away")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    years = sorted(kids["year"].unique())
    if not years:
        right.set_title("Parents and others away, by age")
        for ax in (left, right):
            ax.text(0.5, 0.5, "not counted: this run has no household life course",
                    transform=ax.transAxes, ha="center", color="0.4")
        _save(fig, path)
        return
    shown = [y for y in years if y % 5 == 0 or y == years[-1]]
    cmap = colormaps["viridis"]
    for k, y in enumerate(shown):
        part = kids[kids["year"] == y]
        left.plot(part["age"], part["share_left_behind"], marker=".", label=str(y),
                  color=cmap(k / max(len(shown) - 1, 1)))
    left.set_ylim(bottom=0)
    left.legend(loc="best", fontsize="x-small")
    year = max([y for y in years if y <= 2005] or [years[-1]])
    part = par[(par["year"] == year) & (par["age"] <= 49)]
    # ages where parents are rare (under 2% of the persons) give noise, not a share
    part = part.assign(share_away_parents=part["share_away_parents"].where(
        part["parents"] >= 0.02 * part["persons"]))
    right.set_title(f"Parents of children under 15 and others away, {year}")
    right.plot(part["age"], part["share_away_parents"], marker=".", label="parents")
    right.plot(part["age"], part["share_away_others"], marker=".", label="others")
    right.set_ylim(bottom=0)
    right.legend(loc="best", fontsize="small")
    _save(fig, path)


def write_tables(results, out: Path) -> None:
    """The cohort tables of a run (:mod:`sim.io.cohorts`) and its tables of children and
    parents by age (:mod:`sim.io.families`) into ``out``."""
    write_parquet(cohort_frame(results), out / COHORTS)
    write_parquet(migrant_age_frame(results), out / MIGRANT_AGES)
    write_parquet(children_age_frame(results), out / CHILDREN_AGES)
    write_parquet(parent_age_frame(results), out / PARENT_AGES)


def write_plots(results, out: Path) -> list[str]:
    """All PNG plots of a run into ``out`` (Agg, no display); returns the names written."""
    names = iter(CHART_FILES)
    plot_stock(results, out / next(names))
    plot_distance_shares(results, out / next(names))
    plot_tiers(results, out / next(names))
    plot_flows(results, out / next(names))
    plot_profile(results, out / next(names))
    plot_cohorts(results, out / next(names))
    plot_urbanisation(results, out / next(names))
    plot_children(results, out / next(names))
    return [*CHART_FILES, *write_maps(results, out)]


# ------------------------------------------------------------------ directory handling
def is_run_dir(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def check_out_dir(out_dir: str | Path) -> Path:
    """Absolute output path, or :class:`OutputError` if writing there would clobber data."""
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not is_run_dir(out):
        raise OutputError(f"refusing to overwrite {out}: it is not empty and holds no "
                          f"{MANIFEST}, so it is not a migsim run directory; choose another --out")
    return out


def swap_in(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, replacing an existing run directory."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_run(results, out_dir: str | Path, manifest_extra: Mapping[str, Any] | None = None, *,
              params=None, simulation=None, plots: bool = True,
              files: Mapping[str, Path] | None = None) -> Path:
    """Write a run directory atomically and return its path.

    ``params`` (a :class:`~sim.params.Params`) or ``simulation`` (whose params and timings are
    used) fill the manifest's parameter fields; ``manifest_extra`` adds or overrides fields
    (scenario name and file, wall time, ...). ``plots=False`` skips the PNG plots (batches).
    ``files`` ({name: path}) are moved into the directory before the manifest (a saved state).
    """
    t0 = time.perf_counter()
    out = check_out_dir(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write_parquet(results.to_frame(), tmp / TIMESERIES)
        (tmp / SUMMARY).write_text(dumps(results.summary()), encoding="utf-8")
        write_tables(results, tmp)
        drawn = write_plots(results, tmp) if plots else []
        man = build_manifest(results, params, simulation, manifest_extra)
        man["files"] = [TIMESERIES, SUMMARY, *TABLE_FILES, *drawn]
        for name, src in (files or {}).items():
            os.replace(src, tmp / name)
            man["files"].append(name)
        man["write_seconds"] = time.perf_counter() - t0
        if man.get("wall_seconds") is None:
            man["wall_seconds"] = sum(man.get(k) or 0.0 for k in
                                      ("build_seconds", "run_seconds", "write_seconds"))
        (tmp / MANIFEST).write_text(dumps(man), encoding="utf-8")
        check_out_dir(out)
        swap_in(tmp, out)
    except OSError as e:  # a full disk, a quota, permissions: say so, leave nothing behind
        shutil.rmtree(tmp, ignore_errors=True)
        kept = "; the previous run there is untouched" if is_run_dir(out) else ""
        where = f" ({Path(e.filename).name})" if e.filename else ""
        raise OutputError(f"cannot write the run directory {out}{where}: "
                          f"{e.strerror or e}; nothing was written{kept}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
