"""Calibration targets from the seed report and the comparison of a run against them.

Targets live in ``calibration/targets.toml`` (indicator, group, year, value, band, source).
``compare(results)`` gives one row per target: simulated value, target, band and whether the
simulated value lies in the band.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.results import FLOW_INDICATORS, Results

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "calibration" / "targets.toml"


@dataclass(frozen=True)
class Target:
    name: str
    indicator: str
    group: str
    year: int
    value: float
    lo: float
    hi: float
    source: str
    asserted: bool = True


def load_targets(path: str | Path = DEFAULT_FILE) -> list[Target]:
    """Read the targets file; each entry needs a `range` or a `tol`."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    out = []
    for t in data["target"]:
        if "range" in t:
            lo, hi = (float(x) for x in t["range"])
        else:
            lo, hi = t["value"] - t["tol"], t["value"] + t["tol"]
        out.append(
            Target(
                t["name"],
                t["indicator"],
                t["group"],
                int(t["year"]),
                float(t["value"]),
                lo,
                hi,
                t["source"],
                bool(t.get("assert", True)),
            )
        )
    return out


def simulated(results: Results, indicator: str, group: str, year: int) -> float:
    """The run's value of an indicator in a year: December, or the year's sum for flows."""
    ser = results.series()[indicator, group]
    years = results.calendar()[0]
    sel = years == year
    if not sel.any():
        return float("nan")
    v = ser[sel]
    if indicator in FLOW_INDICATORS:
        return float(np.nansum(v))
    v = v[~np.isnan(v)]
    return float(v[-1]) if v.size else float("nan")


def compare(results: Results, targets: list[Target] | None = None):
    """Table (pandas) of simulated vs target values, with bands and pass/fail."""
    import pandas as pd

    rows = []
    for t in targets or load_targets():
        s = simulated(results, t.indicator, t.group, t.year)
        rows.append(
            {
                "target": t.name,
                "year": t.year,
                "simulated": s,
                "value": t.value,
                "low": t.lo,
                "high": t.hi,
                "within": bool(t.lo <= s <= t.hi),
                "asserted": t.asserted,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)
