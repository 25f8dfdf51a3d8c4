"""``migsim params | mechanisms | scenarios``: what the model declares."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.common import (
    _fail,
    _mechanisms,
    _out,
)


# ------------------------------------------------------------------ params
def fmt_value(v: Any, per_line: int = 0) -> str:
    """A default compactly: scalars as is, paths as ``1985:1.5 → 2001:0.4`` (a new line after
    every ``per_line`` points when given, so that a long path stays a narrow column)."""
    if isinstance(v, dict):
        pts = [f"{y}:{x if isinstance(x, str) else format(x, 'g')}"
               for y, x in v.items() if y != "mode"]
        k = per_line or len(pts) or 1
        lines = [" → ".join(pts[i:i + k]) for i in range(0, len(pts), k)]
        return " →\n".join(lines) + (f" ({v['mode']})" if "mode" in v else "")
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
        rows = [p for p in rows if s in f"{p.name} {p.meaning} {p.source} {p.unit}".lower()]
    return rows


def _markdown(rows: list) -> str:
    head = "| name | module | role | unit | default | range | source | meaning |\n|" + "---|" * 8
    lines = [head]
    for p in rows:
        cells = (f"`{p.name}`", p.module, p.role, p.unit, fmt_value(p.default),
                 f"[{p.lo:g}, {p.hi:g}]", p.source, p.meaning)
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)



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
    for p in rows:  # a long yearly path on several lines, not one that squeezes the others
        t.add_row(p.name, p.module, p.role, p.unit, fmt_value(p.default, per_line=3),
                  f"[{p.lo:g}, {p.hi:g}]",
                  p.source + (f"; read only when {p.active_when}" if p.active_when else ""))
    _out().print(t)


# ------------------------------------------------------------------ mechanisms

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


