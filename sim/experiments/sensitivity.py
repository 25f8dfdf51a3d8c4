"""Morris elementary effects of parameters on the seed targets, with the replicate noise.

A screening (Morris 1991, via SALib): ``r`` trajectories through a ``levels``-grid of the
parameters' declared ranges, each moving one parameter at a time by ``delta`` (a share of its
range). The elementary effect of parameter i on target t is the change of t over that step,
divided by ``delta``, i.e. in the target's units per full range of the parameter. Per
parameter and target: ``mu_star`` (mean absolute effect), ``mu`` and ``sigma`` (standard
deviation of the effects: interaction or non-linearity), over the finite effects (a run whose
target is NaN, e.g. no migrant in a sector, gives no effect).

Every run uses the same seed (common random numbers), so an effect is a paired difference. The
replicate noise (:func:`replicate_noise`) is the seed-to-seed standard deviation of each target
at the default parameters; an effect whose ``mu_star`` is below the noise of one step,
``sqrt(2) * sd / delta``, is flagged ``below_noise`` (a conservative floor: common random
numbers make the paired difference less noisy than two independent runs).

The normalised summary puts targets on one scale: ``mu_star`` in half-bands of the target's
acceptance band (how many half-bands a parameter moves the target over its range), and
``mu_star`` relative to the largest of any parameter on the same target.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.experiments.targets import Target

# model(values of the parameters, seed) -> one value per target
Model = Callable[[dict[str, float], int], np.ndarray]


def scalar_parameters(roles: Sequence[str] = ("behaviour",)) -> dict[str, tuple[float, float]]:
    """{name: (low, high)}: every scalar float parameter of the roles over its declared range
    (from the schema; yearly paths, booleans and choices left out)."""
    from sim.engine.registry import schema

    return {k: (float(p.lo), float(p.hi)) for k, p in schema().items()
            if p.role in roles and p.kind is float and not p.choices
            and not isinstance(p.default, dict)}


def moved_value(p) -> float:
    """Where a screening moves parameter ``p`` alone: 1.5 times its default, clipped to its
    range (half of it where that is the same); a default of 0 a quarter of the way up."""
    d = float(p.default)
    v = min(max(d * 1.5, p.lo), p.hi) if d else p.lo + 0.25 * (p.hi - p.lo)
    return v if v != d else min(max(d * 0.5, p.lo), p.hi)


def idle_parameters(params: Sequence[str], start_year: int = 1985, years: int = 22
                    ) -> dict[str, str]:
    """{name: condition} for the parameters among ``params`` that no rule reads in a default
    run of those years (their ``active_when`` fails throughout): fitting one fits noise, and
    its posterior is its prior. ParamError on an unknown name."""
    from sim.core.params import ParamError, ParamSet, closest, condition_holds
    from sim.engine.registry import schema

    sch = schema()
    d = ParamSet(schema=sch)
    out = {}
    for p in params:
        if p not in sch:
            hint = closest(p, sch)
            raise ParamError(f"unknown parameter '{p}'" + (f"; did you mean '{hint}'?"
                                                          if hint else ""))
        cond = sch[p].active_when
        years_run = range(start_year, start_year + years)
        if cond and not any(condition_holds(cond, d.at(y)) for y in years_run):
            out[p] = cond
    return out


def local_ranges(space: dict[str, tuple[float, float]], share: float
                 ) -> dict[str, tuple[float, float]]:
    """{name: (low, high)}: each parameter of ``space`` within ``share`` of its default (the
    default times 1 -+ share; a default of 0 from the declared low end up to ``share`` of the
    declared width), clipped to the declared range. A screening around the calibrated point,
    away from the corners of wide declared ranges where the model stops migrating at all."""
    from sim.engine.registry import schema

    if not 0.0 < share <= 1.0:
        raise ValueError(f"share {share} is outside (0, 1]")
    sch, out = schema(), {}
    for k, (lo, hi) in space.items():
        d = float(sch[k].default)
        a, b = (d - share * abs(d), d + share * abs(d)) if d != 0.0 else (lo, lo + share *
                                                                           (hi - lo))
        out[k] = (max(lo, a), min(hi, b))
    return out


def path_parameters(roles: Sequence[str] = ("behaviour",)) -> list[str]:
    """Float parameters of the roles whose default is a yearly path (not screened)."""
    from sim.engine.registry import schema

    return [k for k, p in schema().items()
            if p.role in roles and p.kind is float and isinstance(p.default, dict)]


def _simulate(args: tuple[dict[str, float], int, list[Target], int, int, int]) -> np.ndarray:
    x, seed, targets, agents, start_year, years = args
    # one numba thread: the run's own ``threads=1``; a pool's workers start with one
    # (executors.map_one_thread), set before numba's first import there, never after it
    from sim.engine import Simulation
    from sim.engine.registry import Params
    from sim.experiments.targets import simulated

    try:
        s = Simulation(Params(x), agents=agents, seed=seed, start_year=start_year, years=years,
                       threads=1)
        s.run()
        res = s.results()
    except Exception:  # noqa: BLE001  a combination the model refuses: no effect, run goes on
        return np.full(len(targets), np.nan)
    return np.array([simulated(res, t.indicator, t.group, t.years) for t in targets])


def _evaluate(points: list[dict[str, float]], seeds: list[int], targets: list[Target],
              agents: int, start_year: int, years: int, workers: int,
              model: Model | None) -> np.ndarray:
    """One row of target values per (point, seed)."""
    if model is not None:
        return np.array([model(x, s) for x, s in zip(points, seeds, strict=True)], dtype=float)
    jobs = [(x, s, targets, agents, start_year, years) for x, s in zip(points, seeds,
                                                                        strict=True)]
    if workers <= 1:
        return np.array([_simulate(j) for j in jobs])
    from sim.experiments.executors import map_one_thread, spawned_pool

    with spawned_pool(workers) as pool:
        return np.array(map_one_thread(pool, _simulate, jobs))


def elementary_effects(x: np.ndarray, y: np.ndarray, names: Sequence[str], delta: float
                       ) -> np.ndarray:
    """Effects (trajectories, parameters, targets) from a Morris sample ``x`` (rows of
    trajectories of len(names)+1 points, in the parameters' units) and outputs ``y``
    (points, targets): the change of y over each step divided by +-delta."""
    k = len(names)
    r = x.shape[0] // (k + 1)
    ee = np.full((r, k, y.shape[1]), np.nan)
    for j in range(r):
        xs, ys = x[j * (k + 1):(j + 1) * (k + 1)], y[j * (k + 1):(j + 1) * (k + 1)]
        for s in range(k):
            step = xs[s + 1] - xs[s]
            (i,) = np.flatnonzero(step)
            ee[j, i] = np.sign(step[i]) * (ys[s + 1] - ys[s]) / delta
    return ee


def replicate_noise(targets: list[Target], seeds: Sequence[int], agents: int,
                    start_year: int = 1985, years: int = 22, workers: int = 1,
                    model: Model | None = None) -> pd.DataFrame:
    """Per target: mean and seed-to-seed standard deviation at the default parameters."""
    y = _evaluate([{} for _ in seeds], list(seeds), targets, agents, start_year, years,
                  workers, model)
    return pd.DataFrame({"target": [t.name for t in targets], "default_mean": np.nanmean(y, 0),
                         "noise_sd": np.nanstd(y, axis=0, ddof=1), "noise_n": len(seeds)})


def morris(params: dict[str, tuple[float, float]], targets: list[Target], agents: int = 10_000,
           trajectories: int = 4, seed: int = 1, start_year: int = 1985, years: int = 22,
           levels: int = 4, sample_seed: int = 0, workers: int = 1,
           noise: pd.DataFrame | None = None, model: Model | None = None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Morris screening of ``params`` ({name: (low, high)}) on ``targets``.

    Returns (table, summary): the table has one row per parameter and target (mu_star, mu,
    sigma, n_effects, mu_star in half-bands, relative mu_star, noise and ``below_noise`` when
    ``noise`` from :func:`replicate_noise` is given); the summary one row per parameter over
    the targets with ``use == "fit"`` (all targets if none is), ranked by mean relative mu_star.
    ``model(values, seed)`` replaces the simulation (for tests)."""
    from SALib.sample import morris as morris_sample

    names = list(params)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(params[n]) for n in names]}
    x = morris_sample.sample(problem, N=trajectories, num_levels=levels, seed=sample_seed)
    delta = levels / (2.0 * (levels - 1))
    points = [dict(zip(names, map(float, row), strict=True)) for row in x]
    y = _evaluate(points, [seed] * len(points), targets, agents, start_year, years, workers,
                  model)
    ee = elementary_effects(x, y, names, delta)
    with warnings.catch_warnings():  # all-NaN slices give NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        mu_star = np.nanmean(np.abs(ee), axis=0)
        mu = np.nanmean(ee, axis=0)
        sigma = np.nanstd(ee, axis=0, ddof=1)
    n_eff = np.isfinite(ee).sum(axis=0)
    rows = []
    for i, n in enumerate(names):
        for j, t in enumerate(targets):
            rows.append({"parameter": n, "target": t.name, "use": t.use, "mu_star": mu_star[i, j],
                         "mu": mu[i, j], "sigma": sigma[i, j], "n_effects": int(n_eff[i, j]),
                         "half_band": (t.hi - t.lo) / 2.0})
    table = pd.DataFrame(rows)
    table["mu_star_band"] = table["mu_star"] / table["half_band"]
    top = table.groupby("target")["mu_star"].transform("max")
    table["mu_star_rel"] = np.where(top > 0, table["mu_star"] / top.where(top > 0, 1.0), 0.0)
    if noise is not None:
        table = table.merge(noise[["target", "noise_sd"]], on="target", how="left")
        table["noise_ee"] = math.sqrt(2.0) * table["noise_sd"] / delta
        table["below_noise"] = table["mu_star"] <= table["noise_ee"]
    table.attrs.update(runs=len(points), failed=int(np.isnan(y).all(axis=1).sum()), delta=delta)
    return table, summarise(table)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per parameter over the fitted targets: mean and largest mu_star in half-bands, mean
    relative mu_star, targets moved by more than a half-band and (if known) above the noise;
    ranked by mean relative mu_star."""
    fit = table[table["use"] == "fit"] if (table["use"] == "fit").any() else table
    g = fit.groupby("parameter", sort=False)
    out = pd.DataFrame({
        "mean_mu_star_rel": g["mu_star_rel"].mean(),
        "mean_mu_star_band": g["mu_star_band"].mean(),
        "max_mu_star_band": g["mu_star_band"].max(),
        "targets_over_half_band": g["mu_star_band"].apply(lambda v: int((v > 0.5).sum())),
        "n_targets": g.size(),
    })
    if "below_noise" in fit:
        out["targets_above_noise"] = g["below_noise"].apply(lambda v: int((~v).sum()))
    out = out.sort_values("mean_mu_star_rel", ascending=False).reset_index()
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    return out


__all__ = ["elementary_effects", "morris", "path_parameters", "replicate_noise",
           "scalar_parameters", "summarise"]
