"""The rural labour reserve (``sim.mechanisms.rural``): surplus labour and underemployment of the
workers at home, measured on the Cobb-Douglas household farm.

Kernel tests use tiny hand-built populations; the run tests use 5,000 agents over four years
(seed 11). Float comparisons with a computation in numpy are to a relative 1e-12.
"""


import numba
import numpy as np
import pytest

import sim
from sim.core.encodings import HOME, RURAL, URBAN, VACANT
from sim.core.mechanism import Mechanism
from sim.core.state import HOUSEHOLD_FIELDS, PERSON_FIELDS, Households, Persons
from sim.mechanisms import rural
from sim.mechanisms.rural import RuralReserve, reserve_by_household, surplus_factor

AGENTS, SEED, START, YEARS = 5000, 11, 1985, 4


def _population(sizes, land_pw, prov):
    """Households of ``sizes`` rural members, all at home; land per worker and province each."""
    n = int(np.sum(sizes))
    p = Persons.allocate(n, PERSON_FIELDS)
    p.hukou[:] = RURAL
    p.loc[:] = HOME
    p.hh = np.repeat(np.arange(len(sizes)), sizes)
    hs = Households.allocate(len(sizes), HOUSEHOLD_FIELDS)
    hs.land_mu_per_worker[:] = land_pw
    hh_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return hh_start, p, hs, np.asarray(prov, np.int8)


def _run_kernel(hh_start, p, hs, hh_prov, mean_land, k_factor, workers_per_mu):
    n_hh = hh_start.size - 1
    home = np.zeros(n_hh, np.int32)
    surplus = np.zeros(n_hh)
    idle = np.zeros(n_hh)
    reserve_by_household(hh_start, p.core, hs.core, False, hh_prov, mean_land, k_factor,
                         workers_per_mu, home, surplus, idle)
    return home, surplus, idle


def test_surplus_factor_is_one_at_the_share_one_minus_alpha():
    assert surplus_factor(0.4, 0.6) == pytest.approx(1.0, rel=1e-15)
    # MP at L = K* equals s * A * m**alpha: (1 - a) * (T / K*)**a == s * m**a
    a, s, t, m = 0.35, 0.45, 7.0, 3.0
    k = t / m * surplus_factor(a, s)
    assert (1 - a) * (t / k) ** a == pytest.approx(s * m**a, rel=1e-12)


def test_surplus_and_idle_workers_fall_as_members_leave():
    """One household of 5 workers with 2 mu each (10 mu), provincial mean 4 mu per worker:
    K* = 10 / 4 = 2.5 workers at s = 1 - alpha; the land needs 10 * 30 / 300 = 1 worker."""
    hh_start, p, hs, prov = _population([5], [2.0], [0])
    got = []
    for away in range(6):
        p.loc[:] = HOME
        p.loc[:away] = 3  # members who left for destination 3
        home, surplus, idle = _run_kernel(hh_start, p, hs, prov, np.array([4.0]), 1.0, 0.1)
        got.append((int(home[0]), surplus[0], idle[0]))
    assert [g[0] for g in got] == [5, 4, 3, 2, 1, 0]
    np.testing.assert_allclose([g[1] for g in got], [2.5, 1.5, 0.5, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose([g[2] for g in got], [4, 3, 2, 1, 0, 0], atol=1e-12)


def test_more_land_per_worker_means_less_surplus():
    """Same members at home, more land per worker: surplus and idle workers never rise, and
    fall strictly while positive."""
    lands = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 12.0])
    hh_start, p, hs, prov = _population([4] * lands.size, lands, [0] * lands.size)
    k = surplus_factor(0.4, 0.6)
    _, surplus, idle = _run_kernel(hh_start, p, hs, prov, np.array([4.0]), k, 0.1)
    assert np.all(np.diff(surplus) <= 0) and np.all(np.diff(idle) <= 0)
    pos = surplus > 0
    assert np.all(np.diff(surplus[pos]) < 0) and pos[0] and not pos[-1]


def test_kernel_matches_numpy_on_a_small_random_population():
    rng = np.random.default_rng(42)
    n_hh = 300
    sizes = rng.integers(0, 7, n_hh)
    land = np.exp(rng.normal(1.0, 0.6, n_hh)).astype(np.float32)
    land[::37] = 0.0  # no land: counted as 1e-3 mu per worker, as in household.init
    prov = rng.integers(0, 3, n_hh)
    hh_start, p, hs, hh_prov = _population(sizes, land, prov)
    n = p.n
    p.loc[:] = np.where(rng.random(n) < 0.3, rng.integers(0, 50, n), HOME)
    p.hukou[:] = rng.choice([RURAL, URBAN, VACANT], n, p=[0.85, 0.05, 0.10])
    mean_land = np.array([2.5, 4.0, 7.0])
    alpha, share, wpm = 0.4, 0.6, 30.0 / 300.0
    k = surplus_factor(alpha, share)
    home, surplus, idle = _run_kernel(hh_start, p, hs, hh_prov, mean_land, k, wpm)

    hh = p.hh
    rural_ = p.hukou == RURAL
    n_work = np.bincount(hh[rural_], minlength=n_hh)
    at_home = np.bincount(hh[rural_ & (p.loc == HOME)], minlength=n_hh)
    t = np.maximum(land.astype(np.float64), 1e-3) * n_work
    ap_ref = mean_land[prov] ** alpha  # reference income per worker over A_p
    # the k-th worker is surplus when (1 - alpha) * (T / k)**alpha < share * m**alpha
    k_star = t / mean_land[prov] * ((1 - alpha) / share) ** (1 / alpha)
    mp = (1 - alpha) * (t / np.maximum(at_home, 1)) ** alpha
    want_surplus = np.where(at_home > 0, np.maximum(at_home - k_star, 0.0), 0.0)
    want_idle = np.where(at_home > 0, np.maximum(at_home - t * wpm, 0.0), 0.0)
    np.testing.assert_array_equal(home, at_home)
    np.testing.assert_allclose(surplus, want_surplus, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(idle, want_idle, rtol=1e-12, atol=1e-12)
    # a household has surplus exactly when the marginal product of its workers at home is
    # below the threshold
    has = at_home > 0
    np.testing.assert_array_equal((surplus > 0)[has], (mp < share * ap_ref)[has])
    assert np.all(surplus <= home) and np.all(idle <= home)


@pytest.fixture(scope="module")
def runs():
    def run(over=None, threads=None):
        s = sim.Simulation(over or {}, agents=AGENTS, seed=SEED, start_year=START, years=YEARS,
                           threads=threads)
        return s, s.run()

    return run


def test_indicators_are_recorded_in_december_and_within_bounds(runs):
    s, res = runs()
    surplus = res.series()["surplus_rural_labour", "total"]
    rate = res.series()["rural_underemployment_rate", "total"]
    december = np.arange(surplus.size) % 12 == 11
    assert surplus.size == 12 * YEARS
    assert np.all(np.isfinite(surplus[december])) and np.all(np.isfinite(rate[december]))
    assert np.all(np.isnan(surplus[~december])) and np.all(np.isnan(rate[~december]))
    rate = rate[december]
    home = res.annual("rural_labour_force") - res.annual("migrant_stock")  # real persons
    sur_y = res.annual("surplus_rural_labour")
    assert np.all(sur_y > 0) and np.all(sur_y <= home * (1 + 1e-9))
    assert np.all((rate > 0) & (rate < 1))
    frame = res.to_frame()
    assert {"surplus_rural_labour", "rural_underemployment_rate"} <= set(frame["indicator"])


class _ReserveProbe(Mechanism):
    """Reads ``rural.reserve`` right after ``rural_reserve`` each December (reads state only)."""

    name = "reserve_probe"
    after = "rural_reserve"

    def __init__(self) -> None:
        self.seen: list[tuple[float, float, float]] = []

    def step(self, sim) -> None:
        if sim.month == 12:
            self.seen.append(rural.reserve(sim))


def test_recorded_values_are_the_state_at_the_december_stage():
    """The December values are ``rural.reserve`` of the state at the ``rural_reserve`` stage
    (after ``household``; December's departures follow it), in agents times the scale."""
    probe = _ReserveProbe()
    s = sim.Simulation(agents=AGENTS, seed=SEED, start_year=START, years=YEARS,
                       mechanisms=[probe])
    names = [m.name for m in s.mechanisms]
    assert names.index("reserve_probe") == names.index("rural_reserve") + 1
    res = s.run()
    assert len(probe.seen) == YEARS
    sur = np.array([x[1] for x in probe.seen])
    rate = np.array([x[2] for x in probe.seen])
    np.testing.assert_allclose(res.annual("surplus_rural_labour"), sur * s.scale, rtol=1e-6)
    np.testing.assert_allclose(res.annual("rural_underemployment_rate"), rate, rtol=1e-6)


def test_surplus_is_larger_when_nobody_leaves(runs):
    """A closed run (no one considers moving, no initial migrants) keeps everyone at home, so
    its surplus and underemployment exceed the default run's; so does sending the default
    run's migrants home at its end."""
    s, res = runs()
    closed_s, closed = runs({"consider_rate_year": 0.0, "initial_migrant_stock": 0.0})
    assert closed.annual("migrant_stock")[-1] == 0
    assert closed.annual("surplus_rural_labour")[-1] > res.annual("surplus_rural_labour")[-1]
    assert (closed.annual("rural_underemployment_rate")[-1]
            > res.annual("rural_underemployment_rate")[-1])
    _, before, rate_before = rural.reserve(s)
    loc = s.persons.loc.copy()
    try:
        s.persons.loc[s.persons.hukou == RURAL] = HOME
        _, after, rate_after = rural.reserve(s)
    finally:
        s.persons.loc[:] = loc
    assert after > before and rate_after > rate_before


def test_recording_the_indicators_moves_no_other_number(runs):
    """The stage reads state only: stepping it changes no person, household or buffer array,
    and it keeps none of its own (its per-household partials are temporaries)."""
    s, _ = runs()
    own: set[str] = set()
    names = set(s.buf.declared)
    tables = {"persons": s.persons, "households": s.households, "buffers": s.buf}

    def snapshot():
        return {(t, k): np.array(v, copy=True) for t, tab in tables.items()
                for k, v in vars(tab).items() if isinstance(v, np.ndarray) and k not in own}

    before = snapshot()
    s.t, s.month = s.n_months - 1, 12  # December of the last year, as recorded
    s.mech["rural_reserve"].step(s)
    after = snapshot()
    assert before.keys() == after.keys() and len(before) > 20
    assert set(s.buf.declared) == names and not names & {"rr_home", "rr_surplus", "rr_idle"}
    for key, v in before.items():
        np.testing.assert_array_equal(after[key], v, err_msg=str(key))


def test_indicators_do_not_depend_on_the_number_of_threads(runs):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread on this machine")
    _, one = runs(threads=1)
    _, many = runs(threads=2)
    for name in ("surplus_rural_labour", "rural_underemployment_rate"):
        np.testing.assert_array_equal(one.series()[name, "total"], many.series()[name, "total"])


def test_parameters_are_structural_with_ranges():
    sch = sim.schema()
    assert any(isinstance(m, RuralReserve) for m in sim.Simulation({}, agents=AGENTS,
                                                                   years=1).mechanisms)
    for name in ("surplus_mp_share", "labour_days_per_mu", "farm_days_per_worker"):
        prm = sch[name]
        assert prm.role == "structural" and prm.lo < prm.default < prm.hi and prm.source
    with pytest.raises(ValueError):
        sim.Simulation({"surplus_mp_share": 0.0}, agents=AGENTS, years=1)
