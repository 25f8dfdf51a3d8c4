"""The targets file for calibration (uses, bands, years) and the Morris screening machinery
(``sim.experiments.sensitivity``) on an analytic function and on a tiny model run."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiments.targets import USES, Target, load_targets

SALib = pytest.importorskip("SALib")

from sim.experiments import sensitivity as sens  # noqa: E402


def test_targets_file_is_ready_for_calibration():
    """At least 30 targets, each with a valid use, a band low < high, and no year after 2006."""
    targets = load_targets()
    assert len(targets) >= 30
    assert {t.use for t in targets} == set(USES)
    for t in targets:
        assert t.use in USES, t.name
        assert t.lo < t.hi, t.name
        assert t.years[-1] <= 2006, t.name
    assert len({t.name for t in targets}) == len(targets)


def test_use_defaults_and_refusal(tmp_path):
    """Without `use` an asserted target is fit and an unasserted one check; an unknown use is
    refused with the file and the target named."""
    head = ('[[target]]\nname = "{n}"\nindicator = "migrant_stock"\ngroup = "total"\n'
            'year = 2001\nvalue = 1.0\ntol = 0.5\nsource = "test"\n')
    f = tmp_path / "t.toml"
    f.write_text(head.format(n="a") + head.format(n="b") + "assert = false\n")
    a, b = load_targets(f)
    assert (a.use, b.use) == ("fit", "check")
    f.write_text(head.format(n="odd one") + 'use = "fitting"\n')
    with pytest.raises(ValueError, match=r"t\.toml.*odd one.*fitting"):
        load_targets(f)


def _target(name: str) -> Target:
    return Target(name, "x", "total", 2000, 0.0, -1.0, 1.0, "test", False, None, "fit")


def test_morris_ranks_an_inert_parameter_last():
    """On y1 = 4a + b^2, y2 = a*b (c inert), mu* is finite, c's is zero and ranked last, the
    effects equal SALib's own analysis, and effects below the noise are flagged."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    params = {"a": (0.0, 1.0), "b": (-1.0, 2.0), "c": (5.0, 6.0)}
    targets = [_target("y1"), _target("y2")]

    def model(x: dict[str, float], seed: int) -> np.ndarray:
        return np.array([4 * x["a"] + x["b"] ** 2, x["a"] * x["b"]])

    noise = sens.replicate_noise(targets, [1, 2], 0, model=lambda x, s: np.array([s, 0.0]))
    table, summary = sens.morris(params, targets, trajectories=5, noise=noise, model=model)
    assert np.isfinite(table["mu_star"]).all() and (table["n_effects"] == 5).all()
    assert list(summary["parameter"])[-1] == "c"
    assert (table.loc[table["parameter"] == "c", "mu_star"] == 0).all()
    # y1 has noise 0.707 (seeds 1, 2): the floor is sqrt(2) * 0.707 / (2/3) = 1.5
    assert table.loc[table["parameter"] == "c", "below_noise"].all()
    assert not table.loc[(table["parameter"] == "a") & (table["target"] == "y1"),
                         "below_noise"].item()

    problem = {"num_vars": 3, "names": list(params), "bounds": [list(v) for v in params.values()]}
    x = sample.sample(problem, N=5, num_levels=4, seed=0)
    y = np.array([model(dict(zip(params, row, strict=True)), 1) for row in x])
    for j, t in enumerate(targets):
        ref = analyze.analyze(problem, x, y[:, j], num_levels=4)
        got = table[table["target"] == t.name].set_index("parameter").loc[list(params)]
        np.testing.assert_allclose(got["mu_star"], ref["mu_star"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got["sigma"], ref["sigma"], rtol=1e-12, atol=1e-12)


def test_morris_on_a_tiny_model_run():
    """Two behaviour parameters (declared ranges), two trajectories, 2,000 agents, two years:
    finite mu* for the stock; the parameters come from the schema."""
    space = sens.scalar_parameters()
    assert {"asc_home", "female_cost", "female_norm_effect"} <= set(space)
    assert sens.path_parameters() == []  # no behaviour path since 0.13 (issue 12)
    assert "hukou_penalty_small" in sens.path_parameters(("policy",))
    params = {k: space[k] for k in ("asc_home", "remit_share")}
    targets = [Target("stock", "migrant_stock", "total", 1986, 1e6, 0.0, 2e6, "test")]
    table, summary = sens.morris(params, targets, agents=2000, trajectories=2, start_year=1985,
                                 years=2)
    assert table.attrs["runs"] == 6 and table.attrs["failed"] == 0
    assert np.isfinite(table["mu_star"]).all()
    assert set(summary["parameter"]) == set(params)


def test_local_ranges_sit_around_the_defaults():
    """Half of each default either way, clipped to the declared range; a default of 0 from the
    declared low end; a share outside (0, 1] is refused."""
    from sim.engine.registry import Params

    d = Params()
    space = sens.scalar_parameters()
    local = sens.local_ranges(space, 0.5)
    assert local.keys() == space.keys()
    lo, hi = local["beta_income"]
    assert (lo, hi) == pytest.approx((0.5 * d["beta_income"], 1.5 * d["beta_income"]))
    assert local["asc_home"] == pytest.approx((1.5 * d["asc_home"], 0.5 * d["asc_home"]))
    assert d["returnee_move_bonus"] == 0.0
    assert local["returnee_move_bonus"] == pytest.approx((0.0, 2.5))  # half of [0, 5]
    lo, hi = local["return_children_school_ratio"]  # default 1, declared [0.05, 1.5]
    assert (lo, hi) == pytest.approx((0.5, 1.5))
    assert all(space[k][0] <= a <= b <= space[k][1] for k, (a, b) in local.items())
    with pytest.raises(ValueError, match="outside"):
        sens.local_ranges(space, 0.0)



def test_screening_script_leaves_idle_parameters_out(tmp_path, monkeypatch):
    """``calibration/sensitivity.py`` screens no parameter that no run of the years reads (it
    records each with its condition) unless asked to, and writes its files whole."""
    import importlib.util
    import json
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("sensitivity_cli",
                                                  root / "calibration" / "sensitivity.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.chdir(root)  # code_state reads the repository's commit
    out = tmp_path / "m.csv"
    mod.main(["--agents", "1000", "--years", "2", "--trajectories", "2", "--noise-seeds", "2",
              "--params", "asc_home", "demand_growth_elasticity", "beta_income",
              "--out", str(out)])
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["idle_left_out"] == {"demand_growth_elasticity": "local_competition == 0"}
    assert meta["parameters"] == 2 and meta["runs"] == 2 * 3
    table = pd.read_csv(out)
    assert set(table["parameter"]) == {"asc_home", "beta_income"}
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(SystemExit):
        mod.main(["--params", "asc_hom", "--out", str(out)])
