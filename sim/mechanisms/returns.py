"""Return migration: a monthly hazard of going home for good.

The hazard rises with an unemployment spell and with age and is higher for women (mean spells
about six years for men and four for women, seed 1.3), falls with time already away ("nothing
more permanent than temporary migration": only 38% of a decade's migrants had returned, seed
1.3, Zhao 2001), and rises when children were left behind. A migrant who did not cross a
provincial border has it times ``return_near_mult`` (seed 1.3: "the short-term or seasonal
nature of intra-provincial migration"; off at 1). A married migrant whose spouse is at home
returns with the hazard times exp(``return_spouse_log``), one living with the spouse in the
destination times exp(-``return_spouse_log``) (family demand brings migrants home: Wang & Fan
2006; 0, off, by default). A parent whose children were left behind has the children's hazard
ratio times ``return_children_school_ratio`` once the mother has no child under school age:
migrant parents of primary-school children delay their return to save for schooling (Demurger
& Xu 2015, IZA Journal of Migration 4:10; off at 1). A migrant who marries in January (the
life course's weddings) goes home for good then with chance ``return_wedding_female`` or
``_male``, a risk added to the month's hazard: young migrant women go home to marry and
brides stay in the husband's village (Murphy 2002; Fan 2004; off at 0); a woman away who
has a child in January goes home then with chance ``return_birth_female`` (Murphy 2002; Wang &
Fan 2006; off at 0). Returns cluster
around the Spring Festival. Each person draws from the stream ``returns``; the hazards read
the start-of-month state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.encodings import (
    ACROSS_PROVINCE,
    FEMALE,
    HOME,
    JOB_INSURED,
    JOB_SELF,
    NO_SECTOR,
    RURAL,
    WED_BIRTH,
    WED_MARRIED,
)
from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import Param
from sim.core.rng import uniform
from sim.core.state import (
    carer_at_home,
    elder_need,
    families,
    flat_nonzero,
    has_young_child,
    household,
    is_parent,
    send_home,
)

PARAMS = (
    Param(
        "return_rate_year",
        0.0873,
        "per year",
        0.0,
        5.0,
        "seed 1.3: mean spell ~6 years for men",
        "baseline yearly return hazard (man aged 30)",
        role="behaviour",
    ),
    Param(
        "return_female_mult",
        1.066,
        "ratio",
        0.1,
        10.0,
        "seed 1.3: mean spell ~4 years for women vs 6 for men",
        "hazard ratio for women",
        role="behaviour",
    ),
    Param(
        "return_unemployed_mult",
        2.0,
        "ratio",
        1.0,
        50.0,
        "Zhao 2002 (J. Comparative Economics 30): unemployment drives returns",
        "hazard ratio while without a job",
        role="behaviour",
    ),
    Param(
        "return_age_log_per_decade",
        0.541,
        "log points per 10 years",
        -2.0,
        2.0,
        "seed 1.3/1.6: returnees older, re-enter farming",
        "age gradient of the return hazard",
        role="behaviour",
    ),
    Param(
        "return_duration_log_per_year",
        -0.005963,
        "log points per year away",
        -1.0,
        1.0,
        "seed 1.3: 'nothing more permanent than temporary migration'",
        "change of the hazard per year already away",
        role="behaviour",
    ),
    Param(
        "return_children_mult",
        2.297,
        "ratio",
        0.5,
        10.0,
        "seed 1.3/1.5: 23 million children left behind",
        "hazard ratio of a parent-age migrant whose children were left at home",
        role="behaviour",
    ),
    Param(
        "return_children_school_ratio",
        1.0,
        "ratio",
        0.05,
        1.5,
        "Demurger & Xu 2015 (IZA Journal of Migration 4:10, Wuwei county, Anhui, 2008): "
        "migrant parents of children in primary school delay their return (savings for "
        "schooling); estimate, range 0.3-1; 1 switches the rule off",
        "ratio of return_children_mult once the mother has no child under school age (6)",
        role="behaviour",
    ),
    Param(
        "return_school_log",
        -0.15,
        "log points per schooling level",
        -2.0,
        2.0,
        "seed 1.3: returnees less educated (Zhao 2001)",
        "change of the hazard per schooling level",
        role="behaviour",
    ),
    Param(
        "return_near_mult",
        1.47221,
        "ratio",
        0.2,
        5.0,
        "seed 1.3 ('the short-term or seasonal nature of intra-provincial migration'); "
        "estimate, range 1-3; 1 switches the rule off",
        "hazard ratio of a migrant in the home province (a move that did not cross a "
        "provincial border)",
        role="behaviour",
    ),
    Param(
        "return_spouse_log",
        0.0,
        "log multiplier",
        0.0,
        3.0,
        "family demand is a main reason for return (Wang & Fan 2006, Environment and Planning "
        "A 38: Sichuan and Anhui returnees); couples' joint decisions (Mincer 1978); 0 (off) "
        "until calibrated, with couple_apart_cost",
        "log hazard ratio of a married migrant whose spouse is at home (and its negative for one "
        "living with the spouse in the destination)",
        role="behaviour",
    ),
    Param(
        "return_wedding_female",
        0.0,
        "probability",
        0.0,
        0.95,
        "young migrant women go home to marry and most brides stay in the husband's village "
        "(Murphy 2002, How Migrant Labor is Changing Rural China, Cambridge UP, ch. 2; Fan "
        "2004, in Gaetano & Jacka (eds.), On the Move, Columbia UP); weddings are held in the "
        "village at the Spring Festival; estimate, range 0.3-0.9; 0 switches the rule off",
        "chance that a woman away as a migrant who marries in January returns home for good "
        "then (a family event, issue 12)",
        role="behaviour",
    ),
    Param(
        "return_wedding_male",
        0.0,
        "probability",
        0.0,
        0.95,
        "weddings at home (as return_wedding_female); grooms go out again more often than "
        "brides (the same studies); estimate, range 0-0.5; 0 switches the rule off",
        "chance that a man away as a migrant who marries in January returns home for good then",
        role="behaviour",
    ),
    Param(
        "return_birth_female",
        0.0,
        "probability",
        0.0,
        0.95,
        "family demand is a main reason for return (Wang & Fan 2006, Environment and Planning "
        "A 38: Sichuan and Anhui returnees); migrant women go home to marry and to bear and "
        "raise their first children (Murphy 2002, How Migrant Labor is Changing Rural China, "
        "Cambridge UP, ch. 2); estimate, range 0.3-0.9; 0 switches the rule off",
        "chance that a woman away as a migrant who has a child this January returns home for "
        "good then (a family event, issue 12)",
        role="behaviour",
    ),
    Param(
        "return_festival_share",
        0.4,
        "share",
        0.0,
        1.0,
        "Spring Festival homecoming",
        "share of the year's returns decided in January",
        role="behaviour",
    ),
)


@njit(cache=True, parallel=True)
def draw_returns(
    key,
    hh_start,
    p,
    hs,
    parent_lo,
    parent_hi,
    families,
    rate_month,
    female_mult,
    unemp_mult,
    age_log,
    dur_log,
    kids_mult,
    school_log,
    insured_mult,
    elder_need,
    elder_log,
    near_mult,
    spouse_log,
    school_ratio,
    year,
    wed,
    wed_h,
    returned,
):
    """Send home the migrants who return this month and mark them in ``returned`` (0/1).

    Returns the months away of the spells that end, summed for men and for women (integer
    sums: the same with any number of threads). Two passes: the hazards read the
    start-of-month state (a spouse's or a household member's place, whoever else returns this
    month), then the returners are sent home; so the result is the same with any number of
    threads."""
    age = p.age
    sex = p.sex
    school = p.school
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    months_away = p.months_away
    job = p.job
    kids_with = hs.kids_with
    dist = p.dist
    n = age.shape[0]
    for i in prange(n):
        returned[i] = 0
        if loc[i] == HOME or hukou[i] != RURAL:
            continue
        h = rate_month * np.exp(
            age_log * (age[i] - 30) / 10.0
            + dur_log * months_away[i] / 12.0
            + school_log * school[i]
        )
        if sex[i] == 1:
            h *= female_mult
        if sector[i] == NO_SECTOR and (job[i] & JOB_SELF) == 0:  # own-account work is not idleness
            h *= unemp_mult
        h_i = household(p, i)
        if kids_with[h_i] != i - hh_start[h_i] and is_parent(
            i, h_i, hh_start, p, hs, parent_lo, parent_hi, families
        ):
            km = kids_mult  # a parent whose children were left behind
            if school_ratio != 1.0 and families:
                mo = np.int64(i) if sex[i] == FEMALE else np.int64(p.spouse[i])
                if mo >= 0 and not has_young_child(mo, hh_start, p, hs, year):
                    km *= school_ratio  # saving for the children's schooling
            h *= km
        if (job[i] & JOB_INSURED) != 0:
            h *= insured_mult
        if (elder_log != 0.0 and elder_need[h_i] > 0
                and not carer_at_home(h_i, -1, hh_start, loc, hukou, age)):
            h *= np.exp(elder_log)  # an elder in need and nobody of working age at home
        if near_mult != 1.0 and 0 <= dist[i] < ACROSS_PROVINCE:
            h *= near_mult  # short and seasonal moves inside the home province
        if spouse_log != 0.0 and families and p.spouse[i] >= 0:
            s = loc[p.spouse[i]]
            if s == HOME and hukou[p.spouse[i]] == RURAL:
                h *= np.exp(spouse_log)  # going home reunites the couple
            elif s == loc[i]:
                h *= np.exp(-spouse_log)  # going home alone parts it
        if wed.shape[0] > 0 and wed[i] != 0:
            if (wed[i] & WED_MARRIED) != 0:
                h += wed_h[sex[i]]  # married this January: the wedding is at home
            if (wed[i] & WED_BIRTH) != 0:
                h += wed_h[2]  # a child born this January: the mother goes home
        if uniform(key, i, 0) < 1.0 - np.exp(-h):
            returned[i] = 1
    months_male = 0
    months_female = 0
    for i in prange(n):
        if returned[i] != 0:
            if sex[i] == 0:
                months_male += np.int64(months_away[i])
            else:
                months_female += np.int64(months_away[i])
            send_home(i, p)
    return months_male, months_female


NO_WEDDINGS = (np.zeros(0, np.int8), np.zeros(3))  # ``wed``, hazards of draw_returns: rule off


def wedding_hazards(sim: Any, pars: Any) -> tuple[np.ndarray, np.ndarray]:
    """(``wed``, hazards) of the January family-event returns: the life course's flags
    (``WED_MARRIED``: married this January; ``WED_BIRTH``: a mother of a child born this
    January) and -log(1 - chance) for a man's wedding, a woman's wedding and a birth; an empty
    array outside January or with every chance 0 (the rules off: no draw moves)."""
    q = np.array([float(getattr(pars, "return_wedding_male", 0.0)),
                  float(getattr(pars, "return_wedding_female", 0.0)),
                  float(getattr(pars, "return_birth_female", 0.0))])
    if sim.month != 1 or not q.any() or not families(pars):
        return NO_WEDDINGS
    return sim.buf.wed, -np.log1p(-q)


class Returns(Mechanism):
    """Migrants draw the monthly return hazard; returners, and children with them, go home."""

    name = "returns"
    doc = "migrants draw the return hazard; returners (and children with them) go home"
    params = PARAMS
    buffers = (
        StateField("returned", "int8", "1 = went home this month (they do not decide again)"),
    )
    results = (
        Indicator("spell_months_male", "months", "months away of men's completed spells"),
        Indicator("spells_male", "agents", "men's completed spells"),
        Indicator("spell_months_female", "months", "months away of women's completed spells"),
        Indicator("spells_female", "agents", "women's completed spells"),
        Indicator("returnee_school_sum", "levels", "schooling levels of the returners, summed"),
    )
    streams = ("returns",)

    def step(self, sim: Any) -> None:
        p, hh, pars, yq, buf = sim.persons, sim.households, sim.pars, sim.yq, sim.buf
        months_male, months_female = draw_returns(
            sim.key("returns"),
            sim.places.hh_start,
            p.core,
            hh.core,
            pars.parent_age_min,
            pars.parent_age_max,
            families(pars),
            pars.return_rate_year * yq.return_weights[sim.month - 1],
            pars.return_female_mult,
            pars.return_unemployed_mult,
            pars.return_age_log_per_decade,
            pars.return_duration_log_per_year,
            pars.return_children_mult,
            pars.return_school_log,
            yq.insured_return_mult,
            elder_need(sim),
            float(getattr(pars, "return_elder_care_log", 0.0)),
            pars.return_near_mult,
            float(getattr(pars, "return_spouse_log", 0.0)),
            float(getattr(pars, "return_children_school_ratio", 1.0)),
            sim.year,
            *wedding_hazards(sim, pars),
            buf.returned,
        )
        idx = flat_nonzero(buf.returned)
        sim.n_returned = idx.size
        male = p.sex[idx] == 0
        sc, t = sim.rec.scalars, sim.t
        sc["spell_months_male"][t] = months_male
        sc["spells_male"][t] = np.count_nonzero(male)
        sc["spell_months_female"][t] = months_female
        sc["spells_female"][t] = idx.size - sc["spells_male"][t]
        sc["returnee_school_sum"][t] = p.school[idx].sum()
        sim.mech["household"].release_children(sim, idx, settled=False)
        sim.sent_home(idx)
