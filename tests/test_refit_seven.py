"""The refit without the idle parameter (calibration/README.md, "The refit without the idle
parameter", session 63): ``migsim calibrate --scale-agents 200000`` with the seven parameters
that default runs read, its files in ``calibration/results/refit_seven/``. Each number the
README quotes is recomputed from the committed runs, and one run is made again by today's
code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.history_match import DEFAULT_PARAMS, fit_targets
from sim.experiments.inference import in_bands

ROOT = Path(__file__).resolve().parents[1]
DIR = ROOT / "calibration" / "results" / "refit_seven"
TAG = "hm_0.22.0"
SEVEN = [p for p in DEFAULT_PARAMS if p != "demand_growth_elasticity"]


def _summary() -> dict:
    return json.loads((DIR / f"{TAG}.json").read_text())


def test_the_seven_are_the_committed_eight_less_the_idle_one() -> None:
    from sim.experiments.sensitivity import idle_parameters

    summ = _summary()
    assert list(summ["params"]) == SEVEN == summ["settings"]["params"]
    assert idle_parameters(SEVEN) == {}
    eight = json.loads((ROOT / "calibration" / "results" / f"{TAG}.json").read_text())
    assert set(eight["params"]) - set(SEVEN) == {"demand_growth_elasticity"}
    # the same budget and settings as the committed calibration but the parameters
    same = {k: v for k, v in eight["settings"].items() if k not in ("params", "extra")}
    assert {k: summ["settings"][k] for k in same} == same
    for p in SEVEN:  # the same prior
        assert summ["params"][p] == eight["params"][p], p


def test_design_scale_files_agree_with_each_other() -> None:
    """The waves' runs, the posterior's size and box, the predictive check's in-band counts
    and the recovery's coverage as the summary states them."""
    summ = _summary()
    s = summ["settings"]
    design = pd.read_csv(DIR / f"{TAG}_design.csv")
    assert [int((design["wave"] == w).sum()) for w in (1, 2, 3)] == [s["design"]] * 3
    assert [w["runs"] for w in summ["waves"]] == [s["design"]] * s["waves"]
    post = pd.read_csv(DIR / f"{TAG}_posterior.csv")
    assert len(post) == s["draws"] == 500 and list(post.columns[1:]) == SEVEN
    for p, (lo, hi) in summ["params"].items():
        assert post[p].between(lo, hi).all(), p
    ppc = pd.read_csv(DIR / f"{TAG}_ppc.csv")
    table = pd.read_csv(DIR / f"{TAG}_ppc_table.csv")
    inside = pd.DataFrame({r.target: ppc[r.target].between(r.low, r.high)
                           for r in table.itertuples()})
    assert inside.sum().to_dict() == summ["ppc"]["per_target_in_band"]
    assert inside.all(axis=1).mean() == pytest.approx(summ["ppc"]["all_in_band_share"])
    rec = pd.read_csv(DIR / f"{TAG}_recovery.csv")
    assert rec["truth"].nunique() == s["truths"] == 30
    for mode, g in rec.groupby("observed"):
        for p in SEVEN:
            assert g[f"{p}_in90"].mean() == pytest.approx(
                summ["recovery_coverage90"][mode][f"{p}_in90"], abs=1e-3), (mode, p)


def test_a_predictive_run_is_todays_model() -> None:
    """The design-scale predictive check's first two runs (posterior draws read back from
    their file, seeds 40,000 + draw), made again by today's code to the CSV's seven
    significant digits. (The waves' and the recovery's runs of this refit were made at the
    emulators' full precision, before the Runner rounded to what the files keep, so their rows
    reproduce them only approximately.)"""
    from sim.experiments.sensitivity import _simulate

    summ = _summary()
    ppc = pd.read_csv(DIR / f"{TAG}_ppc.csv")
    targets = fit_targets()
    for i in (0, 1):
        row = ppc.iloc[i]
        point = {p: float(row[p]) for p in SEVEN}
        y = _simulate((point, 40_000 + i, targets, summ["agents"], 1985, 22))
        np.testing.assert_allclose(y, row[[t.name for t in targets]].to_numpy(float),
                                   rtol=1e-6, equal_nan=True)


def test_the_numbers_the_readme_quotes() -> None:
    """calibration/README.md, "The refit without the idle parameter": the waves' regions, the
    tempering, the effective sample, the recovery's coverage and the predictive checks, beside
    the committed eight's."""
    summ = _summary()
    eight = json.loads((ROOT / "calibration" / "results" / f"{TAG}.json").read_text())
    shares = [w["nonimplausible_share"] for w in summ["waves"]]
    np.testing.assert_allclose(shares, [1.8e-4, 1.4e-5, 3.3e-6], rtol=0.03)
    np.testing.assert_allclose([w["nonimplausible_share"] for w in eight["waves"]],
                               [9.5e-5, 4.7e-8, 7.6e-11], rtol=0.03)
    assert summ["posterior"]["tau"] == pytest.approx(0.376, abs=5e-4)
    assert summ["posterior"]["ess"] == pytest.approx(3392, abs=0.5)
    cov = {m: np.mean(list(v.values())) for m, v in summ["recovery_coverage90"].items()}
    assert cov == pytest.approx({"refocused": 0.895, "with_obs_error": 0.762,
                                 "run_only": 0.743}, abs=1e-3)
    assert min(summ["recovery_coverage90"]["refocused"].values()) == pytest.approx(0.833,
                                                                                 abs=1e-3)
    assert summ["ppc"]["mean_targets_in_band"] == pytest.approx(28.77, abs=0.005)
    assert summ["ppc"]["all_in_band_share"] == 0.0
    targets = fit_targets()
    for path, mean_in, all_in in ((DIR / f"{TAG}_ppc200k.csv", 30.43, 1),
                                  (ROOT / "calibration" / "results" / f"{TAG}_ppc200k.csv",
                                   29.72, 0)):
        runs = pd.read_csv(path)
        inb = in_bands(runs, targets)
        assert len(runs) == 60 and inb.sum(axis=1).mean() == pytest.approx(mean_in, abs=0.005)
        assert inb.all(axis=1).sum() == all_in


def test_every_scale_stage_check_agrees_with_its_runs() -> None:
    """Each scale stage's summary (``<name>.json``) states its predictive check as its runs
    (``<name>_ppc200k.csv``) give it: the draws are the posterior's first ones, and the targets
    in band per draw and the share in every band are recomputed."""
    targets = fit_targets()
    checked = 0
    for f in sorted(DIR.glob(f"{TAG}_at200k*.json")):
        summ = json.loads(f.read_text())
        runs_path = f.with_name(f"{f.stem}_ppc200k.csv")
        if "ppc" not in summ or not runs_path.exists():
            continue
        runs = pd.read_csv(runs_path)
        post = pd.read_csv(f.with_name(f"{f.stem}_posterior.csv"))
        params = list(summ["params"])
        assert params == SEVEN, f.name
        np.testing.assert_allclose(runs[params].to_numpy(), post[params].to_numpy()[:len(runs)],
                                   rtol=1e-6)
        inb = in_bands(runs, targets)
        assert len(runs) == summ["ppc"]["draws"], f.name
        assert inb.all(axis=1).mean() == pytest.approx(summ["ppc"]["all_in_band_share"]), f.name
        assert inb.sum(axis=1).mean() == pytest.approx(summ["ppc"]["mean_targets_in_band"],
                                                       abs=1e-6), f.name
        checked += 1
    assert checked >= 1


def test_the_scale_stages() -> None:
    """The scale stages' table of the README: each stage's predictive check beside the
    committed eight's, the emulators' predicted share in every band, and the waves' runs at
    200,000 persons."""
    committed = ROOT / "calibration" / "results"
    stages = (("at200k", (29.87, 0), (31.58, 1)),
              ("at200k_band", (29.82, 1), (31.78, 3)),
              ("at200k_wave_band_w3", (31.98, 3), (32.10, 11)),
              ("at200k_wave_band_w3_abc", (33.35, 61), (33.48, 70)),
              ("at200k_wave_band_w4_abc", (33.475, 68), (33.45, 65)))
    for stem, seven, eight in stages:
        for d, (mean_in, all_in) in ((DIR, seven), (committed, eight)):
            ppc = json.loads((d / f"{TAG}_{stem}.json").read_text())["ppc"]
            assert ppc["mean_targets_in_band"] == pytest.approx(mean_in, abs=0.005), stem
            assert round(ppc["all_in_band_share"] * ppc["draws"]) == all_in, stem
    predicted = {stem: json.loads((DIR / f"{TAG}_{stem}.json").read_text())["posterior"]
                 ["predicted_all_in_band"] for stem in ("at200k_wave_band_w3_abc",
                                                        "at200k_wave_band_w4_abc")}
    assert predicted == pytest.approx({"at200k_wave_band_w3_abc": 0.519,
                                       "at200k_wave_band_w4_abc": 0.592}, abs=5e-4)
    waves = pd.read_csv(DIR / f"{TAG}_at200k_wave_band_design.csv")
    assert waves["wave"].value_counts().sort_index().to_dict() == {1: 150, 2: 150, 3: 150,
                                                                   4: 150}
    assert waves["seed"].is_unique and list(waves.columns[2:9]) == SEVEN
