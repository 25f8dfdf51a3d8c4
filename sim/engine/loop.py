"""The simulation loop: one documented order of mechanisms, applied every month.

Step order (``STEP_ORDER``), each month t of year y:

1. ``demography``  (January only) everyone ages a year; those reaching 65 or dying leave; the
   year's rural cohort enters at 15 into vacant slots (``sim.mechanisms.demography``).
2. ``year``        (January only) parameters resolved for year y; living costs, minimum wages,
   hukou penalties and farm productivity recomputed.
3. ``returns``     migrants draw the return hazard; returners (and children with them) go home
   (``sim.mechanisms.returns``, ``sim.mechanisms.household``).
4. ``hukou``       settled, employed migrants may convert to local hukou; migrants register for
   residence permits (``sim.mechanisms.hukou``).
5. ``labour``      base demand grows with regional GDP; workers are counted; wage levels move
   with the month's shortage (against demand at last month's wages) and unemployment; demand
   then responds to the new wages (``sim.mechanisms.labour``, ``sim.mechanisms.wages``).
6. ``household``   income per worker at home from land and the workers left (``sim.mechanisms.household``).
7. ``decisions``   persons at home weigh migrating, migrants weigh moving on, against the
   start-of-month state (``sim.mechanisms.decisions``); households pick who goes and whether children
   follow (``sim.mechanisms.household``); moves are committed afterwards.
8. ``matching``    separations and hires by sector, newcomers included (``sim.mechanisms.labour``).
9. ``pay``         wages, minimum wage, arrears, remittances, incomes per head (``sim.mechanisms.wages``,
   ``sim.mechanisms.household``).
10. ``record``     stocks, flows, profile and economy of the month (``sim.io.results``).

Every kernel reads a state that no other thread writes during the kernel and draws from its own
named counter-based stream keyed by (seed, stream, month, person), so results do not depend on
the number of threads, and a scenario shares every draw with its baseline except where its
policy changes a decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numba
import numpy as np

from sim.core.geography import load_geography
from sim.core.params import Params
from sim.core.rng import tick_key, uniform_array
from sim.core.state import HOME, RURAL, VACANT
from sim.engine.yearly import year_quantities
from sim.io.results import EXIT_CAUSES, WAGE_EDGES_2005, Recorder, Results, tally, tally_pay
from sim.mechanisms import decisions, demography, household, hukou, labour, policy, returns, wages
from sim.mechanisms.network import build_network
from sim.mechanisms.population import build_population

STEP_ORDER = (
    "demography",
    "year",
    "returns",
    "hukou",
    "labour",
    "household",
    "decisions",
    "matching",
    "pay",
    "record",
)


class Simulation:
    """A run of the model.

    >>> sim = Simulation(agents=20_000, seed=3, years=2)   # doctest: +SKIP
    >>> res = sim.run(); res.to_frame().head()                # doctest: +SKIP
    """

    def __init__(
        self,
        params: Params | Mapping[str, Any] | None = None,
        agents: int = 200_000,
        seed: int = 1,
        start_year: int = 1985,
        years: int = 22,
        threads: int | None = None,
    ):
        if not isinstance(params, Params):
            params = Params(params or {})
        if not 1 <= years <= 200:
            raise ValueError(f"years must be in [1, 200], got {years}")
        if not 1949 <= start_year <= 2100:
            raise ValueError(f"start_year must be in [1949, 2100], got {start_year}")
        if seed < 0 or seed >= 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {seed}")
        self.params = params
        self.agents = int(agents)
        self.seed = int(seed)
        self.start_year = int(start_year)
        self.years = int(years)
        self.threads = threads
        self.geo = load_geography()
        self.timings: dict[str, float] = dict.fromkeys(STEP_ORDER, 0.0)
        t0 = time.perf_counter()
        with _threads(threads):
            self._build()
        self.build_seconds = time.perf_counter() - t0

    # ---------------------------------------------------------------- set-up
    def _build(self) -> None:
        geo, pars = self.geo, self.params.at(self.start_year)
        self.projection = demography.Projection(geo, self.params)
        last = self.start_year + self.years - 1
        if pars.cohort_entry and last > self.projection.last_entry:
            raise ValueError(
                f"the run ends in {last}, but sim/data/births.csv gives entrants only up to "
                f"{self.projection.last_entry}; shorten the run or set cohort_entry = false"
            )
        capacity = demography.slot_capacity(
            self.projection, self.agents, self.start_year, self.years, pars.cohort_entry
        )
        self.persons, self.households, self.places, self.scale = build_population(
            geo,
            self.agents,
            self.seed,
            pars,
            self.start_year,
            by_age=self.projection.by_age(self.start_year),
            capacity=capacity,
        )
        self.network = build_network(self.persons, self.places, self.seed, pars)
        hh_prov = self.places.county_prov[self.households.county]
        self.hh_prov = hh_prov.astype(np.int8)
        land = self.households.land_mu_per_worker.astype(np.float64)
        self.mean_land_prov = np.bincount(hh_prov, land, geo.n_prov) / np.maximum(
            np.bincount(hh_prov, minlength=geo.n_prov), 1
        )
        n, n_hh = self.persons.n, self.households.n
        self._new_loc = np.empty(n, np.int16)
        self._new_dist = np.empty(n, np.int8)
        self._event = np.empty(n, np.int8)
        self._flag = np.zeros(n, np.int8)
        self._flag2 = np.zeros(n, np.int8)
        self._emp = np.empty(n, np.int8)
        self._sec = np.empty(n, np.int8)
        self._spell = np.zeros(n, np.int16)
        self._wage = np.zeros(n, np.float32)
        self._paid = np.zeros(n, np.int8)
        self._remit = np.zeros(n, np.float32)
        self._y_home = np.zeros(n_hh, np.float64)  # log income per worker at home
        self._log_land = np.log(np.maximum(land, 1e-3))
        self._inc_head = np.zeros(n_hh, np.float64)
        self._hh_size = np.zeros(n_hh, np.float64)
        self.demand = labour.demand_at_start(geo, self.params, self.scale, self.start_year)
        self.n_months = 12 * self.years
        self.rec = Recorder(self.n_months, geo.n_dest)
        self.t = 0
        self._resolve_year(self.start_year)
        self.levels = wages.levels_at_start(geo, self.params, self.start_year)
        if pars.ht_mode:  # one national urban wage level
            self.levels[:] = float(np.mean(self.levels))
        self.ref_levels = self.levels.copy()  # wage levels on the drift path, without tightness
        self.base_demand = self.demand.copy()
        self._place_initial_migrants(pars)
        by_dest = tally(*self._tally_args())[0]
        self.initial_stock = int(by_dest.sum())

    def _apply_moves(self, year: int) -> tuple[np.ndarray, int, int]:
        """Commit the decided moves: (departures by distance class, onward moves, returns by
        choice)."""
        p = self.persons
        out_by_dist = np.zeros(4, np.int64)
        onward, back = decisions.apply_moves(
            self._event,
            self._new_loc,
            self._new_dist,
            p.loc,
            p.dist,
            p.employed,
            p.months_away,
            p.sector,
            p.job,
            p.permit,
            p.first_year,
            year,
            out_by_dist,
        )
        return out_by_dist, onward, back

    def _place_initial_migrants(self, pars) -> None:
        """Draw the initial stock from the young (under 40), placed by the choice model."""
        p = self.persons
        n_init = int(round(pars.initial_migrant_stock / self.scale))
        if n_init == 0:
            return
        u = uniform_array(self.seed, "init.select", 0, p.n)
        u = np.where((p.age < 40) & (p.hukou == RURAL), u, 2.0)
        chosen = np.argsort(u, kind="stable")[:n_init]
        skip = np.ones(p.n, np.int8)
        skip[chosen] = 0
        self._home_income()
        self._decide(tick=-1, p_consider=1.0, force_move=True, skip=skip)
        self._apply_moves(self.start_year - 1)
        self._match(tick=-1)
        p.months_away[:] = np.where(p.loc != HOME, 12, 0).astype(np.int16)

    # ---------------------------------------------------------------- yearly inputs
    def _resolve_year(self, year: int) -> None:
        """Parameters of the year and every quantity derived from them (``sim.engine.yearly``)."""
        self.year = year
        self.pars = self.params.at(year)
        self.__dict__.update(year_quantities(self.geo, self.pars, year, self.mean_land_prov))

    def _key(self, stream: str, tick: int | None = None) -> np.uint64:
        return tick_key(self.seed, stream, self.t if tick is None else tick)

    def _tally_args(self):
        p = self.persons
        return (
            p.age,
            p.sex,
            p.school,
            p.trained,
            p.loc,
            p.hukou,
            p.dist,
            p.employed,
            p.sector,
            p.job,
            p.permit,
            self.geo.n_dest,
        )

    # ---------------------------------------------------------------- mechanisms
    def _demography(self, year: int, exits: np.ndarray) -> None:
        """Ageing and exits, then the year's entrants into vacant slots."""
        p, hh, t = self.persons, self.households, self.t
        pars = self.params.at(year)
        key = self._key("demography")
        was_away = (p.loc != HOME) & (p.hukou == RURAL)
        was_rural = p.hukou == RURAL
        left = self._flag
        demography.age_and_exit(
            key,
            p.age,
            p.loc,
            p.hukou,
            p.dist,
            p.employed,
            p.months_away,
            p.sector,
            p.job,
            p.permit,
            pars.exit_age,
            pars.mortality_30,
            pars.mortality_gompertz,
            left,
        )
        exits[0] = np.count_nonzero(was_away & (left == 1))
        exits[1] = np.count_nonzero(was_away & (left == 2))
        leavers = np.flatnonzero(left)
        household.release_children(leavers, p.hh, hh.kids_with, hh.n_children, False)
        sc = self.rec.scalars
        sc["leavers"][t] = np.count_nonzero(was_rural & (left != 0))
        if pars.cohort_entry:
            n_in = demography.entrants_this_year(self.projection, year, self.scale, self.seed)
            vacant = np.flatnonzero(p.hukou == VACANT)
            slots = demography.choose_entry_slots(vacant, n_in, self.seed, year)
            sc["entrants_unplaced"][t] = n_in - slots.size
        else:  # closed population: every leaver's slot is refilled at once
            slots = leavers
        demography.enter(
            key,
            slots,
            p.age,
            p.sex,
            p.school,
            p.trained,
            p.hukou,
            p.first_year,
            pars.entrant_share_junior,
            pars.entrant_share_senior,
        )
        sc["entrants"][t] = slots.size

    def _home_income(self) -> None:
        p, pars = self.persons, self.pars
        household.home_income(
            self.places.hh_start,
            p.loc,
            p.hukou,
            self._log_land,
            self.hh_prov,
            self.log_farm_prod,
            pars.land_output_elasticity,
            pars.local_development,
            household.LOG_INT,
            self._y_home,
        )
        if pars.ht_mode:  # one national rural income: no land or household differences
            self._y_home[:] = np.log(self.y_ref) + pars.local_development

    def _paid_levels(self) -> np.ndarray:
        """Wage levels as paid: raised towards the minimum wage where it is enforced."""
        return wages.expected_with_minimum(self.levels, self.minw, self.pars.min_wage_enforcement)

    def _expected_wages(self, emp_rate: np.ndarray) -> np.ndarray:
        """Expected monthly wage by destination, schooling, training: the demand-weighted wage
        level (with the minimum wage where enforced), times the chance of being paid in full
        (arrears) and net of insurance contributions."""
        share = self.demand / np.maximum(self.demand.sum(axis=1, keepdims=True), 1e-12)
        level = (share * self._paid_levels()).sum(axis=1)
        paid = 1.0 - (share * self.arrears_risk[None, :]).sum(axis=1)
        return (level * paid * (1.0 - self.contrib_loss))[:, None, None] * self.mult[None, :, :]

    def _decide(
        self,
        tick: int,
        p_consider: float,
        force_move: bool,
        skip: np.ndarray,
        counts: tuple | None = None,
    ) -> None:
        p, pars, geo = self.persons, self.pars, self.geo
        present, working = counts or labour.count_workers(
            p.loc, p.hukou, p.employed, p.sector, geo.n_dest
        )
        emp_rate = labour.job_chances(self.demand, present, working, pars)[3]
        e, cum, rowsum, vmax = decisions.type_tables(
            geo,
            pars,
            0,
            self._expected_wages(emp_rate),
            emp_rate,
            self.living,
            self.hukou_pen - self.insurance_utils,
            self.y_ref,
            self.dist_probs,
        )
        log_home = self._y_home - np.log(self.y_ref)
        decisions.decide(
            self._key("decide.consider", tick),
            self._key("decide.choice", tick),
            self._key("decide.dist", tick),
            p.age,
            p.sex,
            p.school,
            p.trained,
            p.county,
            p.hh,
            p.loc,
            p.hukou,
            p.employed,
            self.places.county_prov,
            self.places.county_capital,
            self.network.indptr,
            self.network.indices,
            e,
            cum,
            rowsum,
            vmax,
            pars.nest_lambda,
            pars.network_beta,
            log_home,
            self.b_push,
            pars.asc_home,
            p_consider,
            pars.onward_prob_unemployed,
            pars.onward_prob_employed,
            self.dist_probs,
            force_move,
            skip,
            bool(pars.ht_mode),
            self._new_loc,
            self._new_dist,
            self._event,
        )
        self._cand = np.flatnonzero(self._event)
        if pars.ht_mode and not force_move:
            w_u = float(np.mean(self.levels))
            y_r = float(np.exp(self._y_home[0]))
            capacity = np.floor(self.demand.sum(axis=1) * w_u / y_r).astype(np.int64) - present
            decisions.ht_admit(
                self._cand,
                uniform_array(self.seed, "decide.ht_order", tick, p.n)[self._cand],
                self._event,
                p.loc,
                self._new_loc,
                capacity,
            )
        departing = self._cand[self._event[self._cand] == 1]
        household.resolve_departures(
            self.places.hh_start,
            p.hh,
            departing,
            self._event,
            p.school,
            p.age,
            p.loc,
            p.hukou,
            bool(pars.hh_keep_one_home) and not force_move,
        )

    def _match(self, tick: int | None = None) -> None:
        p, pars, geo = self.persons, self.pars, self.geo
        present, working = labour.count_workers(p.loc, p.hukou, p.employed, p.sector, geo.n_dest)
        find, openings, layoff, _ = labour.job_chances(self.demand, present, working, pars)
        self._emp[:] = p.employed
        self._sec[:] = p.sector
        labour.match_jobs(
            self._key("labour.separation", tick),
            self._key("labour.hire", tick),
            self._key("labour.job", tick),
            p.loc,
            p.hukou,
            p.trained,
            self._emp,
            self._sec,
            p.employed,
            p.sector,
            p.job,
            self.network.indptr,
            self.network.indices,
            find,
            openings,
            layoff,
            pars.separation_rate,
            pars.network_job_boost,
            pars.network_sector_pull,
            self.informal_prob,
            pars.min_wage_enforcement,
            self.insured_prob,
            pars.training_job_boost,
        )

    def step(self) -> None:
        """Advance one month (see the module docstring for the order)."""
        clock = time.perf_counter
        marks = [clock()]
        geo, p, hh, t = self.geo, self.persons, self.households, self.t
        year, month = self.start_year + t // 12, t % 12 + 1
        sc = self.rec.scalars
        exits = np.zeros(len(EXIT_CAUSES), np.int64)
        # 1 demography
        sc["entrants"][t] = 0
        sc["leavers"][t] = 0
        sc["entrants_unplaced"][t] = 0
        if month == 1 and t > 0:
            self._demography(year, exits)
        marks.append(clock())
        # 2 year
        if month == 1:
            self._resolve_year(year)
            if t > 0:
                policy.train(
                    self._key("policy.training"),
                    p.age,
                    p.loc,
                    p.hukou,
                    p.trained,
                    self.pars.training_rate_year,
                )
        pars = self.pars
        marks.append(clock())
        # 3 returns
        returned = self._flag
        returns.draw_returns(
            self._key("returns"),
            p.age,
            p.sex,
            p.school,
            p.loc,
            p.hukou,
            p.dist,
            p.employed,
            p.months_away,
            p.sector,
            p.job,
            p.permit,
            p.hh,
            hh.n_children,
            hh.kids_with,
            pars.parent_age_min,
            pars.parent_age_max,
            pars.return_rate_year * self.return_weights[month - 1],
            pars.return_female_mult,
            pars.return_unemployed_mult,
            pars.return_age_log_per_decade,
            pars.return_duration_log_per_year,
            pars.return_children_mult,
            pars.return_school_log,
            self.insured_return_mult,
            returned,
            self._spell,
        )
        ret_idx = np.flatnonzero(returned)
        n_returned = ret_idx.size
        male = p.sex[ret_idx] == 0
        sp = self._spell[ret_idx].astype(np.int64)
        sc["spell_months_male"][t] = sp[male].sum()
        sc["spells_male"][t] = np.count_nonzero(male)
        sc["spell_months_female"][t] = sp[~male].sum()
        sc["spells_female"][t] = n_returned - sc["spells_male"][t]
        sc["returnee_school_sum"][t] = p.school[ret_idx].sum()
        household.release_children(ret_idx, p.hh, hh.kids_with, hh.n_children, False)
        marks.append(clock())
        # 4 hukou
        converted = self._flag2
        hukou.draw_conversions(
            self._key("hukou"),
            p.loc,
            p.hukou,
            p.employed,
            p.months_away,
            p.school,
            p.hh,
            hh.land_mu_per_worker,
            p.county,
            self.places.county_prov,
            self.mean_land_prov,
            geo.dest_tier,
            self.conv_month,
            pars.land_attachment,
            converted,
        )
        conv_idx = np.flatnonzero(converted)
        exits[2] = conv_idx.size
        household.release_children(conv_idx, p.hh, hh.kids_with, hh.n_children, True)
        hukou.draw_permits(
            self._key("hukou.permit"),
            p.loc,
            p.hukou,
            p.employed,
            p.job,
            p.permit,
            pars.permit_rate_formal,
            pars.permit_rate_informal,
        )
        marks.append(clock())
        # 5 labour demand and wages
        self.base_demand = labour.grow_demand(self.base_demand, self.growth, pars)
        self.ref_levels = self.ref_levels * np.exp(pars.wage_drift_year / 12.0)
        present, working = labour.count_workers(p.loc, p.hukou, p.employed, p.sector, geo.n_dest)
        shortage = np.maximum(self.demand - working, 0.0) / np.maximum(self.demand, 1e-12)
        unemp = 1.0 - working.sum(axis=1) / np.maximum(present, 1)
        self.levels = wages.adjust_levels(
            self.levels, shortage, np.where(present > 0, unemp, 0), pars
        )
        self.demand = labour.wage_adjusted_demand(
            self.base_demand, self._paid_levels(), self.ref_levels, pars
        )
        marks.append(clock())
        # 6 household
        self._home_income()
        marks.append(clock())
        # 7 decisions
        p_consider = 1.0 - np.exp(-pars.consider_rate_year * self.decide_weights[month - 1])
        self._decide(t, p_consider, False, returned, (present, working))
        household.children_follow(
            self._key("household.children"),
            self._cand,
            self._event,
            p.hh,
            p.age,
            hh.n_children,
            hh.kids_with,
            self.p_bring,
            self._new_loc,
            pars.parent_age_min,
            pars.parent_age_max,
        )
        out_by_dist, onward, back = self._apply_moves(year)
        marks.append(clock())
        # 8 matching
        self._match()
        decisions.add_month_away(p.loc, p.hukou, p.months_away)
        marks.append(clock())
        # 9 pay
        self._pay(year, month)
        marks.append(clock())
        # 10 record
        r = self.rec
        r.stock_dest[t], r.stock_dist[t], r.profile[t], r.sector_emp[t] = tally(*self._tally_args())
        r.outflow_dist[t] = out_by_dist
        r.returnflow[t] = n_returned + back
        r.onflow[t] = onward
        r.exitflow[t] = exits
        r.demand[t] = self.demand.sum(axis=1) * self.scale
        present, working = labour.count_workers(p.loc, p.hukou, p.employed, p.sector, geo.n_dest)
        r.shortage[t] = np.maximum(self.demand - working, 0.0).sum(axis=1) * self.scale
        sc["local_workers"][t] = pars.urban_local_workers
        sc["cpi"][t] = self.cpi
        if month == 12:
            self._record_year_end(year)
        marks.append(clock())
        for name, a, b in zip(STEP_ORDER, marks[:-1], marks[1:], strict=True):
            self.timings[name] += b - a
        self.t += 1

    def _pay(self, year: int, month: int) -> None:
        p, hh, pars, t = self.persons, self.households, self.pars, self.t
        sc = self.rec.scalars
        wages.pay(
            self._key("wages.ability", 0),
            self._key("wages.arrears"),
            year,
            p.age,
            p.school,
            p.trained,
            p.loc,
            p.hukou,
            p.employed,
            p.sector,
            p.job,
            self.levels,
            self.mult,
            self.minw,
            self.arrears_risk,
            pars.wage_dispersion_log_sd,
            pars.remit_share,
            pars.insurance_contribution_rate,
            self._wage,
            self._paid,
            self._remit,
        )
        bins, counts, wage_sum, remit_sum = tally_pay(
            p.loc,
            self._wage,
            self._paid,
            self._remit,
            p.job,
            self.pars.insurance_contribution_rate,
            self.minw,
            self.to_2005,
            WAGE_EDGES_2005,
        )
        self.rec.wage_bins[t] = bins
        sc["paid_full"][t], sc["minwage_covered"][t], sc["minwage_ok"][t] = counts
        sc["wage_sum_rmb"][t] = wage_sum
        remit = self._remit
        sc["remittances_rmb"][t] = remit_sum * self.scale * self.cpi
        if month == 12:  # incomes per head and their distribution: yearly, in December
            household.income_per_head(
                self.places.hh_start,
                p.loc,
                p.hukou,
                remit,
                self._y_home,
                pars.working_age_share,
                self._inc_head,
                self._hh_size,
            )
            size = self._hh_size
            sc["rural_income_per_head"][t] = float(
                (self._inc_head * size).sum() / max(size.sum(), 1e-12)
            )
            sc["urban_income_per_head"][t] = self.urban_income_head
        behind, in_city = household.children_counts(
            self.places.hh_start,
            p.loc,
            p.hukou,
            p.age,
            hh.n_children,
            hh.kids_with,
            pars.parent_age_min,
            pars.parent_age_max,
        )
        sc["children_left_behind"][t] = behind
        sc["children_in_cities"][t] = in_city

    def _record_year_end(self, year: int) -> None:
        p, sc, t = self.persons, self.rec.scalars, self.t
        sc["gini_rural"][t] = household.weighted_gini(self._inc_head, self._hh_size)
        cohort = (p.first_year >= year - 10) & (p.first_year <= year - 1) & (p.hukou == RURAL)
        n = np.count_nonzero(cohort)
        sc["cohort_returned_share"][t] = (
            np.count_nonzero(cohort & (p.loc == HOME)) / n if n else np.nan
        )

    def run(self, progress: Callable[[int, int], None] | None = None) -> Results:
        """Run all months; ``progress(done, total)`` is called after each month."""
        t0 = time.perf_counter()
        with _threads(self.threads):
            while self.t < self.n_months:
                self.step()
                if progress is not None:
                    progress(self.t, self.n_months)
        self.run_seconds = time.perf_counter() - t0
        return self.results()

    def results(self) -> Results:
        geo = self.geo
        return Results(
            rec=self.rec,
            start_year=self.start_year,
            scale=self.scale,
            dest_name=geo.dest_name,
            dest_prov=np.asarray(geo.dest_prov),
            dest_tier=np.asarray(geo.dest_tier),
            dest_is_six=np.asarray(geo.dest_is_six),
            prov_name=geo.prov_name,
            prov_region=np.asarray(geo.prov_region),
            initial_stock=self.initial_stock,
            meta={
                "agents": self.agents,
                "seed": self.seed,
                "start_year": self.start_year,
                "years": self.years,
                "scale": self.scale,
                "local_sector_shares": self.local_shares,
            },
        )

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by agent state, network and per-person buffers."""
        buffers = sum(
            a.nbytes
            for a in (
                self._new_loc,
                self._new_dist,
                self._event,
                self._flag,
                self._flag2,
                self._emp,
                self._sec,
                self._spell,
                self._wage,
                self._paid,
                self._remit,
                self._y_home,
                self._inc_head,
                self._hh_size,
            )
        )
        return {
            "persons": self.persons.nbytes(),
            "households": self.households.nbytes(),
            "places": self.places.nbytes(),
            "network": self.network.nbytes(),
            "buffers": buffers,
        }


class _threads:
    """Context manager setting numba's thread count for a block (None leaves it unchanged)."""

    def __init__(self, n: int | None):
        self.n = n
        self.old: int | None = None

    def __enter__(self):
        if self.n is not None:
            if not 1 <= self.n <= numba.config.NUMBA_NUM_THREADS:
                raise ValueError(
                    f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {self.n}"
                )
            self.old = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            numba.set_num_threads(self.old)
        return False
