"""Faults: a dask worker killed in the middle of a batch. The scheduler gives its run to another
worker, and the batch completes with results byte-identical to an uninterrupted batch."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd

from sim.experiments.batch import load, run_batch
from sim.io.files import RUNS, TIMESERIES

SMALL = {"agents": 3000, "start_year": 1998, "years": 2, "replicates": 6, "seed": 5}


def _ts(out: Path) -> dict[str, bytes]:
    return {d.name: (d / TIMESERIES).read_bytes() for d in sorted((out / RUNS).iterdir())
            if not d.name.startswith(".")}


def test_killed_dask_worker_is_replaced_and_results_identical(tmp_path):
    from distributed import Client, LocalCluster

    ref = run_batch(["baseline"], out=tmp_path / "ref", workers=1, **SMALL)
    assert ref.ok and ref.done == 6
    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, \
            Client(cluster.scheduler_address) as client:
        client.run(lambda: __import__("sim.engine.loop"))  # warm the workers' imports
        pids = client.run(os.getpid)
        result: dict = {}
        th = threading.Thread(target=lambda: result.update(summary=run_batch(
            ["baseline"], out=out, scheduler=cluster.scheduler_address, **SMALL)))
        th.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and th.is_alive() and time.monotonic() < deadline:
            busy = [w for w, tasks in client.processing().items()
                    if any(str(t).startswith("migsim-") for t in tasks)]
            if busy and _ts(out) if (out / RUNS).is_dir() else False:  # warmed up, running
                killed = busy[0]
                os.kill(pids[killed], signal.SIGKILL)
            time.sleep(0.02)
        th.join(240)
        assert not th.is_alive(), "batch did not finish after a worker was killed"
    assert killed is not None, "no worker was busy to be killed"
    summary = result["summary"]
    assert (summary.done, summary.failed) == (6, 0), summary.failures
    assert _ts(out) == _ts(ref.out)
    pd.testing.assert_frame_equal(load(out), load(ref.out))
