"""The rural household of the reference model, a plain ``mesa.Agent``: land, children and
its working-age members (``sim.mesa.agents.Person``), and the household stages of the core
(income at home, who of the month's deciders leaves, children following a parent), each
mirroring the kernel named in its docstring.
"""

from __future__ import annotations

import math

import mesa

from sim.core.encodings import HOME, MAX_CHILDREN, RURAL
from sim.core.state import SCHOOL_AGE
from sim.mechanisms.household.children import BRING_PRESCHOOL, BRING_SCHOOL, SENT_HOME
from sim.mesa import land
from sim.mesa.families import Child, is_parent


class Household(mesa.Agent):
    """A rural household: land, children and its working-age members (seed 1.3, 1.5).

    Farm income is Cobb-Douglas in land and the workers at home; the household sends one
    member a month at most, the better schooled and then the younger first, keeps one worker on
    the land, and lets children follow a parent migrant where urban schooling is open.

    With the household life course (``model.families``) the children under 15 are a table of
    :class:`Child` entries (birth year, mother: the :class:`Person` place of the mother in this
    household, or None), at most ``MAX_CHILDREN``; otherwise (version 0.6) a plain count.
    """

    model: mesa.Model  # sim.mesa.reference.ReferenceModel

    def __init__(
        self,
        model: mesa.Model,  # sim.mesa.reference.ReferenceModel
        county: int,
        prov: int,
        land_mu_per_worker: float,
        n_children: int,
    ):
        super().__init__(model)
        self.county = county
        self.prov = prov
        self.land = float(land_mu_per_worker)  # entitlement per worker (``sim.mesa.land``)
        self.log_land = math.log(max(self.land, 1e-3))
        self.land_stock = self.land_now = 0.0  # set by the model: mu held, per worker now
        self._n_children = int(n_children)  # version 0.6 households (no life course)
        self.children: list[Child] = []  # the life course: children under 15
        self.kids_with: mesa.Agent | None = None  # the migrant (Person) the children live with
        self.members: list[mesa.Agent] = []  # the Persons, in the core's person order
        self.log_income_home = 0.0  # log income per worker at home (RMB/month)

    @property
    def n_children(self) -> int:
        """Children under 15 of the household."""
        return len(self.children) if self.model.families else self._n_children

    @n_children.setter
    def n_children(self, n: int) -> None:
        if self.model.families:
            raise AttributeError("with the life course the children are the table ``children``")
        self._n_children = int(n)

    def add_child(self, birth_year: int, mother: mesa.Agent | None) -> bool:
        """A child enters the table if it has a free place (``MAX_CHILDREN``)."""
        if len(self.children) >= MAX_CHILDREN:
            return False
        self.children.append(Child(birth_year, mother))
        return True

    def children_of(self, mother: mesa.Agent) -> list[Child]:
        return [c for c in self.children if c.mother is mother]

    # ------------------------------------------------------------ 6 household (income at home)
    def compute_home_income(self) -> None:
        """Log income per worker at home (``household.home_income``; seed 1.1, 1.5).

        Output A_p * T^alpha * workers_home^(1-alpha), with T the land of the tenure rule
        (``sim.mesa.land.log_land``); per worker at home A_p * (T / at_home)^alpha. The count
        at home is at least 1 (the person weighing a move counts as staying)."""
        m = self.model
        n_work, at_home = land.rural_counts(self)
        log_t = land.log_land(self, n_work, land.is_fixed(m.pars))
        at_home = min(max(at_home, 1), 63)
        alpha = m.pars.land_output_elasticity
        self.log_income_home = (
            m.log_farm_prod[self.prov] + alpha * log_t - alpha * math.log(at_home)
            + m.pars.local_development
        )

    # ------------------------------------------------------------ 7 decisions (strategy)
    def resolve_departures(self, keep_one: bool) -> None:
        """At most one departure a month: the best schooled, then the youngest (the first in
        person order on ties); a household with two or more workers keeps one at home
        (``household.resolve_departures``; seed 1.3, 1.5). Onward moves are individual."""
        leaving = [x for x in self.members if x.event == 1]
        if not leaving:
            return
        best = leaving[0]
        for x in leaving[1:]:
            if x.school > best.school or (x.school == best.school and x.age < best.age):
                best = x
        n_work = sum(1 for x in self.members if x.hukou == RURAL)
        n_home = sum(1 for x in self.members if x.hukou == RURAL and x.loc == HOME)
        allow = not (keep_one and n_work >= 2 and n_home <= 1)
        for x in leaving:
            if x is not best or not allow:
                x.event = 0

    def eldest_child_age(self, year: int) -> int:
        """Age this year of the oldest child in the table, -1 without (``eldest_child_age``)."""
        return max((year - c.birth_year for c in self.children), default=-1)

    def children_follow(self, p_bring, year: int) -> None:
        """Children follow a departing parent with the destination's chance, which schooling
        fees and access keep low (``children.children_follow``; seed 1.5; a parent:
        :meth:`Person.is_parent`): ``p_bring`` is ``YearInputs.p_bring`` (a row of
        ``children.bring_chances`` by destination), its preschool chance while every child is
        under school age (with the life course)."""
        m = self.model
        col = BRING_SCHOOL
        if m.families and self.eldest_child_age(year) < SCHOOL_AGE:
            col = BRING_PRESCHOOL
        for x in self.members:
            if x.event != 1:
                continue
            if self.kids_with is not None or not is_parent(x):
                continue
            if m.rng.random() < p_bring[x.new_loc, col]:
                self.kids_with = x

    def newborns_follow(self, p_bring, year: int, factor: float) -> int:
        """January after the births: children all under school age and in the village join a
        mother away at a birth this year with ``factor`` times the preschool chance
        (``children.newborns_follow``); returns the children who joined her."""
        if self.kids_with is not None or not self.children:
            return 0
        if self.eldest_child_age(year) >= SCHOOL_AGE:
            return 0
        for c in self.children:
            if c.birth_year != year or c.mother is None:
                continue
            mo = c.mother
            if mo.loc >= 0 and mo.hukou == RURAL:
                if self.model.rng.random() < factor * p_bring[mo.loc, BRING_PRESCHOOL]:
                    self.kids_with = mo
                    return len(self.children)
            return 0
        return 0

    def school_entry(self, p_bring, year: int) -> int:
        """January: children in a city whose eldest reaches school age this year are sent
        home with the chance ``p_bring[d, SENT_HOME]`` at the parent's destination d
        (``children.school_entry``); returns the children sent home."""
        if self.kids_with is None or self.eldest_child_age(year) != SCHOOL_AGE:
            return 0
        d = self.kids_with.loc
        if d >= 0 and self.model.rng.random() < p_bring[d, SENT_HOME]:
            self.kids_with = None
            return len(self.children)
        return 0

    def release_children(self, person: mesa.Agent, settled: bool) -> None:
        """Children come home with a returning (or leaving) parent; with one who settles in
        the city they become urban and leave the rural household (``release_children``)."""
        if self.kids_with is person:
            self.kids_with = None
            if settled:  # the children become urban residents with their parent
                self.children.clear()
                self._n_children = 0


def january_children(model: mesa.Model, year: int, t: int) -> None:
    """January, with the life course: children in cities whose eldest reaches school age are
    sent home, then children join a mother away at a birth (the core's ``Household.yearly``:
    ``children.school_entry``, ``children.newborns_follow``), each only where its rule is on."""
    if not model.families:
        return
    p_bring, follow = model.p_bring, model.pars.birth_away_follow
    if p_bring[:, SENT_HOME].max() > 0.0:
        for h in model.households:
            h.school_entry(p_bring, year)
    if t > 0 and follow > 0.0:
        for h in model.households:
            h.newborns_follow(p_bring, year, follow)
