"""History matching machinery (``sim.experiments.emulator``) on an analytic toy simulator:
y1 = a x1 + noise, y2 = b x2^2 + noise, y3 = x1 x2 + noise, with x in [0, 1]^2."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from sim.experiments import emulator as E  # noqa: E402
from sim.experiments.targets import Target  # noqa: E402

BOUNDS = {"x1": (0.0, 1.0), "x2": (0.0, 1.0)}
NOISE = 0.01


def toy_mean(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    return np.column_stack([2.0 * x[:, 0], 1.5 * x[:, 1] ** 2, x[:, 0] * x[:, 1]])


def toy(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = toy_mean(x)
    return f + rng.normal(0, NOISE, f.shape)


def toy_obs(truth: np.ndarray, rng: np.random.Generator, half_band: float = 0.1
            ) -> E.Observation:
    """Bands centred on an observation drawn around the truth with the stated variances."""
    centre = toy(truth, rng)[0]
    targets = [Target(f"y{i}", "x", "total", 2000, c, c - half_band, c + half_band, "toy",
                      True, None, "fit") for i, c in enumerate(centre)]
    obs = E.observations(targets, [NOISE] * 3, band_sds=2.0, md_fraction=0.0)
    return obs.replace_z(centre + rng.normal(0, np.sqrt(obs.var_obs)))


@pytest.fixture(scope="module")
def fitted() -> tuple[np.ndarray, np.ndarray, E.Emulator]:
    rng = np.random.default_rng(1)
    u = E.latin_hypercube(40, 2, seed=1)
    y = toy(E.from_unit(u, BOUNDS), rng)
    return u, y, E.Emulator(n_restarts=0, seed=1).fit(u, y)


def test_emulator_interpolates(fitted):
    """At new points the emulator is within a few noise sd of the toy, and its variance is
    small at the design points and larger far from them."""
    u, _, em = fitted
    rng = np.random.default_rng(2)
    new = rng.random((200, 2))
    mean, var = em.predict(new)
    truth = toy_mean(new)
    assert np.max(np.abs(mean - truth)) < 0.05
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 2 * NOISE
    assert (em.nuggets() < 5 * NOISE).all()
    check = em.validate()
    assert (check["within_3sd"] > 0.9).all() and (check["inflation"] < 4).all()
    _, var_design = em.predict(u)
    assert np.median(var_design) <= np.median(var)


def test_implausibility_excludes_the_wrong_region(fitted):
    """With the truth at (0.2, 0.8), the truth is non-implausible, the far corner (0.9, 0.1)
    is not, and the non-implausible share of the square is small."""
    _, _, em = fitted
    truth = np.array([0.2, 0.8])
    obs = toy_obs(truth, np.random.default_rng(4), half_band=0.05)
    i = E.implausibility(*em.predict(np.array([truth, [0.9, 0.1]])), obs)
    m = E.kth_max(i, 1)
    assert m[0] <= 3 < m[1]
    pts, share = E.sample_region([em], obs, 2, 500, seed=5, batch=20_000, max_tries=40_000)
    assert 0 < share < 0.25
    assert np.all(np.abs(pts - truth).max(axis=1) < 0.3)


def test_posterior_covers_the_truth_at_the_nominal_rate(fitted):
    """Over 40 truths drawn from the prior (observations drawn with the stated variances),
    the 90% intervals contain each coordinate about 90% of the time, and resampled draws
    sit near the truth."""
    _, _, em = fitted
    rng = np.random.default_rng(6)
    pool = rng.random((20_000, 2))
    pm, pv = em.predict(pool)
    hits = []
    for _ in range(40):
        truth = rng.uniform(0.1, 0.9, 2)
        obs = toy_obs(truth, rng)
        ll = E.log_likelihood(pm, pv, obs)
        iv = E.posterior_intervals(pool, ll, 0.9)
        hits.append((iv[:, 0] <= truth) & (truth <= iv[:, 1]))
    cover = np.mean(hits, axis=0)
    assert np.all((cover >= 0.75) & (cover <= 1.0)), cover
    draws, ess = E.importance_draws(pool, ll, 300, seed=7)
    assert ess > 50
    assert np.abs(draws.mean(axis=0) - truth).max() < 0.15


def test_design_helpers():
    """The Latin hypercube has one point per stratum in each coordinate; unit scaling
    round-trips; the maximin subset spreads out."""
    u = E.latin_hypercube(10, 3, seed=0)
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 10).astype(int)) == list(range(10))
    b = {"a": (-20.0, 20.0), "b": (1.0, 50.0)}
    x = np.array([[0.0, 2.0], [-5.0, 49.0]])
    assert np.allclose(E.from_unit(E.to_unit(x, b), b), x)
    cloud = np.random.default_rng(0).random((500, 2))
    sub = E.maximin_subset(cloud, 5, seed=0)
    assert len(sub) == 5
    d = np.linalg.norm(sub[:, None] - sub[None], axis=2)
    assert d[np.triu_indices(5, 1)].min() > 0.2


def test_files_are_written_atomically(tmp_path, monkeypatch):
    """Outputs go through a temporary file and os.replace; a failed write leaves the old
    file and no temporary behind."""
    path = tmp_path / "out" / "draws.csv"
    calls = []
    real = os.replace

    def spy(src, dst):
        calls.append((str(src), str(dst)))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    E.write_csv(pd.DataFrame({"a": [1, 2]}), path)
    assert calls and calls[-1][1] == str(path) and calls[-1][0] != str(path)
    assert pd.read_csv(path)["a"].tolist() == [1, 2]
    E.write_json({"k": 1}, tmp_path / "out" / "s.json")

    def broken(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        E.atomic_write(path, broken)
    assert pd.read_csv(path)["a"].tolist() == [1, 2]
    assert sorted(f.name for f in path.parent.iterdir()) == ["draws.csv", "s.json"]


def test_a_resumed_call_keeps_the_call_that_made_the_runs(tmp_path):
    """A stage's summary rewritten by a call that resumes it lists the earlier calls' counts,
    oldest first; a first call (or an unreadable earlier file) writes none."""
    import json

    path = tmp_path / "stage.json"
    E.write_call_summary({"runs_this_call": 40, "wall_seconds_this_call": 900.0,
                          "workers": 2, "posterior": [1]}, path)
    assert "earlier_calls" not in json.loads(path.read_text())
    E.write_call_summary({"runs_this_call": 0, "wall_seconds_this_call": 3.0, "workers": 1,
                          "posterior": [1]}, path)
    E.write_call_summary({"runs_this_call": 5, "wall_seconds_this_call": 60.0, "workers": 2,
                          "posterior": [2]}, path)
    got = json.loads(path.read_text())
    assert got["runs_this_call"] == 5 and got["posterior"] == [2]
    assert got["earlier_calls"] == [
        {"runs_this_call": 40, "wall_seconds_this_call": 900.0, "workers": 2},
        {"runs_this_call": 0, "wall_seconds_this_call": 3.0, "workers": 1}]
    path.write_text("{not json")
    E.write_call_summary({"runs_this_call": 1}, path)
    assert json.loads(path.read_text()) == {"runs_this_call": 1}


def test_next_box_bounds_a_region_the_pilot_barely_finds(fitted):
    """``emulator.next_box``: with ten or more pilot points the box is theirs; with
    fewer it is bounded by them and the design runs that every wave leaves non-implausible
    (a quarter of its width added on each side, inside the last box), so it still holds the
    truth and is much smaller than the square; with fewer than two known points the box stays."""
    u, _, em = fitted
    truth = np.array([0.2, 0.8])
    obs = toy_obs(truth, np.random.default_rng(4), half_band=0.05)
    square = (np.zeros(2), np.ones(2))
    pilot, _ = E.sample_region([em], obs, 2, 50, seed=5, batch=20_000, max_tries=40_000)
    assert len(pilot) >= 10
    lo, hi = E.next_box(pilot, u, [em], obs, square)
    np.testing.assert_allclose((lo, hi), E.bounding_box(pilot))
    runs = np.vstack([u, truth + [[0.01, -0.008], [-0.008, 0.01]]])  # two runs near the truth
    lo, hi = E.next_box(pilot[:3], runs, [em], obs, square)  # few pilot points: runs join
    ok = E.nonimplausible(em, runs, obs)
    assert ok.sum() >= 2 and np.prod(hi - lo) < 0.1
    assert np.all((lo <= truth) & (truth <= hi))
    assert np.all(lo <= runs[ok].min(axis=0)) and np.all(hi >= runs[ok].max(axis=0))
    inner = (np.full(2, 0.1), np.full(2, 0.9))
    lo2, hi2 = E.next_box(pilot[:3], runs, [em], obs, inner)  # never outside the last box
    assert np.all(lo2 >= 0.1) and np.all(hi2 <= 0.9)
    none = np.empty((0, 2))
    far = np.array([[0.95, 0.05]])  # implausible: no known point, the box stays
    assert E.next_box(none, far, [em], obs, inner) == inner
