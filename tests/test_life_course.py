"""The household life course (``sim/mechanisms/demography/life_course.py``, issue 12 part 1).

Runs are small (5,000-20,000 agents, a few years from 1985 or 1995) with fixed seeds; counts
that are binomial are checked within 4 standard errors, shares with the tolerance stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays

from sim import Simulation
from sim.core.encodings import FEMALE, HOME, MALE, NO_MOTHER, NO_PERSON, NO_YEAR, RURAL, VACANT
from sim.core.state import (
    CHILD_BEHIND,
    CHILD_CITY,
    CHILD_HOME,
    CHILD_ONE_AWAY,
    HH_SHIFT,
    HOUSEHOLD_FIELDS,
    PERSON_FIELDS,
    HouseholdArrays,
    Persons,
    Table,
    child_place,
)
from sim.engine.registry import Params
from sim.experiments.invariants import run_checked
from sim.mechanisms.demography.life_course import (
    ENTRY_AGE,
    cohort_count,
    marriage_hazard,
)
from sim.mechanisms.population import ever_married


@pytest.fixture(scope="module")
def built():
    return Simulation(agents=20_000, seed=3, start_year=1995, years=12)


@pytest.fixture(scope="module")
def ran():
    sim = Simulation(agents=8_000, seed=4, start_year=1995, years=6)
    sim.run()
    return sim


def _couples(sim):
    p = sim.persons
    i = np.flatnonzero(p.spouse != NO_PERSON)
    return i, p.spouse[i].astype(np.int64)


def test_couples_live_together_at_the_start(built):
    p = built.persons
    i, j = _couples(built)
    assert i.size > 0.3 * np.count_nonzero(p.hukou != VACANT)
    assert np.array_equal(p.spouse[j], i)
    assert np.all(p.hh[i] == p.hh[j])
    assert np.all(p.sex[i] != p.sex[j])
    wives = i[p.sex[i] == FEMALE]
    gap = (p.age[p.spouse[wives]].astype(float) - p.age[wives]).mean()
    pars = built.params.at(1995)
    assert gap == pytest.approx(pars.marriage_mean_age_male - pars.marriage_mean_age_female,
                                abs=1.0)


def test_married_share_by_age_follows_the_schedule(built):
    """The married share of women by age follows the first-marriage schedule; of men it is
    at most the schedule's (the surplus men stay single)."""
    p, pars = built.persons, built.params.at(1995)
    occ = p.hukou != VACANT
    for sex, tol in ((FEMALE, 0.06),):
        for a in (20, 23, 26, 35):
            sel = occ & (p.sex == sex) & (p.age == a)
            share = np.mean(p.spouse[sel] != NO_PERSON)
            expect = float(ever_married(np.array([a]), np.array([sex == FEMALE]), pars)[0])
            # pairing can leave a few married women single (men short in a province)
            assert share == pytest.approx(expect, abs=tol + 4 * math.sqrt(0.25 / sel.sum()))
    men = occ & (p.sex == MALE) & (p.age >= 40)
    assert np.mean(p.spouse[men] != NO_PERSON) <= pars.ever_married_male + 0.03


def test_initial_children_sit_with_married_women_of_child_bearing_age(built):
    p, hs, hh_start = built.persons, built.households, built.places.hh_start
    h, j = np.nonzero(hs.child_by != NO_YEAR)
    assert np.array_equal(np.bincount(h, minlength=hs.n), hs.n_children.astype(np.int64))
    assert np.all(hs.child_mother[h, j] != NO_MOTHER)
    m = hh_start[h] + hs.child_mother[h, j]
    assert np.all(p.sex[m] == FEMALE) and np.all(p.spouse[m] != NO_PERSON)
    age_at_birth = p.age[m].astype(int) - (1995 - hs.child_by[h, j].astype(int))
    assert age_at_birth.min() >= 15 and age_at_birth.max() <= 49
    # one cohort per birth year 1981-1995, each of the size the birth table gives
    for b in (1981, 1990, 1995):
        n = cohort_count(built.projection, b + ENTRY_AGE, built.scale, built.seed)
        assert np.count_nonzero(hs.child_by == b) == n


def test_cohort_count_is_the_birth_table_rounded_without_bias(built):
    """The births a cohort places are its real births over the scale (``Projection.born``, the
    birth table's rural share), rounded down or up by the seed's draw: never further than one
    from the table, and over many seeds the mean is the unrounded number (0.1 is four
    standard errors of the mean of 400 draws at the most, 0.5 / 400 ** 0.5 each)."""
    proj, scale = built.projection, built.scale
    for year in (1996, 2000, 2010):
        x = proj.born(year) / scale
        assert x > 10
        counts = np.array([cohort_count(proj, year, scale, seed) for seed in range(400)])
        assert set(np.unique(counts)) <= {math.floor(x), math.ceil(x)}
        assert abs(counts.mean() - x) < 0.1, (year, counts.mean(), x)


def test_births_entrants_and_marriages_of_a_run(ran):
    sim = ran
    sc = {k: np.asarray(v) for k, v in sim.rec.scalars.items()}
    jan = np.arange(12, sim.t, 12)
    for t in jan:
        year = sim.start_year + t // 12
        n = cohort_count(sim.projection, year + ENTRY_AGE, sim.scale, sim.seed)
        assert sc["births"][t] + sc["births_unplaced"][t] == n
        placed = sum(sc[f"entrants_{k}"][t] for k in (
            "own_household", "new_household", "other_household", "same_province",
            "other_province"))
        assert placed == sc["entrants"][t]
        assert sc["entrants_other_province"][t] <= 0.02 * sc["entrants"][t]
    assert sc["marriages"][jan].sum() > 0
    assert sc["entrants_own_household"][jan].sum() > 0.3 * sc["entrants"][jan].sum()


def test_entrants_are_the_children_born_fifteen_years_earlier():
    sim = Simulation(agents=6_000, seed=8, start_year=1995, years=2)
    for _ in range(12):
        sim.step()
    due = int(np.count_nonzero(sim.households.child_by == 1996 - ENTRY_AGE))
    sim.step()  # January 1996
    sc = sim.rec.scalars
    assert sc["entrants"][12] + sc["tertiary_exits"][12] + sc["entrants_unplaced"][12] == due
    assert 0 < sc["tertiary_exits"][12] < 0.1 * due
    assert not np.any(sim.households.child_by == 1996 - ENTRY_AGE)


def test_the_college_bound_leave_at_fifteen():
    """Each January the children reaching 15 either enter the rural labour force or leave for
    tertiary schooling, with the cohort's exit share (binomial, within 4 standard errors over
    the years); the table keeps no child of that cohort and its household count follows."""
    sim = Simulation(agents=20_000, seed=6, start_year=2008, years=8)
    due, gone, expected, var = [], [], 0.0, 0.0
    for t in range(sim.n_months):
        if t % 12 == 0 and t > 0:
            year = sim.start_year + t // 12
            n = int(np.count_nonzero(sim.households.child_by == year - ENTRY_AGE))
            q = sim.projection.exit_share(year)
            due.append(n)
            expected += n * q
            var += n * q * (1 - q)
        sim.step()
        if t % 12 == 0 and t > 0:
            sc = sim.rec.scalars
            gone.append(sc["tertiary_exits"][t])
            assert sc["entrants"][t] + sc["tertiary_exits"][t] + sc["entrants_unplaced"][t] == n
            assert not np.any(sim.households.child_by == year - ENTRY_AGE)
    hs = sim.households
    np.testing.assert_array_equal(hs.n_children, np.sum(hs.child_by != NO_YEAR, axis=1))
    assert abs(sum(gone) - expected) < 4 * math.sqrt(var)
    assert sum(gone) > 0.12 * sum(due)  # the shares rise from 0.107 (2008) to 0.218 (2018)


def test_births_do_not_depend_on_the_cohorts_later_exits():
    """Children are born as the whole cohort; the share leaving at 15 removes them then, not at
    birth: a higher exit share for the cohorts reaching 15 after 2010 changes no birth count,
    and lowers the entrants of those years by its difference."""
    from sim.core.geography import load_geography
    from sim.mechanisms.demography import Projection

    geo = load_geography()
    base = Projection(geo, Params())
    high = Projection(geo, Params({"tertiary_exit_share": {
        "1985": 0.01, "1995": 0.03, "2000": 0.05, "2006": 0.10, "2010": 0.10, "2011": 0.4}}))
    for year in (1990, 2005, 2011, 2020):
        assert high.born(year) == base.born(year)
        assert base.entering(year) == pytest.approx(
            base.born(year) * (1 - base.exit_share(year)), rel=1e-12)
        for seed in (1, 2):
            assert cohort_count(high, year, 1000.0, seed) == cohort_count(base, year, 1000.0, seed)
    assert high.entering(2020) == pytest.approx(high.born(2020) * 0.6, rel=1e-12)
    assert base.exit_share(2007) == pytest.approx(0.10)
    assert base.exit_share(2019) == base.exit_share(2030) == pytest.approx(0.225)


def test_first_marriages_follow_the_hazard():
    """Women single at a given age marry within the year about as often as the schedule's
    hazard says (a partner is nearly always found at these sizes)."""
    sim = Simulation(agents=20_000, seed=6, start_year=1995, years=2)
    for _ in range(12):
        sim.step()
    p = sim.persons
    single = (p.hukou == RURAL) & (p.sex == FEMALE) & (p.spouse == NO_PERSON)
    ages = p.age.copy()
    idx = np.flatnonzero(single & (ages >= 20) & (ages <= 26))
    sim.step()  # January: ageing, then weddings
    married = sim.persons.spouse[idx] != NO_PERSON  # brides who moved left their slot empty
    moved = sim.persons.hukou[idx] == VACANT
    pars = sim.params.at(1996)
    h = marriage_hazard(pars.marriage_mean_age_female, pars.marriage_sd_age,
                        pars.ever_married_female)
    expect = h[ages[idx] + 1].sum()
    got = int(married.sum() + moved.sum())
    assert got == pytest.approx(expect, abs=4 * math.sqrt(expect) + 0.1 * expect)


def test_invariants_hold_with_the_life_course():
    out = run_checked({}, agents=4_000, seed=11, start_year=1985, years=8)
    assert out["failures"] == []


def _family(n=8):
    """One household of ``n`` places: a mother (0), her husband (1), a grandmother (2)."""
    p = Persons.allocate(n, PERSON_FIELDS)
    p.hukou[:3] = RURAL
    p.age[:3] = (30, 32, 60)
    p.sex[:3] = (FEMALE, MALE, FEMALE)
    p.spouse[0], p.spouse[1] = 1, 0
    h = Table.allocate(1, HOUSEHOLD_FIELDS)
    h.child_by[0, :2] = (1995, 1999)
    h.child_mother[0, :2] = 0
    h.n_children[0] = 2
    pa = p.core
    ha = HouseholdArrays(*(getattr(h, f.name) for f in HOUSEHOLD_FIELDS))
    return pa, ha, np.array([0, n], np.int64)


def test_where_a_child_is_follows_its_parents():
    p, hs, hh_start = _family()
    assert child_place(0, 0, hh_start, p, hs) == CHILD_HOME
    p.loc[1], p.months_away[1] = 3, 12  # the father away a year
    assert child_place(0, 0, hh_start, p, hs) == CHILD_ONE_AWAY
    p.loc[0], p.months_away[0] = 3, 2  # the mother left two months ago: not yet counted
    assert child_place(0, 0, hh_start, p, hs) == CHILD_ONE_AWAY
    p.months_away[0] = 7
    assert child_place(0, 0, hh_start, p, hs) == CHILD_BEHIND
    hs.kids_with[0] = 0
    assert child_place(0, 0, hh_start, p, hs) == CHILD_CITY
    hs.kids_with[0] = NO_PERSON
    p.loc[0], p.months_away[0] = HOME, 0
    hs.child_mother[0, 0] = NO_MOTHER  # a child whose mother died stays at home
    assert child_place(0, 0, hh_start, p, hs) == CHILD_HOME


def test_parent_cost_ratio_once_every_child_is_of_school_age():
    """Hand-checked ``family_cost``: mother 2 utils, father 1, the grandmother (60) at home
    takes half; with the ratio 0.25 the cost falls to a quarter once the younger child (born
    1999) is 6, and the ratio 1 leaves it whole."""
    from sim.mechanisms.decisions.choice import family_cost

    p, hs, hh_start = _family()
    p.loc[2] = HOME

    def cost(i, year, ratio):
        fam = np.array([2.0, 1.0, 0.5, 0.8, 0.0, ratio, float(year)])
        return family_cost(i, hh_start, p, hs, fam)

    assert (cost(0, 2004, 0.25), cost(1, 2004, 0.25)) == (1.0, 0.5)  # a child of 5
    assert (cost(0, 2005, 0.25), cost(1, 2005, 0.25)) == (0.25, 0.125)  # both at school
    assert (cost(0, 2005, 1.0), cost(1, 2005, 1.0)) == (1.0, 0.5)
    assert cost(2, 2005, 0.25) == 0.0  # the grandmother is no parent


def test_births_to_wives_away_are_weighted():
    """``birth_away_weight``: a wife away as a migrant has that share of her fertility this
    year (not for the earlier years the start places births in); at 0 every birth goes to a
    wife at home (Goldstein, White & Goldstein 1997)."""
    from sim.core.schedules import fertility_weights
    from sim.mechanisms.demography.births import mother_weights, place_births

    p, hs, hh_start = _family()
    p.age[2], p.sex[3], p.hukou[3], p.age[3] = 27, MALE, RURAL, 29  # a second couple
    p.spouse[2], p.spouse[3] = 3, 2
    p.loc[0], p.months_away[0] = 5, 10  # the first wife is away
    w_age = fertility_weights(25.5, 4.5)
    out = np.zeros(1)
    for back, away_w, expect in ((0, 1.0, w_age[30] + w_age[27]),
                                 (0, 0.25, 0.25 * w_age[30] + w_age[27]),
                                 (3, 0.25, w_age[27] + w_age[24])):
        mother_weights(hh_start, p, hs, w_age, back, out, away_w)
        assert out[0] == pytest.approx(expect, rel=1e-12)
    mother_weights(hh_start, p, hs, w_age, 0, out, 0.0)
    assert place_births(out, 3, 0.5, 2006, hh_start, p, w_age, 0, hs, 0.0) == 3
    born = hs.child_by[0] == 2006
    assert born.sum() == 3 and np.all(hs.child_mother[0][born] == 2)


def test_births_weigh_a_wife_by_her_children_under_15():
    """``birth_parity_ratio``: a wife's weight is her age's fertility times the ratio to the
    power of her children under 15 in the table (two here: 1995 and 1999), a childless wife's
    is her age's alone; at 0 every birth goes to a childless wife, and a second birth of the
    same year to one household keeps the weights of the year's start (Zheng 2000)."""
    from sim.core.schedules import fertility_weights
    from sim.mechanisms.demography.births import (
        first_births,
        mother_weights,
        parity,
        place_births,
    )

    p, hs, hh_start = _family()
    p.age[2], p.sex[3], p.hukou[3], p.age[3] = 27, MALE, RURAL, 29  # a second, childless couple
    p.spouse[2], p.spouse[3] = 3, 2
    w_age = fertility_weights(25.5, 4.5)
    out = np.zeros(1)
    assert parity(0, 0, hh_start, hs, 2006) == 2 and parity(0, 0, hh_start, hs, 1999) == 1
    assert parity(2, 0, hh_start, hs, 2006) == 0
    for r in (1.0, 0.25, 0.0):
        mother_weights(hh_start, p, hs, w_age, 0, out, 1.0, r)
        assert out[0] == pytest.approx(w_age[30] * r ** 2 + w_age[27], rel=1e-12)
    assert place_births(out, 2, 0.5, 2006, hh_start, p, w_age, 0, hs, 1.0, 0.0) == 2
    born = hs.child_by[0] == 2006
    assert born.sum() == 2 and np.all(hs.child_mother[0][born] == 2)  # both to the childless
    assert first_births(hh_start, hs, 2006) == 2  # neither mother had a child before 2006
    hs.child_by[0, born] = NO_YEAR
    hs.child_mother[0, born] = NO_MOTHER
    hs.n_children[0] = 2
    p.spouse[2] = p.spouse[3] = NO_PERSON  # only the mother of two is a wife now
    mother_weights(hh_start, p, hs, w_age, 0, out, 1.0, 0.25)
    assert place_births(out, 1, 0.5, 2006, hh_start, p, w_age, 0, hs, 1.0, 0.25) == 1
    assert first_births(hh_start, hs, 2006) == 0  # her third child


def test_first_births_become_universal_with_the_parity_rule():
    """Run from 1985 to 2005: with ``birth_parity_ratio`` at 0.2 more of the year's births
    are first births and more rural wives aged 27-32 are mothers than with the age schedule
    alone, while the year's births (the series' total) are the same (20,000 persons, seed 1;
    measured at seeds 1 and 2: first births 0.48 -> 0.60 of 2001-2005's births, wives who are
    mothers 0.71 -> 0.98; asserted: 0.05 apart at least, and above 0.9). Mothers are
    counted from the child table directly, not with the rule's own ``parity``."""
    out = {}
    for r in (1.0, 0.2):
        sim = Simulation({"birth_parity_ratio": r}, agents=20_000, seed=1, start_year=1985,
                         years=21, threads=1)
        res = sim.run()
        hs, hh_start = sim.households.core, sim.places.hh_start
        wives = np.flatnonzero((sim.persons.sex == FEMALE) & (sim.persons.hukou == RURAL)
                               & (sim.persons.spouse != NO_PERSON)
                               & (sim.persons.age >= 27) & (sim.persons.age <= 32))
        h = sim.persons.hh_base[wives >> HH_SHIFT] + sim.persons.hh_off[wives]
        off = (wives - hh_start[h])[:, None]
        mothers = np.mean(((hs.child_by[h] != NO_YEAR) & (hs.child_mother[h] == off)).any(1))
        births = res.annual("births")[-5:].sum()
        first = res.annual("first_births")[-5:].sum()
        out[r] = (births, first / births, mothers)
    assert out[1.0][0] == out[0.2][0]
    assert out[0.2][1] > out[1.0][1] + 0.05, out
    assert out[0.2][2] > out[1.0][2] + 0.05, out
    assert out[0.2][2] > 0.9, out


def test_left_behind_under6_share_counts_one_or_both_parents_away():
    from sim.mechanisms.demography.births import left_behind_under6_share

    by = np.array([[5, 3, 1, 0], [9, 2, 2, 4]])  # rows under 6, 6-14; home, one away, behind, city
    assert left_behind_under6_share(by) == 0.5
    assert left_behind_under6_share(np.zeros((2, 4), np.int64)) == 0.0


def test_school_age_ratio_leaves_more_school_age_children_behind():
    """Common random numbers: the ratio 0 (no cost once every child is at school) lets parents
    of school-age children go, so more children aged 6-14 are left behind and the share under 6
    falls (at 100,000 persons in 2005, seeds 7 and 8: 7.2 -> 10.4 million aged 6-14, share
    0.73 -> 0.65; at this scale, seeds 5-7, 1.09-1.22 times as many aged 6-14)."""
    base = Simulation({}, agents=8_000, seed=5, start_year=1995, years=4).run().series()
    low = Simulation({"parent_cost_school_ratio": 0.0}, agents=8_000, seed=5, start_year=1995,
                     years=4).run().series()
    older = ("children_one_away_6_14", "total"), ("children_behind_6_14", "total")
    assert sum(low[k][-1] for k in older) > 1.05 * sum(base[k][-1] for k in older)
    key = "share_left_behind_under6", "total"
    assert low[key][-1] < base[key][-1]


def test_parents_cost_keeps_mothers_at_home():
    """Common random numbers: doubling the cost of leaving children lowers the children left
    behind and the migrant stock (parents stay; at 1.5 times the stock moved by under 0.3% at
    this scale, either way, since a parent who stays can let another member of the household
    go, while the children left behind fell 4-10% on seeds 5-7)."""
    base = Simulation({}, agents=8_000, seed=5, start_year=1995, years=4).run()
    d = Params()
    dear = Simulation({"parent_cost_mother": 2.0 * d["parent_cost_mother"],
                       "parent_cost_father": 2.0 * d["parent_cost_father"]}, agents=8_000,
                      seed=5, start_year=1995, years=4).run()
    sa, sb = base.series(), dear.series()
    assert sb["children_left_behind", "total"][-1] < sa["children_left_behind", "total"][-1]
    assert sb["migrant_stock", "total"][-1] < sa["migrant_stock", "total"][-1]


def test_same_results_for_any_thread_count(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from sim import Simulation\n"
        "s = Simulation(agents=5000, seed=2, start_year=1995, years=3)\n"
        "s.run()\n"
        "out = {k: getattr(s.persons, k) for k in ('spouse', 'age', 'loc', 'hukou')}\n"
        "out['child_by'] = s.households.child_by\n"
        "out['child_mother'] = s.households.child_mother\n"
        "out.update({k: np.asarray(v) for k, v in s.rec.scalars.items()})\n"
        "np.savez(sys.argv[1], **out)\n"
    )
    got = arrays_by_thread_count(code, tmp_path)
    assert_same_arrays(got[1], got[2])


def test_off_is_the_version_0_6_household():
    sim = Simulation({"life_course": False}, agents=5_000, seed=2, start_year=1995, years=2)
    assert np.all(sim.persons.spouse == NO_PERSON)
    assert np.all(sim.households.child_by == NO_YEAR)
    assert sim.households.n_children.sum() > 0  # the drawn children of version 0.6
    sim.run()
    assert np.all(np.asarray(sim.rec.scalars["births"]) == 0)


def test_reference_model_follows_the_life_course_switch():
    """The Mesa reference model (docked in tests/test_docking.py) runs the life course by
    default and the version 0.6 households with it off."""
    from sim.mesa.reference import ReferenceModel

    on = ReferenceModel({}, agents=1000, years=1)
    assert on.params.at(2000).life_course
    off = ReferenceModel({"life_course": False}, agents=1000, years=1)
    assert not off.params.at(2000).life_course
    assert all(x.spouse is None for x in off.persons)


def test_counts_at_a_date_are_nan_in_the_other_months():
    """The couples and children counted in December (``couples_apart``: at January's weddings)
    are NaN in the other months, not 0: a monthly table shows no false zeros, and the yearly
    summary reads the month they were counted in. Flows (births) are 0 where nothing
    happens."""
    res = Simulation({}, agents=3000, seed=2, start_year=1995, years=2, threads=1).run()
    sc, m = res.rec.scalars, np.arange(res.n_months)
    for name in ("married_women", "couples_one_away", "children_home_under6",
                 "share_left_behind_under6"):
        assert np.isnan(sc[name][m % 12 != 11]).all(), name
        assert np.isfinite(sc[name][m % 12 == 11]).all(), name
    apart = sc["couples_apart"]
    assert apart[12] > 0 and np.isnan(np.delete(apart, 12)).all()
    assert res.summary()["couples_apart"] == pytest.approx(apart[12] * res.scale)
    yearly = res.annual("couples_apart")  # the year's last recorded month, as the summary
    assert np.isnan(yearly[0]) and yearly[1] == pytest.approx(apart[12] * res.scale)
    assert res.annual("married_women") == pytest.approx(sc["married_women"][11::12] * res.scale)
    assert np.isfinite(sc["births"]).all() and sc["births"][m % 12 != 0].sum() == 0
    off = Simulation({"life_course": False}, agents=2000, seed=2, start_year=1995, years=1,
                     threads=1).run()
    assert np.isnan(off.rec.scalars["children_home_under6"]).all()


def test_births_series_published_by_default_and_the_old_one_kept():
    """The entering cohorts follow the published births (``births_series`` "published", from
    0.20.0); "0.19" restores the series of earlier versions, whose only large difference is
    1982 (21.3 million against the CSY 1999 rate's 22.47): its cohort, entering in 1997, is
    5.5% larger relative to a cohort whose births agree (1978: 17.45 against 17.5)."""
    from sim.core.geography import load_geography
    from sim.mechanisms.demography import Projection

    geo = load_geography()
    b = geo.births
    at = {int(y): i for i, y in enumerate(b["birth_year"])}
    assert b["births_m"][at[1982]] == pytest.approx(22.47)
    assert b["births_m_0_19"][at[1982]] == pytest.approx(21.3)
    assert Params()["births_series"] == "published"
    new, old = Projection(geo, Params()), Projection(geo, Params({"births_series": "0.19"}))
    rel = (new.born(1997) / old.born(1997)) / (new.born(1993) / old.born(1993))
    assert rel == pytest.approx((22.47 / 21.3) / (17.45 / 17.5), rel=1e-9)
    with pytest.raises(ValueError, match="births_series"):
        Params({"births_series": "1999"})
