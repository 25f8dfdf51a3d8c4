"""Sobol' indices (sim.experiments.sobol): Ishigami's analytic indices, several outputs,
bounds checks, determinism, and the emulator helper on a toy design."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments.sobol import COLUMNS, design_emulator, sobol_indices

PI = math.pi
BOX = {"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI)}
A, B = 7.0, 0.1


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic (S1, ST) of the Ishigami function on [-pi, pi]^3."""
    v1 = 0.5 * (1 + B * PI ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = 8 * B ** 2 * PI ** 8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_recovered() -> None:
    s1, st = ishigami_indices()
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)
    df = sobol_indices(ishigami, BOX, n=2 ** 13, seed=3)
    assert list(df.columns) == COLUMNS
    assert list(df["parameter"]) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(df["S1"], s1, atol=0.03)
    np.testing.assert_allclose(df["ST"], st, atol=0.03)
    # the bootstrap half-widths are small and cover the truth within a few of themselves
    assert (df["S1_conf"] < 0.05).all() and (df["ST_conf"] < 0.05).all()
    assert (np.abs(df["ST"] - st) < 4 * df["ST_conf"] + 0.005).all()


def test_several_outputs() -> None:
    def two(x: np.ndarray) -> np.ndarray:  # Ishigami and a linear function 2 x1 + x2
        return np.column_stack([ishigami(x), 2 * x[:, 0] + x[:, 1]])

    df = sobol_indices(two, BOX, n=2 ** 12, seed=1, outputs=["ishigami", "linear"])
    assert list(df["output"]) == ["ishigami"] * 3 + ["linear"] * 3
    lin = df[df["output"] == "linear"]
    np.testing.assert_allclose(lin["S1"], [0.8, 0.2, 0.0], atol=0.02)
    np.testing.assert_allclose(lin["ST"], [0.8, 0.2, 0.0], atol=0.02)
    one = sobol_indices(ishigami, BOX, n=2 ** 12, seed=1)
    np.testing.assert_allclose(df[df["output"] == "ishigami"][["S1", "ST"]], one[["S1", "ST"]])
    assert list(one["output"]) == ["0"] * 3
    # a constant output has no variance to share out: NaN, not an error
    const = sobol_indices(lambda x: np.column_stack([x[:, 0], np.ones(len(x))]), BOX, 2 ** 6, 0)
    assert const["ST"].iloc[:3].notna().all() and const["ST"].iloc[3:].isna().all()


@pytest.mark.parametrize("bounds, message", [
    ({}, "at least one parameter"),
    ({"x1": (1.0, 1.0)}, "low < high"),
    ({"x1": (2.0, 1.0)}, "low < high"),
    ({"x1": (0.0, float("inf"))}, "low < high"),
    ({"x1": (0.0, float("nan"))}, "low < high"),
    ({"x1": (0.0,)}, "expected \\(low, high\\)"),
    ({"x1": "ab"}, "expected \\(low, high\\)"),
])
def test_bad_bounds_refused(bounds: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sobol_indices(lambda x: x[:, 0], bounds, n=64, seed=0)


def test_bad_n_and_predictor_refused() -> None:
    with pytest.raises(ValueError, match="power of two"):
        sobol_indices(ishigami, BOX, n=100, seed=0)
    with pytest.raises(ValueError, match="shape"):
        sobol_indices(lambda x: x[:10, 0], BOX, n=64, seed=0)
    with pytest.raises(ValueError, match="output names"):
        sobol_indices(ishigami, BOX, n=64, seed=0, outputs=["a", "b"])


def test_deterministic_under_seed() -> None:
    a = sobol_indices(ishigami, BOX, n=2 ** 10, seed=7)
    pd.testing.assert_frame_equal(a, sobol_indices(ishigami, BOX, n=2 ** 10, seed=7))
    np.random.seed(123)  # noqa: NPY002  global state plays no part
    pd.testing.assert_frame_equal(a, sobol_indices(ishigami, BOX, n=2 ** 10, seed=7))
    b = sobol_indices(ishigami, BOX, n=2 ** 10, seed=8)
    assert not np.allclose(a["S1"], b["S1"])
    # seed 0 too (SALib's bootstrap would fall back to global state on a falsy seed)
    c = sobol_indices(ishigami, BOX, n=2 ** 10, seed=0)
    np.random.seed(5)  # noqa: NPY002
    pd.testing.assert_frame_equal(c, sobol_indices(ishigami, BOX, n=2 ** 10, seed=0))


def test_design_emulator_toy() -> None:
    rng = np.random.default_rng(0)
    bounds = {"p": (0.0, 2.0), "q": (-1.0, 1.0)}
    x = np.column_stack([rng.uniform(0, 2, 40), rng.uniform(-1, 1, 40)])
    design = pd.DataFrame({"wave": [1] * 30 + [2] * 10, "p": x[:, 0], "q": x[:, 1],
                           "y": np.sin(1.5 * x[:, 0]) + 0.3 * x[:, 1], "flat": 0.2 * x[:, 1]})
    design.loc[3, "y"] = np.nan  # a missing run is dropped for that target only
    predict, acc = design_emulator(design, bounds, ["y", "flat"])
    assert list(acc["output"]) == ["y", "flat"] and list(acc["runs"]) == [29, 30]
    assert (acc["loo_r2"] > 0.95).all()
    xt = np.array([[0.5, 0.0], [1.5, -0.5]])
    np.testing.assert_allclose(predict(xt)[:, 0], np.sin(1.5 * xt[:, 0]) + 0.3 * xt[:, 1],
                               atol=0.05)
    df = sobol_indices(predict, bounds, n=2 ** 10, seed=0, outputs=["y", "flat"])
    flat = df[df["output"] == "flat"].set_index("parameter")
    assert flat.loc["q", "ST"] == pytest.approx(1.0, abs=0.02)
    assert flat.loc["p", "ST"] == pytest.approx(0.0, abs=0.02)
    with pytest.raises(ValueError, match="no design runs"):
        design_emulator(design, bounds, ["y"], waves=[5])
    with pytest.raises(ValueError, match="outside the bounds"):
        design_emulator(design, {"p": (0.0, 1.0), "q": (-1.0, 1.0)}, ["y"])
