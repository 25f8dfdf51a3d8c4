"""The kernels rewritten for speed (two passes with prefetching, tallies fused into the pass
that changes the state) give what the state says.

Each check recounts from the state arrays what a kernel tallied, or compares a fast helper with
numpy; runs are tiny (3,000 persons, fixed seeds).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import Simulation
from sim.core.encodings import HOME, NO_YEAR, RURAL
from sim.core.prefetch import prefetch
from sim.core.state import child_place, flat_nonzero
from sim.mechanisms.demography.births import SCHOOL_AGE, children_by_place
from sim.mechanisms.insurance import T_EMP, T_MEMBERS, T_MIG, enrol


def test_flat_nonzero_is_numpy_flatnonzero():
    rng = np.random.default_rng(4)
    for n, share in ((0, 0.5), (1, 1.0), (1000, 0.0), (100_000, 0.02), (5000, 1.0)):
        a = (rng.random(n) < share).astype(np.int8) * rng.integers(1, 5, n).astype(np.int8)
        np.testing.assert_array_equal(flat_nonzero(a), np.flatnonzero(a))


@njit
def _sum_with_prefetch(a, ahead):
    s = 0.0
    for i in range(a.shape[0]):
        prefetch(a, i + ahead)  # past the end too: a prefetch never faults
        s += a[i]
    return s


def test_prefetch_is_only_a_hint():
    a = np.arange(10_000, dtype=np.float64)
    assert _sum_with_prefetch(a, 64) == a.sum()
    assert _sum_with_prefetch(a, 10**9) == a.sum()


def _small_run(years=2):
    sim = Simulation(agents=3000, seed=11, start_year=2000, years=years, threads=1)
    sim.run()
    return sim


def test_children_by_place_counts_every_child_once():
    """The parallel table equals a count child by child with ``child_place``."""
    sim = _small_run()
    hs, hh_start, p = sim.households.core, sim.places.hh_start, sim.persons.core
    want = np.zeros((2, 4), np.int64)
    for h in range(hh_start.size - 1):
        for j in range(hs.child_by.shape[1]):
            b = hs.child_by[h, j]
            if b != NO_YEAR:
                want[int(sim.year - b >= SCHOOL_AGE), child_place(h, j, hh_start, p, hs)] += 1
    got = children_by_place(hh_start, p, hs, sim.year)
    np.testing.assert_array_equal(got, want)
    assert got.sum() == int((hs.child_by != NO_YEAR).sum())


def test_children_are_recorded_in_december_only():
    sim = _small_run()
    v = sim.rec.scalars["children_left_behind"]
    months = np.arange(v.size) % 12
    assert np.all(np.isnan(v[months != 11])) and np.all(v[months == 11] > 0)


def test_insurance_tally_is_the_state_after_enrolment():
    """The counts ``enrol`` returns are those of the insurance state it leaves."""
    sim = _small_run()
    ins, p, buf, pars = sim.mech["insurance"], sim.persons, sim.buf, sim.pars
    n, money = enrol(
        sim.key("insurance.enrol", 999), sim.key("insurance.transfer", 999), p.core,
        buf.sector_before, buf.wage, ins.contrib, ins.high_risk, ins.chance, ins.erate,
        float(pars.pension_worker_rate), ins.pool_of_dest, ins.portable, ins.benefit,
        float(pars.unemployment_allowance_months_per_year), p.ins_branches,
        p.ins_job_months, p.pension_pool, p.pension_account, p.pension_months)
    rural = p.hukou == RURAL
    away = rural & (p.loc != HOME)
    emp = away & (p.employed == 1)
    assert n[T_MIG] == np.count_nonzero(away) and n[T_EMP] == np.count_nonzero(emp) > 0
    assert n[T_MEMBERS] == np.count_nonzero(rural & (p.pension_months > 0))
    for k in range(5):
        assert n[k] == np.count_nonzero(emp & ((p.ins_branches & (1 << k)) != 0))
    assert not np.any(p.ins_branches[~emp]) and money[4] > 0
