"""Sobol' variance-based sensitivity indices (issue 13, item 2, second half).

:func:`sobol_indices` estimates first-order (S1) and total (ST) indices of a vectorised
predictor over a box of uniform parameters with SALib: Saltelli's scheme on a scrambled
Sobol' sequence (``SALib.sample.sobol``, N (d + 2) evaluations, no second order) and the
Saltelli (2010) / Jansen estimators with bootstrap confidence intervals
(``SALib.analyze.sobol``). Both are seeded; no global random state is used.

The model itself costs seconds a run, so the indices of the calibration targets are taken
on the history-matching emulators (:mod:`sim.experiments.emulator`): :func:`design_emulator`
fits (or reuses, through :func:`~sim.experiments.emulator.fit_cached`) one emulator per
target on design runs and reports each one's leave-one-out R^2, which says where the
indices can be trusted. The indices are those of the emulator's mean E[f(x)]: replicate
noise (the GP's white-noise term) is left out of the variance being decomposed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.emulator import Emulator, fit_cached, to_unit

Bounds = dict[str, tuple[float, float]]
Predictor = Callable[[np.ndarray], np.ndarray]
COLUMNS = ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]


def check_bounds(bounds: Mapping[str, Sequence[float]]) -> Bounds:
    """The bounds as ``{name: (low, high)}`` floats; ValueError unless every parameter has a
    finite low below a finite high."""
    if not bounds:
        raise ValueError("bounds: at least one parameter is needed")
    out: Bounds = {}
    for name, b in bounds.items():
        try:
            lo, hi = (float(v) for v in b)
        except (TypeError, ValueError) as err:
            raise ValueError(f"bounds of {name!r}: expected (low, high), got {b!r}") from err
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ValueError(f"bounds of {name!r}: need finite low < high, got ({lo}, {hi})")
        out[str(name)] = (lo, hi)
    return out


def _analysis_seed(seed: int) -> int:
    """A nonzero seed for SALib's bootstrap (it falls back to global state on a falsy seed)."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) or 1


def sobol_indices(predict: Predictor, bounds: Mapping[str, Sequence[float]], n: int, seed: int,
                  outputs: Sequence[str] | None = None, num_resamples: int = 100,
                  conf_level: float = 0.95) -> pd.DataFrame:
    """S1 and ST (with bootstrap half-widths at ``conf_level``) of each output of ``predict``.

    ``predict`` maps an (m, d) array of parameters (columns in the order of ``bounds``, in
    their units) to (m,) or (m, k) outputs; it is called once, on n (d + 2) points. ``n`` (the
    base sample) must be a power of two. Outputs are named by ``outputs`` (default "0", "1",
    ...). An output that is constant, or not finite at some point, gets NaN indices. One
    row per output and parameter: output, parameter, S1, S1_conf, ST, ST_conf.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    b = check_bounds(bounds)
    if int(n) != n or n < 2 or int(n) & (int(n) - 1):
        raise ValueError(f"n must be a power of two (at least 2), got {n}")
    problem = {"num_vars": len(b), "names": list(b), "bounds": [list(v) for v in b.values()]}
    x = sobol_sample.sample(problem, int(n), calc_second_order=False, scramble=True, seed=seed)
    y = np.asarray(predict(x), float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != len(x):
        raise ValueError(f"predict returned shape {y.shape} for {len(x)} points; "
                         "expected (m,) or (m, k)")
    names = [str(j) for j in range(y.shape[1])] if outputs is None else list(outputs)
    if len(names) != y.shape[1]:
        raise ValueError(f"{len(names)} output names for {y.shape[1]} outputs")
    rows = []
    for j, out in enumerate(names):
        col = y[:, j]
        if np.all(np.isfinite(col)) and np.ptp(col) > 0:
            res = sobol_analyze.analyze(problem, col, calc_second_order=False,
                                        num_resamples=num_resamples, conf_level=conf_level,
                                        seed=_analysis_seed(seed))
            vals = [res["S1"], res["S1_conf"], res["ST"], res["ST_conf"]]
        else:
            vals = [np.full(len(b), np.nan)] * 4
        rows += [[out, p, *(float(v[i]) for v in vals)] for i, p in enumerate(b)]
    return pd.DataFrame(rows, columns=COLUMNS)


# ----------------------------------------------------------------------------- emulators
def emulator_mean(em: Emulator, bounds: Mapping[str, Sequence[float]], batch: int = 20_000
                  ) -> Predictor:
    """A predictor in the parameters' units: each target's emulated E[f(x)] (no variance,
    which is the costly part of :meth:`Emulator.predict`); NaN for a target with no emulator."""
    b = check_bounds(bounds)

    def predict(x: np.ndarray) -> np.ndarray:
        u = to_unit(np.atleast_2d(x), b)
        out = np.full((len(u), len(em.models)), np.nan)
        for j, m in enumerate(em.models):
            if m is None:
                continue
            beta, sd, gp = m
            for s in range(0, len(u), batch):
                ub = u[s:s + batch]
                out[s:s + batch, j] = beta[0] + ub @ beta[1:] + gp.predict(ub) * sd
        return out

    return predict


def loo_accuracy(em: Emulator, y: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Leave-one-out accuracy of each target's emulator on its runs (closed form, with the
    fitted hyperparameters and linear mean kept: slightly optimistic): runs, RMSE and
    R^2 = 1 - mean squared held-out error / variance of the runs."""
    y = np.asarray(y, float)
    val = em.validate()
    runs = np.isfinite(y).sum(axis=0)
    var = np.array([np.var(c[np.isfinite(c)]) if n else np.nan for c, n in zip(y.T, runs,
                                                                               strict=True)])
    rmse = val["rmse"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - rmse ** 2 / var
    return pd.DataFrame({"output": list(names), "runs": runs, "loo_rmse": rmse, "loo_r2": r2})


def design_emulator(design: pd.DataFrame, bounds: Mapping[str, Sequence[float]],
                    targets: Sequence[str], waves: Sequence[int] | None = (1,), seed: int = 0,
                    n_restarts: int = 0, cache: Path | None = None
                    ) -> tuple[Predictor, pd.DataFrame]:
    """Emulators of ``targets`` fitted on the design runs of ``waves`` (all runs if None),
    as :func:`emulator_mean`'s predictor, and their :func:`loo_accuracy`.

    Use the wave-1 runs (a Latin hypercube over the whole box) for indices over the box:
    later waves crowd into the non-implausible region. With the history matching's settings
    (``seed``, ``n_restarts`` = 0) and its ``cache`` the fitted emulators are reused."""
    b = check_bounds(bounds)
    rows = design if waves is None else design[design["wave"].isin(list(waves))]
    if rows.empty:
        raise ValueError(f"no design runs in waves {list(waves or [])}")
    u = to_unit(rows[list(b)].to_numpy(float), b)
    if np.any((u < -1e-9) | (u > 1 + 1e-9)):
        raise ValueError("design runs outside the bounds")
    y = rows[list(targets)].to_numpy(float)
    em = fit_cached(u, y, cache, n_restarts=n_restarts, seed=seed)
    return emulator_mean(em, b), loo_accuracy(em, y, targets)


__all__ = ["COLUMNS", "check_bounds", "design_emulator", "emulator_mean", "loo_accuracy",
           "sobol_indices"]
