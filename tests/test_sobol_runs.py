"""Sobol' indices from direct runs (sim.experiments.sobol_runs), checked on functions whose
indices are known, and on the model at a tiny scale."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("SALib")

from sim.experiments.sobol_runs import sobol_runs, summarise_sobol  # noqa: E402
from sim.experiments.targets import Target  # noqa: E402


def _target(name: str, use: str = "fit") -> Target:
    return Target(name, "x", "total", 2000, 0.0, -1.0, 1.0, "test", False, None, use)


def test_additive_function_has_its_variance_shares():
    """y = 2a + b (a, b uniform on [0, 1], c inert): first-order indices 4/5 and 1/5, total
    the same, c's 0, within 0.05; a target that is NaN somewhere has NaN indices; the summary
    ranks a first."""
    def model(x, seed):
        return np.array([2 * x["a"] + x["b"], np.nan if x["c"] > 0.9 else 1.0])

    table = sobol_runs({"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)},
                       [_target("y"), _target("undefined")], n=1024, model=model)
    y = table[table["target"] == "y"].set_index("parameter")
    for k, s in (("a", 0.8), ("b", 0.2), ("c", 0.0)):
        assert y.loc[k, "S1"] == pytest.approx(s, abs=0.05)
        assert y.loc[k, "ST"] == pytest.approx(s, abs=0.05)
    assert table[table["target"] == "undefined"][["S1", "ST"]].isna().all().all()
    assert table.attrs["runs"] == 1024 * 5
    summary = summarise_sobol(table)
    assert list(summary["parameter"]) == ["a", "b", "c"]


def test_interaction_shows_in_the_total_index_only():
    """y = a * b on [-1, 1]^2: no first-order effect, all of the variance in the interaction,
    so S1 near 0 and ST near 1 for both."""
    table = sobol_runs({"a": (-1.0, 1.0), "b": (-1.0, 1.0)}, [_target("y")], n=2048,
                       model=lambda x, s: np.array([x["a"] * x["b"]]))
    assert table["S1"].abs().max() < 0.1
    assert table["ST"].min() > 0.9


def test_model_runs_at_a_tiny_scale():
    """The real model, two parameters, n = 2 (8 runs of 2,000 persons over two years): every
    row is finite where the target varies, and the run count is n * (k + 2)."""
    target = Target("stock", "migrant_stock", "total", 1986, 1e6, 0.0, 2e6, "test")
    table = sobol_runs({"beta_income": (1.5, 2.5), "asc_home": (-1.0, -0.4)}, [target], n=2,
                       agents=2000, start_year=1985, years=2)
    assert table.attrs["runs"] == 8 and table.attrs["failed"] == 0
    assert np.isfinite(table["sd"]).all() and (table["sd"] > 0).all()
