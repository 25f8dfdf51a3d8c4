"""The ``migsim`` command line (typer CliRunner; one small real run)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app, fmt_value
from sim.engine.registry import schema
from sim.io.output import MANIFEST, PLOT_FILES, SUMMARY, TABLE_FILES, TIMESERIES

runner = CliRunner()
SMALL = ["--agents", "20000", "--years", "2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = runner.invoke(app, ["run", *SMALL, "--out", str(out)])
    return result, out


def test_run_writes_everything(small_run):
    result, out = small_run
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {MANIFEST, TIMESERIES, SUMMARY, *TABLE_FILES,
                                               *PLOT_FILES}
    man = json.loads((out / MANIFEST).read_text())
    assert man["status"] == "complete"
    assert (man["agents"], man["years"], man["start_year"], man["seed"]) == (20000, 2, 1985, 1)
    assert man["scenario"] == "baseline"
    assert man["scenario_file"].endswith("baseline.toml")
    assert man["changed_params"] == {}
    assert set(man["params"]) == set(schema())
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["year"] == 1986 and summary["migrant_stock"] > 0
    # the one-screen summary
    assert "migrant stock" in result.stdout
    assert "share male" in result.stdout and "wall time" in result.stdout
    assert str(out) in result.stdout.replace("\n", "")


def test_run_with_scenario_file_and_overrides(tmp_path):
    scn = tmp_path / "mine.toml"
    scn.write_text('base = "baseline"\nyears = 5\n[params]\nbeta_income = 1.5\n')
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(scn), "--agents", "20000", "--years", "1",
                                 "--start-year", "1990", "--seed", "3", "--out", str(out),
                                 "--set", "hukou_penalty_small=1990:1,2000:0.1",
                                 "--set", "asc_home=2.5", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # quiet
    man = json.loads((out / MANIFEST).read_text())
    assert (man["start_year"], man["years"], man["seed"]) == (1990, 1, 3)  # CLI beats the file
    assert man["scenario"] == "mine"
    assert man["changed_params"] == {"beta_income": 1.5, "asc_home": 2.5,
                                     "hukou_penalty_small": {"1990": 1.0, "2000": 0.1}}


@pytest.mark.parametrize("assignment, expected", [
    ("hukou_penalty_smal=1", "did you mean 'hukou_penalty_small'"),
    ("hukou_penalty_small=99", "[0.0, 20.0]"),
    ("hukou_penalty_small=1990:abc", "hukou_penalty_small"),
    ("beta_income", "key=value"),
])
def test_bad_set_exits_2_without_traceback(tmp_path, assignment, expected):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", *SMALL, "--out", str(out), "--set", assignment])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_unknown_scenario_suggests(tmp_path):
    result = runner.invoke(app, ["run", "baselin", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "did you mean 'baseline'" in result.stderr


def test_refuses_foreign_directory_before_running(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "a.txt").write_text("keep")
    result = runner.invoke(app, ["run", *SMALL, "--out", str(d)])
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.stderr
    assert [p.name for p in d.iterdir()] == ["a.txt"]


def test_params_lists_every_parameter():
    result = runner.invoke(app, ["params"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in schema():
        assert name in result.stdout
    assert "1985:1.25 → 1998:0.7 → 2002:0.4 (step)" in result.stdout  # a path, compactly


def test_params_by_role_and_the_mechanisms_table():
    """``--role`` lists exactly the parameters of that role; a wrong role is refused with the
    allowed ones; ``migsim mechanisms`` prints the registry in step order."""
    from sim.engine.registry import by_role

    result = runner.invoke(app, ["params", "--role", "policy", "--markdown"])
    assert result.exit_code == 0, result.output
    rows = [ln for ln in result.stdout.splitlines() if ln.startswith("| `")]
    assert {r.split("`")[1] for r in rows} == set(by_role("policy"))
    assert all("| policy |" in r for r in rows)
    bad = runner.invoke(app, ["params", "--role", "preference"])
    assert bad.exit_code == 2 and "policy, behaviour, exogenous, structural" in bad.output
    table = runner.invoke(app, ["mechanisms", "--markdown"])
    assert table.exit_code == 0
    names = [ln.split("`")[1] for ln in table.stdout.splitlines() if ln.startswith("| ")
             and "`" in ln]
    from sim import STEP_ORDER

    assert [n for n in names if n in STEP_ORDER] == list(STEP_ORDER)


def test_params_markdown():
    result = runner.invoke(app, ["params", "--markdown"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| name | module | role | unit | default | range | source")
    assert len(lines) == 2 + len(schema())
    assert all(line.startswith("| `") for line in lines[2:])
    for name in schema():
        assert f"`{name}`" in result.stdout


def test_params_filters():
    hukou = [n for n, p in schema().items() if p.module == "hukou"]
    result = runner.invoke(app, ["params", "--module", "hukou", "--markdown"])
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == 2 + len(hukou)
    result = runner.invoke(app, ["params", "--search", "festival", "--markdown"])
    assert "spring_festival_share" in result.stdout
    assert "hukou_penalty_small" not in result.stdout
    result = runner.invoke(app, ["params", "--module", "nosuch"])
    assert result.exit_code == 2 and "hukou" in result.stderr


def test_fmt_value():
    assert fmt_value({"1985": 1.5, "2001": 0.4}) == "1985:1.5 → 2001:0.4"
    assert fmt_value({"1985": 1.5, "2001": 0.4, "mode": "step"}) == "1985:1.5 → 2001:0.4 (step)"
    assert fmt_value(0.25) == "0.25" and fmt_value(65) == "65"


def test_scenarios_lists_baseline():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.stdout
    assert "hukou" in result.stdout  # the description


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"migsim {sim.__version__}"
