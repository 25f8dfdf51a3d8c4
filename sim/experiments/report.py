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

Yearly values follow :mod:`sim.io.yearly` (as :meth:`sim.io.results.Results.annual` does):
flows (:data:`sim.io.yearly.FLOW_INDICATORS`)
are summed over the year, stocks and shares are taken at December (the last month recorded).

A batch over posterior draws (``migsim batch --posterior FILE --draws K --seeds-per-draw M``,
:mod:`sim.experiments.posterior`; read from ``batch.json``) pairs each replicate with a draw as
well as a seed, so the intervals carry both parameter and stochastic uncertainty; with M >= 2 the
report also splits each effect's variance into its parameter and seed shares and shows the
seed-only interval (:func:`~sim.experiments.effects.variance_components`).

:func:`write_report` writes ``report.md``, ``report.html`` (same content) and PNG figures into a
report directory, atomically (a hidden temporary sibling renamed into place).

This module is the public entry point; the parts live in :mod:`sim.experiments.store` (loading,
shared with :func:`sim.experiments.batch.load`), :mod:`~sim.experiments.effects` (yearly values,
paired differences, effects, CRN), :mod:`~sim.experiments.figures` and
:mod:`~sim.experiments.document` (Markdown/HTML).
"""


from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import store
from sim.experiments.document import build_blocks, fmt, to_html, to_markdown
from sim.experiments.effects import (
    BAND_MIN_REPLICATES,
    KEY_INDICATORS,
    KEYS,
    POSTERIOR_COLUMNS,
    bands,
    choose_baseline,
    crn_table,
    crn_variance_ratio,
    difference_summary,
    effects_table,
    label,
    labelled,
    paired_differences,
    parse_indicator,
    posterior_table,
    resolve_indicators,
    scenarios_of,
    select_indicators,
    variance_components,
    yearly,
)
from sim.experiments.errors import ReportError
from sim.experiments.figures import map_file, plot_crn, plot_indicator, plot_province_map, slug
from sim.io.files import (
    BATCH_JSON,
    EFFECTS_CSV,
    MANIFEST,
    REPORT_HTML,
    REPORT_MD,
    RUNS,
    TIMESERIES,
    YEARLY_CSV,
)
from sim.io.output import swap_in

run_dirs = store.run_dirs


def load_runs(batch_dir: str | Path, indicators: Iterable[str] | None = None) -> pd.DataFrame:
    """All complete runs of a batch as one tidy table: scenario, point, replicate, seed, year,
    month, indicator, group, value. A directory written by ``migsim batch`` (``batch.json`` of
    kind ``migsim-batch``) is read with :func:`sim.experiments.batch.load`; any other directory
    with ``runs/<run>/manifest.json`` is read run by run (both by
    :func:`sim.experiments.store.load_runs`). ``indicators`` (names) keeps only those
    indicators, to save memory."""
    return store.load_runs(batch_dir, indicators)


def posterior_design(batch_dir: str | Path) -> dict | None:
    """The posterior design of a batch written by ``migsim batch --posterior``: its
    ``batch.json`` ``posterior`` entry (file, sha256, parameters, draws) with ``seeds_per_draw``
    (1 for batches written before it existed); None for other batches."""
    info = store.read_json(Path(batch_dir) / BATCH_JSON)
    if not isinstance(info, dict) or not isinstance(info.get("posterior"), dict):
        return None
    return {**info["posterior"], "seeds_per_draw": int(info.get("seeds_per_draw") or 1)}


MAP_INDICATOR = "migrant_stock"  # mapped by destination province (groups prov:<name>)


def province_effects(y: pd.DataFrame, baseline: str) -> tuple[int | None, dict]:
    """The last year and {scenario: {province: mean over replicates of the paired difference
    scenario minus baseline of the migrant stock there}} from a labelled yearly table; (None,
    {}) when the batch has no province groups or provinces that are not on the map."""
    from sim.io.maps import province_names

    sel = y[(y["indicator"] == MAP_INDICATOR)
            & y["group"].astype(str).str.startswith("prov:")]
    names = {g.removeprefix("prov:") for g in sel["group"].astype(str).unique()}
    if sel.empty or not names <= set(province_names()):
        return None, {}
    end = int(sel["year"].max())
    sel = sel[sel["year"] == end]
    d = paired_differences(sel, baseline, [(MAP_INDICATOR, f"prov:{n}") for n in sorted(names)])
    mean = d.groupby(["scenario", "group"], sort=False, observed=True)["diff"].mean()
    out: dict = {}
    for (scn, grp), v in mean.items():
        out.setdefault(scn, {})[str(grp).removeprefix("prov:")] = float(v)
    return end, out


def _map_blocks(maps: dict, baseline: str, year: int) -> list[tuple]:
    blocks: list[tuple] = [("h", 2, f"Maps: migrants by destination province ({year})"),
                           ("p", f"Mean over replicates of the paired difference scenario minus "
                                 f"{baseline} of the migrant stock by destination province in "
                                 f"December {year}, in thousand persons; red: more migrants "
                                 "working there in the scenario, blue: fewer.")]
    return blocks + [("img", f"{scn} − {baseline}", name) for scn, name in maps.items()]


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
    reading the runs again. For a batch over posterior draws (:func:`posterior_design`) the
    effects carry the posterior columns (:data:`~sim.experiments.effects.POSTERIOR_COLUMNS`)
    and the report a section on parameter and stochastic uncertainty."""
    batch_dir = Path(batch_dir).absolute()
    if not 0.0 < level < 1.0:
        raise ReportError(f"confidence level must be in (0, 1), got {level}")
    if frame is None:
        if indicators is not None:
            wanted = {parse_indicator(s)[0] for s in indicators}
        else:
            wanted = {i for i, _ in KEY_INDICATORS}
        frame = load_runs(batch_dir, wanted | {MAP_INDICATOR})
        missing = wanted - set(frame["indicator"])
        if indicators is not None and missing:
            have = pd.read_parquet(run_dirs(batch_dir)[0] / TIMESERIES, columns=["indicator"])
            raise ReportError(f"unknown indicator(s) {', '.join(sorted(missing))}; the batch "
                              f"has: {', '.join(sorted(set(have['indicator'].astype(str))))}")
    out = Path(out_dir).absolute() if out_dir is not None else batch_dir / "report"
    _check_out(out)

    y = labelled(yearly(frame))
    baseline = choose_baseline(y, baseline)
    if len(scenarios_of(y)) < 2:
        raise ReportError(f"batch {batch_dir} holds only scenario {baseline!r}; nothing to "
                          "compare")
    inds = resolve_indicators(y, indicators)
    map_year, map_diffs = province_effects(y, baseline)
    y = select_indicators(y, inds)
    post = posterior_design(batch_dir)
    per_draw = post["seeds_per_draw"] if post else None
    eff = effects_table(y, baseline, inds, level=level, seeds_per_draw=per_draw)
    crn = crn_table(y, baseline, inds)
    band = bands(y, inds)
    summ = difference_summary(paired_differences(y, baseline, inds), level, per_draw)
    others = [s for s in scenarios_of(y) if s != baseline]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        figures: dict = {}
        for ind, grp in inds:
            name = f"fig_{slug(ind, grp)}.png"
            plot_indicator(band, summ, ind, grp, baseline, others, level, tmp / name)
            figures[ind, grp] = name
        if np.isfinite(crn["variance_ratio"]).any():
            plot_crn(crn, tmp / "fig_crn_variance_ratio.png")
            figures["crn"] = "fig_crn_variance_ratio.png"
        blocks = build_blocks(batch_dir, y, baseline, inds, eff, crn, band, summ, figures,
                              level, posterior=post)
        maps = {scn: map_file(scn) for scn in others if scn in map_diffs}
        for scn, name in maps.items():
            plot_province_map(map_diffs[scn], scn, baseline, map_year, tmp / name)
        if maps:
            blocks += _map_blocks(maps, baseline, map_year)
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


__all__ = ["BAND_MIN_REPLICATES", "EFFECTS_CSV", "KEYS", "KEY_INDICATORS", "MANIFEST",
           "POSTERIOR_COLUMNS", "REPORT_HTML", "REPORT_MD", "RUNS", "TIMESERIES", "YEARLY_CSV",
           "ReportError", "bands", "build_blocks", "choose_baseline", "crn_table",
           "crn_variance_ratio", "difference_summary", "effects_table", "fmt", "label",
           "load_runs", "paired_differences", "parse_indicator", "plot_crn", "plot_indicator",
           "posterior_design", "posterior_table", "province_effects", "resolve_indicators",
           "run_dirs",
           "scenarios_of", "to_html", "to_markdown", "variance_components", "write_report",
           "yearly"]
