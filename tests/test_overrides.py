"""An override of a value a scenario sets is reported (a sweep of a lever that a counterfactual
sets would otherwise erase the counterfactual without a word).

``migsim run --set`` and ``migsim batch --set / --design / --posterior`` warn, naming the key,
the scenario and the file in its chain that sets it; keys the scenario leaves at their default
pass silently, and a place key is distinct from the national key it refines.
"""

from __future__ import annotations

import warnings

import pytest

from sim.experiments.batch import plan_batch, run_batch
from sim.experiments.scenario import load_scenario


def test_replaced_by_names_the_file_that_sets_the_key():
    scn = load_scenario("settlement_below_5m")
    own, inherited = scn.replaced_by(["hukou_penalty_small", "retirement_delay_growth",
                                      "asc_home"])
    assert "hukou_penalty_small" in own and "settlement_below_5m.toml" in own
    assert "retirement_delay_growth" in inherited and "baseline_2025.toml" in inherited
    assert "'settlement_below_5m'" in inherited


def test_a_place_key_is_not_the_national_key():
    scn = load_scenario("guangdong_min_wage")
    assert scn.replaced_by(["min_wage_ratio"]) == []  # the province's value still wins
    (msg,) = scn.replaced_by(["by_province.Guangdong.min_wage_ratio"], "--design d.csv")
    assert msg.startswith("--design d.csv by_province.Guangdong.min_wage_ratio")


def test_batch_plan_warns_once_per_scenario_and_key(tmp_path):
    plan = plan_batch(["baseline_2035", "settlement_below_5m"], out=tmp_path / "b",
                      sets=["hukou_penalty_small=0.5", "asc_home=0.1,0.2"])
    # baseline_2025 (the base of both) dates the 2015 step; settlement_below_5m its own path
    assert len(plan.warnings) == 2 and "baseline_2025.toml" in plan.warnings[0]
    assert "settlement_below_5m.toml" in plan.warnings[1]
    plan = plan_batch(["baseline"], out=tmp_path / "c", sets=["asc_home=0.1"])
    assert plan.warnings == []


def test_run_batch_reports_through_warn(tmp_path):
    seen: list[str] = []
    with pytest.raises(ValueError):  # refused before anything is reported or run
        run_batch(["settlement_below_5m"], out=tmp_path / "a", agents=1000,
                  sets=["hukou_penalty_small=0.5"], workers=0, warn=seen.append)
    assert seen == []
    summary = run_batch(["settlement_below_5m"], out=tmp_path / "b", agents=1000, years=1,
                        sets=["hukou_penalty_small=0.5"], workers=1, warn=seen.append)
    assert summary.ok and len(seen) == 1 and "hukou_penalty_small" in seen[0]
    with warnings.catch_warnings(record=True) as caught:  # the default: warnings.warn
        warnings.simplefilter("always")
        run_batch(["settlement_below_5m"], out=tmp_path / "b", agents=1000, years=1,
                  sets=["hukou_penalty_small=0.5"], workers=1)  # resumes: nothing to run
    assert any("hukou_penalty_small" in str(w.message) for w in caught)


def test_cli_run_prints_the_warning(capsys):
    from sim.cli.common import _prepare

    _prepare("settlement_below_5m", ["hukou_penalty_small=0.5", "asc_home=0.1"])
    err = capsys.readouterr().err
    assert "warning: --set hukou_penalty_small replaces" in err and "asc_home" not in err
