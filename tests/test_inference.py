"""The calibration's likelihood and sampler (``sim.experiments.inference``) on problems with
known answers: the effective number of independent targets, and the tempered posterior found by
adaptive importance sampling, and where a point stands in a posterior."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sim.experiments import emulator as E  # noqa: E402
from sim.experiments.inference import (  # noqa: E402
    effective_targets,
    ess,
    fit_back,
    point_standing,
    temper,
)


def _emulated(shared: int, runs: int = 150, seed: int = 0):
    """Six targets on two inputs: a smooth function plus noise, the noise of targets 2k and
    2k + 1 one draw when ``shared`` (three independent errors), six draws otherwise."""
    rng = np.random.default_rng(seed)
    u = rng.random((runs, 2))
    f = np.column_stack([np.sin(3 * u[:, 0]) + k * u[:, 1] for k in range(6)])
    e = rng.normal(0, 0.3, (runs, 3 if shared else 6))
    noise = np.repeat(e, 2, axis=1) if shared else e
    y = f + noise
    return E.Emulator(0, 0).fit(u, y), y


def test_effective_targets_counts_the_independent_errors():
    """Three errors each shared by two targets are three pieces of evidence (the correlation's
    eigenvalues 2, 2, 2, 0, 0, 0 give a participation ratio of 3); six independent ones are six,
    less the sampling spread of 150 runs. ``temper`` is that count over the six targets."""
    em3, y3 = _emulated(shared=True)
    em6, y6 = _emulated(shared=False)
    n3, n6 = effective_targets(em3, y3), effective_targets(em6, y6)
    assert 2.8 <= n3 <= 3.6, n3
    assert 5.3 <= n6 <= 6.0 + 1e-9, n6
    assert temper(em3, y3) == pytest.approx(n3 / 6)
    assert temper(em6, y6) == pytest.approx(n6 / 6)


def test_effective_targets_ignores_a_target_without_emulator():
    """A target with too few values gets no emulator and drops out of the count."""
    em, y = _emulated(shared=False)
    y = y.copy()
    y[3:, 5] = np.nan  # three values: fewer than d + 3 = 5
    em = E.Emulator(0, 0).fit(np.random.default_rng(0).random((len(y), 2)), y)
    assert em.models[5] is None
    n = effective_targets(em, y)
    assert 4.3 <= n <= 5.0 + 1e-9, n  # five independent errors; counted, the sixth would
    assert temper(em, y) == pytest.approx(n / 5)  # leave no complete row and give 6


def test_fit_back_finds_a_known_posterior():
    """Two targets that equal the two parameters (emulated on 60 runs), observed at (0.5, 0.3)
    with sd 0.05 in all: the posterior of each parameter is Gaussian with that sd (sd / tau^0.5
    when tempered by tau) cut at 3 sd of the untempered fit (the non-implausibility cutoff). Its
    90% intervals are found to 0.01 at tau 1 and 1/4, with an effective sample in the
    hundreds."""
    from scipy.stats import truncnorm

    rng = np.random.default_rng(0)
    u = rng.random((60, 2))
    em = E.Emulator(0, 0).fit(u, u.copy())
    sd = 0.05
    var = np.full(2, sd ** 2 / 2)  # split between observation and replicate noise
    o = E.Observation(["a", "b"], np.array([0.5, 0.3]), var, np.zeros(2), var)
    pool = rng.random((20_000, 2))
    pm, pv = em.predict(pool)
    for tau in (1.0, 0.25):
        x, lw = fit_back(em, o, pool, pm, pv, 3.0, 1, tau, 10_000, 3,
                         np.random.default_rng(1))
        assert ess(lw) > 300
        iv = E.posterior_intervals(x, lw)
        s = sd / np.sqrt(tau)
        cut = 3.0 * sd / s  # the cutoff in sd of the tempered posterior
        half = s * truncnorm(-cut, cut).ppf(0.95)
        np.testing.assert_allclose(iv[:, 0], [0.5 - half, 0.3 - half], atol=0.01)
        np.testing.assert_allclose(iv[:, 1], [0.5 + half, 0.3 + half], atol=0.01)


def test_fit_back_is_reproducible_from_its_generator():
    rng = np.random.default_rng(0)
    u = rng.random((40, 2))
    em = E.Emulator(0, 0).fit(u, u.copy())
    var = np.full(2, 0.001)
    o = E.Observation(["a", "b"], np.array([0.4, 0.6]), var, np.zeros(2), var)
    pool = rng.random((5000, 2))
    pm, pv = em.predict(pool)
    a = fit_back(em, o, pool, pm, pv, 3.0, 1, 0.7, 2000, 2, np.random.default_rng(5))
    b = fit_back(em, o, pool, pm, pv, 3.0, 1, 0.7, 2000, 2, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


class _Line:
    """A one-target 'emulator' predicting u0 with variance 0: hand-checkable standings."""

    models = [None]

    def predict(self, u):
        return u[:, :1].copy(), np.zeros((len(u), 1))

    def predict_target(self, u, j):
        return u[:, 0].copy(), np.zeros(len(u))


def test_point_standing_by_hand():
    """Target observed at 0.5 with variance 0.01: the likelihood falls with |u - 0.5|. Of the
    candidates 0.1, 0.3, 0.5, 0.7, 0.9 the point 0.35 is more likely than 0.1, 0.9 (and 0.3,
    0.7), less than 0.5 alone: density rank 4/5, and the mass above it is 0.5's weight. A point
    three sd away is implausible at the cut 3 (strictly above it)."""
    obs = E.Observation(["t"], np.array([0.5]), np.array([0.01]), np.zeros(1), np.zeros(1))
    cand = np.array([[0.1], [0.3], [0.5], [0.7], [0.9]])
    tau = 0.5
    ll = tau * E.log_likelihood(cand, np.zeros_like(cand), obs)  # as the pipeline's
    got = point_standing(np.array([0.35]), [_Line(), _Line()], obs, cand, ll, tau)
    assert got["nonimplausible"] == [True, True]
    assert got["density_rank"] == pytest.approx(0.8)
    w = np.exp(ll - ll.max())
    assert got["hpd_mass"] == pytest.approx(w[2] / w.sum(), abs=1e-4)
    assert point_standing(np.array([0.5]), [_Line()], obs, cand, ll, tau)["hpd_mass"] == 0.0
    far = point_standing(np.array([0.81]), [_Line()], obs, cand, ll, tau)
    assert far["nonimplausible"] == [False] and far["density_rank"] == pytest.approx(0.4)


def test_band_probabilities_by_hand():
    """One run Normal(mean, var_em + var_noise): with mean at the band's centre and sd equal
    to the half-width the chance is P(|Z| <= 1) = 0.6827; a mean on the edge gives 0.5 for a
    wide band; no emulator (NaN) counts as in band; the joint chance is the product."""
    from sim.experiments.inference import band_probabilities

    mean = np.array([[0.5, 1.0, np.nan]])
    p, joint = band_probabilities(mean, np.array([[0.005, 0.0, 0.0]]),
                                  np.array([0.005, 1e-12, 1.0]),
                                  np.array([0.4, 1.0, 0.0]), np.array([0.6, 1e9, 1.0]))
    np.testing.assert_allclose(p, [[0.682689, 0.5, 1.0]], atol=1e-6)
    np.testing.assert_allclose(joint, [0.682689 * 0.5], atol=1e-6)
