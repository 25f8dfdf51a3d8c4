"""Parameter and stochastic uncertainty of effects in batches over posterior draws (issue 13,
item 6): ``seeds_per_draw`` M (replicate r: seed S + r, draw r // M), the one-way
random-effects split of an effect's variance over draws (``variance_components``), the
posterior columns of the effects table and the report section. Batches are tiny (2,000
persons, 2-3 years)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments import report
from sim.experiments.batch import BatchError, batch_differences, plan_batch, run_batch
from sim.experiments.effects import (
    POSTERIOR_COLUMNS,
    effects_table,
    variance_components,
)

ARGS = {"agents": 2000, "start_year": 1998, "workers": 1}
REFORM = """name = "hukou_reform"
base = "baseline"
[params]
hukou_penalty_small = { "1985" = 1.5, "1997" = 1.0, "1999" = 0.4, "2000" = 0.0 }
hukou_penalty_medium = { "1985" = 2.0, "1999" = 1.3, "2000" = 0.8 }
"""
# how often people weigh a move, far apart: the reform's effect differs by draw (since 0.9 the
# stock is bound by the jobs, and attachment to home or return rates move its level more than
# the reform's effect)
POSTERIOR = "asc_home,consider_rate_year,weight\n-1.5,0.08,1\n-0.7,0.4,1\n0.0,1.5,1\n"
EFFECT_COLUMNS = ["scenario", "indicator", "group", "year", "level", "n", "baseline_mean",
                  "scenario_mean", "mean_diff", "sd_diff", "ci_low", "ci_high",
                  "rel_effect_pct", "rel_ci_low_pct", "rel_ci_high_pct", "variance_ratio"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("posterior")
    (d / "reform.toml").write_text(REFORM)
    (d / "post.csv").write_text(POSTERIOR)
    return d


# ------------------------------------------------------------------ the decomposition
def test_variance_components_recover_known_components():
    """K = 2000 draws x M = 4 seeds; parameter sd 2, seed sd 1: variance 4 from the
    parameters, 1 from the seeds, share 0.8 (tolerances about 3 standard errors)."""
    rng = np.random.default_rng(13)
    k, m = 2000, 4
    draw = np.repeat(np.arange(k), m)
    values = 5.0 + rng.normal(0, 2, k)[draw] + rng.normal(0, 1, k * m)
    c = variance_components(values, draw)
    assert (c["n"], c["draws"]) == (k * m, k)
    assert c["var_seed"] == pytest.approx(1.0, rel=0.05)
    assert c["var_param"] == pytest.approx(4.0, rel=0.1)
    assert c["param_share"] == pytest.approx(0.8, abs=0.03)
    assert c["var_total"] == pytest.approx(5.0, rel=0.1)
    assert c["mean"] == pytest.approx(5.0, abs=0.15)


def test_variance_components_by_hand_and_unbalanced():
    # draws 0: 1, 3; 1: 5, 7; 2: 2, 2 -> MS_within 4/3, MS_between 32/3, component 14/3
    c = variance_components([1, 3, 5, 7, 2, 2], [0, 0, 1, 1, 2, 2])
    assert c["var_seed"] == pytest.approx(4 / 3)
    assert c["ms_between"] == pytest.approx(32 / 3)
    assert c["var_param"] == pytest.approx(14 / 3)
    assert c["param_share"] == pytest.approx(14 / 18)
    assert c["var_total"] == pytest.approx(np.var([1, 3, 5, 7, 2, 2], ddof=1))
    # unbalanced (a run missing): the mean squares are those of the F test
    v, g = np.array([1.0, 3, 4, 5, 7, 2, 2.5]), np.array([0, 0, 0, 1, 1, 2, 2])
    c = variance_components(v, g)
    f = stats.f_oneway(*(v[g == i] for i in range(3))).statistic
    assert c["ms_between"] / c["var_seed"] == pytest.approx(f)
    n0 = (7 - (9 + 4 + 4) / 7) / 2
    assert c["var_param"] == pytest.approx((c["ms_between"] - c["var_seed"]) / n0)


def test_variance_components_edge_cases():
    # draws that differ less than their seeds: no parameter component (clipped at 0)
    c = variance_components([0, 10, 1, 9, 0.5, 9.5], [0, 0, 1, 1, 2, 2])
    assert c["var_param"] == 0.0 and c["param_share"] == 0.0 and c["var_seed"] > 0
    # one seed per draw: the sources cannot be separated
    c = variance_components([1.0, 2.0, 4.0], [0, 1, 2])
    assert np.isnan(c["var_seed"]) and np.isnan(c["var_param"]) and np.isnan(c["param_share"])
    assert c["var_total"] == pytest.approx(np.var([1, 2, 4], ddof=1))
    c = variance_components([1.0, 2.0, 4.0], [0, 0, 0])  # one draw
    assert np.isnan(c["var_param"]) and c["draws"] == 1


# ------------------------------------------------------------------ the effects table
def _frame(k: int, m: int, sd_param: float, sd_seed: float) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    p = rng.normal(0, sd_param, k)
    rows = []
    for r in range(k * m):
        b = rng.normal(100, 5)
        for scn, v in (("baseline", b), ("a", b + 3 + p[r // m] + rng.normal(0, sd_seed))):
            rows.append({"scenario": scn, "point": 0, "replicate": r, "seed": 1 + r,
                         "year": 2000, "indicator": "migrant_stock", "group": "total",
                         "value": v})
    return pd.DataFrame(rows)


def test_effects_table_posterior_columns():
    k, m = 40, 3
    y = _frame(k, m, sd_param=2.0, sd_seed=0.5)
    plain = effects_table(y, indicators=["migrant_stock"], level=0.9)
    assert list(plain.columns) == EFFECT_COLUMNS + POSTERIOR_COLUMNS  # old columns first
    assert plain[POSTERIOR_COLUMNS].isna().all().all()
    eff = effects_table(y, indicators=["migrant_stock"], level=0.9, seeds_per_draw=m).iloc[0]
    d = (y[y.scenario == "a"]["value"].to_numpy() - y[y.scenario == "baseline"]["value"]
         .to_numpy())
    draw_means = d.reshape(k, m).mean(axis=1)  # replicates of a draw are not independent
    lo, hi = stats.t.interval(0.9, k - 1, loc=d.mean(), scale=stats.sem(draw_means))
    assert (eff.ci_low, eff.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    c = variance_components(d, np.arange(k * m) // m)
    assert eff.var_seed == pytest.approx(c["var_seed"])
    assert eff.var_param == pytest.approx(c["var_param"])
    assert eff.param_share == pytest.approx(c["param_share"]) and eff.param_share > 0.8
    # and against the frame's own truth: the draws' effects have sd 2, the seeds' 0.5 (the
    # baseline cancels in the difference); tolerances about two standard errors of the
    # estimates (40 draws: sqrt(2 / 39) = 0.23 relative; 80 within-draw degrees: 0.16)
    assert eff.var_param == pytest.approx(4.0, rel=0.5)
    assert eff.var_seed == pytest.approx(0.25, rel=0.35)
    assert (eff.draws, eff.seeds_per_draw, eff.n) == (k, m, k * m)
    half = stats.t.ppf(0.95, k * m - 1) * np.sqrt(c["var_seed"] / (k * m))
    assert (eff.ci_seed_low, eff.ci_seed_high) == (pytest.approx(d.mean() - half),
                                                   pytest.approx(d.mean() + half))
    assert eff.ci_high - eff.ci_low > 3 * (eff.ci_seed_high - eff.ci_seed_low)
    one = effects_table(y, indicators=["migrant_stock"], level=0.9, seeds_per_draw=1).iloc[0]
    assert (one.ci_low, one.ci_high) == (plain.ci_low.iat[0], plain.ci_high.iat[0])
    assert one.var_total == pytest.approx(plain.sd_diff.iat[0] ** 2)
    assert np.isnan(one.var_seed) and np.isnan(one.param_share) and np.isnan(one.ci_seed_low)


# ------------------------------------------------------------------ planning
def test_seeds_per_draw_is_validated_and_part_of_the_batch(files):
    post = files / "post.csv"
    kw = {"out": files / "never", "agents": 2000, "start_year": 1998, "years": 2}
    plan = plan_batch(["baseline"], posterior=post, draws=3, seeds_per_draw=2, **kw)
    assert plan.replicates == 6 and plan.describe()["seeds_per_draw"] == 2
    assert [(s.seed, s.draw_index, s.draw["asc_home"]) for s in plan.specs()] == [
        (1, 0, -1.5), (2, 0, -1.5), (3, 1, -0.7), (4, 1, -0.7), (5, 2, 0.0), (6, 2, 0.0)]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(BatchError, match="seeds_per_draw must be an integer >= 1"):
            plan_batch(["baseline"], posterior=post, draws=3, seeds_per_draw=bad, **kw)
    with pytest.raises(BatchError, match="seeds_per_draw needs a posterior"):
        plan_batch(["baseline"], replicates=2, seeds_per_draw=2, **kw)
    assert plan_batch(["baseline"], **kw).describe()["seeds_per_draw"] is None
    # a batch.json from before seeds_per_draw is a batch with one seed per draw
    one = plan_batch(["baseline"], posterior=post, draws=3, **kw).describe()
    old = {k: v for k, v in one.items() if k != "seeds_per_draw"}
    assert batch_differences(old, one) == []
    three = plan_batch(["baseline"], posterior=post, draws=1, seeds_per_draw=3, **kw).describe()
    assert any(d.startswith("seeds_per_draw: 1 in batch.json, 3 now")
               for d in batch_differences(old, three))
    assert not (files / "never").exists()


# ------------------------------------------------------------------ batches and the report
def test_one_seed_per_draw_is_todays_batch(files, tmp_path):
    """M = 1 (or no M) gives the same runs, byte for byte, as before: replicate r is the run
    with seed S + r and the parameters of draw r; the report says the shares cannot be
    separated."""
    scns = ["baseline", str(files / "reform.toml")]
    a, b, ref = tmp_path / "a", tmp_path / "b", tmp_path / "ref"
    assert run_batch(scns, out=a, posterior=files / "post.csv", draws=2, years=2, **ARGS).ok
    assert run_batch(scns, out=b, posterior=files / "post.csv", draws=2, seeds_per_draw=1,
                     years=2, **ARGS).ok
    assert run_batch(["baseline"], out=ref, seed=2, years=2,
                     sets={"asc_home": -0.7, "consider_rate_year": 0.4}, **ARGS).ok
    runs = sorted(p.name for p in (a / "runs").iterdir())
    assert len(runs) == 4
    for name in runs:
        assert ((a / "runs" / name / "timeseries.parquet").read_bytes()
                == (b / "runs" / name / "timeseries.parquet").read_bytes())
    assert ((a / "runs" / "baseline__p000__r001" / "timeseries.parquet").read_bytes()
            == (ref / "runs" / "baseline__p000__r000" / "timeseries.parquet").read_bytes())
    man = json.loads((a / "runs" / "baseline__p000__r001" / "manifest.json").read_text())
    assert man["posterior_draw_index"] == 1 and man["seed"] == 2
    assert json.loads((a / "batch.json").read_text())["seeds_per_draw"] == 1
    ref_man = json.loads((ref / "runs" / "baseline__p000__r000" / "manifest.json").read_text())
    assert "posterior_draw_index" not in ref_man
    out = report.write_report(a, indicators=["migrant_stock"])
    md = (out / report.REPORT_MD).read_text()
    assert "carry both parameter uncertainty (the posterior) and stochastic uncertainty" in md
    assert "cannot be separated" in md and "`--seeds-per-draw 2`" in md
    eff = pd.read_csv(out / report.EFFECTS_CSV)
    assert list(eff.columns) == EFFECT_COLUMNS + POSTERIOR_COLUMNS
    row = eff.iloc[0]
    assert (row.draws, row.seeds_per_draw) == (2, 1)
    assert row.var_total == pytest.approx(row.sd_diff ** 2)
    assert np.isnan(row.param_share) and np.isnan(row.ci_seed_low)


def test_posterior_batch_report_splits_parameter_and_seed_variance(files, tmp_path):
    """K = 3 draws x M = 2 seeds, through write_report: the posterior interval of the
    reform's effect on the migrant stock is wider than the seed-only one, and the report says
    which share of each effect's variance comes from the parameters."""
    scns = ["baseline", str(files / "reform.toml")]
    out = tmp_path / "b"
    s = run_batch(scns, out=out, posterior=files / "post.csv", draws=3, seeds_per_draw=2,
                  years=3, **ARGS)
    assert s.ok and s.done == 12
    info = json.loads((out / "batch.json").read_text())
    assert (info["replicates"], info["seeds_per_draw"], info["posterior"]["draws"]) == (6, 2, 3)
    for r in range(6):
        man = json.loads((out / "runs" / f"hukou_reform__p000__r{r:03d}" / "manifest.json")
                         .read_text())
        assert (man["seed"], man["posterior_draw_index"]) == (1 + r, r // 2)
    with pytest.raises(BatchError, match="seeds_per_draw"):  # resumed with another M
        run_batch(scns, out=out, posterior=files / "post.csv", draws=2, seeds_per_draw=3,
                  years=3, **ARGS)
    path = report.write_report(out)
    eff = pd.read_csv(path / report.EFFECTS_CSV)
    assert list(eff.columns) == EFFECT_COLUMNS + POSTERIOR_COLUMNS
    assert (eff["draws"] == 3).all() and (eff["seeds_per_draw"] == 2).all()
    assert eff["var_seed"].notna().all() and eff["param_share"].between(0, 1).all()
    stock = eff.set_index("indicator").loc["migrant_stock"]
    print(f"\nmigrant stock effect {stock.mean_diff:,.0f}: CI [{stock.ci_low:,.0f}, "
          f"{stock.ci_high:,.0f}], seed-only [{stock.ci_seed_low:,.0f}, "
          f"{stock.ci_seed_high:,.0f}], parameter share {stock.param_share:.2f}")
    assert stock.ci_high - stock.ci_low > stock.ci_seed_high - stock.ci_seed_low
    assert stock.param_share > 0.3
    md = (path / report.REPORT_MD).read_text()
    page = (path / report.REPORT_HTML).read_text()
    assert "## Parameter and stochastic uncertainty" in md
    assert "<h2>Parameter and stochastic uncertainty</h2>" in page
    assert "3 draws of `asc_home`, `consider_rate_year`" in md and "2 seeds per draw" in md
    assert "carry both parameter uncertainty (the posterior) and stochastic uncertainty" in md
    assert "95% CI (seeds only)" in md and "parameter share" in md
    share = f"| {100 * stock.param_share:.0f} % |"
    assert any(line.startswith("| hukou_reform | migrant_stock | 3 |") and line.endswith(share)
               for line in md.splitlines())
    from typer.testing import CliRunner

    from sim.cli import app

    res = CliRunner().invoke(app, ["compare", str(out), "--indicators", "migrant_stock",
                                   "--out", str(tmp_path / "cli_report")])
    assert res.exit_code == 0, res.output
    assert "parameter and seed uncertainty (3 posterior draws x 2 seeds)" in res.output
    assert f"{100 * stock.param_share:.0f} %" in res.output
