"""A readable reference model of migsim in Mesa 3: the same rules as the fast core, written plainly.

``ReferenceModel`` holds :class:`~sim.mesa.agents.Person` and
:class:`~sim.mesa.household.Household` agents and advances them month by month in the core's step
order (``sim.engine.STEP_ORDER``): demography, year, policy, returns, hukou, labour, household,
rural off-farm work (``sim.mesa.offfarm``), decisions, matching, pay, record. It is meant for
reading, teaching and checking the numba core at a few thousand agents
(``tests/test_docking.py``), not for production runs.

What is shared with the core, so that the two models cannot drift apart in their inputs:

- the initial population and contact network (``sim.mechanisms.population.build_population``,
  ``sim.mechanisms.network.build_network``, same seed, hence the same persons and ties), with
  the life course the same couples and the same children (placed by the core's kernels of
  ``LifeCourse.init``, ``sim.mesa.families.initial_children``), and the year's number of
  births (``births.cohort_count``);
- the parameters (``sim.Params``, resolved each January with ``Params.at(year)``) and the plain
  numpy helpers that turn them into the year's quantities: demand (``labour.initial_demand``,
  ``labour.grow_demand``, ``labour.job_chances``), wage levels (``wages.initial_levels``,
  ``labour.adjust_levels``), living costs, minimum wages, hukou penalties and conversion rates,
  farm productivity (``household.log_farm_productivity``).

What is written again here, in plain Python, is every per-agent rule of the numba kernels and
the tabulated choice model: the utility of each destination is computed for each deciding
person instead of per type (``decisions.type_tables``), the network term, the nested logit,
the household strategy, job matching, pay, returns, hukou, demography and training, and the
household life course (``sim.mesa.families``: marriage, couples moving together, births to
wives, children entering at 15; parents in the decision, returns and children following).

Randomness comes from ``numpy.random.Generator(seed)`` (Mesa's ``model.rng``): draws differ from
the core's, so the two models agree in distribution, not run by run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mesa
import numpy as np

from sim.core.encodings import N_SECTORS, SECTOR_NAMES, URBAN
from sim.core.geography import load_geography, province_series_of
from sim.core.state import HOME, NO_MOTHER, NO_PERSON, NO_YEAR, VACANT, families
from sim.engine import STEP_ORDER
from sim.engine.registry import Params
from sim.engine.yearly import year_quantities
from sim.mechanisms import demography, labour, wages
from sim.mechanisms.network import build_network
from sim.mechanisms.population import build_population, initial_stock_draw
from sim.mesa import families as life
from sim.mesa import land
from sim.mesa.agents import Household, Person
from sim.mesa.household import january_children
from sim.mesa.norms import female_cost_by_province
from sim.mesa.offfarm import TVE_INDICATORS, rural_offfarm
from sim.mesa.support import refuse_unsupported

#: the indicators recorded each month, as (indicator, group) keys of ``Results.series()``
KEY_INDICATORS = (
    ("migrant_stock", "total"),
    ("outflow", "total"),
    ("returnflow", "total"),
    ("share_male", "total"),
    ("share_aged_15_29", "total"),
    ("unemployment_rate", "migrants"),
    *[("sector_share", f"sector:{s}") for s in SECTOR_NAMES],
    ("share_fully_paid", "migrants"),
    ("children_left_behind", "total"),
    ("migrant_children_in_cities", "total"),
    ("share_to_six_destinations", "total"),
)


# stages without a rule here: an indicator that only reads state, a margin that is off unless
# ``self_entry_rate`` or ``self_review_rate`` > 0 and work injuries, off unless a sector's
# hazard is > 0 (all refused in sim.mesa.support, with the size term); returnees' enterprise
# and savings, off unless ``ent_start_rate_year`` > 0 (refused)
_NO_RULE = ("rural_reserve", "work_safety", "self_employment", "enterprise", "savings",
            "insurance",  # insurance: records only, unless insurance_cost_in_demand (refused)
            "inspection",  # inspection: records only; its outcomes reach this model through
#                            the year's inputs (minwage_prob, arrears_risk, informal_prob)
            "elders")  # elders: records only, unless their two behaviour terms are > 0 (refused)


class ReferenceModel(mesa.Model):
    """Plain agent-based twin of ``sim.Simulation`` (same parameters, same step order).

    >>> m = ReferenceModel(agents=2000, seed=1, start_year=2000, years=1)   # doctest: +SKIP
    >>> m.run(); m.series()["migrant_stock", "total"]                        # doctest: +SKIP

    ``network_term`` switches the chain-migration term of the destination utility off (a
    deliberately changed rule, to show that docking detects it); ``return_hazard_mult``
    multiplies the return hazard (the same purpose). The defaults are the core's rules,
    including the household life course (``life_course``; off: version 0.6 households).
    """

    def __init__(
        self,
        params: Params | Mapping[str, Any] | None = None,
        agents: int = 2000,
        seed: int = 1,
        start_year: int = 2000,
        years: int = 3,
        *,
        network_term: bool = True,
        return_hazard_mult: float = 1.0,
    ):
        super().__init__(seed=seed)
        self.params = params if isinstance(params, Params) else Params(params or {})
        #: households are families with a life course (``sim.core.state.families``)
        self.families = families(self.params.at(start_year))
        refuse_unsupported(self.params, start_year, years)
        self.seed = int(seed)
        self.start_year, self.years = int(start_year), int(years)
        self.n_months = 12 * self.years
        self.network_term = bool(network_term)
        self.return_hazard_mult = float(return_hazard_mult)
        self.geo = load_geography(province_series_of(self.params))
        self.t = 0
        self._moving_cost_cache: dict[tuple[int, int], np.ndarray] = {}
        self._build(int(agents))
        self.rec: dict[tuple[str, str], list[float]] = {k: [] for k in KEY_INDICATORS}
        # TVE indicators (``offfarm_series``) and (holders, capacity) per province each month
        self.offfarm_rec: dict[tuple[str, str], list[float]] = {k: [] for k in TVE_INDICATORS}
        self.offfarm_check: list[tuple[np.ndarray, np.ndarray]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={
                f"{ind}[{grp}]": (lambda m, k=(ind, grp): m.rec[k][-1])
                for ind, grp in KEY_INDICATORS
            }
        )

    # ================================================================ set-up
    def _build(self, n_agents: int) -> None:
        """Agents from the core's population and network builders (same seed, same people)."""
        geo = self.geo
        pars = self.params.at(self.start_year)
        self.projection = demography.Projection(geo, self.params)
        capacity = demography.slot_capacity(  # as Simulation._build
            self.projection,
            n_agents,
            self.start_year,
            self.years,
            pars.cohort_entry,
            families=bool(pars.life_course),
        )
        persons, hhs, places, self.scale = build_population(
            geo,
            n_agents,
            self.seed,
            pars,
            self.start_year,
            by_age=self.projection.by_age(self.start_year),
            capacity=capacity,
            run_years=self.years,
        )
        if self.families:  # the initial children, as the core's ``LifeCourse.init``
            life.initial_children(persons, hhs, places, pars, self.projection, self.scale,
                                  self.seed, self.start_year)
        net = build_network(persons, places, self.seed, pars)
        hh_prov = places.county_prov[hhs.county].astype(np.int64)
        land = hhs.land_mu_per_worker.astype(np.float64)
        self.mean_land_prov = np.bincount(hh_prov, land, geo.n_prov) / np.maximum(
            np.bincount(hh_prov, minlength=geo.n_prov), 1
        )
        self.households = [
            Household(
                self, int(hhs.county[h]), int(hh_prov[h]), float(land[h]), int(hhs.n_children[h])
            )
            for h in range(hhs.n)
        ]
        for h, hh in enumerate(self.households):
            hh.land_stock = np.float32(hhs.land_mu[h])
        self.persons: list[Person] = []
        slot_hh, slot_county = persons.hh, persons.county
        for i in range(persons.n):
            h = self.households[int(slot_hh[i])]
            c = int(slot_county[i])
            x = Person(
                self,
                h,
                c,
                int(places.county_capital[c]),
                int(persons.age[i]),
                int(persons.sex[i]),
                int(persons.school[i]),
                int(persons.trained[i]),
            )
            if persons.hukou[i] == VACANT:
                x.age, x.hukou = 0, VACANT
            h.members.append(x)
            self.persons.append(x)
        indptr, indices = net.csr()
        for i, x in enumerate(self.persons):
            x.contacts = [self.persons[j] for j in indices[indptr[i] : indptr[i + 1]]]
        self._build_families(persons, hhs, places)
        self.demand, self.urban_total, self.urban_local = labour.market_at_start(
            geo, self.params, self.scale, self.start_year
        )
        self.resolve_year(self.start_year)
        self.levels = wages.levels_at_start(geo, self.params, self.start_year)
        self.ref_levels = self.levels.copy()  # wage levels on the drift path
        self.base_demand = self.demand.copy()  # demand before the wage response
        self.female_cost_prov = female_cost_by_province(self)  # as the core's decisions.init
        self.place_initial_migrants()

    def _build_families(self, persons, hhs, places) -> None:
        """Spouses and children from the core's arrays; the index ranges the life course
        searches (prefectures, counties, provinces; households by county)."""
        self.life_rec: dict[str, list[int]] = {k: [] for k in life.LIFE_INDICATORS}
        cs = places.county_start
        self.county_ranges = [(int(cs[c]), int(cs[c + 1])) for c in range(cs.size - 1)]
        ps = places.prov_start
        self.prov_ranges = [(int(ps[p]), int(ps[p + 1])) for p in range(ps.size - 1)]
        pref = places.county_pref  # the counties of a prefecture are consecutive
        first = np.concatenate([[0], np.flatnonzero(np.diff(pref)) + 1, [pref.size]])
        self.pref_ranges = [(int(cs[a]), int(cs[b])) for a, b in zip(first[:-1], first[1:],
                                                                      strict=True)]
        self.county_households: list[list[Household]] = [[] for _ in self.county_ranges]
        for h in self.households:
            self.county_households[h.county].append(h)
        if not self.families:
            return
        for i, x in enumerate(self.persons):
            if persons.spouse[i] != NO_PERSON:
                x.spouse = self.persons[int(persons.spouse[i])]
        for h, house in enumerate(self.households):
            for j in range(hhs.child_by.shape[1]):
                if hhs.child_by[h, j] != NO_YEAR:
                    mo = int(hhs.child_mother[h, j])
                    house.add_child(int(hhs.child_by[h, j]),
                                    house.members[mo] if mo != NO_MOTHER else None)

    def place_initial_migrants(self) -> None:
        """The initial stock (seed, Introduction: ~2 million in the mid-1980s): the core's draw
        of persons under 40 (``population.initial_stock_draw``) move by the choice model (one
        per household) in ``initial_arrival_rounds`` rounds, each followed by a month of job
        matching (and of wage adjustment, but the last); they count as a year away (as
        ``Simulation._place_initial_migrants``)."""
        n_init = int(round(self.pars.initial_migrant_stock / self.scale))
        if n_init == 0:
            return
        chosen = initial_stock_draw(self.seed, np.array([x.age for x in self.persons]),
                                    np.array([x.hukou for x in self.persons]), n_init)
        for h in self.households:
            h.compute_home_income()
        rounds = max(1, min(int(self.pars.initial_arrival_rounds), n_init))
        for r, group in enumerate(np.array_split(np.array(chosen, np.int64), rounds)):
            self.update_market_signals()
            group = set(group.tolist())
            for i, x in enumerate(self.persons):
                if i in group:
                    x.decide(1.0, force_move=True)
                else:
                    x.event = 0
            for h in self.households:
                h.resolve_departures(keep_one=False)
            for x in self.persons:
                x.commit_move(self.start_year - 1)
            self.match_jobs()
            if r < rounds - 1:
                self.adjust_wages(self.pars)
        for x in self.persons:
            x.months_away = 12 if x.loc != HOME else 0

    def demography(self, year: int) -> None:
        """January: ageing and exits (widowhood), the year's weddings (life course), then the
        year's entrants into vacant places (the life course: the children born 15 years
        earlier, ``sim.mesa.families.entrants``; else the cohort born 15 years earlier,
        ``demography.Projection``, into random vacant places; closed: one per leaver)."""
        pars_y = self.params.at(year)
        leavers = [x for x in self.persons if x.age_one_year(pars_y)]
        rec = self.life_rec
        if self.families:
            wed = life.weddings(self, pars_y)
            for k, v in zip(("marriages", "marriage_moves", "couples_apart"), wed, strict=True):
                rec[k].append(v)
        if self.families:  # (which implies cohort entry)
            entrants, where, college = life.entrants(self, year)
            for k, v in zip(life.LIFE_INDICATORS[5:11], where, strict=True):
                rec[k].append(v)
            rec["tertiary_exits"].append(college)
        elif pars_y.cohort_entry:
            n_in = demography.entrants_this_year(self.projection, year, self.scale, self.seed)
            vacant = [x for x in self.persons if x.hukou == VACANT]
            pick = self.rng.choice(len(vacant), size=min(n_in, len(vacant)), replace=False)
            entrants = [vacant[k] for k in sorted(pick)]
        else:
            entrants = leavers
        for x in entrants:
            x.become_entrant(pars_y)

    # ================================================================ yearly inputs
    def resolve_year(self, year: int) -> None:
        """Parameters and the year's quantities (``sim.engine.yearly``, shared with the core)."""
        self.year = year
        self.pars = self.params.at(year)
        self.mean_land_now = land.anchor(self)  # the income anchor under the year's tenure
        self.__dict__.update(vars(year_quantities(self.geo, self.pars, year, self.mean_land_now)))
        self._moving_cost_cache.clear()

    def person_wage_mult(self, school: int, trained: int) -> float:
        """exp(schooling premium + training premium) (seed 1.4, 2.4; de Brauw & Rozelle)."""
        pars = self.pars
        prem = (0.0, pars.school_premium_junior, pars.school_premium_senior)[school]
        return math.exp(prem + pars.training_premium * trained)

    def distance_class_probs(self, prov: int, capital: int, d: int) -> tuple[float, ...]:
        """P(within county, across county, across prefecture, across province) of a move from
        a home (province, capital prefecture or not) to destination d
        (``decisions.dist_class_probs``): county towns of the home province are in the home
        county with ``local_share_small_town``; prefecture cities in the home prefecture with
        ``own_prefecture_share_medium``; the capital (or a megacity) is in the home prefecture
        only for people of the capital prefecture."""
        geo, pars = self.geo, self.pars
        if geo.dest_prov[d] != prov:
            return (0.0, 0.0, 0.0, 1.0)
        tier = geo.dest_tier[d]
        if tier == 0:
            s = pars.local_share_small_town
            return (s, (1 - s) * 0.6, (1 - s) * 0.4, 0.0)
        if tier == 1:
            m = pars.own_prefecture_share_medium
            return (0.0, m, 1 - m, 0.0)
        return (0.0, 1.0, 0.0, 0.0) if capital else (0.0, 0.0, 1.0, 0.0)

    def moving_costs(self, prov: int, capital: int) -> np.ndarray:
        """Expected moving cost to each destination: cost of the distance class (expected over
        classes) plus a cost per 1000 km between provincial capitals (cached for the year)."""
        key = (prov, capital)
        if key not in self._moving_cost_cache:
            geo, pars = self.geo, self.pars
            costs = (
                pars.cost_within_county,
                pars.cost_across_county,
                pars.cost_across_prefecture,
                pars.cost_across_province,
            )
            out = np.empty(geo.n_dest)
            for d in range(geo.n_dest):
                probs = self.distance_class_probs(prov, capital, d)
                out[d] = (
                    sum(p * c for p, c in zip(probs, costs, strict=True))
                    + pars.cost_per_1000km * geo.prov_dist_km[prov, geo.dest_prov[d]] / 1000.0
                )
            self._moving_cost_cache[key] = out
        return self._moving_cost_cache[key]

    # ================================================================ the labour market
    def count_workers(self) -> tuple[np.ndarray, np.ndarray]:
        """Rural-hukou migrants present per destination; employed per destination and sector."""
        present = np.zeros(self.geo.n_dest, np.int64)
        working = np.zeros((self.geo.n_dest, N_SECTORS), np.int64)
        for x in self.persons:
            if x.is_migrant:
                present[x.loc] += 1
                if x.employed == 1:
                    working[x.loc, x.sector] += 1
        return present, working

    def count_settled(self) -> np.ndarray:
        """Persons aged 15-64 who converted to a local hukou, per destination: locals under
        ``local_competition`` (as ``labour.count_settled``)."""
        out = np.zeros(self.geo.n_dest, np.int64)
        for x in self.persons:
            if x.loc != HOME and x.hukou == URBAN and 15 <= x.age < 65:
                out[x.loc] += 1
        return out

    def update_market_signals(self, counts: tuple | None = None) -> None:
        """What deciders see: the Harris-Todaro job chance and the expected wage per
        destination (demand-weighted level, raised where a minimum wage is enforced, times the
        chance of being paid in full, less the expected insurance contribution)."""
        present, working = counts or self.count_workers()
        self.emp_rate = labour.sex_employment_rate(
            self.demand, present, labour.sex_weights(self.pars)
        )
        share = self.demand / np.maximum(self.demand.sum(axis=1, keepdims=True), 1e-12)
        paid_levels = labour.expected_with_minimum(
            self.levels, self.minw, self.minwage_prob
        )
        level = (share * paid_levels).sum(axis=1)
        paid = 1.0 - (share * self.arrears_risk[None, :]).sum(axis=1)
        self.expected_wage = level * paid * (1.0 - self.contrib_loss)

    def labour_market(self, pars, year: int, month: int) -> None:
        """Demand and wage levels of the month (as step 5 of ``Simulation.step``; seed 1.4,
        2.2): the base demand grows with regional GDP, the reference wage drifts, wage levels
        rise with unfilled openings (measured against last month's demand) and fall with
        unemployment, and demand is the base demand at the going wage
        (``labour.wage_adjusted_demand``)."""
        settled = self.count_settled() if pars.local_competition else None
        self.base_demand, self.urban_total, self.urban_local = labour.advance_market(
            self.base_demand, self.urban_total, self.urban_local, self.growth, self.geo, pars,
            settled, labour.month_factors(self.geo, pars, year, month),
        )
        self.ref_levels = self.ref_levels * np.exp(pars.wage_drift_year / 12.0)
        self.adjust_wages(pars)

    def adjust_wages(self, pars) -> None:
        """Wage levels move with the counted shortage and unemployment; demand at the new wages
        (``Labour.adjust_wages``)."""
        present, working = self.count_workers()
        cap = self.capacity()
        shortage = np.maximum(cap - working, 0.0) / np.maximum(cap, 1e-12)
        unemp = 1.0 - working.sum(axis=1) / np.maximum(present, 1)
        self.levels = labour.adjust_levels(self.levels, shortage, np.where(present > 0, unemp, 0),
                                           pars, self.minw, self.minwage_prob)
        self.demand = labour.wage_adjusted_demand(
            self.base_demand,
            labour.expected_with_minimum(self.levels, self.minw, self.minwage_prob),
            self.ref_levels,
            pars,
        )
        self._counts = present, working

    def capacity(self) -> np.ndarray:
        """Openings each destination-sector can fill (``Labour.capacity``)."""
        on = self.pars.whole_openings
        off = labour.capacity_offsets(self.seed, self.demand.shape) if on else None
        return labour.whole(self.demand, off)

    def match_jobs(self) -> None:
        """Separations and hires of the month against start-of-matching jobs."""
        present, working = self.count_workers()
        cap = self.capacity()
        find, openings, layoff, _ = labour.job_chances(cap, present, working, self.pars)
        sexw = labour.sex_weights(self.pars)
        find_sex = labour.sex_job_chance(find, openings, sexw)
        for x in self.persons:
            x.snapshot_job()
        for x in self.persons:
            x.match(find_sex, openings, layoff, sexw)

    # ================================================================ the month
    def step(self) -> None:
        """One month, in ``STEP_ORDER``."""
        assert tuple(s for s in STEP_ORDER if s not in _NO_RULE) == (
            "demography", "life_course", "year", "policy", "returns", "hukou", "labour",
            "household", "rural_offfarm", "decisions", "matching", "pay", "record")
        t = self.t
        year, month = self.start_year + t // 12, t % 12 + 1
        # 1 demography
        if month == 1 and t > 0:
            self.demography(year)
        # 1b life course: the year's births (the parameters of last year, as in the core)
        if month == 1 and t > 0 and self.families:
            n, placed = life.births(self, self.pars, year)
            self.life_rec["births"].append(placed)
            self.life_rec["births_unplaced"].append(n - placed)
        # 2 year
        if month == 1:
            self.resolve_year(year)
        # 3 policy
        if month == 1 and t > 0:
            for x in self.persons:
                x.train(self.pars.training_rate_year)
        pars = self.pars
        # 4 returns
        rate = pars.return_rate_year * self.return_weights[month - 1] * self.return_hazard_mult
        hazards = [x.return_hazard(rate, month) if x.is_migrant else 0.0 for x in self.persons]
        n_returned = sum(x.maybe_return(h) for x, h in zip(self.persons, hazards, strict=True))
        # 5 hukou
        land.land_now(self)
        for x in self.persons:
            x.maybe_convert()
        for x in self.persons:
            x.maybe_register()
        # 6 labour demand and wages
        self.labour_market(pars, year, month)
        present, working = self._counts
        if month == 1:  # 7 household: children sent home at school entry, or joining a mother
            january_children(self, year, t)
        for h in self.households:
            h.compute_home_income()
        # 7b rural off-farm work (TVE jobs; the TVE wage in the income at home)
        rural_offfarm(self, pars)
        # 8 decisions (in January after the women's experience: decisions.norms)
        if month == 1:
            self.female_cost_prov = female_cost_by_province(self)
        self.update_market_signals((present, working))
        p_consider = 1.0 - math.exp(-pars.consider_rate_year * self.decide_weights[month - 1])
        for x in self.persons:
            x.decide(p_consider)
        for h in self.households:
            h.resolve_departures(bool(pars.hh_keep_one_home))
        for h in self.households:
            h.children_follow(self.p_bring, year)
        events = [x.commit_move(year) for x in self.persons]
        n_out = events.count(1)
        # 9 matching
        self.match_jobs()
        for x in self.persons:
            x.add_month_away()
        # 10 pay
        for x in self.persons:
            x.draw_pay()
        # 11 record
        self.record(n_out, n_returned)
        if month == 12 and self.families:
            life.record_couples(self)
        self.datacollector.collect(self)
        self.t += 1
        if self.t >= self.n_months:
            self.running = False

    def run(self) -> ReferenceModel:
        while self.running:
            self.step()
        return self

    # ================================================================ record
    def record(self, n_out: int, n_returned: int) -> None:
        """The key indicators of the month, in the units of ``Results.series()``: counts in
        real persons, shares of the migrant stock (or of employed migrants)."""
        migrants = [x for x in self.persons if x.is_migrant]
        stock = max(len(migrants), 1)
        employed = [x for x in migrants if x.employed == 1]
        n_emp = max(len(employed), 1)
        six = self.geo.dest_is_six
        r, s = self.rec, self.scale
        r["migrant_stock", "total"].append(len(migrants) * s)
        r["outflow", "total"].append(n_out * s)
        r["returnflow", "total"].append(n_returned * s)
        r["share_male", "total"].append(sum(x.sex == 0 for x in migrants) / stock)
        r["share_aged_15_29", "total"].append(sum(x.age < 30 for x in migrants) / stock)
        r["unemployment_rate", "migrants"].append(1.0 - len(employed) / stock)
        for k, name in enumerate(SECTOR_NAMES):
            r["sector_share", f"sector:{name}"].append(sum(x.sector == k for x in employed) / n_emp)
        r["share_fully_paid", "migrants"].append(sum(x.paid for x in employed) / n_emp)
        status = [life.children_status(h) for h in self.households]
        r["children_left_behind", "total"].append(sum(b for b, _ in status) * s)
        r["migrant_children_in_cities", "total"].append(sum(c for _, c in status) * s)
        r["share_to_six_destinations", "total"].append(
            sum(bool(six[x.loc]) for x in migrants) / stock
        )

    def series(self) -> dict[tuple[str, str], np.ndarray]:
        """Monthly key indicators, keyed like ``Results.series()``."""
        return {k: np.asarray(v, np.float64) for k, v in self.rec.items()}

    def offfarm_series(self) -> dict[tuple[str, str], np.ndarray]:
        """Monthly TVE indicators (``tve_employment``, ``tve_share_of_rural_labour``), keyed
        like ``Results.series()``; zeros while ``tve_jobs_scale`` is 0."""
        return {k: np.asarray(v, np.float64) for k, v in self.offfarm_rec.items()}
