"""Quantities of a simulated year derived from its parameters and the macro series.

One function for the fast core and the Mesa reference model, so both read the same wages,
costs, penalties, policy settings and seasonal weights (no second, diverging derivation).

Levers by place (``Params`` keys ``by_province``, ``by_tier``, ``by_city``): the per-destination
inputs of :data:`PLACE_PARAMS` are recomputed with each place's own values and copied in at
its destinations (:func:`apply_place_levers`). Only parameters whose every effect goes through
those inputs may be set by place; the rest act through national scalars or are read directly
by the monthly rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.core.encodings import SECTOR_NAMES
from sim.core.geography import TIER_NAMES
from sim.core.mechanism import Mechanism
from sim.core.policies import control_cost
from sim.mechanisms import decisions, household, hukou, inspection, policy, wages
from sim.mechanisms.labour.demand import demand_growth

URBAN_WAGE_2000_NATIONAL = 9371.0  # RMB/year, average wage of staff and workers (CSY 2001)
MONTH_DECIDE = np.array([0.0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # Feb, Mar: Spring Festival
MONTH_RETURN = np.array([1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # January: before the festival


_TIERED = ("hukou_penalty", "conversion_rate")
PLACE_PARAMS: dict[str, tuple[str, ...]] = {
    "minw": ("min_wage_ratio",),
    "hukou_pen": tuple(f"hukou_penalty_{t}" for t in TIER_NAMES),
    "conv_month": tuple(f"conversion_rate_{t}" for t in TIER_NAMES),
    "p_bring": ("child_school_barrier",),
}
"""Policy parameters that may be set by place, by the per-destination field of
:class:`YearInputs` through which (alone) they act (``tests/test_levers_by_place.py`` checks
it). ``inspectors_per_10k_workers`` is not one: no rule reads its provincial arrays
(``inspectors``, ``detection_dest``), they read the national detection chances;
``local_development`` is read by the home-income rule directly."""
DEST_FIELDS = tuple(PLACE_PARAMS)  # the fields copied in at a place's destinations


def place_params() -> tuple[str, ...]:
    """Every parameter that may be set by place (:data:`PLACE_PARAMS`)."""
    return tuple(n for names in PLACE_PARAMS.values() for n in names)


def place_names(geo) -> dict[str, tuple[str, ...]]:
    """Valid place names by kind (``by_province``, ``by_tier``, ``by_city``)."""
    return {"by_province": tuple(geo.prov_name), "by_tier": TIER_NAMES,
            "by_city": tuple(geo.dest_name)}


def place_destinations(geo, kind: str, place: str) -> np.ndarray:
    """Indices of the destinations a place covers (a province's, a tier's, or one city)."""
    if kind == "by_province":
        return np.flatnonzero(np.asarray(geo.dest_prov) == geo.prov_name.index(place))
    if kind == "by_tier":
        return np.flatnonzero(np.asarray(geo.dest_tier) == TIER_NAMES.index(place))
    return np.array([geo.dest_name.index(place)])


def place_problem(geo, kind: str, place: str, name: str) -> str | None:
    """Why ``name`` set for ``place`` has no effect (a tier's parameter where no destination of
    that tier is), or None."""
    for stem in _TIERED:
        if name.startswith(stem + "_"):
            tier = TIER_NAMES.index(name[len(stem) + 1:])
            if not (np.asarray(geo.dest_tier)[place_destinations(geo, kind, place)] == tier).any():
                return (f"'{name}' acts only at {TIER_NAMES[tier]} destinations and {place} has "
                        f"none")
    return None


def by_destination(geo, levers: Iterable[tuple[str, str, Mapping[str, Any]]]
                   ) -> list[dict[str, Any]]:
    """Each destination's own values from ``levers`` ((kind, place, {name: value}) in any
    order): later kinds of ``PLACE_KINDS`` win, so a city's value beats its tier's, which
    beats its province's."""
    from sim.core.params import PLACE_KINDS

    out: list[dict[str, Any]] = [{} for _ in range(geo.n_dest)]
    for kind, place, vals in sorted(levers, key=lambda g: PLACE_KINDS.index(g[0])):
        for d in place_destinations(geo, kind, place):
            out[d].update(vals)
    return out


def apply_place_levers(q: YearInputs, geo, pars) -> YearInputs:
    """``q`` with the per-destination fields (:data:`DEST_FIELDS`) of every destination that has
    values of its own recomputed with them (``pars.place_levers``)."""
    own = by_destination(geo, pars.place_levers)
    combos: dict[tuple, list[int]] = {}
    for d, vals in enumerate(own):
        if vals:
            combos.setdefault(tuple(sorted(vals.items())), []).append(d)
    base = {k: v for k, v in vars(pars).items() if k != "place_levers"}
    fields = {f: np.array(getattr(q, f), copy=True) for f in DEST_FIELDS}
    for combo, dests in combos.items():
        local = per_destination(geo, SimpleNamespace(**{**base, **dict(combo)}), q.wage_index)
        for f, arr in fields.items():
            arr[dests] = local[f][dests]
    for f, arr in fields.items():
        setattr(q, f, arr)
    return q


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
    population: float  # national total population at the end of the year, persons
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
    p_bring: np.ndarray  # children's chances by destination, (n_dest, 3): see household.children
    local_shares: np.ndarray  # sector shares of the local urban workforce


def year_quantities(geo, pars, year: int, mean_land_prov: np.ndarray) -> YearInputs:
    """The year's inputs (:class:`YearInputs`) from its parameters and the macro series, with
    the levers by place of ``pars`` (if any) applied at their destinations."""
    q = _national(geo, pars, year, mean_land_prov)
    if getattr(pars, "place_levers", None):
        q = apply_place_levers(q, geo, pars)
    return q


def per_destination(geo, pars, wage_index: float) -> dict[str, np.ndarray]:
    """The inputs by destination that levers by place set (:data:`DEST_FIELDS`)."""
    hukou_pen = hukou.penalties(pars)[geo.dest_tier]
    conv_month = hukou.conversion_rates(pars)[geo.dest_tier] / 12.0
    city = policy.relaxed_city(pars)
    if city >= 0:
        hukou_pen[city] *= pars.relax_city_penalty_mult
        if pars.relax_city_penalty_mult < 1.0:
            conv_month[city] = max(conv_month[city], pars.relax_city_conversion_rate / 12.0)
    return {
        "minw": wages.min_wage(geo, pars, wage_index),
        "hukou_pen": hukou_pen,
        "conv_month": conv_month,
        "p_bring": np.tile(household.children.bring_chances(
            pars.child_bring_max, pars.child_school_barrier, pars.preschool_barrier_share
        ), (geo.n_dest, 1)),
    }


def _national(geo, pars, year: int, mean_land_prov: np.ndarray) -> YearInputs:
    """The year's inputs with every parameter at its national value."""
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
        "population": float(nat["population_m"][k]) * 1e6,
        "to_2005": float(nat["cpi_index"][k05]),  # 2000 prices -> 2005 prices
        "growth": demand_growth(geo, pars, k),  # % per year, by destination
        "living": wages.living_cost(geo, pars),
        **per_destination(geo, pars, wage_index),  # minw, hukou_pen, conv_month, p_bring
        "mult": wages.person_multipliers(pars),
        "arrears_risk": wages.sector_vector(pars, "arrears_risk")
        * (1.0 - det[inspection.ARREARS]),
        "informal_prob": wages.sector_vector(pars, "informal_prob")
        * (1.0 - det[inspection.CONTRACTS]),
        **insp,
    }
    formal = 1.0 - q["informal_prob"].mean()
    w = geo.rural_pop_working_age
    y_2000 = pars.home_income_share * geo.rural_income_rmb_year / pars.working_age_share / 12.0
    q.update(
        control=control_cost(pars, year),
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
