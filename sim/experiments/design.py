"""Parameter points of a batch: ``--set`` sweeps and design files (CSV, grid, Latin hypercube)."""

from __future__ import annotations

import csv
import itertools
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError


def _normalize(overrides: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate overrides against the schema; values as the manifest stores them."""
    from sim.core.params import ParamError
    from sim.engine.registry import Params

    try:
        js = Params().update(overrides, where=where).to_json()
    except (ParamError, TypeError, ValueError, OverflowError) as e:
        raise BatchError(str(e)) from None
    return {k: js[k] for k in overrides}


def parse_sets(sets: Iterable[str] | Mapping[str, Any] | None
               ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Fixed overrides and sweeps from ``--set`` texts (or a mapping; a list value sweeps).

    ``key=v`` fixes a value, ``key=v1,v2,v3`` sweeps scalars, ``key=1990:0.5,2000:1`` (colons)
    is one yearly path, not a sweep.
    """
    from sim.core.params import ParamError, parse_assignment

    raw: dict[str, Any] = {}
    sweep_raw: dict[str, list[Any]] = {}
    if isinstance(sets, Mapping):
        items = list(sets.items())
    else:
        items = []
        for text in sets or ():
            try:
                key, value = parse_assignment(text)
            except ParamError as e:
                raise BatchError(str(e)) from None
            if not key:
                raise BatchError(f"--set expects key=value, got {text!r}")
            if isinstance(value, str) and "," in value:
                value = [v.strip() for v in value.split(",")]
                if any(v == "" for v in value):
                    raise BatchError(f"--set {key}: empty value in sweep {text!r}")
            items.append((key, value))
    for key, value in items:
        if key in raw or key in sweep_raw:
            raise BatchError(f"--set {key} given more than once")
        if isinstance(value, list | tuple):
            if not value:
                raise BatchError(f"--set {key}: a sweep needs at least one value")
            sweep_raw[key] = list(value)
        else:
            raw[key] = value
    fixed = _normalize(raw, "--set")
    sweep = {k: [_normalize({k: v}, "--set")[k] for v in vals] for k, vals in sweep_raw.items()}
    return fixed, sweep


def _design_csv(path: Path) -> list[dict[str, Any]]:
    from sim.core.params import ParamError, parse_assignment

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BatchError(f"design {path}: cannot read: {e}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise BatchError(f"design {path}: needs a header of parameter names and at least one row")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header) or len(set(header)) != len(header):
        raise BatchError(f"design {path}: header must name each parameter once, got {header}")
    points = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise BatchError(f"design {path} row {line}: {len(row)} values for "
                             f"{len(header)} columns")
        over = {}
        for key, cell in zip(header, row, strict=True):
            if cell.strip():
                try:
                    over[key] = parse_assignment(f"{key}={cell.strip()}")[1]
                except ParamError as e:
                    raise BatchError(f"design {path} row {line}: {e}") from None
        points.append(_normalize(over, f"design {path} row {line}"))
    return points


def _design_toml(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import numpy as np

    from sim.core.params import ParamError, closest
    from sim.engine.registry import schema

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BatchError(f"design {path}: cannot read: {e}") from None
    allowed = ("kind", "n", "seed", "params")
    for key in data:
        if key not in allowed:
            hint = closest(key, allowed)
            raise BatchError(f"design {path}: unknown key '{key}'; allowed: {', '.join(allowed)}"
                             + (f"; did you mean '{hint}'?" if hint else ""))
    kind = data.get("kind")
    if kind not in ("grid", "lhs"):
        raise BatchError(f"design {path}: 'kind' must be \"grid\" or \"lhs\", got {kind!r}")
    n = data.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise BatchError(f"design {path}: 'n' must be a positive integer, got {n!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BatchError(f"design {path}: 'seed' must be a non-negative integer, got {seed!r}")
    specs = data.get("params")
    if not isinstance(specs, dict) or not specs:
        raise BatchError(f"design {path}: needs a [params.NAME] table with low and high for "
                         "each varied parameter")
    sch = schema()
    names, lows, highs, lists = [], [], [], []
    for name, spec in specs.items():
        where = f"design {path} [params.{name}]"
        if name not in sch:
            hint = closest(name, sch)
            raise BatchError(f"unknown parameter '{name}' in {where}"
                             + (f"; did you mean '{hint}'?" if hint else ""))
        p = sch[name]
        if p.kind not in (float, int):
            raise BatchError(f"{where}: parameter '{name}' is not numeric; use a CSV design")
        if not isinstance(spec, dict):
            raise BatchError(f"{where}: expected a table with low and high, got {spec!r}")
        keys = ("low", "high", "values") if kind == "grid" else ("low", "high")
        for k in spec:
            if k not in keys:
                raise BatchError(f"{where}: unknown key '{k}'; allowed: {', '.join(keys)}")
        try:
            if "values" in spec:
                vals = spec["values"]
                if not isinstance(vals, list) or not vals:
                    raise BatchError(f"{where}: 'values' must be a non-empty list")
                lists.append([p.check(v, where) for v in vals])
                lows.append(None)
                highs.append(None)
            else:
                if "low" not in spec or "high" not in spec:
                    raise BatchError(f"{where}: needs both 'low' and 'high'")
                lo, hi = p.check(spec["low"], f"{where} low"), p.check(spec["high"],
                                                                        f"{where} high")
                if lo > hi:
                    raise BatchError(f"{where}: low {lo} is above high {hi}")
                lows.append(float(lo))
                highs.append(float(hi))
                lists.append(None)
        except ParamError as e:
            raise BatchError(str(e)) from None
        names.append(name)

    def value(name: str, x: float) -> float | int:
        return int(round(x)) if sch[name].kind is int else float(x)

    if kind == "lhs":
        if n is None:
            raise BatchError(f"design {path}: an lhs design needs 'n' (number of points)")
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(names), rng=seed).random(n)
        lo, hi = np.array(lows), np.array(highs)
        x = lo + u * (hi - lo)
        points = [{nm: value(nm, x[i, j]) for j, nm in enumerate(names)} for i in range(n)]
    else:
        axes = []
        for nm, lo, hi, vals in zip(names, lows, highs, lists, strict=True):
            if vals is not None:
                axes.append([value(nm, v) for v in vals])
                continue
            if n is None:
                raise BatchError(f"design {path}: a grid with low/high needs 'n' (values per "
                                 f"parameter), or give [params.{nm}] values = [...]")
            axes.append([value(nm, float(f"{v:.12g}")) for v in np.linspace(lo, hi, n)])
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    info = {"kind": kind, "n": n, "seed": seed if kind == "lhs" else None,
            "params": {nm: ({"values": lists[i]} if lists[i] is not None
                            else {"low": lows[i], "high": highs[i]})
                       for i, nm in enumerate(names)}}
    return [_normalize(pt, f"design {path} point {i}") for i, pt in enumerate(points)], info


def read_design(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Points of a design file (CSV: one row per point, columns = parameter names; TOML:
    ``kind = "grid"|"lhs"``, ``n``, ``seed``, ``[params.NAME]`` with ``low``/``high``), validated.

    A grid has ``n`` evenly spaced values per parameter (or its ``values`` list) and all their
    combinations; an LHS has ``n`` points (scipy's LatinHypercube with ``seed``).
    """
    p = Path(path)
    if not p.is_file():
        raise BatchError(f"design file {p} not found")
    if p.suffix.lower() == ".csv":
        points, info = _design_csv(p), {"kind": "csv"}
    elif p.suffix.lower() == ".toml":
        points, info = _design_toml(p)
    else:
        raise BatchError(f"design file {p}: expected a .csv or .toml file")
    info["file"] = str(p.resolve())
    info["n_points"] = len(points)
    return points, info



__all__ = ["parse_sets", "read_design"]
