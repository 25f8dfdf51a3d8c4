"""Reproducibility: same seed, same bytes; any thread count, same bytes; common random numbers.

Every draw is a pure function of (seed, stream, tick, agent), and every parallel kernel reads
state no other thread writes (sim/engine.py docstring). Hence (a) a run is a pure function of its
inputs, (b) the number of numba threads cannot change a single bit, (c) the seed matters, and
(d) a scenario that changes a policy only from some year shares every draw with the baseline,
so both are identical up to that year -- which is what makes scenario comparisons sharp.
"""

import io
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

from sim import Params, Simulation

AGENTS = 20_000
YEARS = 3
SEED = 3
START = 1995  # busier than 1985, so the comparisons involve many moves


def _run(seed=SEED, params=None, years=YEARS, start=START, threads=None):
    """A run on ``threads`` numba threads (default: all numba has, whatever the test process
    was set to, e.g. one per pytest-xdist worker)."""
    threads = numba.config.NUMBA_NUM_THREADS if threads is None else threads
    sim = Simulation(params, agents=AGENTS, seed=seed, start_year=start, years=years,
                     threads=threads)
    return sim, sim.run()


def _parquet_bytes(df) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def base():
    return _run()


def test_same_seed_identical(base):
    """(a) Two runs with the same inputs give equal tidy frames (DataFrame.equals), identical
    parquet bytes, identical recorded counts and identical final agent state."""
    sim1, res1 = base
    sim2, res2 = _run()
    df1, df2 = res1.to_frame(), res2.to_frame()
    assert df1.equals(df2)
    assert _parquet_bytes(df1) == _parquet_bytes(df2)
    for name in ("stock_dest", "stock_dist", "profile", "outflow_dist", "returnflow", "onflow",
                 "exitflow", "demand"):
        np.testing.assert_array_equal(getattr(res1.rec, name), getattr(res2.rec, name))
    for name in ("age", "sex", "school", "loc", "hukou", "dist", "employed", "months_away"):
        np.testing.assert_array_equal(getattr(sim1.persons, name), getattr(sim2.persons, name))
    assert res1.rec.outflow_dist.sum() > 50  # not a trivial run


_CHILD = textwrap.dedent("""
    import sys
    import numba
    import numpy as np
    from sim import Simulation
    out, want = sys.argv[1], int(sys.argv[2])
    assert numba.config.NUMBA_NUM_THREADS == want, numba.config.NUMBA_NUM_THREADS
    sim = Simulation(agents={agents}, seed={seed}, start_year={start}, years={years})
    res = sim.run()
    res.to_frame().to_parquet(out + ".parquet", index=False)
    p = sim.persons
    np.savez(out + ".npz", loc=p.loc, dist=p.dist, hukou=p.hukou, employed=p.employed,
             months_away=p.months_away, age=p.age, stock=res.rec.stock_dest,
             near_ptr=sim.network.near_ptr, near=sim.network.near,
             far_ptr=sim.network.far_ptr, far=sim.network.far)
""").format(agents=AGENTS, seed=SEED, start=START, years=YEARS)


def test_thread_count_bit_identical(tmp_path, base):
    """(b) The same run in fresh processes with NUMBA_NUM_THREADS=1 and =2 writes byte-identical
    parquet files and identical agent state and network arrays (and equals the in-process run)."""
    outs = {}
    for nt in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(nt))
        out = str(tmp_path / f"run{nt}")
        proc = subprocess.run([sys.executable, "-c", _CHILD, out, str(nt)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs[nt] = out
    b1 = open(outs[1] + ".parquet", "rb").read()
    b2 = open(outs[2] + ".parquet", "rb").read()
    assert b1 == b2
    z1, z2 = np.load(outs[1] + ".npz"), np.load(outs[2] + ".npz")
    for k in z1.files:
        np.testing.assert_array_equal(z1[k], z2[k], err_msg=k)
    assert _parquet_bytes(base[1].to_frame()) == b1


def test_threads_argument_bit_identical(base):
    """(b') The ``threads=`` argument (1 vs all of numba's threads) also leaves every count
    unchanged."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread on this machine: nothing to compare")
    _, res1 = _run(threads=1)
    assert res1.to_frame().equals(base[1].to_frame())


def test_different_seeds_differ(base):
    """(c) Another seed gives another population and history."""
    sim_b, res_b = base
    sim_o, res_o = _run(seed=SEED + 1)
    assert not res_o.to_frame().equals(res_b.to_frame())
    assert not np.array_equal(res_o.rec.stock_dest, res_b.rec.stock_dest)
    assert not np.array_equal(sim_o.persons.age, sim_b.persons.age)


def _policy_from(year_change, start, end, new_value):
    """A step path for hukou_penalty_small equal to the default in every year before
    ``year_change`` (bit-for-bit, by copying the resolved defaults) and ``new_value`` after."""
    base = Params()
    path = {"mode": "step"}
    for y in range(start, year_change):
        path[str(y)] = base.at(y).hukou_penalty_small
    path[str(year_change)] = new_value
    return {"hukou_penalty_small": path}


def test_common_random_numbers():
    """(d) A scenario lowering the small-town hukou penalty from 1990 on gives results identical
    to the baseline in every month before January 1990 (shared draws, same state) and different
    results afterwards."""
    start, years, change = 1985, 8, 1990
    scen = _policy_from(change, start, start + years, 0.0)
    p = Params(scen)
    for y in range(start, change):
        assert p.at(y).hukou_penalty_small == Params().at(y).hukou_penalty_small
    assert p.at(change).hukou_penalty_small == 0.0

    _, res_b = _run(start=start, years=years)
    _, res_s = _run(params=scen, start=start, years=years)
    fb, fs = res_b.to_frame(), res_s.to_frame()
    before_b, before_s = fb[fb.year < change], fs[fs.year < change]
    assert len(before_b) > 0
    assert before_b.reset_index(drop=True).equals(before_s.reset_index(drop=True))
    t0 = 12 * (change - start)
    for name in ("stock_dest", "outflow_dist", "returnflow", "onflow", "exitflow", "profile"):
        np.testing.assert_array_equal(getattr(res_b.rec, name)[:t0], getattr(res_s.rec, name)[:t0])
    after_b, after_s = fb[fb.year >= change], fs[fs.year >= change]
    assert not after_b.reset_index(drop=True).equals(after_s.reset_index(drop=True))
    assert not np.array_equal(res_b.rec.stock_dest[t0:], res_s.rec.stock_dest[t0:])
    # the lower barrier draws more migrants to small towns (tier 0) by the end
    small = res_b.dest_tier == 0
    assert res_s.rec.stock_dest[-1, small].sum() > res_b.rec.stock_dest[-1, small].sum()
