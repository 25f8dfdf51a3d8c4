"""Scenario files: a named, documented set of parameter overrides in TOML.

A scenario file looks like::

    name = "small_towns_open"
    description = "What policy, which section of the seed report"
    base = "baseline"            # optional: scenario name, or path relative to this file
    start_year = 1985            # optional
    years = 22                   # optional
    [params]
    hukou_penalty_small = { "1985" = 1.5, "2001" = 0.2 }

``base`` is looked up first as a path relative to the extending file's folder, then as a name in
the scenarios folder. Parameters merge base-first (a child's value replaces the base's value for
that key, yearly paths included). Levers by place::

    [params.by_province.Guangdong]
    min_wage_ratio = 0.4
    [params.by_city.Shenzhen]
    child_school_barrier = { "1985" = 0.7, "2015" = 0.2 }

(also ``by_tier.<small|medium|large|megacity>``) merge per place and parameter: a child's
``by_province.Guangdong.min_wage_ratio`` replaces its base's, other places and parameters of the
base stay. :func:`load_scenario` validates the whole chain, including
building a :class:`~sim.params.Params`, so nothing runs half-validated; every problem raises
:class:`ScenarioError` naming the file, the key and, where possible, the closest valid name.
A file that is empty, or names no base, no parameter and no years, is refused: it would run
the defaults without a word.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.core.params import closest, flatten_places
from sim.engine.registry import Params

ALLOWED_KEYS = ("name", "description", "base", "start_year", "years", "params")
DEFAULT_START_YEAR = 1985
DEFAULT_YEARS = 22
_RANGES = {"start_year": (1949, 2100), "years": (1, 200)}


class ScenarioError(ValueError):
    """A scenario file that cannot be found, parsed or validated."""


@dataclass
class Scenario:
    """A validated scenario: merged parameters and the chain of files they came from."""

    name: str
    description: str
    path: Path
    start_year: int = DEFAULT_START_YEAR
    years: int = DEFAULT_YEARS
    params: dict[str, Any] = field(default_factory=dict)
    chain: list[Path] = field(default_factory=list)
    origins: dict[str, Path] = field(default_factory=dict)  # key -> the file that sets it

    def to_params(self) -> Params:
        """The scenario's resolved parameters (defaults plus overrides)."""
        return Params(self.params, where=str(self.path))

    def replaced_by(self, keys: Iterable[str], flag: str = "--set") -> list[str]:
        """One warning per key in ``keys`` that this scenario (or a base) sets: an override
        from ``flag`` replaces it, so the scenario no longer differs there."""
        return [f"{flag} {k} replaces the value scenario '{self.name}' sets "
                f"({self.origins.get(k, self.path)}), in every run of it"
                for k in sorted(set(keys)) if k in self.params]


def default_dir() -> Path:
    """``$MIGSIM_SCENARIOS`` or the scenarios shipped with migsim (the repository's
    ``scenarios/``, installed as the package data ``sim.scenarios``)."""
    env = os.environ.get("MIGSIM_SCENARIOS")
    if env:
        return Path(env)
    from sim.io.files import package_dir

    return package_dir("sim.scenarios", "scenarios")


def list_scenarios(scenarios_dir: str | Path | None = None) -> list[str]:
    """Names (file stems) of the scenario files in ``scenarios_dir``, sorted."""
    d = Path(scenarios_dir) if scenarios_dir is not None else default_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.toml") if p.is_file())


def _not_found(what: str, name: str, looked: list[Path], scenarios_dir: Path) -> ScenarioError:
    names = list_scenarios(scenarios_dir)
    msg = f"{what} not found (looked for {', '.join(str(p) for p in looked)})"
    msg += f"; available scenarios in {scenarios_dir}: {', '.join(names) if names else 'none'}"
    hint = closest(Path(name).stem, names)
    return ScenarioError(msg + (f"; did you mean '{hint}'?" if hint else ""))


def resolve(name_or_path: str | Path, scenarios_dir: Path) -> Path:
    """Path of a scenario given as an existing file or a name in ``scenarios_dir``."""
    p = Path(name_or_path)
    if p.is_file():
        return p.resolve()
    looked = [p] if (p.suffix == ".toml" or len(p.parts) > 1) else []
    if len(p.parts) == 1:
        cand = scenarios_dir / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
        if cand.is_file():
            return cand.resolve()
        looked.append(cand)
    raise _not_found(f"scenario '{name_or_path}'", p.name, looked, scenarios_dir)


def _resolve_base(base: str, child: Path, scenarios_dir: Path) -> Path:
    rel = [child.parent / base]
    if not base.endswith(".toml"):
        rel.append(child.parent / f"{base}.toml")
    by_name = [scenarios_dir / (base if base.endswith(".toml") else f"{base}.toml")]
    for c in rel + by_name:
        if c.is_file():
            return c.resolve()
    raise _not_found(f"{child}: base scenario '{base}'", base, rel + by_name, scenarios_dir)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: TOML syntax error: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: cannot read scenario file: {e}") from None
    _check_keys(path, data)
    return data


def _check_keys(path: Path, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key not in ALLOWED_KEYS:
            hint = closest(key, ALLOWED_KEYS)
            raise ScenarioError(
                f"{path}: unknown top-level key '{key}'; allowed keys: {', '.join(ALLOWED_KEYS)}"
                + (f"; did you mean '{hint}'?" if hint else ""))
        if key in ("name", "description", "base") and not isinstance(value, str):
            raise ScenarioError(f"{path}: '{key}' must be a string, got {value!r}")
        if key in _RANGES:
            lo, hi = _RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ScenarioError(
                    f"{path}: '{key}' must be an integer in [{lo}, {hi}], got {value!r}")
        if key == "params" and not isinstance(value, dict):
            raise ScenarioError(f"{path}: 'params' must be a table ([params]), got {value!r}")


def _check_not_empty(path: Path, data: dict[str, Any]) -> None:
    """Refuse a file that would silently run the defaults: empty, or naming no base, no
    parameter and no years (a typo in every key, a file saved half-written)."""
    if not data:
        raise ScenarioError(f"{path}: the scenario file is empty; give it a base (base = "
                            "\"baseline\") and [params] overrides")
    if "base" not in data and not data.get("params") and not any(k in data for k in _RANGES):
        raise ScenarioError(f"{path}: the scenario changes nothing: it names no base, no "
                            "[params] and no start_year or years; add base = \"baseline\" "
                            "and the parameters it changes")


def _check_params(path: Path, overrides: dict[str, Any]) -> None:
    """Validate one file's overrides; messages name the file."""
    try:
        Params().update(overrides, where=str(path))
    except (ValueError, TypeError, OverflowError) as e:
        msg = str(e)
        raise ScenarioError(msg if str(path) in msg else f"{path}: {msg}") from None


def load_scenario(name_or_path: str | Path,
                  scenarios_dir: str | Path | None = None) -> Scenario:
    """Load, merge (base first) and fully validate a scenario; raise :class:`ScenarioError`."""
    sdir = Path(scenarios_dir) if scenarios_dir is not None else default_dir()
    path = resolve(name_or_path, sdir)
    chain: list[Path] = []
    docs: list[dict[str, Any]] = []
    while True:
        if path in chain:
            loop = " -> ".join(str(p) for p in [*chain, path])
            raise ScenarioError(f"base cycle in scenario chain: {loop}")
        chain.append(path)
        data = _read(path)
        _check_not_empty(path, data)
        _check_params(path, data.get("params", {}))
        docs.append(data)
        if "base" not in data:
            break
        path = _resolve_base(data["base"], path, sdir)
    merged: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    for data, src in zip(reversed(docs), reversed(chain), strict=True):  # base first
        flat = flatten_places(data.get("params", {}))  # by place: per place and key
        merged.update(flat)
        origins.update(dict.fromkeys(flat, src))
        fields.update({k: v for k, v in data.items() if k in ("description", *_RANGES)})
    _check_params(chain[0], merged)
    return Scenario(
        name=docs[0].get("name", chain[0].stem), description=fields.get("description", ""),
        path=chain[0], start_year=fields.get("start_year", DEFAULT_START_YEAR),
        years=fields.get("years", DEFAULT_YEARS), params=merged, chain=chain, origins=origins)
