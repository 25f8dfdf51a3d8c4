"""Work injuries and occupational disease of migrants in wage jobs (issue 17, part 1).

Migrants hold the dangerous jobs: in 2004 workplace accidents killed 136,000, migrants were 80%
of the deaths in mining, construction and chemical factories and about 90% of the patients with
occupational diseases (seed 1.4 (3)); the 2002 Work Safety Law, the 2004 Regulation on
Work-Related Injury Insurance and the MoLSS order of 2004 that high-risk enterprises insure
their migrants (seed 2.1, Box 1) are "poorly enforced" (seed 1.4 (3)), and employment injury
insurance covered 31.8% of migrants (seed 1.5). The seed places the risk with migrants' place
in dangerous and informal work (1.4 (3); 3.1: informal employment "that does not offer rights
and protection", ILO Conventions 155 on occupational safety and health and 167 on safety in
construction, 80% of whose workforce are migrants) and calls for OSH regulations to be
implemented and enforced (3.1 and the recommendations); it gives no injury rates by training
or contract, so the multipliers below are estimates from outside the seed.

**Each month**, every rural-hukou migrant in a wage job (``employed``; own-account work is not
drawn) is injured with the monthly hazard ``h_m = 1 - (1 - h_y) ** (1/12)`` (draw 0 of the
person in the stream ``work_safety.injury``) of the yearly hazard

    h_y = min(1, injury_rate_year_<sector> * m_trained ** trained * m_informal ** informal)

``injury_rate_year_<sector>`` is the hazard of an untrained worker in a formal job of the
sector; a trained worker (``Persons.trained``: vocational training, seed 2.4, here assumed to
carry safety instruction) has it times ``injury_hazard_mult_trained`` (< 1), an informal job
(``JOB_INFORMAL``) times ``injury_hazard_mult_informal`` (> 1); both multiply when both apply
(:func:`hazard_table`). The multipliers multiply hazards of 0, so they leave the mechanism off
by default. About two thirds of migrants' wage jobs are informal and 5% of them trained (a run
of 2002-05), so with the default multipliers the mean hazard of migrants is about 1.3 times
the sector value.

The injured person

1. loses the job (``employed`` 0, sector ``NO_SECTOR``, job flags 0) and this month's pay
   (wage, full-pay flag and remittance of the month set to 0: the accident ends the month's
   work), and is off work for ``injury_months_lost`` months counting this one (person field
   ``injury_left``, the months still to go after this one);
2. is compensated when the job was insured against injury and the claim is paid (draw 1 <
   ``YearInputs.injury_claim_prob``, an outcome of labour inspection,
   ``sim/mechanisms/inspection.py``). **Insured** means: when the ``insurance`` mechanism is
   registered, the worker holds the injury branch (bit ``INS_INJURY`` of ``ins_branches``) of a
   job held since before this month's matching (``sector_before``); without it, the job carries
   ``JOB_INSURED`` (the combined flag of ``labour``);
3. goes home with chance ``injury_return_prob`` (draw 2): ``send_home`` as in ``returns``,
   children with them released, mechanism fields reset by ``sim.sent_home`` (``injury_left``
   and ``injury_pay`` back to 0: recovery at home), counted in ``sim.n_returned`` so the return
   flow carries them and the stock changes by exactly the flows; their completed spell and
   schooling are added to the returns' spell and returnee indicators.

**The same-month hire (ordering).** ``insurance`` draws the branches of a new job in its own
stage, which runs after this one; a worker hired by this month's matching has no branches yet
when injured here. Such a hire is treated as **not yet enrolled** (no compensation) and no
branch is drawn here: moving ``insurance`` before ``work_safety`` would make it enrol, charge
contributions on and accrue pension for the hires of the off-work that this stage then undoes
(and count this month's injured as insured workers), and would change the registry order that
``docs/architecture.md`` documents; drawing the branches here would duplicate insurance's rule.
Enrolment in the month after the hire matches the common practice of registering a worker after
the first month or the probation period (an assumption). The same holds in the very first month
of a run, before ``insurance`` has drawn the initial stock's jobs. The mechanisms do not import
each other: the bit ``INS_INJURY`` is repeated here (``tests/test_work_safety.py`` checks it
equals ``sim.mechanisms.insurance.INS_INJURY``).

**Compensation reaches the household, month by month.** The award is ``injury_compensation_
share`` times the month's wage of the lost job for each of the ``injury_months_lost`` months
(recorded whole in the month of the injury, ``injury_compensation_rmb``). It is paid as a wage
for the months off work (the Regulation on Work-Related Injury Insurance 2003, art. 31: during
the suspension of work for treatment the wage and benefits stay unchanged, paid monthly by the
employer): the monthly amount is kept in ``injury_pay`` and, in the month of the injury and each
later month off work, ``remit_share`` of it is added to the remittance of the month
(``buf.remit``), as ``pay`` remits that share of a wage (``injury_compensation_remitted_rmb``).
The household income per head that ``record`` reckons in December from the remittances of the
members away therefore includes it (a worker injured in October to December with 3 months lost
is still paid in December); spreading it keeps the December snapshot an unbiased reading of the
yearly mean, as a lump sum in the month of the injury would, with less noise. Not reaching the
household: the award of the injured who go home (their ``injury_pay`` is reset on going home;
the income of members at home is the household's home income, which this stage cannot change)
or who are sent home later while off work, and the payments of an off-work migrant who starts
own-account work (``self_employment``, later in the month, sets the remittance of the
self-employed anew).

**Off work.** Matching (``labour.match_jobs``) treats every migrant without a job as a seeker
and cannot be told otherwise without editing it; instead, a migrant still off work (``injury_left
> 0``) whom this month's matching hired has the hire undone here, before the month's pay is
recorded (job, wage, pay flag and remittance cleared), and ``injury_left`` counts down. The
off-work still count as seekers in the matching's job chances (a small dilution) and may start
own-account work (``self_employment`` runs after this stage and cannot be told either).

**Where in the month.** Right after ``pay``: the month's wage of every job is known (it sets the
compensation and is what the injured lose), matching has already run (so this month's hires of
the off-work can be undone), and ``record`` comes later (so the stocks, the employed, pay,
remittances and the return flow it records already include the injuries).

All hazards 0 (the default) switch the mechanism off: the step writes zeros into its own
indicators and touches nothing else, so every other number is bit-identical to a run without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import (
    HOME,
    INS_INJURY,
    JOB_INFORMAL,
    JOB_INSURED,
    NO_SECTOR,
    RURAL,
    SECTOR_NAMES,
)
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import send_home

# bit flags of the per-person event buffer ``injury_event``
EV_INJURED = 1
EV_COMPENSATED = 2
EV_HOME = 4


# yearly hazards one would use (not the defaults, which are 0 = off); "other" holds mining,
# utilities, transport and chemicals
ESTIMATES = {
    "construction": (0.03, "0.01-0.06"),
    "manufacturing": (0.015, "0.005-0.03"),
    "trade_catering": (0.005, "0.002-0.01"),
    "services": (0.005, "0.002-0.01"),
    "other": (0.02, "0.01-0.05"),
}

# the injury rules run only with a hazard above 0 (all are 0 by default)
_INJURY_ON = " or ".join(f"injury_rate_year_{s} > 0" for s in ESTIMATES)

PARAMS = tuple(
    Param(
        f"injury_rate_year_{s}",
        0.0,
        "per year",
        0.0,
        1.0,
        f"estimate (range {ESTIMATES[s][1]}, would use {ESTIMATES[s][0]}): seed 1.4 (3), 136,000 "
        "workplace deaths in 2004, migrants 80% of the deaths in mining, construction and "
        "chemicals, 90% of occupational-disease patients; construction and mining (in 'other') "
        "highest; 0 switches the mechanism off",
        f"yearly hazard of a work injury or occupational disease of an untrained migrant in a "
        f"formal wage job in {s} (multiplied for training and informal jobs)",
        role="structural",
    )
    for s in SECTOR_NAMES
) + (
    Param(
        "injury_hazard_mult_trained",
        0.85,
        "ratio",
        0.0,
        1.5,
        "estimate (range 0.7-1.0): Robson et al. 2012, Scand J Work Environ Health 38(3):193-208 "
        "(review of OHS training trials: strong evidence of safer behaviour, insufficient "
        "evidence of fewer injuries, so a modest effect); seed 3.1 (ILO C.155, improved job "
        "safety); assumes the vocational training of Persons.trained (seed 2.4) carries safety "
        "instruction",
        "injury hazard of a trained worker relative to an untrained one (safety training)",
        role="structural",
        active_when=_INJURY_ON,
    ),
    Param(
        "injury_hazard_mult_informal",
        1.5,
        "ratio",
        0.5,
        5.0,
        "estimate (range 1.0-3.0): Benavides et al. 2006, Occup Environ Med 63(6):416-421 "
        "(Spain 2000-01, temporary vs permanent workers: non-fatal injury rate ratio 2.94 "
        "crude, 2.32 within occupation, 1.05 also adjusting for length of employment: "
        "temporary, not informal, jobs); seed 1.4 (3), 3.1 (informal employment without rights "
        "and protection)",
        "injury hazard of a worker in an informal job (JOB_INFORMAL) relative to a formal one "
        "of the same sector",
        role="structural",
        active_when=_INJURY_ON,
    ),
    Param(
        "injury_months_lost",
        3,
        "months",
        1,
        24,
        "assumption (range 1-12)",
        "months without work after a work injury, counting the month of the injury",
        kind=int,
        role="structural",
    ),
    Param(
        "injury_return_prob",
        0.3,
        "probability",
        0.0,
        1.0,
        "assumption (range 0.1-0.6; seed 1.3, 1.4 (3): the uninsured injured go home to recover)",
        "chance an injured migrant goes home",
        role="behaviour",
        active_when=_INJURY_ON,
    ),
    Param(
        "injury_compensation_share",
        0.75,
        "share",
        0.0,
        1.0,
        "assumption (range 0.6-1: the 2004 Regulation on Work-Related Injury Insurance, art. 31, "
        "keeps the wage during treatment, paid monthly)",
        "share of the lost wage paid for each month off work when the job is insured and the "
        "claim is enforced",
        role="policy",
        active_when=_INJURY_ON,
    ),
)


def hazard_table(yearly, mult_trained: float, mult_informal: float) -> np.ndarray:
    """Monthly injury hazard by [sector, trained, informal] from the yearly sector hazards of an
    untrained worker in a formal job: ``1 - (1 - min(1, y * m)) ** (1/12)`` with ``m`` the
    product of the multipliers that apply."""
    y = np.asarray(yearly, np.float64)
    m = np.array([[1.0, mult_informal], [mult_trained, mult_trained * mult_informal]])
    y3 = np.minimum(y[:, None, None] * m[None, :, :], 1.0)
    return 1.0 - (1.0 - y3) ** (1.0 / 12.0)


def yearly_hazards(pars) -> np.ndarray:
    """Yearly sector hazards (untrained worker, formal job), in ``SECTOR_NAMES`` order."""
    return np.array([getattr(pars, f"injury_rate_year_{s}") for s in SECTOR_NAMES], np.float64)


def monthly_hazards(pars) -> np.ndarray:
    """Monthly sector hazard of an untrained worker in a formal job: 1 - (1 - yearly) ** (1/12)."""
    return 1.0 - (1.0 - yearly_hazards(pars)) ** (1.0 / 12.0)


@njit(inline="always", cache=True)
def _clear_job(i, sector, job, wage, paid, remit):
    """Person ``i`` holds no job this month: job, wage, full-pay flag and remittance cleared."""
    sector[i] = NO_SECTOR
    job[i] = 0
    wage[i] = 0.0
    paid[i] = 0
    remit[i] = 0.0


@njit(cache=True, parallel=True)
def injure(
    key,
    p,
    injury_left,
    injury_pay,
    wage,
    paid,
    remit,
    hazard,
    months_lost,
    p_home,
    enforce,
    comp_share,
    remit_share,
    by_branch,
    branches,
    sector_before,
    event,
    spell,
    lost_wage,
    comp_remit,
):
    """This month's injuries (``event``: EV_* flags, 0 for the others), the undoing of hires
    of migrants still off work and the compensation paid for the months off work.

    ``hazard[sector, trained, informal]`` is the monthly hazard (:func:`hazard_table`). With
    ``by_branch`` a job is insured when the person holds ``INS_INJURY`` in ``branches`` and was
    employed before this month's matching (``sector_before``; a same-month hire is not yet
    enrolled); otherwise when the job carries ``JOB_INSURED``. A compensated person is owed
    ``comp_share`` times the lost wage a month (``injury_pay``), of which ``remit_share`` is
    added to ``remit`` in the month of the injury and each later month off work (``comp_remit``
    receives that amount). ``lost_wage`` receives the month's wage of an injured person,
    ``spell`` the months away of an injured person who went home. Each person reads and writes
    only its own slots, so the kernel is safe in parallel and the same with any thread count."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    job = p.job
    trained = p.trained
    months_away = p.months_away
    for i in prange(loc.shape[0]):
        event[i] = 0
        lost_wage[i] = 0.0
        comp_remit[i] = 0.0
        if loc[i] == HOME or hukou[i] != RURAL:
            continue
        if injury_left[i] > 0:  # still off work: a hire by this month's matching is undone
            injury_left[i] -= 1
            if sector[i] != NO_SECTOR:
                _clear_job(i, sector, job, wage, paid, remit)
            if injury_pay[i] > 0.0:
                c = remit_share * injury_pay[i]
                remit[i] += c
                comp_remit[i] = c
                if injury_left[i] == 0:
                    injury_pay[i] = 0.0
            continue
        if sector[i] == NO_SECTOR:
            continue
        jb = job[i]
        if uniform(key, i, 0) >= hazard[sector[i], trained[i], jb & JOB_INFORMAL]:
            continue
        if by_branch:
            insured = sector_before[i] != NO_SECTOR and (branches[i] & INS_INJURY) != 0
        else:
            insured = (jb & JOB_INSURED) != 0
        ev = EV_INJURED
        if insured and uniform(key, i, 1) < enforce:
            ev |= EV_COMPENSATED
        lost_wage[i] = wage[i]
        _clear_job(i, sector, job, wage, paid, remit)
        injury_left[i] = months_lost - 1
        if uniform(key, i, 2) < p_home:
            ev |= EV_HOME
            spell[i] = months_away[i]
            send_home(i, p)
        elif (ev & EV_COMPENSATED) != 0:
            injury_pay[i] = comp_share * lost_wage[i]
            c = remit_share * injury_pay[i]
            remit[i] += c
            comp_remit[i] = c
            if months_lost <= 1:
                injury_pay[i] = 0.0
        event[i] = ev


class WorkSafety(Mechanism):
    """Work injuries of migrants in wage jobs by sector, training and informality (seed 1.4
    (3)): the injured lose the job and months of pay, some go home, injury-insured claims are
    paid when enforced (seed 1.5; the 2004 Regulation on Work-Related Injury Insurance) as a
    monthly wage remitted home. Off by default (all hazards 0)."""

    name = "work_safety"
    doc = "migrants in wage jobs are injured by sector; the injured lose the job, some go home"
    params = PARAMS
    person_state = (
        StateField("injury_left", "int8", "months off work still to go after a work injury",
                   home=0),
        StateField("injury_pay", "float32",
                   "compensation owed a month while off work after an injury (RMB)", home=0.0),
    )
    buffers = (
        StateField("injury_event", "int8", "this month: 1 injured, +2 compensated, +4 went home"),
        StateField("injury_spell", "int16", "months away of an injured migrant who went home"),
        StateField("injury_wage", "float32", "this month's wage of an injured migrant (RMB)"),
        StateField("injury_remit", "float32",
                   "compensation added to this month's remittance (RMB)"),
    )
    results = (
        Indicator("injuries", "agents", "work injuries of migrants", scaled=True, flow=True),
        Indicator("injuries_compensated", "agents",
                  "work injuries whose insurance claim was paid", scaled=True, flow=True),
        Indicator("injured_compensated_share", "share",
                  "share of the work injuries of the last 12 months whose claim was paid "
                  "(0 when there were none)"),
        Indicator("injury_returns", "agents", "injured migrants who went home", scaled=True,
                  flow=True),
        Indicator("injury_compensation_rmb", "RMB (2000 prices)",
                  "compensation awarded for lost wages (all months off work, in the month of "
                  "the injury)", scaled=True, flow=True),
        Indicator("injury_compensation_remitted_rmb", "RMB (2000 prices)",
                  "compensation remitted home this month (part of remittances)", scaled=True,
                  flow=True),
    )
    streams = ("work_safety.injury",)

    def step(self, sim: Any) -> None:
        pars, sc, t = sim.pars, sim.rec.scalars, sim.t
        p, buf = sim.persons, sim.buf
        yearly = yearly_hazards(pars)
        # off: only the records (the injury fields are not even allocated until first used)
        if yearly.max() <= 0.0 and not (p.allocated("injury_left") and p.injury_left.any()):
            for k in ("injuries", "injuries_compensated", "injured_compensated_share",
                      "injury_returns", "injury_compensation_rmb",
                      "injury_compensation_remitted_rmb"):
                sc[k][t] = 0.0
            return
        hazard = hazard_table(yearly, float(pars.injury_hazard_mult_trained),
                              float(pars.injury_hazard_mult_informal))
        months_lost = int(pars.injury_months_lost)
        by_branch = "insurance" in sim.mech
        branches = p.ins_branches if by_branch else np.zeros(1, np.int8)
        injure(
            sim.key("work_safety.injury"),
            p.core,
            p.injury_left,
            p.injury_pay,
            buf.wage,
            buf.paid,
            buf.remit,
            hazard,
            months_lost,
            pars.injury_return_prob,
            sim.yq.injury_claim_prob,
            float(pars.injury_compensation_share),
            float(pars.remit_share),
            by_branch,
            branches,
            buf.sector_before,
            buf.injury_event,
            buf.injury_spell,
            buf.injury_wage,
            buf.injury_remit,
        )
        ev = buf.injury_event
        injured = (ev & EV_INJURED) != 0
        comp = (ev & EV_COMPENSATED) != 0
        sc["injuries"][t] = np.count_nonzero(injured)
        sc["injuries_compensated"][t] = np.count_nonzero(comp)
        sc["injury_compensation_rmb"][t] = (
            pars.injury_compensation_share * months_lost
            * buf.injury_wage[comp].astype(np.float64).sum()
        )
        sc["injury_compensation_remitted_rmb"][t] = buf.injury_remit.astype(np.float64).sum()
        lo = max(0, t - 11)
        n_inj = sc["injuries"][lo : t + 1].sum()
        sc["injured_compensated_share"][t] = (
            sc["injuries_compensated"][lo : t + 1].sum() / n_inj if n_inj > 0 else 0.0
        )
        idx = np.flatnonzero((ev & EV_HOME) != 0)
        sc["injury_returns"][t] = idx.size
        if idx.size:
            male = p.sex[idx] == 0
            spell = buf.injury_spell[idx].astype(np.int64)
            sc["spell_months_male"][t] += spell[male].sum()
            sc["spells_male"][t] += np.count_nonzero(male)
            sc["spell_months_female"][t] += spell[~male].sum()
            sc["spells_female"][t] += np.count_nonzero(~male)
            sc["returnee_school_sum"][t] += p.school[idx].sum()
            sim.mech["household"].release_children(sim, idx, settled=False)
            sim.sent_home(idx)
            sim.n_returned += idx.size
