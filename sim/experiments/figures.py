"""Report figures: levels with bands and paired differences, CRN variance ratios (PNG)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.effects import label


def slug(indicator: str, group: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", f"{indicator}__{group}").strip("_").lower()


# ------------------------------------------------------------------ figures
def _figure_pair(title: str):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2)
    fig.suptitle(title)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, axes


def plot_indicator(band: pd.DataFrame, summ: pd.DataFrame, indicator: str, group: str,
                   baseline: str, scenarios: Sequence[str], level: float, path: Path) -> None:
    """Levels with across-replicate bands (left) and paired differences with their confidence
    band (right) of one indicator, as a PNG."""
    fig, (ax1, ax2) = _figure_pair(label(indicator, group))
    b = band[(band["indicator"] == indicator) & (band["group"] == group)]
    kinds = set()
    for k, scn in enumerate([baseline, *scenarios]):
        cur = b[b["scenario"] == scn].sort_values("year")
        if cur.empty:
            continue
        kinds.update(cur["band"])
        color = f"C{k}"
        ax1.plot(cur["year"], cur["mean"], marker="o", color=color, label=scn)
        ax1.fill_between(cur["year"], cur["lo"], cur["hi"], color=color, alpha=0.2, lw=0)
    ax1.set_title(f"mean and {' / '.join(sorted(kinds))} over replicates", fontsize="medium")
    ax1.legend(loc="best", fontsize="small")
    s = summ[(summ["indicator"] == indicator) & (summ["group"] == group)]
    for k, scn in enumerate(scenarios, start=1):
        cur = s[s["scenario"] == scn].sort_values("year")
        if cur.empty:
            continue
        color = f"C{k}"
        ax2.plot(cur["year"], cur["mean_diff"], marker="o", color=color, label=scn)
        ax2.fill_between(cur["year"], cur["ci_low"], cur["ci_high"], color=color, alpha=0.2,
                         lw=0)
    ax2.axhline(0.0, color="black", lw=0.8)
    ax2.set_title(f"paired difference vs {baseline}, mean and {level:.0%} CI",
                  fontsize="medium")
    ax2.legend(loc="best", fontsize="small")
    fig.savefig(path, format="png", metadata={"Software": None})


def plot_crn(crn: pd.DataFrame, path: Path) -> None:
    """Bar chart of CRN variance ratios (log scale), one bar per scenario and indicator."""
    from matplotlib.figure import Figure

    ok = crn[np.isfinite(crn["variance_ratio"]) & (crn["variance_ratio"] > 0)]
    fig = Figure(figsize=(8, 0.6 + 0.35 * max(len(ok), 1)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    names = [f"{s}: {label(i, g)}" for s, i, g in
             zip(ok["scenario"], ok["indicator"], ok["group"], strict=True)]
    ax.barh(np.arange(len(ok)), ok["variance_ratio"], color="C0")
    ax.set_yticks(np.arange(len(ok)), names, fontsize="small")
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("var(paired CRN differences) / var(independent-seed differences)")
    ax.set_title("Variance reduction from common random numbers")
    ax.grid(alpha=0.3, axis="x")
    fig.savefig(path, format="png", metadata={"Software": None})


def map_file(scenario: str) -> str:
    """File name of a scenario's province map in the report directory."""
    return f"fig_map_{re.sub(r'[^A-Za-z0-9_]+', '_', scenario).strip('_').lower()}.png"


def plot_province_map(diff: Mapping[str, float], scenario: str, baseline: str, year: int,
                      path: Path) -> None:
    """Choropleth of the mean paired difference (scenario minus baseline) of the migrant stock
    by destination province, in thousand persons (:func:`sim.io.maps.choropleth`)."""
    from sim.io.maps import choropleth

    choropleth({n: v / 1e3 for n, v in diff.items()}, path,
               f"Migrants by destination province, December {year}\n{scenario} − {baseline}",
               "thousand persons (mean paired difference)", diverging=True)


__all__ = ["map_file", "plot_crn", "plot_indicator", "plot_province_map", "slug"]
