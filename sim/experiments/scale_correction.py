"""Emulators of larger runs than the design's: a fitted scale discrepancy (issue 13, item 3).

The default calibration runs its design at 30,000 persons; users run 200,000. The model's
moments drift with the number of agents by up to about half a band for some targets (the
scale check of ``migsim calibrate``), enough to keep the posterior's draws off the region
where runs of 200,000 land in every band (calibration/README.md, "The best point, run").
Running every design point at 200,000 persons would take about five times the budget, so the
larger scale is emulated by two levels, as in multi-fidelity calibration (the additive case
of Kennedy & O'Hagan 2000, Biometrika 87): the output at ``scale_agents`` persons is the
design-scale emulator's plus a discrepancy ``delta(u)``, linear in the parameters (in
[0, 1]^d), fitted by least squares on the difference of paired runs: the same points and
seeds at both scales. The discrepancy's own variance (that of its fitted mean at ``u``) adds
to the emulator's, and the replicate noise is the design's scaled to the larger runs (the
variance of a share of agents, ``agents / scale_agents``).

* :class:`Discrepancy`: the per-target linear fit, its prediction and its leave-one-out
  residuals;
* :class:`ScaledEmulator`: an emulator plus a discrepancy; it has the methods the
  implausibility and the likelihood use (``models``, ``predict``, ``predict_target``);
* :func:`scaled_observation`: the observation with the larger runs' replicate noise;
* :func:`correction_points`: where to run the pairs: the defaults, a space-filling set of the
  design-scale posterior's draws and one of the non-implausible region.

The driver, with the runs, the posterior and its predictive check, is
``calibration/scale_posterior.py``.
"""

from __future__ import annotations

import numpy as np

from sim.experiments.emulator import Emulator, Observation, maximin_subset


class Discrepancy:
    """delta_j(u) = a_j + b_j . u per target j, by least squares on paired differences."""

    def __init__(self) -> None:
        self.coef = np.zeros((0, 0))  # (targets, 1 + d)
        self.cov = np.zeros((0, 0, 0))  # (targets, 1 + d, 1 + d): covariance of the fit
        self.resid_sd = np.zeros(0)  # (targets,): residual sd of the paired differences
        self.points = 0

    def fit(self, u: np.ndarray, diff: np.ndarray) -> Discrepancy:
        """Fit on points ``u`` (n, d) in [0, 1]^d and differences ``diff`` (n, targets) of the
        larger runs' mean less the design-scale runs' mean at each point (NaN rows of a target
        are left out; a target with fewer than d + 3 finite rows gets a constant, or zero
        with fewer than 2)."""
        u, diff = np.asarray(u, float), np.asarray(diff, float)
        n, d = u.shape
        k = diff.shape[1]
        self.coef = np.zeros((k, d + 1))
        self.cov = np.zeros((k, d + 1, d + 1))
        self.resid_sd = np.full(k, np.nan)
        self.points = n
        for j in range(k):
            ok = np.isfinite(diff[:, j])
            m = int(ok.sum())
            if m < 2:
                continue
            cols = d + 1 if m >= d + 3 else 1
            a = np.column_stack([np.ones(m), u[ok]])[:, :cols]
            beta, *_ = np.linalg.lstsq(a, diff[ok, j], rcond=None)
            r = diff[ok, j] - a @ beta
            s2 = float(r @ r) / (m - cols)
            self.coef[j, :cols] = beta
            self.cov[j, :cols, :cols] = s2 * np.linalg.pinv(a.T @ a)
            self.resid_sd[j] = np.sqrt(s2)
        return self

    def predict_target(self, u: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance of the fitted mean) of target j's discrepancy at rows of u."""
        a = np.column_stack([np.ones(len(u)), np.asarray(u, float)])
        return a @ self.coef[j], np.einsum("ni,ij,nj->n", a, self.cov[j], a)

    def loo_residuals(self, u: np.ndarray, diff: np.ndarray) -> np.ndarray:
        """(n, targets) leave-one-out residuals of a fit with these settings on (u, diff):
        how well the discrepancy at a point is predicted from the other points."""
        u, diff = np.asarray(u, float), np.asarray(diff, float)
        out = np.full(diff.shape, np.nan)
        for i in range(len(u)):
            keep = np.arange(len(u)) != i
            fit = Discrepancy().fit(u[keep], diff[keep])
            for j in range(diff.shape[1]):
                if np.isfinite(diff[i, j]):
                    out[i, j] = diff[i, j] - fit.predict_target(u[i:i + 1], j)[0][0]
        return out


class ScaledEmulator(Emulator):
    """A design-scale emulator plus a :class:`Discrepancy`: the emulator of the larger runs
    (:meth:`Emulator.predict` and the implausibility use its :meth:`predict_target`)."""

    def __init__(self, base: Emulator, delta: Discrepancy) -> None:
        self.base, self.delta = base, delta
        self.models = base.models  # the base's per-target models (None: no emulator)
        self.inflate = getattr(base, "inflate", np.ones(len(base.models)))

    def predict_target(self, u: np.ndarray, j: int, batch: int = 20_000
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, Var_em) of target j: the base emulator's plus the discrepancy's."""
        u = np.atleast_2d(np.asarray(u, float))
        m, v = self.base.predict_target(u, j, batch)
        dm, dv = self.delta.predict_target(u, j)
        return m + dm, v + dv


def scaled_observation(obs: Observation, agents: int, scale_agents: int) -> Observation:
    """The observation with the replicate variance of runs of ``scale_agents`` persons: the
    design's times ``agents / scale_agents`` (the variance of a mean over agents)."""
    return Observation(obs.names, obs.z, obs.var_obs, obs.var_md,
                       obs.var_noise * agents / scale_agents)


def correction_points(defaults: np.ndarray, posterior: np.ndarray, region: np.ndarray, n: int,
                      seed: int = 0) -> np.ndarray:
    """``n`` points in [0, 1]^d: the defaults first, then a maximin set of the posterior's
    draws (half the rest) and one of the non-implausible ``region``'s candidates (the other
    half), so the discrepancy is fitted where the posterior is and where it may move to."""
    rest = max(n - 1, 0)
    k_post = min(rest // 2 + rest % 2, len(posterior))
    k_reg = min(rest - k_post, len(region))
    parts = [np.atleast_2d(np.asarray(defaults, float))]
    if k_post:
        parts.append(maximin_subset(np.asarray(posterior, float), k_post, seed))
    if k_reg:
        parts.append(maximin_subset(np.asarray(region, float), k_reg, seed + 1))
    return np.vstack(parts)


__all__ = ["Discrepancy", "ScaledEmulator", "correction_points", "scaled_observation"]
