"""``migsim run``: one scenario, one seed, a run directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sim.cli.common import (
    _check,
    _check_file,
    _check_out,
    _fail,
    _mechanisms,
    _out,
    _prepare,
    _simulate,
    _warn,
)


def _fmt_m(x: float) -> str:
    return f"{x / 1e6:,.2f} M"


def _pct(x: float) -> str:
    return f"{x:.1%}"


# (label, summary keys tried in order, format); rows whose keys are all missing are skipped
_ROWS = (
    ("migrants, share of the population", ("migrant_share_of_population",), _pct),
    ("urbanisation by residence (December)", ("urbanisation_by_residence",), _pct),
    ("urbanisation by hukou (December)", ("urbanisation_by_hukou",), _pct),
    ("share male", ("share_male",), _pct),
    ("share aged 15-29", ("share_aged_15_29",), _pct),
    ("mean age", ("mean_age",), lambda x: f"{x:.1f} years"),
    ("unemployment (migrants)", ("unemployment_rate[migrants]", "unemployment_rate"), _pct),
    ("outflow (year)", ("outflow",), _fmt_m),
    ("returnflow (year)", ("returnflow",), _fmt_m),
    ("onflow (year)", ("onflow",), _fmt_m),
    ("exitflow (year)", ("exitflow",), _fmt_m),
    ("rural labour force (December)", ("rural_labour_force",), _fmt_m),
    ("new entrants, gross (year)", ("new_entrants",), _fmt_m),
    ("new entrants, net of exits (year)", ("new_entrants_net",), _fmt_m),
)


def _summary_table(summ: dict[str, Any], wall: float, out: Path) -> Table:
    t = Table(title=f"migsim: last simulated year {summ.get('year')}", show_header=False)
    t.add_column("indicator", style="bold")
    t.add_column("value", justify="right")
    stock = summ.get("migrant_stock", 0.0)
    t.add_row("migrant stock (December)", _fmt_m(stock))
    for k, v in summ.items():
        if k.startswith("migrant_stock[dist:"):
            t.add_row(f"  share {k[19:-1]}", _pct(v / (stock or 1.0)))
    for k, v in summ.items():
        if k.startswith("migrant_stock[tier:"):
            t.add_row(f"  stock in {k[19:-1]}", _pct(v / (stock or 1.0)))
    for label, keys, fmt in _ROWS:
        key = next((k for k in keys if summ.get(k) is not None), None)
        if key is not None:
            t.add_row(label, fmt(summ[key]))
    t.add_row("wall time", f"{wall:.1f} s")
    t.add_row("output", str(out))
    return t



def run(
    scenario: Annotated[str, typer.Argument(help="Scenario name or path to a .toml file.")]
    = "baseline",
    agents: Annotated[int | None, typer.Option(
        help="Number of agents (at least 1000; default 200000).")] = None,
    start_year: Annotated[int | None, typer.Option(help="First year (default: scenario's).")]
    = None,
    years: Annotated[int | None, typer.Option(help="Years to simulate (default: scenario's).")]
    = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 1).")] = None,
    threads: Annotated[int | None, typer.Option(help="Numba threads.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output directory (default: runs/<scenario>-seed<seed>).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a parameter: key=value or key=1990:0.5,2000:1.0.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")]
    = False,
    mechanism: Annotated[list[str] | None, typer.Option(
        "--mechanism", help="Add a mechanism from outside the package: module:Name or "
        "file.py:Name (repeatable).")] = None,
    save_state: Annotated[int | None, typer.Option(
        help="Save the full state at the end of this year, to resume from.")] = None,
    state_file: Annotated[Path | None, typer.Option(
        help="File for --save-state (default: state-YEAR.npz in the run directory).")] = None,
    from_state: Annotated[Path | None, typer.Option(
        help="Resume from a saved state (its seed, agents and years).")] = None,
) -> None:
    """Run a scenario and write manifest, time series, summary and plots."""
    import sim
    from sim.engine import checkpoint as ck
    from sim.experiments.resources import check_count, check_run
    from sim.io.output import OutputError, check_out_dir, write_run

    t0 = time.perf_counter()
    if state_file is not None and save_state is None:
        raise _fail("--state-file needs --save-state YEAR")
    _check_file(from_state, "--from-state")
    try:
        head = ck.read_header(from_state) if from_state is not None else {}
    except ck.CheckpointError as e:
        raise _fail(str(e)) from None
    agents = agents if agents is not None else head.get("agents", 200_000)
    seed = seed if seed is not None else head.get("seed", 1)
    _check(check_count, agents, "--agents", 1000)
    extra_mechs = _mechanisms(mechanism or [])
    scn, params = _prepare(scenario, set_ or [], extra_mechs)
    out = out or Path("runs") / f"{scn.name}-seed{seed}"
    y0 = start_year if start_year is not None else head.get("start_year", scn.start_year)
    n = years if years is not None else head.get("years", scn.years)
    _check(check_run, params, agents=agents, start_year=y0, years=n, seed=seed,
           threads=threads)
    _check_out(out)
    if state_file and (state_file.is_dir() or not state_file.absolute().parent.is_dir()):
        raise _fail(f"--state-file {state_file}: not a file in an existing directory")
    try:
        if save_state is not None:
            ck.save_month(save_state, y0, n, head.get("t", 0))
        check_out_dir(out)
        model = (ck.load_state(from_state, params, mechanisms=extra_mechs, threads=threads,
                               agents=agents, seed=seed, start_year=y0, years=n)
                 if from_state is not None else
                 sim.Simulation(params, agents=agents, seed=seed, start_year=y0, years=n,
                                threads=threads, mechanisms=extra_mechs))
    except (OutputError, ValueError) as e:
        raise _fail(str(e)) from None
    for msg in model.inert_params.values():  # parameters set that no rule reads in the run
        _warn(msg)
    hook, files = None, {}
    if save_state is not None:  # by default beside the run, moved into it when it is written
        target = state_file or ck.pending_path(out)
        files = {} if state_file else {f"state-{save_state}.npz": target}
        hook = ck.save_at(model, save_state, target, meta={"scenario": scn.name})
    extra = {"scenario": scn.name, "scenario_file": str(scn.path),
             "scenario_chain": [str(p) for p in scn.chain], "command": sys.argv,
             "mechanisms": [m.name for m in model.mechanisms],
             "extra_mechanisms": list(mechanism or []), "from_state": from_state,
             "saved_state": str(state_file or next(iter(files), "")) or None}
    try:
        res = _simulate(model, y0, quiet, hook)
        extra["wall_seconds"] = time.perf_counter() - t0
        path = write_run(res, out, extra, simulation=model, files=files)
    except MemoryError:
        raise _fail(f"out of memory while running {agents} agents; nothing was written to "
                    f"{out}; use fewer --agents") from None
    except OutputError as e:
        raise _fail(str(e)) from None
    finally:
        for f in files.values():
            f.unlink(missing_ok=True)
    if not quiet:
        _out().print(_summary_table(res.summary(), time.perf_counter() - t0, path))


