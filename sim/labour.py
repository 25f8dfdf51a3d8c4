"""Urban labour markets for migrants: demand, wages, job finding and separations.

Demand for migrant labour at each destination starts from an initial national level spread over
destinations by regional product (eastern provinces weighted up: the flow runs from the west and
centre to the east, seed 1.3) and grows with the regional GDP growth series (``sim/data``),
scaled by an employment elasticity (seed 2.2: one point of GDP growth is about 900,000 jobs).
Job finding follows Harris & Todaro (1970): the chance of a job falls as seekers outnumber
openings; contacts already employed at the destination raise it (seed 1.4: 95% found jobs via
friends or by themselves). Wages are the provincial average urban wage scaled by a migrant
ratio, the city tier, schooling and training (seed 1.4: migrants paid less than locals).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.params import Param
from sim.rng import uniform
from sim.state import HOME, RURAL

PARAMS = (
    Param("migrant_jobs_initial", 2.0e7, "jobs", 1.0e5, 3.0e8,
          "assumption: urban jobs migrants could fill in 1985 (urban employment 128M, CSY)",
          "national demand for migrant labour at the start of the run"),
    Param("demand_growth_elasticity", 0.9, "ratio", 0.0, 5.0,
          "seed 2.2 (one point of growth is ~900,000 jobs); hand-set",
          "growth of migrant labour demand per unit of regional GDP growth"),
    Param("east_demand_mult", 2.5, "ratio", 0.1, 20.0,
          "seed 1.3: flows go from western and central to eastern provinces",
          "weight of eastern provinces in migrant labour demand, relative to GDP"),
    Param("demand_gdp_elasticity", 1.0, "ratio", 0.0, 3.0, "assumption",
          "elasticity of a province's migrant labour demand to its regional product"),
    Param("shenzhen_share_of_guangdong", 0.25, "share", 0.0, 0.9,
          "assumption; Shenzhen is Guangdong's largest migrant city",
          "share of Guangdong's migrant labour demand located in Shenzhen"),
    Param("migrant_wage_ratio", 0.55, "ratio", 0.1, 1.5,
          "seed 1.4 (wage brackets vs the CSY average wage); Wang & Cai 2005",
          "migrant wage relative to the provincial average urban wage"),
    Param("wage_mult_small", 0.75, "ratio", 0.2, 2.0, "assumption", "wage level of county towns"),
    Param("wage_mult_medium", 0.9, "ratio", 0.2, 2.0, "assumption", "wage level of prefecture cities"),
    Param("wage_mult_large", 1.0, "ratio", 0.2, 2.0, "assumption", "wage level of provincial capitals"),
    Param("wage_mult_megacity", 1.2, "ratio", 0.2, 3.0, "assumption",
          "wage level of Beijing, Shanghai, Shenzhen"),
    Param("school_premium_junior", 0.15, "log points", 0.0, 1.0,
          "de Brauw & Rozelle 2008 (returns to schooling in off-farm work ~5%/year)",
          "wage premium of junior over primary schooling"),
    Param("school_premium_senior", 0.35, "log points", 0.0, 1.5, "as above",
          "wage premium of senior secondary over primary schooling"),
    Param("training_premium", 0.10, "log points", 0.0, 1.0,
          "seed 2.4: 88% of Sunshine trainees found off-farm jobs", "wage premium of training"),
    Param("living_cost_small", 100.0, "RMB/month (2000)", 0.0, 2000.0, "assumption",
          "living cost of a migrant in a county town, scaled by the urban wage index"),
    Param("living_cost_medium", 140.0, "RMB/month (2000)", 0.0, 2000.0, "assumption",
          "living cost in a prefecture city"),
    Param("living_cost_large", 180.0, "RMB/month (2000)", 0.0, 2000.0, "assumption",
          "living cost in a provincial capital"),
    Param("living_cost_megacity", 260.0, "RMB/month (2000)", 0.0, 3000.0, "assumption",
          "living cost in Beijing, Shanghai, Shenzhen"),
    Param("separation_rate", 0.02, "per month", 0.0, 1.0,
          "Knight & Yueh 2004: high job mobility of migrants", "chance an employed migrant loses the job"),
    Param("matching_efficiency", 0.6, "per month", 0.0, 1.0, "assumption",
          "chance a seeker meets an opening when openings are plentiful"),
    Param("network_job_boost", 0.5, "per employed contact", 0.0, 5.0,
          "seed 1.4: 95% found jobs via friends or by themselves",
          "extra job-finding chances per contact employed at the destination (max 4 counted)"),
)


def demand_weights(geo, pars) -> np.ndarray:
    """Share of national migrant labour demand at each destination (sums to 1)."""
    w_prov = geo.gdp_bn_rmb ** pars.demand_gdp_elasticity
    w_prov = w_prov * np.where(geo.prov_region == 0, pars.east_demand_mult, 1.0)
    tier_share = np.array([0.30, 0.35, 0.35, 1.0])
    w = np.zeros(geo.n_dest)
    for j in range(geo.n_dest):
        p = geo.dest_prov[j]
        w[j] = w_prov[p] * tier_share[min(geo.dest_tier[j], 2)]
    # Beijing/Shanghai: the megacity holds most of the municipality's demand
    for j in range(geo.n_dest - 1):
        if geo.dest_tier[j] == 3:
            p = geo.dest_prov[j]
            w[3 * p: 3 * p + 2] = w_prov[p] * 0.1
            w[j] = w_prov[p] * 0.8
    shz = geo.n_dest - 1
    gd = geo.dest_prov[shz]
    w[shz] = w_prov[gd] * pars.shenzhen_share_of_guangdong
    w[3 * gd: 3 * gd + 3] *= 1.0 - pars.shenzhen_share_of_guangdong
    return w / w.sum()


def wage_table(geo, pars, wage_index: float) -> np.ndarray:
    """Migrant monthly wage (RMB, 2000 prices) by destination, schooling, training."""
    tier_mult = np.array([pars.wage_mult_small, pars.wage_mult_medium, pars.wage_mult_large,
                          pars.wage_mult_megacity])
    base = (geo.urban_wage_rmb_year[geo.dest_prov] / 12.0 * wage_index * pars.migrant_wage_ratio
            * tier_mult[geo.dest_tier])
    school = np.exp(np.array([0.0, pars.school_premium_junior, pars.school_premium_senior]))
    train = np.exp(np.array([0.0, pars.training_premium]))
    return base[:, None, None] * school[None, :, None] * train[None, None, :]


def living_cost(geo, pars, wage_index: float) -> np.ndarray:
    """Living cost per destination (RMB/month, 2000 prices)."""
    c = np.array([pars.living_cost_small, pars.living_cost_medium, pars.living_cost_large,
                  pars.living_cost_megacity])
    return c[geo.dest_tier] * wage_index


@njit(cache=True)
def count_workers(loc, hukou, employed, n_dest):
    """Rural-hukou migrants present and employed at each destination."""
    present = np.zeros(n_dest, np.int64)
    working = np.zeros(n_dest, np.int64)
    for i in range(loc.shape[0]):
        d = loc[i]
        if d >= 0 and hukou[i] == RURAL:
            present[d] += 1
            working[d] += employed[i]
    return present, working


def job_chances(demand: np.ndarray, present: np.ndarray, working: np.ndarray, pars
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per destination: chance a seeker finds a job this month, extra layoff chance, and the
    Harris-Todaro employment probability (openings over migrants, capped at 1)."""
    openings = np.maximum(demand - working, 0.0)
    seekers = np.maximum(present - working, 1)
    find = pars.matching_efficiency * np.minimum(1.0, openings / seekers)
    layoff = np.where(working > demand, (working - demand) / np.maximum(working, 1), 0.0)
    emp_rate = np.minimum(1.0, demand / np.maximum(present, 1))
    return find, layoff, emp_rate


@njit(cache=True, parallel=True)
def match_jobs(key_sep, key_find, loc, hukou, emp_in, emp_out, indptr, indices, find, layoff, sep,
               net_boost):
    """Separations of the employed and hires of seekers, from start-of-step status ``emp_in``
    (contacts are read from it, so no thread sees another's update) into ``emp_out``."""
    n = loc.shape[0]
    for i in prange(n):
        d = loc[i]
        emp_out[i] = emp_in[i]
        if d == HOME or hukou[i] != RURAL:
            continue
        if emp_in[i] == 1:
            if uniform(key_sep, i, 0) < sep + layoff[d]:
                emp_out[i] = 0
        else:
            k = 0
            for a in range(indptr[i], indptr[i + 1]):
                c = indices[a]
                if loc[c] == d and emp_in[c] == 1:
                    k += 1
            f = 1.0 - (1.0 - find[d]) ** (1.0 + net_boost * min(k, 4))
            if uniform(key_find, i, 0) < f:
                emp_out[i] = 1
