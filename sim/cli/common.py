"""What every command shares: the Typer app, one-line errors and the checks made before work.

Errors a user can fix (unknown parameter, value out of range, bad scenario file, an output
directory that must not be overwritten) are printed in red to stderr with exit code 2, without a
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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
    for msg in scn.replaced_by(overrides):
        _warn(msg)
    return scn, params


def _warn(msg: str) -> None:
    """One yellow ``warning:`` line on stderr."""
    Console(stderr=True, soft_wrap=True).print(Text(f"warning: {msg}", style="yellow"))


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

