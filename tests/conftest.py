"""Test-wide settings: Hypothesis draws the same examples on every run (a CI run is
reproducible); ``HYPOTHESIS_PROFILE=explore`` draws new ones, more of them, to hunt for bugs.
One small calibration serves every test that reads one (``small_calibration``).

The suite runs on every core with pytest-xdist (``-n auto`` in ``pyproject.toml``; ``-n 0`` runs
it in one process). Each worker computes on one numba thread and one BLAS thread, so that two
workers on two cores do not fight over four threads (numba's OpenMP threads spin while they
wait); tests of thread counts ask for their counts explicitly or run child processes. The tests
of a module that share a module-scoped fixture (a simulation run once for them) go to one worker,
so the fixture is computed once."""

import os
import shutil
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # before numpy is first imported
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import numba

        numba.set_num_threads(1)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller compiles the model's kernels (a one-year run of
    2,000 persons: about 2 minutes on a fresh clone, 2 seconds once numba's cache is written)
    before the workers start, so that they load them from the cache instead of each compiling
    them at once (``-n 0`` compiles in the one process, as it goes)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not session.config.pluginmanager.hasplugin(
            "dsession"):
        return
    try:
        from sim import Simulation

        Simulation(agents=2000, years=1, threads=1).run()
    except Exception:  # noqa: BLE001 - the tests themselves report a model that fails
        pass


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist's ``--dist loadgroup``: a test that uses a module-scoped fixture runs
    on the worker that runs its module's other such tests (group = the module)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        if any(fd.scope == "module" for defs in info.name2fixturedefs.values() for fd in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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
