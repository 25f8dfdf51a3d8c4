"""Migrant wages: levels by destination, sector and schooling; minimum wage; arrears; informality.

Wages start from the provincial average urban wage times a migrant ratio (migrants are paid less
than locals for the same job, seed 1.4) and then follow the migrant labour market only: each
month the level at a destination-sector moves up with unfilled openings and down with
unemployment, so an abundant supply holds wages down (Pearl River Delta migrant wages rose only
RMB 68 in 12 years, seed 1.4). A person's wage is that level times schooling, training and a
personal factor (log-normal, keyed by person and birth year).

A job is covered by the minimum wage only where it is enforced (a draw at hiring against the
enforcement probability: "many employers disregard it", seed 1.4). Wages go unpaid in a month
with a sector-specific risk that inspection and the arrears campaigns reduce (seed 2.2: about 80%
fully paid in 2005 after the campaign; worst in construction). A job is informal (no contract,
no insurance) with a sector-specific chance that contract enforcement reduces (seed 1.4, 2.2).
The three enforcement chances are outcomes of labour inspection capacity
(``sim/mechanisms/inspection.py``), passed in the year's inputs.
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import JOB_INSURED, JOB_MINWAGE, NO_SECTOR, SECTOR_NAMES
from sim.core.mechanism import Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform

_S = SECTOR_NAMES


def published_min_wage_path() -> dict:
    """The default ``min_wage_ratio`` steps: 0 to 1993, the 1993 Regulations (0.3, an
    estimate), the 2004 Provisions (0.295) and the 2008 freeze (0.257 from 2009), then each year
    from 2011 the ``ratio`` column of ``sim/data/min_wage_ratio.csv`` (held after its last)."""
    path: dict = {"mode": "step", "1985": 0.0, "1994": 0.3, "2004": 0.295, "2009": 0.257}
    with resources.files("sim.data").joinpath("min_wage_ratio.csv").open() as f:
        for row in csv.DictReader(f):
            if int(row["year"]) >= 2011:
                path[row["year"]] = float(row["ratio"])
    return path


PARAMS = (
    Param(
        "migrant_wage_ratio",
        0.9,
        "ratio",
        0.1,
        3.0,
        "seed 1.4 (wage brackets vs the average urban wage); Wang & Cai 2005",
        "migrant wage at the start relative to the provincial average urban wage",
        role="structural",
    ),
    Param(
        "wage_mult_small",
        0.8,
        "ratio",
        0.2,
        2.0,
        "assumption",
        "wage level of county towns",
        role="structural",
    ),
    Param(
        "wage_mult_medium",
        0.9,
        "ratio",
        0.2,
        2.0,
        "assumption",
        "wage level of prefecture cities",
        role="structural",
    ),
    Param(
        "wage_mult_large",
        1.0,
        "ratio",
        0.2,
        2.0,
        "assumption",
        "wage level of provincial capitals",
        role="structural",
    ),
    Param(
        "wage_mult_megacity",
        1.15,
        "ratio",
        0.2,
        3.0,
        "assumption",
        "wage level of Beijing, Shanghai, Shenzhen",
        role="structural",
    ),
    Param(
        "school_premium_junior",
        0.15,
        "log points",
        0.0,
        1.0,
        "de Brauw & Rozelle 2008 (returns to schooling in off-farm work ~5%/year)",
        "wage premium of junior over primary schooling",
        role="structural",
    ),
    Param(
        "school_premium_senior",
        0.35,
        "log points",
        0.0,
        1.5,
        "as above",
        "wage premium of senior secondary over primary schooling",
        role="structural",
    ),
    Param(
        "training_premium",
        0.10,
        "log points",
        0.0,
        1.0,
        "seed 1.4, 2.4: training is reflected in migrants' incomes (Cai 2005)",
        "wage premium of skills training",
        role="structural",
    ),
    Param(
        "wage_dispersion_log_sd",
        0.35,
        "log points",
        0.0,
        1.5,
        "assumption",
        "spread of personal wage factors",
        role="structural",
    ),
    *[
        Param(
            f"sector_wage_{s}",
            v,
            "ratio",
            0.2,
            3.0,
            "assumption",
            f"wage level in {s}",
            role="structural",
        )
        for s, v in zip(_S, (1.1, 1.0, 0.9, 0.95, 1.0), strict=True)
    ],
    Param(
        "wage_adjust_shortage",
        1.4022,
        "log points per year per unit shortage",
        0.0,
        10.0,
        "seed 1.4: ~30% of Shenzhen firms raise wages to fill vacancies",
        "wage rise with openings",
        role="behaviour",
    ),
    Param(
        "wage_raise_from_paid",
        0.3,
        "share per month",
        0.0,
        1.0,
        "seed 1.4: many employers treat the minimum wage as the going (even the maximum) wage, "
        "and about 30% of firms short of workers will raise wages to fill vacancies (Shenzhen "
        "2006 survey), so their raise starts from what they pay: 0.3 of the cell's employers a "
        "month (range 0.1-1); 0 keeps the latent market level (the rule before 0.18)",
        "share of the gap between the market wage level and the paid wage (the enforced "
        "minimum) that a destination-sector short of workers closes in a month before raising",
        role="behaviour",
    ),
    Param(
        "frictional_shortage",
        0.073,
        "share",
        0.0,
        0.15,
        "assumption (range 0.02-0.08): openings unfilled in the normal course of turnover "
        "(separation_rate 2% a month, a month or two to fill)",
        "unfilled share of demand that does not raise wages",
        role="behaviour",
    ),
    Param(
        "wage_adjust_unemployment",
        0.2,
        "log points per year per unit unemployment",
        0.0,
        10.0,
        "seed 1.4: surplus labour holds migrant wages down",
        "wage fall with unemployment",
        role="behaviour",
    ),
    Param(
        "wage_drift_year",
        0.015,
        "log points per year",
        -0.1,
        0.2,
        "assumption",
        "productivity drift of migrant wage levels",
        role="exogenous",
    ),
    Param(
        "min_wage_ratio",
        published_min_wage_path(),
        "ratio",
        0.0,
        1.5,
        "steps at the 1993 Regulations and the 2004 Provisions (seed 2.1; "
        "sim/data/policies.toml); 2004 and 2010 levels: Xing & Xu (2016) table 4, "
        "mean over 30 provinces of the city-level ratio to the local average wage "
        "(0.295, 0.257); the fall dated 2009, the freeze of November 2008 (China Daily "
        "2010-08-19); from 2011 the published tables (sim/data/min_wage_ratio.csv: "
        "provincial first-grade minimum wages over NBS average wages, scaled to Xing & Xu's "
        "concept; about flat to 2016, 0.185 by 2023; held after 2024); "
        "1994: estimate, range 0.2-0.4",
        "minimum wage relative to the local average urban wage",
        role="policy",
    ),
    *[
        Param(
            f"arrears_risk_{s}",
            v,
            "per month",
            0.0,
            1.0,
            "seed 1.4, 2.2: arrears worst in construction",
            f"chance of unpaid wages in {s}",
            role="behaviour",
        )
        for s, v in zip(_S, (0.8, 0.35, 0.3, 0.3, 0.35), strict=True)
    ],
    *[
        Param(
            f"informal_prob_{s}",
            v,
            "probability",
            0.0,
            1.0,
            "seed 1.4: contracts rare (Suizhou: 0 of 134 firms); 2.2",
            f"chance a new job in {s} is informal",
            role="behaviour",
        )
        for s, v in zip(_S, (0.85, 0.55, 0.8, 0.75, 0.7), strict=True)
    ],
    Param(
        "living_cost_small",
        90.0,
        "RMB/month (2000)",
        0.0,
        2000.0,
        "assumption",
        "living cost of a migrant in a county town",
        role="exogenous",
    ),
    Param(
        "living_cost_medium",
        120.0,
        "RMB/month (2000)",
        0.0,
        2000.0,
        "assumption",
        "living cost in a prefecture city",
        role="exogenous",
    ),
    Param(
        "living_cost_large",
        150.0,
        "RMB/month (2000)",
        0.0,
        2000.0,
        "assumption",
        "living cost in a provincial capital",
        role="exogenous",
    ),
    Param(
        "living_cost_megacity",
        220.0,
        "RMB/month (2000)",
        0.0,
        3000.0,
        "assumption",
        "living cost in Beijing, Shanghai, Shenzhen",
        role="exogenous",
    ),
)


def sector_vector(pars, prefix: str) -> np.ndarray:
    return np.array([getattr(pars, f"{prefix}_{s}") for s in SECTOR_NAMES])


def initial_levels(geo, pars, wage_index: float) -> np.ndarray:
    """Wage level (RMB/month, 2000 prices, primary schooling) by destination and sector."""
    tier_mult = np.array(
        [pars.wage_mult_small, pars.wage_mult_medium, pars.wage_mult_large, pars.wage_mult_megacity]
    )
    base = (
        geo.urban_wage_rmb_year[geo.dest_prov]
        / 12.0
        * wage_index
        * pars.migrant_wage_ratio
        * tier_mult[geo.dest_tier]
    )
    return base[:, None] * sector_vector(pars, "sector_wage")[None, :]


def levels_at_start(geo, params, start_year: int, base_year: int = 1985) -> np.ndarray:
    """Wage levels at the start of a run: the 1985 levels moved along the drift path to the
    start year (a later start begins on the path a 1985 start follows, without tightness)."""
    years = geo.national["year"]
    k = int(np.clip(np.searchsorted(years, base_year), 0, years.size - 1))
    pars = params.at(base_year)
    levels = initial_levels(geo, pars, float(geo.national["urban_wage_real_index"][k]))
    drift = sum(params.at(y).wage_drift_year for y in range(base_year, start_year))
    return levels * np.exp(drift)


def person_multipliers(pars) -> np.ndarray:
    """exp(schooling and training premia), shape (3, 2)."""
    s = np.exp(np.array([0.0, pars.school_premium_junior, pars.school_premium_senior]))
    t = np.exp(np.array([0.0, pars.training_premium]))
    return s[:, None] * t[None, :]


def living_cost(geo, pars) -> np.ndarray:
    """Living cost per destination (RMB/month, 2000 prices, constant in real terms)."""
    c = np.array(
        [
            pars.living_cost_small,
            pars.living_cost_medium,
            pars.living_cost_large,
            pars.living_cost_megacity,
        ]
    )
    return c[geo.dest_tier]


def min_wage(geo, pars, wage_index: float) -> np.ndarray:
    """Minimum wage per destination (RMB/month, 2000 prices); 0 where none."""
    return pars.min_wage_ratio * geo.urban_wage_rmb_year[geo.dest_prov] / 12.0 * wage_index


@njit(inline="always", cache=True)
def personal_factor(key, i, birth_year, sd):
    """Log-normal personal wage factor (mean 1), fixed for a person over life."""
    u1 = uniform(key, i, birth_year * 2 + 1)
    u2 = uniform(key, i, birth_year * 2 + 2)
    z = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)
    return np.exp(sd * z - 0.5 * sd * sd)


@njit(cache=True, parallel=True)
def pay(
    key_ability,
    key_arrears,
    year,
    p,
    levels,
    mult,
    minw,
    arrears_risk,
    sd,
    remit_share,
    contrib,
    wage_out,
    paid_out,
    remit_out,
):
    """This month's wage (RMB, 2000 prices), whether it was paid in full, and the remittance sent
    home (a share of what was paid), per employed migrant; 0 for everyone else. Jobs flagged
    JOB_MINWAGE pay at least the minimum wage."""
    age = p.age
    school = p.school
    trained = p.trained
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    n = age.shape[0]
    for i in prange(n):
        wage_out[i] = 0.0
        paid_out[i] = 0
        remit_out[i] = 0.0
        d = loc[i]
        if d < 0 or sector[i] == NO_SECTOR or hukou[i] != 0:
            continue
        s = sector[i]
        w = (
            levels[d, s]
            * mult[school[i], trained[i]]
            * personal_factor(key_ability, i, year - age[i], sd)
        )
        if (job[i] & JOB_MINWAGE) != 0 and w < minw[d]:
            w = minw[d]
        if (job[i] & JOB_INSURED) != 0:
            w *= 1.0 - contrib
        wage_out[i] = w
        if uniform(key_arrears, i, 0) >= arrears_risk[s]:
            paid_out[i] = 1
            remit_out[i] = remit_share * w


class Pay(Mechanism):
    """Wages paid this month: the level for the job, the person's schooling, training and own
    factor; the minimum wage where the job respects it; arrears; remittances (seed 1.4)."""

    name = "pay"
    doc = "wages, minimum wage, arrears and remittances of the month"
    params = PARAMS
    buffers = (
        StateField("wage", "float32", "wage paid this month (RMB, 2000 prices)"),
        StateField("paid", "int8", "1 = paid in full this month"),
        StateField("remit", "float32", "remitted this month (RMB, 2000 prices)"),
    )
    streams = ("wages.ability", "wages.arrears")

    def step(self, sim: Any) -> None:
        p, pars, yq, buf = sim.persons, sim.pars, sim.yq, sim.buf
        pay(
            sim.key("wages.ability", 0),
            sim.key("wages.arrears"),
            sim.year,
            p.core,
            sim.levels,
            yq.mult,
            yq.minw,
            yq.arrears_risk,
            pars.wage_dispersion_log_sd,
            pars.remit_share,
            pars.insurance_contribution_rate,
            buf.wage,
            buf.paid,
            buf.remit,
        )
