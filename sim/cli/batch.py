"""``migsim batch``: scenarios x points x replicates into one directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sim.cli.common import (
    _check,
    _check_file,
    _check_out,
    _fail,
    _warn,
)

# ------------------------------------------------------------------ batch

def batch(
    scenarios: Annotated[list[str], typer.Argument(
        help="Scenario names or .toml files; each is run for every point and replicate.")],
    out: Annotated[Path, typer.Option(help="Batch directory (rerun to resume).")],
    replicates: Annotated[int, typer.Option(
        help="Replicates; replicate r uses seed S + r in every scenario.")] = 1,
    agents: Annotated[int, typer.Option(help="Agents per run (at least 1000).")] = 200_000,
    seed: Annotated[int, typer.Option(help="Base seed S.")] = 1,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: cores / threads per run; 1: in-process).")]
    = None,
    years: Annotated[int | None, typer.Option(help="Years (default: scenarios').")] = None,
    start_year: Annotated[int | None, typer.Option(help="First year (default: scenarios')")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="key=value, key=1990:0.5,2000:1 (path), or key=v1,v2,v3 (sweep).")] = None,
    design: Annotated[Path | None, typer.Option(
        help="Design file: CSV (a row per point) or TOML (kind = grid|lhs).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="dask.distributed scheduler address (instead of local processes).")] = None,
    threads_per_run: Annotated[int, typer.Option(help="Numba threads per run.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")]
    = False,
    fork: Annotated[bool, typer.Option(help="Run the years all scenarios share once per "
                                       "replicate and fork from it (same results).")] = False,
    posterior: Annotated[Path | None, typer.Option(help="CSV of posterior draws: replicate r "
                                                   "uses row r in every scenario.")] = None,
    draws: Annotated[int | None, typer.Option(
        help="Posterior draws K (default: --replicates); K x --seeds-per-draw replicates.")]
    = None,
    seeds_per_draw: Annotated[int | None, typer.Option(
        help="Seeds per posterior draw M (with --posterior; default 1): replicate r uses seed "
             "S + r and draw r // M; M >= 2 lets compare split each effect's variance into "
             "parameter and seed shares.")] = None,
) -> None:
    """Run scenarios x sweep points x replicates in parallel, resumably, into one directory."""
    from sim.experiments.batch import BatchError, run_batch
    from sim.experiments.resources import YEARS, check_count, check_seed, check_threads

    _check(check_count, replicates, "--replicates", 1)
    _check(check_count, agents, "--agents", 1000)
    _check(check_seed, seed, replicates)
    if workers is not None:
        _check(check_count, workers, "--workers", 1)
    _check(check_threads, threads_per_run, "--threads-per-run")
    if years is not None:
        _check(check_count, years, "--years", *YEARS)
    _check_file(design, "--design")
    _check_file(posterior, "--posterior")
    _check_out(out)
    if posterior is not None:
        from sim.experiments.posterior import design_scale

        fitted = design_scale(posterior)
        if fitted is not None and fitted != agents:
            _warn(f"{posterior} was fitted to runs of {fitted:,} persons, this batch runs "
                  f"{agents:,}; the model's moments drift with scale, so its draws may not fit "
                  f"runs of this size (calibration/README.md)")
    try:
        summary = run_batch(scenarios, out=out, replicates=replicates, agents=agents, seed=seed,
                            workers=workers, years=years, start_year=start_year,
                            sets=set_ or [], design=design, scheduler=scheduler,
                            threads_per_run=threads_per_run, progress=not quiet,
                            command=sys.argv, fork=fork, posterior=posterior, draws=draws,
                            seeds_per_draw=seeds_per_draw, warn=_warn)
    except BatchError as e:
        raise _fail(str(e)) from None
    except KeyboardInterrupt:
        raise _fail(f"interrupted; run the same command again to resume into {out}",
                    130) from None
    err = Console(stderr=True, soft_wrap=True)
    for f in summary.failures:
        err.print(Text(f"failed: {f['run_id']}: {f.get('error_type')}: {f.get('error')} "
                       f"(see {summary.out / 'failed' / (f['run_id'] + '.json')})",
                       style="red"))
    if not quiet:
        typer.echo(summary.line())
    if summary.failed:
        raise typer.Exit(1)
