"""Hukou (household registration) by city tier: the barrier to migrants and how it is crossed.

A destination's hukou penalty stands for what a non-local hukou costs a migrant: schooling for
children, social insurance and housing (seed 1.5). It differs by tier and falls with the reforms
(seed 2.3): small cities give local treatment for a stable job and housing; medium and some
large cities have relaxed requirements; Beijing, Shanghai and Shenzhen admit only the most
educated and best paid. Penalties are yearly paths, the channel for hukou scenarios.

Migrants with a stable job (a year or more away, employed) may convert to local hukou at a
tier-specific rate; megacities admit only those with senior schooling. Conversion gives up the
rural land right, which weighs against it (seed 2.3: many are reluctant to give up land), so
the rate falls with the household's land. Converted persons leave the migrant stock.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import EXIT_CAUSES, HOME, JOB_INFORMAL, NO_SECTOR, RURAL, URBAN
from sim.core.land import is_fixed, land_per_worker
from sim.core.mechanism import Indicator, Mechanism
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import flat_nonzero, household

PARAMS = (
    Param(
        "hukou_penalty_small",
        {"mode": "step", "1985": 1.25, "1998": 0.7, "2002": 0.4},
        "utils",
        0.0,
        20.0,
        "seed 2.3; 1997 small-town pilots and the 2001 small-town hukou reform "
        "(steps at dated documents, sim/data/policies.toml)",
        "hukou barrier in county towns",
        role="policy",
    ),
    Param(
        "hukou_penalty_medium",
        {"mode": "step", "1985": 1.6, "2002": 1.05, "2006": 0.9},
        "utils",
        0.0,
        20.0,
        "seed 2.3: relaxed requirements in medium cities "
        "(steps at dated documents, sim/data/policies.toml)",
        "hukou barrier in prefecture cities",
        role="policy",
    ),
    Param(
        "hukou_penalty_large",
        {"mode": "step", "1985": 1.9, "2006": 1.4},
        "utils",
        0.0,
        20.0,
        "seed 2.3: relaxed in some large cities "
        "(steps at dated documents, sim/data/policies.toml)",
        "hukou barrier in provincial capitals",
        role="policy",
    ),
    Param(
        "hukou_penalty_megacity",
        {"mode": "step", "1985": 2.3, "2006": 1.8},
        "utils",
        0.0,
        20.0,
        "seed 2.3: Beijing, Shanghai, Shenzhen only for the wealthiest and most educated "
        "(steps at dated documents, sim/data/policies.toml)",
        "hukou barrier in megacities",
        role="policy",
    ),
    Param(
        "conversion_rate_small",
        0.03,
        "per year",
        0.0,
        1.0,
        "seed 2.3: stable job and housing give local treatment in small cities",
        "yearly chance an eligible migrant in a county town converts",
        role="policy",
    ),
    Param(
        "conversion_rate_medium",
        0.01,
        "per year",
        0.0,
        1.0,
        "seed 2.3",
        "yearly conversion chance in prefecture cities",
        role="policy",
    ),
    Param(
        "conversion_rate_large",
        0.004,
        "per year",
        0.0,
        1.0,
        "seed 2.3",
        "yearly conversion chance in provincial capitals",
        role="policy",
    ),
    Param(
        "conversion_rate_megacity",
        0.001,
        "per year",
        0.0,
        1.0,
        "seed 2.3",
        "yearly conversion chance in megacities (senior schooling only)",
        role="policy",
    ),
    Param(
        "permit_rate_formal",
        0.0436303,
        "per month",
        0.0,
        1.0,
        "seed 1.2: ~40% of migrants hold a temporary or permanent residence permit",
        "monthly chance a migrant in a formal job registers (permit)",
        role="behaviour",
    ),
    Param(
        "permit_rate_informal",
        0.01,
        "per month",
        0.0,
        1.0,
        "seed 1.2: the rest are the 'floating population' in informal channels",
        "monthly chance a migrant without a formal job registers",
        role="behaviour",
    ),
    Param(
        "land_attachment",
        0.3,
        "log points per mean land",
        0.0,
        5.0,
        "seed 1.5, 2.3: land is income and the ultimate safety net",
        "fall of the log conversion rate per unit of land relative to the provincial mean",
        role="behaviour",
    ),
)


def penalties(pars) -> np.ndarray:
    """Hukou penalty by tier (small, medium, large, megacity) at the resolved year."""
    return np.array(
        [
            pars.hukou_penalty_small,
            pars.hukou_penalty_medium,
            pars.hukou_penalty_large,
            pars.hukou_penalty_megacity,
        ]
    )


def conversion_rates(pars) -> np.ndarray:
    return np.array(
        [
            pars.conversion_rate_small,
            pars.conversion_rate_medium,
            pars.conversion_rate_large,
            pars.conversion_rate_megacity,
        ]
    )


@njit(cache=True, parallel=True)
def draw_conversions(
    key,
    p,
    hs,
    hh_start,
    fixed,
    county_prov,
    mean_land_prov,
    dest_tier,
    rate_month_dest,
    land_attach,
    converted,
):
    """Convert eligible migrants who take local hukou this month (marked in ``converted``).
    The draws read the state before any conversion of the month (land per worker counts the
    household's rural members), then the converted change hukou in a second loop."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    months_away = p.months_away
    school = p.school
    land_pw = hs.land_mu_per_worker
    land = hs.land_mu
    n = loc.shape[0]
    for i in prange(n):
        converted[i] = 0
        d = loc[i]
        if d == HOME or hukou[i] != RURAL or sector[i] == NO_SECTOR or months_away[i] < 12:
            continue
        tier = dest_tier[d]
        if tier == 3 and school[i] < 2:
            continue
        h = household(p, i)
        lpw = land_per_worker(h, hh_start, loc, hukou, land_pw, land, fixed)
        rel = lpw / mean_land_prov[county_prov[p.hh_county[h]]]
        r = rate_month_dest[d] * np.exp(-land_attach * rel)
        if uniform(key, i, 0) < r:
            converted[i] = 1
    for i in prange(n):
        if converted[i]:
            hukou[i] = URBAN


@njit(cache=True, parallel=True)
def draw_permits(key, p, rate_formal, rate_informal):
    """Migrants register for a residence permit, mostly through formal employers (seed 1.2)."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    permit = p.permit
    for i in prange(loc.shape[0]):
        if loc[i] == HOME or hukou[i] != RURAL or permit[i] == 1:
            continue
        formal = sector[i] != NO_SECTOR and (job[i] & JOB_INFORMAL) == 0
        r = rate_formal if formal else rate_informal
        if uniform(key, i, 0) < r:
            permit[i] = 1


class Hukou(Mechanism):
    """Settled, employed migrants may convert to local hukou; migrants register for residence
    permits (seed 2.3: barriers and conversion differ by city tier)."""

    name = "hukou"
    doc = "settled, employed migrants may convert to local hukou; migrants register for permits"
    params = PARAMS
    streams = ("hukou", "hukou.permit")
    results = (
        Indicator("children_settled", "agents", "children under 15 who leave the rural "
                  "households with a parent taking urban hukou", True, True),
    )

    def step(self, sim: Any) -> None:
        p, hh, pars, yq = sim.persons, sim.households, sim.pars, sim.yq
        converted = np.empty(p.n, np.int8)  # a temporary: fully written here, read only here
        draw_conversions(
            sim.key("hukou"),
            p.core,
            hh.core,
            sim.places.hh_start,
            is_fixed(pars),
            sim.places.county_prov,
            sim.mean_land_now,
            sim.geo.dest_tier,
            yq.conv_month,
            pars.land_attachment,
            converted,
        )
        idx = flat_nonzero(converted)
        sim.exits[EXIT_CAUSES.index("hukou")] = idx.size
        sim.rec.scalars["children_settled"][sim.t] = sim.mech["household"].release_children(
            sim, idx, settled=True)
        draw_permits(
            sim.key("hukou.permit"),
            p.core,
            pars.permit_rate_formal,
            pars.permit_rate_informal,
        )
