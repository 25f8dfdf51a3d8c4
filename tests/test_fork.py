"""Forked batches (``sim/experiments/fork.py``): scenarios that share their parameters up to a
year run that history once per replicate and resume from its saved state; the time series are
byte for byte those of the batch without forking.

Runs are small (3,000 persons, 1998-2003, two replicates); the policy scenario differs from the
baseline from 2001.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.experiments.batch import plan_batch, run_batch
from sim.experiments.fork import STATES, fork_year, trunk_specs

ARGS = {"agents": 3000, "start_year": 1998, "years": 6, "replicates": 2, "workers": 1}

POLICY = """name = "open_2001"
description = "Small-city hukou opened from 2001 (a test scenario)."
base = "baseline"

[params]
hukou_penalty_small = { mode = "step", "1985" = 1.25, "1998" = 0.7, "2001" = 0.0 }
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scn") / "open_2001.toml"
    p.write_text(POLICY)
    return p


def _series(out: Path) -> dict[str, bytes]:
    return {d.name: pq.read_table(d / "timeseries.parquet").to_pandas().to_csv().encode()
            for d in sorted((out / "runs").iterdir())}


def test_fork_year_is_the_last_shared_december(policy, tmp_path):
    plan = plan_batch(["baseline", str(policy)], out=tmp_path / "b", **{
        k: v for k, v in ARGS.items() if k != "workers"})
    assert fork_year(plan, plan.points[0]) == 2000
    late = tmp_path / "open_2003.toml"
    late.write_text(POLICY.replace('"2001" = 0.0', '"2002" = 0.4, "2003" = 0.0')
                    .replace('"open_2001"', '"open_2003"'))  # the baseline's path to 2002
    plan2 = plan_batch(["baseline", str(late)], out=tmp_path / "c", **{
        k: v for k, v in ARGS.items() if k != "workers"})
    assert fork_year(plan2, plan2.points[0]) == 2002  # the last year is never a trunk's
    trunks, specs = trunk_specs(plan, plan.specs())
    assert len(trunks) == 2 and all(t.save_year == 2000 for t in trunks)
    assert all(s.state.endswith("__2000.npz") for s in specs)


def test_forked_batch_equals_the_batch_without_forking(policy, tmp_path):
    plain = run_batch(["baseline", str(policy)], out=tmp_path / "plain", **ARGS)
    forked = run_batch(["baseline", str(policy)], out=tmp_path / "forked", fork=True, **ARGS)
    assert plain.ok and forked.ok and forked.done == 4
    a, b = _series(tmp_path / "plain"), _series(tmp_path / "forked")
    assert a.keys() == b.keys() and len(a) == 4
    for k in a:
        assert a[k] == b[k], k
    assert not (tmp_path / "forked" / STATES).exists()  # the trunks' states are removed
    again = run_batch(["baseline", str(policy)], out=tmp_path / "forked", fork=True, **ARGS)
    assert again.skipped == 4 and again.done == 0
