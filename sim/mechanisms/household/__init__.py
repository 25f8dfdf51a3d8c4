"""The rural household: land and farm income, who goes, children, remittances, income per head.

Farm output of a household is Cobb-Douglas in its land and the workers left at home, so income
per worker at home falls as more stay (surplus labour has a low marginal product, seed 1.1: over
30% un- and underemployment) and rises for those who stay when others leave; land is kept while
away as income and safety net (seed 1.5). Local off-farm work (township and village enterprises)
and local development enter as a lever on home income (2006 measure 7).

Household strategy (seed 1.3, 1.5): when several members want to leave in a month the household
sends the best placed first (better schooled, then younger), one a month, and keeps at least one
worker at home when it has several. Children follow a departing parent-age migrant with a chance
that schooling fees and access for non-local hukou hold down (``child_school_barrier``, national
by default and settable by province, city tier or city as a lever by place; seed 1.5: RMB 12,000
'donations' in Beijing, nearly half of migrant children out of school); otherwise they are left
behind (about 23 million, seed 1.3).

The barrier is a school barrier, so it may bind by the children's age (both rules off by
default, the rule of versions up to 0.19): a family leaving while all its children are under
school age meets the share ``preschool_barrier_share`` of it, and the rest in the January of the
year its eldest reaches school age in the city, when the children are sent home; and a child
born to a mother away may take the household's preschool children to her
(``birth_away_follow``). The kernels: :mod:`sim.mechanisms.household.children`.

Migrants remit part of the wages actually paid (seed 1.5, 1.6).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import (
    EVENT_NONE,
    HOME,
    NO_DIST,
    NO_MOTHER,
    NO_PERSON,
    NO_YEAR,
    RURAL,
)
from sim.core.land import TENURES, is_fixed
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.state import (
    CHILD_CITY,
    CHILD_HOME,
    child_place,
    families,
    household,
    rural_members,
)
from sim.mechanisms.household.children import (
    SENT_HOME,
    children_follow,
    newborns_follow,
    school_entry,
)

PARAMS = (
    Param(
        "land_output_elasticity",
        0.4,
        "elasticity",
        0.05,
        0.95,
        "Lin 1992 (AER 82(1)): land elasticity of Chinese farm output ~0.3-0.4",
        "elasticity of farm output to land (labour gets the rest)",
        role="structural",
    ),
    Param(
        "home_income_share",
        1.1,
        "share",
        0.1,
        1.5,
        "CSY 2001: wage income (incl. migrants') ~31% of rural net income; hand-set",
        "share of the 2000 rural net income per worker earned at home by a full household",
        role="exogenous",
    ),
    Param(
        "home_income_index_elasticity",
        1.0,
        "elasticity",
        0.0,
        1.5,
        "CSY rural household surveys: wage income (largely migrants') rose from ~18% (1985) "
        "to ~36% (2005) of rural net income, so home income grew slower than the total",
        "growth of home (farm and local) income relative to the rural income index, in logs",
        role="exogenous",
    ),
    Param(
        "working_age_share",
        0.68,
        "share",
        0.3,
        0.95,
        "2000 census (rural population aged 15-64)",
        "working members per household member, converts per worker to per head",
        role="structural",
    ),
    Param(
        "local_development",
        0.0,
        "log points",
        -1.0,
        2.0,
        "lever: Go West, LED, township and village enterprises (seed 1.3, 2006 measure 7)",
        "rise of home income from local off-farm development",
        role="policy",
    ),
    Param(
        "remit_share",
        0.5,
        "share",
        0.0,
        1.0,
        "seed 1.5 (migrants send a large share home); remittance surveys ~30-40%",
        "share of wages paid that migrants remit",
        role="behaviour",
    ),
    Param(
        "hh_keep_one_home",
        True,
        "flag",
        0,
        1,
        "seed 1.5: land is kept farmed as income and safety net",
        "households with several workers keep one at home",
        kind=bool,
        role="behaviour",
    ),
    Param(
        "parent_age_min",
        22,
        "years",
        15,
        40,
        "women's mean age at first marriage 22.8 (1982 census; Popul. Res. 2(4), 1985, most at "
        "20) and 23.3 (2000 census; Chen & Ouyang, Population Research 48(6), 2024), rural "
        "women earlier; first births follow within about a year (was 25, an assumption)",
        "youngest age at which a member counts as a parent of the household's children",
        kind=int,
        role="structural",
    ),
    Param(
        "parent_age_max",
        45,
        "years",
        25,
        64,
        "assumption",
        "oldest age at which a member counts as a parent of the household's children",
        kind=int,
        role="structural",
    ),
    Param(
        "child_bring_max",
        0.987,
        "probability",
        0.0,
        1.0,
        "assumption",
        "chance children follow a parent migrant where schooling is open and free",
        role="behaviour",
    ),
    Param(
        "preschool_barrier_share",
        1.0,
        "share",
        0.0,
        1.0,
        "assumption (range 0-1): the barrier of seed 1.5 is school fees, 'donations' and "
        "enrolment, which bind from compulsory school age (6, Compulsory Education Law 1986); "
        "before it, child care in the city keeps some children home. 1 = the same barrier at "
        "every age (versions up to 0.19)",
        "share of the school barrier a family meets when it leaves while all its children are "
        "under school age; the rest it meets when the eldest reaches school age in the city, "
        "and the children are sent home",
        role="behaviour",
    ),
    Param(
        "birth_away_follow",
        0.0,
        "ratio",
        0.0,
        1.0,
        "assumption (range 0-1): a mother away at a birth has the child with her as a "
        "family leaving with preschool children would (seed 1.5: the barrier is schooling); "
        "0 = the child is placed in the village (versions up to 0.19)",
        "factor on the preschool chance that the children of a mother away at a birth (all "
        "under school age) are with her in the city",
        role="behaviour",
    ),
    Param(
        "child_school_barrier",
        {"mode": "step", "1985": 0.7, "2003": 0.55, "2004": 0.45},
        "share",
        0.0,
        1.0,
        "seed 1.5: fees and access keep nearly half of migrant children out of school "
        "(steps at dated documents, sim/data/policies.toml)",
        "share of families kept from taking children along by schooling fees and access",
        role="policy",
    ),
    Param(
        "land_tenure",
        {"1985": "readjusted", "2003": "fixed"},
        "rule",
        0,
        0,
        "CPC Central Committee and State Council Document No. 11 of 1993 (advocated 'more "
        "people, no more land; fewer people, no less land'); Rural Land Contracting Law, in "
        "force 1 March 2003 (no readjustment within the term); Brandt et al. 2002 (China "
        "Journal 47: readjustments common before); sim/core/land.py",
        "how a household's land follows its members: readjusted to its workers each month, or "
        "fixed with the household (division only at a split)",
        kind=str,
        choices=TENURES,
        role="policy",
    ),
    Param(
        "urban_income_per_wage",
        {"2000": 0.67, "2006": 0.56},
        "ratio",
        0.1,
        2.0,
        "CSY 2001, 2007: urban disposable income per head over the average wage (6,280/9,371 "
        "in 2000; 11,759/21,001 in 2006)",
        "urban income per head relative to the average urban wage",
        role="structural",
    ),
)


def log_farm_productivity(geo, pars, rural_index: float, mean_land_prov: np.ndarray) -> np.ndarray:
    """log A_p such that a full household with the provincial mean land earns the provincial
    home income per worker (RMB/month, 2000 prices)."""
    y_home = (
        pars.home_income_share
        * geo.rural_income_rmb_year
        / pars.working_age_share
        / 12.0
        * rural_index**pars.home_income_index_elasticity
    )
    return np.log(y_home) - pars.land_output_elasticity * np.log(mean_land_prov)


LOG_INT = np.log(np.maximum(np.arange(64, dtype=np.float64), 1.0))  # log n for small counts


@njit(cache=True, parallel=True)
def home_income(hh_start, p, log_land_pw, land_pw, land, fixed, hh_prov, log_prod, alpha,
                log_local, log_int, out):
    """Log income per worker at home (RMB/month) of each household, from its land T and the
    workers at home (counting at least one, i.e. the person weighing a move):
    log y = log A_p + alpha * log T - alpha * log(workers at home). Under the ``fixed`` tenure T
    is the household's stock ``land``; under ``readjusted`` it is the entitlement times the
    registered rural workers (at least one), and the stock is rewritten to follow them
    (:mod:`sim.core.land`)."""
    loc = p.loc
    hukou = p.hukou
    n_hh = hh_start.shape[0] - 1
    for h in prange(n_hh):
        n_work, at_home = rural_members(hh_start, h, loc, hukou)
        if fixed:
            log_t = np.log(max(np.float64(land[h]), 1e-3))
        else:
            land[h] = land_pw[h] * np.float32(n_work)
            log_t = log_land_pw[h] + log_int[min(max(n_work, 1), 63)]
        at_home = min(max(at_home, 1), 63)
        out[h] = log_prod[hh_prov[h]] + alpha * log_t - alpha * log_int[at_home] + log_local


@njit(cache=True)
def resolve_departures(hh_start, p, cand, event, keep_one):
    """Household strategy: at most one departure per household a month, the better schooled and
    then younger first; a household with several workers keeps one at home. ``cand`` lists the
    persons with a departure (event 1) in increasing order; the others' events are cancelled.
    Onward moves (event 2) are individual and untouched."""
    school = p.school
    age = p.age
    loc = p.loc
    hukou = p.hukou
    k = 0
    while k < cand.shape[0]:
        h = household(p, cand[k])
        best = cand[k]
        m = k + 1
        while m < cand.shape[0] and household(p, cand[m]) == h:
            i = cand[m]
            if school[i] > school[best] or (school[i] == school[best] and age[i] < age[best]):
                best = i
            m += 1
        n_work, n_home = rural_members(hh_start, h, loc, hukou)
        allow = not (keep_one and n_work >= 2 and n_home <= 1)
        for q in range(k, m):
            if cand[q] != best or not allow:
                event[cand[q]] = EVENT_NONE
                p.dist[cand[q]] = NO_DIST  # at home, as before the decision
        k = m


@njit(cache=True)
def release_children(idx, hh_start, p, hs, settled):
    """Children come home with the persons ``idx`` returning (or leaving); with one who settles
    they become urban residents and leave the rural household. Returns the children who
    left."""
    kids_with = hs.kids_with
    n_children = hs.n_children
    gone = 0
    for i in idx:
        h = household(p, i)
        if kids_with[h] == i - hh_start[h]:
            kids_with[h] = NO_PERSON
            if settled:  # the children become urban residents with their parent
                gone += n_children[h]
                n_children[h] = 0
                hs.child_by[h, :] = NO_YEAR
                hs.child_mother[h, :] = NO_MOTHER
    return gone


@njit(cache=True, parallel=True)
def income_per_head(hh_start, p, remit, log_y_home_pw, working_share, out, size_out):
    """Household income per head (RMB/month): farm and local income of workers at home plus
    remittances, over members (workers / working share; children counted in that ratio)."""
    loc = p.loc
    hukou = p.hukou
    n_hh = hh_start.shape[0] - 1
    for h in prange(n_hh):
        total = 0.0
        n_rural = 0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] != RURAL:
                continue
            n_rural += 1
            if loc[i] == HOME:
                total += np.exp(log_y_home_pw[h])
            else:
                total += remit[i]
        size = n_rural / working_share
        size_out[h] = size
        out[h] = total / size if size > 0 else 0.0


@njit(cache=True, parallel=True)
def children_counts(hh_start, p, hs, age_lo, age_hi, families):
    """(children left behind, migrant children in cities). With ``families`` (the household
    life course) a child is left behind when one parent or both are away and the child did not
    follow (the definition of the 2000-census estimate of 22.9 million, seed 1.5; Duan and Zhou,
    Population Research 29(1), 2005); otherwise (version 0.6) when the household's parent-age
    members are all away. Integer sums: the result does not depend on the number of threads."""
    loc = p.loc
    hukou = p.hukou
    age = p.age
    n_children = hs.n_children
    kids_with = hs.kids_with
    behind = 0
    in_city = 0
    for h in prange(hh_start.shape[0] - 1):
        nc = np.int64(n_children[h])
        if nc == 0:
            continue
        if families:
            for j in range(hs.child_by.shape[1]):
                if hs.child_by[h, j] != NO_YEAR:
                    place = child_place(h, j, hh_start, p, hs)
                    if place == CHILD_CITY:
                        in_city += 1
                    elif place != CHILD_HOME:
                        behind += 1
            continue
        if kids_with[h] >= 0:
            in_city += nc
            continue
        away = 0
        home = 0
        for i in range(hh_start[h], hh_start[h + 1]):
            if hukou[i] == RURAL and age_lo <= age[i] <= age_hi:
                if loc[i] == HOME:
                    home = 1
                    break
                away = 1
        behind += nc * away * (1 - home)
    return behind, in_city


def weighted_gini(x: np.ndarray, w: np.ndarray) -> float:
    """Gini coefficient of x with weights w (persons). The arithmetic is done in place on the
    sorted copies, so the December peak holds few household-length temporaries."""
    keep = w > 0
    x, w = x[keep], w[keep]
    del keep
    if x.size == 0 or x.sum() <= 0:
        return 0.0
    order = np.argsort(x)  # ties in any order: the area is the same (up to rounding)
    x, w = x[order], w[order]
    del order
    total_w = np.cumsum(w)[-1]
    lorenz = np.cumsum(x * w)
    del x
    total_xw = lorenz[-1]
    # area under the Lorenz curve by trapezoids: sum of w / W * (L_k + L_{k-1}) / 2
    np.divide(lorenz, total_xw, out=lorenz)
    prev = np.concatenate([[0.0], lorenz[:-1]])
    np.add(lorenz, prev, out=prev)
    del lorenz
    np.divide(w, total_w, out=w)
    np.multiply(w, prev, out=w)
    np.divide(w, 2.0, out=w)
    return float(1.0 - 2.0 * np.sum(w))


class Household(Mechanism):
    """Income per worker at home from land and the workers left (a Cobb-Douglas farm with the
    provincial productivity, seed 1.2); the household's part in migration: who goes, whether
    children follow, who brings them home (seed 1.3, 1.5)."""

    name = "household"
    doc = "income per worker at home from land and the workers left"
    params = PARAMS
    buffers = (
        StateField("log_land", "float64", "log land per worker", level="household"),
        StateField("y_home", "float64", "log income per worker at home", level="household"),
    )
    results = (
        Indicator("children_sent_home_school", "agents", "children in a city sent home in the "
                  "year the eldest reaches school age (January)", scaled=True, flow=True),
        Indicator("children_join_mother_at_birth", "agents", "children in a village who join "
                  "their mother away at a birth (January)", scaled=True, flow=True),
    )
    streams = ("household.children", "household.school")

    def check(self, params: Any) -> None:
        lo, hi = params["parent_age_min"], params["parent_age_max"]
        if lo > hi:
            raise ValueError(
                f"parent_age_min ({lo}) is above parent_age_max ({hi}): no member could be a "
                "parent of the household's children"
            )

    def init(self, sim: Any) -> None:
        land = sim.households.land_mu_per_worker.astype(np.float64)
        sim.buf.log_land[:] = np.log(np.maximum(land, 1e-3))

    def yearly(self, sim: Any) -> None:
        """January, with the life course: children in a city whose eldest reaches school age
        may be sent home (:func:`school_entry`, where ``preschool_barrier_share`` < 1 leaves a
        share of the barrier to meet then), then children may join a mother away at a birth
        (:func:`newborns_follow`, where ``birth_away_follow`` > 0; births from the second
        January on)."""
        p_bring, pars = sim.yq.p_bring, sim.pars
        sent = joined = 0
        if families(pars):
            key, args = sim.key("household.school"), (sim.places.hh_start, sim.persons.core,
                                                      sim.households.core, p_bring, sim.year)
            if p_bring[:, SENT_HOME].max() > 0.0:
                sent = school_entry(key, *args)
            if pars.birth_away_follow > 0.0 and sim.t > 0:
                joined = newborns_follow(key, *args, pars.birth_away_follow)
        sim.rec.scalars["children_sent_home_school"][sim.t] = sent
        sim.rec.scalars["children_join_mother_at_birth"][sim.t] = joined

    def step(self, sim: Any) -> None:
        if sim.month != 1:
            sim.rec.scalars["children_sent_home_school"][sim.t] = 0.0
            sim.rec.scalars["children_join_mother_at_birth"][sim.t] = 0.0
        self.home_income(sim)

    @staticmethod
    def home_income(sim: Any) -> None:
        """Log income per worker at home of every household into ``sim.buf.y_home``."""
        p, pars, yq, buf = sim.persons, sim.pars, sim.yq, sim.buf
        home_income(
            sim.places.hh_start,
            p.core,
            buf.log_land,
            sim.households.land_mu_per_worker,
            sim.households.land_mu,
            is_fixed(pars),
            sim.hh_prov,
            yq.log_farm_prod,
            pars.land_output_elasticity,
            pars.local_development,
            LOG_INT,
            buf.y_home,
        )
        if pars.ht_mode:  # one national rural income: no land or household differences
            buf.y_home[:] = np.log(yq.y_ref) + pars.local_development

    @staticmethod
    def release_children(sim: Any, idx: np.ndarray, settled: bool) -> int:
        """Children come home with the persons ``idx`` (or become urban when ``settled``);
        returns the children who left the rural households."""
        return release_children(idx, sim.places.hh_start, sim.persons.core,
                                sim.households.core, settled)

    @staticmethod
    def resolve_departures(sim: Any, departing: np.ndarray, keep_one: bool) -> None:
        """At most one departure per household a month; keep one worker at home."""
        p = sim.persons
        resolve_departures(sim.places.hh_start, p.core, departing, sim.buf.event, keep_one)

    @staticmethod
    def children_follow(sim: Any, cand: np.ndarray) -> None:
        """Children follow a departing parent with the destination's chance."""
        p, hh, pars = sim.persons, sim.households, sim.pars
        children_follow(
            sim.key("household.children"),
            cand,
            sim.buf.event,
            sim.places.hh_start,
            p.core,
            hh.core,
            sim.yq.p_bring,
            sim.buf.new_loc,
            pars.parent_age_min,
            pars.parent_age_max,
            families(pars),
            sim.year,
        )
