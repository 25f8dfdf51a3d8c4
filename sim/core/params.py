"""Typed, validated model parameters with units, ranges, sources and yearly paths.

Every mechanism declares its :class:`Param` s, each with a role (:data:`ROLES`); the engine's
registry gathers them into a schema (:func:`schema_of`). :class:`ParamSet` holds one value per
name of a schema, refuses unknown names (suggesting the closest valid one) and out-of-range
values (stating the range), and resolves yearly paths with :meth:`ParamSet.at`. This module
imports nothing else from the package.

A value is either a scalar or a yearly path ``{year: value}``: linear interpolation between the
given years and held flat outside them; ``{"mode": "step", ...}`` holds each value until the next
given year instead. Paths are how policy timelines and exogenous drivers enter the model.

Levers by place: a value may also be set for the destinations of one province, one hukou tier
or one city (:data:`PLACE_KINDS`), as a table ``{"by_province": {"Guangdong": {name: value}}}``
or a flat key ``"by_province.Guangdong.min_wage_ratio"`` (how ``--set`` and :meth:`to_json`
write it). Which places and parameters are allowed is the subclass's (:meth:`ParamSet.places`;
``sim.Params`` takes them from the geography and ``sim.engine.yearly.PLACE_PARAMS``).
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

ROLES = ("policy", "behaviour", "exogenous", "structural")
"""What a parameter is: a lever a scenario moves (``policy``); a preference, cost or hazard that
stays constant over time (``behaviour``); a data series or dated event (``exogenous``); geography,
demography or model structure (``structural``)."""


PLACE_KINDS = ("by_province", "by_tier", "by_city")
"""Kinds of place a lever may be set for, in precedence order: where a destination is covered
by more than one, the later (more specific) kind wins."""
_PLACE_WORD = {"by_province": "province", "by_tier": "tier", "by_city": "city"}


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
    active_when: str = ""  # condition on other parameters (:func:`parse_condition`): read only then

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"parameter {self.name}: role must be one of {ROLES}, got {self.role!r}"
            )
        if self.active_when:
            parse_condition(self.active_when, f"parameter {self.name}: active_when")

    @property
    def meaning(self) -> str:
        """The short meaning, with the condition under which a rule reads the parameter."""
        return self.doc + (f" (read only when {self.active_when})" if self.active_when else "")

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


_OPS = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
        ">": operator.gt, "<": operator.lt}


def parse_condition(expr: str, where: str = "condition"
                    ) -> list[list[tuple[str, str, float | str]]]:
    """``"a > 0 and b == 0 or c != none"`` as alternatives (``or``) of clauses (``and``), each
    ``(name, operator, value)``: a number (booleans compare as 0 and 1) or, with ``==`` and
    ``!=`` only, a word for a parameter that takes names. ValueError on bad syntax."""
    out = []
    for alt in expr.split(" or "):
        clauses: list[tuple[str, str, float | str]] = []
        for clause in alt.split(" and "):
            parts = clause.split()
            if len(parts) != 3 or parts[1] not in _OPS:
                raise ValueError(f"{where}: {clause.strip()!r} is not 'name op value' with op "
                                 f"one of {', '.join(_OPS)}")
            try:
                clauses.append((parts[0], parts[1], float(parts[2])))
            except ValueError:
                if parts[1] not in ("==", "!="):
                    raise ValueError(f"{where}: {clause.strip()!r} compares a word with "
                                     f"{parts[1]!r}; words take == or != only") from None
                clauses.append((parts[0], parts[1], parts[2]))
        out.append(clauses)
    return out


def condition_holds(expr: str, values: Any) -> bool:
    """Whether ``expr`` (:func:`parse_condition`) holds for ``values`` (attributes, as
    :meth:`ParamSet.at` returns them)."""
    def one(name: str, op: str, x: float | str) -> bool:
        v = getattr(values, name)
        return _OPS[op](str(v), x) if isinstance(x, str) else _OPS[op](float(v), x)

    return any(all(one(*c) for c in alt) for alt in parse_condition(expr))


@dataclass(frozen=True)
class YearlyPath:
    """A value that changes by year: linear between given years (or stepwise), flat outside."""

    years: tuple[int, ...]
    values: tuple[float | str, ...]  # names (str parameters) only by steps
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
    mode = str(raw.get("mode", "step" if p.kind is str else "linear"))
    if p.kind is str and mode != "step":  # a path of names changes by steps
        raise ParamError(f"parameter '{p.name}': a path of names must be stepwise (mode = "
                         f"'step'), got {mode!r}")
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
        value = p.check(v, f"{where} year {year}".strip())
        pts.append((year, value if p.kind is str else float(value)))
    if not pts:
        raise ParamError(f"parameter '{p.name}': a yearly path needs at least one year")
    pts.sort()
    return YearlyPath(tuple(y for y, _ in pts), tuple(v for _, v in pts), mode)


def closest(name: str, options: Iterable[str]) -> str | None:
    """Closest valid name to ``name`` or None."""
    m = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return m[0] if m else None


def place_key(key: str) -> tuple[str, str, str] | None:
    """(kind, place, parameter) of a flat by-place key, or None for any other name."""
    kind, _, rest = key.partition(".")
    if kind not in PLACE_KINDS or "." not in rest:
        return None
    place, _, name = rest.rpartition(".")
    return kind, place, name


def flatten_places(overrides: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``overrides`` with by-place tables (``by_province = {place: {name: value}}``, or
    ``"by_city.Shenzhen" = {name: value}``) written as flat keys ``kind.place.name``."""
    at = f" in {where}" if where else ""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        kind, _, rest = key.partition(".")
        if kind not in PLACE_KINDS or (rest and "." in rest):
            out[key] = value
            continue
        word = _PLACE_WORD[kind]
        example = f"[params.{kind}.<{word}>] <parameter> = <value>"
        if not rest:
            if not isinstance(value, Mapping):
                raise ParamError(f"'{kind}'{at} must be a table of {word} names, e.g. {example}")
            tables = value.items()
        else:
            tables = [(rest, value)]
        for place, table in tables:
            if not isinstance(table, Mapping):
                raise ParamError(f"'{kind}.{place}'{at} must be a table of parameters, e.g. "
                                 f"{example}; got {table!r}")
            for name, v in table.items():
                out[f"{kind}.{place}.{name}"] = v
    return out


def _short_list(names: Iterable[str], n: int = 10) -> str:
    names = list(names)
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")


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
        self._places: dict[str, Any] = {}
        for name, p in schema.items():
            self._values[name] = self._coerce(p, p.default, "default")
        if overrides:
            self.update(overrides, where)

    @staticmethod
    def _coerce(p: Param, value: Any, where: str = "") -> Any:
        if isinstance(value, YearlyPath):
            return value
        if isinstance(value, Mapping):
            if p.kind not in (float, str):  # numbers, or names by steps
                raise ParamError(f"parameter '{p.name}' takes one value, not a yearly path")
            return _make_path(p, value, where)
        return p.check(value, where)

    def places(self) -> tuple[Mapping[str, Iterable[str]], Iterable[str]] | None:
        """(place names by kind of :data:`PLACE_KINDS`, parameters that may be set by place),
        or None when this set takes no levers by place (the default)."""
        return None

    def place_problem(self, kind: str, place: str, name: str) -> str | None:
        """Why parameter ``name`` set for ``place`` would have no effect there, or None."""
        return None

    def _check_place(self, key: str, value: Any, where: str) -> Any:
        kind, place, name = place_key(key)  # type: ignore[misc]
        at = f" in {where}" if where else ""
        opts = self.places()
        if opts is None:
            raise ParamError(f"'{key}'{at}: these parameters cannot be set by place")
        names, allowed = opts
        valid = list(names[kind])
        if place not in valid:
            word = _PLACE_WORD[kind]
            hint = closest(place, valid)
            other = [k for k in PLACE_KINDS if k != kind and place in names[k]]
            plural = "cities" if word == "city" else word + "s"
            msg = (f"unknown {word} '{place}'{at} (key '{key}'); {plural}: "
                   f"{_short_list(valid)}")
            if other:
                msg += f"; '{place}' is a {_PLACE_WORD[other[0]]}: use {other[0]}.{place}"
            raise ParamError(msg + (f"; did you mean '{hint}'?" if hint else ""))
        if name not in self.schema:
            hint = closest(name, self.schema)
            raise ParamError(f"unknown parameter '{name}'{at} (key '{key}')"
                             + (f"; did you mean '{hint}'?" if hint else ""))
        allowed = sorted(allowed)
        if name not in allowed:
            role = self.schema[name].role
            why = (f"it is not a policy lever (role '{role}')" if role != "policy" else
                   "it acts through national quantities or is read by the monthly rules "
                   "directly")
            raise ParamError(f"parameter '{name}'{at} (key '{key}') cannot be set by place: "
                             f"{why}; parameters that can be: {', '.join(allowed)}")
        problem = self.place_problem(kind, place, name)
        if problem:
            raise ParamError(f"'{key}'{at}: {problem}")
        return self._coerce(self.schema[name], value, f"{where} {key}".strip())

    def update(self, overrides: Mapping[str, Any], where: str = "") -> ParamSet:
        """Set several values (levers by place too); all are validated before any is
        applied."""
        sch = self.schema
        staged, placed = {}, {}
        for name, value in flatten_places(overrides, where).items():
            if place_key(name) is not None:
                placed[name] = self._check_place(name, value, where)
                continue
            if name not in sch:
                head = name.split(".", 1)[0]
                hint = (closest(head, PLACE_KINDS) if "." in name
                        else closest(name, [*sch, *PLACE_KINDS]))
                at = f" in {where}" if where else ""
                msg = f"unknown parameter '{name}'{at}"
                raise ParamError(msg + (f"; did you mean '{hint}'?" if hint else ""))
            staged[name] = self._coerce(sch[name], value, where)
        self._values.update(staged)
        self._places.update(placed)
        return self

    def copy(self) -> ParamSet:
        new = type(self).__new__(type(self))
        new.schema = self.schema
        new._values = dict(self._values)
        new._places = dict(getattr(self, "_places", {}))
        return new

    def by_place(self) -> dict[str, Any]:
        """The levers by place as flat keys (``by_city.Shenzhen.child_school_barrier``), in
        precedence order (:data:`PLACE_KINDS`), then by place and parameter."""
        def order(key: str) -> tuple:
            kind, place, name = place_key(key)  # type: ignore[misc]
            return PLACE_KINDS.index(kind), place, name

        return {k: self._places[k] for k in sorted(self._places, key=order)}

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
        if name in self._places:
            return self._places[name]
        if name not in self._values:
            hint = closest(name, self._values)
            raise KeyError(
                f"unknown parameter '{name}'" + (f"; did you mean '{hint}'?" if hint else "")
            )
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values or name in self._places

    def at(self, year: float) -> SimpleNamespace:
        """All values at ``year`` (paths resolved) as attributes: ``params.at(2000).hukou_...``.
        With levers by place, ``place_levers`` holds them too: ``(kind, place, {name: value})``
        in precedence order (absent without them)."""
        out = {}
        for k, v in self._values.items():
            out[k] = v.at(year) if isinstance(v, YearlyPath) else v
        if self._places:
            groups: dict[tuple[str, str], dict[str, Any]] = {}
            for key, v in self.by_place().items():
                kind, place, name = place_key(key)  # type: ignore[misc]
                groups.setdefault((kind, place), {})[name] = (
                    v.at(year) if isinstance(v, YearlyPath) else v)
            out["place_levers"] = tuple((k, p, vals) for (k, p), vals in groups.items())
        return SimpleNamespace(**out)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as {year: value}); levers by place as flat keys after
        the national values."""
        both = {**self._values, **self.by_place()}
        return {k: (v.to_json() if isinstance(v, YearlyPath) else v) for k, v in both.items()}

    def inert(self, years: Iterable[int]) -> dict[str, str]:
        """{name: why} for the parameters set away from their defaults that no rule reads in
        any of ``years``: their :attr:`Param.active_when` fails in every one of them (a lever
        by place counts under its parameter's name; conditions are on national values)."""
        names = {place_key(k)[2] if place_key(k) else k for k in self.changed()}
        conds = {n: self.schema[n].active_when for n in sorted(names)
                 if n in self.schema and self.schema[n].active_when}
        years = list(years)

        def value(name: str, y: int) -> Any:
            v = self._values[name]
            return v.at(y) if isinstance(v, YearlyPath) else v

        out = {}
        for n, c in conds.items():
            used = {x[0] for alt in parse_condition(c) for x in alt}
            states = (SimpleNamespace(**{u: value(u, y) for u in used}) for y in years)
            if not any(condition_holds(c, v) for v in states):
                out[n] = f"parameter '{n}' has no effect in this run: it is read only when {c}"
        return out

    def changed(self) -> dict[str, Any]:
        """Values that differ from the defaults (and every lever by place)."""
        base = ParamSet(schema=self.schema).to_json()
        return {k: v for k, v in self.to_json().items() if k not in base or v != base[k]}


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
