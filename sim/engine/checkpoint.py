"""Save the full state of a run at the end of a December, and resume from it.

:func:`save_state` writes one ``.npz`` file (``np.savez``, no pickles) holding every array a later
month reads: the person, household and buffer tables, places, network, the records so far, the
market and every other attribute a mechanism set on the simulation or on itself during the run,
and a JSON header (version, seed, agents, years, the parameters, their hash up to the saved
year). The random streams need no state: a draw depends only on (seed, stream, month, person).

:func:`load_state` builds the simulation afresh (same seed, agents, years; the parameters may
differ after the saved year, so a scenario can fork from a baseline), checks that it starts from
the same initial state, and overwrites its state with the file's. The resumed run continues in
January of the next year and equals the uninterrupted run byte for byte.

What is not saved is rebuilt by construction or recomputed before it is read (:data:`REBUILT`):
geography, parameters, the projection, the year's inputs (``pars``, ``yq``: resolved for the
saved year on load, then each January), the start-of-month counts (labour, every month).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import weakref
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.mechanism import Mechanism
from sim.core.params import ParamSet, YearlyPath, place_key
from sim.core.version import __version__
from sim.engine.loop import Simulation
from sim.engine.registry import build

FORMAT = "migsim-state"
FORMAT_VERSION = 2  # 2: the recorder's monthly scalars gain informal_wage_sum_rmb (session 43)
FIRST_YEAR = 1900  # paths are flat before their first year, which is at least 1900
TABLES = ("persons", "households", "buf", "places", "network", "rec")
REBUILT = frozenset({
    "agents", "seed", "start_year", "years", "threads", "geo", "params", "mechanisms", "mech",
    "stages", "timings", "build_seconds", "run_seconds", "projection", "hh_prov",
    "mean_land_prov", "mean_land_now", "scale", "n_months", "extra_indicators", "_home_fields",
    "inert_params",
    "_entry_fields",
    "initial_stock", "pars", "yq", "counts",
})
"""Attributes of a :class:`Simulation` rebuilt by construction (same seed, agents, start and
parameters up to the saved year) or recomputed before they are read; every other attribute is
saved."""
_INITIAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # resumed sim -> its digest


class CheckpointError(ValueError):
    """A state file that cannot be written, read or resumed with the given settings."""


# ------------------------------------------------------------------ parameters
def _canonical(value: Any, year: int) -> Any:
    """A parameter as the model sees it in the years up to ``year``: numbers as floats, a
    path as its yearly values (one float when they do not change)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    pts = sorted((int(y), v if isinstance(v, str) else float(v))
                 for y, v in value.items() if y != "mode")
    path = YearlyPath(tuple(y for y, _ in pts), tuple(v for _, v in pts),
                      str(value.get("mode", "linear")))
    vals = [path.at(y) for y in range(FIRST_YEAR, year + 1)]
    return vals[0] if len(set(vals)) == 1 else vals


def params_history(params: ParamSet | Mapping[str, Any], year: int) -> dict[str, Any]:
    """Every parameter's values in the years up to ``year`` (:func:`_canonical`)."""
    pj = params.to_json() if isinstance(params, ParamSet) else params
    return {k: _canonical(v, year) for k, v in pj.items()}


def comparable(hists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameter histories (:func:`params_history`) made comparable when levers by place are
    among them: each parameter set by place in any of them becomes its value at every
    destination (``name@city``, the place's own or else the national one); the by-place keys
    themselves are dropped. Without levers by place, ``hists`` unchanged."""
    names = sorted({k[2] for h in hists for k in map(place_key, h) if k is not None})
    if not names:
        return hists
    from sim.core.geography import load_geography
    from sim.engine.yearly import by_destination

    geo = load_geography()
    out = []
    for h in hists:
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for key, v in h.items():
            pk = place_key(key)
            if pk is not None:
                groups.setdefault(pk[:2], {})[pk[2]] = v
        own = by_destination(geo, [(k, p, vals) for (k, p), vals in groups.items()])
        view = {k: v for k, v in h.items() if place_key(k) is None}
        for d, city in enumerate(geo.dest_name):
            view.update({f"{n}@{city}": own[d].get(n, h.get(n)) for n in names})
        out.append(view)
    return out


def params_hash(params: ParamSet | Mapping[str, Any], year: int) -> str:
    """SHA-256 of the parameters' values in the years up to ``year``."""
    text = json.dumps(params_history(params, year), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _first_difference(a: Any, b: Any, year: int) -> int:
    """First year up to ``year`` in which two canonical values differ."""
    n = year - FIRST_YEAR + 1
    a, b = (x if isinstance(x, list) else [x] * n for x in (a, b))
    return FIRST_YEAR + next(i for i in range(n) if a[i] != b[i])


# ------------------------------------------------------------------ state
def _encode(where: str, value: Any) -> tuple[str, np.ndarray | None]:
    """(kind, array) of one saved attribute; refuses what cannot be stored without pickling."""
    if value is None:
        return "none", None
    if isinstance(value, np.ndarray) and value.dtype != object:
        return "array", value
    if isinstance(value, np.generic):
        return "scalar", np.asarray(value)
    if isinstance(value, bool | int | float):
        return type(value).__name__, np.asarray(value)
    if isinstance(value, tuple) and all(isinstance(x, bool | int | float) for x in value):
        return "tuple", np.asarray(value)
    raise CheckpointError(f"cannot save {where} ({type(value).__name__}): give it an array, "
                          f"number or None, or list it in sim.engine.checkpoint.REBUILT")


_DECODE: dict[str, Callable[[Any], Any]] = {
    "none": lambda a: None, "array": lambda a: a, "scalar": lambda a: a[()],
    "tuple": lambda a: tuple(a.tolist()), "bool": lambda a: bool(a[()]),
    "int": lambda a: int(a[()]), "float": lambda a: float(a[()]),
}


def state_arrays(sim: Simulation) -> dict[str, np.ndarray]:
    """The tables' arrays by entry name (``persons.age``, ``rec.scalars.cpi``, ...)."""
    out: dict[str, np.ndarray] = {}
    for t in ("persons", "households", "buf"):
        tab = getattr(sim, t)
        out.update({f"{t}.{k}": getattr(tab, k) for k in tab.names})
    out["persons.hh_base"] = sim.persons.hh_base  # the household index's block bases
    for t in ("places", "network", "rec"):
        obj = getattr(sim, t)
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if isinstance(v, np.ndarray):
                out[f"{t}.{f.name}"] = v
            elif isinstance(v, dict):
                out.update({f"{t}.{f.name}.{k}": a for k, a in v.items()})
    return out


def state_attributes(sim: Simulation) -> dict[str, Any]:
    """Every saved attribute of the simulation (``sim.x``) and its mechanisms (``mech.m.x``)."""
    out = {f"sim.{k}": v for k, v in vars(sim).items() if k not in REBUILT and k not in TABLES}
    for m in sim.mechanisms:
        out.update({f"mech.{m.name}.{k}": v for k, v in vars(m).items()})
    return out


def initial_digest(sim: Simulation) -> str:
    """Hash of the state arrays and the market (at the start of a run: what it starts from)."""
    h = hashlib.blake2b(digest_size=16)
    arrays = {k: v for k, v in state_arrays(sim).items() if not k.startswith(("rec.", "buf."))}
    arrays.update(levels=sim.levels, demand=sim.demand, scale=np.asarray(sim.scale))
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.view(np.uint8).reshape(-1).data if a.size else b"")
    return h.hexdigest()


def save_state(sim: Simulation, path: str | Path, *, initial: str | None = None,
               meta: Mapping[str, Any] | None = None) -> Path:
    """Write the state of ``sim`` (at the end of a December) to ``path`` atomically.

    ``initial`` is :func:`initial_digest` taken before the run (:func:`save_at` does it), so
    that a resumed run checks it starts from the same population; ``meta`` adds JSON fields
    (the scenario's name, say)."""
    if sim.t == 0 or sim.t % 12:
        raise CheckpointError(f"a state is saved at the end of a December; the run is at month "
                              f"{sim.t % 12} of {sim.start_year + sim.t // 12}")
    year = sim.start_year + sim.t // 12 - 1
    arrays, kinds = dict(state_arrays(sim)), {}
    for name, value in state_attributes(sim).items():
        kinds[name], a = _encode(name, value)
        if a is not None:
            arrays[name] = a
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "version": __version__,
        "seed": sim.seed, "agents": sim.agents, "start_year": sim.start_year, "years": sim.years,
        "year": year, "t": sim.t, "mechanisms": [m.name for m in sim.mechanisms],
        "params": sim.params.to_json(), "params_sha256": params_hash(sim.params, year),
        "initial_digest": initial, "scale": sim.scale, "kinds": kinds, "meta": dict(meta or {}),
    }
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8)
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:  # written beside the target, renamed when complete
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename made durable, where a folder can be opened
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def save_month(year: int, start_year: int, years: int, t: int = 0) -> int:
    """Months done at the end of ``year``, a year of the run after month ``t`` and before its
    last; else :class:`CheckpointError`."""
    first, last = start_year + t // 12, start_year + years - 1
    if not first <= year < last:
        span = f"{first}-{last - 1}" if last - first > 1 else str(first) if last > first else "none"
        raise CheckpointError(f"cannot save the state at the end of {year}: it must be a year "
                              f"of the run still to come, before its last ({span})")
    return (year - start_year + 1) * 12


def pending_path(run_dir: str | Path) -> Path:
    """A hidden file beside ``run_dir`` for its state until the run directory is written."""
    run_dir = Path(run_dir).absolute()
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    return run_dir.parent / f".{run_dir.name}.state-{os.getpid()}.npz"


def save_at(sim: Simulation, year: int, path: str | Path,
            progress: Callable[[int, int], None] | None = None,
            meta: Mapping[str, Any] | None = None) -> Callable[[int, int], None]:
    """A ``progress`` callback for :meth:`Simulation.run` that saves the state at the end of
    December of ``year`` (then calls ``progress``): ``sim.run(progress=save_at(sim, 1999, f))``.
    Call it before the run: it takes the :func:`initial_digest`."""
    done_at = save_month(year, sim.start_year, sim.years, sim.t)
    initial = initial_digest(sim) if sim.t == 0 else _INITIAL.get(sim)

    def tick(done: int, total: int) -> None:
        if done == done_at:
            save_state(sim, path, initial=initial, meta=meta)
        if progress is not None:
            progress(done, total)

    return tick


# ------------------------------------------------------------------ loading
def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a state file (refusing files of another format or version)."""
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: no such state file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a migsim state file")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(z["header"].tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeError) as e:
        raise CheckpointError(f"{path}: not a readable migsim state file ({e})") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a migsim state file of format {FORMAT_VERSION}")
    if header.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: a migsim state file of format "
                              f"{header.get('format_version')}, this migsim reads format "
                              f"{FORMAT_VERSION}; rerun the saved run with this version")
    if header.get("version") != __version__:
        raise CheckpointError(f"{path}: saved by migsim {header.get('version')}, this is "
                              f"{__version__}; rerun the saved run with this version")
    return header


def _check_params(header: dict[str, Any], params: ParamSet, path: str | Path) -> None:
    year = header["year"]
    if params_hash(params, year) == header["params_sha256"]:
        return
    old, new = comparable([params_history(header["params"], year),
                           params_history(params, year)])
    for k in sorted(set(old) | set(new)):
        if k not in old or k not in new:
            raise CheckpointError(f"{path}: parameter '{k}' exists only in "
                                  f"{'the state' if k in old else 'these parameters'}")
        if old[k] != new[k]:
            what = (f"is {new[k]!r}, the saved run's {old[k]!r}"
                    if not isinstance(old[k], list) and not isinstance(new[k], list) else
                    f"differs from the saved run's in {_first_difference(old[k], new[k], year)}")
            raise CheckpointError(f"{path}: parameter '{k}' {what}; a run may differ only after "
                                  f"the saved year {year}")
    if any(place_key(k) for k in (*header["params"], *params.to_json())):
        return  # levers by place given otherwise, with the same values up to the saved year
    raise CheckpointError(f"{path}: the parameters' hash differs from the saved one")


def _restore(sim: Simulation, header: dict[str, Any], z: Any) -> None:
    """Overwrite the state of a freshly built ``sim`` with the file's arrays."""
    saved = {k for k in z.files if k != "header"}
    for k in saved:  # fields the saved run had read, not yet allocated in this fresh build
        table, _, name = k.partition(".")
        if table in ("buf", "persons", "households") and name in getattr(sim, table).declared:
            getattr(getattr(sim, table), name)
    current = state_arrays(sim)
    tabled = {k for k in saved if k.split(".", 1)[0] in TABLES}
    if tabled != set(current):
        odd = sorted(tabled ^ set(current))[:3]
        raise CheckpointError(f"the state's arrays differ from this model's ({', '.join(odd)})")
    for k, a in current.items():
        b = z[k]
        if k.startswith(("places.", "network.")):
            setattr(getattr(sim, k.split(".")[0]), k.split(".")[1], b)
            continue
        if a.dtype != b.dtype or a.shape != b.shape:
            raise CheckpointError(f"state array {k} is {b.dtype}{b.shape}, the model's "
                                  f"{a.dtype}{a.shape}")
        np.copyto(a, b)
    for name, kind in header["kinds"].items():
        value = _DECODE[kind](z[name] if kind != "none" else None)
        scope, rest = name.split(".", 1)
        if scope == "sim":
            setattr(sim, rest, value)
        else:
            mech, attr = rest.split(".", 1)
            setattr(sim.mech[mech], attr, value)


def load_state(path: str | Path, params: ParamSet | Mapping[str, Any] | None = None, *,
               mechanisms: Iterable[Mechanism | type[Mechanism]] = (),
               threads: int | None = None, seed: int | None = None, agents: int | None = None,
               start_year: int | None = None, years: int | None = None) -> Simulation:
    """A :class:`Simulation` resumed from a state file, ready to :meth:`~Simulation.run` the
    rest of its years. ``params`` (default: the saved run's) may differ from the saved ones
    only after the saved year; ``seed``, ``agents``, ``start_year`` and ``years``, when given,
    must be the file's; ``mechanisms`` are the added ones the saved run had."""
    header = read_header(path)
    given = {"seed": seed, "agents": agents, "start_year": start_year, "years": years}
    for k, v in given.items():
        if v is not None and v != header[k]:
            raise CheckpointError(f"{path}: saved with {k} {header[k]}, not {v}")
    mechanisms = list(mechanisms)
    names = [m.name for m in build(mechanisms)]
    if names != header["mechanisms"]:
        extra = sorted(set(header["mechanisms"]) ^ set(names)) or ["in another order"]
        raise CheckpointError(f"{path}: saved with other mechanisms ({', '.join(extra)})")
    sim = Simulation(params if params is not None else header["params"],
                     agents=header["agents"], seed=header["seed"],
                     start_year=header["start_year"], years=header["years"], threads=threads,
                     mechanisms=mechanisms)
    _check_params(header, sim.params, path)
    _INITIAL[sim] = initial_digest(sim)
    if header["initial_digest"] not in (None, _INITIAL[sim]) or header["scale"] != sim.scale:
        raise CheckpointError(f"{path}: these parameters build another initial population "
                              "than the saved run's (a parameter changed after the saved year "
                              "is read when a run is built)")
    try:
        with np.load(path, allow_pickle=False) as z:
            _restore(sim, header, z)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: damaged state file ({e})") from None
    if sim.t != header["t"]:
        raise CheckpointError(f"{path}: month counter {sim.t}, header {header['t']}")
    sim.resolve_year(header["year"])  # what December of the saved year left in place
    return sim


def fork_runs(branches: Mapping[str, ParamSet | Mapping[str, Any]], state: str | Path, *,
              fork_year: int, agents: int, seed: int, start_year: int, years: int,
              trunk: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Results of every branch (name -> parameters), run from one shared state: the trunk
    (``branches[trunk]``, default the first) is run to the end of ``fork_year - 1`` and saved to
    ``state``, then each branch resumes from it. Each result equals that branch's uninterrupted
    run (common random numbers); the branches may differ from the trunk only from
    ``fork_year``. The Python face of ``migsim batch --fork`` for one replicate."""
    name = trunk if trunk is not None else next(iter(branches))
    sim = Simulation(branches[name], agents=agents, seed=seed, start_year=start_year,
                     years=years, threads=threads)
    sim.run(until=12 * (fork_year - start_year))
    save_state(sim, state)
    return {b: load_state(state, p, years=years, threads=threads).run()
            for b, p in branches.items()}
