"""Run directories: atomic writes, crash safety, deterministic Parquet and the manifest."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.version import CALIBRATED_VERSION
from sim.engine.registry import Params
from sim.io import output
from sim.io.output import (
    CHART_FILES,
    MANIFEST,
    SUMMARY,
    TABLE_FILES,
    TIMESERIES,
    OutputError,
    dumps,
    jsonable,
    write_parquet,
    write_run,
)
from sim.io.provenance import committed_summary, defaults_provenance
from sim.io.results import Recorder, Results


def fake_results(years: int = 3, seed: int = 0) -> Results:
    """Small synthetic results (4 destinations, 2 provinces) filled with random counts."""
    rng = np.random.default_rng(seed)
    rec = Recorder(12 * years, 4)
    # fill every recorded array (whatever the recorder holds) with positive random counts
    for name, value in list(vars(rec).items()):
        arrays = value if isinstance(value, dict) else {name: value}
        for key, arr in arrays.items():
            if isinstance(arr, np.ndarray):
                arrays[key] = rng.integers(1, 100, arr.shape).astype(arr.dtype)
        if not isinstance(value, dict):
            setattr(rec, name, arrays[name])
    rec.profile[:, 0] = rec.stock_dest.sum(1) // 2  # shares below one for the plots
    return Results(rec=rec, start_year=1990, scale=1000.0, dest_name=("a", "b", "c", "d"),
                   dest_prov=np.array([0, 0, 1, 1]), dest_tier=np.array([0, 1, 2, 3]),
                   dest_is_six=np.array([True, False, False, True]), prov_name=("p0", "p1"),
                   prov_region=np.array([0, 2]), initial_stock=100,
                   meta={"agents": 5000, "seed": 7, "start_year": 1990, "years": years,
                         "scale": 1000.0})


@pytest.fixture(scope="module")
def res() -> Results:
    return fake_results()


@pytest.fixture
def params() -> Params:
    return Params({"beta_income": 1.25, "hukou_penalty_small": {"1990": 1.0, "2000": 0.2}})


def test_write_run_contents(tmp_path, res, params):
    out = write_run(res, tmp_path / "run", {"scenario": "test", "scenario_file": "/x/test.toml"},
                    params=params)
    assert out == (tmp_path / "run").absolute()
    names = {p.name for p in out.iterdir()}
    # the fake provinces p0, p1 are not on the map: no maps (tests/test_maps.py)
    assert names == {MANIFEST, TIMESERIES, SUMMARY, *TABLE_FILES, *CHART_FILES}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary left behind
    for png in CHART_FILES:
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    frame = pd.read_parquet(out / TIMESERIES)
    pd.testing.assert_frame_equal(frame, res.to_frame())
    # JSON has no NaN: a mean over nobody (own-account earnings with the margin off) is null
    summary = {k: math.nan if v is None else v
               for k, v in json.loads((out / SUMMARY).read_text()).items()}
    assert summary == pytest.approx(res.summary(), nan_ok=True)


def test_manifest_fields(tmp_path, res, params):
    model = SimpleNamespace(params=params, build_seconds=1.5, run_seconds=2.5, threads=2,
                            timings={"decisions": 1.0})
    out = write_run(res, tmp_path / "run", {"scenario": "test", "scenario_file": "/x/test.toml"},
                    simulation=model)
    text = (out / MANIFEST).read_text()
    man = json.loads(text)
    assert text == dumps(man)  # sorted keys, indent 2
    assert man["status"] == "complete"
    assert man["params"] == json.loads(json.dumps(params.to_json()))
    assert man["changed_params"] == {"beta_income": 1.25,
                                     "hukou_penalty_small": {"1990": 1.0, "2000": 0.2}}
    assert (man["seed"], man["agents"], man["scale"]) == (7, 5000, 1000.0)
    assert (man["start_year"], man["years"]) == (1990, 3)
    assert (man["scenario"], man["scenario_file"]) == ("test", "/x/test.toml")
    assert man["version"] == sim.__version__
    assert set(man["versions"]) >= {"python", "numpy", "numba", "migsim"}
    assert man["versions"]["numpy"] == np.__version__
    commit = man["git_commit"]
    checkout = Path(sim.__file__).resolve().parents[1]
    if (checkout / ".git").exists() and shutil.which("git"):  # a source checkout: its HEAD
        head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert commit == head
    else:  # installed from a wheel, or no git: no commit claimed
        assert commit is None
    assert (man["build_seconds"], man["run_seconds"], man["threads"]) == (1.5, 2.5, 2)
    assert man["wall_seconds"] >= 4.0
    assert set(man["files"]) == {TIMESERIES, SUMMARY, *TABLE_FILES, *CHART_FILES}
    _check_defaults(man["defaults"])


def _check_defaults(block):
    """The manifest says where the defaults come from and, read from the committed summary of
    this version's calibration, how they stand in its posterior (issue 13, item 6)."""
    assert block["version"] == sim.__version__ and block["posterior_point_estimate"] is False
    assert block["calibrated_version"] == CALIBRATED_VERSION
    assert "calibration/search.py" in block["origin"]
    found = committed_summary()
    if found is None:  # a version without its own posterior says so
        assert block["posterior"] is None and "no committed posterior" in block["note"]
        return
    tag, data = found
    stand = data["posterior"]["defaults"]
    post = block["posterior"]
    assert post["file"] == f"calibration/results/{tag}_posterior.csv"
    assert (post["hpd_mass"], post["density_rank"]) == (stand["hpd_mass"], stand["density_rank"])
    assert post["parameters"] == list(data["params"])
    n = len(data["params"])
    assert post["inside_90"] == f"{sum(stand['inside_90'].values())} of {n}"
    assert post["nonimplausible_waves"].endswith(f"of {len(data['waves'])}")
    # the fixture's beta_income is one of the posterior's parameters: the run is not the defaults
    assert block["changed_posterior_parameters"] == ["beta_income"]


def test_the_calibrated_version_has_its_committed_summary():
    """CALIBRATED_VERSION names a calibration the repository holds (and ships as package data),
    with the defaults placed in its posterior: a manifest never silently lacks them."""
    found = committed_summary()
    assert found is not None, f"calibration/results/hm_{CALIBRATED_VERSION}.json is missing"
    assert found[1]["version"] == CALIBRATED_VERSION
    assert defaults_provenance()["posterior"] is not None


def test_defaults_provenance_without_a_posterior():
    block = defaults_provenance(["beta_income"], calibrated="0.0.1")
    assert block["posterior"] is None and "0.0.1" in block["note"]
    assert "changed_posterior_parameters" not in block


def test_parquet_byte_identical(tmp_path, res):
    write_parquet(res.to_frame(), tmp_path / "a.parquet")
    write_parquet(fake_results().to_frame(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    a = write_run(res, tmp_path / "r1")
    b = write_run(fake_results(), tmp_path / "r2")
    assert (a / TIMESERIES).read_bytes() == (b / TIMESERIES).read_bytes()
    # and different results give different bytes
    write_parquet(fake_results(seed=1).to_frame(), tmp_path / "c.parquet")
    assert (tmp_path / "a.parquet").read_bytes() != (tmp_path / "c.parquet").read_bytes()


def test_replaces_existing_run_dir(tmp_path, res):
    out = write_run(res, tmp_path / "run", {"scenario": "first"})
    (out / "stale.txt").write_text("old")
    write_run(res, out, {"scenario": "second"})
    assert json.loads((out / MANIFEST).read_text())["scenario"] == "second"
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_empty_existing_dir_is_used(tmp_path, res):
    (tmp_path / "run").mkdir()
    out = write_run(res, tmp_path / "run")
    assert (out / MANIFEST).is_file()


def test_refuses_non_run_directory(tmp_path, res):
    d = tmp_path / "mydata"
    d.mkdir()
    (d / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError) as exc:
        write_run(res, d)
    assert str(d) in str(exc.value) and MANIFEST in str(exc.value)
    assert [p.name for p in d.iterdir()] == ["thesis.tex"]
    assert [p.name for p in tmp_path.iterdir()] == ["mydata"]


def test_refuses_file(tmp_path, res):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        write_run(res, f)


def _boom(*args, **kwargs):
    raise RuntimeError("plot failed")


@pytest.mark.parametrize("victim", ["plot_tiers", "plot_profile", "build_manifest"])
def test_crash_leaves_nothing_complete(tmp_path, res, monkeypatch, victim):
    monkeypatch.setattr(output, victim, _boom)
    with pytest.raises(RuntimeError, match="plot failed"):
        write_run(res, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []  # temporary directory removed too


def test_crash_keeps_previous_run(tmp_path, res, monkeypatch):
    out = write_run(res, tmp_path / "run", {"scenario": "good"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(output, "plot_stock", _boom)
    with pytest.raises(RuntimeError):
        write_run(fake_results(seed=5), out, {"scenario": "bad"})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_stale_temporary_does_not_look_complete(tmp_path, res, monkeypatch):
    """Even if clean-up fails, the temporary is hidden, pid-tagged and has no manifest."""
    monkeypatch.setattr(output, "plot_flows", _boom)
    monkeypatch.setattr(output.shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(RuntimeError):
        write_run(res, tmp_path / "run")
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".run.tmp-")
    assert not (left[0] / MANIFEST).exists()
    assert not output.is_run_dir(left[0])


def test_jsonable_is_float_safe():
    obj = {"a": math.nan, "b": np.float32(1.5), "c": np.int64(3), "d": Path("/x"),
           "e": (math.inf, 1), 5: np.array([1.0, -math.inf]), "f": np.bool_(True)}
    assert jsonable(obj) == {"a": None, "b": 1.5, "c": 3, "d": "/x", "e": [None, 1],
                             "5": [1.0, None], "f": True}
    text = dumps(obj)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["b"] == 1.5
