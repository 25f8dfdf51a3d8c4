"""Runs on disk against the seed targets, with the spread over replicates.

:func:`sim.experiments.targets.compare` puts one run in memory next to
``calibration/targets.toml``. This
module does the same for what ``migsim run`` and ``migsim batch`` wrote: every replicate is
scored on its own (the December value, or the year's sum for flows; the mean over the years of
a span target), then summarised per scenario and parameter point: mean, smallest and largest
value over replicates, and how many replicates lie in the band. A target is *met* when the
replicate mean lies in its band; ``position`` says where in the band (-1 floor, +1 top),
``n_within`` how robust that is across seeds, :func:`at_edge` which met targets sit at an
edge, and :func:`all_in_band` how many replicates meet every asserted target at once.

Reads only; ``migsim validate`` writes the table as CSV when asked, atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.effects import KEYS, yearly
from sim.experiments.errors import ReportError
from sim.experiments.store import load_runs
from sim.experiments.targets import DEFAULT_FILE, Target, load_targets

COLUMNS = ("scenario", "point", "target", "period", "indicator", "group", "n", "mean", "min",
           "max", "low", "high", "position", "n_within", "met", "asserted", "use", "source")
EDGE = 0.9  # |position| from which a met target's mean is reported as at the edge of its band


def position(mean: float, low: float, high: float) -> float:
    """Where ``mean`` sits in the band ``[low, high]``: -1 at the floor, 0 in the middle, +1 at
    the top, beyond +/-1 outside (NaN for a point band or a missing mean)."""
    half = (high - low) / 2.0
    if not half > 0 or not np.isfinite(mean):
        return float("nan")
    return float((mean - (low + high) / 2.0) / half)


def at_edge(table: pd.DataFrame, asserted: bool = True) -> pd.DataFrame:
    """The rows whose mean is in its band but within ``1 - EDGE`` half-bands of an edge
    (asserted targets only, by default): fits that a small change can lose."""
    rows = table[table["met"] & (table["position"].abs() >= EDGE)]
    return rows[rows["asserted"]] if asserted else rows


def load(path: str | Path, targets: list[Target]) -> pd.DataFrame:
    """The yearly values the targets need, from a run directory or a batch directory."""
    names = sorted({t.indicator for t in targets})
    return yearly(load_runs(path, names, allow_run_dir=True))


def replicate_values(yearly_frame: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """One row per run and target: the run's value (NaN when a year is not simulated)."""
    runs = yearly_frame[KEYS].drop_duplicates().reset_index(drop=True)
    idx = yearly_frame.set_index(["indicator", "group", *KEYS, "year"])["value"].sort_index()
    rows = []
    for t in targets:
        for run in runs.itertuples(index=False):
            vals = []
            for y in t.years:
                key = (t.indicator, t.group, *run, y)
                vals.append(float(idx[key]) if key in idx.index else np.nan)
            rows.append({**run._asdict(), "target": t.name, "value": float(np.mean(vals))})
    return pd.DataFrame(rows, columns=[*KEYS, "target", "value"])


def summarise(values: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """Per scenario, point and target: replicates, mean, min, max, band and replicates in it."""
    by_name = {t.name: t for t in targets}
    rows = []
    for (scn, point, name), g in values.groupby(["scenario", "point", "target"], sort=False):
        t = by_name[name]
        v = g["value"].to_numpy()
        ok = v[~np.isnan(v)]
        mean = float(ok.mean()) if ok.size == v.size and v.size else np.nan
        rows.append({
            "scenario": scn, "point": int(point), "target": name, "period": t.period,
            "indicator": t.indicator, "group": t.group, "n": int(v.size), "mean": mean,
            "min": float(ok.min()) if ok.size else np.nan,
            "max": float(ok.max()) if ok.size else np.nan,
            "low": t.lo, "high": t.hi, "position": position(mean, t.lo, t.hi),
            "n_within": int(np.sum((ok >= t.lo) & (ok <= t.hi))),
            "met": bool(t.lo <= mean <= t.hi), "asserted": t.asserted, "use": t.use,
            "source": t.source,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def all_in_band(values: pd.DataFrame, targets: list[Target], asserted: bool = True
                ) -> pd.DataFrame:
    """Per scenario and point: replicates ``n`` and how many have every (asserted, or every)
    target in its band at once, ``n_all`` (a value that is NaN counts as out; a replicate
    without a row for every target is left out):
    the all-in-band share of a predictive check at these parameters, whose spread is the
    seeds' alone."""
    names = {t.name for t in targets if t.asserted or not asserted}
    band = {t.name: (t.lo, t.hi) for t in targets}
    v = values[values["target"].isin(names)].copy()
    lo, hi = (v["target"].map(lambda n, k=k: band[n][k]) for k in (0, 1))
    v["ok"] = (v["value"] >= lo) & (v["value"] <= hi)
    per_run = v.groupby(KEYS, sort=False)["ok"].agg(["all", "size"]).reset_index()
    per_run = per_run[per_run["size"] == len(names)] if names else per_run
    out = per_run.groupby(["scenario", "point"], sort=False)["all"].agg(
        n="size", n_all="sum").reset_index()
    out["n_all"] = out["n_all"].astype(int)
    out["targets"] = len(names)
    return out


def score(path: str | Path, targets_file: str | Path = DEFAULT_FILE,
          scenario: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`validate`'s table and :func:`all_in_band` over the asserted targets."""
    targets = load_targets(targets_file)
    frame = _frame(path, targets, scenario)
    values = replicate_values(frame, targets)
    return _checked(summarise(values, targets), frame, path), all_in_band(values, targets)


def _frame(path, targets, scenario):
    frame = load(path, targets)
    if scenario is not None:
        have = sorted(set(frame["scenario"]))
        if scenario not in have:
            raise ReportError(f"no scenario {scenario!r} in {path}; it holds: {', '.join(have)}")
        frame = frame[frame["scenario"] == scenario]
    return frame


def _checked(table, frame, path):
    if table["mean"].isna().all():
        years = sorted(set(frame["year"]))
        span = f"{years[0]}-{years[-1]}" if years else "no years"
        raise ReportError(f"the runs in {path} cover {span}, none of the target years "
                          "(run 1985-2006, e.g. the baseline scenario)")
    return table


def validate(path: str | Path, targets_file: str | Path = DEFAULT_FILE,
             scenario: str | None = None) -> pd.DataFrame:
    """Summary table of a run or batch directory against the targets (see the module doc).
    ``scenario`` keeps one scenario of a batch. Raises :class:`~sim.report.ReportError` for a
    missing or empty directory, an unknown scenario, or runs that cover none of the targets'
    years."""
    return score(path, targets_file, scenario)[0]


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table as CSV atomically (a temporary sibling renamed into place)."""
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["COLUMNS", "all_in_band", "load", "replicate_values", "score", "summarise", "validate",
           "write_csv"]
