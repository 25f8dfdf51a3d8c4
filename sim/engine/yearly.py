"""Quantities of a simulated year derived from its parameters and the macro series.

One function for the fast core and the Mesa reference model, so both read the same wages,
costs, penalties, policy settings and seasonal weights (no second, diverging derivation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core.encodings import SECTOR_NAMES
from sim.core.mechanism import Mechanism
from sim.core.policies import control_cost
from sim.mechanisms import decisions, household, hukou, inspection, policy, wages

URBAN_WAGE_2000_NATIONAL = 9371.0  # RMB/year, average wage of staff and workers (CSY 2001)
MONTH_DECIDE = np.array([0.0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # Feb, Mar: Spring Festival
MONTH_RETURN = np.array([1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # January: before the festival


def season(share: float, festival_months: np.ndarray) -> np.ndarray:
    """Monthly weights summing to 1: ``share`` spread over the festival months, the rest evenly."""
    fest = festival_months > 0
    return np.where(
        fest, share * festival_months / festival_months.sum(), (1.0 - share) / (~fest).sum()
    )


@dataclass
class YearInputs:
    """Everything the monthly step needs that changes only with the year (units as named)."""

    wage_index: float  # urban real wage index, 2000 = 1
    cpi: float  # consumer prices, 2000 = 1
    to_2005: float  # 2000 prices -> 2005 prices
    growth: np.ndarray  # regional GDP growth at each destination, % per year
    living: np.ndarray  # living cost by destination, RMB/month (2000)
    minw: np.ndarray  # minimum wage by destination, RMB/month (2000)
    mult: np.ndarray  # wage multipliers by (schooling, training)
    arrears_risk: np.ndarray  # monthly chance of unpaid wages by sector, after enforcement
    informal_prob: np.ndarray  # chance a new job is informal by sector, after enforcement
    inspectors: np.ndarray  # labour inspectors per 10,000 workers by province
    detection: np.ndarray  # detection chances by violation type (inspection.VIOLATIONS)
    detection_dest: np.ndarray  # the same by destination, shape (n_dest, 4)
    minwage_prob: float  # chance a new job respects the minimum wage (inspection outcome)
    injury_claim_prob: float  # chance an insured injury claim is honoured (inspection outcome)
    hukou_pen: np.ndarray  # hukou barrier by destination, utils
    control: float  # cost of leaving home from the controls on movement in force, utils
    conv_month: np.ndarray  # monthly hukou conversion chance by destination
    insurance_utils: float  # value of insurance to a migrant, utils
    insured_prob: float  # chance a new formal job is insured
    contrib_loss: float  # expected share of the wage paid as insurance contribution
    insured_return_mult: float  # return hazard ratio of the insured
    y_ref: float  # reference home income per worker, RMB/month (2000)
    log_farm_prod: np.ndarray  # log farm productivity by province
    urban_income_head: float  # urban income per head, RMB/month
    dist_probs: np.ndarray  # P(distance class | province, capital flag, destination)
    b_push: np.ndarray  # weight of home income by (age group, sex)
    decide_weights: np.ndarray  # monthly shares of the year's decisions
    return_weights: np.ndarray  # monthly shares of the year's returns
    p_bring: np.ndarray  # chance children follow a parent, by destination
    local_shares: np.ndarray  # sector shares of the local urban workforce


def year_quantities(geo, pars, year: int, mean_land_prov: np.ndarray) -> YearInputs:
    """The year's inputs (:class:`YearInputs`) from its parameters and the macro series."""
    nat = geo.national
    k = int(np.clip(np.searchsorted(nat["year"], year), 0, nat["year"].size - 1))
    k05 = int(np.searchsorted(nat["year"], 2005))
    wage_index = float(nat["urban_wage_real_index"][k])
    rural_index = float(nat["rural_income_real_index"][k])
    insp = inspection.year_inputs(geo, pars)  # enforcement as outcomes of inspection capacity
    det = insp["detection"]
    q: dict = {
        "wage_index": wage_index,
        "cpi": float(nat["cpi_index"][k]),
        "to_2005": float(nat["cpi_index"][k05]),  # 2000 prices -> 2005 prices
        "growth": geo.regional_growth[k][geo.prov_region[geo.dest_prov]],  # % per year
        "living": wages.living_cost(geo, pars),
        "minw": wages.min_wage(geo, pars, wage_index),
        "mult": wages.person_multipliers(pars),
        "arrears_risk": wages.sector_vector(pars, "arrears_risk")
        * (1.0 - det[inspection.ARREARS]),
        "informal_prob": wages.sector_vector(pars, "informal_prob")
        * (1.0 - det[inspection.CONTRACTS]),
        **insp,
    }
    hukou_pen = hukou.penalties(pars)[geo.dest_tier]
    conv_month = hukou.conversion_rates(pars)[geo.dest_tier] / 12.0
    city = policy.relaxed_city(pars)
    if city >= 0:
        hukou_pen[city] *= pars.relax_city_penalty_mult
        if pars.relax_city_penalty_mult < 1.0:
            conv_month[city] = max(conv_month[city], pars.relax_city_conversion_rate / 12.0)
    formal = 1.0 - q["informal_prob"].mean()
    w = geo.rural_pop_working_age
    y_2000 = pars.home_income_share * geo.rural_income_rmb_year / pars.working_age_share / 12.0
    q.update(
        hukou_pen=hukou_pen,
        control=control_cost(pars, year),
        conv_month=conv_month,
        insurance_utils=policy.insurance_value(pars) * formal,
        insured_prob=pars.social_insurance_coverage,
        contrib_loss=pars.insurance_contribution_rate * pars.social_insurance_coverage * formal,
        insured_return_mult=policy.insured_return_mult(pars),
        y_ref=float((w * y_2000).sum() / w.sum()),
        log_farm_prod=household.log_farm_productivity(geo, pars, rural_index, mean_land_prov),
        urban_income_head=pars.urban_income_per_wage * URBAN_WAGE_2000_NATIONAL / 12.0
        * wage_index,
        dist_probs=decisions.dist_class_probs(geo.n_prov, geo.dest_prov, geo.dest_tier, pars),
        b_push=decisions.home_coefficients(pars),
        decide_weights=season(pars.spring_festival_share, MONTH_DECIDE),
        return_weights=season(pars.return_festival_share, MONTH_RETURN),
        p_bring=np.full(geo.n_dest, pars.child_bring_max * (1 - pars.child_school_barrier)),
        local_shares=np.array([getattr(pars, f"local_share_{s}") for s in SECTOR_NAMES]),
    )
    return YearInputs(**q)


class Year(Mechanism):
    """January: the year's parameters are resolved (yearly paths) and every quantity derived
    from them and the macro series is recomputed (:class:`YearInputs`)."""

    name = "year"
    doc = (
        "(January) parameters resolved for the year; living costs, minimum wages, hukou "
        "penalties and farm productivity recomputed"
    )

    def yearly(self, sim: Any) -> None:
        sim.resolve_year(sim.year)
