"""The report as a document: number formatting, blocks, Markdown and HTML."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.effects import label, scenarios_of
from sim.io.files import EFFECTS_CSV, YEARLY_CSV


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
                 posterior: dict | None = None) -> list[tuple]:
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
    if posterior:
        blocks.append(("p", _posterior_intro(posterior)))
    blocks.append(("h", 2, f"End-year effects ({end})"))
    rows = [(r.scenario, label(r.indicator, r.group), r.n, fmt(r.baseline_mean),
             fmt(r.scenario_mean), fmt(r.mean_diff), _fmt_ci(r.ci_low, r.ci_high),
             _fmt_pct(r.rel_effect_pct),
             f"[{_fmt_pct(r.rel_ci_low_pct)}, {_fmt_pct(r.rel_ci_high_pct)}]",
             _fmt_ratio(r.variance_ratio)) for r in eff.itertuples()]
    blocks.append(("table", ["scenario", "indicator", "n", f"{baseline} mean", "scenario mean",
                             "mean difference", f"{level:.0%} CI", "relative effect",
                             "relative CI", "CRN variance ratio"], rows))
    if posterior:
        blocks += _posterior_blocks(posterior, eff, level)
    blocks.append(("h", 2, "Variance reduction from common random numbers"))
    blocks.append(("p", "Variance over replicates of the paired differences (same seed) divided "
                        "by the variance of differences between independent runs (replicate r of "
                        "the scenario minus replicate r+1 of the baseline, cyclically, which used "
                        f"another seed), in {end}. Below 1, pairing sharpens the comparison: the "
                        "ratio is roughly the factor by which common random numbers cut the "
                        "replicates needed for a given precision."
                   + (" In a batch over posterior draws replicate r+1 may also use another "
                      "draw, so the ratio then mixes the gain from common random numbers with "
                      "that from common parameters." if posterior else "")))
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



def _posterior_intro(post: dict) -> str:
    m, k = post["seeds_per_draw"], post.get("draws")
    params = ", ".join(f"`{p}`" for p in post.get("parameters", []))
    text = (f"This batch runs over posterior draws: {k} draws of {params} from "
            f"`{post.get('file')}`, {m} seed{'s' if m != 1 else ''} per draw; replicate r uses "
            f"seed S + r and draw r // {m} in every scenario (the same pair in every scenario). "
            "The spread of the paired differences and the intervals therefore carry both "
            "parameter uncertainty (the posterior) and stochastic uncertainty (the seeds).")
    if m > 1:
        text += (f" The intervals are t intervals over the {k} draw means (each the mean of "
                 f"its {m} replicates), since replicates sharing a draw share its parameters.")
    cal = post.get("calibration")
    if isinstance(cal, dict):
        text += (f" The posterior was fitted to model version {cal.get('version')} at "
                 f"{fmt(cal.get('agents'))} persons a run")
        tau = cal.get("tau")
        if tau is not None:
            text += (", with the likelihood tempered by " + fmt(tau) if tau < 1
                     else ", with an untempered likelihood")
        cov, ppc = cal.get("recovery_coverage90"), cal.get("ppc_all_in_band_share")
        if cov is not None:
            text += (f"; in its recovery check the 90% intervals covered {fmt(cov)} of the "
                     "synthetic truths (well calibrated: 0.80-0.97"
                     + (", so read its intervals as too narrow" if cov < 0.8 else "") + ")")
        if ppc is not None:
            text += (f", and {fmt(100 * ppc)}% of its predictive draws were inside every "
                     "target band at once")
        hpd, inside = cal.get("defaults_hpd_mass"), cal.get("defaults_inside_90")
        if hpd is not None:
            text += (". The defaults of the drawn parameters, which runs without a posterior "
                     "use, are not its point estimate: they lie on the edge of its "
                     f"highest-density region holding {fmt(hpd)} of its mass"
                     + (f", {inside} inside their 90% intervals" if inside else ""))
        text += " (calibration/README.md)."
    return text


def _posterior_blocks(post: dict, eff: pd.DataFrame, level: float) -> list[tuple]:
    m = post["seeds_per_draw"]
    blocks: list[tuple] = [("h", 2, "Parameter and stochastic uncertainty")]
    if m < 2:
        blocks.append(("p", "With one seed per draw every replicate has its own parameters and "
                            "its own seed, so the interval above carries both uncertainties but "
                            "the share of each effect's variance that comes from the parameters "
                            "cannot be separated from the stochastic share. Run the batch with "
                            "`--seeds-per-draw 2` or more (K draws x M seeds) to split them."))
        blocks.append(("table", ["scenario", "indicator", "n", "mean difference",
                                 f"{level:.0%} CI (parameters + seeds)", "sd total"],
                       [(r.scenario, label(r.indicator, r.group), r.n, fmt(r.mean_diff),
                         _fmt_ci(r.ci_low, r.ci_high), fmt(math.sqrt(r.var_total))
                         if np.isfinite(r.var_total) else "–") for r in eff.itertuples()]))
        return blocks
    blocks.append(("p", "Each effect's variance over replicates split by a one-way "
                        "random-effects analysis of variance over the draws: the within-draw "
                        "variance is stochastic (seeds), the between-draw component "
                        f"max(0, MS_between − MS_within) / {m} comes from the parameters; the "
                        "parameter share is that component over the sum of both. The seed-only "
                        f"interval is the {level:.0%} t interval the same number of replicates "
                        "would give with the within-draw variance, i.e. with the parameters "
                        "fixed; the width ratio is the interval above over the seed-only one "
                        "(above 1: the parameter uncertainty, and with few draws the fewer "
                        "degrees of freedom of the draw means, widen it)."))
    rows = []
    for r in eff.itertuples():
        seed_w = r.ci_seed_high - r.ci_seed_low
        ratio = (r.ci_high - r.ci_low) / seed_w if np.isfinite(seed_w) and seed_w > 0 \
            else float("nan")
        rows.append((r.scenario, label(r.indicator, r.group), fmt(r.draws), fmt(r.mean_diff),
                     _fmt_ci(r.ci_low, r.ci_high), _fmt_ci(r.ci_seed_low, r.ci_seed_high),
                     _fmt_ratio(ratio), _fmt_sd(r.var_total), _fmt_sd(r.var_seed),
                     _fmt_sd(r.var_param), _fmt_share(r.param_share)))
    blocks.append(("table", ["scenario", "indicator", "draws", "mean difference",
                             f"{level:.0%} CI (parameters + seeds)", f"{level:.0%} CI (seeds only)",
                             "width ratio", "sd total", "sd seeds", "sd parameters",
                             "parameter share"], rows))
    return blocks


def _fmt_sd(var: float) -> str:
    return fmt(math.sqrt(var)) if var is not None and np.isfinite(var) else "–"


def _fmt_share(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.0f} %"


__all__ = ["build_blocks", "fmt", "to_html", "to_markdown"]
