"""The last stage of every month: stocks, flows, pay, incomes and the economy, recorded.

Recording only reads agent state (the December incomes per head are temporaries of the
stage), so moving a statistic here from another stage changes no number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.encodings import HOME, RURAL
from sim.core.mechanism import Mechanism
from sim.core.state import CHILD_BEHIND, CHILD_CITY, CHILD_ONE_AWAY, families
from sim.io.cohorts import AGE_MIN, N_AGES, count_by_age
from sim.io.families import count_children_by_age, count_parents_by_age
from sim.io.results import WAGE_EDGES_2005
from sim.io.tallies import tally, tally_pay, tally_provinces
from sim.mechanisms import household
from sim.mechanisms.demography.births import children_by_place


class Record(Mechanism):
    """Stocks by destination and distance class, the migrant profile, flows, pay, incomes per
    head (December), children left behind, demand and shortage, and (December) the rural persons
    by single year of age at home and away (``rec.by_age``), the children and parents by age
    (``rec.children_by_age``, ``rec.parents_by_age``: :mod:`sim.io.families`), the migrants by
    province of origin and the converted persons by province of residence
    (``rec.migrants_origin``, ``rec.settled_prov``: :func:`provinces`), into ``sim.rec``."""

    name = "record"
    doc = "stocks, flows, pay, incomes, children and the economy of the month"

    def step(self, sim: Any) -> None:
        r, t, p, pars = sim.rec, sim.t, sim.persons, sim.pars
        self.pay(sim)
        (
            r.stock_dest[t],
            r.stock_dist[t],
            r.profile[t],
            r.sector_emp[t],
            r.stock_dest_xprov[t],
        ) = tally(*stock_arrays(sim))
        r.outflow_dist[t] = sim.out_by_dist
        r.returnflow[t] = sim.n_returned + sim.back
        r.onflow[t] = sim.onward
        r.exitflow[t] = sim.exits
        cap = sim.mech["labour"].capacity(sim)  # the demand, in whole agents if whole_openings
        r.demand[t] = cap.sum(axis=1) * sim.scale
        _, working = sim.mech["labour"].counts(sim)
        r.shortage[t] = np.maximum(cap - working, 0.0).sum(axis=1) * sim.scale
        sc = r.scalars
        sc["local_workers"][t] = pars.urban_local_workers
        sc["cpi"][t] = sim.yq.cpi
        sc["population"][t] = sim.yq.population
        if sim.month == 12:
            year = sim.year
            cohort = (p.first_year >= year - 10) & (p.first_year <= year - 1) & (p.hukou == RURAL)
            n = np.count_nonzero(cohort)
            sc["cohort_returned_share"][t] = (
                np.count_nonzero(cohort & (p.loc == HOME)) / n if n else np.nan
            )
            # rural-hukou persons by single year of age, at home and away (sim.io.cohorts)
            r.by_age[t // 12] = count_by_age(p.age, p.hukou, p.loc, AGE_MIN, N_AGES)
            if families(pars):  # children and parents by age (sim.io.families)
                hh_start, hs = sim.places.hh_start, sim.households.core
                r.children_by_age[t // 12] = count_children_by_age(hh_start, p.core, hs, year)
                r.parents_by_age[t // 12] = count_parents_by_age(hh_start, p.core, hs, year,
                                                                 AGE_MIN, N_AGES)
            r.migrants_origin[t], r.settled_prov[t] = provinces(sim)

    @staticmethod
    def pay(sim: Any) -> None:
        """Wage brackets, full pay, minimum wage, remittances; incomes per head in December;
        children left behind and in cities (December)."""
        p, pars, yq, buf, t = sim.persons, sim.pars, sim.yq, sim.buf, sim.t
        sc = sim.rec.scalars
        bins, counts, wage_sum, remit_sum, informal_sum = tally_pay(
            p.loc,
            buf.wage,
            buf.paid,
            buf.remit,
            p.job,
            pars.insurance_contribution_rate,
            yq.minw,
            yq.to_2005,
            WAGE_EDGES_2005,
        )
        sim.rec.wage_bins[t] = bins
        sc["paid_full"][t], sc["minwage_covered"][t], sc["minwage_ok"][t] = counts
        sc["wage_sum_rmb"][t] = wage_sum
        sc["informal_wage_sum_rmb"][t] = informal_sum
        sc["remittances_rmb"][t] = remit_sum * sim.scale * yq.cpi
        if sim.month == 12:  # incomes per head and their distribution: yearly, in December
            n_hh = sim.places.hh_start.shape[0] - 1
            inc_head, size = np.empty(n_hh), np.empty(n_hh)  # temporaries of this call
            household.income_per_head(
                sim.places.hh_start,
                p.core,
                buf.remit,
                buf.y_home,
                pars.working_age_share,
                inc_head,
                size,
            )
            sc["rural_income_per_head"][t] = float((inc_head * size).sum() / max(size.sum(), 1e-12))
            sc["gini_rural"][t] = household.weighted_gini(inc_head, size)
            del inc_head, size
            sc["urban_income_per_head"][t] = yq.urban_income_head
            (sc["children_left_behind"][t], sc["children_in_cities"][t],
             sc["children_rural"][t]) = children(sim)


def children(sim: Any) -> tuple[int, int, float]:
    """(children left behind, migrant children in cities, all rural-hukou children under 15),
    counted in December (the yearly value, as the census counts them at a date; other months
    are NaN). With the household life course, from the table of children by place; otherwise
    (version 0.6) by parent age, and the children at home are not counted (NaN)."""
    p, hh, pars = sim.persons, sim.households, sim.pars
    if families(pars):
        by = children_by_place(sim.places.hh_start, p.core, hh.core, sim.year).sum(axis=0)
        return int(by[CHILD_ONE_AWAY] + by[CHILD_BEHIND]), int(by[CHILD_CITY]), int(by.sum())
    behind, city = household.children_counts(
        sim.places.hh_start, p.core, hh.core, pars.parent_age_min, pars.parent_age_max, False
    )
    return behind, city, float("nan")


def provinces(sim: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rural migrants by province of origin, converted persons by province of residence), in
    agents, counted in December. A migrant's origin is the province of the household where
    they are registered; a converted person lives at a destination, in its province."""
    return tally_provinces(
        sim.persons.core, sim.hh_prov, np.asarray(sim.geo.dest_prov), sim.geo.n_prov
    )


def stock_arrays(sim: Any) -> tuple:
    """Arguments of :func:`sim.io.results.tally` for the simulation's persons."""
    return (sim.persons.core, sim.geo.n_dest)
