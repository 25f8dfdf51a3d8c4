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

from sim.core.encodings import EVENT_DEPART, EVENT_RETURN
from sim.core.mechanism import Mechanism, StateField
from sim.core.params import Param
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

PARAMS = (
    Param(
        "consider_rate_year",
        0.4269,
        "decisions/year",
        0.0,
        12.0,
        "assumption; rural workers reconsider work plans about once a year (seed 1.3: "
        "seasonal cycles)",
        "rate at which a person at home weighs migrating",
        role="behaviour",
    ),
    Param(
        "spring_festival_share",
        0.5,
        "share",
        0.0,
        1.0,
        "seed 1.3 (seasonal cycles); most departures follow the Spring Festival",
        "share of the year's migration decisions taken in February and March",
        role="behaviour",
    ),
    Param(
        "beta_income",
        2.0,
        "utils per log RMB",
        0.0,
        10.0,
        "assumption; income elasticity of migration odds (Zhao 1999, AER P&P 89(2))",
        "weight of log expected net income",
        role="behaviour",
    ),
    Param(
        "young_pull_shift",
        0.3,
        "share",
        0.0,
        3.0,
        "seed 1.1: the young weigh pull factors",
        "extra weight on destination income for ages 15-29",
        role="behaviour",
    ),
    Param(
        "old_push_shift",
        0.3,
        "share",
        0.0,
        3.0,
        "seed 1.1: older migrants weigh push factors",
        "extra weight on home income for ages 45-64",
        role="behaviour",
    ),
    Param(
        "female_push_shift",
        0.6318,
        "share",
        0.0,
        3.0,
        "seed 1.1: women cite push factors more",
        "extra weight on home income for women",
        role="behaviour",
    ),
    Param(
        "destination_size_elasticity",
        0.0,
        "elasticity",
        0.0,
        1.5,
        "McFadden 1978 (a destination as an aggregate of elementary alternatives: utility "
        "+ lambda * log size); gravity models of China's inter-provincial flows find "
        "destination size and distance effects (He & Pooler, Geogr. Res. Forum, 1982-90 flows; "
        "Zhang et al. 2018, Migration Studies); 0 = every destination one alternative",
        "weight of log urban-economy size (regional product and city tier) in a "
        "destination's utility",
        role="behaviour",
    ),
    Param(
        "asc_home",
        -0.6327,
        "utils",
        -20.0,
        20.0,
        "hand-set; calibrated in calibration/",
        "attachment to home (utility of staying before income)",
        role="behaviour",
    ),
    Param(
        "parent_cost_mother",
        2.303,
        "utils",
        0.0,
        10.0,
        "marriage and above all childbearing lower rural women's first labour migration "
        "(event histories of CHIP 2019, cohorts 1951-2000: 'Changing roles of marriage and "
        "family status for labor migration', 2024); calibrated in calibration/ (children left "
        "behind, seed 1.3, 1.5)",
        "utility a mother of children under 15 gives up by leaving them (household life "
        "course only)",
        role="behaviour",
    ),
    Param(
        "parent_cost_father",
        2.176,
        "utils",
        0.0,
        10.0,
        "the same study: children lower men's first migration less than women's; calibrated "
        "in calibration/",
        "utility a father of children under 15 gives up by leaving them",
        role="behaviour",
    ),
    Param(
        "grandparent_care_relief",
        0.5,
        "share",
        0.0,
        1.0,
        "three-generation households send more migrants, the elderly caring for the "
        "children (Chen, Lucas, Bloom & Ding, J. Agric. Appl. Econ. 48(3), 2016); estimate "
        "(range 0.3-0.9)",
        "share of a parent's cost removed when another member aged 45+ is at home",
        role="behaviour",
    ),
    Param(
        "family_near_share",
        0.798866,
        "share",
        0.0,
        1.0,
        "seed 1.3 (cities of the home province offer 'proximity to native communities'); "
        "estimate, range 0.3-1; 1 switches the rule off",
        "share of the family cost (children, an elder in need) borne by a move inside the "
        "home province",
        role="behaviour",
    ),
    Param(
        "nest_lambda",
        0.6,
        "dissimilarity",
        0.05,
        1.0,
        "nested logit (McFadden 1978); destinations are closer substitutes than staying",
        "dissimilarity parameter of the destination nest",
        role="behaviour",
    ),
    Param(
        "age_cost_per_decade",
        1.228,
        "utils per 10 years",
        0.0,
        5.0,
        "seed 1.3: 71% of migrants aged 15-29",
        "extra cost of moving per decade of age above 22, by age group (15-29, 30-44, 45-64 "
        "counted at 22, 37 and 52)",
        role="behaviour",
    ),
    Param(
        "female_cost",
        0.1235,
        "utils",
        -5.0,
        10.0,
        "seed 1.3: one third of migrants female earlier, 49% by 2003; constant since 0.13, the "
        "rise carried by the women's migration experience (decisions.norms; calibration/"
        "README.md, 'Women's migration experience')",
        "extra cost of moving for women before any woman of their province has been away "
        "(less female_norm_effect times the share who have)",
        role="behaviour",
    ),
    Param(
        "control_grain_rations",
        0.6,
        "utils",
        0.0,
        20.0,
        "seed 1.1, 2.2: urban grain was rationed to urban hukou holders until the 1993 grain "
        "circulation reform (sim/data/policies.toml: grain_rations_ended_1993)",
        "cost of leaving home while urban grain is rationed by hukou (in force until the "
        "document that ended it)",
        role="policy",
    ),
    Param(
        "control_custody",
        0.03203,
        "utils",
        0.0,
        20.0,
        "seed 2.2: detention and repatriation of migrants without permits until the 2003 "
        "abolition of custody and repatriation (sim/data/policies.toml: "
        "custody_abolished_2003)",
        "cost of leaving home under custody and repatriation (in force until the document "
        "that ended it)",
        role="policy",
    ),
    Param(
        "mobility_control",
        0.0,
        "utils",
        0.0,
        20.0,
        "lever for scenarios; history is in the dated controls (control_grain_rations, "
        "control_custody, sim.core.policies)",
        "extra cost of leaving home from controls on movement, on top of the dated controls",
        role="policy",
    ),
    Param(
        "cost_within_county", 0.2, "utils", 0.0, 20.0, "assumption", "moving cost, within county",
        role="behaviour",
    ),
    Param(
        "cost_across_county",
        0.0574381,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across counties within a prefecture",
        role="behaviour",
    ),
    Param(
        "cost_across_prefecture",
        0.435274,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across prefectures within a province",
        role="behaviour",
    ),
    Param(
        "cost_across_province",
        2.869,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across provinces (before distance)",
        role="behaviour",
    ),
    Param(
        "cost_per_1000km",
        0.5995,
        "utils per 1000 km",
        0.0,
        10.0,
        "assumption",
        "moving cost per 1000 km between provincial capitals",
        role="behaviour",
    ),
    Param(
        "network_beta",
        0.8,
        "utils per log contact",
        0.0,
        5.0,
        "seed 1.4: 95% found jobs via friends or themselves; Zhao 2003",
        "chain-migration weight of log(1 + contacts at the destination)",
        role="behaviour",
    ),
    Param(
        "local_share_small_town",
        0.6,
        "share",
        0.0,
        1.0,
        "assumption; census 2000: 43.7% of moves within county (seed 1.3)",
        "share of moves to county towns of the home province that stay in the home county",
        role="exogenous",
    ),
    Param(
        "own_prefecture_share_medium",
        0.5,
        "share",
        0.0,
        1.0,
        "assumption",
        "share of moves to prefecture cities of the home province that go to the home prefecture",
        role="behaviour",
    ),
    Param(
        "ht_mode",
        False,
        "flag",
        0,
        1,
        "Harris & Todaro 1970 (AER 60(1)); teaching mode, see scenarios/harris_todaro.toml",
        "wage arbitrage on expectations: move if the expected urban wage (wage x expected "
        "employment rate) beats home, return if not; one national rural and one urban wage level",
        kind=bool,
        role="structural",
    ),
    Param(
        "ht_expectation_speed",
        0.2,
        "share per month",
        0.01,
        1.0,
        "adaptive expectations (Nerlove 1958, QJE 72(2)); the value is an assumption; 1 is "
        "naive expectations",
        "Harris-Todaro mode: share of the gap between the observed and the expected employment "
        "rate of a destination closed each month",
        role="behaviour",
    ),
    Param(
        "ht_response",
        1.5,
        "share per util",
        0.01,
        1000.0,
        "Harris & Todaro 1970 (AER 60(1)): migration is a function psi of the expected urban-rural "
        "income gap, psi(0) = 0, psi' > 0; the value is an assumption (3 per log point of "
        "income at beta_income = 2)",
        "Harris-Todaro mode: share of those considering who act, per util of expected gain "
        "(at most 1)",
        role="behaviour",
    ),
    Param(
        "onward_prob_unemployed",
        0.08,
        "per month",
        0.0,
        1.0,
        "seed 1.4: high job mobility and on-migration",
        "chance an unemployed migrant reconsiders",
        role="behaviour",
    ),
    Param(
        "onward_prob_employed",
        0.004,
        "per month",
        0.0,
        1.0,
        "seed 1.4 (Knight & Yueh 2004: high job mobility)",
        "chance an employed migrant reconsiders",
        role="behaviour",
    ),
    *norms.NORM_PARAMS,
)


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
        StateField("new_dist", "int8", "distance class of the chosen move"),
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
        """Every person's decision into ``sim.buf`` (new_loc, new_dist, event); returns the
        persons with an event, in increasing order."""
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
            labour.expected_wages(sim),
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
            sim.network.indptr,
            sim.network.indices,
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
            family_params(pars),
            elder_need(sim),
            float(getattr(pars, "elder_care_cost", 0.0)),
            buf.new_loc,
            buf.new_dist,
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
        onward, back = apply_moves(
            buf.event,
            buf.new_loc,
            buf.new_dist,
            p.core,
            year,
            out_by_dist,
        )
        if back:
            sim.sent_home(np.flatnonzero(buf.event == EVENT_RETURN))
        return out_by_dist, onward, back
