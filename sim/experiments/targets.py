"""Calibration targets from the seed report and the comparison of a run against them.

Targets live in ``calibration/targets.toml`` (indicator, group, year, value, band, source),
shipped inside the package as the data of ``sim.calibration``.
A target refers to one year (``year``: the December value, or the year's sum for flows) or to
a span of years (``years = [first, last]``: the mean of those yearly values), for figures a
source gives as "annual" over the period it describes. ``compare(results)`` gives one row per
target: simulated value, target, band and whether the simulated value lies in the band.

Each target says what it is for (``use``): ``"fit"`` targets may set parameters (the
calibration's objective and the sensitivity analysis), ``"check"`` targets are kept out of
fitting and only reported. A target without ``use`` is ``"fit"`` when asserted and ``"check"``
when not (``assert = false``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.io.files import package_dir
from sim.io.results import Results
from sim.io.yearly import FLOW_INDICATORS

# the repository's calibration/targets.toml, installed as package data of sim.calibration
DEFAULT_FILE = package_dir("sim.calibration", "calibration") / "targets.toml"
USES = ("fit", "check")  # what a target is for: setting parameters, or only checking


@dataclass(frozen=True)
class Target:
    name: str
    indicator: str
    group: str
    year: int  # first (or only) year
    value: float
    lo: float
    hi: float
    source: str
    asserted: bool = True
    last_year: int | None = None  # set for a span: the value is the mean over the years
    use: str = "fit"  # "fit": may set parameters; "check": kept out of fitting, reported

    @property
    def years(self) -> range:
        return range(self.year, (self.last_year or self.year) + 1)

    @property
    def period(self) -> str:
        return f"{self.year}-{self.last_year}" if self.last_year else str(self.year)


def load_targets(path: str | Path = DEFAULT_FILE) -> list[Target]:
    """Read the targets file; each entry needs a `range` or a `tol`, and a `year` or a span
    `years = [first, last]`; `use` is "fit" or "check" (default: "fit" if asserted, else
    "check")."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    out = []
    for t in data["target"]:
        missing = [k for k in ("name", "indicator", "group", "value", "source") if k not in t]
        if missing or ("range" not in t and "tol" not in t):
            lacks = missing or ["range or tol"]
            raise ValueError(f"{path}: target {t.get('name')!r} lacks {lacks}")
        if ("year" in t) == ("years" in t):
            raise ValueError(f"{path}: target {t.get('name')!r} needs exactly one of `year` "
                             "and `years = [first, last]`")
        if "years" in t:
            first, last = (int(y) for y in t["years"])
            if not first < last:
                raise ValueError(f"{path}: target {t['name']!r}: `years` must be [first, last] "
                                 f"with first < last, got {t['years']}")
        else:
            first, last = int(t["year"]), None
        if "range" in t:
            lo, hi = (float(x) for x in t["range"])
        else:
            lo, hi = t["value"] - t["tol"], t["value"] + t["tol"]
        asserted = bool(t.get("assert", True))
        use = t.get("use", "fit" if asserted else "check")
        if use not in USES:
            raise ValueError(f"{path}: target {t['name']!r}: `use` must be one of {USES}, "
                             f"got {use!r}")
        out.append(
            Target(
                t["name"],
                t["indicator"],
                t["group"],
                first,
                float(t["value"]),
                lo,
                hi,
                t["source"],
                asserted,
                last,
                use,
            )
        )
    return out


def simulated(results: Results, indicator: str, group: str, year: int | range) -> float:
    """The run's value of an indicator in a year: December, or the year's sum for flows. For a
    range of years, the mean of the yearly values (NaN if any year is missing)."""
    if isinstance(year, range):
        vals = [simulated(results, indicator, group, y) for y in year]
        return float(np.mean(vals)) if vals else float("nan")
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
        s = simulated(results, t.indicator, t.group, t.years)
        rows.append(
            {
                "target": t.name,
                "year": t.period,
                "simulated": s,
                "value": t.value,
                "low": t.lo,
                "high": t.hi,
                "within": bool(t.lo <= s <= t.hi),
                "asserted": t.asserted,
                "use": t.use,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)
