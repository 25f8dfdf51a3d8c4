"""Synthetic rural working-age population: households, persons and their home places.

Persons are drawn province by province in proportion to the rural population aged 15-64 of the
2000 census (``sim/data/provinces.csv``); one agent stands for ``scale`` real persons. The age
structure of the start year comes from the birth cohorts
(``sim.mechanisms.demography.Projection``), so
that the initial population and the yearly entrants are one consistent demography. Households
are filled to the provincial rural household size; land per worker scatters around the
provincial mean; schooling follows the provincial census shares, shifted by birth cohort.
Persons are stored sorted by county and household, so that villages and counties are contiguous
index ranges (which keeps the network build and the step kernels cache-friendly). Each
household also holds vacant slots for the members who will come of age during the run, in
proportion to its children.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import expit, logit, ndtri

from sim.core.encodings import FEMALE, NO_PERSON, RURAL
from sim.core.geography import Geography
from sim.core.mechanism import Mechanism
from sim.core.params import Param
from sim.core.rng import uniform_array
from sim.core.schedules import children_expected, fertility_weights
from sim.core.state import (
    HH_BLOCK,
    HH_SHIFT,
    HOUSEHOLD_FIELDS,
    PERSON_FIELDS,
    Households,
    Persons,
    Places,
    families,
)

MAX_HH_SLOTS = 127  # slots of one household: its places are int8 (child_mother, kids_with)

PARAMS = (
    Param(
        "working_age_share_of_hh",
        0.68,
        "share",
        0.3,
        0.95,
        "2000 census: population aged 15-64 was 70.1% nationally, lower in rural areas",
        "share of a rural household's members aged 15-64",
        role="structural",
    ),
    Param(
        "child_share_of_hh",
        0.25,
        "share",
        0.0,
        0.6,
        "2000 census: aged 0-14 were 22.9% nationally, higher in rural areas",
        "share of a rural household's members aged under 15",
        role="structural",
        active_when="life_course == 0",
    ),
    Param(
        "land_dispersion_log_sd",
        0.5,
        "log points",
        0.0,
        2.0,
        "assumption; CHIP rural surveys show wide within-province dispersion of land per head",
        "standard deviation of log land per worker around the provincial mean",
        role="structural",
    ),
    Param(
        "school_cohort_shift",
        0.45,
        "logit per decade of birth",
        0.0,
        2.0,
        "assumption; each decade of birth cohort raised schooling (2000 census by age)",
        "shift of the odds of junior/senior schooling per decade of later birth",
        role="structural",
    ),
    Param(
        "trained_share_initial",
        0.05,
        "share",
        0.0,
        1.0,
        "seed 1.3: 9.1% of rural labourers had skills training in 2004; lower in 1985",
        "share of the initial population with vocational or skills training",
        role="structural",
    ),
    Param(
        "initial_migrant_stock",
        {"1985": 2.0e6, "2006": 1.35e8},
        "persons",
        0.0,
        3.0e8,
        "seed Introduction (about 2 million in the mid-1980s) and 1.2 (120-150 million in "
        "2006); a later start takes the value of its start year",
        "persons away from home for work at the start of the run",
        role="exogenous",
    ),
    Param(
        "initial_arrival_rounds",
        12,
        "rounds",
        1,
        120,
        "assumption: the initial stock arrived a month at a time over the year before the "
        "start; one round places it as if every migrant arrived at once, blind to the others",
        "rounds in which the initial stock is placed, each seeing the migrants placed before it",
        kind=int,
        role="structural",
    ),
)

CENSUS_MEAN_BIRTH_YEAR = 1963  # mean birth year of the 2000 census working-age population


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder integer allocation of ``total`` in proportion to ``weights``."""
    q = weights / weights.sum() * total
    n = np.floor(q).astype(np.int64)
    rest = total - int(n.sum())
    if rest:
        order = np.argsort(-(q - n), kind="stable")
        n[order[:rest]] += 1
    return n


def poisson_inv(u: np.ndarray, mu: float) -> np.ndarray:
    """Poisson(mu) draws by inverse CDF of uniforms ``u`` (table lookup; mu is small here)."""
    from scipy.stats import poisson

    k = np.arange(int(mu + 12 * np.sqrt(mu + 1) + 12))
    return np.searchsorted(poisson.cdf(k, mu), u, side="right").astype(np.int64)


def _draw_ages(u: np.ndarray, by_age: np.ndarray) -> np.ndarray:
    """Single-year ages from 15 by inverse CDF over ``by_age`` (persons at 15, 16, ...)."""
    cdf = np.cumsum(by_age) / by_age.sum()
    return (15 + np.minimum(np.searchsorted(cdf, u, side="right"), by_age.size - 1)).astype(
        np.int8
    )


def draw_school(
    u: np.ndarray, shares: np.ndarray, shift: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Schooling level from cumulative census shares, shifted in logit by ``shift`` (per person).

    ``shares`` is (n, 3): primary, junior, senior; or, with ``rows``, one line per group (a
    province) and ``rows`` the group of each person, which gives the same levels without a
    per-person copy of the shares. Returns int8 levels 0..2.
    """
    p_ge1 = np.clip(shares[:, 1] + shares[:, 2], 1e-6, 1 - 1e-6)
    p_ge2 = np.clip(shares[:, 2], 1e-6, 1 - 1e-6)
    out = np.zeros(u.shape, np.int8)
    for p_ge in (p_ge1, p_ge2):
        q = logit(p_ge)
        q = q[rows] if rows is not None else q
        q += shift
        expit(q, out=q)
        out += u < q
    return out


def ever_married(age: np.ndarray, female: np.ndarray, pars) -> np.ndarray:
    """Chance of having married by a given age: a normal first-marriage schedule by sex
    times the share who ever marry (``sim.mechanisms.demography.life_course`` parameters)."""
    from scipy.special import ndtr

    mean = np.where(female, pars.marriage_mean_age_female, pars.marriage_mean_age_male)
    share = np.where(female, pars.ever_married_female, pars.ever_married_male)
    return share * ndtr((age + 0.5 - mean) / pars.marriage_sd_age)


def pair_spouses(age, sex, married, u_order, lo, hi):
    """Couples of one province (persons ``lo``..``hi``): the married women and men, each
    sorted by age (ties by ``u_order``), paired by rank, so husbands are older by the gap of
    the two schedules; the surplus of the larger side (lowest keys first kept) stays single.
    Returns (wives, husbands) as person indices."""
    idx = np.arange(lo, hi)
    w = idx[married[lo:hi] & (sex[lo:hi] == FEMALE)]
    m = idx[married[lo:hi] & (sex[lo:hi] != FEMALE)]
    k = min(w.size, m.size)
    w = np.sort(w[np.argsort(u_order[w], kind="stable")[:k]])
    m = np.sort(m[np.argsort(u_order[m], kind="stable")[:k]])
    w = w[np.lexsort((u_order[w], age[w]))]
    m = m[np.lexsort((u_order[m], age[m]))]
    return w, m


@njit(cache=True)
def pack_households(sizes, wives, husbands, singles, u_round, q, perm, spouse):
    """Fill households of the given ``sizes`` (one province, in order) with couples and single
    persons: household h takes round(size x q / 2) couples (``u_round`` rounds), the rest
    singles; when one kind runs out the other fills in, and a couple that cannot fit in the
    last free place is split. Writes the person of each place into ``perm`` and the place of
    each spouse (offset in the household) into ``spouse``."""
    c = 0
    g = 0
    split = -1
    pos = 0
    for h in range(sizes.shape[0]):
        start = pos
        r = sizes[h]
        want = min(r // 2, int(r * q / 2.0 + u_round[h]))
        while r > 0:
            if want > 0 and r >= 2 and c < wives.shape[0]:
                perm[pos] = wives[c]
                perm[pos + 1] = husbands[c]
                spouse[pos] = pos + 1 - start
                spouse[pos + 1] = pos - start
                c += 1
                pos += 2
                r -= 2
                want -= 1
            elif split >= 0:
                perm[pos] = split
                split = -1
                pos += 1
                r -= 1
            elif g < singles.shape[0]:
                perm[pos] = singles[g]
                g += 1
                pos += 1
                r -= 1
            elif c >= wives.shape[0]:
                break  # cannot happen: the households hold exactly the persons
            elif r >= 2:
                want = r // 2
            else:  # one place left and only couples: the couple is split
                perm[pos] = wives[c]
                split = husbands[c]
                c += 1
                pos += 1
                r -= 1
    return pos


def assemble_families(age, sex, person_prov, hh_workers, hh_prov, seed, pars):
    """Married couples placed together in households (issue 12): who is married follows
    :func:`ever_married`; spouses are paired within the province by rank of age; couples and
    the others fill the households of each province in order. Returns the permutation of
    persons (place -> drawn person) and the place of each spouse in the household (offset from
    its first member; ``NO_PERSON`` for singles)."""
    n = age.size
    married = uniform_array(seed, "pop.married", 0, n) < ever_married(
        age.astype(np.float64), sex == FEMALE, pars
    )
    u_order = uniform_array(seed, "pop.married", 1, n)
    perm = np.arange(n, dtype=np.int64)
    spouse = np.full(n, NO_PERSON, np.int8)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(person_prov, minlength=hh_prov.max() + 1))])
    hh_bounds = np.concatenate([[0], np.cumsum(np.bincount(hh_prov, minlength=bounds.size - 1))])
    for p in range(bounds.size - 1):
        lo, hi = int(bounds[p]), int(bounds[p + 1])
        if hi == lo:
            continue
        wives, husbands = pair_spouses(age, sex, married, u_order, lo, hi)
        in_couple = np.zeros(hi - lo, bool)
        in_couple[wives - lo] = True
        in_couple[husbands - lo] = True
        singles = np.arange(lo, hi)[~in_couple]
        singles = singles[np.argsort(u_order[singles], kind="stable")]
        cut = np.argsort(uniform_array(seed, "pop.married", 2 + p, wives.size), kind="stable")
        wives, husbands = wives[cut], husbands[cut]
        sizes = hh_workers[hh_bounds[p] : hh_bounds[p + 1]].astype(np.int64)
        room = float(sizes[sizes >= 2].sum())
        q = min(1.0, 2.0 * wives.size / room) if room > 0 else 0.0
        u_round = uniform_array(seed, "pop.married", 100 + p, sizes.size)
        out_p = np.empty(hi - lo, np.int64)
        out_s = np.full(hi - lo, NO_PERSON, np.int8)
        pack_households(sizes, wives, husbands, singles, u_round, q, out_p, out_s)
        perm[lo:hi] = out_p
        spouse[lo:hi] = out_s
    return perm, spouse


def build_population(
    geo: Geography,
    n_agents: int,
    seed: int,
    pars,
    start_year: int,
    *,
    by_age: np.ndarray,
    capacity: int | None = None,
    run_years: int = 15,
) -> tuple[Persons, Households, Places, float]:
    """Draw the population; returns persons, households, place tables and the agent scale.

    ``pars`` is a resolved parameter namespace (``Params.at(start_year)``); ``by_age`` the real
    persons aged 15, 16, ... in the start year (the engine passes the birth-cohort projection,
    ``Projection.by_age``); ``capacity`` the number of person slots, at least ``n_agents``: the
    others are vacant slots (``hukou == VACANT``) for later entrants; ``run_years`` the length
    of the run (which children will come of age in it).
    """
    if n_agents < 1000:
        raise ValueError(f"agents must be at least 1000, got {n_agents}")
    capacity = n_agents if capacity is None else int(capacity)
    if capacity < n_agents:
        raise ValueError(f"capacity {capacity} is below the number of agents {n_agents}")
    real_total = float(by_age.sum())
    scale = real_total / n_agents
    hh_county, hh_workers, hh_prov = _draw_households(geo, n_agents, seed, pars)
    n_hh = hh_county.size
    households, kids = _household_land_and_children(geo, hh_county, hh_workers, hh_prov, seed,
                                                    pars)
    person_prov = np.repeat(hh_prov, hh_workers)
    assert person_prov.size == n_agents
    age, sex, school, trained = _draw_persons(geo, person_prov, seed, pars, start_year, by_age)
    family = families(pars)
    spouse = np.full(n_agents, NO_PERSON, np.int8)
    if family:  # couples live together; the drawn persons are reordered within provinces
        perm, spouse = assemble_families(age, sex, person_prov, hh_workers, hh_prov, seed, pars)
        age, sex, school, trained = age[perm], sex[perm], school[perm], trained[perm]
        del perm
    del person_prov
    # vacant slots for future entrants, in proportion to the children of each household who
    # will come of age during the run: with the life course, those its wives bore in the 14
    # years before the start or will bear in time to enter (``sim.core.schedules``) and the
    # brides of its single young men; otherwise the drawn children
    if family:
        slot_weight = _slot_weights(age, sex, spouse, hh_workers, n_hh, pars, run_years)
    else:
        slot_weight = kids + 0.5
    del kids
    hh_slots = hh_workers + _allocate(capacity - n_agents, slot_weight)
    if hh_slots.max(initial=0) > MAX_HH_SLOTS:  # a place in the household is an int8
        raise ValueError(f"a household of {int(hh_slots.max())} slots: at most {MAX_HH_SLOTS} "
                         "(places in a household are int8: child_mother, kids_with)")
    persons = Persons.allocate(capacity, PERSON_FIELDS)  # vacant slots at the fill values
    _lay_out(hh_slots, hh_workers, age, sex, school, trained.view(np.int8), spouse,
             persons.age, persons.sex, persons.school, persons.trained.view(np.int8),
             persons.spouse, persons.hukou, persons.hh_base, persons.hh_off, RURAL)
    persons.link(households)
    persons.year0 = int(start_year) - 1  # the initial stock first left the year before
    del age, sex, school, trained, spouse
    places = build_places_from_counts(
        geo, np.bincount(hh_county, hh_slots, minlength=int(geo.n_counties.sum())).astype(
            np.int64), int(pars.village_size_agents), hh_slots)
    return persons, households, places, scale


def _draw_households(geo: Geography, n_agents: int, seed: int, pars):
    """(county int32, working members int64, province int8) of each household, sorted by
    county, province by province in proportion to the rural population aged 15-64."""
    n_prov = len(geo.prov_name)
    per_prov = _allocate(n_agents, geo.rural_pop_working_age)
    hh_prov, hh_county, hh_workers = [], [], []
    county_offset = np.concatenate([[0], np.cumsum(geo.n_counties)]).astype(np.int64)
    for p in range(n_prov):
        mean_workers = max(1.0, geo.rural_hh_size[p] * pars.working_age_share_of_hh)
        n_guess = int(per_prov[p] / mean_workers * 1.3) + 8
        u = uniform_array(seed, "pop.hh_size", p, n_guess)
        # 1 + Poisson(mean - 1) by inverse CDF (rural households all have at least one worker)
        sizes = 1 + poisson_inv(u, mean_workers - 1.0)
        cum = np.cumsum(sizes)
        k = int(np.searchsorted(cum, per_prov[p]))
        sizes = sizes[: k + 1].copy()
        sizes[-1] -= int(cum[k] - per_prov[p])
        sizes = sizes[sizes > 0]
        uc = uniform_array(seed, "pop.county", p, sizes.size)
        c = county_offset[p] + np.minimum(
            (uc * geo.n_counties[p]).astype(np.int64), geo.n_counties[p] - 1
        )
        hh_prov.append(np.full(sizes.size, p, np.int8))
        hh_county.append(c.astype(np.int32))
        hh_workers.append(sizes)
    hh_county = np.concatenate(hh_county)
    order = np.argsort(hh_county, kind="stable")  # contiguous counties
    return hh_county[order], np.concatenate(hh_workers)[order], np.concatenate(hh_prov)[order]


def _household_land_and_children(geo, hh_county, hh_workers, hh_prov, seed, pars):
    """The households' table (county, land) and the children drawn for each household."""
    n_hh = hh_county.size
    n_prov = len(geo.prov_name)
    z = ndtri(np.clip(uniform_array(seed, "pop.land", 0, n_hh), 1e-12, 1 - 1e-12))
    sd = pars.land_dispersion_log_sd
    land = geo.arable_mu_per_worker[hh_prov] * np.exp(sd * z - 0.5 * sd * sd)
    u_kids = uniform_array(seed, "pop.children", 0, n_hh)
    kids = np.zeros(n_hh, np.int64)
    for p in range(n_prov):
        sel = hh_prov == p
        kids[sel] = poisson_inv(u_kids[sel], float(geo.rural_hh_size[p] * pars.child_share_of_hh))
    households = Households.allocate(n_hh, HOUSEHOLD_FIELDS)
    households.county[:] = hh_county
    households.land_mu_per_worker[:] = land
    households.land_mu[:] = land.astype(np.float32) * hh_workers.astype(np.float32)
    households.n_children[:] = np.minimum(kids, 12)
    return households, kids


def _draw_persons(geo, person_prov, seed, pars, start_year, by_age):
    """Age (int8), sex (int8), schooling (int8) and training (bool) of the drawn persons."""
    n = person_prov.size
    age = _draw_ages(uniform_array(seed, "pop.age", 0, n), by_age)
    sex = (uniform_array(seed, "pop.sex", 0, n) < 0.49).astype(np.int8)  # 2000 census: 51% male
    shift = pars.school_cohort_shift * ((start_year - age.astype(np.int64))
                                        - CENSUS_MEAN_BIRTH_YEAR) / 10.0
    school = draw_school(uniform_array(seed, "pop.school", 0, n), geo.school_shares, shift,
                         rows=person_prov)
    del shift
    trained = uniform_array(seed, "pop.trained", 0, n) < pars.trained_share_initial
    return age, sex, school, trained


def _slot_weights(age, sex, spouse, hh_workers, n_hh, pars, run_years):
    """Weights of the households' vacant slots with the life course (see build_population)."""
    person_hh = np.repeat(np.arange(n_hh, dtype=np.int32), hh_workers)
    w = fertility_weights(pars.birth_mean_age, pars.birth_sd_age)
    per_woman = children_expected(age, w, -14, max(int(run_years) - 16, -14))
    expect = np.bincount(person_hh, per_woman * (spouse != NO_PERSON) * (sex == FEMALE), n_hh)
    del per_woman
    # and a place for the bride of each single man who will marry during the run
    single_men = (spouse == NO_PERSON) & (sex != FEMALE) & (age < 35)
    expect += np.bincount(person_hh, single_men * pars.ever_married_male, n_hh)
    return expect / max(expect.mean(), 1e-12) + 0.1


@njit(cache=True)
def _lay_out(hh_slots, hh_workers, age, sex, school, trained, spouse, p_age, p_sex,
             p_school, p_trained, p_spouse, p_hukou, p_hh_base, p_hh_off, rural):
    """Place the drawn persons in the first slots of their households (the rest stay vacant,
    at the fill values): fields, rural hukou, spouses (offsets in the household to slot
    indices), and every slot's household (``sim.core.state.household``; its county is the
    household's)."""
    slot = 0
    r = 0
    for h in range(hh_slots.shape[0]):
        first = slot
        for k in range(hh_slots[h]):
            if (slot & (HH_BLOCK - 1)) == 0:
                p_hh_base[slot >> HH_SHIFT] = h
            p_hh_off[slot] = h - p_hh_base[slot >> HH_SHIFT]
            if k < hh_workers[h]:
                p_age[slot] = age[r]
                p_sex[slot] = sex[r]
                p_school[slot] = school[r]
                p_trained[slot] = trained[r]
                p_hukou[slot] = rural
                if spouse[r] >= 0:
                    p_spouse[slot] = first + spouse[r]
                r += 1
            slot += 1


def initial_stock_draw(seed: int, age: np.ndarray, hukou: np.ndarray, n_init: int) -> np.ndarray:
    """The persons of the initial stock, in the order they are placed: those under 40 of rural
    hukou with the smallest draws of the stream ``init.select`` (then the others, in person
    order). The core and the reference model both draw it, so docked runs start from the same
    initial migrants (their destinations are each model's own draws)."""
    if n_init == 0:
        return np.zeros(0, np.int64)
    u = uniform_array(seed, "init.select", 0, age.shape[0])
    u[(age >= 40) | (hukou != RURAL)] = 2.0
    return np.argsort(u, kind="stable")[:n_init].copy()


def build_places_from_counts(
    geo: Geography, counts: np.ndarray, village_size: int, hh_counts: np.ndarray
) -> Places:
    """County lookup tables and contiguous village ranges from the persons of each county
    (``counts``) and of each household (``hh_counts``), persons sorted by county and household:
    nothing per person is allocated. Each county's ``c`` persons form
    ``nv = max(1, round(c / village_size))`` villages, person ``k`` of the county in village
    ``floor(k nv / c)``, so village ``v`` starts at ``ceil(v c / nv)``."""
    n_prov = len(geo.prov_name)
    county_prov = np.repeat(np.arange(n_prov, dtype=np.int8), geo.n_counties)
    local = np.concatenate([np.arange(c) for c in geo.n_counties])
    nc_of = geo.n_counties[county_prov]
    npref_of = geo.n_prefectures[county_prov]
    pref_local = (local * npref_of) // nc_of
    pref_offset = np.concatenate([[0], np.cumsum(geo.n_prefectures)])[county_prov]
    county_pref = (pref_offset + pref_local).astype(np.int32)
    county_capital = (pref_local == 0).astype(np.int8)
    counts = np.asarray(counts, np.int64)
    county_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    prov_counts = np.bincount(county_prov, counts, minlength=n_prov).astype(np.int64)
    prov_start = np.concatenate([[0], np.cumsum(prov_counts)]).astype(np.int64)
    # villages: consecutive chunks of about village_size persons inside each county
    vs = int(village_size)
    n_vill_c = np.maximum(1, np.round(counts / vs)).astype(np.int64)
    n_vill_c[counts == 0] = 0
    county_of_v = np.repeat(np.arange(counts.size), n_vill_c)
    v_local = np.arange(county_of_v.size) - np.repeat(np.cumsum(n_vill_c) - n_vill_c, n_vill_c)
    c_v, nv_v = counts[county_of_v], n_vill_c[county_of_v]
    village_start = np.concatenate(
        [county_start[county_of_v] + (v_local * c_v + nv_v - 1) // nv_v, [county_start[-1]]]
    ).astype(np.int64)
    hh_start = np.concatenate([[0], np.cumsum(np.asarray(hh_counts, np.int64))])
    hh_start = hh_start.astype(np.int32 if hh_start[-1] <= np.iinfo(np.int32).max else np.int64)
    return Places(
        county_prov=county_prov,
        county_pref=county_pref,
        county_capital=county_capital,
        county_start=county_start,
        hh_start=hh_start,
        prov_start=prov_start,
        village_start=village_start,
    )


class Population(Mechanism):
    """The synthetic rural working-age population (built once by the engine before any step)."""

    name = "population"
    doc = "persons, households and villages drawn from the 2000 census and the birth cohorts"
    params = PARAMS
    streams = (
        "pop.hh_size",
        "pop.county",
        "pop.land",
        "pop.children",
        "pop.age",
        "pop.sex",
        "pop.school",
        "pop.trained",
        "pop.married",
    )
