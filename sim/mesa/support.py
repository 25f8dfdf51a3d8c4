"""What the Mesa reference model (:mod:`sim.mesa.reference`) does not implement, refused before
it builds: the Harris-Todaro teaching mode, levers by place, demand shocks in the run's months,
and the rules of issues 11, 12 and 17 that are off by default (each named with its parameter).
Run those with ``sim.Simulation``."""

from __future__ import annotations

from typing import Any

from sim.core.encodings import SECTOR_NAMES
from sim.core.shocks import demand_multipliers

NOT_IMPLEMENTED = ("self_entry_rate", "self_review_rate", "destination_size_elasticity",
                   *(f"injury_rate_year_{s}" for s in SECTOR_NAMES), "ent_start_rate_year",
                   "insurance_cost_in_demand", "elder_care_cost", "return_elder_care_log")
"""Parameters whose rule the reference model lacks; refused when above 0 in any year."""


def refuse_unsupported(params: Any, start_year: int, years: int) -> None:
    """Raise ValueError naming the first feature of ``params`` the reference model lacks."""
    span = range(start_year, start_year + years)
    fix = "; run it with sim.Simulation"
    if any(getattr(params.at(y), "ht_mode", False) for y in span):
        raise ValueError("the reference model does not implement ht_mode (the Harris-Todaro "
                         "teaching mode)" + fix)
    if params.by_place():  # levers by place (sim.engine.yearly.PLACE_PARAMS)
        raise ValueError("the reference model does not implement levers by place "
                         f"({', '.join(params.by_place())})" + fix)
    if any(demand_multipliers(params.at(y).demand_shocks, y, m, 1.0) is not None
           for y in span for m in range(1, 13)):
        raise ValueError("the reference model does not implement demand shocks in the run's "
                         "months (demand_shocks)" + fix)
    for name in NOT_IMPLEMENTED:  # rules that are off by default
        if any(getattr(params.at(y), name) > 0 for y in span):
            raise ValueError(f"the reference model does not implement {name} > 0" + fix)
