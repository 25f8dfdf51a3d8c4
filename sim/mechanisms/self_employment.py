"""Own-account work: the free-entry informal margin of the urban labour market (seed 1.4, 2.2).

A migrant at a destination without a wage job may start own-account work (street trade, repair,
small catering, scrap collection: seed 1.4 puts 52% of migrants in self-employment against 12%
of local workers, Wang & Cai 2005) and keeps it until it ends or a wage job is found. Entry is
free, so earnings fall as the destination's own-account sector fills (Harris & Todaro 1970 and
Fields 1975 on the urban informal sector as a free-entry margin):

    e_d = r * wbar_d * ((1 + N_d / K_d) / 2) ** (-eta)

with ``wbar_d`` the destination's demand-weighted reference wage level for primary schooling
(RMB a month, 2000 prices: the level at which employers' base demand is set, drifting with
``wage_drift_year``; not the month's market level, which rises with a shortage of workers:
own-account workers are paid by urban customers, not by employers short of hands, so when formal
wages rise to fill openings own-account work loses ground to them), ``N_d`` the own-account
workers present, ``K_d = k * W_d * D`` the sector's capacity: ``k`` times the national base
demand for migrant labour ``D`` spread over destinations by the size of their urban economies
``W_d`` (regional product and city tier, without the extra pull of the east on migrant labour:
street trade and services serve the local economy, so interior cities and county towns offer
own-account work to their own province's migrants, seed 1.3), ``r`` the earnings ratio at
capacity and ``eta`` the crowding elasticity. A person earns ``e_d`` times the schooling and
training premia; own-account earnings are never in arrears and
carry no contributions. Own-account workers are not unemployed (the return hazard and the
unemployment rate count only those with neither), but keep looking for wage jobs, so they still
press on formal wages (``labour.adjust_levels``). Migrants deciding where to go expect
``P(job) * w + (1 - P(job)) * s * e`` with ``s = entry / (entry + exit)``, the long-run share
of the time without a wage job spent in own-account work.

**A choice, not only a fallback** (``self_review_rate`` q > 0). Each month a migrant in a wage
job reviews their work with chance q and moves to own-account work with the binary-logit
chance ``L(beta_income * (log e_d - log w_ds) + self_asc)``: the same utility of log income as
the destination choice (``beta_income``), ``w_ds`` the wage level of their sector at the
destination as paid (minimum wage where enforced, times the chance of being paid in full, net of
contributions; the schooling and training premia multiply both sides and cancel) and
``self_asc`` the taste for own-account work beyond its earnings (independence and hours against
risk; Maloney 2004 on informal self-employment as a voluntary choice, and seed 1.4: migrants
"can still receive incomes several times those available in the agricultural sector" in the
informal economy). A self-employed migrant weighs a wage job offered in matching only in a
month of review (chance q as well: they run a business and do not search every month) and
then takes it with the complementary chance ``1 - L(...)``, so q times that in all
(``labour.match_jobs`` reads the table :meth:`SelfEmployment.offer_acceptance`). Setting
q > 0 thus selects the choice model: in the fallback (q = 0) own-account work is a stopgap and
every offer is taken. The job a migrant leaves for own-account work opens
for the next month's seekers, so the demand for own-account work (the capacity ``K_d`` and the
crowding of earnings) and the demand for wage labour together set how many migrants work on
their own. The self-employed who are not reviewing do not compete for wage jobs: they are left
out of the migrants present when the chance of a job, the employment rate migrants expect and
the unemployment that presses on wages are counted (``labour.competing``). Migrants deciding
where to go weigh the choice too: who finds work at a destination expects the wage job's
earnings with chance ``1 - L`` and own-account earnings with chance ``L``, by sector
(:meth:`SelfEmployment.job_income`). The destination utility is over expected income, as for
arrears and the chance of a job, so the taste ``self_asc`` sets which work is chosen but adds
no income (the logit's inclusive value would add it; not used). With q = 0 (the
default) every offer is taken and no wage worker moves: the fallback margin above, bit for
bit.

``self_entry_rate = 0`` and ``self_review_rate = 0`` switch the margin off: nobody is ever
self-employed and every number of the model is the same as without the mechanism.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, JOB_SELF, NO_SECTOR, RURAL
from sim.core.mechanism import Indicator, Mechanism
from sim.core.params import Param
from sim.core.rng import uniform

PARAMS = (
    Param(
        "self_entry_rate",
        0.0,
        "per month",
        0.0,
        1.0,
        "seed 1.4 (Wang & Cai 2005: 52% of migrants self-employed); 0 switches the margin off",
        "chance a migrant without a wage job starts own-account work in a month",
        role="behaviour",
    ),
    Param(
        "self_exit_rate",
        0.03,
        "per month",
        0.0,
        1.0,
        "assumption (range 0.01-0.1: a small business lasts one to eight years)",
        "chance own-account work ends in a month",
        role="behaviour",
        active_when="self_entry_rate > 0 or self_review_rate > 0",
    ),
    Param(
        "self_income_ratio",
        0.8,
        "ratio",
        0.1,
        3.0,
        "assumption (seed 1.4: informal migrants earn several times farm incomes; range 0.5-1.5)",
        "own-account earnings at capacity relative to the destination's wage level",
        role="behaviour",
        active_when="self_entry_rate > 0 or self_review_rate > 0",
    ),
    Param(
        "self_capacity",
        0.5,
        "ratio",
        0.01,
        5.0,
        "assumption (seed 2.2: informal economy 30-40% of urban labour; range 0.2-2)",
        "own-account workers a destination supports at capacity, per job of migrant demand",
        role="structural",
        active_when="self_entry_rate > 0 or self_review_rate > 0",
    ),
    Param(
        "self_crowding_elasticity",
        0.5,
        "elasticity",
        0.0,
        3.0,
        "assumption (free entry, Fields 1975; range 0.2-1.5)",
        "fall of own-account earnings per unit rise of log crowding",
        role="behaviour",
        active_when="self_entry_rate > 0 or self_review_rate > 0",
    ),
    Param(
        "self_review_rate",
        0.0,
        "per month",
        0.0,
        0.5,
        "assumption (range 0.01-0.1: a worker weighs their job against working on their own "
        "every one to eight years; seed 1.4: 52% of migrants self-employed); 0: own-account work "
        "is only a fallback",
        "chance a migrant in a wage job weighs it against own-account work in a month",
        role="behaviour",
    ),
    Param(
        "self_asc",
        0.0,
        "utils",
        -5.0,
        5.0,
        "assumption (range -2 to 2: independence and hours against risk; Maloney 2004, "
        "World Development 32(7), informal self-employment as a voluntary choice)",
        "taste for own-account work over a wage job at equal earnings",
        role="behaviour",
        active_when="self_review_rate > 0",
    ),
    Param(
        "local_self_employed_share",
        0.12,
        "share",
        0.0,
        1.0,
        "seed 1.4 (Wang & Cai 2005): 12% of the local workforce self-employed",
        "self-employed share of local urban workers (counted in the informal share of labour)",
        role="exogenous",
    ),
)


def earnings(levels, demand, base_demand, n_self, pars, weights=None) -> np.ndarray:
    """Own-account earnings ``e_d`` by destination (RMB a month, 2000 prices, primary schooling,
    untrained) given ``n_self`` own-account workers present (agents). The capacity is
    ``self_capacity`` times the national base demand for migrant labour spread by ``weights``
    (the size of each destination's urban economy; default: where the base demand is)."""
    total = demand.sum(axis=1)
    share = demand / np.maximum(total[:, None], 1e-12)
    wbar = (share * levels).sum(axis=1)
    base = base_demand.sum(axis=1)
    if weights is not None:
        base = weights * base.sum()
    capacity = np.maximum(pars.self_capacity * base, 1e-12)
    crowd = (1.0 + n_self / capacity) / 2.0
    return pars.self_income_ratio * wbar * crowd ** (-pars.self_crowding_elasticity)


def steady_share(pars) -> float:
    """Long-run share of the time without a wage job spent in own-account work."""
    total = pars.self_entry_rate + pars.self_exit_rate
    return pars.self_entry_rate / total if total > 0 else 0.0


def own_account_chance(income, wage, beta, asc) -> np.ndarray:
    """Chance that a migrant choosing between own-account work at earnings ``income[d]`` and a
    wage job at ``wage[d, s]`` (both RMB a month for the same schooling) takes own-account work:
    the binary logit ``1 / (1 + exp(-(beta * log(income / wage) + asc)))``, shape ``wage``."""
    gap = np.log(np.maximum(income, 1e-12))[:, None] - np.log(np.maximum(wage, 1e-12))
    return 1.0 / (1.0 + np.exp(-(beta * gap + asc)))


def choice_gain(demand, income, wage, beta, asc) -> np.ndarray:
    """Expected change of a month's earnings by destination when a migrant who finds a wage
    job takes own-account work instead with the logit chance :func:`own_account_chance`:
    ``sum_s share_ds * pi_ds * (income_d - wage_ds)``, ``share`` the sectors' shares of demand
    (RMB a month, primary schooling, untrained; negative where own-account work earns less)."""
    share = demand / np.maximum(demand.sum(axis=1, keepdims=True), 1e-12)
    pi = own_account_chance(income, wage, beta, asc)
    return (share * pi * (income[:, None] - wage)).sum(axis=1)


def net_wage_levels(paid, arrears_risk, contrib_loss) -> np.ndarray:
    """Wage levels by destination and sector as a worker sees them: as paid, times the chance
    of being paid in full, net of expected contributions (``labour.expected_wages`` by cell)."""
    keep = 1.0 - np.asarray(contrib_loss, np.float64)
    keep = keep[:, None] if keep.ndim == 1 else keep
    return paid * (1.0 - np.asarray(arrears_risk))[None, :] * keep


@njit(cache=True, parallel=True)
def own_account(key, p, income, mult, p_entry, p_exit, switch, remit_share, remit, wage, paid):
    """Moves of wage workers to own-account work (chance ``switch[d, s]``), exits from and
    entries into own-account work of migrants without a wage job (the ``JOB_SELF`` flag), and
    the remittance of those who work on their own this month; returns the number of moves.
    A mover's wage of the month is cleared (``wage``, ``paid``: the record counts them among
    the self-employed, as ``work_safety`` clears an undone hire). Draws per person: 0 exit,
    1 entry, 2 move from a wage job."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    school = p.school
    trained = p.trained
    n_sec = switch.shape[1]
    moved = 0
    for i in prange(loc.shape[0]):
        d = loc[i]
        if d == HOME or hukou[i] != RURAL:
            continue
        s = sector[i]
        if s != NO_SECTOR:
            if s >= n_sec or switch[d, s] <= 0.0 or uniform(key, i, 2) >= switch[d, s]:
                continue
            sector[i] = NO_SECTOR
            job[i] = JOB_SELF
            wage[i] = 0.0
            paid[i] = 0
            moved += 1
        elif (job[i] & JOB_SELF) != 0:
            if uniform(key, i, 0) < p_exit:
                job[i] = 0
                continue
        elif uniform(key, i, 1) < p_entry:
            job[i] = JOB_SELF
        else:
            continue
        remit[i] = remit_share * income[d] * mult[school[i], trained[i]]
    return moved


@njit(cache=True)
def count_self(p, income, mult, n_dest):
    """Own-account workers present per destination, and their earnings summed (RMB)."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    school = p.school
    trained = p.trained
    n_self = np.zeros(n_dest, np.int64)
    total = 0.0
    for i in range(loc.shape[0]):
        d = loc[i]
        if d >= 0 and hukou[i] == RURAL and sector[i] == NO_SECTOR and (job[i] & JOB_SELF) != 0:
            n_self[d] += 1
            total += income[d] * mult[school[i], trained[i]]
    return n_self, total


class SelfEmployment(Mechanism):
    """Migrants without a wage job start and end own-account work; earnings fall with crowding
    (seed 1.4: 52% of migrants self-employed; 2.2: an informal economy of 30-40% of urban
    labour)."""

    name = "self_employment"
    doc = "migrants without a wage job start and end own-account work; crowding sets earnings"
    params = PARAMS
    results = (
        Indicator("self_employed", "agents", "migrants in own-account work", scaled=True),
        Indicator("self_income_sum", "RMB", "own-account earnings of the month, summed"),
        Indicator("local_self_employed", "persons", "self-employed local urban workers"),
        Indicator("wage_to_self", "agents", "migrants who left a wage job for own-account work",
                  scaled=True, flow=True),
    )
    streams = ("self_employment",)

    def init(self, sim: Any) -> None:
        sim.n_self = np.zeros(sim.geo.n_dest)
        if getattr(sim, "economy_weights", None) is None:
            sim.economy_weights = sim.mech["labour"].economy_weights(sim)

    def step(self, sim: Any) -> None:
        pars, t = sim.pars, sim.t
        sim.rec.scalars["local_self_employed"][t] = (
            pars.local_self_employed_share * pars.urban_local_workers
        )
        sc = sim.rec.scalars
        sc["wage_to_self"][t] = 0.0
        if pars.self_entry_rate <= 0.0 and pars.self_review_rate <= 0.0 and not sim.n_self.any():
            sc["self_employed"][t] = 0.0
            sc["self_income_sum"][t] = 0.0
            return
        p, yq = sim.persons, sim.yq
        income = self.income(sim)
        n_sec = sim.levels.shape[1]
        switch = np.zeros((sim.geo.n_dest, n_sec))
        if pars.self_review_rate > 0.0:
            switch = pars.self_review_rate * own_account_chance(
                income, self.wage_levels(sim), pars.beta_income, pars.self_asc)
        moved = own_account(
            sim.key("self_employment"),
            p.core,
            income,
            yq.mult,
            pars.self_entry_rate,
            pars.self_exit_rate,
            switch,
            pars.remit_share,
            sim.buf.remit,
            sim.buf.wage,
            sim.buf.paid,
        )
        sc["wage_to_self"][t] = moved
        n_self, total = count_self(p.core, income, yq.mult, sim.geo.n_dest)
        sim.n_self = n_self.astype(np.float64)
        sc["self_employed"][t] = n_self.sum()
        sc["self_income_sum"][t] = total

    @staticmethod
    def income(sim: Any) -> np.ndarray:
        """Own-account earnings by destination this month (primary schooling, untrained)."""
        return earnings(
            sim.ref_levels, sim.demand, sim.base_demand, sim.n_self, sim.pars,
            sim.economy_weights
        )

    @staticmethod
    def wage_levels(sim: Any) -> np.ndarray:
        """Wage levels by destination and sector as workers weigh them against own-account
        work (primary schooling, untrained)."""
        yq = sim.yq
        return net_wage_levels(sim.mech["labour"].paid_levels(sim), yq.arrears_risk,
                               yq.contrib_loss)

    @staticmethod
    def not_seeking(sim: Any) -> np.ndarray | None:
        """Self-employed migrants by destination who do not weigh a wage job this month (all
        but the review share ``self_review_rate``, of last month's count); None in the fallback
        model, where the self-employed keep looking."""
        q = sim.pars.self_review_rate
        n_self = getattr(sim, "n_self", None)  # None before the first count
        if q <= 0.0 or n_self is None:
            return None
        return (1.0 - q) * n_self

    def offer_acceptance(self, sim: Any) -> np.ndarray | None:
        """Chance a self-employed migrant takes a wage job offered at each destination and
        sector (``labour.match_jobs``): the review rate times the logit chance of preferring
        the job; None when every offer is taken (``self_review_rate`` 0, the fallback)."""
        pars = sim.pars
        if pars.self_review_rate <= 0.0:
            return None
        return pars.self_review_rate * (1.0 - own_account_chance(
            self.income(sim), self.wage_levels(sim), pars.beta_income, pars.self_asc))

    @staticmethod
    def job_income(sim: Any, wages: np.ndarray) -> np.ndarray:
        """What a migrant who finds work at each destination expects to earn a month, by
        schooling and training, given ``wages`` (``labour.expected_wages``): in the choice model
        (``self_review_rate`` > 0) the wage job is kept with the chance ``1 - pi_ds`` and
        own-account work chosen with ``pi_ds`` (:func:`own_account_chance`), weighted over
        sectors by demand, so ``wages + sum_s share_ds * pi_ds * (e_d - w_ds)`` times the
        premia; ``wages`` itself in the fallback model."""
        pars = sim.pars
        if pars.self_review_rate <= 0.0:
            return wages
        return wages + choice_gain(sim.demand, SelfEmployment.income(sim),
                                   SelfEmployment.wage_levels(sim), pars.beta_income,
                                   pars.self_asc)[:, None, None] * sim.yq.mult[None, :, :]

    @staticmethod
    def expected_income(sim: Any) -> np.ndarray | None:
        """What a migrant without a wage job expects to earn a month at each destination, by
        schooling and training (``s * e_d`` times the premia); None when the margin is off."""
        pars = sim.pars
        if pars.self_entry_rate <= 0.0:
            return None
        e = SelfEmployment.income(sim)
        return (steady_share(pars) * e)[:, None, None] * sim.yq.mult[None, :, :]
