"""A non-editable install works on its own: the scenarios and the calibration targets ship inside
the package (``sim.scenarios``, ``sim.calibration``), every module is in it, and ``migsim run``
from another directory writes a complete run directory.

The project is installed with ``pip install --no-deps --no-build-isolation --target`` (offline:
the build backend, setuptools, comes from this environment) from a copy of the source files, so
the repository gets no build directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.io.files import MANIFEST, SUMMARY, TIMESERIES
from sim.io.provenance import committed_summary

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "sim", "scenarios", "calibration")


def _has_build_backend() -> bool:
    try:
        from importlib.metadata import version

        return int(version("setuptools").split(".")[0]) >= 77
    except Exception:  # noqa: BLE001 - not installed, or an unreadable version
        return False


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project installed (not editable) into a fresh directory."""
    if not _has_build_backend():
        pytest.skip("needs setuptools>=77 in this environment (the test extra)")
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    for name in SOURCES:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                           "--no-build-isolation", "--no-compile", "--no-input", "--quiet",
                           "--target", str(target), str(src)],
                          capture_output=True, text=True, timeout=300, cwd=src)
    assert done.returncode == 0, done.stdout + done.stderr
    _reuse_kernel_cache(target / "sim")
    return target


def _reuse_kernel_cache(pkg: Path) -> None:
    """Copy the repository's numba cache (``__pycache__/*.nbi``, ``*.nbc``) beside the installed
    modules and give each installed module its source's modification time, which numba's index
    checks: the installed run then loads the kernels compiled earlier in the session instead of
    compiling every one again (a minute and a half). The copied kernels are stamped as
    compiled from the installed sources (:mod:`sim.core.jitcache`), which they were: the
    package's modules are the repository's files (the installed package also holds the
    calibration scripts and scenarios as data, so its hash differs, and without the stamp
    ``import sim`` would delete the copies). A kernel not compiled yet, or a stale entry, is
    compiled as on any first run."""
    from sim.core.jitcache import STAMP, sources_digest

    (pkg / "__pycache__").mkdir(exist_ok=True)
    (pkg / "__pycache__" / STAMP).write_text(sources_digest(pkg) + "\n")
    for src in (REPO / "sim").rglob("*.py"):
        if "__pycache__" in src.parts:
            continue
        dst = pkg / src.relative_to(REPO / "sim")
        cache = src.parent / "__pycache__"
        if not dst.is_file() or not cache.is_dir():
            continue
        stem = src.stem
        kernels = [f for ext in ("nbi", "nbc") for f in cache.glob(f"{stem}.*.{ext}")]
        if kernels:
            (dst.parent / "__pycache__").mkdir(exist_ok=True)
            for f in kernels:
                shutil.copy2(f, dst.parent / "__pycache__" / f.name)
            st = src.stat()
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _env(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MIGSIM_SCENARIOS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(target)
    return env


def test_install_holds_every_module_and_the_data(installed):
    pkg = installed / "sim"
    modules = {p.relative_to(REPO / "sim") for p in (REPO / "sim").rglob("*.py")
               if "__pycache__" not in p.parts}
    missing = sorted(str(m) for m in modules if not (pkg / m).is_file())
    assert not missing, f"not installed (see setup.py): {missing}"
    scenarios = {p.name for p in (REPO / "scenarios").glob("*.toml")}
    assert scenarios and scenarios == {p.name for p in (pkg / "scenarios").glob("*.toml")}
    assert (pkg / "calibration" / "targets.toml").read_bytes() == (
        REPO / "calibration" / "targets.toml").read_bytes()


def test_installed_copy_finds_its_data(installed, tmp_path):
    code = ("import json, sim\n"
            "from sim.experiments.scenario import default_dir, list_scenarios\n"
            "from sim.experiments.targets import DEFAULT_FILE, load_targets\n"
            "from sim.io.output import git_commit\n"
            "print(json.dumps({'sim': sim.__file__, 'scenarios': str(default_dir()),\n"
            "    'names': list_scenarios(), 'targets': str(DEFAULT_FILE),\n"
            "    'n_targets': len(load_targets()), 'commit': git_commit()}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(installed), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    pkg = installed.resolve() / "sim"
    assert Path(info["sim"]).resolve() == pkg / "__init__.py"  # not the repository's copy
    assert Path(info["scenarios"]).resolve() == pkg / "scenarios"
    assert "baseline" in info["names"]
    assert Path(info["targets"]).resolve() == pkg / "calibration" / "targets.toml"
    assert info["n_targets"] > 0
    assert info["commit"] is None  # no source checkout next to an installed package


def test_installed_migsim_run_writes_a_complete_run(installed, tmp_path):
    out = tmp_path / "out"
    migsim = installed / "bin" / "migsim"
    cmd = ([str(migsim)] if migsim.is_file()
           else [sys.executable, "-c", "from sim.cli import app; app()"])
    done = subprocess.run([*cmd, "run", "baseline", "--agents", "5000", "--years", "1",
                           "--out", str(out)], capture_output=True, text=True,
                          env=_env(installed), cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    man = json.loads((out / MANIFEST).read_text())
    assert man["status"] == "complete"
    # the calibration summaries ship with the package: the manifest places the defaults
    assert (man["defaults"]["posterior"] is not None) == (committed_summary() is not None)
    assert Path(man["scenario_file"]).resolve() == (installed / "sim" / "scenarios"
                                                    / "baseline.toml").resolve()
    for name in man["files"]:
        assert (out / name).is_file(), name
    assert {TIMESERIES, SUMMARY} <= set(man["files"])
