"""An adapter to the EMA workbench (exploratory modelling and analysis, Kwakkel 2017).

:func:`migsim_function` runs one simulation as a plain function of keyword arguments and
returns the last simulated year's indicators (:meth:`sim.io.results.Results.summary`) as
``{name: float}``, names made identifiers (``unemployment_rate[migrants]`` ->
``unemployment_rate_migrants``); any sampler can drive it. :func:`build_model` wraps it in an
``ema_workbench.Model``: uncertainties from parameters that are not policy levers (by default
the behaviour-role scalar parameters over their declared ranges), levers from policy-role
parameters, outcomes from chosen indicators, and constants for the run (agents, seed, years).

Seeds (common random numbers): an experiment's seed is a hash of the base ``seed`` and the
values of its non-policy parameters (the uncertainties), so the same draw of uncertainties run
under different policies or scenario files shares its random numbers, and a different draw
gets a different stream. No global random state is used.

ema_workbench is an optional dependency (``pip install migsim[explore]``: the 2.5 line on
Python 3.11, 3.x from 3.12, which names scenarios and policies ``Sample``); it is imported only
by the functions that build EMA objects. Tested with ema_workbench 2.5.3.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

#: default outcomes: EMA name -> key of ``Results.summary()`` (the last simulated year)
OUTCOMES: dict[str, str] = {
    "migrant_stock": "migrant_stock",
    "rural_origin_urban_population": "rural_origin_urban_population",
    "settled_urban_hukou": "settled_urban_hukou",
    "unemployment_rate_migrants": "unemployment_rate[migrants]",
    "children_left_behind": "children_left_behind",
}
RangeSpec = Sequence[str] | Mapping[str, tuple[float, float]] | None


def outcome_name(key: str) -> str:
    """An identifier for a summary key: ``a[b:c]`` -> ``a_b_c``."""
    return re.sub(r"\W+", "_", key).strip("_")


def experiment_seed(seed: int, values: Mapping[str, Any]) -> int:
    """Seed in [0, 2**62) from the base ``seed`` and ``values`` (order-free)."""
    text = repr((int(seed), sorted((k, repr(v)) for k, v in values.items())))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 2


def migsim_function(agents: int = 3000, seed: int = 1, start_year: int | None = None,
                    years: int | None = None, scenario_file: str = "baseline",
                    **params: Any) -> dict[str, float]:
    """Run ``scenario_file`` with ``params`` overriding its values (a number applies to every
    year); return the last year's indicators by identifier name. ``start_year`` and ``years``
    default to the scenario's. A run the model refuses (ValueError) gives NaNs and a warning."""
    from sim.engine import Simulation
    from sim.engine.registry import Params
    from sim.experiments.scenario import load_scenario

    sc = load_scenario(scenario_file)
    params = {k: _plain(v) for k, v in params.items()}
    ps = Params({**sc.params, **params})  # unknown names and out-of-range values raise here
    own = {k: v for k, v in params.items() if ps.schema[k].role != "policy"}
    try:
        sim = Simulation(ps, agents=int(agents), seed=experiment_seed(seed, own),
                         start_year=int(start_year or sc.start_year),
                         years=int(years or sc.years), threads=1)
        sim.run()
    except ValueError as e:
        warnings.warn(f"migsim_function: run refused ({e}); outcomes are NaN", RuntimeWarning,
                      stacklevel=2)
        return dict.fromkeys(map(outcome_name, summary_keys()), float("nan"))
    return {outcome_name(k): float(v) for k, v in sim.results().summary().items()}


def _plain(v: Any) -> Any:
    """numpy scalars (as EMA passes them) to Python numbers."""
    return v.item() if isinstance(v, np.generic) else v


@lru_cache(maxsize=1)
def summary_keys() -> tuple[str, ...]:
    """Keys of ``Results.summary()`` (from a tiny run)."""
    from sim.engine import Simulation

    sim = Simulation({}, agents=1000, seed=1, start_year=2000, years=1, threads=1)
    sim.run()
    return tuple(sim.results().summary())


def _unknown(name: str, options: Sequence[str] | Mapping[str, Any], what: str) -> str:
    hint = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"unknown {what} '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else "")


def default_uncertainties() -> list[str]:
    """Behaviour-role float parameters with a scalar default (not a yearly path)."""
    from sim.engine.registry import Params

    return [k for k, p in Params({}).schema.items() if p.role == "behaviour"
            and p.kind is float and not p.choices and not isinstance(p.default, dict)]


def default_levers() -> list[str]:
    """Policy-role float parameters with a scalar default. Parameters whose default is a dated
    path can be named as levers too: a number then replaces the whole path."""
    from sim.engine.registry import Params

    return [k for k, p in Params({}).schema.items() if p.role == "policy"
            and p.kind is float and not p.choices and not isinstance(p.default, dict)]


def _parameters(spec: RangeSpec, default: list[str], policy: bool) -> list[Any]:
    """EMA parameters for ``spec`` (names over declared ranges, or {name: (low, high)})."""
    import ema_workbench as ema

    from sim.engine.registry import Params

    schema = Params({}).schema
    what = "lever" if policy else "uncertainty"
    items = (spec.items() if isinstance(spec, Mapping)
             else ((n, None) for n in (default if spec is None else spec)))
    out: list[Any] = []
    for name, rng in items:
        if name not in schema:
            raise ValueError(_unknown(name, schema, f"parameter for an {what}"))
        p = schema[name]
        if (p.role == "policy") != policy:
            raise ValueError(f"'{name}' has role '{p.role}': levers are policy-role "
                             "parameters, uncertainties any other role")
        if p.kind is str:
            out.append(ema.CategoricalParameter(name, list(rng or p.choices)))
            continue
        if p.kind is bool:
            out.append(ema.BooleanParameter(name))
            continue
        lo, hi = (p.lo, p.hi) if rng is None else (float(rng[0]), float(rng[1]))
        if not p.lo <= lo < hi <= p.hi:
            raise ValueError(f"'{name}': range ({lo}, {hi}) must be increasing and inside the "
                             f"declared range [{p.lo}, {p.hi}] {p.unit}")
        out.append(ema.IntegerParameter(name, int(lo), int(hi)) if p.kind is int
                   else ema.RealParameter(name, lo, hi))
    return out


def build_model(name: str = "migsim", scenario: str | Sequence[str] = "baseline",
                uncertainties: RangeSpec = None, levers: RangeSpec = None,
                outcomes: Sequence[str] | None = None, agents: int = 3000, seed: int = 1,
                years: int | None = None, start_year: int | None = None) -> Any:
    """An ``ema_workbench.Model`` over :func:`migsim_function`.

    ``scenario``: a scenario file (a constant) or several, which become a categorical lever
    ``scenario_file`` (see :func:`scenario_policies`). ``uncertainties`` and ``levers``: names
    (declared ranges) or ``{name: (low, high)}`` inside them; default all scalar behaviour
    parameters and all scalar policy parameters (``levers=[]`` for none). ``outcomes``: summary
    keys or their identifier names (default :data:`OUTCOMES`). Unknown names raise ValueError.
    """
    from ema_workbench import CategoricalParameter, Constant, Model, ScalarOutcome

    from sim.experiments.scenario import list_scenarios, load_scenario

    files = [scenario] if isinstance(scenario, str) else list(scenario)
    for f in files:
        if f not in list_scenarios():
            load_scenario(f)  # a path, or a ScenarioError naming the closest scenario
    model = Model(name, function=migsim_function)
    model.uncertainties = _parameters(uncertainties, default_uncertainties(), policy=False)
    model.levers = _parameters(levers, default_levers(), policy=True)
    constants = [Constant("agents", int(agents)), Constant("seed", int(seed))]
    constants += [Constant(k, int(v)) for k, v in (("years", years), ("start_year", start_year))
                  if v is not None]
    if len(files) == 1:
        constants.append(Constant("scenario_file", files[0]))
    else:
        model.levers = [*model.levers, CategoricalParameter("scenario_file", files)]
    model.constants = constants
    known = {outcome_name(k): k for k in summary_keys()}
    chosen = []
    for o in outcomes if outcomes is not None else list(OUTCOMES):
        if outcome_name(o) not in known:
            raise ValueError(_unknown(o, list(known), "outcome"))
        chosen.append(ScalarOutcome(outcome_name(o)))
    model.outcomes = chosen
    return model


def scenario_policies(model: Any, **levers: Any) -> list[Any]:
    """One ``ema_workbench.Policy`` per scenario file of ``model`` (named after the file),
    with ``levers`` as fixed values for every policy."""
    import ema_workbench as ema

    policy = getattr(ema, "Policy", None) or ema.Sample  # ema_workbench 3: Sample
    files = model.levers["scenario_file"].categories
    return [policy(c.name, scenario_file=c.value, **levers) for c in files]


def lhs_scenarios(model: Any, n: int, seed: int = 0) -> list[Any]:
    """``n`` ``ema_workbench.Scenario`` s: a Latin hypercube over the model's real and integer
    uncertainties (one point in each of ``n`` equal strata of every range, strata paired at
    random) from a generator seeded by ``seed``, unlike EMA 2.5's samplers, which draw from
    numpy's global random state."""
    import ema_workbench as ema

    unc = list(model.uncertainties)
    for p in unc:
        if isinstance(p, ema.CategoricalParameter) or not isinstance(
                p, ema.RealParameter | ema.IntegerParameter):
            raise ValueError(f"lhs_scenarios: '{p.name}' is not a real or integer parameter")
    point = getattr(ema, "Scenario", None) or ema.Sample  # ema_workbench 3: Sample
    rng = np.random.default_rng(seed)
    u = np.column_stack([(rng.permutation(n) + rng.random(n)) / n for _ in unc])
    out = []
    for i, row in enumerate(u):
        values: dict[str, float | int] = {}
        for p, q in zip(unc, row, strict=True):
            lo, hi = p.lower_bound, p.upper_bound
            if isinstance(p, ema.IntegerParameter):
                values[p.name] = min(int(lo + q * (hi + 1 - lo)), int(hi))
            else:
                values[p.name] = float(lo + q * (hi - lo))
        out.append(point(f"s{i:03d}", **values))
    return out
