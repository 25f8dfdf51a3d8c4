"""The compact forms of the agent state and their decoded views (``sim.core.state``).

A slot's household is a uint8 offset above a base per block of 256 slots, its county is the
household's, a wage job is its sector, a first departure is a uint8 count of years: each view
decodes to what the plain field held, and a value the code cannot hold is refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from sim import Simulation
from sim.core.encodings import NEVER_LEFT, NO_SECTOR, NO_YEAR
from sim.core.state import HH_BLOCK, PERSON_FIELDS, Persons, county_of, household


@njit(cache=True)
def _decode_all(p):
    n = p.hh_off.shape[0]
    hh = np.empty(n, np.int64)
    cty = np.empty(n, np.int64)
    for i in range(n):
        hh[i] = household(p, i)
        cty[i] = county_of(p, i)
    return hh, cty


def test_households_round_trip_across_blocks():
    """Households of 1 to 7 slots over several blocks of 256: the kernels' reader and the
    Python view give back the index, and the county is the household's."""
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 8, 400)
    hh = np.repeat(np.arange(sizes.size), sizes)
    p = Persons.allocate(hh.size, PERSON_FIELDS)
    p.hh = hh
    p.hh_county = rng.integers(0, 2860, sizes.size).astype(np.int16)
    assert hh.size > 3 * HH_BLOCK
    np.testing.assert_array_equal(p.hh, hh)
    got_hh, got_cty = _decode_all(p.core)
    np.testing.assert_array_equal(got_hh, hh)
    np.testing.assert_array_equal(got_cty, p.hh_county[hh])
    np.testing.assert_array_equal(p.county, p.hh_county[hh])
    with pytest.raises(ValueError):  # a view, not the state
        p.hh[0] = 5


def test_households_out_of_order_are_refused():
    p = Persons.allocate(300, PERSON_FIELDS)
    with pytest.raises(ValueError, match="sorted by household"):
        p.hh = np.arange(300)[::-1]
    with pytest.raises(ValueError, match="sorted by household"):
        p.hh = np.r_[np.zeros(10, int), np.full(290, 300)]  # 300 above the block's first


def test_first_year_and_employed_views():
    p = Persons.allocate(4, PERSON_FIELDS)
    p.year0 = 1984
    p.first_year = [NO_YEAR, 1984, 1990, 1984 + NEVER_LEFT - 1]
    assert p.first_left.tolist() == [NEVER_LEFT, 0, 6, NEVER_LEFT - 1]
    assert p.first_year.tolist() == [NO_YEAR, 1984, 1990, 1984 + NEVER_LEFT - 1]
    for bad in (1983, 1984 + NEVER_LEFT):
        with pytest.raises(ValueError, match="first_year outside"):
            p.first_year = [bad, NO_YEAR, NO_YEAR, NO_YEAR]
    p.sector[:] = [NO_SECTOR, 0, 3, NO_SECTOR]
    assert p.employed.tolist() == [0, 1, 1, 0]


def test_a_run_keeps_the_views_consistent():
    """After a short run: slots sorted by household, each in its household's slot range and
    county, the job iff a sector, first departures within the run's years."""
    s = Simulation(agents=3000, seed=5, start_year=1995, years=3, threads=1)
    s.run()
    p, hs, hh_start = s.persons, s.households, s.places.hh_start
    hh = p.hh
    assert np.all(np.diff(hh) >= 0) and hh[-1] == hs.n - 1
    np.testing.assert_array_equal(np.searchsorted(hh_start, np.arange(p.n), "right") - 1, hh)
    np.testing.assert_array_equal(p.county, hs.county[hh])
    left = p.first_year[p.first_year != NO_YEAR]
    assert left.size > 0 and left.min() >= 1994 and left.max() <= 1997
    kw = hs.kids_with
    with_kids = np.flatnonzero(kw >= 0)
    assert np.all(hh_start[with_kids] + kw[with_kids] < hh_start[with_kids + 1])
