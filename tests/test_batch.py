"""Batches (``sim.experiments.batch``,
``migsim batch``): layout, common random numbers, resuming after
kills, dask, failures, sweeps and designs, argument errors. Small runs: 5,000 agents, 1998-1999.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.experiments import batch
from sim.experiments.batch import COLUMNS, BatchError, load, plan_batch, run_batch
from sim.io.output import MANIFEST, SUMMARY, TABLE_FILES, TIMESERIES, dumps, write_parquet

runner = CliRunner()
SMALL = {"agents": 5000, "start_year": 1998, "years": 2, "replicates": 2, "seed": 11}
SMALL_ARGS = ["--agents", "5000", "--start-year", "1998", "--years", "2", "--replicates", "2",
              "--seed", "11"]
MIGSIM = str(Path(sys.executable).with_name("migsim"))


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    """Baseline, with the small-town hukou penalty lowered from 1999 (same value in 1998)."""
    x1998 = sim.Params().at(1998).hukou_penalty_small
    path = tmp_path_factory.mktemp("scn") / "small_open.toml"
    path.write_text('name = "small_open"\nbase = "baseline"\n[params]\n'
                    f'hukou_penalty_small = {{ mode = "step", "1985" = {x1998!r}, '
                    '"1999" = 0.05 }\n')
    return path


@pytest.fixture(scope="module")
def ref(tmp_path_factory, scenario_file):
    """The reference batch: 2 scenarios x 2 replicates, two local worker processes."""
    out = tmp_path_factory.mktemp("ref") / "batch"
    t0 = time.perf_counter()
    summary = run_batch(["baseline", str(scenario_file)], out=out, workers=2, **SMALL)
    print(f"reference batch: {time.perf_counter() - t0:.1f} s")
    return summary


def _ids() -> list[str]:
    return [f"{s}__p000__r{r:03d}" for s in ("baseline", "small_open") for r in range(2)]


def _ts_bytes(out: Path) -> dict[str, bytes]:
    return {d.name: (d / TIMESERIES).read_bytes() for d in sorted((out / "runs").iterdir())}


def _entries(out: Path) -> set[str]:
    return {p.name for p in (out / "runs").iterdir()}


# ------------------------------------------------------------------ layout, load, CRN
def test_small_batch_layout(ref):
    out = ref.out
    assert (ref.total, ref.done, ref.skipped, ref.failed) == (4, 4, 0, 0)
    # .lock: the empty file of the OS lock (filelock), free once the batch has ended
    assert {p.name for p in out.iterdir()} == {"batch.json", "runs", "combined.parquet", ".lock"}
    assert _entries(out) == set(_ids())
    info = json.loads((out / "batch.json").read_text())
    assert [s["name"] for s in info["scenarios"]] == ["baseline", "small_open"]
    assert info["scenarios"][1]["file"].endswith("small_open.toml")
    assert (info["replicates"], info["seed"], info["agents"], info["years"],
            info["start_year"]) == (2, 11, 5000, 2, 1998)
    assert info["points"] == [{"point_id": 0, "overrides": {}}]
    assert info["version"] == sim.__version__ and "git_commit" in info
    for rid in _ids():
        d = out / "runs" / rid
        assert {p.name for p in d.iterdir()} == {MANIFEST, TIMESERIES, SUMMARY,
                                                 *TABLE_FILES}  # no plots
        man = json.loads((d / MANIFEST).read_text())
        rep = int(rid[-3:])
        assert man["status"] == "complete"
        assert (man["scenario"], man["point_id"], man["replicate"], man["seed"]) == (
            rid.split("__")[0], 0, rep, 11 + rep)  # same seed for replicate r in every scenario
        assert man["overrides"] == {}


def test_load_tidy_table(ref):
    df = load(ref.out)
    assert tuple(df.columns) == COLUMNS
    assert list(df["scenario"].cat.categories) == ["baseline", "small_open"]
    runs = df.groupby(["scenario", "point", "replicate"], observed=True)["seed"].agg(
        ["min", "max"])
    assert len(runs) == 4
    assert (runs["min"] == runs["max"]).all()
    seeds = runs["min"].unstack("scenario")
    assert (seeds["baseline"] == seeds["small_open"]).all()
    assert list(seeds["baseline"]) == [11, 12]
    assert set(df["year"]) == {1998, 1999}
    # the combined table and the run directories give the same frame
    assert batch.combined_is_current(ref.out)
    copy = ref.out.parent / "copy"
    shutil.copytree(ref.out, copy)
    (copy / "combined.parquet").unlink()
    pd.testing.assert_frame_equal(load(copy), df)
    shutil.rmtree(copy / "runs" / "small_open__p000__r001")  # a run gone: combined not current
    shutil.copy(ref.out / "combined.parquet", copy / "combined.parquet")
    assert not batch.combined_is_current(copy)
    rest = df[~((df["scenario"] == "small_open") & (df["replicate"] == 1))]
    pd.testing.assert_frame_equal(load(copy), rest.reset_index(drop=True))
    # indicators filter
    stock = load(ref.out, indicators=["migrant_stock"])
    assert set(stock["indicator"]) == {"migrant_stock"} and len(stock) > 0


def test_runs_equal_direct_simulation_crn(ref, scenario_file, tmp_path):
    """A run is exactly sim.Simulation(...) with the same inputs; CRN: in 1998, before the
    policy differs, both scenarios of a replicate are identical."""
    from sim.experiments.scenario import load_scenario

    for name, rep in (("small_open", 0), ("baseline", 1)):
        scn = load_scenario(str(scenario_file) if name == "small_open" else name)
        res = sim.Simulation(scn.to_params(), agents=5000, seed=11 + rep, start_year=1998,
                             years=2).run()
        write_parquet(res.to_frame(), tmp_path / f"{name}.parquet")
        got = (ref.out / "runs" / f"{name}__p000__r{rep:03d}" / TIMESERIES).read_bytes()
        assert got == (tmp_path / f"{name}.parquet").read_bytes()
    df = load(ref.out, indicators=["migrant_stock"])
    tot = df[df["group"] == "total"].pivot_table(index=["replicate", "year", "month"],
                                                 columns="scenario", values="value",
                                                 observed=True)
    y98 = tot.xs(1998, level="year")
    assert (y98["baseline"] == y98["small_open"]).all()
    assert (tot.xs(1999, level="year")["baseline"] != tot.xs(1999, level="year")["small_open"]
            ).any()


def test_resume_refuses_a_different_batch(ref, scenario_file):
    before = {p: p.stat().st_mtime_ns for p in ref.out.rglob("*")}
    with pytest.raises(BatchError, match="replicates: 2 in batch.json, 3 now"):
        run_batch(["baseline", str(scenario_file)], out=ref.out, workers=1,
                  **{**SMALL, "replicates": 3})
    result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--out", str(ref.out),
                                 "--set", "asc_home=2.5"])
    assert result.exit_code == 2
    assert "different batch" in result.stderr and "scenarios:" in result.stderr
    assert "sets:" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in ref.out.rglob("*")} == before
    # the same batch again: nothing to do
    again = run_batch(["baseline", str(scenario_file)], out=ref.out, workers=2, **SMALL)
    assert (again.done, again.skipped, again.failed) == (0, 4, 0)


# ------------------------------------------------------------------ resuming after kills
def _complete(out: Path) -> int:
    return len(list((out / "runs").glob(f"*/{MANIFEST}"))) if (out / "runs").is_dir() else 0


def _live_members(pgid: int) -> list[int]:
    """Processes of a process group that are alive (not zombies), from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def test_resume_after_kills_is_byte_identical(ref, scenario_file, tmp_path):
    """Kill the batch process after its first run, resume (with another worker count: it is not
    part of the batch), kill again after a later run, resume to the end: every time series is
    byte-identical to the uninterrupted batch, and nothing half-written remains."""
    out = tmp_path / "resumed"

    def cmd(workers: int) -> list[str]:
        return [MIGSIM, "batch", "baseline", str(scenario_file), *SMALL_ARGS, "--workers",
                str(workers), "--out", str(out), "--quiet"]

    rng = random.Random(20240611)
    killed: list[tuple[int, int]] = []  # (exit code, complete runs) after each kill
    for workers in (1, 2):  # one worker first: runs finish one at a time, so the kill leaves work
        target = _complete(out) + 1  # the first run; then a later one
        proc = subprocess.Popen(cmd(workers), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 240
            while _complete(out) < target and proc.poll() is None:
                assert time.monotonic() < deadline, "batch made no progress"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)  # the batch process only: workers must follow
            proc.wait(30)
            deadline = time.monotonic() + 20
            while _live_members(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _live_members(proc.pid), "worker processes outlived the killed batch"
        finally:
            if _live_members(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
        killed.append((proc.returncode, _complete(out)))
        # whatever is visible is complete; anything else is hidden and temporary
        for p in (out / "runs").iterdir():
            assert p.name.startswith(".") or batch.is_complete(p), p
    print(f"after the kills (exit code, runs complete): {killed}")
    assert killed[0][0] == -signal.SIGKILL  # killed while running
    assert any(n < 4 for _, n in killed)  # and left work to resume
    # a run killed mid-write leaves a hidden temporary directory: cleaned on resume
    stale = out / "runs" / ".small_open__p000__r001.tmp-999999"
    stale.mkdir(exist_ok=True)
    (stale / TIMESERIES).write_bytes(b"half")
    final = subprocess.run(cmd(2), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert _entries(out) == set(_ids())  # no duplicates, no temporaries
    assert _ts_bytes(out) == _ts_bytes(ref.out)
    info = json.loads((out / "batch.json").read_text())
    assert batch.batch_differences(info, json.loads((ref.out / "batch.json").read_text())) == []
    assert _lock_is_free(out)  # the kernel released the killed batches' locks
    pd.testing.assert_frame_equal(load(out), load(ref.out))


def _lock_is_free(out: Path) -> bool:
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(out / ".lock"), timeout=0):
            return True
    except Timeout:
        return False


def test_second_batch_on_the_same_directory_is_refused(tmp_path):
    """While one process holds the batch directory, another batch there is refused with a clear
    message; the lock goes with the process that held it, even when it is killed."""
    out = tmp_path / "b"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom filelock import FileLock\n"
         f"lock = FileLock({str(out / '.lock')!r})\nlock.acquire()\nprint('held', flush=True)\n"
         "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BatchError, match="another migsim batch is writing to"):
            run_batch(["baseline"], out=out, workers=1, **{**SMALL, "replicates": 1})
        result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--workers", "1",
                                     "--out", str(out)])
        assert result.exit_code == 2 and "another migsim batch" in result.stderr
        assert not (out / "runs").exists()  # nothing was written under someone else's lock
    finally:
        holder.kill()
        holder.wait(30)
    assert _lock_is_free(out)  # released by the kernel when the holder died


# ------------------------------------------------------------------ dask
def test_dask_cluster_matches_local(ref, scenario_file, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        result = runner.invoke(app, ["batch", "baseline", str(scenario_file), *SMALL_ARGS,
                                     "--scheduler", cluster.scheduler_address, "--out",
                                     str(out)])
    assert result.exit_code == 0, result.output
    assert "4 done" in result.stdout
    assert _ts_bytes(out) == _ts_bytes(ref.out)


# ------------------------------------------------------------------ failures
def test_failure_in_worker_is_recorded(tmp_path):
    out = tmp_path / "b"
    blocked = out / "runs" / "baseline__p000__r001"
    # a batch directory exists already (batch.json), and one run's directory holds user data
    plan = plan_batch(["baseline"], out=out, **SMALL)
    out.mkdir()
    (out / "batch.json").write_text(dumps(plan.describe()))
    blocked.mkdir(parents=True)
    (blocked / "notes.txt").write_text("not a run")
    result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--workers", "2", "--out",
                                 str(out)])
    assert result.exit_code == 1
    assert "failed: baseline__p000__r001" in result.stderr
    assert "1 done, 0 already complete, 1 failed" in result.stdout
    rec = json.loads((out / "failed" / "baseline__p000__r001.json").read_text())
    assert (rec["scenario"], rec["replicate"], rec["point"], rec["seed"]) == ("baseline", 1, 0,
                                                                             12)
    assert rec["error_type"] == "OutputError" and "refusing to overwrite" in rec["error"]
    assert "Traceback" in rec["traceback"]
    assert batch.is_complete(out / "runs" / "baseline__p000__r000")
    assert (blocked / "notes.txt").read_text() == "not a run"  # user data untouched
    assert len(batch.failures(out)) == 1
    assert set(load(out)["replicate"]) == {0}


def test_failure_in_process_then_resume(tmp_path, monkeypatch):
    out = tmp_path / "b"
    real_run = sim.Simulation.run

    def flaky(self, *a, **k):
        if self.seed == 12:
            raise FloatingPointError("diverged in month 3")
        return real_run(self, *a, **k)

    monkeypatch.setattr(sim.Simulation, "run", flaky)
    result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--workers", "1", "--out",
                                 str(out), "--quiet"])
    assert result.exit_code == 1
    assert "FloatingPointError: diverged in month 3" in result.stderr
    rec = json.loads((out / "failed" / "baseline__p000__r001.json").read_text())
    assert (rec["scenario"], rec["replicate"], rec["error_type"]) == ("baseline", 1,
                                                                      "FloatingPointError")
    assert "flaky" in rec["traceback"]
    assert (out / "combined.parquet").is_file() and set(load(out)["replicate"]) == {0}
    # fixed: resuming redoes only the failed run and clears its record
    monkeypatch.setattr(sim.Simulation, "run", real_run)
    summary = run_batch(["baseline"], out=out, workers=1, **SMALL)
    assert (summary.done, summary.skipped, summary.failed) == (1, 1, 0)
    assert not any((out / "failed").iterdir())
    assert set(load(out)["replicate"]) == {0, 1}


# ------------------------------------------------------------------ sweeps and designs
def test_set_sweep_gives_grid_points(tmp_path):
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--workers", "2", "--out",
                                 str(out), "--set", "hukou_penalty_small=0.2,1.5",
                                 "--set", "hukou_penalty_medium=1990:2,2000:1"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "batch.json").read_text())
    assert info["points"] == [{"point_id": 0, "overrides": {"hukou_penalty_small": 0.2}},
                              {"point_id": 1, "overrides": {"hukou_penalty_small": 1.5}}]
    assert info["sets"] == {"hukou_penalty_medium": {"1990": 2.0, "2000": 1.0}}  # a path
    assert _entries(out) == {f"baseline__p{p:03d}__r{r:03d}" for p in range(2) for r in range(2)}
    for p, v in ((0, 0.2), (1, 1.5)):
        man = json.loads((out / "runs" / f"baseline__p{p:03d}__r001" / MANIFEST).read_text())
        assert man["overrides"] == {"hukou_penalty_small": v} and man["seed"] == 12
        assert man["params"]["hukou_penalty_small"] == v
        assert man["params"]["hukou_penalty_medium"] == {"1990": 2.0, "2000": 1.0}
    df = load(out, indicators=["migrant_stock"])
    assert sorted(df["point"].unique()) == [0, 1]
    last = df[(df["group"] == "total") & (df["year"] == 1999) & (df["month"] == 12)]
    assert last.groupby("point")["value"].nunique().eq(2).all()  # replicates differ


def test_design_csv_runs_each_row(tmp_path):
    design = tmp_path / "design.csv"
    design.write_text("hukou_penalty_small,asc_home\n0.3,\n0.6,2.5\n")
    out = tmp_path / "csv"
    result = runner.invoke(app, ["batch", "baseline", "--agents", "5000", "--start-year",
                                 "1998", "--years", "2", "--workers", "1", "--out", str(out),
                                 "--design", str(design), "--quiet"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "batch.json").read_text())
    assert [p["overrides"] for p in info["points"]] == [
        {"hukou_penalty_small": 0.3}, {"hukou_penalty_small": 0.6, "asc_home": 2.5}]
    assert info["design"]["kind"] == "csv" and info["design"]["n_points"] == 2
    assert _entries(out) == {"baseline__p000__r000", "baseline__p001__r000"}


def test_design_lhs_and_grid_points_within_bounds(tmp_path):
    lhs = tmp_path / "lhs.toml"
    lhs.write_text('kind = "lhs"\nn = 12\nseed = 5\n'
                   "[params.hukou_penalty_small]\nlow = 0.2\nhigh = 1.2\n"
                   "[params.asc_home]\nlow = 1.0\nhigh = 3.0\n")
    plan = plan_batch(["baseline"], out=tmp_path / "x", replicates=3, design=lhs)
    assert len(plan.points) == 12 and len(plan.specs()) == 36
    xs = [p["overrides"]["hukou_penalty_small"] for p in plan.points]
    assert all(0.2 <= x <= 1.2 for x in xs)
    assert all(1.0 <= p["overrides"]["asc_home"] <= 3.0 for p in plan.points)
    # Latin hypercube: one point in each of the 12 strata of each parameter
    assert sorted(int((x - 0.2) / 1.0 * 12) for x in xs) == list(range(12))
    again = plan_batch(["baseline"], out=tmp_path / "x", design=lhs)  # seeded: same points
    assert again.points == plan.points
    assert plan.design["seed"] == 5 and plan.design["kind"] == "lhs"
    grid = tmp_path / "grid.toml"
    grid.write_text('kind = "grid"\nn = 3\n[params.hukou_penalty_small]\nlow = 0.2\nhigh = 1.0\n'
                    "[params.asc_home]\nvalues = [1.5, 2.5]\n")
    gp = plan_batch(["baseline"], out=tmp_path / "y", design=grid,
                    sets=["beta_income=1.0,1.2"])
    assert len(gp.points) == 3 * 2 * 2
    assert {p["overrides"]["hukou_penalty_small"] for p in gp.points} == {0.2, 0.6, 1.0}
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()  # plans write nothing


@pytest.mark.parametrize("name, text, expected", [
    ("bad.csv", "hukou_penalty_smal\n0.5\n", "did you mean 'hukou_penalty_small'"),
    ("bad.csv", "hukou_penalty_small\n0.5\n99\n", "row 3"),
    ("bad.toml", 'kind = "lhs"\nn = 4\n[params.hukou_penalty_small]\nlow = 0.1\nhigh = 99\n',
     "outside its range"),
    ("bad.toml", 'kind = "lhs"\nn = 4\n[params.nope_param]\nlow = 0.1\nhigh = 1\n',
     "unknown parameter 'nope_param'"),
    ("bad.toml", 'kind = "sobol"\nn = 4\n', "'kind' must be"),
])
def test_invalid_design_refused_before_running(tmp_path, name, text, expected):
    design = tmp_path / name
    design.write_text(text)
    out = tmp_path / "never"
    result = runner.invoke(app, ["batch", "baseline", *SMALL_ARGS, "--out", str(out),
                                 "--design", str(design)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "error:" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


# ------------------------------------------------------------------ CLI argument errors
@pytest.mark.parametrize("args, expected", [
    (["baselin"], "did you mean 'baseline'"),
    (["baseline", "--set", "hukou_penalty_smal=1"], "did you mean 'hukou_penalty_small'"),
    (["baseline", "--set", "hukou_penalty_small=0.5,99"], "[0.0, 20.0]"),
    (["baseline", "--set", "hukou_penalty_small=0.5,,1"], "empty value"),
    (["baseline", "--set", "beta_income"], "key=value"),
    (["baseline", "--set", "beta_income=1", "--set", "beta_income=2"], "more than once"),
    (["baseline", "baseline"], "two scenarios are named 'baseline'"),
])
def test_cli_argument_errors_exit_2(tmp_path, args, expected):
    out = tmp_path / "never"
    result = runner.invoke(app, ["batch", *args, "--agents", "5000", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "error:" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_refuses_a_non_batch_directory(tmp_path):
    (tmp_path / "data.csv").write_text("x\n")
    result = runner.invoke(app, ["batch", "baseline", "--agents", "5000", "--out",
                                 str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no batch.json" in result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"data.csv"}
