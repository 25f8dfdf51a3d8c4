"""The growth that drives urban labour demand (``urban_demand_growth_years``, labour.demand):
the year's regional GDP growth by default, or the mean of the last few years'. Checked by hand
against ``sim/data/regional_growth.csv``, through the year's inputs that the core and the Mesa
reference model share, and through the market's path from 1985 (no agents: pure functions).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Params
from sim.core.geography import load_geography
from sim.core.params import ParamError
from sim.engine.yearly import year_quantities
from sim.mechanisms.labour.demand import demand_growth, grow_urban, market_at_start

GEO = load_geography()
LAND = np.linspace(1.0, 3.0, GEO.n_prov)
YEARS = GEO.national["year"]


def _row(year: int) -> int:
    return int(np.searchsorted(YEARS, year))


def _by_dest(region_growth: np.ndarray) -> np.ndarray:
    return region_growth[GEO.prov_region[GEO.dest_prov]]


def test_default_is_the_years_own_growth():
    """One year: the row of the data, by destination (what every version since 0.6 used)."""
    pars = Params({}).at(1992)
    assert pars.urban_demand_growth_years == 1
    k = _row(1992)
    assert np.array_equal(demand_growth(GEO, pars, k), _by_dest(GEO.regional_growth[k]))
    q = year_quantities(GEO, pars, 1992, LAND)
    assert np.array_equal(q.growth, _by_dest(GEO.regional_growth[k]))


def test_three_years_are_the_mean_of_the_data_rows():
    """Three years: 1990-1992's rows averaged, by hand; the data's first row has no past and
    uses itself; the year's inputs carry the mean."""
    pars = Params({"urban_demand_growth_years": 3}).at(1992)
    k = _row(1992)
    hand = (GEO.regional_growth[k - 2] + GEO.regional_growth[k - 1]
            + GEO.regional_growth[k]) / 3.0
    assert np.allclose(demand_growth(GEO, pars, k), _by_dest(hand), rtol=0, atol=1e-12)
    assert np.array_equal(demand_growth(GEO, pars, 0), _by_dest(GEO.regional_growth[0]))
    assert np.allclose(year_quantities(GEO, pars, 1992, LAND).growth, _by_dest(hand),
                       rtol=0, atol=1e-12)
    # the 1992 boom (14% national growth after 4% in 1989-1990) is damped by the mean
    east = GEO.prov_region[GEO.dest_prov] == 0
    assert demand_growth(GEO, pars, k)[east].max() < GEO.regional_growth[k, 0]


def test_total_demand_grows_with_the_mean_over_a_year():
    """Twelve months of ``grow_urban`` with the three-year mean: total urban demand grows by
    the output elasticity times the mean growth, the local workforce as before."""
    pars = Params({"urban_demand_growth_years": 3}).at(1992)
    g = demand_growth(GEO, pars, _row(1992))
    total = np.full(GEO.n_dest, 100.0)
    local = np.full(GEO.n_dest, 80.0)
    t, loc = total, local
    for _ in range(12):
        t, loc = grow_urban(t, loc, g, pars)
    expect = 100.0 * (1.0 + pars.urban_labour_output_elasticity * g / 100.0)
    assert np.allclose(t, expect, rtol=1e-12)
    assert np.allclose(loc, 80.0 * (1.0 + pars.local_labour_growth), rtol=1e-12)


def test_the_market_from_1985_follows_the_setting():
    """The market at the start of a run grown from 1985: unchanged in 1985 (nothing grown),
    and after the 1992 boom less total urban demand with the three-year mean (1992-1993's
    fast growth is spread over later years), so less demand for migrants."""
    one, three = Params({}), Params({"urban_demand_growth_years": 3})
    scale = 1000.0
    d1, t1, _ = market_at_start(GEO, one, scale, 1985)
    d3, t3, _ = market_at_start(GEO, three, scale, 1985)
    assert np.array_equal(t1, t3) and np.array_equal(d1, d3)
    d1, t1, l1 = market_at_start(GEO, one, scale, 1994)
    d3, t3, l3 = market_at_start(GEO, three, scale, 1994)
    assert np.array_equal(l1, l3)
    assert t3.sum() < t1.sum() and d3.sum() < d1.sum()


@pytest.mark.parametrize("bad", [0, 6])
def test_out_of_range_is_refused(bad):
    with pytest.raises(ParamError, match="urban_demand_growth_years"):
        Params({"urban_demand_growth_years": bad})
