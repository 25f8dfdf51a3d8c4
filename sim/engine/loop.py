"""The simulation loop, built from the ordered mechanism registry (``sim.engine.registry``).

Each month the loop calls every registered mechanism in order: its ``yearly`` hook in January,
then its ``step``. The default order (``STEP_ORDER``, documented with each mechanism's ``doc`` in
``docs/architecture.md``) is demography, year, policy, returns, hukou, labour, household,
decisions, matching, pay, record. A mechanism reads and writes the simulation through the
attributes below, and other mechanisms through ``sim.mech[name]``.

Every kernel reads a state that no other thread writes during the kernel and draws from its own
named counter-based stream keyed by (seed, stream, month, person), so results do not depend on
the number of threads, and a scenario shares every draw with its baseline except where its
policy changes a decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any

import numba
import numpy as np

from sim.core import land
from sim.core.encodings import EXIT_CAUSES, HOME
from sim.core.geography import load_geography, province_series_of
from sim.core.mechanism import Mechanism, StateField
from sim.core.params import ParamSet
from sim.core.rng import tick_key
from sim.core.state import Buffers, families
from sim.engine.record import stock_arrays
from sim.engine.registry import STEP_ORDER, Params, build, schema_for
from sim.engine.yearly import YearInputs, year_quantities
from sim.io.results import Recorder, Results, tally
from sim.mechanisms import demography, labour, wages
from sim.mechanisms.network import build_network
from sim.mechanisms.population import build_population, initial_stock_draw

__all__ = ["STEP_ORDER", "Simulation"]

# streams drawn by the engine itself (the initial stock's selection)
ENGINE_STREAMS = ("init.select",)


class Simulation:
    """A run of the model.

    >>> sim = Simulation(agents=20_000, seed=3, years=2)   # doctest: +SKIP
    >>> res = sim.run(); res.to_frame().head()                # doctest: +SKIP

    ``mechanisms`` adds rules from outside the package (instances or classes of
    :class:`sim.core.mechanism.Mechanism`); their parameters join the schema, so they may be
    set in ``params``.

    What mechanisms read and write: ``persons``, ``households`` (state tables), ``places``,
    ``network``, ``geo``; ``params`` (all years) and ``pars`` (this year's values); ``yq``
    (:class:`YearInputs`); ``buf`` (declared scratch buffers); ``rec`` (the records); the
    labour market (``demand``, ``base_demand``, ``urban_total``, ``urban_local``, ``levels``,
    ``ref_levels``); the month's
    ``t``, ``year``, ``month``, ``exits``, ``counts``; ``key(stream)`` for random streams;
    ``mech[name]`` for the other mechanisms.
    """

    def __init__(
        self,
        params: ParamSet | Mapping[str, Any] | None = None,
        agents: int = 200_000,
        seed: int = 1,
        start_year: int = 1985,
        years: int = 22,
        threads: int | None = None,
        mechanisms: Iterable[Mechanism | type[Mechanism]] = (),
    ):
        self.mechanisms = build(mechanisms)
        self.mech: dict[str, Mechanism] = {m.name: m for m in self.mechanisms}
        sch = schema_for(self.mechanisms)
        if not isinstance(params, ParamSet):
            params = Params(params or {}, schema=sch)
        elif set(params.schema) != set(sch):
            params = params.extended(sch)
        if not 1 <= years <= 200:
            raise ValueError(f"years must be in [1, 200], got {years}")
        if not 1949 <= start_year <= 2100:
            raise ValueError(f"start_year must be in [1949, 2100], got {start_year}")
        if seed < 0 or seed >= 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {seed}")
        for m in self.mechanisms:
            m.check(params)
        self.params = params
        self.agents = int(agents)
        self.seed = int(seed)
        self.start_year = int(start_year)
        self.years = int(years)
        self.threads = threads
        # parameters set away from their defaults that no rule reads in these years
        self.inert_params = params.inert(range(self.start_year, self.start_year + self.years))
        self.geo = load_geography(province_series_of(params))
        self.stages = [m for m in self.mechanisms if m.runs_monthly()]
        self.timings: dict[str, float] = {m.name: 0.0 for m in self.stages}
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
            self.projection,
            self.agents,
            self.start_year,
            self.years,
            pars.cohort_entry,
            families=bool(pars.life_course),
        )
        self.persons, self.households, self.places, self.scale = build_population(
            geo,
            self.agents,
            self.seed,
            pars,
            self.start_year,
            by_age=self.projection.by_age(self.start_year),
            capacity=capacity,
            run_years=self.years,
        )
        chosen = self._initial_stock_draw(pars)  # before the network: a smaller peak
        self.network = build_network(self.persons, self.places, self.seed, pars)
        self._allocate_declared()
        hh_prov = self.places.county_prov[self.households.county]
        self.hh_prov = hh_prov.astype(np.int8)
        land = self.households.land_mu_per_worker.astype(np.float64)
        self.mean_land_prov = np.bincount(hh_prov, land, geo.n_prov) / np.maximum(
            np.bincount(hh_prov, minlength=geo.n_prov), 1
        )
        self.demand, self.urban_total, self.urban_local = labour.market_at_start(
            geo, self.params, self.scale, self.start_year
        )
        self.n_months = 12 * self.years
        self.rec = Recorder(self.n_months, geo.n_dest, geo.n_prov)
        for ind in self.extra_indicators:
            self.rec.scalars[ind.name] = np.full(self.n_months, np.nan)
        self.t = 0
        self.year, self.month = self.start_year, 1
        self.resolve_year(self.start_year)
        self.levels = wages.levels_at_start(geo, self.params, self.start_year)
        if pars.ht_mode:  # one national urban wage level
            self.levels[:] = float(np.mean(self.levels))
        self.ref_levels = self.levels.copy()  # wage levels on the drift path, without tightness
        self.base_demand = self.demand.copy()
        for m in self.mechanisms:
            m.init(self)
        self._place_initial_migrants(pars, chosen)
        self.initial_stock = int(tally(*stock_arrays(self))[0].sum())

    def _allocate_declared(self) -> None:
        """State fields and buffers declared by the mechanisms. Buffers, household fields and
        person fields whose ``home`` value is their fill are allocated on first read (a
        mechanism that is off costs no memory); the others now."""
        n, n_hh = self.persons.n, self.households.n
        self.buf = Buffers()
        self._home_fields: list[StateField] = []
        self._entry_fields: list[StateField] = []
        self.extra_indicators = []
        for m in self.mechanisms:
            for f in m.person_state:
                if f.home is None or f.home == f.fill:  # at its fill value until first read
                    self.persons.declare(f)
                else:
                    self.persons.add(f)
                self._entry_fields.append(f)
                if f.home is not None:
                    self._home_fields.append(f)
            for f in m.household_state:
                self.households.declare(f)
            for f in m.buffers:
                self.buf.add(f, n if f.level == "person" else n_hh)
            for ind in m.results:
                self.extra_indicators.append(ind)
        self.extra_indicators = [i for i in self.extra_indicators if i.name not in _CORE_SCALARS]

    def _initial_stock_draw(self, pars) -> np.ndarray:
        """The persons of the initial stock, in the order they are placed: the young (under
        40) of rural hukou with the smallest draws of the stream ``init.select``."""
        n_init = int(round(pars.initial_migrant_stock / self.scale))
        return initial_stock_draw(self.seed, self.persons.age, self.persons.hukou, n_init)

    def _place_initial_migrants(self, pars, chosen: np.ndarray) -> None:
        """Place the initial stock (``chosen``, :meth:`_initial_stock_draw`) by the choice model in
        ``initial_arrival_rounds`` equal rounds (the stock arrived over the months before the
        start). Each round sees the migrants placed before it, so the chance of a job it
        weighs falls where arrivals already outnumber the jobs (Harris & Todaro 1970); a month
        of job matching follows each round, and of wage adjustment each but the last (the
        run's first month adjusts them after it). One round places the stock at once."""
        p = self.persons
        n_init = chosen.size
        if n_init == 0:
            return
        decisions, labour = self.mech["decisions"], self.mech["labour"]
        self.mech["household"].home_income(self)
        rounds = max(1, min(int(pars.initial_arrival_rounds), n_init))
        for r, group in enumerate(np.array_split(chosen, rounds)):
            skip = np.ones(p.n, np.int8)
            skip[group] = 0
            decisions.decide(self, tick=-1, p_consider=1.0, force_move=True, skip=skip)
            decisions.commit(self, self.start_year - 1)
            self.mech["matching"].match(self, tick=-1 - r)
            if r < rounds - 1:  # the run's first month adjusts wages after the last round
                labour.adjust_wages(self)
        p.months_away[:] = 0
        p.months_away[p.loc != HOME] = 12

    # ---------------------------------------------------------------- services to mechanisms
    def resolve_year(self, year: int) -> None:
        """Parameters of the year and every quantity derived from them (``sim.engine.yearly``)."""
        self.pars = self.params.at(year)
        # the income anchor's mean land per worker under the year's tenure (sim.core.land)
        self.mean_land_now = self.mean_land_prov * land.anchor_factor(self)
        self.yq: YearInputs = year_quantities(self.geo, self.pars, year, self.mean_land_now)

    def key(self, stream: str, tick: int | None = None) -> np.uint64:
        """Key of the named random stream for this month (or for ``tick``)."""
        return tick_key(self.seed, stream, self.t if tick is None else tick)

    def sent_home(self, idx: np.ndarray) -> None:
        """Persons ``idx`` went home: declared state with a ``home`` value is reset."""
        for f in self._home_fields:
            if self.persons.allocated(f.name):  # an unread field holds fill = home everywhere
                getattr(self.persons, f.name)[idx] = f.home

    def entered(self, idx: np.ndarray) -> None:
        """Persons ``idx`` entered empty slots: declared state starts at its fill value."""
        for f in self._entry_fields:
            if self.persons.allocated(f.name):  # an unread field holds its fill everywhere
                getattr(self.persons, f.name)[idx] = f.fill

    # ---------------------------------------------------------------- the loop
    def step(self) -> None:
        """Advance one month: every stage of the registry in order."""
        clock = time.perf_counter
        t = self.t
        self.year, self.month = self.start_year + t // 12, t % 12 + 1
        self.exits = np.zeros(len(EXIT_CAUSES), np.int64)
        self.n_returned = self.onward = self.back = 0
        self.out_by_dist = np.zeros(4, np.int64)
        january = self.month == 1
        for m in self.stages:
            t0 = clock()
            if january:
                m.yearly(self)
            m.step(self)
            self.timings[m.name] += clock() - t0
        self.t += 1

    def run(self, progress: Callable[[int, int], None] | None = None,
            until: int | None = None) -> Results:
        """Run all months (or up to month ``until``); ``progress(done, total)`` is called after
        each month."""
        t0 = time.perf_counter()
        end = self.n_months if until is None else min(int(until), self.n_months)
        with _threads(self.threads):
            while self.t < end:
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
                "local_sector_shares": self.yq.local_shares,
                "indicators": [asdict(i) for i in self.extra_indicators],
                # the household life course (its counts of couples and children), and with
                # the elders the rural-hukou population of every age (urbanisation by hukou
                # and by residence)
                "families": families(self.params.at(self.start_year)),
                "counts_all_ages": families(self.params.at(self.start_year))
                and "elders" in self.mech,
            },
        )

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by agent state, network and the declared buffers."""
        return {
            "persons": self.persons.nbytes(),
            "households": self.households.nbytes(),
            "places": self.places.nbytes(),
            "network": self.network.nbytes(),
            "buffers": self.buf.nbytes(),
        }


def _core_scalars() -> frozenset[str]:
    from sim.io.results import SCALARS

    return frozenset(SCALARS)


_CORE_SCALARS = _core_scalars()


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

