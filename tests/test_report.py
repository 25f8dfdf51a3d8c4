"""Scenario comparison (``sim.experiments.report``, ``migsim compare``):
paired effects, CRN, the report.

One tiny batch (baseline + an earlier, deeper hukou reform in small and medium cities; 5
replicates x 10,000 agents, 1998-2001) is written in the batch layout
``runs/<scenario>__p000__r<rep>/`` and shared by the tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.engine.registry import Params
from sim.experiments import report
from sim.io.output import SUMMARY, write_run

REPS = 5
AGENTS = 10_000
START, YEARS = 1998, 4
END = START + YEARS - 1
SEED0 = 1000
HUKOU_REFORM = {
    "hukou_penalty_small": {"1985": 1.5, "1997": 1.0, "1999": 0.4, "2000": 0.0},
    "hukou_penalty_medium": {"1985": 2.0, "1999": 1.3, "2000": 0.8},
}
SCENARIOS = {"baseline": {}, "hukou_reform": HUKOU_REFORM}

runner = CliRunner()


def write_batch(root: Path, scenarios: dict, reps: int) -> Path:
    """Run every scenario x replicate (replicate r: seed SEED0 + r in every scenario) and write
    the runs in the batch layout."""
    for scn, overrides in scenarios.items():
        params = Params(overrides)
        for r in range(reps):
            seed = SEED0 + r
            res = sim.Simulation(params, agents=AGENTS, seed=seed, start_year=START,
                                 years=YEARS).run()
            write_run(res, root / "runs" / f"{scn}__p000__r{r:03d}",
                      {"scenario": scn, "point_id": 0, "replicate": r, "seed": seed},
                      params=params)
    (root / "batch.json").write_text(json.dumps({"scenarios": list(scenarios)}))
    return root


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    return write_batch(tmp_path_factory.mktemp("batch"), SCENARIOS, REPS)


@pytest.fixture(scope="module")
def frame(batch) -> pd.DataFrame:
    return report.load_runs(batch)


@pytest.fixture(scope="module")
def written(batch) -> Path:
    return report.write_report(batch)


# ------------------------------------------------------------------ loading and yearly values
def test_load_runs_follows_the_batch_contract(frame):
    assert list(frame.columns) == ["scenario", "point", "replicate", "seed", "year", "month",
                                   "indicator", "group", "value"]
    runs = frame.groupby(["scenario", "replicate"])["seed"].unique()
    assert len(runs) == 2 * REPS
    for (_, rep), seeds in runs.items():  # common random numbers: seed by replicate
        assert list(seeds) == [SEED0 + rep]
    assert set(frame["year"]) == set(range(START, END + 1))


def test_yearly_values_match_the_run_summary(batch, frame):
    """December for stocks and shares, yearly sums for flows, as in summary.json."""
    y = report.yearly(frame)
    last = y[(y["year"] == END) & (y["group"].isin(["total", "migrants"]))]
    for run in sorted((batch / "runs").iterdir())[:3]:
        man = json.loads((run / "manifest.json").read_text())
        summ = json.loads((run / SUMMARY).read_text())
        mine = last[(last["scenario"] == man["scenario"])
                    & (last["replicate"] == man["replicate"])]
        got = {(i if g == "total" else f"{i}[{g}]"): v for i, g, v in
               zip(mine["indicator"], mine["group"], mine["value"], strict=True)}
        for key in ("migrant_stock", "hukou_conversions", "outflow", "children_left_behind",
                    "unemployment_rate[migrants]", "rural_income_per_head_rmb_year"):
            assert got[key] == pytest.approx(summ[key], rel=1e-9), key


# ------------------------------------------------------------------ paired differences
def test_paired_differences_match_replicate_by_replicate(frame):
    d = report.paired_differences(frame, "baseline", ["migrant_stock"])
    assert set(d["scenario"]) == {"hukou_reform"}
    assert len(d) == REPS * YEARS
    assert (d["seed"] == d["baseline_seed"]).all()
    y = report.yearly(frame)
    stock = y[(y["indicator"] == "migrant_stock") & (y["group"] == "total")]
    wide = stock.pivot_table(index=["year", "replicate"], columns="scenario", values="value")
    expect = (wide["hukou_reform"] - wide["baseline"]).sort_index()
    got = d.set_index(["year", "replicate"])["diff"].sort_index()
    np.testing.assert_allclose(got.to_numpy(), expect.to_numpy())


def test_effects_table_one_row_per_scenario_and_indicator(frame):
    eff = report.effects_table(frame)
    inds = report.resolve_indicators(report.yearly(frame))
    assert len(inds) == len(report.KEY_INDICATORS)  # all default indicators are recorded
    assert len(eff) == 1 * len(inds)
    assert list(zip(eff["indicator"], eff["group"], strict=True)) == inds
    assert (eff["scenario"] == "hukou_reform").all() and (eff["year"] == END).all()
    assert (eff["n"] == REPS).all()
    assert (eff["ci_low"] <= eff["mean_diff"]).all() and (eff["mean_diff"] <= eff["ci_high"]).all()
    stock = eff.set_index("indicator").loc["migrant_stock"]
    print(f"\nend-year stock effect {stock.mean_diff / 1e6:.2f} M "
          f"[{stock.ci_low / 1e6:.2f}, {stock.ci_high / 1e6:.2f}] ({stock.rel_effect_pct:+.2f} %)")
    assert stock.mean_diff > 0 and stock.ci_low > 0  # lower barriers: more migrants
    assert stock.rel_effect_pct == pytest.approx(100 * stock.mean_diff / stock.baseline_mean)


def test_confidence_interval_is_the_t_interval():
    rng = np.random.default_rng(0)
    rows = []
    for r in range(6):
        b = rng.normal(10, 2)
        for scn, v in (("baseline", b), ("a", b + 1 + rng.normal(0, 0.5))):
            rows.append({"scenario": scn, "point": 0, "replicate": r, "seed": r, "year": 2000,
                         "indicator": "migrant_stock", "group": "total", "value": v})
    y = pd.DataFrame(rows)
    eff = report.effects_table(y, indicators=["migrant_stock"], level=0.9)
    d = (y[y.scenario == "a"]["value"].to_numpy() - y[y.scenario == "baseline"]["value"].to_numpy())
    lo, hi = stats.t.interval(0.9, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert eff["mean_diff"].iat[0] == pytest.approx(d.mean())
    assert (eff["ci_low"].iat[0], eff["ci_high"].iat[0]) == pytest.approx((lo, hi))


# ------------------------------------------------------------------ common random numbers
def test_crn_variance_ratio_definition():
    """Paired: s_r - b_r; independent: s_r - b_{r+1 mod n}."""
    b = np.array([1.0, 4.0, 2.0, 8.0])
    s = b + np.array([0.5, 0.7, 0.4, 0.6])
    rows = [{"scenario": n, "point": 0, "replicate": r, "seed": r, "year": 2000,
             "indicator": "x", "group": "total", "value": v[r]}
            for n, v in (("base", b), ("s", s)) for r in range(4)]
    y = pd.DataFrame(rows)
    expect = np.var(s - b, ddof=1) / np.var(s - np.roll(b, -1), ddof=1)
    assert report.crn_variance_ratio(y, "s", "base", "x", "total", 2000) == pytest.approx(expect)
    assert report.crn_variance_ratio(y, "s", "base", "x") == pytest.approx(expect)
    assert np.isnan(report.crn_variance_ratio(y[y.replicate < 1], "s", "base", "x"))


def test_crn_variance_ratio_pooled_over_years():
    """``years``: both variances summed over the years, then divided (not a mean of ratios)."""
    b0, b1 = np.array([1.0, 4.0, 2.0, 8.0]), np.array([3.0, 1.0, 5.0, 2.0])
    s0, s1 = b0 + np.array([0.5, 0.7, 0.4, 0.6]), b1 + np.array([2.0, -1.0, 0.5, 1.0])
    rows = [{"scenario": n, "point": 0, "replicate": r, "seed": r, "year": yr,
             "indicator": "x", "group": "total", "value": v[r]}
            for yr, (bb, ss) in ((2000, (b0, s0)), (2001, (b1, s1)))
            for n, v in (("base", bb), ("s", ss)) for r in range(4)]
    y = pd.DataFrame(rows)
    paired = np.var(s0 - b0, ddof=1) + np.var(s1 - b1, ddof=1)
    indep = np.var(s0 - np.roll(b0, -1), ddof=1) + np.var(s1 - np.roll(b1, -1), ddof=1)
    pooled = report.crn_variance_ratio(y, "s", "base", "x", years=(2000, 2001))
    assert pooled == pytest.approx(paired / indep)
    one = report.crn_variance_ratio(y, "s", "base", "x", years=(2000,))
    assert one == pytest.approx(report.crn_variance_ratio(y, "s", "base", "x", year=2000))
    assert report.crn_variance_ratio(y, "s", "base", "x") == pytest.approx(  # last year
        np.var(s1 - b1, ddof=1) / np.var(s1 - np.roll(b1, -1), ddof=1))
    assert np.isnan(report.crn_variance_ratio(y, "s", "base", "x", years=(2000, 1999)))


def test_report_states_the_crn_variance_ratio(frame, written):
    """The report's table of variance reduction carries the ratio of the batch (five replicates
    are too few to judge its size: the next test does that)."""
    ratio = report.crn_variance_ratio(frame, "hukou_reform", "baseline", "migrant_stock",
                                      "total", END)
    assert np.isfinite(ratio) and ratio >= 0
    md = (written / report.REPORT_MD).read_text()
    assert "Variance reduction from common random numbers" in md
    row = next(line for line in md.splitlines()
               if line.startswith("| hukou_reform | migrant_stock |") and line.count("|") == 7)
    assert row.rstrip(" |").endswith(f"{ratio:.3f}")


# ------------------------------------------------------------------ the report
def test_write_report_writes_markdown_html_and_figures(batch, written):
    assert written == (batch / "report").absolute()
    md = (written / report.REPORT_MD).read_text()
    page = (written / report.REPORT_HTML).read_text()
    pngs = sorted(p.name for p in written.glob("*.png"))
    # one per indicator + CRN ratios + the hukou_reform map (tests/test_maps.py)
    assert len(pngs) == len(report.KEY_INDICATORS) + 2
    for png in pngs:
        assert (written / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(re.findall(r"!\[(?:\\.|[^\]])*\]\(([^)]+)\)", md)) == set(pngs)
    assert set(re.findall(r'<img src="([^"]+)"', page)) == set(pngs)
    assert f"## End-year effects ({END})" in md and f"<h2>End-year effects ({END})</h2>" in page
    assert md.count("\n| hukou_reform |") == page.count("<tr><td>hukou_reform</td>")
    assert page.count("<table>") == md.count("\n|---|")
    eff = pd.read_csv(written / report.EFFECTS_CSV)
    assert len(eff) == len(report.KEY_INDICATORS)
    assert not list(written.parent.glob(".report.tmp-*"))  # temporary directory renamed


def test_common_random_numbers_cut_the_variance_of_the_stock_effect():
    """Sixteen replicates of the hukou reform and its baseline (10,000 persons, 1998-2001): the
    paired effect on the stock varies far less than the effect between unpaired runs. Measured
    0.39 at 0.13 (0.13 with the women's migration experience switched off: a province's women
    share one cost of moving that each departure shifts, so a change of policy spreads further
    through the draws than before, most in small populations); the bound is 0.6."""
    reps = 16
    rows = []
    for scn, overrides in SCENARIOS.items():
        for r in range(reps):
            res = sim.Simulation(Params(overrides), agents=AGENTS, seed=SEED0 + r,
                                 start_year=START, years=YEARS).run()
            rows.append({"scenario": scn, "point": 0, "replicate": r, "seed": SEED0 + r,
                         "year": END, "indicator": "migrant_stock", "group": "total",
                         "value": float(res.annual("migrant_stock")[-1])})
    ratio = report.crn_variance_ratio(pd.DataFrame(rows), "hukou_reform", "baseline",
                                      "migrant_stock", "total", END)
    print(f"\nCRN variance ratio, migrant stock {END} ({reps} replicates, {AGENTS} agents): "
          f"{ratio:.3f}")
    assert ratio < 0.6


def test_report_options_and_overwrite(batch, frame, tmp_path):
    out = tmp_path / "rep"
    path = report.write_report(batch, out, baseline="hukou_reform",
                               indicators=["migrant_stock[tier:small]", "outflow"], level=0.9,
                               frame=frame)
    md = (path / report.REPORT_MD).read_text()
    assert "baseline **hukou_reform**" in md and "90% CI" in md
    assert "| baseline | migrant_stock[tier:small] |" in md
    assert len(list(path.glob("fig_*.png"))) == 4  # 2 indicators, CRN ratios, 1 map
    report.write_report(batch, out, indicators=["migrant_stock"], frame=frame)  # replaces it
    assert len(list(path.glob("fig_*.png"))) == 3
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(report.ReportError, match="refusing to overwrite"):
        report.write_report(batch, other, frame=frame)
    with pytest.raises(report.ReportError, match="unknown indicator"):
        report.write_report(batch, out, indicators=["no_such_thing"])
    with pytest.raises(report.ReportError, match="not in the batch"):
        report.write_report(batch, out, baseline="nope", frame=frame)


def test_bands_min_max_then_central_90():
    rows = [{"scenario": "b", "point": 0, "replicate": r, "seed": r, "year": 2000,
             "indicator": "x", "group": "total", "value": float(r)} for r in range(21)]
    y = pd.DataFrame(rows)
    few = report.bands(y[y.replicate < 5], ["x"]).iloc[0]
    assert (few["band"], few["lo"], few["hi"], few["mean"]) == ("min-max", 0.0, 4.0, 2.0)
    many = report.bands(y, ["x"]).iloc[0]
    assert (many["band"], many["lo"], many["hi"]) == ("central 90%", 1.0, 19.0)


# ------------------------------------------------------------------ command line
def test_cli_compare(batch, tmp_path):
    out = tmp_path / "cli_report"
    result = runner.invoke(app, ["compare", str(batch), "--out", str(out),
                                 "--indicators", "migrant_stock,unemployment_rate"])
    assert result.exit_code == 0, result.output
    assert (out / report.REPORT_MD).is_file() and (out / report.REPORT_HTML).is_file()
    assert "migrant_stock" in result.stdout and "unemployment_rate[migrants]" in result.stdout
    assert "report.md" in result.stdout


def test_cli_compare_without_runs_fails_clearly(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["compare", str(empty)])
    assert result.exit_code == 2
    assert "no runs in" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["compare", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such directory" in result.output


def test_reads_a_directory_written_by_migsim_batch(tmp_path):
    """A ``migsim batch`` directory is read through ``sim.experiments.batch.load`` (batch.json)."""
    from sim.experiments import batch as batch_mod

    scn = tmp_path / "open_small.toml"
    scn.write_text('base = "baseline"\n[params]\n'
                   'hukou_penalty_small = { "1985" = 1.5, "1998" = 0.0 }\n')
    out = tmp_path / "b"
    summary = batch_mod.run_batch(["baseline", str(scn)], out=out, replicates=2, agents=5000,
                                  years=1, start_year=1999, workers=1)
    assert summary.failed == 0
    (out / "runs" / "junk").mkdir()  # no manifest: ignored
    frame = report.load_runs(out, ["migrant_stock"])
    assert set(frame["replicate"]) == {0, 1} and set(frame["indicator"]) == {"migrant_stock"}
    assert report.scenarios_of(frame) == ["baseline", "open_small"]
    path = report.write_report(out, indicators=["migrant_stock"])
    eff = pd.read_csv(path / report.EFFECTS_CSV)
    assert list(eff["scenario"]) == ["open_small"] and (eff["n"] == 2).all()
