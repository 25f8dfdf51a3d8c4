"""Comparing the scenarios of a batch: paired effects with confidence intervals, and a report.

A batch directory holds one run directory per scenario, parameter point and replicate
(``runs/<scenario>__p<point>__r<rep>/``, each with ``manifest.json`` and
``timeseries.parquet``). Replicate r uses the same seed in every scenario (common random
numbers, CRN), so the effect of a scenario is measured replicate by replicate: the paired
difference scenario minus baseline of replicate r. Its mean over replicates estimates the effect
and a t interval over replicates gives its confidence interval. Because both runs of a pair share
every random draw except where the policy changes a decision, the paired differences vary much
less than differences between runs with different seeds; :func:`crn_variance_ratio` measures by
how much (pairing replicate r of the scenario with replicate r+1 of the baseline, cyclically,
as the independent-seed reference).

Yearly values follow :meth:`sim.io.results.Results.annual`:
flows (:data:`sim.io.results.FLOW_INDICATORS`)
are summed over the year, stocks and shares are taken at December (the last month recorded).

:func:`write_report` writes ``report.md``, ``report.html`` (same content) and PNG figures into a
report directory, atomically (a hidden temporary sibling renamed into place).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.io.output import swap_in
from sim.io.results import FLOW_INDICATORS

RUNS = "runs"
MANIFEST = "manifest.json"
TIMESERIES = "timeseries.parquet"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
YEARLY_CSV = "yearly.csv"
EFFECTS_CSV = "effects.csv"

# (indicator, group) compared by default
KEY_INDICATORS: tuple[tuple[str, str], ...] = (
    ("migrant_stock", "total"),
    ("share_to_six_destinations", "total"),
    ("unemployment_rate", "migrants"),
    ("mean_wage_rmb_2000", "migrants"),
    ("share_fully_paid", "migrants"),
    ("rural_income_per_head_rmb_year", "total"),
    ("urban_rural_income_ratio", "total"),
    ("children_left_behind", "total"),
    ("hukou_conversions", "total"),
)
KEYS = ["scenario", "point", "replicate", "seed"]
BAND_MIN_REPLICATES = 10  # from this many replicates on, bands are the central 90 %


class ReportError(ValueError):
    """A batch that cannot be compared (no runs, unknown baseline or indicator, ...)."""


# ------------------------------------------------------------------ loading
def run_dirs(batch_dir: str | Path) -> list[Path]:
    """Run directories of a batch (those under ``runs/`` holding a manifest), sorted."""
    return sorted(p.parent for p in Path(batch_dir).glob(f"{RUNS}/*/{MANIFEST}"))


def _is_migsim_batch(batch_dir: Path) -> bool:
    try:
        info = json.loads((batch_dir / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("kind") == "migsim-batch"


def load_runs(batch_dir: str | Path, indicators: Iterable[str] | None = None) -> pd.DataFrame:
    """All complete runs of a batch as one tidy table: scenario, point, replicate, seed, year,
    month, indicator, group, value. A directory written by ``migsim batch`` (``batch.json`` of
    kind ``migsim-batch``) is read with :func:`sim.experiments.batch.load`; any other directory with
    ``runs/<run>/manifest.json`` is read run by run. ``indicators`` (names) keeps only those
    indicators, to save memory."""
    batch_dir = Path(batch_dir)
    if not batch_dir.is_dir():
        raise ReportError(f"batch directory {batch_dir} does not exist")
    names = sorted(set(indicators)) if indicators is not None else None
    if _is_migsim_batch(batch_dir):
        from sim.experiments import batch

        try:
            frame = batch.load(batch_dir, names)
        except batch.BatchError as e:
            raise ReportError(str(e)) from None
        if frame.empty and not run_dirs(batch_dir):
            raise ReportError(f"no complete runs in {batch_dir} (run the batch first)")
        frame = frame.astype({"scenario": str, "indicator": str, "group": str, "point": np.int64,
                              "replicate": np.int64, "seed": np.int64, "year": np.int64,
                              "month": np.int64})
        return frame
    dirs = run_dirs(batch_dir)
    if not dirs:
        raise ReportError(f"no runs in {batch_dir}: expected {RUNS}/<run>/{MANIFEST} "
                          "(write a batch first)")
    parts = []
    for d in dirs:
        man = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        ts = d / TIMESERIES
        if man.get("status") != "complete" or not ts.is_file():
            continue  # an unfinished or failed run
        filters = [("indicator", "in", names)] if names else None
        df = pd.read_parquet(ts, filters=filters)
        df["indicator"] = df["indicator"].astype(str)
        df["group"] = df["group"].astype(str)
        scenario = man.get("scenario") or d.name.split("__")[0]
        point = man.get("point_id", man.get("point", 0))
        df.insert(0, "scenario", str(scenario))
        df.insert(1, "point", int(point or 0))
        df.insert(2, "replicate", int(man.get("replicate", 0) or 0))
        df.insert(3, "seed", int(man["seed"]) if man.get("seed") is not None else -1)
        parts.append(df)
    if not parts:
        raise ReportError(f"no complete runs in {batch_dir}")
    frame = pd.concat(parts, ignore_index=True)
    frame["year"] = frame["year"].astype(np.int64)
    frame["month"] = frame["month"].astype(np.int64)
    dup = frame.duplicated(["scenario", "point", "replicate", "year", "month", "indicator",
                            "group"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise ReportError(f"batch {batch_dir} holds two runs of scenario {row.scenario!r}, "
                          f"point {row.point}, replicate {row.replicate}")
    return frame


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Scenarios with several parameter points become one compared unit per point,
    ``<scenario>/p<point>``; point 0 of a single-point scenario keeps its name."""
    points = frame.groupby("scenario", sort=False)["point"].nunique()
    multi = set(points[points > 1].index)
    if not multi:
        return frame
    frame = frame.copy()
    sel = frame["scenario"].isin(multi)
    frame.loc[sel, "scenario"] = [f"{s}/p{p:03d}" for s, p in
                                  zip(frame.loc[sel, "scenario"], frame.loc[sel, "point"],
                                      strict=True)]
    return frame


def yearly(frame: pd.DataFrame) -> pd.DataFrame:
    """Yearly table: scenario, point, replicate, seed, year, indicator, group, value; flows
    summed over the year, everything else at the year's last recorded month (December).
    A frame that is already yearly (no ``month`` column) is returned as is."""
    if "month" not in frame.columns:
        return frame
    if frame.empty:
        return frame.drop(columns="month").reset_index(drop=True)
    keys = [*KEYS, "year", "indicator", "group"]
    flow = frame["indicator"].isin(FLOW_INDICATORS)
    parts = []
    if flow.any():
        parts.append(frame[flow].groupby(keys, sort=False, observed=True)["value"].sum()
                     .reset_index())
    if (~flow).any():
        last = frame[~flow].sort_values("month", kind="stable")
        parts.append(last.groupby(keys, sort=False, observed=True)["value"].last()
                     .reset_index())
    out = pd.concat(parts, ignore_index=True)
    for c in ("indicator", "group", "scenario"):
        out[c] = out[c].astype(str)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------ indicators
def parse_indicator(spec: str | tuple[str, str]) -> tuple[str, str | None]:
    """``"name"``, ``"name[group]"``, ``"name/group"`` or ``(name, group)`` as (name, group);
    the group is None when not given."""
    if isinstance(spec, tuple):
        return spec[0], spec[1]
    s = spec.strip()
    m = re.fullmatch(r"([^\[\]/]+)\[(.+)\]", s)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    if "/" in s:
        name, group = s.split("/", 1)
        return name.strip(), group.strip()
    return s, None


def _listing(names: Iterable[str], most: int = 25) -> str:
    names = sorted(names)
    more = f", ... ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def resolve_indicators(frame: pd.DataFrame,
                       indicators: Sequence[str | tuple[str, str]] | None = None,
                       ) -> list[tuple[str, str]]:
    """(indicator, group) pairs present in ``frame``; a missing group defaults to ``total``,
    else ``migrants``, else the indicator's only group. Unknown ones raise :class:`ReportError`
    (default indicators absent from the batch are skipped)."""
    default = indicators is None
    specs = list(KEY_INDICATORS) if default else [parse_indicator(s) for s in indicators]
    groups = frame.groupby("indicator", observed=True)["group"].unique()
    have = {k: set(v) for k, v in groups.items()}
    out: list[tuple[str, str]] = []
    for name, group in specs:
        if name not in have:
            if default:
                continue
            raise ReportError(f"unknown indicator {name!r}; the batch has: "
                              f"{', '.join(sorted(have))}")
        if group is None:
            gs = have[name]
            group = next((g for g in ("total", "migrants") if g in gs), None)
            if group is None:
                if len(gs) != 1:
                    raise ReportError(f"indicator {name!r} has several groups; choose one as "
                                      f"{name}[group] from: {_listing(gs)}")
                group = next(iter(gs))
        if group not in have[name]:
            if default:
                continue
            raise ReportError(f"indicator {name!r} has no group {group!r}; groups: "
                              f"{_listing(have[name])}")
        if (name, group) not in out:
            out.append((name, group))
    if not out:
        raise ReportError("none of the indicators to compare is in the batch")
    return out


def _select(frame: pd.DataFrame, indicators: Sequence[tuple[str, str]]) -> pd.DataFrame:
    pairs = pd.MultiIndex.from_tuples(list(indicators), names=["indicator", "group"])
    idx = pd.MultiIndex.from_arrays([frame["indicator"], frame["group"]])
    return frame[idx.isin(pairs)]


def scenarios_of(frame: pd.DataFrame) -> list[str]:
    """Scenario names in order of first appearance (the batch order)."""
    return list(dict.fromkeys(frame["scenario"]))


def choose_baseline(frame: pd.DataFrame, baseline: str | None = None) -> str:
    names = scenarios_of(frame)
    if baseline is None:
        return "baseline" if "baseline" in names else names[0]
    if baseline not in names:
        raise ReportError(f"baseline scenario {baseline!r} is not in the batch; scenarios: "
                          f"{', '.join(names)}")
    return baseline


# ------------------------------------------------------------------ statistics
def _ci(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float):
    from scipy import stats

    n = np.asarray(n, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
        half = q * sd / np.sqrt(n)
    return mean - half, mean + half


def paired_differences(frame: pd.DataFrame, baseline: str | None = None,
                       indicators: Sequence[str | tuple[str, str]] | None = None,
                       ) -> pd.DataFrame:
    """Replicate-by-replicate differences scenario minus baseline, yearly.

    Columns: scenario, replicate, seed, baseline_seed, year, indicator, group, value,
    baseline_value, diff. Replicates are matched on the replicate index; replicates missing on
    either side are dropped. ``frame`` is a batch table (monthly or already yearly).
    """
    y = _labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    y = _select(y, resolve_indicators(y, indicators))
    on = ["replicate", "year", "indicator", "group"]
    base = y[y["scenario"] == baseline][[*on, "seed", "value"]].rename(
        columns={"seed": "baseline_seed", "value": "baseline_value"})
    other = y[y["scenario"] != baseline][["scenario", *on, "seed", "value"]]
    out = other.merge(base, on=on, how="inner")
    out["diff"] = out["value"] - out["baseline_value"]
    cols = ["scenario", "replicate", "seed", "baseline_seed", "year", "indicator", "group",
            "value", "baseline_value", "diff"]
    return out[cols].sort_values(["scenario", "indicator", "group", "year", "replicate"],
                                 kind="stable").reset_index(drop=True)


def difference_summary(diffs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean paired difference per scenario, indicator and year with its t interval over
    replicates: columns scenario, indicator, group, year, n, mean_diff, sd_diff, ci_low,
    ci_high, baseline_mean, scenario_mean, rel_effect_pct, rel_ci_low_pct, rel_ci_high_pct."""
    g = diffs.groupby(["scenario", "indicator", "group", "year"], sort=False)
    out = g.agg(n=("diff", "size"), mean_diff=("diff", "mean"), sd_diff=("diff", "std"),
                baseline_mean=("baseline_value", "mean"), scenario_mean=("value", "mean"),
                ).reset_index()
    out["ci_low"], out["ci_high"] = _ci(out["mean_diff"].to_numpy(), out["sd_diff"].to_numpy(),
                                        out["n"].to_numpy(), level)
    b = out["baseline_mean"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(b != 0, 100.0 / np.abs(b), np.nan)
    out["rel_effect_pct"] = out["mean_diff"] * scale
    out["rel_ci_low_pct"] = out["ci_low"] * scale
    out["rel_ci_high_pct"] = out["ci_high"] * scale
    cols = ["scenario", "indicator", "group", "year", "n", "baseline_mean", "scenario_mean",
            "mean_diff", "sd_diff", "ci_low", "ci_high", "rel_effect_pct", "rel_ci_low_pct",
            "rel_ci_high_pct"]
    return out[cols]


def crn_variance_ratio(frame: pd.DataFrame, scenario: str, baseline: str, indicator: str,
                       group: str = "total", year: int | None = None) -> float:
    """Variance of paired (CRN) differences over the variance of independent-seed differences.

    Paired: replicate r of ``scenario`` minus replicate r of ``baseline`` (same seed).
    Independent: replicate r of ``scenario`` minus replicate r+1 of ``baseline`` (cyclically
    over the replicates both have, so a different seed). Both sample variances (ddof 1) of the
    indicator's yearly value in ``year`` (default: the last year). Below 1 means common random
    numbers make the comparison sharper; NaN with fewer than 2 replicates or no variance.
    """
    y = _labelled(yearly(frame))
    y = y[(y["indicator"] == indicator) & (y["group"] == group)]
    if year is None:
        if y.empty:
            return float("nan")
        year = int(y["year"].max())
    y = y[y["year"] == year]
    s = y[y["scenario"] == scenario].set_index("replicate")["value"]
    b = y[y["scenario"] == baseline].set_index("replicate")["value"]
    reps = sorted(set(s.index) & set(b.index))
    if len(reps) < 2:
        return float("nan")
    sv = s.loc[reps].to_numpy(np.float64)
    bv = b.loc[reps].to_numpy(np.float64)
    var_paired = np.var(sv - bv, ddof=1)
    var_indep = np.var(sv - np.roll(bv, -1), ddof=1)
    if not var_indep > 0:
        return float("nan")
    return float(var_paired / var_indep)


def crn_table(frame: pd.DataFrame, baseline: str | None = None,
              indicators: Sequence[str | tuple[str, str]] | None = None,
              year: int | None = None) -> pd.DataFrame:
    """:func:`crn_variance_ratio` for every non-baseline scenario and indicator, with both
    variances: columns scenario, indicator, group, year, n, var_paired, var_independent,
    variance_ratio."""
    y = _labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    inds = resolve_indicators(y, indicators)
    y = _select(y, inds)
    year = int(y["year"].max()) if year is None else year
    rows = []
    for scn in scenarios_of(y):
        if scn == baseline:
            continue
        for ind, grp in inds:
            cur = y[(y["indicator"] == ind) & (y["group"] == grp) & (y["year"] == year)]
            s = cur[cur["scenario"] == scn].set_index("replicate")["value"]
            b = cur[cur["scenario"] == baseline].set_index("replicate")["value"]
            reps = sorted(set(s.index) & set(b.index))
            vp = vi = float("nan")
            if len(reps) >= 2:
                sv, bv = s.loc[reps].to_numpy(float), b.loc[reps].to_numpy(float)
                vp = float(np.var(sv - bv, ddof=1))
                vi = float(np.var(sv - np.roll(bv, -1), ddof=1))
            rows.append({"scenario": scn, "indicator": ind, "group": grp, "year": year,
                         "n": len(reps), "var_paired": vp, "var_independent": vi,
                         "variance_ratio": crn_variance_ratio(y, scn, baseline, ind, grp, year)})
    return pd.DataFrame(rows, columns=["scenario", "indicator", "group", "year", "n",
                                       "var_paired", "var_independent", "variance_ratio"])


def effects_table(frame: pd.DataFrame, baseline: str | None = None,
                  indicators: Sequence[str | tuple[str, str]] | None = None,
                  year: int | None = None, level: float = 0.95) -> pd.DataFrame:
    """End-year effects, one row per non-baseline scenario and indicator: n, baseline_mean,
    scenario_mean, mean_diff, sd_diff, ci_low, ci_high (t interval at ``level``),
    rel_effect_pct (mean difference in % of the baseline mean) with its interval, and the CRN
    variance_ratio. ``year`` defaults to the last year of the batch."""
    if not 0.0 < level < 1.0:
        raise ReportError(f"confidence level must be in (0, 1), got {level}")
    y = _labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    inds = resolve_indicators(y, indicators)
    year = int(y["year"].max()) if year is None else int(year)
    d = paired_differences(y[y["year"] == year], baseline, inds)
    if d.empty:
        raise ReportError(f"no replicate of another scenario matches one of the baseline "
                          f"{baseline!r} in {year}")
    eff = difference_summary(d, level)
    crn = crn_table(y, baseline, inds, year)[["scenario", "indicator", "group",
                                              "variance_ratio"]]
    eff = eff.merge(crn, on=["scenario", "indicator", "group"], how="left")
    order = {k: i for i, k in enumerate(inds)}
    scn_order = {s: i for i, s in enumerate(scenarios_of(y))}
    eff["_o"] = [(scn_order[s], order[(i, g)]) for s, i, g in
                 zip(eff["scenario"], eff["indicator"], eff["group"], strict=True)]
    eff = eff.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    eff.insert(4, "level", level)
    return eff


def bands(frame: pd.DataFrame, indicators: Sequence[str | tuple[str, str]] | None = None,
          ) -> pd.DataFrame:
    """Across-replicate bands per scenario, indicator and year: n, mean, lo, hi and the band
    kind: the central 90 % (5th to 95th percentile) from :data:`BAND_MIN_REPLICATES`
    replicates on, else min-max."""
    y = _labelled(yearly(frame))
    y = _select(y, resolve_indicators(y, indicators))
    g = y.groupby(["scenario", "indicator", "group", "year"], sort=False)["value"]
    out = g.agg(n="size", mean="mean", min="min", max="max").reset_index()
    q05 = g.quantile(0.05).to_numpy()
    q95 = g.quantile(0.95).to_numpy()
    wide = out["n"].to_numpy() >= BAND_MIN_REPLICATES
    out["lo"] = np.where(wide, q05, out["min"])
    out["hi"] = np.where(wide, q95, out["max"])
    out["band"] = np.where(wide, "central 90%", "min-max")
    return out.drop(columns=["min", "max"])


# ------------------------------------------------------------------ formatting
def fmt(x: float) -> str:
    """A number compactly: millions as ``12.34 M``, thousands with separators, else 4
    significant digits."""
    if x is None or not np.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if a >= 1e3:
        return f"{x:,.0f}"
    if a == 0:
        return "0"
    return f"{x:.4g}"


def _fmt_ci(lo: float, hi: float) -> str:
    return f"[{fmt(lo)}, {fmt(hi)}]"


def _fmt_pct(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.2f} %"


def _fmt_ratio(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.3f}"


def label(indicator: str, group: str) -> str:
    return indicator if group == "total" else f"{indicator}[{group}]"


def _slug(indicator: str, group: str) -> str:
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


# ------------------------------------------------------------------ documents
# a report is a list of blocks: ("h", level, text), ("p", text), ("table", header, rows),
# ("img", alt, relative path), rendered to Markdown and to HTML
def to_markdown(blocks: list[tuple]) -> str:
    def cell(x: object) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    out: list[str] = []
    for b in blocks:
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "table":
            _, header, rows = b
            lines = ["| " + " | ".join(cell(h) for h in header) + " |",
                     "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
            out.append("\n".join(lines))
        elif b[0] == "img":
            alt = b[1].replace("[", "\\[").replace("]", "\\]")
            out.append(f"![{alt}]({b[2]})")
    return "\n\n".join(out) + "\n"


def _inline_html(text: str) -> str:
    """Escape, then render the few inline Markdown forms the report uses: `code`, **bold**."""
    s = html.escape(text, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
img{max-width:100%}code{background:#f4f4f4;padding:0 0.2em}"""


def to_html(blocks: list[tuple], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>",
           "<body>"]
    for b in blocks:
        if b[0] == "h":
            out.append(f"<h{b[1]}>{_inline_html(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            out.append(f"<p>{_inline_html(b[1])}</p>")
        elif b[0] == "table":
            _, header, rows = b
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{_inline_html(str(h))}</th>" for h in header)
                       + "</tr>")
            for r in rows:
                out.append("<tr>" + "".join(f"<td>{_inline_html(str(c))}</td>" for c in r)
                           + "</tr>")
            out.append("</table>")
        elif b[0] == "img":
            out.append(f'<p><img src="{html.escape(b[2])}" alt="{html.escape(b[1])}"></p>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _band_cell(band: pd.DataFrame, scenario: str, year: int) -> str:
    r = band[(band["scenario"] == scenario) & (band["year"] == year)]
    if r.empty:
        return "–"
    return f"{fmt(r['mean'].iat[0])} {_fmt_ci(r['lo'].iat[0], r['hi'].iat[0])}"


def build_blocks(batch_dir: Path, y: pd.DataFrame, baseline: str,
                 inds: Sequence[tuple[str, str]], eff: pd.DataFrame, crn: pd.DataFrame,
                 band: pd.DataFrame, summ: pd.DataFrame, figures: dict, level: float,
                 ) -> list[tuple]:
    scns = scenarios_of(y)
    others = [s for s in scns if s != baseline]
    reps = y.groupby("scenario")["replicate"].nunique()
    years = sorted(y["year"].unique())
    end = int(years[-1])
    blocks: list[tuple] = [("h", 1, f"Scenario comparison: {batch_dir.name}")]
    blocks.append(("p", f"Batch `{batch_dir}`; baseline **{baseline}**; years {years[0]}–{end}; "
                        f"replicates per scenario: "
                        + ", ".join(f"{s} {reps.get(s, 0)}" for s in scns) + "."))
    blocks.append(("p", "Replicate r of every scenario uses the same seed as replicate r of the "
                        "baseline (common random numbers), so effects are paired differences "
                        "(scenario minus baseline, replicate by replicate); their mean over "
                        f"replicates is the effect and a t interval gives its {level:.0%} "
                        "confidence interval. Yearly values: December for stocks and shares, "
                        "sums over the year for flows."))
    blocks.append(("h", 2, f"End-year effects ({end})"))
    rows = [(r.scenario, label(r.indicator, r.group), r.n, fmt(r.baseline_mean),
             fmt(r.scenario_mean), fmt(r.mean_diff), _fmt_ci(r.ci_low, r.ci_high),
             _fmt_pct(r.rel_effect_pct),
             f"[{_fmt_pct(r.rel_ci_low_pct)}, {_fmt_pct(r.rel_ci_high_pct)}]",
             _fmt_ratio(r.variance_ratio)) for r in eff.itertuples()]
    blocks.append(("table", ["scenario", "indicator", "n", f"{baseline} mean", "scenario mean",
                             "mean difference", f"{level:.0%} CI", "relative effect",
                             "relative CI", "CRN variance ratio"], rows))
    blocks.append(("h", 2, "Variance reduction from common random numbers"))
    blocks.append(("p", "Variance over replicates of the paired differences (same seed) divided "
                        "by the variance of differences between independent runs (replicate r of "
                        "the scenario minus replicate r+1 of the baseline, cyclically, which used "
                        f"another seed), in {end}. Below 1, pairing sharpens the comparison: the "
                        "ratio is roughly the factor by which common random numbers cut the "
                        "replicates needed for a given precision."))
    blocks.append(("table", ["scenario", "indicator", "n", "sd paired", "sd independent",
                             "variance ratio"],
                   [(r.scenario, label(r.indicator, r.group), r.n, fmt(math.sqrt(r.var_paired)),
                     fmt(math.sqrt(r.var_independent)), _fmt_ratio(r.variance_ratio))
                    for r in crn.itertuples()]))
    if "crn" in figures:
        blocks.append(("img", "CRN variance ratios", figures["crn"]))
    blocks.append(("h", 2, "Time series"))
    kinds = sorted(set(band["band"]))
    blocks.append(("p", f"Left: mean over replicates with the {' / '.join(kinds)} band. Right: "
                        f"mean paired difference from {baseline} with its {level:.0%} "
                        "confidence band."))
    for ind, grp in inds:
        blocks.append(("h", 3, label(ind, grp)))
        if (ind, grp) in figures:
            blocks.append(("img", label(ind, grp), figures[ind, grp]))
        b = band[(band["indicator"] == ind) & (band["group"] == grp)]
        s = summ[(summ["indicator"] == ind) & (summ["group"] == grp)]
        header = ["year", f"{baseline} mean [band]"]
        for scn in others:
            header += [f"{scn} mean [band]", f"{scn} − {baseline} [{level:.0%} CI]"]
        rows = []
        for yr in years:
            row = [str(yr), _band_cell(b, baseline, yr)]
            for scn in others:
                d = s[(s["scenario"] == scn) & (s["year"] == yr)]
                row += [_band_cell(b, scn, yr), "–" if d.empty else
                        f"{fmt(d['mean_diff'].iat[0])} "
                        f"{_fmt_ci(d['ci_low'].iat[0], d['ci_high'].iat[0])}"]
            rows.append(row)
        blocks.append(("table", header, rows))
    blocks.append(("p", f"Tables as CSV: `{EFFECTS_CSV}` (end-year effects) and `{YEARLY_CSV}` "
                        "(yearly values of every run, for the indicators compared)."))
    return blocks


# ------------------------------------------------------------------ writing
def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ReportError(f"report path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT_MD).is_file():
        raise ReportError(f"refusing to overwrite {out}: it is not empty and holds no "
                          f"{REPORT_MD}; choose another output directory")


def write_report(batch_dir: str | Path, out_dir: str | Path | None = None,
                 baseline: str | None = None,
                 indicators: Sequence[str | tuple[str, str]] | None = None,
                 level: float = 0.95, frame: pd.DataFrame | None = None) -> Path:
    """Compare the scenarios of a batch and write the report directory (default
    ``<batch_dir>/report``): ``report.md``, ``report.html``, PNG figures, ``effects.csv`` and
    ``yearly.csv``. Returns the report directory. ``frame`` (a loaded batch table) skips
    reading the runs again."""
    batch_dir = Path(batch_dir).absolute()
    if not 0.0 < level < 1.0:
        raise ReportError(f"confidence level must be in (0, 1), got {level}")
    if frame is None:
        if indicators is not None:
            wanted = {parse_indicator(s)[0] for s in indicators}
        else:
            wanted = {i for i, _ in KEY_INDICATORS}
        frame = load_runs(batch_dir, wanted)
        missing = wanted - set(frame["indicator"])
        if indicators is not None and missing:
            have = pd.read_parquet(run_dirs(batch_dir)[0] / TIMESERIES, columns=["indicator"])
            raise ReportError(f"unknown indicator(s) {', '.join(sorted(missing))}; the batch "
                              f"has: {', '.join(sorted(set(have['indicator'].astype(str))))}")
    out = Path(out_dir).absolute() if out_dir is not None else batch_dir / "report"
    _check_out(out)

    y = _labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    if len(scenarios_of(y)) < 2:
        raise ReportError(f"batch {batch_dir} holds only scenario {baseline!r}; nothing to "
                          "compare")
    inds = resolve_indicators(y, indicators)
    y = _select(y, inds)
    eff = effects_table(y, baseline, inds, level=level)
    crn = crn_table(y, baseline, inds)
    band = bands(y, inds)
    summ = difference_summary(paired_differences(y, baseline, inds), level)
    others = [s for s in scenarios_of(y) if s != baseline]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        figures: dict = {}
        for ind, grp in inds:
            name = f"fig_{_slug(ind, grp)}.png"
            plot_indicator(band, summ, ind, grp, baseline, others, level, tmp / name)
            figures[ind, grp] = name
        if np.isfinite(crn["variance_ratio"]).any():
            plot_crn(crn, tmp / "fig_crn_variance_ratio.png")
            figures["crn"] = "fig_crn_variance_ratio.png"
        blocks = build_blocks(batch_dir, y, baseline, inds, eff, crn, band, summ, figures,
                              level)
        eff.to_csv(tmp / EFFECTS_CSV, index=False)
        y.to_csv(tmp / YEARLY_CSV, index=False)
        (tmp / REPORT_HTML).write_text(to_html(blocks, f"migsim comparison: {batch_dir.name}"),
                                       encoding="utf-8")
        (tmp / REPORT_MD).write_text(to_markdown(blocks), encoding="utf-8")
        _check_out(out)
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


__all__ = ["KEY_INDICATORS", "ReportError", "bands", "crn_table", "crn_variance_ratio",
           "difference_summary", "effects_table", "load_runs", "paired_differences",
           "resolve_indicators", "write_report", "yearly"]
