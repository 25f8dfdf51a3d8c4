"""``migsim calibrate``: the history-matching pipeline end to end at the small budget, its
resumption, its refusals, and the committed calibration's runs reproduced by today's code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.core.version import __version__
from sim.experiments.emulator import CALL_KEYS
from sim.experiments.history_match import (
    BUDGETS,
    Settings,
    check_settings,
    compare_posteriors,
    drifting_targets,
    fit_targets,
)
from sim.experiments.sensitivity import scalar_parameters

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "calibration" / "results"
runner = CliRunner()


@pytest.fixture(scope="module")
def small(_small_calibration_once: Path, tmp_path_factory) -> Path:
    """This module's copy of the session's small calibration (conftest.py)."""
    out = tmp_path_factory.mktemp("cal") / "small"
    shutil.copytree(_small_calibration_once, out)
    return out


def test_small_budget_writes_every_stage(small: Path) -> None:
    s = BUDGETS["small"]
    names = [t.name for t in fit_targets()]
    summ = json.loads((small / f"hm_{__version__}.json").read_text())
    assert summ["targets"] == names and len(names) >= 25
    assert summ["settings"]["design"] == s.design and summ["budget"] == "small"
    design = pd.read_csv(small / f"hm_{__version__}_design.csv")
    assert sorted(design["wave"].unique()) == list(range(1, s.waves + 1))
    assert len(design) == s.design * s.waves and design["seed"].is_unique
    bounds = scalar_parameters()
    post = pd.read_csv(small / f"hm_{__version__}_posterior.csv")
    assert len(post) == s.draws and list(post["draw"]) == list(range(s.draws))
    for p in s.params:  # draws stay inside the prior (the declared range)
        lo, hi = bounds[p]
        assert post[p].between(lo, hi).all(), p
    rec = pd.read_csv(small / f"hm_{__version__}_recovery.csv")
    assert len(rec) == 3 * s.truths
    assert set(rec["observed"]) == {"run_only", "with_obs_error", "refocused"}
    _check_refocused_wave(small, s, summ, rec)
    # the likelihood is tempered by each emulator's effective share of independent targets:
    # the posterior by the last wave's, the recovery by the first's (the emulators it uses)
    taus = [w["tau"] for w in summ["waves"]]
    assert all(0.0 < t <= 1.0 for t in taus) and summ["settings"]["temper"] == "loo"
    assert summ["posterior"]["tau"] == pytest.approx(taus[-1], abs=1e-4)
    assert summ["recovery_tau"] == pytest.approx(taus[0], abs=1e-4)
    assert (rec["ess"] >= 1.0).all() and (rec["candidates"] > 0).all()
    assert all(rec[f"{p}_width"].between(0, 1).all() for p in s.params)
    ppc = pd.read_csv(small / f"hm_{__version__}_ppc_table.csv")
    assert list(ppc["target"]) == names and (ppc["in_band"] <= ppc["draws"]).all()
    assert 0.0 <= summ["ppc"]["all_in_band_share"] <= 1.0
    scale = pd.read_csv(small / f"hm_{__version__}_scale.csv")
    assert set(scale["agents"]) == {s.agents, s.scale_agents}
    _check_standings(summ)


def _defaults_then(version: str) -> dict:
    """A calibration's version's values of the parameters whose defaults moved since
    (``defaults_<version>.json``), or {} when none did."""
    f = RESULTS / f"defaults_{version}.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def _check_standings(summ: dict) -> None:
    """The summary says where the defaults and the posterior median stand: non-implausible
    under each wave or not, a density rank and a highest-density mass in [0, 1], and which
    defaults (that version's: ``defaults_<version>.json``) are inside the 90% intervals it
    reports."""
    from sim.engine.registry import Params

    post, params = summ["posterior"], list(summ["params"])
    for key in ("defaults", "median"):
        st = post[key]
        assert len(st["nonimplausible"]) == len(summ["waves"]), key
        assert 0.0 <= st["density_rank"] <= 1.0 and 0.0 <= st["hpd_mass"] <= 1.0, key
    q = post["summary"]
    defaults = Params(_defaults_then(summ["version"]))
    assert post["defaults"]["inside_90"] == {
        p: q["5%"][p] <= float(defaults[p]) <= q["95%"][p] for p in params}


def _check_refocused_wave(out: Path, s: Settings, summ: dict, rec: pd.DataFrame,
                          tag: str = f"hm_{__version__}") -> None:
    """Each refocused truth has ``s.refocus`` runs of its own (seeds 70,000 + 1,000 x truth
    index + point), all inside the prior; its refitted likelihood power is in (0, 1]; a truth
    not refocused keeps its wave-1 fit; the summary counts them."""
    from sim.experiments.refocus import RUN_SEED

    runs = pd.read_csv(out / f"{tag}_recovery_refocus_runs.csv")
    ref = rec[rec["observed"] == "refocused"].set_index("truth")
    done = ref.index[ref["refocused"].astype(bool)]
    assert sorted(runs["truth"].unique()) == sorted(done)
    for i, g in runs.groupby("truth"):
        assert len(g) == s.refocus == ref.loc[i, "refocus_runs"]
        assert list(g["seed"]) == [RUN_SEED + 1000 * i + k for k in range(s.refocus)]
    bounds = scalar_parameters()
    for p in s.params:
        assert runs[p].between(*bounds[p]).all(), p
    assert ref.loc[done, "tau"].between(0, 1, inclusive="right").all()
    wave1 = rec[rec["observed"] == "run_only"].set_index("truth")
    flags = [f"{p}_in90" for p in s.params]
    kept = ref.index.difference(done)
    assert (ref.loc[kept, flags].astype(bool) == wave1.loc[kept, flags]).all().all()
    info = summ["recovery_refocus"]
    assert info["runs_per_truth"] == s.refocus and info["truths_refocused"] == len(done)


def test_rerun_resumes_without_runs_and_gives_the_same_posterior(small: Path) -> None:
    before = pd.read_csv(small / f"hm_{__version__}_posterior.csv")
    earlier = json.loads((small / f"hm_{__version__}.json").read_text())
    res = runner.invoke(app, ["calibrate", "--budget", "small", "--out", str(small), "-q"])
    assert res.exit_code == 0, res.output
    summ = json.loads((small / f"hm_{__version__}.json").read_text())
    assert summ["runs_this_call"] == 0  # every stage's runs came from the cached CSVs
    # the call that made them stays on record (the first), and the call before this one last
    calls = summ["earlier_calls"]
    assert calls[0]["runs_this_call"] > 0
    assert calls[-1] == {k: earlier[k] for k in CALL_KEYS if k in earlier}
    assert f"likelihood tempered by {summ['posterior']['tau']:.3f}" in res.output
    dflt, said = summ["posterior"]["defaults"], " ".join(res.output.split())
    assert (f"defaults: {sum(dflt['inside_90'].values())} of {len(summ['params'])} inside "
            "their 90% intervals, on the edge of the highest-density region holding "
            f"{dflt['hpd_mass']:.2f}") in said
    pd.testing.assert_frame_equal(pd.read_csv(small / f"hm_{__version__}_posterior.csv"), before)


def test_a_truth_without_region_keeps_its_wave1_fit(small: Path, tmp_path: Path,
                                                    monkeypatch) -> None:
    """A truth the wave-1 emulator leaves no room for (no non-implausible point) is not
    refocused: its row is its wave-1 fit, marked ``refocused`` False, and no run is made."""
    import shutil

    from sim.experiments import emulator as E
    from sim.experiments.history_match import history_match

    s = BUDGETS["small"]
    for f in small.glob("*.csv"):
        if not f.name.endswith(("_recovery.csv", "_refocus_runs.csv")):
            shutil.copy2(f, tmp_path / f.name)
    real = E.sample_region

    def none_for_truth0(waves, obs, d, n, cutoff=3.0, k=1, seed=0, **kw):
        if len(waves) == 1 and seed == s.seed + 5000:  # truth 0's refocusing region
            return np.empty((0, d)), 0.0
        return real(waves, obs, d, n, cutoff, k, seed, **kw)

    monkeypatch.setattr(E, "sample_region", none_for_truth0)
    summ = history_match(s, tmp_path, log=lambda m: None)
    rec = pd.read_csv(tmp_path / f"hm_{__version__}_recovery.csv")
    ref = rec[rec["observed"] == "refocused"].set_index("truth")
    assert not ref.loc[0, "refocused"] and ref.loc[1, "refocused"]
    assert summ["runs_this_call"] == s.refocus  # truth 1's wave only
    _check_refocused_wave(tmp_path, s, summ, rec)


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "huge"], "allowed values are default, large, small"),
    (["--workers", "0"], "--workers"),
    (["--agents", "10"], "--agents"),
    (["--reference", "no/such.csv"], "no such file"),
    (["--refocus", "-1"], "--refocus -1 is outside the allowed range >= 0"),
    (["--scale-agents", "20000"], "--scale-agents 20,000: must be more than the calibration's "
                                  "30,000"),
    (["--param", "asc_hom", "--param", "beta_income"], "did you mean 'asc_home'"),
    (["--param", "asc_home", "--param", "asc_home"], "--param asc_home: given more than once"),
    (["--param", "asc_home"], "at least two parameters"),
    (["--param", "asc_home", "--param", "demand_growth_elasticity"],
     "--param demand_growth_elasticity: no default run reads it (it is read only when "
     "local_competition == 0)"),
])
def test_bad_options_are_refused_before_any_run(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    out = tmp_path / "c"
    res = runner.invoke(app, ["calibrate", *args, "--out", str(out)])
    assert res.exit_code == 2 and message in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_runs_use_the_values_their_rows_record(tmp_path: Path, monkeypatch) -> None:
    """The Runner hands the model each parameter as its row will record it (seven significant
    digits, ``emulator.write_csv``), so a run whose point came from the emulators at full
    precision is remade exactly from its file (until session 63 only the predictive checks'
    runs were: they read their draws back)."""
    import sim.experiments.sensitivity as sens
    from sim.experiments import emulator as E
    from sim.experiments.history_match import Runner, frame

    seen = []

    def fake(job):
        seen.append(job[0])
        return np.zeros(len(job[2]))

    monkeypatch.setattr(sens, "_simulate", fake)
    targets = fit_targets()[:2]
    x = np.array([[1 / 3, 2.0 / 7.0 * 1e-5], [-0.123456789123, 12345.6789012]])
    run = Runner(targets, 1)
    y = run([dict(zip(["a", "b"], r, strict=True)) for r in x], [1, 2], 1000)
    E.write_csv(frame(["a", "b"], x, [t.name for t in targets], y, seed=[1, 2]),
                tmp_path / "d.csv")
    back = pd.read_csv(tmp_path / "d.csv")
    assert [[v["a"], v["b"]] for v in seen] == back[["a", "b"]].to_numpy().tolist()
    assert seen[0]["a"] != x[0, 0]  # rounded, not the emulators' full precision


def test_chosen_parameters_are_the_ones_fitted(tmp_path: Path) -> None:
    """``--param`` replaces the fitted set: the design, the posterior and the summary hold
    exactly those parameters, and the others stay at their defaults in every run."""
    out = tmp_path / "c"
    chosen = ["asc_home", "beta_income", "wage_adjust_shortage"]
    res = runner.invoke(app, ["calibrate", "--budget", "small", "--out", str(out), "-q",
                              *[a for p in chosen for a in ("--param", p)]])
    assert res.exit_code == 0, res.output
    summ = json.loads((out / f"hm_{__version__}.json").read_text())
    assert list(summ["params"]) == chosen and summ["settings"]["params"] == chosen
    post = pd.read_csv(out / f"hm_{__version__}_posterior.csv")
    assert [c for c in post.columns if c != "draw"] == chosen
    design = pd.read_csv(out / f"hm_{__version__}_design.csv")
    assert set(chosen) <= set(design.columns)
    assert "return_unemployed_mult" not in design.columns
    assert design["wage_adjust_shortage"].nunique() == len(design)  # a design, not a default


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="did you mean 'asc_home'"):
        check_settings(Settings(params=("asc_hom",)))
    with pytest.raises(ValueError, match="design must be an integer of at least 4"):
        check_settings(Settings(design=2))
    with pytest.raises(ValueError, match="temper must be one of loo, none; got 'half'"):
        check_settings(Settings(temper="half"))
    with pytest.raises(ValueError, match="rounds must be an integer of at least 1"):
        check_settings(Settings(rounds=0))
    with pytest.raises(ValueError, match="refocus must be an integer of at least 0"):
        check_settings(Settings(refocus=-4))
    check_settings(BUDGETS["default"])


def test_compare_posteriors_tolerance() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"draw": range(500), "a": rng.normal(0, 1, 500),
                        "b": rng.normal(5, 2, 500)})
    same = compare_posteriors(ref, ref)
    assert same["agrees"].all() and np.allclose(same["shift_in_sd"], 0)
    moved = ref.assign(a=ref["a"] + 0.5)  # half a posterior sd
    cmp = compare_posteriors(moved, ref).set_index("parameter")
    assert not cmp.loc["a", "agrees"] and cmp.loc["b", "agrees"]
    wider = ref.assign(b=ref["b"] * 1.5)
    assert not compare_posteriors(wider, ref).set_index("parameter").loc["b", "agrees"]


LATEST = "0.22.0"  # the committed calibration the default budget and the CLI refer to
PREVIOUS = "0.19.0"  # the refit before it, whose findings the README keeps
V18 = "0.18.0"  # the refit before that
V16 = "0.16.0"  # the first refit with whole openings, the standing and the 60 extra truths
COMMITTED = ("0.7.0", "0.13.0", V16, V18, PREVIOUS, LATEST)  # every default-budget calibration
AT200K = f"{LATEST}_at200k"  # LATEST's posterior for runs of 200,000 (scale_posterior.py)
LARGE = "0.13.0_large"  # the --budget large calibration, last run on model 0.13.0


def test_default_budget_is_the_committed_calibrations() -> None:
    from sim.cli.calibrate import COMMITTED as CLI_REFERENCE
    from sim.cli.calibrate import REFERENCES

    assert CLI_REFERENCE.name == f"hm_{LATEST}_posterior.csv"
    assert REFERENCES == {"default": CLI_REFERENCE,
                          "large": CLI_REFERENCE.with_name(f"hm_{LARGE}_posterior.csv")}
    assert all((ROOT / p).is_file() for p in REFERENCES.values())
    for v in COMMITTED:
        summ = json.loads((RESULTS / f"hm_{v}.json").read_text())
        assert summ["version"] == v
        s = BUDGETS["default"]
        assert s.agents == summ["agents"] and list(s.params) == list(summ["params"])
        assert [w["runs"] for w in summ["waves"]] == [s.design] * s.waves
        assert (s.cutoff, s.kmax, s.band_sds, s.md_fraction) == (
            summ["cutoff"], summ["kmax"], summ["band_sds"], summ["md_fraction"])
        assert len(pd.read_csv(RESULTS / f"hm_{v}_posterior.csv")) == s.draws


@pytest.mark.parametrize("stem", [*COMMITTED, LARGE])
def test_committed_noise_run_reproduces(stem: str) -> None:
    """A committed calibration's first run (that version's defaults, seed 1, the calibration's
    persons: 30,000, or 100,000 for the large budget, 1985-2006) is reproduced by today's code
    to the CSV's seven significant digits, given that version's values of the parameters
    changed since (``defaults_<version>.json``: for 0.7.0 those changed in 0.8-0.16, and with
    one arrival round the initial stock is placed as before; for 0.13.0 the entrants' vocational
    share of 0.15.0, the whole openings and female cost of 0.16.0; write or extend the file when
    a default moves)."""
    from sim.experiments.sensitivity import _simulate

    summ = json.loads((RESULTS / f"hm_{stem}.json").read_text())
    noise = pd.read_csv(RESULTS / f"hm_{stem}_noise.csv")
    targets = [t for t in fit_targets() if t.name in noise.columns]  # those fitted then
    assert len(targets) >= 25
    ref = noise.iloc[0][[t.name for t in targets]]
    y = _simulate((_defaults_then(summ["version"]), 1, targets, summ["agents"], 1985, 22))
    np.testing.assert_allclose(y, ref.to_numpy(float), rtol=1e-6)


def test_drifting_targets_names_the_moves_beyond_tolerance() -> None:
    summ = {"scale_drift_over_half_band": {
        "0": {"stock": 0.2, "share male": -0.7, "spell": float("nan")},
        "1": {"stock": 0.6, "share male": -1.4, "spell": 0.1}}}
    assert drifting_targets(summ) == {"stock": 0.6, "share male": -1.4}
    assert drifting_targets(summ, tol=1.0) == {"share male": -1.4}
    assert drifting_targets({}) == {}


def test_the_0_13_calibration_records_its_scale_drift() -> None:
    """The 0.13.0 calibration's finding (calibration/README.md): between 30,000 and 100,000
    persons the construction share and the 1988 unfilled share move by more than a half-band
    at every point of the scale check, the reason the larger budget exists."""
    summ = json.loads((RESULTS / "hm_0.13.0.json").read_text())
    drift = summ["scale_drift_over_half_band"]
    for name in ("sector share construction", "national labour shortage 1988"):
        assert all(abs(by[name]) > 0.5 for by in drift.values()), name
    large = BUDGETS["large"]
    assert large.agents == 100_000 and large.scale_agents > large.agents
    assert {k: v for k, v in vars(large).items() if "agents" not in k} == {
        k: v for k, v in vars(BUDGETS["default"]).items() if "agents" not in k}


def _read_stage(stem: str) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    summ = json.loads((RESULTS / f"hm_{stem}.json").read_text())
    return summ, *(pd.read_csv(RESULTS / f"hm_{stem}_{part}.csv")
                   for part in ("posterior", "ppc", "ppc_table", "recovery"))


@pytest.mark.parametrize("stem", ["0.13.0", V16, V18, PREVIOUS, LATEST, LARGE,
                                  f"{LATEST}_200k"])
def test_committed_calibration_files_agree_with_each_other(stem: str) -> None:
    """Every number the summary and calibration/README.md quote is recomputed from the committed
    runs: the posterior's size and box, each target's in-band count and the all-bands share of
    the posterior predictive check from its runs, and each parameter's 90% recovery coverage
    from the truths."""
    summ, post, ppc, table, rec = _read_stage(stem)
    s = summ["settings"]
    assert summ["version"] == stem.split("_")[0] and summ["agents"] == s["agents"]
    assert len(post) == s["draws"] >= 200 and list(post.columns[1:]) == s["params"]
    for p, (lo, hi) in summ["params"].items():
        assert post[p].between(lo, hi).all(), p
    assert len(ppc) == s["ppc"] >= 30
    inside = pd.DataFrame({r.target: ppc[r.target].between(r.low, r.high)
                           for r in table.itertuples()})
    assert (inside.sum().to_numpy() == table["in_band"].to_numpy()).all()
    assert inside.sum().to_dict() == summ["ppc"]["per_target_in_band"]
    assert inside.all(axis=1).mean() == pytest.approx(summ["ppc"]["all_in_band_share"])
    assert inside.sum(axis=1).mean() == pytest.approx(summ["ppc"]["mean_targets_in_band"],
                                                      abs=1e-6)
    assert rec["truth"].nunique() == s["truths"] >= 30
    for mode, g in rec.groupby("observed"):
        cov = summ["recovery_coverage90"][mode]
        for p in s["params"]:
            assert g[f"{p}_in90"].mean() == pytest.approx(cov[f"{p}_in90"], abs=1e-3), (mode, p)


def _over_half_band(stem: str) -> list[int]:
    """Targets moving by over half a half-band in a calibration's scale check, by point."""
    drift = json.loads((RESULTS / f"hm_{stem}.json").read_text())["scale_drift_over_half_band"]
    return [sum(abs(v) > 0.5 for v in by.values() if v == v) for by in drift.values()]


def test_large_budget_settles_the_scale_drift() -> None:
    """The reason for the larger budget, as calibration/README.md states it: at 100,000 persons
    (checked against 200,000) no more than two targets move by over half a band at any point of
    the scale check, where at 30,000 (checked against 100,000) six to twelve did; and the run
    settings are the large budget's."""
    summ = json.loads((RESULTS / f"hm_{LARGE}.json").read_text())
    large = BUDGETS["large"]
    assert summ["budget"] == "large" and summ["agents"] == large.agents
    assert summ["settings"]["scale_agents"] == large.scale_agents
    assert [w["runs"] for w in summ["waves"]] == [large.design] * large.waves
    assert max(_over_half_band(LARGE)) <= 2 and min(_over_half_band("0.13.0")) >= 6


def test_whole_openings_shrink_the_default_budgets_scale_drift() -> None:
    """calibration/README.md, "Posterior refit for version 0.16.0": with whole openings the
    default budget's runs of 30,000 persons describe larger runs. At the defaults the ten noise
    runs' means miss at most two of the fitted bands (0.13.0: seven), and over the four points
    of the scale check fewer than half as many targets move by over half a half-band between
    30,000 and 100,000 persons as in 0.13.0."""
    def misses(stem: str) -> int:
        noise = pd.read_csv(RESULTS / f"hm_{stem}_noise.csv")
        bands = pd.read_csv(RESULTS / f"hm_{stem}_ppc_table.csv")
        mean = noise[bands["target"]].mean().to_numpy()
        return int((~((mean >= bands["low"]) & (mean <= bands["high"]))).sum())

    assert misses(V16) <= 2 and misses("0.13.0") >= 7
    assert 2 * sum(_over_half_band(V16)) < sum(_over_half_band("0.13.0"))


@pytest.mark.parametrize("stem", [LARGE, V16, V18, PREVIOUS, AT200K])
def test_posterior_median_fits_nine_tenths_of_the_targets(stem: str) -> None:
    """Issue 13's bar for the point estimate: at the median of the large posterior, and of the
    0.16.0, 0.18.0 and 0.19.0 posteriors, one run of 200,000 persons, 1985-2006, seed 1, has at
    least 90% of the fitted targets in band. (Four replicates give 32 of 34 for the large one,
    31 of 34 for 0.16.0, 33 of 34 for 0.18.0 and 32 of 34 for 0.19.0, the misses at the edge of
    their bands: calibration/README.md, "The posterior median at 200,000 persons" and
    "Posterior refit for version 0.16.0", "... 0.18.0" and "... 0.19.0".) A posterior belongs to its
    model version: the parameters changed since take that version's values
    (``defaults_<version>.json``)."""
    import sim
    from sim.experiments.targets import compare

    post = pd.read_csv(RESULTS / f"hm_{stem}_posterior.csv").drop(columns="draw")
    version = json.loads((RESULTS / f"hm_{stem}.json").read_text())["version"]
    pars = {**_defaults_then(version), **post.median().to_dict()}
    names = {t.name for t in fit_targets()}
    table = compare(sim.Simulation(pars, agents=200_000, seed=1, start_year=1985,
                                   years=22).run())
    fitted = table[table["target"].isin(names)]
    assert len(fitted) == len(names) >= 30
    assert fitted["within"].mean() >= 0.9, fitted.loc[~fitted["within"], "target"].tolist()


@pytest.mark.parametrize("stem", ["0.7.0", LARGE])
def test_committed_sobol_table_is_complete_and_coherent(stem: str) -> None:
    """A committed Sobol' table (calibration/sobol.py) covers every fitted target of its
    calibration against every calibrated parameter, records each emulator's runs and
    leave-one-out R^2, and its indices are coherent: 0 <= ST <= 1 and S1 <= ST within their
    bootstrap half-widths, and the first-order indices of each target sum to at most 1 within
    the same tolerance."""
    summ = json.loads((RESULTS / f"hm_{stem}.json").read_text())
    sob = pd.read_csv(RESULTS / f"sobol_{stem}.csv")
    assert (RESULTS / f"sobol_{stem}.png").is_file()
    assert set(sob["output"]) == set(summ["targets"])
    assert set(sob["parameter"]) == set(summ["params"])
    assert len(sob) == len(summ["targets"]) * len(summ["params"])
    assert sob["runs"].between(150, summ["waves"][0]["runs"]).all()
    assert (sob["loo_r2"] <= 1).all()
    tol = sob["ST_conf"] + sob["S1_conf"]
    assert (sob["ST"] >= -sob["ST_conf"]).all() and (sob["ST"] <= 1 + sob["ST_conf"]).all()
    assert (sob["S1"] <= sob["ST"] + tol).all()
    s1 = sob.groupby("output").agg(s1=("S1", "sum"), conf=("S1_conf", "sum"))
    assert (s1["s1"] <= 1 + s1["conf"]).all()


def test_more_truths_confirm_the_under_coverage_of_0_16() -> None:
    """calibration/README.md, "Posterior refit for version 0.16.0": 60 further truths
    (calibration/recovery_more_truths.py, the committed runs and emulators) give a mean coverage
    of the 90% intervals of 0.777 with observation error and 0.785 without; pooled with the
    committed 30, 0.772 and 0.771, under the goal's floor of 0.80, least for `beta_income`."""
    rec = pd.read_csv(RESULTS / f"hm_{V16}_recovery60.csv")
    runs = pd.read_csv(RESULTS / f"hm_{V16}_recovery60_runs.csv")
    first = pd.read_csv(RESULTS / f"hm_{V16}_recovery.csv")
    assert rec["truth"].nunique() == 60 == len(runs)
    params = json.loads((RESULTS / f"hm_{V16}.json").read_text())["settings"]["params"]
    committed = pd.read_csv(RESULTS / f"hm_{V16}_recovery_runs.csv")
    for p in params:  # a new set of truths: none of the committed 30 again
        assert not runs[p].isin(committed[p]).any()
    cols = [f"{p}_in90" for p in params]

    def mean_cov(df: pd.DataFrame) -> dict[str, float]:
        return {m: float(g[cols].to_numpy().mean()) for m, g in df.groupby("observed")}

    assert mean_cov(rec) == pytest.approx({"with_obs_error": 0.777, "run_only": 0.785}, abs=1e-3)
    first = first[first["observed"] != "refocused"]  # the 60 were fitted with wave 1 only
    pooled = pd.concat([first, rec])
    assert mean_cov(pooled) == pytest.approx({"with_obs_error": 0.772, "run_only": 0.771},
                                             abs=1e-3)
    by = pooled[pooled["observed"] == "with_obs_error"][cols].mean()
    assert by.idxmin() == "beta_income_in90"


def test_settings_from_a_summary_keep_known_keys_and_apply_changes() -> None:
    """``Settings.from_summary`` (calibration/refit.py, recovery_more_truths.py): the recorded
    settings of a committed calibration, lists back to tuples, unknown keys left out."""
    from sim.experiments.history_match import Settings

    summ = json.loads((RESULTS / f"hm_{LATEST}.json").read_text())
    s = Settings.from_summary({"settings": {**summ["settings"], "gone": 1}}, truths=60)
    assert s.truths == 60 and s.agents == summ["agents"]
    assert s.params == tuple(summ["settings"]["params"])


# What calibration/README.md states of each committed predictive check at 200,000 persons
# (calibration/ppc_at_scale.py): mean targets in band per draw, draws in every band, and the
# targets in band in every one of the 60 draws that the README names.
PPC200K = {V16: (31.02, 4, ("sector share manufacturing",)),
           V18: (30.65, 1, ("sector share manufacturing",)),
           PREVIOUS: (30.8833, 3, ("sector share manufacturing",)),
           LATEST: (29.7167, 0, ("sector share manufacturing",))}


@pytest.mark.parametrize("stem", [V16, V18, PREVIOUS, LATEST])
def test_predictive_check_at_the_scale_users_run(stem: str) -> None:
    """calibration/README.md, "Posterior refit for version 0.16.0", "... 0.18.0" and "...
    0.19.0" (the predictive check at 200,000 persons, calibration/ppc_at_scale.py): the first 60
    draws of the committed posterior, one run each at the pipeline's predictive seeds; 0.16.0:
    31.0 of 34 targets in band on average, 4 of 60 inside every band; 0.18.0: 30.65 and 1 of
    60; 0.19.0: 30.88 and 3 of 60; manufacturing in band in all 60 of each."""
    mean_in, all_in, always = PPC200K[stem]
    runs = pd.read_csv(RESULTS / f"hm_{stem}_ppc200k.csv")
    post = pd.read_csv(RESULTS / f"hm_{stem}_posterior.csv")
    params = json.loads((RESULTS / f"hm_{stem}.json").read_text())["settings"]["params"]
    assert len(runs) == 60 and list(runs["draw"]) == list(range(60))
    np.testing.assert_allclose(runs[params].to_numpy(), post[params].to_numpy()[:60], rtol=1e-6)
    targets = fit_targets()
    y = runs[[t.name for t in targets]].to_numpy(float)
    inb = (y >= [t.lo for t in targets]) & (y <= [t.hi for t in targets])
    assert inb.shape[1] == 34
    assert inb.sum(axis=1).mean() == pytest.approx(mean_in, abs=0.005)
    assert inb.all(axis=1).sum() == all_in
    for name in always:
        assert inb[:, [t.name for t in targets].index(name)].all(), name
    # the committed runs are today's model: draw 0 rerun at its seed (40,000) and persons
    from sim.experiments.sensitivity import _simulate

    point = dict(zip(params, map(float, runs.loc[0, params]), strict=True))
    again = _simulate(({**_defaults_then(stem), **point}, 40_000, targets, 200_000, 1985, 22))
    np.testing.assert_allclose(again, y[0], rtol=1e-6)


def test_runner_workers_run_after_numba_started_here() -> None:
    """The calibration's worker processes are spawned with one numba thread each: they run
    after this process has itself started numba's threads (a resumed calibration's first runs
    come after its emulation; forked workers then failed to compile, session 36), and give the
    numbers of a run in this process."""
    from sim.experiments.history_match import Runner

    targets = fit_targets()
    here = Runner(targets, 1)([{}], [3], 1000)  # starts numba in this process first
    pool = Runner(targets, 2)
    try:
        y = pool([{}, {}], [3, 4], 1000)
    finally:
        pool.close()
    assert np.isfinite(y).sum(axis=1).min() >= len(targets) // 2
    np.testing.assert_array_equal(y[0], here[0])


def test_runner_refuses_a_call_whose_runs_all_fail() -> None:
    """Every run failing (here: a parameter the model does not know) is an error naming the
    seeds, not a table of NaN that a stage would cache as if it were results."""
    from sim.experiments.history_match import Runner

    with pytest.raises(RuntimeError, match="all 2 runs failed"):
        Runner(fit_targets(), 1)([{"no_such_parameter": 1.0}] * 2, [1, 2], 1000)


def test_refocus_zero_keeps_the_wave1_recovery(small: Path, tmp_path: Path) -> None:
    """``--refocus 0``: no refocused wave, the recovery is the wave-1 fit alone and the
    command quotes its coverage with observation error."""
    import shutil

    for f in small.glob("*.csv"):
        if not f.name.endswith(("_recovery.csv", "_refocus_runs.csv")):
            shutil.copy2(f, tmp_path / f.name)
    res = runner.invoke(app, ["calibrate", "--budget", "small", "--refocus", "0", "--out",
                              str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "(with_obs_error)" in res.output
    summ = json.loads((tmp_path / f"hm_{__version__}.json").read_text())
    assert summ["runs_this_call"] == 0 and "recovery_refocus" not in summ
    rec = pd.read_csv(tmp_path / f"hm_{__version__}_recovery.csv")
    assert set(rec["observed"]) == {"run_only", "with_obs_error"}
    assert not (tmp_path / f"hm_{__version__}_recovery_refocus_runs.csv").exists()


# What calibration/README.md states of each committed recovery: the truths not refocused,
# the coverage of the 90% intervals (refocused; over the refocused truths; wave 1 with and
# without observation error) and the refocused intervals' mean width as a share of the ranges.
RECOVERY = {V16: ([19, 21], 0.879, 0.911, 0.762, 0.742, 0.455),
            V18: ([19, 21], 0.871, 0.915, 0.796, 0.758, 0.448),
            PREVIOUS: ([8, 19, 21, 25], 0.846, 0.9375, 0.7625, 0.729, 0.426),
            LATEST: ([8, 19, 21], 0.8792, 0.9306, 0.7458, 0.7542, 0.4435)}


@pytest.mark.parametrize("stem", [V16, V18, PREVIOUS, LATEST])
def test_committed_recovery_refocuses_every_truth_it_can(stem: str) -> None:
    """calibration/README.md, "One refocused wave per truth, now the pipeline's recovery" and
    "Posterior refit for version 0.18.0" and "... 0.19.0": a committed calibration with
    ``refocus = 60``
    refocuses every truth with a non-implausible point under the wave-1 emulator (0.16.0: 28
    of 30, not 19 and 21), and the 90% intervals cover the share of the truths the README
    states, inside the goal of 0.80-0.97 (0.16.0: 0.879, 0.911 of the 28, where the wave-1
    fit covers 0.762 with observation error and 0.742 without; widths 0.455 of the ranges;
    0.18.0: the same two truths left, 0.871, 0.915, 0.796, 0.758 and 0.448; 0.19.0: four
    left, 8, 19, 21 and 25, 0.846, 0.9375 of the 26, 0.7625, 0.729 and 0.426).
    The batch manifest and the comparison report quote the refocused coverage."""
    from sim.experiments.posterior import calibration_summary

    skipped, want, want_ref, want_obs, want_run, want_width = RECOVERY[stem]
    summ = json.loads((RESULTS / f"hm_{stem}.json").read_text())
    s = Settings.from_summary(summ)
    assert s.refocus == BUDGETS["default"].refocus == 60
    rec = pd.read_csv(RESULTS / f"hm_{stem}_recovery.csv")
    _check_refocused_wave(RESULTS, s, summ, rec, tag=f"hm_{stem}")
    ref = rec[rec["observed"] == "refocused"]
    assert sorted(ref.loc[~ref["refocused"].astype(bool), "truth"]) == skipped
    flags = [f"{p}_in90" for p in s.params]

    def cov(df: pd.DataFrame) -> float:
        return float(df[flags].astype(bool).to_numpy().mean())

    assert cov(ref) == pytest.approx(want, abs=5e-4) and 0.80 <= cov(ref) <= 0.97
    assert cov(ref[ref["refocused"].astype(bool)]) == pytest.approx(want_ref, abs=5e-4)
    for mode, w in (("with_obs_error", want_obs), ("run_only", want_run)):
        assert cov(rec[rec["observed"] == mode]) == pytest.approx(w, abs=5e-4)
    width = [f"{p}_width" for p in s.params]
    assert ref[width].to_numpy().mean() == pytest.approx(want_width, abs=5e-4)
    info = calibration_summary(RESULTS / f"hm_{stem}_posterior.csv")
    assert info["recovery_coverage90"] == pytest.approx(want, abs=5e-4)


# Where the defaults and the median stand in each committed posterior (calibration/README.md):
# the defaults' density rank and highest-density mass, the median's, and the defaults outside
# their 90% intervals.
STANDING = {V16: (0.947, 0.3819, 0.054, 0.996, ()),
            V18: (0.9325, 0.5648, 0.0498, 0.998, ()),
            PREVIOUS: (0.7992, 0.7706, 0.0805, 0.9948,
                       ("beta_income", "return_age_log_per_decade")),
            LATEST: (0.2418, 0.9995, 0.0401, 0.9983,
                     ("wage_adjust_unemployment", "beta_income", "return_age_log_per_decade"))}
# under which waves the defaults are non-implausible, where not under all three
NONIMPLAUSIBLE = {LATEST: [False, False, True]}


@pytest.mark.parametrize("stem", [V16, V18, PREVIOUS, LATEST])
def test_committed_posterior_places_the_defaults(stem: str) -> None:
    """calibration/README.md, "Where the defaults stand in the posterior" and "Posterior refit
    for version 0.18.0" and "... 0.19.0": in every committed posterior since 0.16.0 the defaults
    are non-implausible under all three waves; in 0.16.0 and 0.18.0 all eight are inside their
    90% intervals, in 0.19.0 six (beta_income at 2.0 just above 1.995, the return hazard's
    age gradient at 0.541 below 0.72); in 0.16.0 more likely than 94.7% of the candidates and
    on the edge of the highest-density region holding 0.38 of the mass (the median: 0.054,
    99.6%), in 0.18.0 93.3% and 0.56, in 0.19.0 79.9% and 0.77 (the median 0.081). The
    manifest's summary and the comparison report of a posterior batch say so; the 0.13.0
    posterior, made before the standing was written, says nothing of it."""
    from sim.experiments.document import _posterior_intro
    from sim.experiments.posterior import calibration_summary, read_draws

    rank, mass, med_mass, med_rank, outside = STANDING[stem]
    summ = json.loads((RESULTS / f"hm_{stem}.json").read_text())
    _check_standings(summ)
    dflt, med = summ["posterior"]["defaults"], summ["posterior"]["median"]
    assert dflt["nonimplausible"] == NONIMPLAUSIBLE.get(stem, [True, True, True])
    assert tuple(p for p, ok in dflt["inside_90"].items() if not ok) == outside
    assert dflt["density_rank"] == pytest.approx(rank, abs=5e-4)
    assert dflt["hpd_mass"] == pytest.approx(mass, abs=5e-5)
    assert med["hpd_mass"] == pytest.approx(med_mass, abs=5e-4)
    assert med["density_rank"] == pytest.approx(med_rank, abs=5e-4)
    info = calibration_summary(RESULTS / f"hm_{stem}_posterior.csv")
    assert info["defaults_hpd_mass"] == dflt["hpd_mass"]
    inside = f"{8 - len(outside)} of 8"
    assert info["defaults_inside_90"] == inside
    _draws, meta = read_draws(RESULTS / f"hm_{stem}_posterior.csv", 2)
    text = _posterior_intro({**meta, "seeds_per_draw": 1})
    assert f"highest-density region holding {mass:.4f} of its mass, {inside} inside" in text
    _draws, old = read_draws(RESULTS / "hm_0.13.0_large_posterior.csv", 2)
    assert "defaults_hpd_mass" not in old["calibration"]
    assert "highest-density" not in _posterior_intro({**old, "seeds_per_draw": 1})


@pytest.mark.parametrize("stem", [V16, V18, PREVIOUS, LATEST])
def test_no_posterior_point_reaches_the_all_bands_goal(stem: str) -> None:
    """calibration/README.md, "Posterior refit for version 0.18.0" and "... 0.19.0" (calibration/
    band_probability.py): by the committed emulators no candidate of the last wave's
    non-implausible region gives a run of 200,000 persons a 65% chance of landing in every band
    at once, even with the emulator's own uncertainty left out (0.16.0: at most 0.11; 0.18.0:
    0.32; 0.19.0: 0.63; 0.22.0: 0, its design-scale emulators putting the share aged 15-29 and
    the returners by 1998 outside their bands everywhere); the shares found by the predictive
    checks, stored beside, are those of their runs."""
    res = json.loads((RESULTS / f"hm_{stem}_bands.json").read_text())
    assert res["tag"] == f"hm_{stem}" and res["goal"] == 0.65
    targets = fit_targets()
    for label, file in (("calibration", "ppc"), ("200k", "ppc200k"),
                        ("200k_noise_only", "ppc200k")):
        r = res[label]
        assert r["ceiling"] < res["goal"] and r["candidates_over_goal"] == 0.0
        assert r["posterior_predicted_all_in_band"] <= r["ceiling"]
        runs = pd.read_csv(RESULTS / f"hm_{stem}_{file}.csv")
        y = runs[[t.name for t in targets]].to_numpy(float)
        inb = (y >= [t.lo for t in targets]) & (y <= [t.hi for t in targets])
        assert r["posterior_found_all_in_band"] == pytest.approx(inb.all(axis=1).mean(),
                                                                 abs=5e-5)
    assert res["200k_noise_only"]["ceiling"] == pytest.approx(
        {V16: 0.1114, V18: 0.321, PREVIOUS: 0.6282, LATEST: 0.0}[stem], abs=5e-5)
