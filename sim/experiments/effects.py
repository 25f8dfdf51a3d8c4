"""Paired effects of scenarios against a baseline: yearly values, indicators, statistics.

Replicate r uses the same seed in every scenario (common random numbers, CRN), so an effect is
measured replicate by replicate (scenario minus baseline); its mean over replicates estimates the
effect and a t interval over replicates gives its confidence interval. :func:`crn_variance_ratio`
measures how much pairing helps.

In a batch over posterior draws (``seeds_per_draw`` M, :mod:`sim.experiments.posterior`)
replicate r also uses draw r // M in every scenario, so the spread of the paired effects carries
both parameter and stochastic uncertainty; :func:`variance_components` splits it into a
between-draw (parameter) and a within-draw (seed) component when M >= 2, and with M >= 2 the
interval is a t interval over the K draw means (the replicates of a draw share its parameters,
so they are not independent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.experiments.errors import ReportError
from sim.io.yearly import yearly_frame

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
# columns effects_table appends for a batch over posterior draws (NaN otherwise)
POSTERIOR_COLUMNS = ["draws", "seeds_per_draw", "var_total", "var_seed", "var_param",
                     "param_share", "ci_seed_low", "ci_seed_high"]
BAND_MIN_REPLICATES = 10  # from this many replicates on, bands are the central 90 %


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
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
    summed over the year, everything else at the year's last recorded month (December), by
    :func:`sim.io.yearly.yearly_frame`. A frame that is already yearly (no ``month`` column)
    is returned as is."""
    return yearly_frame(frame, KEYS)


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


def select_indicators(frame: pd.DataFrame, indicators: Sequence[tuple[str, str]]) -> pd.DataFrame:
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
    y = labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    y = select_indicators(y, resolve_indicators(y, indicators))
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


def difference_summary(diffs: pd.DataFrame, level: float = 0.95,
                       seeds_per_draw: int | None = None) -> pd.DataFrame:
    """Mean paired difference per scenario, indicator and year with its t interval over
    replicates: columns scenario, indicator, group, year, n, mean_diff, sd_diff, ci_low,
    ci_high, baseline_mean, scenario_mean, rel_effect_pct, rel_ci_low_pct, rel_ci_high_pct.

    ``seeds_per_draw`` M >= 2 (a batch over posterior draws, replicate r with draw r // M): the
    interval is a t interval over the draw means (each the mean of its replicates' differences;
    K - 1 degrees of freedom), since replicates sharing a draw are correlated. With M = 1 that
    is the interval over replicates."""
    keys = ["scenario", "indicator", "group", "year"]
    g = diffs.groupby(keys, sort=False)
    out = g.agg(n=("diff", "size"), mean_diff=("diff", "mean"), sd_diff=("diff", "std"),
                baseline_mean=("baseline_value", "mean"), scenario_mean=("value", "mean"),
                ).reset_index()
    if seeds_per_draw is not None and seeds_per_draw > 1:
        dm = (diffs.assign(_draw=diffs["replicate"] // seeds_per_draw)
              .groupby([*keys, "_draw"], sort=False)["diff"].mean()
              .groupby(level=list(range(len(keys))), sort=False).agg(["size", "std"])
              .reset_index())
        dm = out[keys].merge(dm, on=keys, how="left")
        out["ci_low"], out["ci_high"] = _ci(out["mean_diff"].to_numpy(), dm["std"].to_numpy(),
                                            dm["size"].to_numpy(), level)
    else:
        out["ci_low"], out["ci_high"] = _ci(out["mean_diff"].to_numpy(),
                                            out["sd_diff"].to_numpy(), out["n"].to_numpy(), level)
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


def variance_components(values: Sequence[float] | np.ndarray,
                        draws: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Split the variance of ``values`` (an effect's paired differences, one per replicate)
    over posterior ``draws`` (the draw of each replicate) by a one-way random-effects analysis
    of variance.

    ``var_total``: the sample variance over replicates (ddof 1). ``var_seed``: the within-draw
    mean square MS_within (stochastic: seeds). ``var_param``: the between-draw component
    max(0, MS_between - MS_within) / n0 (parameters), n0 = (N - sum n_i^2 / N) / (K - 1), which
    is M when every draw has M replicates. ``param_share``: var_param / (var_param + var_seed).
    Also n, draws (K), mean and ms_between. The components are NaN without two draws and
    without a draw holding two replicates (M = 1: the sources cannot be separated).
    """
    v = np.asarray(values, np.float64)
    g = np.asarray(draws)
    ok = np.isfinite(v)
    v, g = v[ok], g[ok]
    n = len(v)
    nan = float("nan")
    out = {"n": n, "draws": len(np.unique(g)) if n else 0,
           "mean": float(v.mean()) if n else nan,
           "var_total": float(np.var(v, ddof=1)) if n > 1 else nan,
           "var_seed": nan, "var_param": nan, "param_share": nan, "ms_between": nan}
    k = out["draws"]
    if k < 2 or n - k < 1:
        return out
    labels, idx = np.unique(g, return_inverse=True)
    size = np.bincount(idx).astype(np.float64)
    means = np.bincount(idx, weights=v) / size
    ms_within = float(((v - means[idx]) ** 2).sum() / (n - k))
    ms_between = float((size * (means - v.mean()) ** 2).sum() / (k - 1))
    n0 = (n - (size ** 2).sum() / n) / (k - 1)
    var_param = max(0.0, (ms_between - ms_within) / n0)
    out.update(var_seed=ms_within, var_param=var_param, ms_between=ms_between,
               param_share=var_param / (var_param + ms_within)
               if var_param + ms_within > 0 else nan)
    return out


def posterior_table(diffs: pd.DataFrame, seeds_per_draw: int,
                    level: float = 0.95) -> pd.DataFrame:
    """:func:`variance_components` of each scenario's, indicator's and year's paired
    differences (replicate r with draw r // ``seeds_per_draw``), with the seed-only interval:
    the t interval over the same number of replicates (n - 1 degrees of freedom) with the
    within-draw variance, i.e. what a batch of as many seeds at one parameter value would give.
    Columns scenario, indicator, group, year, then :data:`POSTERIOR_COLUMNS`."""
    keys = ["scenario", "indicator", "group", "year"]
    rows = []
    for key, d in diffs.groupby(keys, sort=False):
        c = variance_components(d["diff"].to_numpy(),
                                d["replicate"].to_numpy() // seeds_per_draw)
        lo, hi = _ci(np.array([c["mean"]]), np.sqrt(np.array([c["var_seed"]])),
                     np.array([c["n"]]), level)
        rows.append({**dict(zip(keys, key, strict=True)), "draws": c["draws"],
                     "seeds_per_draw": seeds_per_draw, "var_total": c["var_total"],
                     "var_seed": c["var_seed"], "var_param": c["var_param"],
                     "param_share": c["param_share"], "ci_seed_low": float(lo[0]),
                     "ci_seed_high": float(hi[0])})
    return pd.DataFrame(rows, columns=[*keys, *POSTERIOR_COLUMNS])


def crn_variance_ratio(frame: pd.DataFrame, scenario: str, baseline: str, indicator: str,
                       group: str = "total", year: int | None = None,
                       years: Iterable[int] | None = None) -> float:
    """Variance of paired (CRN) differences over the variance of independent-seed differences.

    Paired: replicate r of ``scenario`` minus replicate r of ``baseline`` (same seed).
    Independent: replicate r of ``scenario`` minus replicate r+1 of ``baseline`` (cyclically
    over the replicates both have, so a different seed). Both sample variances (ddof 1) of the
    indicator's yearly value in ``year`` (default: the last year); with ``years``, the two
    variances are summed over those years before the ratio is taken (pooled: with a few
    replicates one year's ratio is itself noise). Below 1 means common random numbers make the
    comparison sharper; NaN with fewer than 2 replicates or no variance.
    """
    y = labelled(yearly(frame))
    y = y[(y["indicator"] == indicator) & (y["group"] == group)]
    if years is None:
        if year is None:
            if y.empty:
                return float("nan")
            year = int(y["year"].max())
        years = (year,)
    var_paired = var_indep = 0.0
    for yr in years:
        yy = y[y["year"] == yr]
        s = yy[yy["scenario"] == scenario].set_index("replicate")["value"]
        b = yy[yy["scenario"] == baseline].set_index("replicate")["value"]
        reps = sorted(set(s.index) & set(b.index))
        if len(reps) < 2:
            return float("nan")
        sv = s.loc[reps].to_numpy(np.float64)
        bv = b.loc[reps].to_numpy(np.float64)
        var_paired += np.var(sv - bv, ddof=1)
        var_indep += np.var(sv - np.roll(bv, -1), ddof=1)
    if not var_indep > 0:
        return float("nan")
    return float(var_paired / var_indep)


def crn_table(frame: pd.DataFrame, baseline: str | None = None,
              indicators: Sequence[str | tuple[str, str]] | None = None,
              year: int | None = None) -> pd.DataFrame:
    """:func:`crn_variance_ratio` for every non-baseline scenario and indicator, with both
    variances: columns scenario, indicator, group, year, n, var_paired, var_independent,
    variance_ratio."""
    y = labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    inds = resolve_indicators(y, indicators)
    y = select_indicators(y, inds)
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
                  year: int | None = None, level: float = 0.95,
                  seeds_per_draw: int | None = None) -> pd.DataFrame:
    """End-year effects, one row per non-baseline scenario and indicator: n, baseline_mean,
    scenario_mean, mean_diff, sd_diff, ci_low, ci_high (t interval at ``level``),
    rel_effect_pct (mean difference in % of the baseline mean) with its interval, and the CRN
    variance_ratio. ``year`` defaults to the last year of the batch.

    Then :data:`POSTERIOR_COLUMNS`, NaN unless ``seeds_per_draw`` is given (a batch over
    posterior draws, replicate r with draw r // ``seeds_per_draw``): draws, seeds_per_draw,
    var_total (both sources), var_seed, var_param, param_share (:func:`variance_components`;
    NaN with one seed per draw) and the seed-only interval ci_seed_low, ci_seed_high
    (:func:`posterior_table`). With ``seeds_per_draw`` >= 2, ci_low and ci_high are a t
    interval over the draw means (:func:`difference_summary`)."""
    if not 0.0 < level < 1.0:
        raise ReportError(f"confidence level must be in (0, 1), got {level}")
    y = labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    inds = resolve_indicators(y, indicators)
    year = int(y["year"].max()) if year is None else int(year)
    d = paired_differences(y[y["year"] == year], baseline, inds)
    if d.empty:
        raise ReportError(f"no replicate of another scenario matches one of the baseline "
                          f"{baseline!r} in {year}")
    eff = difference_summary(d, level, seeds_per_draw)
    crn = crn_table(y, baseline, inds, year)[["scenario", "indicator", "group",
                                              "variance_ratio"]]
    eff = eff.merge(crn, on=["scenario", "indicator", "group"], how="left")
    if seeds_per_draw is not None:
        post = posterior_table(d, seeds_per_draw, level).drop(columns="year")
        eff = eff.merge(post, on=["scenario", "indicator", "group"], how="left")
    else:
        for c in POSTERIOR_COLUMNS:
            eff[c] = np.nan
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
    y = labelled(yearly(frame))
    y = select_indicators(y, resolve_indicators(y, indicators))
    g = y.groupby(["scenario", "indicator", "group", "year"], sort=False)["value"]
    out = g.agg(n="size", mean="mean", min="min", max="max").reset_index()
    q05 = g.quantile(0.05).to_numpy()
    q95 = g.quantile(0.95).to_numpy()
    wide = out["n"].to_numpy() >= BAND_MIN_REPLICATES
    out["lo"] = np.where(wide, q05, out["min"])
    out["hi"] = np.where(wide, q95, out["max"])
    out["band"] = np.where(wide, "central 90%", "min-max")
    return out.drop(columns=["min", "max"])



def label(indicator: str, group: str) -> str:
    """An indicator as written in reports: ``name`` for the total, else ``name[group]``."""
    return indicator if group == "total" else f"{indicator}[{group}]"


__all__ = ["BAND_MIN_REPLICATES", "KEYS", "KEY_INDICATORS", "POSTERIOR_COLUMNS", "bands",
           "choose_baseline", "crn_table", "crn_variance_ratio", "difference_summary",
           "effects_table", "label", "labelled", "paired_differences", "parse_indicator",
           "posterior_table", "resolve_indicators", "scenarios_of", "select_indicators",
           "variance_components", "yearly"]
