"""A wave of history matching at the scale users run (calibration/scale_wave.py): the runs it
reuses, the box, and the script end to end on the session's small calibration."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    sys.path.insert(0, str(ROOT / "calibration"))  # the script imports scale_posterior
    try:
        spec = importlib.util.spec_from_file_location("scale_wave",
                                                      ROOT / "calibration" / "scale_wave.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(ROOT / "calibration"))
    return mod


def test_committed_runs_reads_only_runs_of_the_scale(tmp_path: Path) -> None:
    """Runs of the larger scale from every file that holds some (the pairs' smaller runs
    left out), each labelled with its file; a file with other columns is refused by name."""
    params, names = ["a", "b"], ["y"]
    pd.DataFrame({"agents": [1000, 2000, 2000], "point": [0, 0, 1], "a": [0.1, 0.1, 0.2],
                  "b": [1, 1, 2], "y": [5.0, 6.0, 7.0]}).to_csv(
        tmp_path / "hm_x_at2k_pairs.csv", index=False)
    pd.DataFrame({"draw": [0], "a": [0.3], "b": [3], "y": [8.0]}).to_csv(
        tmp_path / "hm_x_ppc2k.csv", index=False)
    runs = _script().committed_runs(tmp_path, "hm_x", 2000, params, names)
    assert sorted(runs["y"]) == [6.0, 7.0, 8.0]
    assert set(runs["source"]) == {"hm_x_at2k_pairs.csv", "hm_x_ppc2k.csv"}
    pd.DataFrame({"draw": [0], "a": [0.3], "z": [8.0]}).to_csv(
        tmp_path / "hm_x_2k_ppc.csv", index=False)
    with pytest.raises(ValueError, match="hm_x_2k_ppc.csv"):
        _script().committed_runs(tmp_path, "hm_x", 2000, params, names)
    with pytest.raises(FileNotFoundError, match="no committed run"):
        _script().committed_runs(tmp_path, "hm_x", 5000, params, names)


@pytest.mark.parametrize("args, message", [
    (["--tag", "hm_0.22.0", "--design", "1"], "--design must be at least 2, got 1"),
    (["--tag", "hm_0.22.0", "--waves", "0"], "--waves must be at least 1, got 0"),
    (["--tag", "hm_0.22.0", "--candidates", "5"], "--candidates must be at least 100, got 5"),
    (["--tag", "hm_0.22.0", "--final", "uniform"], "invalid choice: 'uniform'"),
    (["--tag", "hm_nope"], "no calibration hm_nope"),
    (["--tag", "hm_0.22.0", "--agents", "100000"], "no hm_0.22.0_at100k_pairs.csv"),
])
def test_script_refuses_bad_arguments_before_any_run(args, message, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit):
        _script().main([*args, "--out", str(tmp_path / "o")])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_inside_keeps_the_box_with_its_faces() -> None:
    box = (np.array([0.2, 0.0]), np.array([0.5, 1.0]))
    u = np.array([[0.2, 0.0], [0.5, 1.0], [0.3, 0.5], [0.19, 0.5], [0.3, 1.01]])
    assert _script().inside(u, box).tolist() == [True, True, True, False, False]


def test_grow_widens_only_the_sides_the_draws_press_against() -> None:
    """Draws at the low face of the first parameter (10%) and at the high face of the second
    (3%, under the 5% threshold): only the first's low side moves, by half the width; a face
    on the prior's bound is never an inner face."""
    mod = _script()
    box = (np.array([0.2, 0.3, 0.0]), np.array([0.6, 0.7, 0.5]))
    u = np.full((100, 3), [0.4, 0.5, 0.25])
    u[:10, 0] = 0.205
    u[10:13, 1] = 0.695
    u[13:50, 2] = 0.001  # at the prior's bound 0: not an inner face
    low, high = mod.at_faces(u, box)
    assert low[:, 0].sum() == 10 and high[:, 1].sum() == 3 and not low[:, 2].any()
    lo, hi = mod.grow(box, (low, high))
    np.testing.assert_allclose(lo, [0.0, 0.3, 0.0], atol=1e-12)
    np.testing.assert_allclose(hi, [0.6, 0.7, 0.5])
    lo, hi = mod.grow((np.array([0.5]), np.array([0.9])), (np.zeros((4, 1), bool),
                                                           np.ones((4, 1), bool)))
    np.testing.assert_allclose([lo[0], hi[0]], [0.5, 1.0])  # clipped to the cube


def test_scale_wave_end_to_end_on_the_small_calibration(small_calibration: Path) -> None:
    """After scale_posterior.py's pairs (1,000 and 2,000 persons), the wave at 2,000 persons:
    its new runs at seeds 50,000 + point inside the box, emulators on the pairs' larger runs,
    the predictive runs and the wave, a posterior inside the box and the prior whose summary
    says its scale, and a predictive check whose counts are those of its runs."""
    from sim.core.version import __version__
    from sim.experiments.history_match import fit_targets, in_bands
    from sim.experiments.posterior import design_scale

    sys.path.insert(0, str(ROOT / "calibration"))
    try:
        import scale_posterior
    finally:
        sys.path.remove(str(ROOT / "calibration"))
    tag = f"hm_{__version__}"
    scale_posterior.scale_posterior(tag, 5, 1, 2000, 2, 1, small_calibration,
                                    small_calibration, log=lambda m: None)
    summ = _script().scale_wave(tag, 4, 2000, 2, 1, small_calibration, small_calibration,
                                log=lambda m: None, n_waves=2)
    new = f"{tag}_at2k_wave_band"
    wave = pd.read_csv(small_calibration / f"{new}_design.csv")
    assert wave["wave"].tolist() == [1] * 4 + [2] * 4
    assert list(wave["seed"]) == [*range(50_000, 50_004), *range(51_000, 51_004)]
    first, second = summ["waves"]
    assert first["sources"] == {f"{tag}_at2k_pairs.csv": 5, f"{tag}_at2k_ppc2k.csv": 2}
    assert first["runs"] == 7 + 4
    # the second wave's emulators: the runs in its box, the first wave's among them, and its own
    assert second["sources"][new] == 4 and second["runs"] == sum(second["sources"].values()) + 4
    params = summ["settings"]["params"]
    box = np.array(summ["box"])
    assert box.tolist() == second["box"]
    lo0, hi0 = np.array(first["box"])
    assert np.all(box[0] <= lo0 + 1e-9) and np.all(box[1] >= hi0 - 1e-9)  # grown, not shrunk
    post = pd.read_csv(small_calibration / f"{new}_w2_posterior.csv")
    for j, p in enumerate(params):
        lo, hi = summ["params"][p]
        assert post[p].between(lo, hi).all(), p
        assert post[p].between(box[0, j] - 1e-3 * (hi - lo), box[1, j] + 1e-3 * (hi - lo)).all()
        assert wave[p].between(box[0, j] - 1e-3 * (hi - lo), box[1, j] + 1e-3 * (hi - lo)).all()
    disk = json.loads((small_calibration / f"{new}_w2.json").read_text())
    assert disk["agents"] == 2000 and disk["design_agents"] == 1000
    assert design_scale(small_calibration / f"{new}_w2_posterior.csv") == 2000
    assert 0.0 <= summ["posterior"]["predicted_all_in_band"] <= 1.0
    runs = pd.read_csv(small_calibration / f"{new}_w2_ppc2k.csv")
    np.testing.assert_allclose(runs[params].to_numpy(), post[params].to_numpy()[:2], rtol=1e-6)
    inb = in_bands(runs, fit_targets())
    assert summ["ppc"]["mean_targets_in_band"] == pytest.approx(inb.sum(1).mean())
    # the exact ABC posterior from the same waves (nothing rerun but its predictive check):
    # untempered, its own files, the waves' design untouched, the waves' emulators on the
    # same runs (a posterior's check never trains a call of as many waves)
    before = (small_calibration / f"{new}_design.csv").read_bytes()
    abc = _script().scale_wave(tag, 4, 2000, 2, 1, small_calibration, small_calibration,
                               log=lambda m: None, n_waves=2, final="abc")
    assert (small_calibration / f"{new}_design.csv").read_bytes() == before
    assert abc["runs_this_call"] == 2 and abc["posterior"]["tau"] == 1.0
    assert abc["settings"]["final"] == "abc" and abc["box"] == summ["box"]
    assert json.loads((small_calibration / f"{new}_w2_abc.json").read_text())["agents"] == 2000
    assert len(pd.read_csv(small_calibration / f"{new}_w2_abc_posterior.csv")) == len(post)
    assert 0.0 <= abc["posterior"]["predicted_all_in_band_abc"] <= 1.0
    assert [w["sources"] for w in abc["waves"]] == [w["sources"] for w in summ["waves"]]
    assert abc["settings"]["earlier_checks"] == []
    # a third wave: its emulators also fit the two-wave posteriors' checks, all inside its box
    # (grown from the second's); only its own four runs and its check are new
    three = _script().scale_wave(tag, 4, 2000, 2, 1, small_calibration, small_calibration,
                                 log=lambda m: None, n_waves=3)
    checks = [f"{new}_w2_abc_ppc2k.csv", f"{new}_w2_ppc2k.csv"]
    assert three["settings"]["earlier_checks"] == checks
    assert all(three["waves"][2]["sources"][f] == 2 for f in checks)
    assert three["runs_this_call"] == 4 + 2
    assert pd.read_csv(small_calibration / f"{new}_design.csv")["wave"].max() == 3


def test_migsim_calibrate_runs_the_scale_stages(small_calibration: Path) -> None:
    """``migsim calibrate --scale-agents`` after the small calibration: the design-scale
    posterior's draws at the larger scale, the pairs, both corrected posteriors, the small
    budget's two wave calls (the second fits the first's check), the last posterior's recovery,
    the posterior's file, its check and its recovery in the output; a rerun resumes without a
    run."""
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.core.version import __version__
    from sim.experiments.emulator import CALL_KEYS
    from sim.experiments.scale_stages import SCALE_BUDGETS

    tag, out = f"hm_{__version__}", small_calibration
    args = ["calibrate", "--budget", "small", "--out", str(out), "--scale-agents", "2000"]
    res = CliRunner().invoke(app, [*args, "-q"])
    assert res.exit_code == 0, res.output
    b = SCALE_BUDGETS["small"]
    assert len(pd.read_csv(out / f"{tag}_ppc2k.csv")) == b.checks
    assert len(pd.read_csv(out / f"{tag}_at2k_pairs.csv")) == 2 * b.points * b.seeds
    for f in (f"{tag}_at2k.json", f"{tag}_at2k_band.json", f"{tag}_at2k_wave_band_w1.json"):
        assert json.loads((out / f).read_text())["agents"] == 2000, f
    last = json.loads((out / f"{tag}_at2k_wave_band_w2_abc.json").read_text())
    assert last["settings"]["earlier_checks"] == [f"{tag}_at2k_wave_band_w1_ppc2k.csv"]
    assert last["runs_this_call"] == b.design + b.calls[-1][2]
    said = " ".join(res.output.split())
    assert f"{tag}_at2k_wave_band_w2_abc_posterior.csv" in said.replace(" ", "")
    assert (f"{last['ppc']['all_in_band_share']:.0%} of {b.calls[-1][2]} draws inside every "
            "band") in said
    # the last stage: the exact-ABC posterior's recovery, its truths run once each
    rec = json.loads((out / f"{tag}_at2k_wave_band_w2_abc_recovery.json").read_text())
    assert rec["truths"] == b.truths and rec["runs_this_call"] == b.truths
    runs = pd.read_csv(out / f"{tag}_at2k_wave_band_w2_abc_recovery_runs.csv")
    assert list(runs["seed"]) == [60_000 + i for i in range(b.truths)]
    rows = pd.read_csv(out / f"{tag}_at2k_wave_band_w2_abc_recovery.csv")
    assert len(rows) == 2 * b.truths
    for label, cov in rec["coverage90"].items():
        share = rows.loc[rows["observed"] == label, [f"{p}_in90" for p in last["settings"]
                                                     ["params"]]].to_numpy().mean()
        assert cov["all"] == pytest.approx(share, abs=1e-3)
    assert (f"hold {rec['coverage90']['band_error']['all']:.0%} of {b.truths} truths"
            in said)
    again = CliRunner().invoke(app, [*args, "-q"])
    assert again.exit_code == 0, again.output
    redone = json.loads((out / f"{tag}_at2k_wave_band_w2_abc.json").read_text())
    assert redone["runs_this_call"] == 0  # and the call that made the runs stays on record
    assert redone["earlier_calls"] == [{k: last[k] for k in CALL_KEYS if k in last}]
    assert json.loads((out / f"{tag}_at2k_wave_band_w2_abc_recovery.json").read_text()
                      )["runs_this_call"] == 0
    # the widened-variance posterior (calibration/inflated_posterior.py) on these files
    spec = importlib.util.spec_from_file_location(
        "inflated_posterior", ROOT / "calibration" / "inflated_posterior.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    name = f"{tag}_at2k_wave_band_w2_abc"
    mod.main(["--posterior", name, "--ppc", "2", "--workers", "1", "--out", str(out),
              "--results", str(out)])
    wide = json.loads((out / f"{name}_inflated.json").read_text())
    assert min(wide["inflation"].values()) >= 1.0 and wide["ppc"]["draws"] == 2
    assert len(pd.read_csv(out / f"{name}_inflated_posterior.csv")) == len(
        pd.read_csv(out / f"{name}_posterior.csv"))
    # a wave that frees wage_adjust_shortage in place of the idle growth elasticity
    # (calibration/freed_wave.py): the old runs count at the freed parameter's default
    spec = importlib.util.spec_from_file_location("freed_wave",
                                                  ROOT / "calibration" / "freed_wave.py")
    fw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fw)
    with pytest.raises(SystemExit, match="must hold the default"):
        fw.main(["--tag", tag, "--last", name, "--free-range", "2", "4", "--agents", "2000",
                 "--out", str(out)])
    fw.main(["--tag", tag, "--last", name, "--design", "4", "--ppc", "2", "--candidates",
             "2000", "--workers", "1", "--agents", "2000", "--out", str(out)])
    freed = f"{tag}_at2k_freed_wage_adjust_shortage"
    design = pd.read_csv(out / f"{freed}_design.csv")
    assert list(design["seed"]) == [62_000 + i for i in range(4)]
    assert "demand_growth_elasticity" not in design.columns
    assert design["wage_adjust_shortage"].between(0.7, 4.6).all()
    assert design["wage_adjust_shortage"].nunique() == 4
    summ = json.loads((out / f"{freed}.json").read_text())
    assert summ["old_runs"] > 0 and summ["freed_default"] == pytest.approx(1.4022)
    assert summ["ppc"]["draws"] == 2
    post = pd.read_csv(out / f"{freed}_posterior.csv")
    assert post["wage_adjust_shortage"].between(0.7, 4.6).all()


def test_likelihoods_by_name() -> None:
    """``abc`` is the log of the chance of a run in every band without the model discrepancy,
    untempered; ``band`` adds the discrepancy and is tempered; an unknown name is refused."""
    from sim.experiments.emulator import Observation

    mod = _script()
    obs = Observation(["a"], np.array([0.5]), np.array([0.01]), np.array([0.04]),
                      np.array([0.0004]))
    lo, hi = np.array([0.3]), np.array([0.7])
    m, v = np.array([[0.65]]), np.array([[0.0005]])
    abc, tempered = mod.likelihood_of("abc", lo, hi)
    from scipy.stats import norm
    sd = np.sqrt(0.0005 + 0.0004)
    assert not tempered
    assert abc(m, v, obs)[0] == pytest.approx(np.log(norm.cdf(0.05 / sd) - norm.cdf(-0.35 / sd)))
    band, tempered = mod.likelihood_of("band", lo, hi)
    assert tempered and band(m, v, obs)[0] < abc(m, v, obs)[0]  # wider: more mass outside
    with pytest.raises(ValueError, match="one of gauss, band, abc"):
        mod.likelihood_of("uniform", lo, hi)


RESULTS = ROOT / "calibration" / "results"
COMMITTED = "hm_0.22.0_at200k_wave_band_w3"  # three waves of 200,000 persons (calibration/)


def test_committed_waves_agree_with_their_runs() -> None:
    """calibration/README.md, "Waves at the scale users run": three waves of 150 runs of
    200,000 persons with the seeds stated; a predictive run rerun today exactly; each wave's
    emulators fitted on the runs its summary lists; both final posteriors inside the final box
    and the prior; their predictive checks' counts are those of their runs, and the share of
    draws in every band lies within two binomial standard errors of the emulators' prediction
    (the tempered band likelihood 11 of 60, the exact chance of a run in every band 70 of 120)."""
    from sim.experiments.history_match import fit_targets
    from sim.experiments.sensitivity import _simulate

    design = pd.read_csv(RESULTS / "hm_0.22.0_at200k_wave_band_design.csv")
    design = design[design["wave"] <= 3]
    assert design.groupby("wave").size().to_dict() == {1: 150, 2: 150, 3: 150}
    for w, g in design.groupby("wave"):
        assert list(g["seed"]) == list(range(50_000 + 1000 * (w - 1),
                                             50_000 + 1000 * (w - 1) + 150))
    targets = fit_targets()
    names = [t.name for t in targets]
    band = json.loads((RESULTS / f"{COMMITTED}.json").read_text())
    params = band["settings"]["params"]
    # a predictive run (its parameters were run as written, rounded) is today's model
    first = pd.read_csv(RESULTS / f"{COMMITTED}_abc_ppc200k.csv").iloc[0]
    again = _simulate(({p: float(first[p]) for p in params}, 40_000 + int(first["draw"]),
                       targets, 200_000, 1985, 22))
    np.testing.assert_allclose(again, first[names].to_numpy(float), rtol=1e-6)
    assert [w["runs"] for w in band["waves"]] == [410, 560, 710]
    for w in band["waves"]:
        own = sum(1 for x in design["wave"] if x == w["wave"])
        assert w["runs"] == sum(w["sources"].values()) + own
    for tag, found in ((COMMITTED, 11), (f"{COMMITTED}_abc", 70)):
        summ = _committed_posterior(tag, found, params, targets)
        assert summ["box"] == band["box"]
    abc = json.loads((RESULTS / f"{COMMITTED}_abc.json").read_text())
    assert abc["posterior"]["tau"] == 1.0 and abc["settings"]["final"] == "abc"


def _committed_posterior(tag: str, found: int, params: list[str], targets: list
                         ) -> dict:
    """A committed wave posterior: 500 draws inside its box and the prior, its predictive
    check's runs at its first draws with ``found`` in every band (the summary's counts), within
    two binomial standard errors of the emulators' prediction; every default inside its 90%
    interval. Its summary."""
    from sim.core.version import CALIBRATED_VERSION
    from sim.experiments.history_match import in_bands

    summ = json.loads((RESULTS / f"{tag}.json").read_text())
    assert summ["base_tag"] == f"hm_{CALIBRATED_VERSION}" and summ["agents"] == 200_000
    post = pd.read_csv(RESULTS / f"{tag}_posterior.csv")
    assert len(post) == 500
    box = np.array(summ["box"])
    for j, p in enumerate(params):
        lo, hi = summ["params"][p]
        assert post[p].between(max(lo, box[0, j]) - 1e-4 * (hi - lo),
                               min(hi, box[1, j]) + 1e-4 * (hi - lo)).all(), p
    runs = pd.read_csv(RESULTS / f"{tag}_ppc200k.csv")
    n = len(runs)
    np.testing.assert_allclose(runs[params].to_numpy(), post[params].to_numpy()[:n], rtol=1e-6)
    inb = in_bands(runs, targets)
    assert inb.all(1).sum() == found == round(n * summ["ppc"]["all_in_band_share"])
    assert inb.sum(1).mean() == pytest.approx(summ["ppc"]["mean_targets_in_band"])
    pred = summ["posterior"]["predicted_all_in_band"]
    assert abs(found / n - pred) <= 2 * np.sqrt(pred * (1 - pred) / n)
    assert all(summ["posterior"]["defaults"]["inside_90"].values())
    return summ


def test_committed_fourth_wave_fits_the_third_waves_checks() -> None:
    """calibration/README.md, "A fourth wave": 150 more runs (seeds 53,000-53,149), every wave's
    emulators also fitted on the two three-wave posteriors' predictive checks (inside each
    wave's box), the exact-ABC posterior with 65 of 120 predictive draws in every band."""
    from sim.experiments.history_match import fit_targets

    design = pd.read_csv(RESULTS / "hm_0.22.0_at200k_wave_band_design.csv")
    assert list(design.loc[design["wave"] == 4, "seed"]) == list(range(53_000, 53_150))
    targets = fit_targets()
    tag = "hm_0.22.0_at200k_wave_band_w4_abc"
    summ = json.loads((RESULTS / f"{tag}.json").read_text())
    checks = [f"{COMMITTED}_abc_ppc200k.csv", f"{COMMITTED}_ppc200k.csv"]
    assert summ["settings"]["earlier_checks"] == checks
    assert summ["settings"]["final"] == "abc" and summ["posterior"]["tau"] == 1.0
    assert [w["runs"] for w in summ["waves"]] == [421, 611, 890, 1040]
    for w in summ["waves"]:
        assert w["runs"] == sum(w["sources"].values()) + int((design["wave"] == w["wave"]).sum())
    assert all(summ["waves"][-1]["sources"][f] == n for f, n in zip(checks, (120, 60),
                                                                     strict=True))
    _committed_posterior(tag, 65, summ["settings"]["params"], targets)


def test_readme_pairs_batches_of_200k_with_the_four_wave_posterior() -> None:
    """The posterior the README names for batches of 200,000 persons is the committed
    four-wave one, and ``migsim batch --posterior`` reads its scale as 200,000."""
    import re

    from sim.experiments.posterior import design_scale

    readme = " ".join((ROOT / "README.md").read_text().split())
    named = re.search(r"Batches of 200,000 persons should pair with `([^`]+)`", readme)
    assert named and named.group(1).endswith("hm_0.22.0_at200k_wave_band_w4_abc_posterior.csv")
    assert design_scale(ROOT / named.group(1)) == 200_000


def test_committed_freed_wave_agrees_with_its_runs() -> None:
    """calibration/README.md, "Parameters that no run reads": the fifth wave that frees
    wage_adjust_shortage in place of the idle growth elasticity. Its 200 runs have the seeds
    and the range stated, the old runs it counted are those the summary lists, its posterior
    holds the freed parameter and not the idle one, and its predictive check's counts are
    those of its runs (57 of 120 in every band)."""
    from sim.experiments.history_match import fit_targets

    name = "hm_0.22.0_at200k_freed_wage_adjust_shortage"
    summ = json.loads((RESULTS / f"{name}.json").read_text())
    design = pd.read_csv(RESULTS / f"{name}_design.csv")
    assert list(design["seed"]) == [62_000 + i for i in range(200)]
    assert design["wage_adjust_shortage"].between(0.7, 4.6).all()
    assert summ["old_runs"] == sum(summ["old_sources"].values()) == 1340
    assert summ["posterior"]["runs"] == 1340 + 200
    post = pd.read_csv(RESULTS / f"{name}_posterior.csv")
    assert len(post) == 500 and "demand_growth_elasticity" not in post.columns
    targets = fit_targets()
    runs = pd.read_csv(RESULTS / f"{name}_ppc200k.csv")
    y = runs[[t.name for t in targets]].to_numpy(float)
    inb = (y >= [t.lo for t in targets]) & (y <= [t.hi for t in targets])
    assert len(runs) == summ["ppc"]["draws"] == 120
    assert int(inb.all(axis=1).sum()) == 57
    assert inb.all(axis=1).mean() == pytest.approx(summ["ppc"]["all_in_band_share"])
    assert np.allclose(runs[summ["params"].keys()].to_numpy(float),
                       post[list(summ["params"])].to_numpy(float)[:120])
