"""Accounting invariants of the simulation, checked after every monthly step.

The engine promises (sim/results.py docstring) that counts are integer agents and the migrant
stock changes by exactly outflow - returnflow - exitflow each month. These tests step runs month
by month and, after every step, check the agent state (everyone in exactly one place, consistent
distance class, hukou and job flags) and the recorded counts (no negatives, stock identity,
rural labour force + settled = occupied slots, stock by destination = stock by distance class,
recorded stock = stock counted from the agents, and the rural labour force changes by exactly
entrants - leavers - hukou conversions).

Three runs: the default 1985 start (few migrants), the same with a closed population, and a
"busy" run starting in 2000 with high
departure, return and hukou-conversion rates, so that every flow is exercised many times.
"""

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import N_SECTORS, NO_SECTOR
from sim.core.state import HOME, RURAL, URBAN, VACANT

AGENTS = 20_000
YEARS = 3

CASES = {
    "default": ({}, 1985),
    "closed": ({"cohort_entry": False}, 1985),
    "busy": ({"mobility_control": 0.0, "asc_home": 1.0, "return_rate_year": 0.6,
              "conversion_rate_small": 0.5, "conversion_rate_medium": 0.4,
              "conversion_rate_large": 0.3, "conversion_rate_megacity": 0.2,
              "onward_prob_employed": 0.05, "consider_rate_year": 3.0}, 2000),
}


def _check_state(sim):
    """Per-agent consistency of the state; returns (stock, stock by distance class)."""
    p, n_dest = sim.persons, sim.geo.n_dest
    loc, dist, hukou = p.loc.astype(np.int64), p.dist.astype(np.int64), p.hukou
    assert np.all((loc == HOME) | ((loc >= 0) & (loc < n_dest))), "loc outside HOME/0..n_dest-1"
    assert np.all((hukou == RURAL) | (hukou == URBAN) | (hukou == VACANT))
    vacant = hukou == VACANT
    assert np.all(loc[vacant] == HOME) and np.all(p.age[vacant] == 0), "vacant slot in use"
    assert np.all(p.employed[vacant] == 0) and np.all(p.months_away[vacant] == 0)
    rural = hukou == RURAL
    away = loc != HOME
    # rural persons: at home iff no distance class; away persons have a class 0..3
    assert np.array_equal(dist[rural] == -1, ~away[rural]), "dist == -1 iff at home (rural)"
    assert np.all((dist[rural & away] >= 0) & (dist[rural & away] <= 3))
    # converted (urban hukou) persons live at a destination
    assert np.all(away[hukou == URBAN]), "converted person at home"
    # at home: no urban job, no months away
    assert np.all(p.employed[rural & ~away] == 0)
    assert np.all(p.months_away[rural & ~away] == 0)
    assert np.all((p.sector == NO_SECTOR) | ((p.sector >= 0) & (p.sector < N_SECTORS)))
    assert np.all(p.months_away >= 0)
    assert p.age[~vacant].min() >= 15 and p.age.max() <= 64
    migrants = rural & away
    return int(migrants.sum()), np.bincount(dist[migrants], minlength=4), migrants


def _check_record(sim, t, prev_stock, counted):
    """Recorded counts at month t: non-negative, identities, agree with the agents."""
    r, n = sim.rec, sim.persons.n
    for name in ("stock_dest", "stock_dist", "profile", "outflow_dist", "returnflow", "onflow",
                 "exitflow"):
        arr = getattr(r, name)[: t + 1]
        assert arr.dtype.kind == "i", name
        assert np.all(arr >= 0), f"negative count in {name} at month {t}"
    stock = int(r.stock_dest[t].sum())
    out = int(r.outflow_dist[t].sum())
    ret = int(r.returnflow[t])
    ex = int(r.exitflow[t].sum())
    assert stock - prev_stock == out - ret - ex, (
        f"month {t}: stock {prev_stock}->{stock} but outflow {out} - return {ret} - exit {ex}")
    assert int(r.stock_dist[t].sum()) == stock
    assert int(r.profile[t, 4] + r.profile[t, 5]) == n - int(np.sum(sim.persons.hukou == VACANT))
    if t > 0:  # the rural labour force: entrants in, leavers and conversions out
        sc = r.scalars
        change = int(r.profile[t, 4]) - int(r.profile[t - 1, 4])
        assert change == int(sc["entrants"][t]) - int(sc["leavers"][t]) - int(r.exitflow[t, 2])
    stock_agents, by_dist, migrants = counted
    assert stock == stock_agents
    np.testing.assert_array_equal(r.stock_dist[t], by_dist)
    p = sim.persons
    np.testing.assert_array_equal(
        r.stock_dest[t], np.bincount(p.loc[migrants].astype(np.int64), minlength=sim.geo.n_dest))
    assert int(r.profile[t, 5]) == int(np.sum(p.hukou == URBAN))
    assert int(r.profile[t, 2]) == int(p.age[migrants].astype(np.int64).sum())
    assert int(r.profile[t, 3]) == int(p.employed[migrants].sum())
    assert int(r.onflow[t]) <= stock_agents + ret + ex
    return stock


@pytest.fixture(scope="module", params=list(CASES))
def stepped(request):
    """Run the case month by month, checking every step; returns (sim, flow totals)."""
    overrides, start = CASES[request.param]
    sim = Simulation(overrides, agents=AGENTS, seed=4, start_year=start, years=YEARS)
    counted = _check_state(sim)
    assert counted[0] == sim.initial_stock
    prev = sim.initial_stock
    for t in range(sim.n_months):
        sim.step()
        assert sim.t == t + 1
        counted = _check_state(sim)
        prev = _check_record(sim, t, prev, counted)
    return request.param, sim


def test_invariants_every_month(stepped):
    """All per-step checks passed (in the fixture) over the whole run, and the run was not
    trivial: there were departures, returns and (busy run) conversions and onward moves."""
    name, sim = stepped
    r = sim.rec
    assert r.outflow_dist.sum() > 0
    assert r.returnflow.sum() > 0
    if name == "busy":
        assert r.exitflow[:, 2].sum() > 0, "no hukou conversions"
        assert r.onflow.sum() > 0


def test_cumulative_stock_identity(stepped):
    """Summed over the run: final stock = initial stock + outflows - returns - exits."""
    _, sim = stepped
    r = sim.rec
    assert (r.stock_dest[-1].sum() == sim.initial_stock + r.outflow_dist.sum()
            - r.returnflow.sum() - r.exitflow.sum())


def test_results_views_consistent(stepped):
    """Results.series() is the recorded integer counts times the scale; rural labour force +
    settled = occupied slots * scale (the rural working-age total) at the end of the run."""
    _, sim = stepped
    res = sim.results()
    ser = res.series()
    np.testing.assert_allclose(ser["migrant_stock", "total"],
                               sim.rec.stock_dest.sum(1) * res.scale)
    total = ser["rural_labour_force", "total"] + ser["settled_urban_hukou", "total"]
    occupied = int(np.sum(sim.persons.hukou != VACANT))
    np.testing.assert_allclose(total[-1], occupied * res.scale, rtol=1e-12)
    np.testing.assert_allclose(total[0], AGENTS * res.scale, rtol=1e-12)
    dest_sum = sum(v for (ind, grp), v in ser.items()
                   if ind == "migrant_stock" and grp.startswith("dest:"))
    np.testing.assert_allclose(dest_sum, ser["migrant_stock", "total"])
    dist_sum = sum(v for (ind, grp), v in ser.items()
                   if ind == "migrant_stock" and grp.startswith("dist:"))
    np.testing.assert_allclose(dist_sum, ser["migrant_stock", "total"])
    assert res.initial_stock == sim.initial_stock


def test_population_slots(stepped):
    """Slots never move between households; the closed run keeps exactly its starting number
    of persons; the open runs have room to spare and place every entrant."""
    name, sim = stepped
    assert np.all(np.diff(sim.persons.hh) >= 0)
    occupied = int(np.sum(sim.persons.hukou != VACANT))
    if name == "closed":
        assert sim.persons.n == AGENTS and occupied == AGENTS
    else:
        assert sim.persons.n > AGENTS
        assert int(np.sum(sim.rec.scalars["entrants_unplaced"])) == 0
