"""Agents of the reference model: persons, as plain ``mesa.Agent``\\ s (their rural households
are :class:`sim.mesa.household.Household`, re-exported here).

Each method applies one mechanism of the fast core (``sim.engine.STEP_ORDER``) to one agent, in
plain Python, so that the rule can be read in one place and checked against the numba kernel it
mirrors (named in each docstring). The model (``sim.mesa.reference``) calls them stage by stage
over all agents, in the core's step order, with a snapshot where a kernel reads other persons'
start-of-stage state (contacts' places and jobs), so the order of visits does not matter.

Draws come from ``model.rng`` (a ``numpy.random.Generator``): the distributions of the core's
counter-based draws, not the draws themselves.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.core.encodings import (
    FEMALE,
    HOME,
    JOB_INFORMAL,
    JOB_INSURED,
    JOB_MINWAGE,
    RURAL,
    URBAN,
    VACANT,
)
from sim.mesa import families as fam
from sim.mesa.families import PERSONAL, family_cost, is_parent
from sim.mesa.household import Household  # noqa: F401  (re-exported)


def _age_cost(pars, agegrp: int) -> float:
    """Extra cost of a move for the age group (costed at 22, 37 or 52): per decade over 22,
    plus the horizon form k (H(22) / H(a) - 1), H the working years left before the exit age,
    a group costed at most at the middle of its ages before the exit
    (``decisions.tables.age_costs``; Sjaastad 1962)."""
    a = (22.0, 37.0, 52.0)[agegrp]
    cost = (a - 22.0) / 10.0 * pars.age_cost_per_decade
    if pars.age_horizon_cost != 0.0:
        e = float(pars.exit_age)
        at0 = min(22.0, (15.0 + e - 1.0) / 2.0)
        at = min(a, ((15.0, 30.0, 45.0)[agegrp] + e - 1.0) / 2.0)
        cost += pars.age_horizon_cost * ((e - at0) / (e - at) - 1.0)
    return cost


class Person(mesa.Agent):
    """A working-age person (15-64) of a rural household, at home or away as a migrant.

    A ``Person`` is a place (slot) in a household: it keeps its household and village
    contacts; a person who moves household at marriage takes their personal state into a
    vacant place of the new household (:meth:`move_to`), as the core moves state between
    slots."""

    model: mesa.Model  # sim.mesa.reference.ReferenceModel

    def __init__(
        self,
        model: mesa.Model,  # sim.mesa.reference.ReferenceModel
        household: Household,
        county: int,
        capital: int,
        age: int,
        sex: int,
        school: int,
        trained: int,
    ):
        super().__init__(model)
        self.household = household
        self.county = county
        self.prov = household.prov
        self.capital = capital  # 1 if the home county lies in the capital prefecture
        self.contacts: list[Person] = []
        self.age, self.sex = int(age), int(sex)
        self.school, self.trained = int(school), int(trained)
        self.wage_z = float(model.rng.normal())  # personal wage factor, fixed for life
        self.loc = HOME
        self.hukou = RURAL
        self.dist = -1
        self.employed = 0
        self.months_away = 0
        self.sector = -1
        self.job = 0
        self.permit = 0
        self.first_year = -1
        self.tve = 0  # 1 = holds a TVE job at home (``sim.mesa.offfarm``); 0 away
        self.wed = 0  # 1 = married this January (``sim.mesa.families.weddings``)
        self.spouse: Person | None = None  # the life course: husband or wife
        self.taken = False  # scratch of the January weddings: place promised to a mover
        # scratch of the month
        self.returned = False
        self.event = 0
        self.new_loc = HOME
        self.new_dist = -1
        self.emp_start = 0
        self.sec_start = -1
        self.wage = 0.0
        self.paid = 0
        self.remit = 0.0

    @property
    def is_migrant(self) -> bool:
        """Away from home with a rural hukou: a member of the migrant stock."""
        return self.loc != HOME and self.hukou == RURAL

    def _leave_job(self) -> None:
        self.employed = 0
        self.sector = -1
        self.job = 0

    def vacate(self) -> None:
        """The place falls vacant (the person died, aged out or moved away)."""
        self.age, self.hukou = 0, VACANT
        self.loc, self.dist = HOME, -1
        self._leave_job()
        self.months_away = 0
        self.permit = 0
        self.tve = 0
        self.first_year = -1
        self.wed = 0
        self.spouse = None

    def move_to(self, dst: Person) -> None:
        """Move with all personal state into the vacant place ``dst`` of another household
        (``marriage.move_persons``); this place falls vacant; the spouse link is set by the
        caller. Children who lived with the mover in a city come home to this household."""
        for a in PERSONAL:
            setattr(dst, a, getattr(self, a))
        if self.household.kids_with is self:
            self.household.kids_with = None
        self.vacate()

    # ------------------------------------------------------------ 1 demography
    def age_one_year(self, pars) -> int:
        """January: age a year; leave at the exit age or by death (Gompertz from the rate at
        30), leaving the slot vacant (``demography.age_and_exit``). Returns 0 (stays or was
        vacant), 1 (aged out) or 2 (died)."""
        if self.hukou == VACANT:
            return 0
        a = self.age + 1
        if a >= pars.exit_age:
            left = 1
        elif self.model.rng.random() < 1.0 - math.exp(
            -pars.mortality_30 * math.exp(pars.mortality_gompertz * (a - 30))
        ):
            left = 2
        else:
            self.age = a
            return 0
        self.household.release_children(self, settled=False)
        if self.model.families:  # widowhood; the children she bore lose their mother
            if self.spouse is not None:
                self.spouse.spouse = None
            for c in self.household.children_of(self):
                c.mother = None
        self.vacate()
        return left

    def become_entrant(self, pars) -> None:
        """A new member aged 15 takes a vacant place (and its ties) in the household; schooling
        by the entrant cohort's shares (seed 1.3: compulsory schooling spread); the senior
        schooled are trained with the vocational track's share."""
        rng = self.model.rng
        self.age = 15
        self.sex = FEMALE if rng.random() < 0.49 else 0
        u = rng.random()
        s_sen, s_jun = pars.entrant_share_senior, pars.entrant_share_junior
        self.school = 2 if u < s_sen else (1 if u < s_sen + s_jun else 0)
        # the vocational track of senior schooling (``demography.enter``)
        self.trained = int(self.school == 2 and rng.random() < pars.entrant_vocational_share)
        self.wage_z = float(rng.normal())  # the core keys the wage factor by birth year
        self.loc, self.hukou, self.dist = HOME, RURAL, -1
        self._leave_job()
        self.months_away = 0
        self.permit = 0
        self.first_year = -1
        self.tve = 0

    # ------------------------------------------------------------ 2 year (training)
    def train(self, rate: float) -> None:
        """January: untrained persons at home aged 16-35 are trained with the yearly rate
        (``policy.train``; seed 2.4, Sunshine Project)."""
        if self.trained == 0 and self.loc == HOME and self.hukou == RURAL and 16 <= self.age <= 35:
            if self.model.rng.random() < rate:
                self.trained = 1

    # ------------------------------------------------------------ 3 returns
    def return_hazard(self, rate_month: float, month: int = 0) -> float:
        """Monthly return hazard (``returns.draw_returns``; seed 1.3, Zhao 2002), with the
        January wedding returns (``families.wedding_hazard``)."""
        pars, m = self.model.pars, self.model
        h = rate_month * math.exp(
            pars.return_age_log_per_decade * (self.age - 30) / 10.0
            + pars.return_duration_log_per_year * self.months_away / 12.0
            + pars.return_school_log * self.school
        )
        if self.sex == FEMALE:
            h *= pars.return_female_mult
        if self.employed == 0:
            h *= pars.return_unemployed_mult
        if self.household.kids_with is not self and is_parent(self):
            km = pars.return_children_mult  # a parent whose children were left behind
            ratio = pars.return_children_school_ratio
            if ratio != 1.0 and m.families and not fam.has_young_child(self):
                km *= ratio  # saving for the children's schooling (Demurger & Xu 2015)
            h *= km
        if self.job & JOB_INSURED:
            h *= m.insured_return_mult
        if 0 <= self.dist < 3:  # a move inside the home province: short and seasonal
            h *= pars.return_near_mult
        h *= math.exp(fam.spouse_return_log(self))  # a spouse at home, or here (Wang & Fan)
        return h + fam.wedding_hazard(self, month)

    def maybe_return(self, h: float) -> bool:
        """Draw the return at hazard ``h`` (start of month): home, no job, children along."""
        self.returned = False
        if not self.is_migrant:
            return False
        if self.model.rng.random() >= 1.0 - math.exp(-h):
            return False
        self.returned = True
        self.loc, self.dist = HOME, -1
        self._leave_job()
        self.months_away = 0
        self.permit = 0
        self.tve = 0  # as the core's ``sent_home`` resets declared state
        self.household.release_children(self, settled=False)
        return True

    # ------------------------------------------------------------ 4 hukou
    def maybe_convert(self) -> bool:
        """Employed migrants away a year or more may take local hukou at the tier's rate,
        less with more land (megacities: senior schooling only) (``hukou.draw_conversions``;
        seed 2.3). Children with a settler become urban."""
        m = self.model
        if not self.is_migrant or self.employed == 0 or self.months_away < 12:
            return False
        d = self.loc
        if m.geo.dest_tier[d] == 3 and self.school < 2:
            return False
        rel = self.household.land_now / m.mean_land_now[self.prov]
        r = m.conv_month[d] * math.exp(-m.pars.land_attachment * rel)
        if m.rng.random() >= r:
            return False
        self.hukou = URBAN
        self.household.release_children(self, settled=True)
        return True

    def maybe_register(self) -> None:
        """Migrants register for a residence permit, mostly through formal employers
        (``hukou.draw_permits``; seed 1.2: ~40% hold a permit)."""
        if not self.is_migrant or self.permit == 1:
            return
        pars = self.model.pars
        formal = self.employed == 1 and not self.job & JOB_INFORMAL
        if self.model.rng.random() < (
            pars.permit_rate_formal if formal else pars.permit_rate_informal
        ):
            self.permit = 1

    # ------------------------------------------------------------ 7 decisions
    def contacts_by_destination(self) -> dict[int, int]:
        """Number of contacts at each destination (start of the month)."""
        out: dict[int, int] = {}
        for c in self.contacts:
            if c.loc != HOME:
                out[c.loc] = out.get(c.loc, 0) + 1
        return out

    def destination_utilities(self) -> np.ndarray:
        """V_j for the 94 destinations, written out for this person (``decisions.type_tables``
        plus the sparse network term of ``decisions.decide``; seed 1.1, Zhao 2003):

        V_j = b_pull(age) * log(net_j / y_ref) - move_cost_j - age_cost - female_cost(prov)
              - (hukou_penalty_j - insurance_value) - controls on movement in force
              + network_beta * log(1 + contacts at j),

        net_j = expected wage (schooling, training) * job chance - living cost, floored at 5%
        of the reference home income."""
        m, pars = self.model, self.model.pars
        young = self.age < 30
        agegrp = 0 if young else (1 if self.age < 45 else 2)
        wage = m.expected_wage * m.person_wage_mult(self.school, self.trained)
        net = np.maximum(wage * m.emp_rate[:, self.sex] - m.living, 0.05 * m.y_ref)
        pull = pars.beta_income * ((1.0 + pars.young_pull_shift) if young else 1.0)
        v = (
            pull * np.log(net / m.y_ref)
            - m.moving_costs(self.prov, self.capital)
            - _age_cost(pars, agegrp)
            - (m.female_cost_prov[self.prov] if self.sex == FEMALE else 0.0)
            - (m.hukou_pen - m.insurance_utils + m.control)
        )
        if m.network_term:
            for d, n in self.contacts_by_destination().items():
                v[d] += pars.network_beta * math.log(1.0 + n)
        return v

    def home_utility(self) -> float:
        """Utility of staying: b_push(age, sex) * log(y_home / y_ref) + asc_home; the old and
        women weigh push factors more (``decisions.home_coefficients``; seed 1.1)."""
        pars = self.model.pars
        b = pars.beta_income
        if self.age >= 45:
            b *= 1.0 + pars.old_push_shift
        if self.sex == FEMALE:
            b *= 1.0 + pars.female_push_shift
        return b * (self.household.log_income_home - math.log(self.model.y_ref)) + pars.asc_home

    def stay_utility(self, stay_cost: float = 0.0) -> float:
        """Utility of staying for a person deciding at home (``choice._decide``): the home
        utility, ``stay_cost`` (a spouse at home, ``spouse_adjust``), the cost of leaving the
        children (life course), less the bonus of one who has migrated before (DaVanzo 1983)."""
        v = self.home_utility() + stay_cost
        if self.model.families:
            v += family_cost(self)
        if self.first_year >= 0:
            v -= self.model.pars.returnee_move_bonus
        return v

    def near_saving(self) -> float:
        """Family cost kept by staying in the home province (``family_near_share``)."""
        if self.loc != HOME or not self.model.families:
            return 0.0
        return family_cost(self) * (1.0 - self.model.pars.family_near_share)

    def decide(self, p_consider: float, force_move: bool = False) -> None:
        """Weigh migrating (at home) or moving on (away) in a nested logit (stay | move, then
        which destination) and set ``event`` (1 departure, 2 onward move) and ``new_loc``
        (``decisions.decide``). With ``force_move`` a person at home moves (initial stock).
        Those who came home this month do not decide."""
        self.event = 0
        self.new_loc = self.loc
        if self.hukou != RURAL or self.returned:
            return
        m, pars = self.model, self.model.pars
        rng = m.rng
        at_home = self.loc == HOME
        if at_home:
            if rng.random() >= p_consider:
                return
        else:
            p_on = pars.onward_prob_employed if self.employed else pars.onward_prob_unemployed
            if rng.random() >= p_on:
                return
        lam = pars.nest_lambda
        v = self.destination_utilities() / lam
        stay_cost = 0.0
        if not force_move:
            v[m.geo.dest_prov == self.prov] += self.near_saving() / lam
            stay_cost = fam.spouse_adjust(self, v, lam)  # a couple kept together (Mincer 1978)
        vmax = v.max()
        log_sum = vmax + math.log(np.exp(v - vmax).sum())  # log sum_j exp(V_j / lambda)
        if at_home and not force_move:
            v_home = self.stay_utility(stay_cost)
            p_move = 1.0 / (1.0 + math.exp(v_home - lam * log_sum))  # lam * log_sum: inclusive
            if rng.random() >= p_move:
                return
        p = np.exp(v - log_sum)
        d = int(
            min(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"), p.size - 1)
        )
        if d == self.loc:
            return
        probs = m.distance_class_probs(self.prov, self.capital, d)
        k = int(min(np.searchsorted(np.cumsum(probs), rng.random(), side="right"), 3))
        self.new_loc, self.new_dist = d, k
        self.event = 1 if at_home else 2

    def commit_move(self, year: int) -> int:
        """Carry out the month's move; movers arrive without job or permit
        (``decisions.apply_moves``). Returns the event (0, 1 or 2)."""
        ev = self.event
        if ev == 0:
            return 0
        self.loc, self.dist = self.new_loc, self.new_dist
        self._leave_job()
        self.permit = 0
        if ev == 1:
            self.months_away = 0
            self.tve = 0  # a TVE job is at home
            if self.first_year < 0:
                self.first_year = year
        return ev

    # ------------------------------------------------------------ 8 matching
    def snapshot_job(self) -> None:
        """Remember the start-of-matching job (what contacts and separations read)."""
        self.emp_start, self.sec_start = self.employed, self.sector

    def match(
        self, find_sex: np.ndarray, openings: np.ndarray, layoff: np.ndarray, sexw: np.ndarray
    ) -> None:
        """Separation or job search (``labour.match_jobs``; Harris & Todaro 1970; seed 1.4:
        95% found jobs through friends or themselves). Employed contacts at the destination
        raise the finding chance (at most four count) and pull the job into their sector; the
        job is then informal, covered by the minimum wage, insured, with their chances. The
        chance of a job and the sector drawn depend on the seeker's sex (``labour.gender``)."""
        if not self.is_migrant:
            return
        m, pars = self.model, self.model.pars
        rng, d = m.rng, self.loc
        if self.emp_start == 1:
            if rng.random() < pars.separation_rate + layoff[d, self.sec_start]:
                self._leave_job()
            return
        here = [c for c in self.contacts if c.loc == d and c.emp_start == 1]
        f = 1.0 - (1.0 - find_sex[d, self.sex]) ** (
            1.0 + pars.network_job_boost * min(len(here), 4)
        )
        if self.trained == 1:
            f = min(1.0, f * (1.0 + pars.training_job_boost))
        if rng.random() >= f:
            return
        n_sec = openings.shape[1]
        w = [
            openings[d, s]
            * sexw[s, self.sex]
            * (1.0 + pars.network_sector_pull * sum(1 for c in here if c.sec_start == s))
            for s in range(n_sec)
        ]
        total = sum(w)
        if total <= 0.0:
            return
        u, acc, pick = rng.random() * total, 0.0, n_sec - 1
        for s in range(n_sec):
            acc += w[s]
            if u < acc:
                pick = s
                break
        flags = JOB_INFORMAL if rng.random() < m.informal_prob[pick] else 0
        if rng.random() < m.minwage_prob:
            flags |= JOB_MINWAGE
        if not flags & JOB_INFORMAL and rng.random() < m.insured_prob:
            flags |= JOB_INSURED
        self.employed, self.sector, self.job = 1, pick, flags

    def add_month_away(self) -> None:
        """A month more of the spell away (``decisions.add_month_away``)."""
        if self.is_migrant and self.months_away < 32000:
            self.months_away += 1

    # ------------------------------------------------------------ 9 pay
    def draw_pay(self) -> None:
        """This month's wage: the destination-sector level times schooling and training premia
        and a personal log-normal factor; the minimum wage where the job is covered; less the
        insurance contribution; paid in full unless in arrears; a share remitted
        (``wages.pay``; seed 1.4, 2.2: arrears worst in construction)."""
        self.wage, self.paid, self.remit = 0.0, 0, 0.0
        if not self.is_migrant or self.employed == 0:
            return
        m, pars = self.model, self.model.pars
        d, s = self.loc, self.sector
        sd = pars.wage_dispersion_log_sd
        w = (
            m.levels[d, s]
            * m.person_wage_mult(self.school, self.trained)
            * math.exp(sd * self.wage_z - 0.5 * sd * sd)
        )
        if self.job & JOB_MINWAGE and w < m.minw[d]:
            w = m.minw[d]
        if self.job & JOB_INSURED:
            w *= 1.0 - pars.insurance_contribution_rate
        self.wage = w
        if m.rng.random() >= m.arrears_risk[s]:
            self.paid = 1
            self.remit = pars.remit_share * w
