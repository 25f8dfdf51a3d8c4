"""Test-wide settings: Hypothesis draws the same examples on every run (a CI run is
reproducible); ``HYPOTHESIS_PROFILE=explore`` draws new ones, more of them, to hunt for bugs.
One small calibration serves every test that reads one (``small_calibration``)."""

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def _small_calibration_once(tmp_path_factory) -> Path:
    """``migsim calibrate --budget small`` run once per session (about 30 s)."""
    pytest.importorskip("sklearn")
    from typer.testing import CliRunner

    from sim.cli import app

    out = tmp_path_factory.mktemp("cal_once") / "small"
    res = CliRunner().invoke(app, ["calibrate", "--budget", "small", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def small_calibration(_small_calibration_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of the session's small calibration, for a test to read or resume."""
    out = tmp_path / "small"
    shutil.copytree(_small_calibration_once, out)
    return out
