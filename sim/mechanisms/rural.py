"""The rural side as a labour reserve: surplus labour and underemployment of the workers at home.

Two yearly (December) indicators of the farm of :mod:`sim.mechanisms.household` (seed 1.1: "an
unemployment and underemployment rate of over 30%"; seed 1.2, 3.2: 150-180 million surplus rural
workers). Both read the state only; they feed back into no rule, so no other number of a run
moves when they are recorded.

The farm of household h in province p is Cobb-Douglas in its land T_h (mu) and its rural-hukou
workers at home L_h, as in ``household.home_income``:

    Y_h = A_p * T_h**alpha * L_h**(1 - alpha),  T_h the household's land (``land_tenure``),

with alpha = ``land_output_elasticity``. The marginal product of labour is
MP_h = (1 - alpha) * Y_h / L_h.

**Surplus labour** (Lewis 1954; Fei and Ranis 1961): labour whose marginal product is below a
reference wage. The reference is the farm income per worker that sets A_p in
``household.log_farm_productivity``: the average product of a household with all its workers at
home and the provincial mean land per worker m_p, w_p = A_p * m_p**alpha (the institutional wage
of Fei and Ranis follows the average, not the marginal, product). The k-th worker at home is
surplus when MP at L = k is below ``surplus_mp_share`` * w_p, that is beyond

    K*_h = T_h / m_p * ((1 - alpha) / s) ** (1 / alpha)

workers, so the household's surplus is max(L_h - K*_h, 0) workers (persons, not rounded). A_p
cancels: surplus falls only as workers leave, or with more land per worker; under the fixed
tenure (from 2003, :mod:`sim.core.land`) it also rises as a household grows on the same
land. m_p is the start year's mean: the institutional wage is fixed in land terms.

**Underemployment rate**: the labour-requirement method. A mu of arable land needs
``labour_days_per_mu`` days a year and a full-time farm worker gives ``farm_days_per_worker``
days, so the land needs N_h = T_h * d / D workers; the rate is sum_h max(L_h - N_h, 0) / sum_h L_h
over the workers at home.

Persons of the model are of working age (15-64: they enter at 15 and leave at 65), so the workers
at home are the rural-hukou persons with ``loc == HOME``. Under ``ht_mode`` (one national home
income) the land and the workers left are still measured the same way. See
``docs/markets/rural.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.land import is_fixed
from sim.core.mechanism import Indicator, Mechanism
from sim.core.params import Param
from sim.core.state import rural_members

PARAMS = (
    Param(
        "surplus_mp_share",
        0.6,
        "share",
        0.05,
        1.0,
        "Lewis 1954, Fei-Ranis 1961 (surplus: marginal product below the institutional wage, "
        "which follows the average product; Ranis 2004, Yale EGC DP 900); 0.6 = 1 - alpha: "
        "below the marginal product of a full household with the provincial mean land",
        "share of the reference farm income per worker (provincial average product) below "
        "which the marginal product of a worker at home counts as surplus",
        role="structural",
    ),
    Param(
        "labour_days_per_mu",
        30.0,
        "days per mu and year",
        5.0,
        80.0,
        "assumption anchored on Kong Xiangzhi 2019 (Gaige 2019(5)): 130 million full-time "
        "farm workers of 300 days in 2016 over ~2.0 billion arable mu = ~19 days per mu; "
        "about 1.5 times that before the mechanisation of the 2000s",
        "days of farm work a year that a mu of arable land needs (crops, livestock, sidelines)",
        role="structural",
    ),
    Param(
        "farm_days_per_worker",
        300.0,
        "days per year",
        100.0,
        360.0,
        "Kong Xiangzhi 2019 (Gaige 2019(5)): 300 days as the standard working year of a farm "
        "worker",
        "days of farm work of a fully employed worker in a year",
        role="structural",
    ),
)


@njit(cache=True, parallel=True)
def reserve_by_household(
    hh_start, p, hs, fixed, hh_prov, mean_land_prov, k_factor, workers_per_mu, home, surplus,
    idle
):
    """Per household h: workers at home ``home[h]``, surplus workers ``surplus[h]`` =
    max(L - T / m_p * k_factor, 0) and workers beyond the land's needs ``idle[h]`` =
    max(L - T * workers_per_mu, 0). Each household writes only its own slots; the caller sums
    the partials serially, so totals do not depend on the number of threads."""
    loc = p.loc
    hukou = p.hukou
    land_pw = hs.land_mu_per_worker
    n_hh = hh_start.shape[0] - 1
    for h in prange(n_hh):
        n_work, at_home = rural_members(hh_start, h, loc, hukou)
        home[h] = at_home
        if at_home == 0:
            surplus[h] = 0.0
            idle[h] = 0.0
            continue
        if fixed:  # the household's stock (sim.core.land)
            land = max(np.float64(hs.land_mu[h]), 1e-3)
        else:  # entitlement x registered workers, as household.init: at least 1e-3
            land = max(np.float64(land_pw[h]), 1e-3) * n_work
        surplus[h] = max(at_home - land / mean_land_prov[hh_prov[h]] * k_factor, 0.0)
        idle[h] = max(at_home - land * workers_per_mu, 0.0)


def surplus_factor(alpha: float, share: float) -> float:
    """((1 - alpha) / share) ** (1 / alpha): workers per (land / provincial mean land per
    worker) at which the marginal product equals ``share`` of the reference income."""
    return ((1.0 - alpha) / share) ** (1.0 / alpha)


def reserve(sim: Any) -> tuple[float, float, float]:
    """(workers at home, surplus workers, underemployment rate) in agents, this month. The
    per-household partials are temporaries of this call (measured once a year, in December),
    not buffers kept through the run."""
    pars = sim.pars
    n_hh = sim.places.hh_start.shape[0] - 1
    home_hh = np.empty(n_hh, np.int32)
    surplus_hh = np.empty(n_hh, np.float32)
    idle_hh = np.empty(n_hh, np.float32)
    reserve_by_household(
        sim.places.hh_start,
        sim.persons.core,
        sim.households.core,
        is_fixed(pars),
        sim.hh_prov,
        sim.mean_land_prov,
        surplus_factor(pars.land_output_elasticity, pars.surplus_mp_share),
        pars.labour_days_per_mu / pars.farm_days_per_worker,
        home_hh,
        surplus_hh,
        idle_hh,
    )
    home = float(np.sum(home_hh, dtype=np.int64))
    surplus = float(np.sum(surplus_hh, dtype=np.float64))
    rate = float(np.sum(idle_hh, dtype=np.float64)) / home if home > 0 else float("nan")
    return home, surplus, rate


class RuralReserve(Mechanism):
    """Surplus labour and underemployment of the rural workers at home (seed 1.1, 1.2, 3.2),
    measured on the household farm in December after ``household``; reads state only."""

    name = "rural_reserve"
    doc = "surplus labour and underemployment of the workers at home, from land and workers left"
    after = "household"  # when added as an extra mechanism: the same place as in the registry
    params = PARAMS
    results = (
        Indicator(
            "surplus_rural_labour",
            "persons",
            "rural workers at home whose marginal product on the household farm is below "
            "surplus_mp_share of the provincial farm income per worker",
            scaled=True,
        ),
        Indicator(
            "rural_underemployment_rate",
            "share",
            "share of the rural workers at home not needed by the household's land at "
            "labour_days_per_mu / farm_days_per_worker workers per mu",
        ),
    )

    def step(self, sim: Any) -> None:
        sc, t = sim.rec.scalars, sim.t
        if sim.month != 12:  # a yearly indicator, measured in December
            sc["surplus_rural_labour"][t] = np.nan
            sc["rural_underemployment_rate"][t] = np.nan
            return
        _, surplus, rate = reserve(sim)
        sc["surplus_rural_labour"][t] = surplus
        sc["rural_underemployment_rate"][t] = rate
