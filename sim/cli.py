"""Command line: ``migsim run | params | scenarios | compare | validate | batch | --version``.

Errors a user can fix (unknown parameter, value out of range, bad scenario file, an output
directory that must not be overwritten) are printed in red to stderr with exit code 2, without a
traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Agent-based simulation of rural-urban labour migration in China.")


def _out() -> Console:
    con = Console(soft_wrap=False)
    return con if con.is_terminal else Console(width=160)


def _fail(msg: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(Text(f"error: {msg}", style="bold red"))
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        import sim

        typer.echo(f"migsim {sim.__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
         ) -> None:
    """Agent-based simulation of rural-urban labour migration in China."""


# ------------------------------------------------------------------ run
def _mechanisms(specs: list[str]) -> list:
    """Mechanisms named by ``--mechanism`` (module:Name or file.py:Name)."""
    from sim.engine.plugins import PluginError, load_mechanism

    try:
        return [load_mechanism(s) for s in specs]
    except PluginError as e:
        raise _fail(str(e)) from None


def _prepare(scenario: str, sets: list[str], extra: list | None = None):
    """Load the scenario and apply ``--set`` overrides; all validated. ``extra`` mechanisms'
    parameters may be set too."""
    from sim.core.params import ParamError, parse_assignment
    from sim.engine.registry import schema
    from sim.experiments.scenario import ScenarioError, load_scenario

    try:
        scn = load_scenario(scenario)
        params = scn.to_params()
        if extra:
            params = params.extended(schema(extra))
        overrides = dict(parse_assignment(s) for s in sets)
        params.update(overrides, where="--set")
    except (ScenarioError, ParamError, ValueError) as e:
        raise _fail(str(e)) from None
    return scn, params


def _check(fn, *args, **kwargs) -> Any:
    """Call a check of :mod:`sim.experiments.resources`; its refusal becomes one error line."""
    from sim.experiments.resources import LimitError

    try:
        return fn(*args, **kwargs)
    except LimitError as e:
        raise _fail(str(e)) from None


def _check_out(out: Path, option: str = "--out") -> None:
    """An output path that can be created: not a file, under a writable directory."""
    import os

    if out.exists() and not out.is_dir():
        raise _fail(f"{option} {out}: exists and is not a directory")
    parent = out.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise _fail(f"{option} {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(f"{option} {out}: cannot write in {parent} (permission denied)")


def _check_file(path: Path | None, option: str) -> None:
    if path is not None and not path.is_file():
        raise _fail(f"{option} {path}: no such file")


def _progress(start_year: int, quiet: bool):
    """A rich progress bar on stderr, or None when quiet or stderr is not a terminal."""
    err = Console(stderr=True)
    if quiet or not err.is_terminal:
        return None
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("months"), TimeElapsedColumn(), console=err, transient=True)


def _simulate(sim_obj, start_year: int, quiet: bool, hook=None):
    bar = _progress(start_year, quiet)
    if bar is None:
        return sim_obj.run(progress=hook)
    with bar:
        task = bar.add_task(str(start_year), total=sim_obj.n_months)

        def tick(done: int, total: int) -> None:
            if hook is not None:
                hook(done, total)
            year = start_year + min(done, total - 1) // 12
            bar.update(task, completed=done, description=str(year))

        return sim_obj.run(progress=tick)


def _fmt_m(x: float) -> str:
    return f"{x / 1e6:,.2f} M"


def _pct(x: float) -> str:
    return f"{x:.1%}"


# (label, summary keys tried in order, format); rows whose keys are all missing are skipped
_ROWS = (
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


@app.command()
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


# ------------------------------------------------------------------ params
def fmt_value(v: Any) -> str:
    """A default compactly: scalars as is, paths as ``1985:1.5 → 2001:0.4``."""
    if isinstance(v, dict):
        pts = " → ".join(f"{y}:{x:g}" for y, x in v.items() if y != "mode")
        return pts + (f" ({v['mode']})" if "mode" in v else "")
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _select(module: str | None, search: str | None, role: str | None = None,
            extra: list | None = None) -> list:
    from sim.core.params import ROLES
    from sim.engine.registry import schema

    sch = schema(extra or [])
    rows = list(sch.values())
    if module:
        rows = [p for p in rows if p.module == module]
        if not rows:
            mods = sorted({p.module for p in sch.values()})
            raise _fail(f"no module '{module}'; modules: {', '.join(mods)}")
    if role:
        if role not in ROLES:
            raise _fail(f"no role '{role}'; roles: {', '.join(ROLES)}")
        rows = [p for p in rows if p.role == role]
    if search:
        s = search.lower()
        rows = [p for p in rows if s in f"{p.name} {p.doc} {p.source} {p.unit}".lower()]
    return rows


def _markdown(rows: list) -> str:
    head = "| name | module | role | unit | default | range | source | meaning |\n|" + "---|" * 8
    lines = [head]
    for p in rows:
        cells = (f"`{p.name}`", p.module, p.role, p.unit, fmt_value(p.default),
                 f"[{p.lo:g}, {p.hi:g}]", p.source, p.doc)
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


@app.command()
def params(
    module: Annotated[str | None, typer.Option(help="Only this module's parameters.")] = None,
    search: Annotated[str | None, typer.Option(help="Filter by text in name/doc/source.")] = None,
    markdown: Annotated[bool, typer.Option(help="Print a Markdown table for docs.")] = False,
    role: Annotated[str | None, typer.Option(
        help="Only this role: policy, behaviour, exogenous or structural.")] = None,
    mechanism: Annotated[list[str] | None, typer.Option(
        "--mechanism", help="Include a mechanism from outside the package (module:Name).")]
    = None,
) -> None:
    """List model parameters: module, role, unit, default, range and source."""
    rows = _select(module, search, role, _mechanisms(mechanism or []))
    if markdown:
        typer.echo(_markdown(rows))
        return
    t = Table(title=f"migsim parameters ({len(rows)})")
    t.add_column("name", style="bold cyan", no_wrap=True)
    for col in ("module", "role", "unit", "default", "range", "source"):
        t.add_column(col, overflow="fold", no_wrap=col in ("default", "range"))
    for p in rows:
        t.add_row(p.name, p.module, p.role, p.unit, fmt_value(p.default),
                  f"[{p.lo:g}, {p.hi:g}]", p.source)
    _out().print(t)


# ------------------------------------------------------------------ mechanisms
@app.command()
def mechanisms(
    mechanism: Annotated[list[str] | None, typer.Option(
        "--mechanism", help="Include a mechanism from outside the package (module:Name).")]
    = None,
    markdown: Annotated[bool, typer.Option(help="Print the Markdown table of the docs.")]
    = False,
) -> None:
    """List the mechanisms in step order: when each runs, what it declares."""
    from sim.engine.describe import step_order_table
    from sim.engine.registry import build

    mechs = build(_mechanisms(mechanism or []))
    if markdown:
        typer.echo(step_order_table(mechs))
        return
    t = Table(title=f"migsim mechanisms, in step order ({len(mechs)})")
    for col in ("mechanism", "module", "what it does", "parameters", "state and buffers",
                "streams"):
        t.add_column(col, overflow="fold", style="bold cyan" if col == "mechanism" else None)
    for m in mechs:
        fields = [f.name for f in (*m.person_state, *m.household_state, *m.buffers)]
        t.add_row(m.name, type(m).__module__, m.doc, str(len(m.params)), ", ".join(fields),
                  ", ".join(m.streams))
    _out().print(t)


# ------------------------------------------------------------------ scenarios
@app.command()
def scenarios() -> None:
    """List available scenarios with their descriptions."""
    from sim.experiments.scenario import ScenarioError, default_dir, list_scenarios, load_scenario

    t = Table(title=f"scenarios in {default_dir()}")
    t.add_column("name", style="bold cyan", no_wrap=True)
    t.add_column("description")
    for name in list_scenarios():
        try:
            t.add_row(name, load_scenario(name).description)
        except ScenarioError as e:
            t.add_row(name, Text(f"invalid: {e}", style="red"))
    _out().print(t)


# ------------------------------------------------------------------ compare
@app.command()
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
    typer.echo(f"report: {path / REPORT_MD}")


# ------------------------------------------------------------------ validate
@app.command()
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
    from sim.experiments.validation import validate as score
    from sim.experiments.validation import write_csv

    tfile = targets or DEFAULT_FILE
    if not tfile.is_file():
        raise _fail(f"targets file {tfile} does not exist")
    if not path.is_dir():
        raise _fail(f"PATH {path}: no such directory")
    if out is not None and out.is_dir():
        raise _fail(f"--out {out}: is a directory; give a CSV file name")
    try:
        tab = score(path, tfile, scenario)
    except (ReportError, ValueError) as e:
        raise _fail(str(e)) from None
    con = _out()
    for (scn, point), g in tab.groupby(["scenario", "point"], sort=False):
        n = int(g["n"].max())
        t = Table(title=f"{scn}" + (f" point {point}" if point else "")
                  + f": {n} replicate{'s' if n != 1 else ''} against {tfile.name}")
        for col in ("target", "period", "use", "band", "mean", "min - max", "in band", "met"):
            t.add_column(col, justify="left" if col in ("target", "period", "use") else "right")
        for r in g.itertuples():
            met = ("yes" if r.met else "NO") if r.asserted else ("(yes)" if r.met else "(no)")
            t.add_row(r.target, r.period, r.use, f"{fmt(r.low)} - {fmt(r.high)}", fmt(r.mean),
                      f"{fmt(r.min)} - {fmt(r.max)}", f"{r.n_within}/{r.n}",
                      Text(met, style="" if r.met else "bold red"))
        con.print(t)
    con.print("met: replicate mean in the band; (in brackets): reported, not asserted")
    if out is not None:
        typer.echo(f"table: {write_csv(tab, out)}")
    missed = tab[tab["asserted"] & ~tab["met"]]
    if strict and not missed.empty:
        raise typer.Exit(1)


# ------------------------------------------------------------------ batch
@app.command()
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
    draws: Annotated[int | None, typer.Option(help="Posterior draws (= replicates).")] = None,
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
    try:
        summary = run_batch(scenarios, out=out, replicates=replicates, agents=agents, seed=seed,
                            workers=workers, years=years, start_year=start_year,
                            sets=set_ or [], design=design, scheduler=scheduler,
                            threads_per_run=threads_per_run, progress=not quiet,
                            command=sys.argv, fork=fork, posterior=posterior, draws=draws)
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


if __name__ == "__main__":
    app()
