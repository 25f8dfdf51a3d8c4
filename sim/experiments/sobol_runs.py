"""Sobol' indices of a few parameters on the seed targets from direct model runs.

The variance-based follow-up of a Morris screening (:mod:`sim.experiments.sensitivity`) for the
parameters it ranked on top, when they are few enough to run the model itself: a Saltelli
design of ``n * (k + 2)`` points (SALib's Sobol' sequence, first-order and total indices, no
second order) over each parameter's range, one run per point at one seed (common random
numbers, as the screening), and SALib's estimators with bootstrap confidence intervals
(Saltelli et al. 2010; Jansen 1999). The run's own noise enters the indices: the replicate
noise of the screening says which targets are above it. Emulator-based indices for the
calibrated parameters are in ``calibration/sobol.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.experiments.sensitivity import Model, _evaluate
from sim.experiments.targets import Target


def sobol_runs(params: dict[str, tuple[float, float]], targets: list[Target], n: int = 64,
               agents: int = 50_000, seed: int = 1, start_year: int = 1985, years: int = 22,
               sample_seed: int = 0, workers: int = 1, model: Model | None = None
               ) -> pd.DataFrame:
    """First-order (``S1``) and total (``ST``) indices with their 95% bootstrap half-widths,
    one row per parameter and target; a target with a failed or undefined run (NaN) gets NaN
    indices. ``n`` is the base sample (a power of two); ``model(values, seed)`` replaces the
    simulation (for tests). The frame's ``attrs`` hold the number of runs and of failed ones."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    names = list(params)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(params[k]) for k in names]}
    x = sample.sample(problem, n, calc_second_order=False, seed=sample_seed)
    points = [dict(zip(names, map(float, row), strict=True)) for row in x]
    y = _evaluate(points, [seed] * len(points), targets, agents, start_year, years, workers,
                  model)
    rows = []
    for j, t in enumerate(targets):
        yj = y[:, j]
        ok = bool(np.isfinite(yj).all()) and float(np.std(yj)) > 0.0
        if ok:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                si = analyze.analyze(problem, yj, calc_second_order=False, seed=sample_seed)
        for i, k in enumerate(names):
            rows.append({"parameter": k, "target": t.name, "use": t.use,
                         "S1": si["S1"][i] if ok else np.nan,
                         "S1_conf": si["S1_conf"][i] if ok else np.nan,
                         "ST": si["ST"][i] if ok else np.nan,
                         "ST_conf": si["ST_conf"][i] if ok else np.nan,
                         "sd": float(np.std(yj)) if ok else np.nan,
                         "half_band": (t.hi - t.lo) / 2.0})
    table = pd.DataFrame(rows)
    table.attrs.update(runs=len(points), failed=int(np.isnan(y).all(axis=1).sum()))
    return table


def summarise_sobol(table: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
    """Per parameter over the fitted targets (all, if none is fitted): mean and largest total
    index, and the targets on which its total index is at least ``threshold``; ranked by the
    mean total index."""
    fit = table[table["use"] == "fit"] if (table["use"] == "fit").any() else table
    g = fit.groupby("parameter", sort=False)
    out = pd.DataFrame({
        "mean_ST": g["ST"].mean(),
        "max_ST": g["ST"].max(),
        "mean_S1": g["S1"].mean(),
        "targets_ST_over_threshold": g["ST"].apply(lambda v: int((v >= threshold).sum())),
        "n_targets": g["ST"].apply(lambda v: int(v.notna().sum())),
    }).sort_values("mean_ST", ascending=False).reset_index()
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    return out


__all__ = ["sobol_runs", "summarise_sobol"]
