"""Parallel tallies by fixed chunks (``sim.core.chunks``): the chunks partition the persons,
and the tallies equal plain numpy counts, with one thread or two."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from sim import Simulation
from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import HOME, JOB_INFORMAL, RURAL, URBAN
from sim.engine.record import WAGE_EDGES_2005, stock_arrays
from sim.io.tallies import tally, tally_pay
from sim.mechanisms.labour import count_settled, count_workers


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1000, 123_457])
def test_chunks_partition_the_range(n):
    bounds = [chunk(c, n) for c in range(N_CHUNKS)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(bounds[c][1] == bounds[c + 1][0] for c in range(N_CHUNKS - 1))
    assert all(lo <= hi for lo, hi in bounds)


@pytest.fixture(scope="module")
def sim():
    s = Simulation(agents=30_000, seed=7, years=8)
    s.run()
    return s


@pytest.mark.parametrize("threads", [1, 2])
def test_tallies_equal_numpy_counts(sim, threads):
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    p, n_dest = sim.persons, sim.geo.n_dest
    away = (p.hukou == RURAL) & (p.loc != HOME)
    by_dest, by_dist, prof, by_sector, xprov = tally(*stock_arrays(sim))
    np.testing.assert_array_equal(by_dest, np.bincount(p.loc[away], minlength=n_dest))
    np.testing.assert_array_equal(by_dist, np.bincount(p.dist[away], minlength=4))
    assert by_dest.sum() > 1000
    present, working = count_workers(p.core, n_dest)
    np.testing.assert_array_equal(present, by_dest)
    emp = away & (p.employed == 1)
    expect = np.zeros_like(working)
    np.add.at(expect, (p.loc[emp], p.sector[emp]), 1)
    np.testing.assert_array_equal(working, expect)
    np.testing.assert_array_equal(by_sector, expect.sum(axis=0))
    settled = (p.hukou == URBAN) & (p.loc != HOME) & (p.age >= 15) & (p.age < 65)
    np.testing.assert_array_equal(count_settled(p.core, n_dest),
                                  np.bincount(p.loc[settled], minlength=n_dest))
    buf, yq, pars = sim.buf, sim.yq, sim.pars
    bins, _, wage_sum, remit_sum, informal_sum = tally_pay(
        p.loc, buf.wage, buf.paid, buf.remit, p.job, pars.insurance_contribution_rate, yq.minw,
        yq.to_2005, WAGE_EDGES_2005)
    paid = buf.wage > 0
    assert bins.sum() == paid.sum()
    assert wage_sum == pytest.approx(buf.wage[paid].astype(np.float64).sum(), rel=1e-12)
    assert remit_sum == pytest.approx(buf.remit[paid].astype(np.float64).sum(), rel=1e-12)
    informal = paid & ((p.job & JOB_INFORMAL) != 0)
    assert 0 < informal.sum() < paid.sum()
    assert informal_sum == pytest.approx(buf.wage[informal].astype(np.float64).sum(), rel=1e-12)
    numba.set_num_threads(before)
