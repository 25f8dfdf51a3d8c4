"""``migsim compare | validate``: effects between scenarios, runs against the targets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.common import (
    _check_out,
    _fail,
    _out,
)

# ------------------------------------------------------------------ compare

def compare(
    batch_dir: Annotated[Path, typer.Argument(help="Batch directory (holding runs/).")],
    baseline: Annotated[str | None, typer.Option(
        help="Baseline scenario (default: 'baseline', else the batch's first).")] = None,
    indicators: Annotated[str | None, typer.Option(
        help="Comma-separated indicators, e.g. migrant_stock,unemployment_rate[migrants].")]
    = None,
    out: Annotated[Path | None, typer.Option(
        help="Report directory (default: <batch_dir>/report).")] = None,
    level: Annotated[float, typer.Option(
        help="Confidence level of the intervals, in [0.5, 0.999].")] = 0.95,
) -> None:
    """Compare a batch's scenarios with its baseline: paired effects, CIs, CRN variance."""
    import pandas as pd

    from sim.experiments.report import EFFECTS_CSV, REPORT_MD, ReportError, fmt, label, write_report

    if not 0.5 <= level <= 0.999:
        raise _fail(f"--level {level} is outside the allowed range [0.5, 0.999]")
    if not batch_dir.is_dir():
        raise _fail(f"BATCH_DIR {batch_dir}: no such directory")
    if out is not None:
        _check_out(out)
    inds = [s.strip() for s in indicators.split(",") if s.strip()] if indicators else None
    try:
        path = write_report(batch_dir, out, baseline=baseline, indicators=inds, level=level)
    except ReportError as e:
        raise _fail(str(e)) from None
    eff = pd.read_csv(path / EFFECTS_CSV, keep_default_na=False, na_values=[""])
    t = Table(title=f"end-year effects ({eff['year'].iat[0]}), paired by replicate")
    for col in ("scenario", "indicator", "n", "mean difference", f"{level:.0%} CI",
                "relative", "CRN var ratio"):
        t.add_column(col, justify="left" if col in ("scenario", "indicator") else "right")
    for r in eff.itertuples():
        t.add_row(Text(r.scenario), Text(label(r.indicator, r.group)), str(r.n), fmt(r.mean_diff),
                  f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]", f"{r.rel_effect_pct:+.2f} %",
                  f"{r.variance_ratio:.3f}")
    _out().print(t)
    if "seeds_per_draw" in eff and eff["seeds_per_draw"].notna().any():  # posterior batch
        m, k = int(eff["seeds_per_draw"].max()), int(eff["draws"].max())
        if m >= 2:
            p = Table(title=f"parameter and seed uncertainty ({k} posterior draws x {m} seeds)")
            for col in ("scenario", "indicator", f"{level:.0%} CI (parameters + seeds)",
                        f"{level:.0%} CI (seeds only)", "parameter share"):
                p.add_column(col, justify="left" if col in ("scenario", "indicator")
                             else "right")
            for r in eff.itertuples():
                p.add_row(Text(r.scenario), Text(label(r.indicator, r.group)),
                          f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
                          f"[{fmt(r.ci_seed_low)}, {fmt(r.ci_seed_high)}]",
                          "–" if pd.isna(r.param_share) else f"{100 * r.param_share:.0f} %")
            _out().print(p)
        else:
            typer.echo(f"{k} posterior draws, one seed each: the intervals carry parameter and "
                       "seed uncertainty, but their shares cannot be separated (rerun the "
                       "batch with --seeds-per-draw 2 or more)")
    typer.echo(f"report: {path / REPORT_MD}")


# ------------------------------------------------------------------ validate

def validate(
    path: Annotated[Path, typer.Argument(
        help="A run directory (migsim run) or a batch directory (migsim batch).")],
    scenario: Annotated[str | None, typer.Option(help="Only this scenario of a batch.")] = None,
    targets: Annotated[Path | None, typer.Option(
        help="Targets file (default: calibration/targets.toml).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the table to this CSV file.")]
    = None,
    strict: Annotated[bool, typer.Option(
        help="Exit with code 1 when an asserted target's replicate mean is outside its band.")]
    = False,
) -> None:
    """Score runs against the seed report's targets: replicate mean, range and count in band."""
    from sim.experiments.report import ReportError, fmt
    from sim.experiments.targets import DEFAULT_FILE
    from sim.experiments.validation import at_edge, score, write_csv

    tfile = targets or DEFAULT_FILE
    if not tfile.is_file():
        raise _fail(f"targets file {tfile} does not exist")
    if not path.is_dir():
        raise _fail(f"PATH {path}: no such directory")
    if out is not None and out.is_dir():
        raise _fail(f"--out {out}: is a directory; give a CSV file name")
    try:
        tab, joint = score(path, tfile, scenario)
    except (ReportError, ValueError) as e:
        raise _fail(str(e)) from None
    con = _out()
    for (scn, point), g in tab.groupby(["scenario", "point"], sort=False):
        n = int(g["n"].max())
        t = Table(title=f"{scn}" + (f" point {point}" if point else "")
                  + f": {n} replicate{'s' if n != 1 else ''} against {tfile.name}")
        for col in ("target", "period", "use", "band", "mean", "where", "min - max", "in band",
                    "met"):
            t.add_column(col, justify="left" if col in ("target", "period", "use") else "right")
        for r in g.itertuples():
            met = ("yes" if r.met else "NO") if r.asserted else ("(yes)" if r.met else "(no)")
            t.add_row(r.target, r.period, r.use, f"{fmt(r.low)} - {fmt(r.high)}", fmt(r.mean),
                      "" if r.position != r.position else f"{r.position:+.2f}",
                      f"{fmt(r.min)} - {fmt(r.max)}", f"{r.n_within}/{r.n}",
                      Text(met, style="" if r.met else "bold red"))
        con.print(t)
        edge = at_edge(g)
        if not edge.empty:
            con.print("asserted targets met at the edge of their band: " + "; ".join(
                f"{r.target} ({r.position:+.2f})" for r in edge.itertuples()))
        j = joint[(joint["scenario"] == scn) & (joint["point"] == point)]
        if not j.empty:
            r = j.iloc[0]
            con.print(f"replicates with all {r.targets} asserted targets in band at once: "
                      f"{r.n_all} of {r.n}")
    con.print("met: replicate mean in the band; (in brackets): reported, not asserted; "
              "where: the mean's place in the band, -1 at the floor, +1 at the top")
    if out is not None:
        typer.echo(f"table: {write_csv(tab, out)}")
    missed = tab[tab["asserted"] & ~tab["met"]]
    if strict and not missed.empty:
        raise typer.Exit(1)


