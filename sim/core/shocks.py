"""Demand shocks (``sim/data/shocks.toml``): what happened to urban labour demand in a few months.

Issue 14: shocks enter as what happened to demand, never as migrant counts. An episode gives,
for some months, the output of the sectors it hit relative to the trend they were on (from
published monthly output or export figures, each with its source); the month's demand for
migrant labour in those sectors is multiplied by ``1 + e (ratio - 1)``, where ``e`` is the
short-run employment elasticity of output (``shock_employment_elasticity``: firms hoard
labour, so jobs fall by less than output). After the episode demand is back on its trend: a
shock is transient, its lasting effects are what the model makes of the layoffs, returns and
wages in between.

Episodes are ``history`` (they happened) or ``hypothetical`` (a past episode's profile moved to
another date, for scenarios; episodes of one event share a ``group``). The ``demand_shocks``
lever picks: ``none``, ``history`` (every historical episode) or ``history+<group>`` (the
history and one hypothetical event).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from sim.core.encodings import N_SECTORS, SECTOR_NAMES

FILE = "shocks.toml"
_FIELDS = ("id", "kind", "title", "sectors", "output_ratio", "source", "derivation", "like",
           "shift_months", "group", "note")


@dataclass(frozen=True)
class Episode:
    """One episode: output relative to trend by month (``(year, month) -> ratio``) in some
    sectors."""

    id: str
    kind: str
    title: str
    sectors: tuple[str, ...]
    output_ratio: dict[tuple[int, int], float]
    source: str
    derivation: str = ""
    note: str = ""
    group: str = ""  # the hypothetical episodes a ``history+<group>`` value switches on


def _month(key: str, where: str) -> tuple[int, int]:
    try:
        y, m = (int(x) for x in key.split("-"))
    except ValueError:
        raise ValueError(f"{where}: month {key!r} is not YYYY-MM") from None
    if not 1 <= m <= 12:
        raise ValueError(f"{where}: month {key!r} is not YYYY-MM")
    return y, m


def _shifted(base: Episode, months: int) -> dict[tuple[int, int], float]:
    out = {}
    for (y, m), r in base.output_ratio.items():
        t = y * 12 + (m - 1) + months
        out[(t // 12, t % 12 + 1)] = r
    return out


@cache
def episodes() -> tuple[Episode, ...]:
    """Every episode of ``sim/data/shocks.toml``, validated."""
    text = resources.files("sim").joinpath("data", FILE).read_text(encoding="utf-8")
    rows = tomllib.loads(text)["episode"]
    out: dict[str, Episode] = {}
    for i, row in enumerate(rows):
        where = f"sim/data/{FILE}: episode {i + 1} ({row.get('id', '?')})"
        unknown = set(row) - set(_FIELDS)
        if unknown:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
        if row.get("kind") not in ("history", "hypothetical"):
            raise ValueError(f"{where}: kind must be history or hypothetical")
        sectors = tuple(row.get("sectors", ()))
        bad = [s for s in sectors if s not in (*SECTOR_NAMES, "all")]
        if bad or not sectors:
            raise ValueError(f"{where}: sectors must name {', '.join(SECTOR_NAMES)} or all")
        if "like" in row:
            base = out[row["like"]]
            ratio = _shifted(base, int(row["shift_months"]))
        else:
            ratio = {_month(k, where): float(v) for k, v in row["output_ratio"].items()}
        if any(not 0.0 < r <= 2.0 for r in ratio.values()):
            raise ValueError(f"{where}: output ratios must be in (0, 2]")
        out[row["id"]] = Episode(
            id=row["id"], kind=row["kind"], title=row["title"], sectors=sectors,
            output_ratio=ratio,
            source=row.get("source") or (out[row["like"]].source if "like" in row else ""),
            derivation=row.get("derivation", ""), note=row.get("note", ""),
            group=row.get("group", row["id"]))
    return tuple(out.values())


def choices() -> tuple[str, ...]:
    """Allowed values of the ``demand_shocks`` lever."""
    hyp = dict.fromkeys(e.group for e in episodes() if e.kind == "hypothetical")
    return ("none", "history", *(f"history+{h}" for h in hyp))


def selected(choice: str) -> tuple[Episode, ...]:
    """The episodes a ``demand_shocks`` value switches on."""
    if choice == "none":
        return ()
    groups = choice.split("+")[1:]
    return tuple(e for e in episodes() if e.kind == "history" or e.group in groups)


def demand_multipliers(choice: str, year: int, month: int, elasticity: float
                       ) -> np.ndarray | None:
    """Multipliers of the month's migrant labour demand by sector, or None when no episode
    touches the month (the common case: no work, no change)."""
    out = None
    for e in selected(choice):
        r = e.output_ratio.get((year, month))
        if r is None:
            continue
        if out is None:
            out = np.ones(N_SECTORS)
        mult = max(1.0 + elasticity * (r - 1.0), 0.0)
        for s in (SECTOR_NAMES if "all" in e.sectors else e.sectors):
            out[SECTOR_NAMES.index(s)] *= mult
    return out
