"""Who migrates where: push-pull random utility with a sparse chain-migration term.

A person at home who considers moving this month (seasonal: most moves follow the Spring
Festival) compares staying with each of the destinations in a nested logit (stay | move, then
which destination). Utility of destination j for person i (seed 1.1, Harris & Todaro 1970,
Zhao 2003):

    V_ij = b_pull(age, sex) * log(net_ij / y_ref) - move_cost(distance class, km)
           - hukou_penalty(tier) - control - age_cost - female_cost(o) + b_net * log(1 + n_ij)

where ``net_ij`` is the destination wage for the person's schooling times the chance of a job
there, less living cost, ``n_ij`` the person's contacts already at j, and a woman's cost falls
with the migration experience of her home province's women (``norms``). Staying gives
``b_push(age, sex) * log(y_home_i / y_ref) + asc_home`` with home income from land per worker.
Young people weigh pull more, older people and women weigh push more (seed 1.1). A parent
of children left at home (and the only carer of an elder in need) adds the family cost to
staying; a destination in the home province costs only ``family_near_share`` of it, since a
parent there stays near (seed 1.3: "proximity to native communities"), so those destinations'
weights are multiplied by exp(saved / lambda) for that person (off at 1).
A person at home who has migrated before subtracts ``returnee_move_bonus`` from staying: the
way, the jobs and the employers are known (repeat migration, DaVanzo 1983; off at 0).
A married person gives up ``couple_apart_cost`` in any state that parts the couple: at home
with the spouse at home it is added to staying; with the spouse away, the spouse's destination
gains it (``choice._spouse_terms``; 0, spouses deciding separately, by default).

Everything but the network term is common to a person's *type* (home province, schooling,
training, age group, sex, capital prefecture), so ``exp(V/lambda)`` is tabulated per type and
destination once a month (for the types of the month's deciders); a person adds only the few
destinations where contacts are, and the choice is drawn by inverse CDF over the table (binary
search), not one draw per destination.

Harris-Todaro teaching mode (``ht_mode``): the employment rate in ``net_ij`` is the agents'
adaptive expectation of each destination's observed rate (jobs filled over migrants present),
E_t = E_{t-1} + a (observed_t - E_{t-1}) (Nerlove 1958), and moves and returns follow the sign
of the expected gain with the chance min(1, ht_response * gain) (Harris & Todaro 1970's
migration function); nothing computes the equilibrium.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.encodings import EVENT_DEPART, EVENT_RETURN, NEVER_LEFT
from sim.core.mechanism import Mechanism, StateField
from sim.core.state import elder_need, families, flat_nonzero
from sim.mechanisms.decisions import norms
from sim.mechanisms.decisions.choice import (  # noqa: F401  (the kernels, re-exported)
    N_CAP,
    N_SEX,
    N_TRAIN,
    _contact_term,
    _near_adjustment,
    _network_adjustment,
    _pick_dest,
    apply_moves,
    decide,
    dist_class_probs,
    family_params,
    home_coefficients,
    n_types,
    table_inputs,
    tables_for,
    type_index,
    type_tables,
)
from sim.mechanisms.decisions.parameters import PARAMS


class Decisions(Mechanism):
    """Persons at home weigh migrating and migrants weigh moving on, against the start-of-month
    state (nested logit over 94 destinations, push and pull by age and sex, seed 1.1, 1.3);
    households pick who goes and whether children follow; the moves are then committed."""

    name = "decisions"
    doc = (
        "persons at home weigh migrating, migrants weigh moving on; households pick who goes and "
        "whether children follow; moves are committed afterwards"
    )
    params = PARAMS
    buffers = (
        StateField("new_loc", "int16", "destination chosen this month"),
        StateField("event", "int8", "EVENT_* of this month's decision"),
    )
    streams = ("decide.consider", "decide.choice", "decide.dist")

    def init(self, sim: Any) -> None:
        """Harris-Todaro mode: the expected employment rate by destination starts at what the
        first arrival would see (``sim.ht_expected``; unused outside the mode)."""
        labour = sim.mech["labour"]
        sim.ht_expected = labour.observed_employment_rate(sim, *labour.counts(sim))
        sim.economy_weights = labour.economy_weights(sim)
        norms.update(sim)

    def step(self, sim: Any) -> None:
        pars = sim.pars
        if sim.month == 1:
            norms.update(sim)
        if pars.ht_mode:
            self.update_expectations(sim)
        p_consider = 1.0 - np.exp(-pars.consider_rate_year * sim.yq.decide_weights[sim.month - 1])
        skip = sim.buf.returned  # those who went home this month do not decide again
        if "enterprise" in sim.mech:  # nor do owners of running businesses (enterprise)
            skip = sim.mech["enterprise"].hold(sim, skip)
        cand = self.decide(sim, sim.t, p_consider, False, skip, sim.counts)
        sim.mech["household"].children_follow(sim, cand)
        sim.out_by_dist, sim.onward, sim.back = self.commit(sim, sim.year)

    @staticmethod
    def update_expectations(sim: Any) -> None:
        """Adaptive expectations (Nerlove 1958): E_t = E_{t-1} + a (observed_t - E_{t-1}) of
        each destination's employment rate, observed at the start of the month (jobs filled
        over migrants present); a = ``ht_expectation_speed``, 1 is naive expectations."""
        present, working = sim.counts
        observed = sim.mech["labour"].observed_employment_rate(sim, present, working)
        a = sim.pars.ht_expectation_speed
        sim.ht_expected = sim.ht_expected + a * (observed - sim.ht_expected)

    def decide(
        self,
        sim: Any,
        tick: int,
        p_consider: float,
        force_move: bool,
        skip: np.ndarray,
        counts: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Every person's decision into ``sim.buf`` (new_loc, event; a mover's distance class
        into ``persons.dist``); returns the persons with an event, in increasing order."""
        p, pars, geo, yq, buf = sim.persons, sim.pars, sim.geo, sim.yq, sim.buf
        labour = sim.mech["labour"]
        present, working = counts or labour.counts(sim)
        log_size = np.zeros(geo.n_dest)
        if pars.ht_mode:  # what the agents expect, not the current rate (Harris & Todaro 1970)
            emp_rate = sim.ht_expected
            log_size = np.log(np.maximum(sim.demand.sum(axis=1), 1e-12))
        else:
            emp_rate = labour.employment_rate(sim, present, working)
        size_term = None
        if pars.ht_mode:
            size_term = log_size
        elif pars.destination_size_elasticity > 0.0:  # relative to an average destination
            w = sim.economy_weights * geo.n_dest
            size_term = pars.destination_size_elasticity * np.log(np.maximum(w, 1e-12))
        tables = table_inputs(
            geo,
            pars,
            sim.mech["self_employment"].job_income(sim, labour.expected_wages(sim)),
            emp_rate,
            yq.living,
            yq.hukou_pen - yq.insurance_utils + yq.control,
            yq.y_ref,
            yq.dist_probs,
            size_term,
            sim.mech["self_employment"].expected_income(sim),
            sim.female_cost_prov,
        )
        log_home = buf.y_home - np.log(yq.y_ref)
        decide(
            sim.key("decide.consider", tick),
            sim.key("decide.choice", tick),
            sim.key("decide.dist", tick),
            p.core,
            sim.places.county_prov,
            sim.places.county_capital,
            sim.network.arrays,
            sim.network.max_degree,
            tables,
            pars.network_beta,
            log_home,
            yq.b_push,
            pars.asc_home,
            p_consider,
            pars.onward_prob_unemployed,
            pars.onward_prob_employed,
            yq.dist_probs,
            force_move,
            skip,
            bool(pars.ht_mode),
            pars.ht_response,
            log_size,
            sim.places.hh_start,
            sim.households.core,
            families(pars),
            family_params(pars, sim.year),
            elder_need(sim),
            float(getattr(pars, "elder_care_cost", 0.0)),
            float(getattr(pars, "returnee_move_bonus", 0.0)),
            buf.new_loc,
            buf.event,
        )
        cand = flat_nonzero(buf.event)
        departing = cand[buf.event[cand] == EVENT_DEPART]
        keep_one = bool(pars.hh_keep_one_home) and not force_move
        sim.mech["household"].resolve_departures(sim, departing, keep_one)
        return cand

    @staticmethod
    def commit(sim: Any, year: int) -> tuple[np.ndarray, int, int]:
        """Commit the decided moves: (departures by distance class, onward moves, returns by
        choice)."""
        p, buf = sim.persons, sim.buf
        out_by_dist = np.zeros(4, np.int64)
        if not 0 <= year - p.year0 < NEVER_LEFT:  # first departures are uint8 years after year0
            raise ValueError(f"year {year} is outside the {NEVER_LEFT} years after {p.year0} "
                             "that first departures are dated in")
        onward, back = apply_moves(
            buf.event,
            buf.new_loc,
            p.core,
            year - p.year0,
            out_by_dist,
        )
        if back:
            sim.sent_home(np.flatnonzero(buf.event == EVENT_RETURN))
        return out_by_dist, onward, back
