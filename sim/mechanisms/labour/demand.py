"""Demand for migrant labour by destination and sector, and the wage levels' monthly adjustment.

Functions of arrays and parameters only (no state): the ``labour`` mechanism and the Mesa
reference model call them. See ``docs/markets/formal.md`` for the equations.
"""

from __future__ import annotations

import numpy as np

from sim.core.encodings import SECTOR_NAMES
from sim.core.geography import SHENZHEN, TIER_NAMES


def sector_shares(geo, pars) -> np.ndarray:
    """Sector split of migrant labour demand per destination, shape (n_dest, n_sectors)."""
    base = np.array([getattr(pars, f"demand_share_{s}") for s in SECTOR_NAMES])
    out = np.tile(base, (geo.n_dest, 1))
    east = geo.prov_region[geo.dest_prov] == 0
    out[east, 1] *= pars.east_manufacturing_tilt
    return out / out.sum(axis=1, keepdims=True)


def demand_weights(geo, pars) -> np.ndarray:
    """Share of national migrant labour demand at each destination (sums to 1)."""
    w_prov = geo.gdp_bn_rmb**pars.demand_gdp_elasticity
    w_prov = w_prov * np.where(geo.prov_region == 0, pars.east_demand_mult, 1.0)
    six = np.zeros(geo.n_prov, bool)
    six[np.unique(geo.dest_prov[geo.dest_is_six])] = True
    w_prov = w_prov * np.where(six, pars.six_demand_mult, 1.0)
    tier_share = np.array([0.30, 0.35, 0.35])
    w = np.zeros(geo.n_dest)
    for j in range(geo.n_dest):
        p = geo.dest_prov[j]
        w[j] = w_prov[p] * tier_share[min(int(geo.dest_tier[j]), 2)]
    shz = geo.dest_name.index(SHENZHEN[0])
    for j in range(geo.n_dest):  # Beijing, Shanghai: the megacity holds most demand
        if j != shz and geo.dest_tier[j] == TIER_NAMES.index("megacity"):
            p = geo.dest_prov[j]
            w[3 * p : 3 * p + 2] = w_prov[p] * 0.1
            w[j] = w_prov[p] * 0.8
    gd = geo.dest_prov[shz]
    w[shz] = w_prov[gd] * pars.shenzhen_share_of_guangdong
    w[3 * gd : 3 * gd + 3] *= 1.0 - pars.shenzhen_share_of_guangdong
    return w / w.sum()


def initial_demand(geo, pars, scale: float) -> np.ndarray:
    """Migrant labour demand (agents) by destination and sector at the start. A share
    ``manufacturing_export_weight`` of manufacturing demand is placed by the province's exports
    (CSY 2001) instead of its product, split within the province as demand is."""
    w = demand_weights(geo, pars)
    out = (w * pars.migrant_jobs_initial / scale)[:, None] * sector_shares(geo, pars)
    x = pars.manufacturing_export_weight
    if x > 0.0:
        within = w / np.bincount(geo.dest_prov, w, geo.n_prov)[geo.dest_prov]
        by_exports = geo.exports_usd_bn[geo.dest_prov] * within
        manu = out[:, 1].sum()
        out[:, 1] = (1.0 - x) * out[:, 1] + x * manu * by_exports / by_exports.sum()
    return out


BASE_YEAR = 1985  # the year ``migrant_jobs_initial`` refers to


def demand_at_start(geo, params, scale: float, start_year: int) -> np.ndarray:
    """Migrant labour demand (agents) at the start of a run: the 1985 level grown month by
    month with the regional GDP series to the start year, so a later start begins where a 1985
    start would have its base demand."""
    demand = initial_demand(geo, params.at(BASE_YEAR), scale)
    years = geo.national["year"]
    for year in range(BASE_YEAR, start_year):
        k = int(np.clip(np.searchsorted(years, year), 0, years.size - 1))
        growth = geo.regional_growth[k][geo.prov_region[geo.dest_prov]]
        pars = params.at(year)
        for _ in range(12):
            demand = grow_demand(demand, growth, pars)
    return demand


def wage_adjusted_demand(
    base: np.ndarray, levels: np.ndarray, ref_levels: np.ndarray, pars
) -> np.ndarray:
    """Demand for migrant labour at the going wage: the growth-driven base demand times
    (wage level / reference level) ** -elasticity (cheaper labour is hired more)."""
    return base * (levels / ref_levels) ** (-pars.demand_wage_elasticity)


def grow_demand(demand: np.ndarray, growth_pct_dest: np.ndarray, pars) -> np.ndarray:
    """One month of demand growth with regional GDP growth (plus the growth shock lever)."""
    g = pars.demand_growth_elasticity * (growth_pct_dest + pars.gdp_growth_shift) / 100.0
    return demand * np.maximum(1.0 + g, 0.0)[:, None] ** (1.0 / 12.0)


def adjust_levels(
    levels: np.ndarray, shortage: np.ndarray, unemployment: np.ndarray, pars
) -> np.ndarray:
    """One month of wage adjustment (shortage: unfilled share of demand by dest-sector, counted
    above a frictional 5% and up to 25%; unemployment: by dest)."""
    tight = np.clip(shortage - 0.05, 0.0, 0.2)
    g = (
        pars.wage_drift_year
        + pars.wage_adjust_shortage * tight
        - pars.wage_adjust_unemployment * unemployment[:, None]
    ) / 12.0
    return levels * np.exp(g)


def expected_with_minimum(levels: np.ndarray, minw: np.ndarray, enforcement: float) -> np.ndarray:
    """Wage level a worker or employer expects where a minimum wage is enforced with the given
    chance: level + enforcement * max(minimum - level, 0), by destination and sector."""
    return levels + enforcement * np.maximum(minw[:, None] - levels, 0.0)
