"""Tests of sim.population: the synthetic rural working-age population.

The population is the denominator of every indicator, so it must have exactly the requested
number of agents, represent the national rural working-age total exactly, follow the provincial
census distribution, and be laid out as the kernels assume (persons sorted by county, households
and villages as contiguous index ranges).
"""

import numpy as np
import pytest

from sim.core.geography import load_geography
from sim.core.state import HOME, RURAL
from sim.engine.registry import Params
from sim.mechanisms.population import (
    _allocate,
    build_places_from_counts,
    build_population,
    draw_school,
)

AGENTS = 50_000
SEED = 11
START = 1985


def _by_age(geo, year):
    """The birth-cohort age structure the engine passes (default parameters)."""
    from sim.mechanisms.demography import Projection

    return Projection(geo, Params()).by_age(year)


@pytest.fixture(scope="module")
def geo():
    return load_geography()


@pytest.fixture(scope="module")
def built(geo):
    return build_population(
        geo, AGENTS, SEED, Params().at(START), START, by_age=_by_age(geo, START)
    )


@pytest.fixture(scope="module")
def persons(built):
    return built[0]


def test_agent_count_exact(built, geo):
    """Exactly the requested number of persons, for several sizes including odd ones; every array
    has that length and the state starts with everyone at home with rural hukou."""
    persons, households, places, _ = built
    assert persons.n == AGENTS
    for name in (
        "age",
        "sex",
        "school",
        "trained",
        "hh",
        "county",
        "loc",
        "hukou",
        "dist",
        "employed",
        "months_away",
    ):
        assert getattr(persons, name).shape == (AGENTS,), name
    assert places.village.shape == (AGENTS,)
    assert np.all(persons.loc == HOME) and np.all(persons.hukou == RURAL)
    assert np.all(persons.dist == -1) and np.all(persons.employed == 0)
    for n in (1000, 5001, 12_345):
        p, _, _, _ = build_population(
            geo, n, 3, Params().at(START), START, by_age=_by_age(geo, START)
        )
        assert p.n == n
    with pytest.raises(ValueError, match="at least 1000"):
        build_population(geo, 999, 3, Params().at(START), START, by_age=_by_age(geo, START))


def test_scale_times_agents_is_national_total(built, geo):
    """One agent stands for ``scale`` persons: scale * agents is the rural working-age
    population of the start year projected from the birth cohorts (floating-point precision)."""
    from sim.mechanisms.demography import Projection

    scale = built[3]
    total = Projection(geo, Params()).population(START)
    assert scale * AGENTS == pytest.approx(total, rel=1e-12)


def test_age_structure_follows_cohorts(persons, geo):
    """Single-year age shares match the cohort projection of the start year within four
    binomial standard errors (50,000 draws), e.g. the small famine cohort born 1960-61."""
    from sim.mechanisms.demography import Projection

    by_age = Projection(geo, Params()).by_age(START)
    share = by_age / by_age.sum()
    got = np.bincount(persons.age.astype(np.int64) - 15, minlength=50)[:50] / AGENTS
    se = np.sqrt(share * (1 - share) / AGENTS)
    assert np.all(np.abs(got - share) < 4 * se + 1e-12)


def test_vacant_slots_sit_with_their_household(geo):
    """With room for growth, the extra slots are vacant (age 0, hukou VACANT), inside household
    ranges after the occupied members; occupied persons and their draws are unchanged."""
    from sim.core.state import VACANT

    base = build_population(geo, 5000, 3, Params().at(START), START, by_age=_by_age(geo, START))[0]
    p, hh, places, _ = build_population(
        geo, 5000, 3, Params().at(START), START, by_age=_by_age(geo, START), capacity=6000
    )
    assert p.n == 6000 and np.sum(p.hukou == VACANT) == 1000
    assert np.all(p.age[p.hukou == VACANT] == 0) and np.all(p.loc == HOME)
    occ = p.hukou != VACANT
    np.testing.assert_array_equal(p.age[occ], base.age)
    np.testing.assert_array_equal(p.school[occ], base.school)
    assert np.all(np.diff(p.hh) >= 0) and places.hh_start[-1] == 6000
    for h in range(0, hh.n, 97):  # occupied members come first in each household
        v = p.hukou[places.hh_start[h] : places.hh_start[h + 1]] == VACANT
        assert np.all(np.diff(v.astype(int)) >= 0)
    # households with more children get more of the room (future members)
    extra = np.bincount(p.hh[~occ], minlength=hh.n)
    assert extra[hh.n_children >= 3].mean() > extra[hh.n_children == 0].mean()
    with pytest.raises(ValueError, match="capacity"):
        build_population(
            geo, 5000, 3, Params().at(START), START, by_age=_by_age(geo, START), capacity=4999
        )


def test_province_shares_match_data(persons, built, geo):
    """Agents per province equal the census share times the agent count up to rounding: the
    difference is below one agent (largest-remainder allocation)."""
    places = built[2]
    prov = places.county_prov[persons.county]
    counts = np.bincount(prov, minlength=geo.n_prov)
    expected = geo.rural_pop_working_age / geo.rural_pop_working_age.sum() * AGENTS
    assert np.all(np.abs(counts - expected) < 1.0)
    shares = counts / AGENTS
    np.testing.assert_allclose(shares, expected / AGENTS, atol=1.0 / AGENTS)
    # each province's persons live only in that province's counties
    assert np.array_equal(np.diff(places.prov_start), counts)


def test_allocate_exact():
    """_allocate distributes exactly ``total`` with each part within one of its quota."""
    w = np.array([0.1, 0.333, 0.2, 0.367, 1e-6])
    for total in (0, 1, 7, 1000, 99_999):
        n = _allocate(total, w)
        assert n.sum() == total
        assert np.all(np.abs(n - w / w.sum() * total) < 1.0)


def test_ages_15_to_64(persons):
    """Ages are integers 15..64 and every single year of age occurs at 50k agents."""
    assert persons.age.min() == 15 and persons.age.max() == 64
    assert np.unique(persons.age).size == 50


def test_share_male(persons):
    """About 51% male (2000 census); at 50k agents the sd of the share is 0.0022, tolerance 0.01."""
    share_male = np.mean(persons.sex == 0)
    assert abs(share_male - 0.51) < 0.01
    assert set(np.unique(persons.sex).tolist()) <= {0, 1}


def test_sorted_by_county_households_contiguous(persons, built):
    """Persons are sorted by county; household ids are non-decreasing (each household one
    contiguous range), every household lives in one county, and county_start indexes the
    county ranges."""
    _, households, places, _ = built
    assert np.all(np.diff(persons.county) >= 0)
    assert np.all(np.diff(persons.hh) >= 0)
    assert persons.hh.min() == 0 and persons.hh.max() == households.n - 1
    # no empty household ids: 0..n_hh-1 all used, so each id is one contiguous block
    assert np.all(np.diff(persons.hh) <= 1)
    np.testing.assert_array_equal(households.county[persons.hh], persons.county)
    # hh_start indexes the household ranges (used by the network and household kernels)
    hs = places.hh_start
    assert hs.shape == (households.n + 1,) and hs[0] == 0 and hs[-1] == AGENTS
    np.testing.assert_array_equal(np.diff(hs), np.bincount(persons.hh))
    cs = places.county_start
    assert cs[0] == 0 and cs[-1] == AGENTS and np.all(np.diff(cs) >= 0)
    for c in np.unique(persons.county)[::50]:
        assert np.all(persons.county[cs[c] : cs[c + 1]] == c)


def test_villages_contiguous_inside_counties(persons, built):
    """Villages are contiguous index ranges (village_start), each wholly inside one county, with
    about ``village_size_agents`` persons or fewer."""
    places = built[2]
    v = places.village
    assert np.all(np.diff(v) >= 0) and np.all(np.diff(v) <= 1) and v[0] == 0
    vs = places.village_start
    assert vs[0] == 0 and vs[-1] == AGENTS
    np.testing.assert_array_equal(np.diff(vs), np.bincount(v))
    # one county per village
    first = persons.county[vs[:-1]]
    last = persons.county[vs[1:] - 1]
    np.testing.assert_array_equal(first, last)
    size = int(Params()["village_size_agents"])
    assert np.diff(vs).max() <= 1.5 * size


def test_places_tables(built, geo):
    """County lookup tables cover every county; each province has exactly one capital-prefecture
    block and counties map to prefectures of their own province."""
    places = built[2]
    n_c = int(geo.n_counties.sum())
    assert places.county_prov.shape == (n_c,) and places.county_start.shape == (n_c + 1,)
    assert np.array_equal(np.bincount(places.county_prov, minlength=geo.n_prov), geo.n_counties)
    assert places.county_pref.max() == geo.n_prefectures.sum() - 1
    for p in range(geo.n_prov):
        sel = places.county_prov == p
        assert places.county_capital[sel].any()
        assert np.unique(places.county_pref[sel]).size == geo.n_prefectures[p]


def test_schooling_younger_cohorts_more_schooled(persons):
    """Mean schooling level falls monotonically across ten-year age groups (later birth cohorts
    are more schooled), and all three levels occur."""
    means = [
        persons.school[(persons.age >= lo) & (persons.age < lo + 10)].mean()
        for lo in (15, 25, 35, 45, 55)
    ]
    assert all(a > b for a, b in zip(means, means[1:], strict=False)), means
    share_senior_young = np.mean(persons.school[persons.age < 25] == 2)
    share_senior_old = np.mean(persons.school[persons.age >= 55] == 2)
    assert share_senior_young > share_senior_old
    assert set(np.unique(persons.school).tolist()) == {0, 1, 2}


def test_households_land_children(built, geo):
    """Land per worker is positive and averages the provincial mean (lognormal with mean 1),
    children are non-negative; trained share near its default (0.05)."""
    persons, households, places, _ = built
    land = households.land_mu_per_worker
    assert np.all(land > 0)
    prov = places.county_prov[households.county]
    ratio = land / geo.arable_mu_per_worker[prov]
    assert abs(ratio.mean() - 1.0) < 0.03
    assert households.n_children.min() >= 0
    assert abs(persons.trained.mean() - Params()["trained_share_initial"]) < 0.006


def test_same_seed_same_population(built, geo):
    """The population is a pure function of (agents, seed): rebuilt identically, another seed
    differs."""
    again = build_population(
        geo, AGENTS, SEED, Params().at(START), START, by_age=_by_age(geo, START)
    )[0]
    other = build_population(
        geo, AGENTS, SEED + 1, Params().at(START), START, by_age=_by_age(geo, START)
    )[0]
    p = built[0]
    for name in ("age", "sex", "school", "hh", "county"):
        np.testing.assert_array_equal(getattr(p, name), getattr(again, name))
    assert not np.array_equal(p.age, other.age)


def test_villages_from_counts_follow_the_per_person_rule(geo):
    """``build_places_from_counts`` allocates nothing per person: its village ranges equal those
    of the rule stated per person (person k of a county's c persons in village floor(k nv / c),
    nv = max(1, round(c / size)), none in an empty county), for random county sizes with empty
    counties, at several village sizes."""
    rng = np.random.default_rng(4)
    n_c = int(geo.n_counties.sum())
    counts = rng.integers(0, 400, n_c)
    counts[rng.random(n_c) < 0.1] = 0
    county = np.repeat(np.arange(n_c), counts)
    start = np.concatenate([[0], np.cumsum(counts)])
    for size in (10, 80, 333):
        places = build_places_from_counts(geo, counts, size, np.ones(county.size, np.int64))
        nv = np.maximum(1, np.round(counts / size)).astype(np.int64)
        nv[counts == 0] = 0
        k = np.arange(county.size) - start[county]
        village = (np.concatenate([[0], np.cumsum(nv)])[county]
                   + k * nv[county] // np.maximum(counts[county], 1))
        want = np.concatenate([[0], np.cumsum(np.bincount(village, minlength=nv.sum()))])
        np.testing.assert_array_equal(places.village_start, want)
        np.testing.assert_array_equal(places.village, village)
        np.testing.assert_array_equal(places.county_start, start)


def test_school_by_group_equals_per_person_shares(geo):
    """Schooling drawn from the provinces' shares (``rows``) equals the draw from a per-person
    copy of them, bit for bit."""
    rng = np.random.default_rng(5)
    n = 20_000
    prov = rng.integers(0, geo.school_shares.shape[0], n).astype(np.int8)
    u, shift = rng.random(n), rng.normal(0.0, 0.5, n)
    np.testing.assert_array_equal(
        draw_school(u, geo.school_shares, shift, rows=prov),
        draw_school(u, geo.school_shares[prov], shift),
    )
