"""The simulation loop: one documented order of mechanisms, applied every month.

Step order (``STEP_ORDER``), each month t of year y:

1. ``demography``  (January only) everyone ages a year; those reaching 65 or dying leave and are
   replaced by entrants aged 15 (``sim.demography``).
2. ``year``        (January only) parameters resolved for year y; wages, living costs, hukou
   penalties and home incomes recomputed (``sim.labour``, ``sim.hukou``).
3. ``returns``     migrants draw the return hazard; returners go home (``sim.returns``).
4. ``hukou``       settled, employed migrants may convert to local hukou (``sim.hukou``).
5. ``labour``      migrant labour demand grows with regional GDP; workers counted; job chances
                   and Harris-Todaro employment probabilities set (``sim.labour``).
6. ``decisions``   persons at home weigh migrating, migrants weigh moving on, all against the
                   start-of-month state (``sim.decisions``); moves are committed afterwards.
7. ``matching``    separations and hires, newcomers included (``sim.labour``).
8. ``record``      stocks, flows and migrant profile of the month (``sim.results``).

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

from sim import decisions, demography, hukou, labour, returns
from sim.geography import load_geography
from sim.network import build_network
from sim.params import Params
from sim.population import build_population
from sim.results import EXIT_CAUSES, Recorder, Results, tally
from sim.rng import tick_key
from sim.state import HOME, RURAL

STEP_ORDER = ("demography", "year", "returns", "hukou", "labour", "decisions", "matching",
              "record")

_MONTH_DECIDE = np.array([0.0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # Feb, Mar: Spring Festival


def _season(share: float, festival_months: np.ndarray) -> np.ndarray:
    """Monthly weights summing to 1: ``share`` spread over the festival months, the rest evenly."""
    fest = festival_months > 0
    w = np.where(fest, share * festival_months / festival_months.sum(),
                 (1.0 - share) / (~fest).sum())
    return w


class Simulation:
    """A run of the model.

    >>> sim = Simulation(agents=20_000, seed=3, years=2)   # doctest: +SKIP
    >>> res = sim.run(); res.to_frame().head()                # doctest: +SKIP
    """

    def __init__(self, params: Params | Mapping[str, Any] | None = None, agents: int = 200_000,
                 seed: int = 1, start_year: int = 1985, years: int = 22,
                 threads: int | None = None):
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
        self.persons, self.households, self.places, self.scale = build_population(
            geo, self.agents, self.seed, pars, self.start_year)
        self.network = build_network(self.persons, self.places, self.seed, pars)
        hh_prov = self.places.county_prov[self.households.county]
        land = self.households.land_mu_per_worker.astype(np.float64)
        self.mean_land_prov = (np.bincount(hh_prov, land, geo.n_prov)
                               / np.maximum(np.bincount(hh_prov, minlength=geo.n_prov), 1))
        n = self.persons.n
        self._new_loc = np.empty(n, np.int16)
        self._new_dist = np.empty(n, np.int8)
        self._event = np.empty(n, np.int8)
        self._flag = np.zeros(n, np.int8)
        self._emp = np.empty(n, np.int8)
        self.demand = labour.demand_weights(geo, pars) * pars.migrant_jobs_initial / self.scale
        self.n_months = 12 * self.years
        self.rec = Recorder(self.n_months, geo.n_dest)
        self.t = 0
        self._resolve_year(self.start_year)
        self._place_initial_migrants(pars)
        by_dest, _, _ = tally(self.persons.age, self.persons.sex, self.persons.loc,
                              self.persons.hukou, self.persons.dist, self.persons.employed,
                              geo.n_dest)
        self.initial_stock = int(by_dest.sum())

    def _place_initial_migrants(self, pars) -> None:
        """Draw the initial stock from the young (ages < 40), placed by the choice model."""
        p = self.persons
        n_init = int(round(pars.initial_migrant_stock / self.scale))
        if n_init == 0:
            return
        u = np.asarray(
            __import__("sim.rng", fromlist=["uniform_array"]).uniform_array(
                self.seed, "init.select", 0, p.n))
        u = np.where(p.age < 40, u, 2.0)
        chosen = np.argsort(u, kind="stable")[:n_init]
        skip = np.ones(p.n, np.int8)
        skip[chosen] = 0
        self._decide(tick=-1, p_consider=1.0, force_move=True, skip=skip)
        decisions.apply_moves(self._event, self._new_loc, self._new_dist, p.loc, p.dist,
                              p.employed, p.months_away, np.zeros(4, np.int64))
        p.employed[:] = (p.loc != HOME).astype(np.int8)
        p.months_away[:] = np.where(p.loc != HOME, 12, 0).astype(np.int16)

    # ---------------------------------------------------------------- yearly inputs
    def _resolve_year(self, year: int) -> None:
        geo = self.geo
        self.pars = pars = self.params.at(year)
        nat = geo.national
        k = int(np.clip(np.searchsorted(nat["year"], year), 0, nat["year"].size - 1))
        self.wage_index = float(nat["urban_wage_real_index"][k])
        rural_index = float(nat["rural_income_real_index"][k])
        self.growth = geo.regional_growth[k][geo.prov_region[geo.dest_prov]]  # % per year
        self.wages = labour.wage_table(geo, pars, self.wage_index)
        self.living = labour.living_cost(geo, pars, self.wage_index)
        self.hukou_pen = hukou.penalties(pars)[geo.dest_tier]
        share = pars_working = 0.68
        w = geo.rural_pop_working_age
        y_prov_2000 = geo.rural_income_rmb_year / pars_working / 12.0
        self.y_ref = float((w * y_prov_2000).sum() / w.sum())
        self.home_log_income = np.log(y_prov_2000 * rural_index / self.y_ref)
        del share
        self.dist_probs = decisions.dist_class_probs(geo.n_prov, geo.dest_prov, geo.dest_tier, pars)
        self.b_push = decisions.home_coefficients(pars)
        self.decide_weights = _season(pars.spring_festival_share, _MONTH_DECIDE)
        ret = np.zeros(12)
        ret[0] = 1.0
        self.return_weights = _season(pars.return_festival_share, ret)
        self.conv_month = hukou.conversion_rates(pars) / 12.0

    def _key(self, stream: str, tick: int | None = None) -> np.uint64:
        return tick_key(self.seed, stream, self.t if tick is None else tick)

    # ---------------------------------------------------------------- mechanisms
    def _decide(self, tick: int, p_consider: float, force_move: bool, skip: np.ndarray) -> None:
        p, pars, geo = self.persons, self.pars, self.geo
        present, working = labour.count_workers(p.loc, p.hukou, p.employed, geo.n_dest)
        _, _, emp_rate = labour.job_chances(self.demand, present, working, pars)
        e, cum, rowsum, vmax = decisions.type_tables(
            geo, pars, 0, self.wages, emp_rate, self.living, self.hukou_pen, self.y_ref,
            self.dist_probs)
        decisions.decide(
            self._key("decide.consider", tick), self._key("decide.choice", tick),
            self._key("decide.dist", tick), p.age, p.sex, p.school, p.trained, p.county, p.hh,
            p.loc, p.hukou, p.employed, self.households.land_mu_per_worker,
            self.places.county_prov, self.places.county_capital, self.mean_land_prov,
            self.network.indptr, self.network.indices, e, cum, rowsum, vmax, pars.nest_lambda,
            pars.network_beta, self.home_log_income, 0.3, self.b_push, pars.asc_home,
            p_consider, pars.onward_prob_unemployed, pars.onward_prob_employed, self.dist_probs,
            force_move, skip, self._new_loc, self._new_dist, self._event)

    def step(self) -> None:
        """Advance one month (see the module docstring for the order)."""
        geo, p, t = self.geo, self.persons, self.t
        year, month = self.start_year + t // 12, t % 12 + 1
        clock = time.perf_counter
        t0 = clock()
        exits = np.zeros(len(EXIT_CAUSES), np.int64)
        if month == 1 and t > 0:
            pars = self.params.at(year)
            was_away = (p.loc != HOME) & (p.hukou == RURAL)
            demography.age_and_replace(
                self._key("demography"), p.age, p.sex, p.school, p.trained, p.loc, p.hukou,
                p.dist, p.employed, p.months_away, pars.exit_age, pars.mortality_30,
                pars.mortality_gompertz, pars.entrant_share_junior, pars.entrant_share_senior,
                self._flag)
            exits[0] = np.count_nonzero(was_away & (self._flag == 1))
            exits[1] = np.count_nonzero(was_away & (self._flag == 2))
        t1 = clock()
        if month == 1:
            self._resolve_year(year)
        pars = self.pars
        t2 = clock()
        returned = self._flag
        returns.draw_returns(
            self._key("returns"), p.age, p.sex, p.school, p.loc, p.hukou, p.dist, p.employed,
            p.months_away, p.hh, self.households.n_children,
            pars.return_rate_year * self.return_weights[month - 1], pars.return_female_mult,
            pars.return_unemployed_mult, pars.return_age_log_per_decade,
            pars.return_duration_log_per_year, pars.return_children_mult, pars.return_school_log,
            returned)
        n_returned = int(np.count_nonzero(returned))
        t3 = clock()
        converted = self._event  # reused buffer; overwritten by decisions below
        hukou.draw_conversions(
            self._key("hukou"), p.loc, p.hukou, p.employed, p.months_away, p.school, p.hh,
            self.households.land_mu_per_worker, p.county, self.places.county_prov,
            self.mean_land_prov, geo.dest_tier, self.conv_month, pars.land_attachment, converted)
        exits[2] = np.count_nonzero(converted)
        t4 = clock()
        self.demand = self.demand * (1.0 + pars.demand_growth_elasticity * self.growth / 100.0
                                     ) ** (1.0 / 12.0)
        t5 = clock()
        p_consider = 1.0 - np.exp(-pars.consider_rate_year * self.decide_weights[month - 1])
        self._decide(t, p_consider, False, returned)
        out_by_dist = np.zeros(4, np.int64)
        onward = decisions.apply_moves(self._event, self._new_loc, self._new_dist, p.loc, p.dist,
                                       p.employed, p.months_away, out_by_dist)
        t6 = clock()
        present, working = labour.count_workers(p.loc, p.hukou, p.employed, geo.n_dest)
        find, layoff, _ = labour.job_chances(self.demand, present, working, pars)
        self._emp[:] = p.employed
        labour.match_jobs(self._key("labour.separation"), self._key("labour.hire"), p.loc,
                          p.hukou, self._emp, p.employed, self.network.indptr,
                          self.network.indices, find, layoff, pars.separation_rate,
                          pars.network_job_boost)
        decisions.add_month_away(p.loc, p.hukou, p.months_away)
        t7 = clock()
        r = self.rec
        r.stock_dest[t], r.stock_dist[t], r.profile[t] = tally(
            p.age, p.sex, p.loc, p.hukou, p.dist, p.employed, geo.n_dest)
        r.outflow_dist[t] = out_by_dist
        r.returnflow[t] = n_returned
        r.onflow[t] = onward
        r.exitflow[t] = exits
        r.demand[t] = self.demand * self.scale
        t8 = clock()
        for name, dt in zip(STEP_ORDER, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5,
                                         t7 - t6, t8 - t7), strict=True):
            self.timings[name] += dt
        self.t += 1

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
            rec=self.rec, start_year=self.start_year, scale=self.scale, dest_name=geo.dest_name,
            dest_prov=np.asarray(geo.dest_prov), dest_tier=np.asarray(geo.dest_tier),
            dest_is_six=np.asarray(geo.dest_is_six), prov_name=geo.prov_name,
            prov_region=np.asarray(geo.prov_region), initial_stock=self.initial_stock * 1,
            meta={"agents": self.agents, "seed": self.seed, "start_year": self.start_year,
                  "years": self.years, "scale": self.scale},
        )

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by agent state, network and per-person buffers."""
        buffers = sum(a.nbytes for a in (self._new_loc, self._new_dist, self._event, self._flag,
                                         self._emp))
        return {"persons": self.persons.nbytes(), "households": self.households.nbytes(),
                "places": self.places.nbytes(), "network": self.network.nbytes(),
                "buffers": buffers}


class _threads:
    """Context manager setting numba's thread count for a block (None leaves it unchanged)."""

    def __init__(self, n: int | None):
        self.n = n
        self.old: int | None = None

    def __enter__(self):
        if self.n is not None:
            if not 1 <= self.n <= numba.config.NUMBA_NUM_THREADS:
                raise ValueError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], "
                                 f"got {self.n}")
            self.old = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            numba.set_num_threads(self.old)
        return False
