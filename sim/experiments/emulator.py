"""History matching with Gaussian-process emulators (issue 13, items 3-5).

One emulator per target: an ordinary least-squares linear mean in the parameters (scaled to
[0, 1]) plus a Gaussian process on its residuals (scikit-learn, anisotropic Matern 5/2 times a
constant, plus a white-noise term that absorbs the seed-to-seed noise of the design runs). The
emulator returns the expected model output E[f(x)] and the variance of that expectation
(``Var_em``; the white-noise term is taken out, the replicate noise enters separately).

The implausibility of a parameter point x for target t is::

    I_t(x) = |z_t - E[f_t(x)]| / sqrt(Var_em,t(x) + Var_noise,t + Var_obs,t + Var_md,t)

with z the observation (a band's centre), ``Var_obs`` from the band (half-width = ``band_sds``
standard deviations), ``Var_md`` the model discrepancy (a stated fraction of ``Var_obs``) and
``Var_noise`` the replicate variance of one run. A point is non-implausible when the k-th
largest I_t is at most the cutoff (3, Pukelsheim's rule). Waves refocus: a wave's design is
drawn from the points that every earlier wave's emulators leave non-implausible.

Posterior draws: points sampled uniformly from the non-implausible region (the prior is
uniform over the declared ranges), weighted by the Gaussian likelihood with the same
variances (targets independent), then resampled.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.targets import Target

Bounds = dict[str, tuple[float, float]]


# ----------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class Observation:
    """Observed values and the variances that enter the implausibility, one entry per target."""

    names: list[str]
    z: np.ndarray
    var_obs: np.ndarray
    var_md: np.ndarray
    var_noise: np.ndarray

    @property
    def var_fixed(self) -> np.ndarray:
        """Every variance but the emulator's."""
        return self.var_obs + self.var_md + self.var_noise

    def replace_z(self, z: np.ndarray) -> Observation:
        """The same variances with other observed values (synthetic truths)."""
        return Observation(self.names, np.asarray(z, float), self.var_obs, self.var_md,
                           self.var_noise)


def observations(targets: Sequence[Target], noise_sd: Sequence[float], band_sds: float = 2.0,
                 md_fraction: float = 0.25) -> Observation:
    """Observation from the targets' bands: z = band centre, sd_obs = half-width / band_sds,
    Var_md = md_fraction * Var_obs, Var_noise = noise_sd^2 (replicate sd of one run)."""
    lo = np.array([t.lo for t in targets])
    hi = np.array([t.hi for t in targets])
    var_obs = ((hi - lo) / 2.0 / band_sds) ** 2
    return Observation([t.name for t in targets], (lo + hi) / 2.0, var_obs,
                       md_fraction * var_obs, np.asarray(noise_sd, float) ** 2)


# ----------------------------------------------------------------------------- designs
def to_unit(x: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Parameters (n, d) in their units -> [0, 1]^d."""
    lo, hi = np.array(list(bounds.values())).T
    return (np.asarray(x, float) - lo) / (hi - lo)


def from_unit(u: np.ndarray, bounds: Bounds) -> np.ndarray:
    """[0, 1]^d -> parameters in their units."""
    lo, hi = np.array(list(bounds.values())).T
    return lo + np.asarray(u, float) * (hi - lo)


def latin_hypercube(n: int, d: int, seed: int = 0) -> np.ndarray:
    """A Latin hypercube of n points in [0, 1]^d (scipy.stats.qmc, optimised by random-cd)."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=d, seed=seed, optimization="random-cd").random(n)


def maximin_subset(u: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n rows of u chosen greedily far from each other (a space-filling subset)."""
    if len(u) <= n:
        return u
    rng = np.random.default_rng(seed)
    idx = [int(rng.integers(len(u)))]
    dmin = np.linalg.norm(u - u[idx[0]], axis=1)
    for _ in range(n - 1):
        j = int(np.argmax(dmin))
        idx.append(j)
        dmin = np.minimum(dmin, np.linalg.norm(u - u[j], axis=1))
    return u[idx]


# ----------------------------------------------------------------------------- emulators
class Emulator:
    """Per-target emulators on inputs in [0, 1]^d: linear mean + GP on the residuals."""

    def __init__(self, n_restarts: int = 2, seed: int = 0) -> None:
        self.n_restarts = n_restarts
        self.seed = seed
        self.models: list[tuple | None] = []
        self.inflate = np.ones(0)

    def fit(self, u: np.ndarray, y: np.ndarray) -> Emulator:
        """Fit one emulator per column of y (rows with NaN dropped; a column with fewer than
        d + 3 finite rows gets no emulator and predicts NaN)."""
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        u, y = np.asarray(u, float), np.asarray(y, float)
        d = u.shape[1]
        self.models = []
        self.inflate = np.ones(y.shape[1])
        for j in range(y.shape[1]):
            ok = np.isfinite(y[:, j])
            if ok.sum() < d + 3:
                self.models.append(None)
                continue
            a = np.column_stack([np.ones(ok.sum()), u[ok]])
            beta, *_ = np.linalg.lstsq(a, y[ok, j], rcond=None)
            r = y[ok, j] - a @ beta
            sd = float(r.std()) or 1.0
            kernel = (ConstantKernel(1.0, (1e-3, 1e2))
                      * Matern(length_scale=np.full(d, 0.5), length_scale_bounds=(1e-2, 1e2),
                               nu=2.5)
                      + WhiteKernel(1e-2, (1e-8, 1.0)))
            gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=self.n_restarts,
                                          random_state=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # bounds reached: reported by the kernel
                gp.fit(u[ok], r / sd)
            self.models.append((beta, sd, gp))
        return self

    def predict(self, u: np.ndarray, batch: int = 20_000, cols: Sequence[int] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, Var_em), each (n, targets): the expected output and the emulator's variance
        of it (the fitted white noise removed; times the inflation set by :meth:`validate`).
        With ``cols``, only those targets (the others NaN)."""
        u = np.atleast_2d(np.asarray(u, float))
        mean = np.full((len(u), len(self.models)), np.nan)
        var = np.full_like(mean, np.nan)
        for j in range(len(self.models)):
            if cols is None or j in cols:
                mean[:, j], var[:, j] = self.predict_target(u, j, batch)
        return mean, var

    def predict_target(self, u: np.ndarray, j: int, batch: int = 20_000
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, Var_em) of target ``j`` alone, each (n,), as :meth:`predict` (NaN without an
        emulator)."""
        u = np.atleast_2d(np.asarray(u, float))
        mean, var = np.full(len(u), np.nan), np.full(len(u), np.nan)
        m = self.models[j]
        if m is None:
            return mean, var
        beta, sd, gp = m
        nugget = float(gp.kernel_.k2.noise_level)
        for s in range(0, len(u), batch):
            ub = u[s:s + batch]
            mu, std = gp.predict(ub, return_std=True)
            mean[s:s + batch] = beta[0] + ub @ beta[1:] + mu * sd
            var[s:s + batch] = (np.maximum(std ** 2 - nugget, 1e-10) * sd ** 2
                                * self.inflate[j])
        return mean, var

    def nuggets(self) -> np.ndarray:
        """The fitted white-noise sd of each target's emulator, in the target's units."""
        return np.array([np.nan if m is None else
                         np.sqrt(float(m[2].kernel_.k2.noise_level)) * m[1]
                         for m in self.models])

    def validate(self, obs: Observation | None = None) -> pd.DataFrame:
        """Leave-one-out check of each target's emulator on its own runs (closed form for the
        fitted hyperparameters): the share of held-out runs within 3 predictive sd, the RMSE
        (in observation sd if ``obs`` is given), and an inflation of Var_em, set on the
        emulator, that brings the 95th percentile of |z| to 1.96 where it was above (an
        overconfident emulator would rule out points it cannot predict)."""
        from scipy.linalg import cho_solve

        rows = []
        self.inflate = np.ones(len(self.models))
        for j, m in enumerate(self.models):
            if m is None:
                rows.append({"within_3sd": np.nan, "rmse": np.nan, "inflation": np.nan})
                continue
            _beta, sd, gp = m
            kinv = cho_solve((gp.L_, True), np.eye(len(gp.L_)))
            dinv = np.diag(kinv)
            err = gp.alpha_ / dinv  # held-out residual, in units of sd
            z = err * np.sqrt(dinv)  # over the leave-one-out sd
            c = max(1.0, (float(np.quantile(np.abs(z), 0.95)) / 1.96) ** 2)
            self.inflate[j] = c
            rows.append({"within_3sd": float(np.mean(np.abs(z) <= 3)),
                         "rmse": float(np.sqrt(np.mean(err ** 2))) * sd, "inflation": c})
        out = pd.DataFrame(rows)
        if obs is not None:
            out.insert(0, "target", obs.names)
            out["rmse_obs_sd"] = out["rmse"] / np.sqrt(obs.var_obs)
        return out


def fit_cached(u: np.ndarray, y: np.ndarray, cache: Path | None, n_restarts: int = 0,
               seed: int = 0) -> Emulator:
    """An emulator fitted on (u, y), reused from ``cache`` (a directory of pickles keyed by
    the data and settings) when the same fit was made before."""
    import hashlib
    import pickle

    if cache is None:
        return Emulator(n_restarts, seed).fit(u, y)
    key = hashlib.sha256(np.ascontiguousarray(u).tobytes() + np.ascontiguousarray(y).tobytes()
                         + f"{n_restarts},{seed}".encode()).hexdigest()[:16]
    path = Path(cache) / f"emulator_{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    em = Emulator(n_restarts, seed).fit(u, y)
    atomic_write(path, lambda p: p.write_bytes(pickle.dumps(em)))
    return em


# ----------------------------------------------------------------------------- implausibility
def implausibility(mean: np.ndarray, var_em: np.ndarray, obs: Observation) -> np.ndarray:
    """I (n, targets) of emulator predictions against the observation."""
    return np.abs(obs.z - mean) / np.sqrt(var_em + obs.var_fixed)


def kth_max(i: np.ndarray, k: int = 1) -> np.ndarray:
    """The k-th largest implausibility of each row over its finite targets."""
    s = np.sort(np.where(np.isfinite(i), i, -np.inf), axis=1)[:, ::-1]
    return s[:, k - 1]


def nonimplausible(em: Emulator, u: np.ndarray, obs: Observation, cutoff: float = 3.0,
                   k: int = 1) -> np.ndarray:
    """Mask of the rows of u whose k-th largest implausibility is at most the cutoff; targets
    are evaluated one at a time on the rows still in (a row is out at its k-th exceedance)."""
    alive = np.arange(len(u))
    over = np.zeros(len(u), int)
    for j in range(len(em.models)):
        if not len(alive):
            break
        mean, var = em.predict_target(u[alive], j)  # one target: I of column j only
        i = np.abs(obs.z[j] - mean) / np.sqrt(var + obs.var_fixed[j])
        over[alive] += i > cutoff  # NaN (no emulator or no value) never counts
        alive = alive[over[alive] < k]
    mask = np.zeros(len(u), bool)
    mask[alive] = True
    return mask


def sample_region(waves: Sequence[Emulator], obs: Observation, d: int, n: int,
                  cutoff: float = 3.0, k: int = 1, seed: int = 0, batch: int = 50_000,
                  max_tries: int = 2_000_000, box: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, float]:
    """Up to n points of [0, 1]^d, uniform on the region every wave's emulators leave
    non-implausible; and that region's volume as a share of the prior (the accepted share of
    the candidates times the box's volume). Candidates are drawn in ``box`` (low, high in
    [0, 1]^d; default the whole cube), which must contain the region."""
    rng = np.random.default_rng(seed)
    lo, hi = (np.zeros(d), np.ones(d)) if box is None else box
    kept, tried, got = [], 0, 0
    while got < n and tried < max_tries:
        u = lo + rng.random((batch, d)) * (hi - lo)
        tried += batch
        for em in reversed(waves):  # the latest wave rules out most: cheapest first
            u = u[nonimplausible(em, u, obs, cutoff, k)]
        kept.append(u)
        got += len(u)
    pts = np.concatenate(kept) if kept else np.empty((0, d))
    return pts[:n], got / tried * float(np.prod(hi - lo))


def bounding_box(u: np.ndarray, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The box around points of [0, 1]^d, widened by ``margin`` of its width on each side
    (at least 0.02), clipped to the cube: where the next wave draws its candidates."""
    lo, hi = u.min(axis=0), u.max(axis=0)
    pad = np.maximum(margin * (hi - lo), 0.02)
    return np.clip(lo - pad, 0.0, 1.0), np.clip(hi + pad, 0.0, 1.0)


def next_box(pilot: np.ndarray, u_runs: np.ndarray, waves: Sequence[Emulator],
             obs: Observation, box: tuple[np.ndarray, np.ndarray], cutoff: float = 3.0,
             k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The box the next wave draws from: around ten or more pilot points; with fewer (0.18.0's
    second wave: 7), around them and the design runs ``u_runs`` every wave leaves
    non-implausible, a quarter wider, inside the last ``box`` (at least two such points, else
    the box stays). Without the runs the third wave and the posterior of 0.18.0 drew from the
    first wave's box and found 29 and 14 points."""
    if len(pilot) >= 10:
        return bounding_box(pilot)
    ok = np.ones(len(u_runs), bool)
    for em in waves:
        ok &= nonimplausible(em, u_runs, obs, cutoff, k)
    known = np.vstack([pilot, u_runs[ok]])
    if len(known) < 2:
        return box
    lo, hi = bounding_box(known, margin=0.25)
    return np.maximum(lo, box[0]), np.minimum(hi, box[1])


# ----------------------------------------------------------------------------- posterior
def log_likelihood(mean: np.ndarray, var_em: np.ndarray, obs: Observation) -> np.ndarray:
    """Gaussian log-likelihood of each row (targets independent, NaN targets left out)."""
    v = var_em + obs.var_fixed
    ll = -0.5 * ((obs.z - mean) ** 2 / v + np.log(2 * np.pi * v))
    return np.nansum(ll, axis=1)


def importance_draws(u: np.ndarray, loglik: np.ndarray, n: int, seed: int = 0
                     ) -> tuple[np.ndarray, float]:
    """n draws resampled from candidates u with weights exp(loglik); and the effective sample
    size of the weights (Kish)."""
    w = np.exp(loglik - np.max(loglik))
    w /= w.sum()
    ess = float(1.0 / np.sum(w ** 2))
    idx = np.random.default_rng(seed).choice(len(u), size=n, replace=True, p=w)
    return u[idx], ess


def weighted_interval(x: np.ndarray, w: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    """Central interval of a weighted sample."""
    o = np.argsort(x)
    c = np.cumsum(w[o]) / w.sum()
    a = (1 - level) / 2
    return float(x[o][np.searchsorted(c, a)]), float(x[o][min(np.searchsorted(c, 1 - a),
                                                                  len(x) - 1)])


def posterior_intervals(u: np.ndarray, loglik: np.ndarray, level: float = 0.9) -> np.ndarray:
    """(d, 2) central intervals of each coordinate under weights exp(loglik)."""
    w = np.exp(loglik - np.max(loglik))
    return np.array([weighted_interval(u[:, j], w, level) for j in range(u.shape[1])])


def recovery_columns(x: np.ndarray, loglik: np.ndarray, truth: np.ndarray, bounds: Bounds,
                     params: Sequence[str], level: float = 0.9) -> dict[str, float | bool]:
    """For a fit back of a known truth: ``<p>_in90`` (the truth inside the central interval of
    unit draws ``x`` weighted by exp(loglik)) and ``<p>_width`` (that interval's width as a
    share of the parameter's range)."""
    iv = from_unit(posterior_intervals(x, loglik, level).T, bounds).T
    return {**{f"{p}_in90": bool(iv[j, 0] <= truth[j] <= iv[j, 1]) for j, p in enumerate(params)},
            **{f"{p}_width": float((iv[j, 1] - iv[j, 0]) / np.ptp(bounds[p]))
               for j, p in enumerate(params)}}


# ----------------------------------------------------------------------------- files
def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file through a temporary sibling and os.replace (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are shared files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(df: pd.DataFrame, path: str | Path, float_format: str = "%.7g") -> Path:
    """A CSV written atomically (floats to seven significant digits)."""
    return atomic_write(path, lambda p: df.to_csv(p, index=False, float_format=float_format))


def write_json(data: dict, path: str | Path) -> Path:
    """A JSON file written atomically."""
    return atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=1, default=str)))


CALL_KEYS = ("runs_this_call", "run_seconds_this_call", "wall_seconds_this_call", "workers")


def write_call_summary(summary: dict, path: str | Path) -> Path:
    """A stage's summary, written atomically, that keeps the record of earlier calls: when the
    file is already there (a call resuming the stage), the earlier file's call (its
    ``CALL_KEYS``) is appended to ``earlier_calls``, oldest first. A resumed call that reads
    every run back writes ``runs_this_call: 0`` without losing the call that made the runs."""
    path = Path(path)
    try:
        old = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):  # an unreadable earlier summary: nothing to keep
        old = {}
    earlier = list(old.get("earlier_calls", []))
    call = {k: old[k] for k in CALL_KEYS if k in old}
    if call:
        earlier.append(call)
    if earlier:
        summary["earlier_calls"] = earlier
    return write_json(summary, path)


__all__ = ["CALL_KEYS", "Emulator", "Observation", "atomic_write", "bounding_box", "fit_cached",
           "from_unit", "implausibility", "importance_draws", "kth_max", "latin_hypercube",
           "log_likelihood", "maximin_subset", "nonimplausible", "observations",
           "posterior_intervals", "recovery_columns", "sample_region", "to_unit",
           "weighted_interval", "write_call_summary", "write_csv", "write_json"]
