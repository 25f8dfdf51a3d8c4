"""``migsim dock``: the Mesa reference model against the fast core (``sim.mesa.docking``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.common import _check, _check_out, _fail

if TYPE_CHECKING:
    from sim.mesa.docking import Row, Verdict

#: the sizes ``migsim dock`` accepts: the reference model steps agents in Python, so a
#: docking run stays small (3,000 persons for three years: about 2.5 s a run of each model)
AGENTS_RANGE, SEEDS_RANGE = (1000, 50_000), (3, 500)


def dock(
    agents: Annotated[int, typer.Option(help="Persons per run.")] = 3000,
    start_year: Annotated[int, typer.Option(help="First simulated year.")] = 2000,
    years: Annotated[int, typer.Option(help="Simulated years.")] = 3,
    seeds: Annotated[int, typer.Option(
        help="Replicates of each model at the first stage (seeds 1..N).")] = 16,
    fresh_from: Annotated[int, typer.Option(
        help="First seed of the confirmatory stage (N fresh seeds from here).")] = 1001,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a parameter in both models: key=value.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Also write both stages' comparisons to this CSV file.")] = None,
    strict: Annotated[bool, typer.Option(
        help="Exit with code 1 unless the models dock.")] = False,
) -> None:
    """Dock the Mesa reference model against the fast core: checkpoints over seeds, two stages."""
    from sim.core.params import ParamError, parse_assignment
    from sim.engine.registry import Params
    from sim.experiments import resources as rs
    from sim.mesa import docking as dk
    from sim.mesa.support import refuse_unsupported

    _check(rs.check_count, agents, "--agents", *AGENTS_RANGE)
    _check(rs.check_count, seeds, "--seeds", *SEEDS_RANGE)
    if fresh_from <= seeds:
        raise _fail(f"--fresh-from {fresh_from} must be above the first stage's seeds 1..{seeds}")
    _check(rs.check_seed, fresh_from, seeds, "--fresh-from")
    if out is not None:
        if out.suffix.lower() != ".csv":
            raise _fail(f"--out {out}: expected a .csv file")
        _check_out(out.parent)
    try:
        overrides = dict(parse_assignment(s) for s in set_ or [])
        params = Params(overrides)
    except (ParamError, ValueError) as e:
        raise _fail(str(e)) from None
    _check(rs.check_years, params, start_year, years)
    try:
        refuse_unsupported(params, start_year, years)
    except ValueError as e:
        raise _fail(str(e)) from None

    def ref(s: int) -> dict[str, float]:
        return dk.run_reference(s, agents, start_year, years, overrides)

    def core(s: int) -> dict[str, float]:
        return dk.run_core(s, agents, start_year, years, overrides)

    first, fresh = range(1, seeds + 1), range(fresh_from, fresh_from + seeds)
    typer.echo(f"docking {agents} persons, {start_year}-{start_year + years - 1}, "
               f"{seeds} seeds per model{' with ' + ', '.join(set_) if set_ else ''}",
               err=True)
    v = dk.dock(dk.replicate(ref, first), dk.replicate(core, first),
                lambda: dk.replicate(ref, fresh), lambda: dk.replicate(core, fresh))
    typer.echo(v.report())
    typer.echo(f"docked: {'yes' if v.docked else 'no'} (differing at both stages: "
               f"{v.differing or 'none'}; mean |d/sd| {v.mean_abs_d:.3f}, bound "
               f"{v.mean_bound:.3f})")
    if out is not None:
        _write(out, v)
        typer.echo(f"table: {out}")
    if strict and not v.docked:
        raise typer.Exit(1)


def _write(path: Path, v: Verdict) -> None:
    """Both stages' rows as one CSV, written atomically."""
    import pandas as pd

    from sim.experiments.validation import write_csv

    def rows(stage: str, found: list[Row], alpha: float) -> list[dict]:
        return [{"stage": stage, "checkpoint": r.name, "mean_reference": r.mean_a,
                 "sd_reference": r.sd_a, "mean_core": r.mean_b, "sd_core": r.sd_b,
                 "p_welch": r.p_welch, "p_mann_whitney": r.p_mw, "d_over_sd": r.std_diff,
                 "alpha": alpha, "flagged": v.differs(r, alpha)} for r in found]

    write_csv(pd.DataFrame(rows("first", v.rows, v.alpha)
                           + rows("confirm", v.confirm, v.confirm_alpha)), path)
