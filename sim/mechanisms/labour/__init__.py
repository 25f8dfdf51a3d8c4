"""Urban labour markets for migrants, by destination and sector: demand, matching, separations.

Demand for migrant labour at each destination starts from an initial national level spread over
destinations by regional product (eastern provinces weighted up: the flow runs from the west and
centre to the east, seed 1.3), is split over sectors (seed 1.4 shares, manufacturing tilted to
the east) and grows with the regional GDP growth series (``sim/data``) times an employment
elasticity (seed 2.2: a point less of GDP growth removes about 900,000 jobs); with
``local_competition`` on (the default since 0.8) it is instead the residual of total urban demand,
grown with ``urban_labour_output_elasticity``, over the local workforce. Matching follows
Harris & Todaro (1970): the chance of a job falls as seekers outnumber openings; contacts employed
at the destination raise it and steer the seeker to their sector (seed 1.4: 95% found jobs via
friends or by themselves, 2% via public agencies). Openings left unfilled are the labour shortage.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import (
    N_SECTORS,
    NO_SECTOR,
    RURAL,
    SECTOR_NAMES,
    URBAN,
)
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.shocks import choices as shock_choices
from sim.core.shocks import demand_multipliers
from sim.core.state import add_month_away
from sim.mechanisms.labour.demand import (  # noqa: F401  (re-exported: engine, Mesa reference)
    BASE_YEAR,
    RESIDUAL_PARAMS,
    adjust_levels,
    advance_market,
    capacity_offsets,
    demand_weights,
    expected_with_minimum,
    grow_demand,
    initial_demand,
    market_at_start,
    minimum_binding,
    month_factors,
    sector_shares,
    wage_adjusted_demand,
    whole,
)
from sim.mechanisms.labour.gender import (  # noqa: F401  (re-exported: Mesa reference)
    GENDER_PARAMS,
    sex_employment_rate,
    sex_job_chance,
    sex_weights,
)
from sim.mechanisms.labour.matching import match_jobs  # noqa: F401  (re-exported)

_S = SECTOR_NAMES
# the local workforce's sector shares: set in version 0.3 without a table, so estimates
_LOCAL_SHARE_SOURCE = (
    "estimate (each share +/-50%): no table of urban-hukou workers by sector was found. NBS, "
    "China Statistical Yearbook 2009, table 4-7 (employed persons in urban units, 2004; "
    "stats.gov.cn/sj/ndsj/2009/html/E0407e.htm): manufacturing 27.5%, construction 7.6%, "
    "wholesale, retail, hotels and catering 6.9% of 111.0 million, but urban units employ "
    "migrants and leave out private firms and individual businesses"
)
PARAMS = (
    Param(
        "migrant_jobs_initial",
        20656800.0,
        "jobs",
        1.0e5,
        3.0e8,
        "assumption: urban jobs migrants could fill in 1985 (urban employment 128M, CSY 1986)",
        "national demand for migrant labour in 1985 (a later start grows it with regional GDP "
        "to the start year)",
        role="exogenous",
    ),
    Param(
        "demand_growth_elasticity",
        0.9,
        "ratio",
        0.0,
        5.0,
        "seed 2.2 (one point of growth is ~900,000 jobs); hand-set",
        "growth of migrant labour demand per unit of regional GDP growth; read only with"
        " local_competition off (the Harris-Todaro scenario; the default before 0.8)",
        role="behaviour",
        active_when="local_competition == 0",
    ),
    Param(
        "gdp_growth_shift",
        0.0,
        "percentage points",
        -20.0,
        10.0,
        "lever for growth shocks (seed 2.2)",
        "added to the regional GDP growth series",
        role="exogenous",
    ),
    Param(
        "east_demand_mult",
        0.9282,
        "ratio",
        0.1,
        20.0,
        "seed 1.3: flows go from western and central to eastern provinces",
        "weight of eastern provinces in migrant labour demand, relative to GDP",
        role="structural",
    ),
    Param(
        "six_demand_mult",
        1.219,
        "ratio",
        0.1,
        20.0,
        "seed 1.3: Guangdong, Zhejiang, Fujian, Jiangsu, Beijing, Shanghai absorb ~80%; "
        "special economic zones and open coastal cities (1980, 1984)",
        "further weight of the six main destination provinces in migrant labour demand",
        role="structural",
    ),
    Param(
        "demand_gdp_elasticity",
        1.0,
        "ratio",
        0.0,
        3.0,
        "assumption",
        "elasticity of a province's migrant labour demand to its regional product",
        role="structural",
    ),
    Param(
        "shenzhen_share_of_guangdong",
        0.184813,
        "share",
        0.0,
        0.9,
        "assumption; Shenzhen is Guangdong's largest migrant city",
        "share of Guangdong's migrant labour demand located in Shenzhen",
        role="structural",
    ),
    *[
        Param(
            f"demand_share_{s}",
            v,
            "share",
            0.0,
            1.0,
            "seed 1.4 (Cai 2005)",
            f"share of migrant labour demand in {s} (normalised over sectors)",
            role="structural",
        )
        for s, v in zip(_S, (0.25, 0.24, 0.20, 0.18, 0.13), strict=True)
    ],
    Param(
        "manufacturing_export_weight",
        0.8506,
        "share",
        0.0,
        1.0,
        "issue 11 (manufacturing demand follows exports; seed 1.3-1.4: export processing in "
        "the Pearl River Delta); exports by province, CSY 2001 (sim/data)",
        "share of manufacturing demand for migrants placed by provincial exports, not product",
        role="structural",
    ),
    Param(
        "east_manufacturing_tilt",
        1.0,
        "ratio",
        0.1,
        10.0,
        "seed 1.3-1.4: export processing concentrated in the east; 1.0 (no extra tilt) since "
        "version 0.6, when the 1.1 assumption put manufacturing above seed 1.4's share",
        "multiplier of manufacturing's demand share in eastern provinces",
        role="structural",
    ),
    Param(
        "urban_local_workers",
        {"1985": 1.25e8, "1995": 1.7e8, "2004": 1.6e8, "2010": 1.7e8},
        "persons",
        0.0,
        1.0e9,
        "estimate (+/-15%), set in version 0.3 without a table and since checked against "
        "tables read: registered urban employment (units, private enterprises and the "
        "self-employed), mostly urban-hukou workers, was 190.93 M in 1995 and 210.14 M in "
        "1999 (NBS employment table 5-1 on china.org.cn, e-Internet/JJ/HTM/5-1.htm) and "
        "166.14 M in 2004 "
        "(110.99 M in units + 55.15 M private and self-employed; MoLSS/NBS 2004 labour "
        "statistics communique, People's Daily Japanese edition, 19 May 2005); urban "
        "employment after the 2000 census revision, which counts resident migrants, 231.51 M "
        "(2000), 264.76 M (2004); staff and workers 149.08 M (1995), 112.59 M (2000). No "
        "1985 table found; the 2010 point, about the 1995-2004 level, is an assumption",
        "local (urban hukou) urban workforce, for migrant shares of sector workforces",
        role="exogenous",
    ),
    *[
        Param(  # reporting only: the denominators of migrant_share_of_sector
            f"local_share_{s}",
            v,
            "share",
            0.0,
            1.0,
            _LOCAL_SHARE_SOURCE,
            f"share of the local urban workforce in {s}",
            role="exogenous",
        )
        for s, v in zip(_S, (0.045, 0.08, 0.12, 0.40, 0.355), strict=True)
    ],
    Param(
        "demand_wage_elasticity",
        1.121,
        "elasticity",
        0.0,
        3.0,
        "Hamermesh 1993 (Labor Demand): constant-output own-wage elasticities 0.15-0.75; "
        "with output held to its historical path (sim/data), the long-run scale effect "
        "(firms relocating and automating as wages rise) adds to it: estimate, range 0.3-1.2",
        "fall of migrant labour demand per unit rise of the log wage level",
        role="behaviour",
    ),
    Param(
        "separation_rate",
        0.02,
        "per month",
        0.0,
        1.0,
        "Knight & Yueh 2004: high job mobility of migrants",
        "chance an employed migrant loses the job",
        role="behaviour",
    ),
    Param(
        "matching_efficiency",
        0.997,
        "per month",
        0.0,
        1.0,
        "assumption",
        "chance a seeker meets an opening when openings are plentiful",
        role="behaviour",
    ),
    Param(
        "network_job_boost",
        0.5,
        "per employed contact",
        0.0,
        5.0,
        "seed 1.4: 95% found jobs via friends or by themselves",
        "extra job-finding chances per contact employed at the destination (max 4 counted)",
        role="behaviour",
    ),
    Param(
        "network_sector_pull",
        1.0,
        "per contact",
        0.0,
        20.0,
        "seed 1.4: chain migration shapes the workforce",
        "weight of each employed contact's sector when a job's sector is drawn",
        role="behaviour",
    ),
    Param(
        "public_employment_services",
        {"mode": "step", "1985": 0.0, "2005": 0.02},
        "share",
        0.0,
        1.0,
        "seed 1.4: 2% found jobs through public agencies; 2.4 Spring Breeze "
        "(steps at dated documents, sim/data/policies.toml)",
        "extra job-finding chance from public employment services",
        role="policy",
    ),
    Param(
        "demand_shocks",
        "none",
        "episodes",
        0,
        0,
        "sim/data/shocks.toml: monthly output of the sectors hit, from NBS releases",
        "demand shocks applied: none, history (2008-09 export collapse, 2020 lockdown) or "
        "history+<hypothetical event>",
        kind=str,
        choices=shock_choices(),
        role="policy",
    ),
    Param(
        "shock_employment_elasticity",
        0.7,
        "ratio",
        0.0,
        1.5,
        "estimate (range 0.3-1.0): short-run fall of migrant jobs per fall of output; below 1 "
        "because firms hoard labour, near 1 for the seasonal, contract-less migrant jobs",
        "migrant labour demand moves by this share of a shock's output deviation",
        role="structural",
        active_when="demand_shocks != none",
    ),
    *RESIDUAL_PARAMS,
    *GENDER_PARAMS,
)


@njit(cache=True, parallel=True)
def count_workers(p, n_dest):
    """Rural-hukou migrants present per destination, and employed per destination and sector
    (partial counts by fixed chunk in parallel, ``sim.core.chunks``)."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    n = loc.shape[0]
    c_present = np.zeros((N_CHUNKS, n_dest), np.int64)
    c_working = np.zeros((N_CHUNKS, n_dest, N_SECTORS), np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        present = c_present[c]
        working = c_working[c]
        for i in range(lo, hi):
            d = loc[i]
            if d >= 0 and hukou[i] == RURAL:
                present[d] += 1
                if sector[i] != NO_SECTOR:
                    working[d, sector[i]] += 1
    return c_present.sum(axis=0), c_working.sum(axis=0)


@njit(cache=True, parallel=True)
def count_settled(p, n_dest):
    """Persons aged 15-64 who converted to a local hukou, by destination: under
    ``local_competition`` they join the local workforce."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    n = loc.shape[0]
    c_out = np.zeros((N_CHUNKS, n_dest), np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        out = c_out[c]
        for i in range(lo, hi):
            d = loc[i]
            if d >= 0 and hukou[i] == URBAN and 15 <= age[i] < 65:
                out[d] += 1
    return c_out.sum(axis=0)


def competing(sim: Any, present: np.ndarray, working: np.ndarray) -> np.ndarray:
    """Migrants present who compete for wage jobs: all of them, less the self-employed who are
    not weighing a wage job this month when own-account work is a choice
    (``SelfEmployment.not_seeking``); they neither dilute the chance of a job nor count as
    unemployed in the wage adjustment. Never fewer than those in wage jobs (``working``, by
    sector): the self-employed not seeking are last month's count, and after many of them
    leave a destination, present less that count could fall below the employed. Unchanged
    (the same array) in the fallback model."""
    off = sim.mech["self_employment"].not_seeking(sim)
    if off is None:
        return present
    return np.maximum(present - off, working.sum(axis=1))


def job_chances(demand: np.ndarray, present: np.ndarray, working: np.ndarray, pars):
    """Per destination: job-finding chance this month, openings by sector, layoff chance by
    sector, and the Harris-Todaro employment probability (jobs over migrants, capped at 1)."""
    openings = np.maximum(demand - working, 0.0)
    employed = working.sum(axis=1)
    seekers = np.maximum(present - employed, 1)
    find = np.minimum(
        1.0,
        pars.matching_efficiency * np.minimum(1.0, openings.sum(1) / seekers)
        + pars.public_employment_services,
    )
    layoff = np.where(working > demand, (working - demand) / np.maximum(working, 1), 0.0)
    emp_rate = np.minimum(1.0, demand.sum(axis=1) / np.maximum(present, 1))
    return find, openings, layoff, emp_rate


class Labour(Mechanism):
    """Demand grows with regional GDP; wage levels move with the month's shortage and
    unemployment; demand then responds to the new wages (seed 1.4: wages flat for a decade;
    the shortage of about 10% in the Pearl River Delta in 2004-05). In the months of a demand
    shock (``demand_shocks``, ``sim/data/shocks.toml``) the month's demand in the sectors hit
    is multiplied by 1 + e (r - 1), r the sectors' output relative to the year's path and e
    ``shock_employment_elasticity``; above the jobs left, the surplus workers are laid off."""

    name = "labour"
    doc = (
        "base demand grows with regional GDP; workers are counted; wage levels move with the "
        "month's shortage and unemployment; demand responds to the new wages (and to a demand "
        "shock in its months)"
    )
    params = PARAMS
    streams = ("labour.capacity",)
    results = (
        Indicator("min_wage_binding_share", "share",
                  "formal demand in destination-sector cells whose market wage level is below "
                  "the local minimum wage (0 where none is set)"),
        Indicator("wage_level_over_minimum", "ratio",
                  "demand-weighted mean of the market wage level over the local minimum wage "
                  "(0 where none is set)"),
    )

    def step(self, sim: Any) -> None:
        p, pars, yq = sim.persons, sim.pars, sim.yq
        settled = count_settled(p.core, sim.geo.n_dest) if pars.local_competition else None
        sim.base_demand, sim.urban_total, sim.urban_local = advance_market(
            sim.base_demand,
            sim.urban_total,
            sim.urban_local,
            yq.growth,
            sim.geo,
            pars,
            settled,
            month_factors(sim.geo, pars, sim.year, sim.month),
        )
        sim.ref_levels = sim.ref_levels * np.exp(pars.wage_drift_year / 12.0)
        self.adjust_wages(sim)
        shock = demand_multipliers(  # a month of an episode in sim/data/shocks.toml
            pars.demand_shocks, sim.year, sim.month, pars.shock_employment_elasticity
        )
        if shock is not None:
            sim.demand = sim.demand * shock[None, :]
        sc = sim.rec.scalars
        sc["min_wage_binding_share"][sim.t], sc["wage_level_over_minimum"][sim.t] = (
            minimum_binding(sim.levels, yq.minw, sim.demand))

    def adjust_wages(self, sim: Any) -> None:
        """A month of wage adjustment to the counted shortage and unemployment, and demand at
        the new wages (also run between the arrival rounds of the initial stock)."""
        p, pars = sim.persons, sim.pars
        present, working = count_workers(p.core, sim.geo.n_dest)
        present = competing(sim, present, working)
        sim.counts = (present, working)  # start-of-month counts, read by the decisions
        cap = self.capacity(sim)
        shortage = np.maximum(cap - working, 0.0) / np.maximum(cap, 1e-12)
        unemp = 1.0 - working.sum(axis=1) / np.maximum(present, 1)
        sim.levels = adjust_levels(sim.levels, shortage, np.where(present > 0, unemp, 0), pars,
                                   sim.yq.minw, sim.yq.minwage_prob)
        paid = self.paid_levels(sim)
        cost = getattr(sim, "labour_cost_mult", None)  # employers' insurance (insurance stage)
        sim.demand = wage_adjusted_demand(
            sim.base_demand, paid if cost is None else paid * cost, sim.ref_levels, pars
        )

    @staticmethod
    def capacity(sim: Any) -> np.ndarray:
        """Openings a destination-sector can fill this month (agents): the demand, or with
        ``whole_openings`` the demand in whole agents (:func:`whole`; one fixed offset per
        cell from the stream ``labour.capacity``, so the same in every scenario of a seed)."""
        if not sim.pars.whole_openings:
            return sim.demand
        off = getattr(sim, "capacity_offset", None)
        if off is None or off.shape != sim.demand.shape:
            sim.capacity_offset = capacity_offsets(sim.seed, sim.demand.shape)
        return whole(sim.demand, sim.capacity_offset)

    @staticmethod
    def economy_weights(sim: Any) -> np.ndarray:
        """Share of the urban economy at each destination (sums to 1): the demand weights
        without the extra pull of the east and the six main destinations on migrant labour."""
        pars = vars(sim.params.at(sim.start_year)).copy()
        pars.update(east_demand_mult=1.0, six_demand_mult=1.0)
        return demand_weights(sim.geo, SimpleNamespace(**pars))

    @staticmethod
    def paid_levels(sim: Any) -> np.ndarray:
        """Wage levels as paid: raised towards the minimum wage where it is enforced."""
        return expected_with_minimum(sim.levels, sim.yq.minw, sim.yq.minwage_prob)

    def expected_wages(self, sim: Any) -> np.ndarray:
        """Expected monthly wage by destination, schooling, training: the demand-weighted wage
        level (with the minimum wage where enforced), times the chance of being paid in full
        (arrears) and net of insurance contributions."""
        yq = sim.yq
        share = sim.demand / np.maximum(sim.demand.sum(axis=1, keepdims=True), 1e-12)
        level = (share * self.paid_levels(sim)).sum(axis=1)
        paid = 1.0 - (share * yq.arrears_risk[None, :]).sum(axis=1)
        return (level * paid * (1.0 - yq.contrib_loss))[:, None, None] * yq.mult[None, :, :]

    @staticmethod
    def employment_rate(sim: Any, present: np.ndarray, working: np.ndarray) -> np.ndarray:
        """Harris-Todaro employment probability by destination and sex (jobs open to the sex
        over migrants, at most 1), shape (n_dest, N_SEX)."""
        return sex_employment_rate(sim.demand, present, sex_weights(sim.pars))

    @staticmethod
    def observed_employment_rate(
        sim: Any, present: np.ndarray, working: np.ndarray
    ) -> np.ndarray:
        """Employment rate a migrant can see at each destination: jobs filled over migrants
        present; where none are present, the chance the first arrival gets a job (at most 1)."""
        filled = working.sum(axis=1) / np.maximum(present, 1)
        first = np.minimum(1.0, sim.demand.sum(axis=1))
        return np.where(present > 0, filled, first)

    @staticmethod
    def counts(sim: Any) -> tuple[np.ndarray, np.ndarray]:
        """Rural-hukou migrants present by destination who compete for wage jobs (see
        :func:`competing`), and employed by destination and sector."""
        present, working = count_workers(sim.persons.core, sim.geo.n_dest)
        return competing(sim, present, working), working


class Matching(Mechanism):
    """Separations and hires by sector, newcomers included; jobs go first through contacts
    (seed 1.4: 95% of migrants found jobs through friends or by themselves)."""

    name = "matching"
    doc = "separations and hires by sector, newcomers included; a month more away"
    buffers = (
        StateField("sector_before", "int8",
                   "sector at the start of matching (NO_SECTOR: no job then)"),
    )
    streams = ("labour.separation", "labour.hire", "labour.job")

    def step(self, sim: Any) -> None:
        self.match(sim)
        add_month_away(sim.persons.core)

    def match(self, sim: Any, tick: int | None = None) -> None:
        """One round of separations and hires (``tick`` -1 places the initial stock)."""
        p, pars, yq, buf = sim.persons, sim.pars, sim.yq, sim.buf
        present, working = Labour.counts(sim)
        find, openings, layoff, _ = job_chances(Labour.capacity(sim), present, working, pars)
        sexw = sex_weights(pars)
        find_sex = sex_job_chance(find, openings, sexw)
        buf.sector_before[:] = p.sector
        match_jobs(
            sim.key("labour.separation", tick),
            sim.key("labour.hire", tick),
            sim.key("labour.job", tick),
            p.core,
            buf.sector_before,
            sim.network.arrays,
            sim.network.max_degree,
            find_sex,
            sexw,
            openings,
            layoff,
            pars.separation_rate,
            pars.network_job_boost,
            pars.network_sector_pull,
            yq.informal_prob,
            yq.minwage_prob,
            yq.insured_prob,
            pars.training_job_boost,
            sim.mech["self_employment"].offer_acceptance(sim),
        )
