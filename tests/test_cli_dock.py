"""``migsim dock``: the docking of ``tests/test_docking.py`` from the command line, at a tiny
size (1,000 persons, one year, three seeds a model): the table, the verdict line, the CSV of
both stages, and clear refusals that write nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.mesa import docking as dk

runner = CliRunner()
TINY = ["dock", "--agents", "1000", "--years", "1", "--seeds", "3"]


def test_dock_prints_the_verdict_and_writes_both_stages(tmp_path):
    out = tmp_path / "dock.csv"
    result = runner.invoke(app, [*TINY, "--set", "couple_apart_cost=1.0", "--out", str(out),
                                 "--strict"])
    docked = "docked: yes" in result.stdout
    assert docked or "docked: no" in result.stdout, result.output
    assert result.exit_code == (0 if docked else 1), result.output
    assert "couple_apart_cost=1.0" in result.stderr  # the set-up is echoed
    t = pd.read_csv(out)
    first = t[t.stage == "first"]
    assert len(first) == first.checkpoint.nunique() > 20
    assert set(first.checkpoint) >= {"stock@m1", "stock@m12", "outflow@y1"}
    assert (first.alpha == dk.FAMILY_ALPHA / len(first)).all()
    confirm = t[t.stage == "confirm"]
    assert set(confirm.checkpoint) == set(first.checkpoint[first.flagged])
    assert t[["p_welch", "p_mann_whitney"]].stack().between(0, 1).all()
    assert not list(tmp_path.glob(".*"))  # no temporary left beside it


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "couple_apart_cots=1"], "unknown parameter 'couple_apart_cots'"),
    (["--set", "couple_apart_cost=9"], "outside its range"),
    (["--set", "ht_mode=true"], "does not implement ht_mode"),
    (["--seeds", "2"], "--seeds 2 is outside the allowed range"),
    (["--agents", "500"], "--agents 500 is outside the allowed range"),
    (["--fresh-from", "2"], "--fresh-from 2 must be above"),
    (["--start-year", "1950"], "--start-year 1950 is outside"),
])
def test_dock_refuses_bad_input_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "dock.csv"
    result = runner.invoke(app, [*TINY, *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "error:" in result.stderr
    assert not out.exists()


def test_dock_refuses_an_output_that_is_not_csv(tmp_path):
    result = runner.invoke(app, [*TINY, "--out", str(tmp_path / "dock.parquet")])
    assert result.exit_code == 2 and "expected a .csv file" in result.stderr
