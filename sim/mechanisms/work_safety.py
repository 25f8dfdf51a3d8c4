"""Work injuries and occupational disease of migrants in wage jobs (issue 17, part 1).

Migrants hold the dangerous jobs: in 2004 workplace accidents killed 136,000, migrants were 80%
of the deaths in mining, construction and chemical factories and about 90% of the patients with
occupational diseases (seed 1.4 (3)); the 2002 Work Safety Law, the 2004 Regulation on
Work-Related Injury Insurance and the MoLSS order of 2004 that high-risk enterprises insure
their migrants (seed 2.1, Box 1) are "poorly enforced" (seed 1.4 (3)), and employment injury
insurance covered 31.8% of migrants (seed 1.5).

**Each month**, every rural-hukou migrant in a wage job (``employed``; own-account work is not
drawn) is injured with the monthly hazard of the job's sector, ``h_m = 1 - (1 - h_y) ** (1/12)``
from the yearly ``injury_rate_year_<sector>`` (draw 0 of the person in the stream
``work_safety.injury``). The injured person

1. loses the job (``employed`` 0, sector ``NO_SECTOR``, job flags 0) and this month's pay
   (wage, full-pay flag and remittance of the month set to 0: the accident ends the month's
   work), and is off work for ``injury_months_lost`` months counting this one (person field
   ``injury_left``, the months still to go after this one);
2. is compensated if the lost job carried social insurance (``JOB_INSURED``) and the claim is
   paid (draw 1 < ``YearInputs.injury_claim_prob``, an outcome of labour inspection,
   ``sim/mechanisms/inspection.py``): ``injury_compensation_share`` times this
   month's wage times ``injury_months_lost`` is recorded (``injury_compensation_rmb``; it is not
   added to remittances or household income, a simplification);
3. goes home with chance ``injury_return_prob`` (draw 2): ``send_home`` as in ``returns``,
   children with them released, mechanism fields reset by ``sim.sent_home`` (``injury_left``
   back to 0: recovery at home), counted in ``sim.n_returned`` so the return flow carries them
   and the stock changes by exactly the flows; their completed spell and schooling are added to
   the returns' spell and returnee indicators.

**Off work.** Matching (``labour.match_jobs``) treats every migrant without a job as a seeker
and cannot be told otherwise without editing it; instead, a migrant still off work (``injury_left
> 0``) whom this month's matching hired has the hire undone here, before the month's pay is
recorded (job, wage, pay flag and remittance cleared), and ``injury_left`` counts down. The
off-work still count as seekers in the matching's job chances (a small dilution) and may start
own-account work (``self_employment`` runs after this stage and cannot be told either).

**Where in the month.** Right after ``pay``: the month's wage of every job is known (it sets the
compensation and is what the injured lose), matching has already run (so this month's hires of
the off-work can be undone), and ``record`` comes later (so the stocks, the employed, pay and
the return flow it records already include the injuries).

All hazards 0 (the default) switch the mechanism off: the step writes zeros into its own
indicators and touches nothing else, so every other number is bit-identical to a run without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import HOME, JOB_INSURED, NO_SECTOR, RURAL, SECTOR_NAMES
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
        f"yearly hazard of a work injury or occupational disease of a migrant employed in {s}",
        role="structural",
    )
    for s in SECTOR_NAMES
) + (
    Param(
        "injury_months_lost",
        3,
        "months",
        1,
        24,
        "assumption (range 1-12)",
        "months without pay after a work injury, counting the month of the injury",
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
    ),
    Param(
        "injury_compensation_share",
        0.75,
        "share",
        0.0,
        1.0,
        "assumption (range 0.6-1: the 2004 Regulation on Work-Related Injury Insurance keeps "
        "the wage during treatment)",
        "share of the lost wages paid when the job is insured and the claim is enforced",
        role="policy",
    ),
)


def monthly_hazards(pars) -> np.ndarray:
    """Monthly injury hazard by sector: 1 - (1 - yearly) ** (1/12)."""
    y = np.array([getattr(pars, f"injury_rate_year_{s}") for s in SECTOR_NAMES], np.float64)
    return 1.0 - (1.0 - y) ** (1.0 / 12.0)


@njit(inline="always", cache=True)
def _clear_job(i, employed, sector, job, wage, paid, remit):
    """Person ``i`` holds no job this month: job, wage, full-pay flag and remittance cleared."""
    employed[i] = 0
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
    wage,
    paid,
    remit,
    hazard,
    months_lost,
    p_home,
    enforce,
    event,
    spell,
    lost_wage,
):
    """This month's injuries (``event``: EV_* flags, 0 for the others), and the undoing of hires
    of migrants still off work. ``lost_wage`` receives the month's wage of an injured person,
    ``spell`` the months away of an injured person who went home. Each person reads and writes
    only its own slots, so the kernel is safe in parallel and the same with any thread count."""
    loc = p.loc
    hukou = p.hukou
    employed = p.employed
    sector = p.sector
    job = p.job
    months_away = p.months_away
    for i in prange(loc.shape[0]):
        event[i] = 0
        lost_wage[i] = 0.0
        if loc[i] == HOME or hukou[i] != RURAL:
            continue
        if injury_left[i] > 0:  # still off work: a hire by this month's matching is undone
            injury_left[i] -= 1
            if employed[i] == 1:
                _clear_job(i, employed, sector, job, wage, paid, remit)
            continue
        if employed[i] == 0:
            continue
        if uniform(key, i, 0) >= hazard[sector[i]]:
            continue
        ev = EV_INJURED
        if (job[i] & JOB_INSURED) != 0 and uniform(key, i, 1) < enforce:
            ev |= EV_COMPENSATED
        lost_wage[i] = wage[i]
        _clear_job(i, employed, sector, job, wage, paid, remit)
        injury_left[i] = months_lost - 1
        if uniform(key, i, 2) < p_home:
            ev |= EV_HOME
            spell[i] = months_away[i]
            send_home(i, p)
        event[i] = ev


class WorkSafety(Mechanism):
    """Work injuries of migrants in wage jobs by sector (seed 1.4 (3)): the injured lose the job
    and months of pay, some go home, insured claims are paid when enforced (seed 1.5; the 2004
    Regulation on Work-Related Injury Insurance). Off by default (all hazards 0)."""

    name = "work_safety"
    doc = "migrants in wage jobs are injured by sector; the injured lose the job, some go home"
    params = PARAMS
    person_state = (
        StateField("injury_left", "int8", "months off work still to go after a work injury",
                   home=0),
    )
    buffers = (
        StateField("injury_event", "int8", "this month: 1 injured, +2 compensated, +4 went home"),
        StateField("injury_spell", "int16", "months away of an injured migrant who went home"),
        StateField("injury_wage", "float32", "this month's wage of an injured migrant (RMB)"),
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
                  "compensation paid for lost wages", scaled=True, flow=True),
    )
    streams = ("work_safety.injury",)

    def step(self, sim: Any) -> None:
        pars, sc, t = sim.pars, sim.rec.scalars, sim.t
        p, buf = sim.persons, sim.buf
        hazard = monthly_hazards(pars)
        if hazard.max() <= 0.0 and not p.injury_left.any():  # off: only the records
            for k in ("injuries", "injuries_compensated", "injured_compensated_share",
                      "injury_returns", "injury_compensation_rmb"):
                sc[k][t] = 0.0
            return
        months_lost = int(pars.injury_months_lost)
        injure(
            sim.key("work_safety.injury"),
            p.core,
            p.injury_left,
            buf.wage,
            buf.paid,
            buf.remit,
            hazard,
            months_lost,
            pars.injury_return_prob,
            sim.yq.injury_claim_prob,
            buf.injury_event,
            buf.injury_spell,
            buf.injury_wage,
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
