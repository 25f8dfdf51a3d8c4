"""Batches over posterior draws (``sim/experiments/posterior.py``, issue 13 item 6): replicate r
uses seed S + r and draw r in every scenario; bad posterior files are refused before anything
is written. Runs are tiny (2,000 persons, 2 years)."""

from __future__ import annotations

import json

import pytest

from sim.experiments.batch import BatchError, plan_batch, run_batch

ARGS = {"agents": 2000, "start_year": 2000, "years": 2, "workers": 1}


def _csv(tmp_path, text):
    p = tmp_path / "post.csv"
    p.write_text(text)
    return p


def test_replicates_pair_seeds_with_draws(tmp_path):
    post = _csv(tmp_path, "draw,asc_home,return_rate_year,weight\n1,-0.3,0.12,0.5\n"
                          "2,-0.1,0.16,0.5\n3,0.0,0.2,0.1\n")
    plan = plan_batch(["baseline", "minimum_wage_enforcement"], out=tmp_path / "p",
                      posterior=post, draws=2, **{k: v for k, v in ARGS.items()
                                                  if k != "workers"})
    assert plan.replicates == 2 and plan.posterior["parameters"] == ["asc_home",
                                                                     "return_rate_year"]
    specs = plan.specs()
    for s in specs:
        assert s.draw == [{"asc_home": -0.3, "return_rate_year": 0.12},
                          {"asc_home": -0.1, "return_rate_year": 0.16}][s.replicate]
        assert s.seed == 1 + s.replicate
    out = tmp_path / "b"
    summary = run_batch(["baseline"], out=out, posterior=post, draws=2, **ARGS)
    assert summary.ok and summary.done == 2
    man = json.loads((out / "runs" / "baseline__p000__r001" / "manifest.json").read_text())
    assert man["posterior_draw"] == {"asc_home": -0.1, "return_rate_year": 0.16}
    assert json.loads((out / "batch.json").read_text())["posterior"]["draws"] == 2
    other = _csv(tmp_path, "asc_home\n-0.2\n-0.2\n")  # another posterior: not the same batch
    with pytest.raises(BatchError, match="posterior"):
        run_batch(["baseline"], out=out, posterior=other, draws=2, **ARGS)


@pytest.mark.parametrize("text, draws, match", [
    ("", 1, "no draws"),
    ("foo,bar\n1,2\n", 1, "no column names a parameter"),
    ("asc_home\n-0.2\n", 2, r"draws must be an integer in \[1, 1\]"),
    ("asc_home\nabc\n", 1, "not a number"),
    ("asc_home\nnan\n", 1, "not finite"),
    ("asc_home\n99\n", 1, "asc_home"),
])
def test_bad_posterior_files_are_refused(tmp_path, text, draws, match):
    with pytest.raises(BatchError, match=match):
        plan_batch(["baseline"], out=tmp_path / "x", posterior=_csv(tmp_path, text),
                   draws=draws, **{k: v for k, v in ARGS.items() if k != "workers"})
    assert not (tmp_path / "x").exists()


def test_draws_without_a_posterior_are_refused(tmp_path):
    with pytest.raises(BatchError, match="posterior"):
        plan_batch(["baseline"], out=tmp_path / "x", draws=3)


def test_design_scale_is_read_beside_the_posterior(tmp_path):
    from sim.experiments.posterior import design_scale

    post = tmp_path / "hm_9.9_posterior.csv"
    post.write_text("draw,asc_home\n0,-0.3\n")
    assert design_scale(post) is None  # no summary beside it
    (tmp_path / "hm_9.9.json").write_text(json.dumps({"agents": 30000}))
    assert design_scale(post) == 30000
    (tmp_path / "hm_9.9.json").write_text("{not json")
    assert design_scale(post) is None
    assert design_scale(_csv(tmp_path, "asc_home\n-0.2\n")) is None  # not a calibration's file


def test_cli_warns_when_the_batch_scale_differs(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    post = tmp_path / "hm_9.9_posterior.csv"
    post.write_text("draw,asc_home\n0,-0.3\n")
    (tmp_path / "hm_9.9.json").write_text(json.dumps({"agents": 30000}))
    args = ["batch", "baseline", "--posterior", str(post), "--draws", "1", "--agents", "2000",
            "--start-year", "2000", "--years", "1", "--workers", "1", "-q"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "fitted to runs of 30,000 persons" in res.output and "runs 2,000" in res.output
    (tmp_path / "hm_9.9.json").write_text(json.dumps({"agents": 2000}))
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0 and "fitted to runs" not in res.output


def test_calibration_quality_travels_with_the_draws():
    """``read_draws`` records how good the posterior is (from the calibration's summary beside
    it) and the comparison report says it: for the committed large posterior, model 0.13.0 at
    100,000 persons, a tempered likelihood, recovery coverage 0.80 with observation error."""
    from pathlib import Path

    from sim.experiments.document import _posterior_intro
    from sim.experiments.posterior import read_draws

    root = Path(__file__).resolve().parents[1] / "calibration" / "results"
    summ = json.loads((root / "hm_0.13.0_large.json").read_text())
    _draws, info = read_draws(root / "hm_0.13.0_large_posterior.csv", 2)
    cal = info["calibration"]
    assert cal["version"] == "0.13.0" and cal["agents"] == 100_000
    assert cal["tau"] == pytest.approx(summ["posterior"]["tau"]) and cal["tau"] < 1
    cov = summ["recovery_coverage90"]["with_obs_error"]
    assert cal["recovery_coverage90"] == pytest.approx(sum(cov.values()) / len(cov), abs=1e-3)
    assert cal["ppc_all_in_band_share"] == summ["ppc"]["all_in_band_share"]
    text = _posterior_intro({**info, "seeds_per_draw": 1})
    assert "model version 0.13.0 at 100,000 persons" in text
    assert f"covered {cal['recovery_coverage90']:.4g} of the synthetic truths" in text
    low = _posterior_intro({**info, "seeds_per_draw": 1,
                            "calibration": {**cal, "recovery_coverage90": 0.7, "tau": 1.0}})
    assert "too narrow" in low and "untempered" in low
