"""Demand for migrant labour by destination and sector, and the wage levels' monthly adjustment.

Functions of arrays and parameters only (no state): the ``labour`` mechanism and the Mesa
reference model call them. See ``docs/markets/formal.md`` for the equations.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.core.encodings import SECTOR_NAMES
from sim.core.geography import SHENZHEN, TIER_NAMES
from sim.core.params import Param
from sim.core.rng import uniform_array
from sim.mechanisms.labour.gender import MANUFACTURING, export_factor, tilt

RESIDUAL_PARAMS = (
    Param(
        "whole_openings",
        True,
        "switch",
        0,
        1,
        "modelling choice since 0.16 (an agent stands for thousands of persons and fills a "
        "whole job or none; without it the fractional remainders make outcomes depend on the "
        "number of agents: calibration/README.md, 'Whole openings')",
        "openings counted in whole agents: a destination-sector's capacity is floor(demand + "
        "u), u a uniform fixed per cell (stream labour.capacity), whose mean is the demand",
        kind=bool,
        role="structural",
    ),
    Param(
        "local_competition",
        True,
        "switch",
        0,
        1,
        "issue 11 (locals and migrants both supply urban labour; seed 1.4: migrants take the "
        "jobs urban workers shun)",
        "demand for migrant labour is total urban labour demand less the local (urban hukou) "
        "workforce, instead of its own level grown with GDP",
        kind=bool,
        role="structural",
    ),
    Param(
        "urban_demand_growth_years",
        1,
        "years",
        1,
        5,
        "modelling choice (1, the year's growth, since 0.6); employers adjust employment to "
        "output with a lag (Hamermesh 1993, Labor Demand, ch. 7: adjustment takes quarters, "
        "not months); under local_competition migrant demand is the small residual of total "
        "urban demand over the local workforce, so one boom year moves it about ten times as "
        "much as total demand (calibration/README.md, 'A smoothed growth of urban demand')",
        "regional GDP growth that drives urban labour demand: the mean of the last this many "
        "years of the regional growth data (1: the year's own growth)",
        kind=int,
        role="structural",
    ),
    Param(
        "urban_jobs_1985",
        1.2808e8,
        "jobs",
        1.0e8,
        1.6e8,
        "CSY 2000 Table 5-4 (urban employed persons, year-end 1985: 12,808 ten-thousands)",
        "urban employment in 1985: total urban labour demand at the start",
        role="exogenous",
    ),
    Param(
        "migrant_share_urban_jobs_1985",
        0.0156,
        "share",
        0.005,
        0.15,
        "seed, Introduction (some 2 million migrants in the mid-1980s, the initial stock) "
        "against 128 million urban jobs (CSY): 2/128; estimate, range 0.01-0.03",
        "share of 1985 urban labour demand open to rural migrants (the rest held by locals)",
        role="structural",
    ),
    Param(
        "urban_labour_output_elasticity",
        0.5154,
        "elasticity",
        0.1,
        1.0,
        "derived: urban employment grew 3.9% a year 1985-2006 (CSY: 128 to 283 million) while "
        "GDP grew 9.7% (sim/data national series); estimate, range 0.3-0.6",
        "growth of total urban labour demand per unit of regional GDP growth",
        role="structural",
    ),
    Param(
        "local_labour_growth",
        {"1985": 0.04, "1992": 0.02, "2005": 0.008, "2012": 0.02},
        "per year",
        -0.03,
        0.06,
        "estimate (each value +/-0.01): growth of the urban hukou workforce, fast while the "
        "1962-1975 urban birth cohorts entered work (the CSY's urban employment grows 5.8% a "
        "year 1985-1990, but its 1990 value is on the census basis adopted that year and the "
        "earlier ones are not, so the growth before the break was slower: hence 0.04, not "
        "0.058), slowing with the smaller cohorts born after 1980 (urban natural "
        "increase plus planned conversions, net of retirements); from 2012 the hukou reforms "
        "and reclassified places: the urban hukou population grew 3.9% a year 2012-2018 (NBS, "
        "'70th anniversary' report no. 2, 8 July 2019: hukou urbanisation 35.33% to 43.37%, "
        "times the population in sim/data), of which the working-age part and the part that is "
        "not converted migrants (counted as ``settled``) is taken as about half",
        "yearly growth of the local (urban hukou) workforce that fills urban jobs first",
        role="exogenous",
    ),
    Param(
        "retirement_delay_growth",
        0.0,
        "per year",
        0.0,
        0.03,
        "NPC Standing Committee decision of 13 September 2024 on the gradual delay of the "
        "statutory retirement age, in force 1 January 2025 (sim/data/policies.toml "
        "'retirement_age_delay_2024'): over 15 years men 60 to 63, women 55 to 58 and 50 to "
        "55. A retirement age rising by a years a year retires 1 - a of a birth cohort a "
        "year: men and women cadres 0.8, women workers 0.67, so the outflow falls by about "
        "23% (men a little over half the workers). Workers reaching the old ages are about "
        "2.7% of the local workforce a year (the 1962-1975 birth cohorts, 25.8 million a year "
        "in sim/data/births.csv, about 22 million alive at 60, against some 860 million aged "
        "16-59 at the end of 2023, CGTN 15 September 2024): 0.23 x 0.027 = 0.006, with every "
        "retained worker holding a job that would otherwise be open (the jobs locals leave); "
        "estimate, range 0-0.009: voluntary retirement up to three years early, postponement "
        "by agreement, and no crowding out of younger workers by older workers' employment "
        "in the 1990 and 2000 censuses and the 2005 1% survey (Zhang & Zhao 2013, MPRA "
        "52931). 0 (the policy of 2006 held) by default; baseline_2025 steps it to 0.006 in "
        "2025",
        "growth of the local workforce added by the delayed retirement of urban workers "
        "(on top of local_labour_growth)",
        role="policy",
    ),
)


def demand_growth(geo, pars, k: int) -> np.ndarray:
    """Regional GDP growth (% a year) that drives labour demand in the year of row ``k`` of the
    national series, by destination: the mean over the last ``urban_demand_growth_years`` rows
    of ``sim/data/regional_growth.csv`` (fewer at the data's first rows)."""
    n = int(pars.urban_demand_growth_years)
    rows = geo.regional_growth[max(k - n + 1, 0) : k + 1]
    return rows.mean(axis=0)[geo.prov_region[geo.dest_prov]]


def capacity_offsets(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """The fixed offsets of :func:`whole`, one uniform on [0, 1) per destination-sector cell,
    from the stream ``labour.capacity`` alone (so every scenario of a seed shares them)."""
    return uniform_array(seed, "labour.capacity", 0, int(np.prod(shape))).reshape(shape)


def whole(demand: np.ndarray, offset: np.ndarray | None) -> np.ndarray:
    """Demand in whole agents, ``floor(demand + offset)`` (the identity when ``offset`` is
    None): with ``offset`` uniform on [0, 1) the mean over offsets is the demand itself."""
    return demand if offset is None else np.floor(demand + offset)


def sector_shares(geo, pars, mfg: float = 1.0) -> np.ndarray:
    """Sector split of migrant labour demand per destination, shape (n_dest, n_sectors);
    ``mfg`` scales manufacturing (its export factor, ``gender.export_factor``)."""
    base = np.array([getattr(pars, f"demand_share_{s}") for s in SECTOR_NAMES])
    out = np.tile(base, (geo.n_dest, 1))
    east = geo.prov_region[geo.dest_prov] == 0
    out[east, 1] *= pars.east_manufacturing_tilt
    out[:, MANUFACTURING] *= mfg
    return out / out.sum(axis=1, keepdims=True)


def demand_weights(geo, pars) -> np.ndarray:
    """Share of national migrant labour demand at each destination (sums to 1)."""
    w_prov = geo.gdp_bn_rmb**pars.demand_gdp_elasticity
    w_prov = w_prov * np.where(geo.prov_region == 0, pars.east_demand_mult, 1.0)
    six = np.zeros(geo.n_prov, bool)
    six[np.unique(geo.dest_prov[geo.dest_is_six])] = True
    w_prov = w_prov * np.where(six, pars.six_demand_mult, 1.0)
    tier_share = np.array([0.30, 0.35, 0.35])
    w = w_prov[geo.dest_prov] * tier_share[np.minimum(geo.dest_tier, 2)]
    shz = geo.dest_name.index(SHENZHEN[0])
    for j in np.flatnonzero(geo.dest_tier == TIER_NAMES.index("megacity")):
        if j != shz:  # Beijing, Shanghai: the megacity holds most demand
            p = geo.dest_prov[j]
            w[3 * p : 3 * p + 2] = w_prov[p] * 0.1
            w[j] = w_prov[p] * 0.8
    gd = geo.dest_prov[shz]
    w[shz] = w_prov[gd] * pars.shenzhen_share_of_guangdong
    w[3 * gd : 3 * gd + 3] *= 1.0 - pars.shenzhen_share_of_guangdong
    return w / w.sum()


def initial_demand(geo, pars, scale: float, mfg: float = 1.0) -> np.ndarray:
    """Migrant labour demand (agents) by destination and sector at the start. A share
    ``manufacturing_export_weight`` of manufacturing demand is placed by the province's exports
    (CSY 2001) instead of its product, split within the province as demand is."""
    w = demand_weights(geo, pars)
    out = (w * pars.migrant_jobs_initial / scale)[:, None] * sector_shares(geo, pars, mfg)
    x = pars.manufacturing_export_weight
    if x > 0.0:
        within = w / np.bincount(geo.dest_prov, w, geo.n_prov)[geo.dest_prov]
        by_exports = geo.exports_usd_bn[geo.dest_prov] * within
        manu = out[:, 1].sum()
        out[:, 1] = (1.0 - x) * out[:, 1] + x * manu * by_exports / by_exports.sum()
    return out


BASE_YEAR = 1985  # the year ``migrant_jobs_initial`` refers to


def urban_at_start(geo, pars, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Total urban labour demand and the local workforce (agents) by destination in 1985.
    Total demand is spread by the size of each urban economy; the migrants' part of it
    (``migrant_share_urban_jobs_1985``) by the migrant demand weights, so the east and the six
    main destinations open more of their jobs to migrants; locals hold the rest."""
    econ = dict(vars(pars))
    econ.update(east_demand_mult=1.0, six_demand_mult=1.0)
    total = demand_weights(geo, SimpleNamespace(**econ)) * pars.urban_jobs_1985 / scale
    migrant = demand_weights(geo, pars) * (
        pars.migrant_share_urban_jobs_1985 * pars.urban_jobs_1985 / scale
    )
    total = np.maximum(total, migrant)
    return total, total - migrant


def migrant_demand_shares(geo, pars, mfg: float = 1.0) -> np.ndarray:
    """Where migrant labour demand sits, by destination and sector (sums to 1): the demand
    weights (regional product, the pull of the east and the six main destinations, Shenzhen)
    times the sector shares, with manufacturing partly placed by exports."""
    out = initial_demand(geo, pars, 1.0, mfg)
    return out / out.sum()


def residual_demand(
    total: np.ndarray, local: np.ndarray, geo, pars, settled=None, mfg: float = 1.0
) -> np.ndarray:
    """Migrant labour demand (agents) by destination and sector: the urban jobs the local
    workforce (and former migrants who converted, ``settled``) does not fill, nationally,
    placed where migrant demand sits (``migrant_demand_shares``). National, because firms on
    the coast hire from the whole country while the local workforce is counted where it lives."""
    held = local.sum() + (0.0 if settled is None else float(settled.sum()))
    return max(total.sum() - held, 0.0) * migrant_demand_shares(geo, pars, mfg)


def grow_urban(
    total: np.ndarray, local: np.ndarray, growth_pct_dest: np.ndarray, pars
) -> tuple[np.ndarray, np.ndarray]:
    """One month: total urban labour demand grows with regional GDP (times its output
    elasticity, plus the growth shock lever); the local workforce at its own rate plus what
    delayed retirement adds (``retirement_delay_growth``)."""
    g = pars.urban_labour_output_elasticity * (growth_pct_dest + pars.gdp_growth_shift) / 100.0
    total = total * np.maximum(1.0 + g, 0.0) ** (1.0 / 12.0)
    growth = pars.local_labour_growth + pars.retirement_delay_growth
    return total, local * (1.0 + growth) ** (1.0 / 12.0)


def market_at_start(geo, params, scale: float, start_year: int):
    """Base migrant demand (agents, by destination and sector), total urban labour demand and
    the local workforce (by destination) at the start of a run, grown from 1985."""
    p0 = params.at(BASE_YEAR)
    demand = initial_demand(geo, p0, scale, export_factor(geo, p0, BASE_YEAR))
    total, local = urban_at_start(geo, p0, scale)
    years = geo.national["year"]
    for year in range(BASE_YEAR, start_year):
        k = int(np.clip(np.searchsorted(years, year), 0, years.size - 1))
        pars = params.at(year)
        growth = demand_growth(geo, pars, k)
        for m in range(12):
            mfg = month_factors(geo, pars, year, m + 1)
            demand, total, local = advance_market(
                demand, total, local, growth, geo, pars, mfg=mfg
            )
    now = params.at(start_year)
    if now.local_competition:
        demand = residual_demand(
            total, local, geo, now, mfg=export_factor(geo, now, start_year)
        )
    return demand, total, local


def month_factors(geo, pars, year: int, month: int) -> tuple[float, float]:
    """Manufacturing's export factor at the start and the end of a month (1-12)."""
    return (
        export_factor(geo, pars, year + (month - 1) / 12.0),
        export_factor(geo, pars, year + month / 12.0),
    )


def advance_market(
    demand, total, local, growth_pct_dest, geo, pars, settled=None, mfg=(1.0, 1.0)
):
    """One month of the base (pre-wage) migrant demand: the residual of total urban demand
    over the local workforce under ``local_competition`` (``settled``: former migrants of
    working age who converted to a local hukou, by destination, who count as locals), else its
    own level grown with GDP. ``mfg``: manufacturing's export factor at the start and the end
    of the month (``month_factors``); the sector mix follows it, destination totals kept."""
    total, local = grow_urban(total, local, growth_pct_dest, pars)
    if pars.local_competition:
        return residual_demand(total, local, geo, pars, settled, mfg[1]), total, local
    return tilt(grow_demand(demand, growth_pct_dest, pars), mfg[1] / mfg[0]), total, local


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
    levels: np.ndarray,
    shortage: np.ndarray,
    unemployment: np.ndarray,
    pars,
    minw: np.ndarray | None = None,
    enforcement: float = 0.0,
) -> np.ndarray:
    """One month of wage adjustment (shortage: unfilled share of demand by dest-sector, counted
    above ``frictional_shortage`` and for at most 0.2 beyond it; unemployment: by dest). Where
    the cell is short of workers, the level first closes ``wage_raise_from_paid`` of its gap to
    the wage paid there (the minimum ``minw`` by destination, enforced with ``enforcement``):
    employers raise from what they pay, not from a market level below the minimum."""
    tight = np.clip(shortage - pars.frictional_shortage, 0.0, 0.2)
    lam = pars.wage_raise_from_paid
    if minw is not None and lam > 0.0:
        gap = expected_with_minimum(levels, minw, enforcement) - levels
        levels = levels + np.where(tight > 0.0, lam * gap, 0.0)
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


def minimum_binding(levels: np.ndarray, minw: np.ndarray, demand: np.ndarray
                    ) -> tuple[float, float]:
    """Where the minimum wage binds: the share of demand in destination-sector cells whose market
    wage level is below the destination's minimum, and the demand-weighted mean of level over
    minimum (both 0 where no minimum is set or there is no demand)."""
    has = minw > 0.0
    d = demand[has]
    total = float(d.sum())
    if total <= 0.0:
        return 0.0, 0.0
    ratio = levels[has] / minw[has][:, None]
    return float((d * (ratio < 1.0)).sum()) / total, float((d * ratio).sum()) / total
