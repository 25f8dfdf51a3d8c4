"""Typed, validated model parameters with units, ranges, sources and yearly paths.

Every mechanism declares its :class:`Param` s, each with a role (:data:`ROLES`); the engine's
registry gathers them into a schema (:func:`schema_of`). :class:`ParamSet` holds one value per
name of a schema, refuses unknown names (suggesting the closest valid one) and out-of-range
values (stating the range), and resolves yearly paths with :meth:`ParamSet.at`. This module
imports nothing else from the package.

A value is either a scalar or a yearly path ``{year: value}``: linear interpolation between the
given years and held flat outside them; ``{"mode": "step", ...}`` holds each value until the next
given year instead. Paths are how policy timelines and exogenous drivers enter the model.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

ROLES = ("policy", "behaviour", "exogenous", "structural")
"""What a parameter is: a lever a scenario moves (``policy``); a preference, cost or hazard that
stays constant over time (``behaviour``); a data series or dated event (``exogenous``); geography,
demography or model structure (``structural``)."""


class ParamError(ValueError):
    """A parameter name or value that the schema refuses."""


@dataclass(frozen=True)
class Param:
    """One parameter: name, default, unit, allowed range, source and short meaning."""

    name: str
    default: float | int | bool | dict
    unit: str
    lo: float
    hi: float
    source: str
    doc: str
    kind: type = float
    module: str = ""
    choices: tuple[str, ...] = ()
    role: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"parameter {self.name}: role must be one of {ROLES}, got {self.role!r}"
            )

    def check(self, value: Any, where: str = "") -> float | int | bool | str:
        """Return ``value`` coerced to the parameter's kind, or raise :class:`ParamError`."""
        at = f" ({where})" if where else ""
        if self.kind is str:
            if isinstance(value, str) and value in self.choices:
                return value
            hint = closest(str(value), self.choices) if isinstance(value, str) else None
            shown = ", ".join(self.choices[:8]) + (", ..." if len(self.choices) > 8 else "")
            raise ParamError(
                f"parameter '{self.name}'{at}: {value!r} is not one of the allowed values "
                f"({shown})" + (f"; did you mean '{hint}'?" if hint else "")
            )
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise ParamError(f"parameter '{self.name}'{at}: expected true/false, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ParamError(
                f"parameter '{self.name}'{at}: expected a number in [{self.lo}, {self.hi}] "
                f"{self.unit}, got {value!r}"
            )
        try:
            x = float(value)
        except ValueError:
            raise ParamError(
                f"parameter '{self.name}'{at}: expected a number in [{self.lo}, {self.hi}] "
                f"{self.unit}, got {value!r}"
            ) from None
        if not math.isfinite(x) or x < self.lo or x > self.hi:
            raise ParamError(
                f"parameter '{self.name}'{at}: {value!r} is outside its range "
                f"[{self.lo}, {self.hi}] ({self.unit})"
            )
        if self.kind is int:
            if x != int(x):
                raise ParamError(f"parameter '{self.name}'{at}: expected an integer, got {value!r}")
            return int(x)
        return x


@dataclass(frozen=True)
class YearlyPath:
    """A value that changes by year: linear between given years (or stepwise), flat outside."""

    years: tuple[int, ...]
    values: tuple[float, ...]
    mode: str = "linear"

    def at(self, year: float) -> float:
        ys, vs = self.years, self.values
        if year <= ys[0]:
            return vs[0]
        if year >= ys[-1]:
            return vs[-1]
        for k in range(1, len(ys)):
            if year < ys[k]:
                if self.mode == "step":
                    return vs[k - 1]
                f = (year - ys[k - 1]) / (ys[k] - ys[k - 1])
                return vs[k - 1] + f * (vs[k] - vs[k - 1])
        return vs[-1]

    def to_json(self) -> dict:
        d: dict[str, Any] = {str(y): v for y, v in zip(self.years, self.values, strict=True)}
        if self.mode != "linear":
            d["mode"] = self.mode
        return d


def _make_path(p: Param, raw: Mapping, where: str) -> YearlyPath:
    mode = str(raw.get("mode", "linear"))
    if mode not in ("linear", "step"):
        raise ParamError(
            f"parameter '{p.name}': path mode must be 'linear' or 'step', got {mode!r}"
        )
    pts = []
    for k, v in raw.items():
        if k == "mode":
            continue
        try:
            year = int(k)
        except (TypeError, ValueError):
            raise ParamError(
                f"parameter '{p.name}'{' (' + where + ')' if where else ''}: yearly path keys "
                f"must be years, got {k!r}"
            ) from None
        if not 1900 <= year <= 2200:
            raise ParamError(f"parameter '{p.name}': path year {year} outside [1900, 2200]")
        pts.append((year, float(p.check(v, f"{where} year {year}".strip()))))
    if not pts:
        raise ParamError(f"parameter '{p.name}': a yearly path needs at least one year")
    pts.sort()
    return YearlyPath(tuple(y for y, _ in pts), tuple(v for _, v in pts), mode)


def closest(name: str, options: Iterable[str]) -> str | None:
    """Closest valid name to ``name`` or None."""
    m = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return m[0] if m else None


def schema_of(mechanisms: Iterable[Any]) -> dict[str, Param]:
    """Parameters declared by ``mechanisms`` (each with ``name`` and ``params``), in order; each
    parameter records the mechanism that declares it."""
    out: dict[str, Param] = {}
    for mech in mechanisms:
        for p in mech.params:
            if p.name in out:
                raise ValueError(f"parameter {p.name} declared twice")
            out[p.name] = Param(**{**p.__dict__, "module": mech.name})
    return out


class ParamSet:
    """Resolved values of the parameters of one schema; unknown names and out-of-range values
    are refused. :class:`sim.Params` is this class over the model's registry."""

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        where: str = "",
        schema: Mapping[str, Param] | None = None,
    ):
        if schema is None:
            raise TypeError("ParamSet needs a schema (use sim.Params for the model's own)")
        self.schema: Mapping[str, Param] = schema
        self._values: dict[str, Any] = {}
        for name, p in schema.items():
            self._values[name] = self._coerce(p, p.default, "default")
        if overrides:
            self.update(overrides, where)

    @staticmethod
    def _coerce(p: Param, value: Any, where: str = "") -> Any:
        if isinstance(value, YearlyPath):
            return value
        if isinstance(value, Mapping):
            if p.kind is not float or p.choices:
                raise ParamError(f"parameter '{p.name}' takes one value, not a yearly path")
            return _make_path(p, value, where)
        return p.check(value, where)

    def update(self, overrides: Mapping[str, Any], where: str = "") -> ParamSet:
        """Set several values; all are validated before any is applied."""
        sch = self.schema
        staged = {}
        for name, value in overrides.items():
            if name not in sch:
                hint = closest(name, sch)
                at = f" in {where}" if where else ""
                msg = f"unknown parameter '{name}'{at}"
                raise ParamError(msg + (f"; did you mean '{hint}'?" if hint else ""))
            staged[name] = self._coerce(sch[name], value, where)
        self._values.update(staged)
        return self

    def copy(self) -> ParamSet:
        new = type(self).__new__(type(self))
        new.schema = self.schema
        new._values = dict(self._values)
        return new

    def extended(self, schema: Mapping[str, Param]) -> ParamSet:
        """A copy over a larger ``schema``: new parameters at their defaults."""
        missing = set(self.schema) - set(schema)
        if missing:
            raise ParamError(f"the new schema lacks parameters {sorted(missing)}")
        new = self.copy()
        new.schema = schema
        for name, p in schema.items():
            if name not in new._values:
                new._values[name] = self._coerce(p, p.default, "default")
        return new

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            hint = closest(name, self._values)
            raise KeyError(
                f"unknown parameter '{name}'" + (f"; did you mean '{hint}'?" if hint else "")
            )
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def at(self, year: float) -> SimpleNamespace:
        """All values at ``year`` (paths resolved) as attributes: ``params.at(2000).hukou_...``."""
        out = {}
        for k, v in self._values.items():
            out[k] = v.at(year) if isinstance(v, YearlyPath) else v
        return SimpleNamespace(**out)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as {year: value})."""
        return {
            k: (v.to_json() if isinstance(v, YearlyPath) else v) for k, v in self._values.items()
        }

    def changed(self) -> dict[str, Any]:
        """Values that differ from the defaults."""
        base = ParamSet(schema=self.schema)
        return {k: v for k, v in self.to_json().items() if v != base.to_json()[k]}


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a CLI ``key=value``; value may be a number, true/false, or ``1990:0.5,2000:1.0``."""
    if "=" not in text:
        raise ParamError(f"--set expects key=value, got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    if ":" in raw:
        path: dict[str, Any] = {}
        for part in raw.split(","):
            if ":" not in part:
                raise ParamError(f"--set {key}: path entries are year:value, got {part!r}")
            y, v = part.split(":", 1)
            path[y.strip()] = v.strip()
        return key, path
    return key, raw
