"""Outputs by province (issue 14, part 5): migrants by province of origin, converted persons and
the rural-origin urban population by province of residence, and net migration, in real persons,
recorded in December.

Every rural migrant away has one province of origin (their household's) and one of residence
(their destination's), so the migrants by origin sum to the migrant stock, net migration sums to
zero over the provinces, and the converted persons by province sum to the settled total.
"""

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays

from sim import Simulation
from sim.core.encodings import HOME, RURAL, URBAN
from sim.engine.checkpoint import load_state, save_state, state_arrays
from sim.experiments.invariants import (
    Checker,
    check_indicators,
    december_only,
    run_checked,
)

AGENTS = 20_000
NEW = ("migrants_by_origin", "net_migration", "settled_urban_hukou",
       "rural_origin_urban_population")


@pytest.fixture(scope="module")
def run():
    """2004-2005 at 20,000 agents (the stock of 2005 is large: tens of millions)."""
    sim = Simulation({}, agents=AGENTS, seed=3, start_year=2004, years=2, threads=1)
    res = sim.run()
    return sim, res, res.series()


def _by_prov(ser, ind, prov_name):
    return np.array([ser[ind, f"prov:{p}"] for p in prov_name])  # (provinces, months)


def test_groups_are_the_provinces(run):
    sim, res, ser = run
    for ind in NEW:
        groups = [g for (i, g) in ser if i == ind and g.startswith("prov:")]
        assert groups == [f"prov:{p}" for p in sim.geo.prov_name], ind
    assert sim.rec.migrants_origin.shape == (sim.n_months, sim.geo.n_prov)


def test_sums_equal_totals_in_december_nan_otherwise(run):
    sim, res, ser = run
    dec = np.arange(res.n_months) % 12 == 11
    names = sim.geo.prov_name
    origin = _by_prov(ser, "migrants_by_origin", names)
    settled = _by_prov(ser, "settled_urban_hukou", names)
    rural_origin = _by_prov(ser, "rural_origin_urban_population", names)
    net = _by_prov(ser, "net_migration", names)
    for a in (origin, settled, rural_origin, net):
        assert np.isnan(a[:, ~dec]).all() and np.isfinite(a[:, dec]).all()
    stock = ser["migrant_stock", "total"][dec]
    assert stock.min() > 1e7
    np.testing.assert_allclose(origin[:, dec].sum(0), stock, rtol=1e-12)
    np.testing.assert_allclose(settled[:, dec].sum(0), ser["settled_urban_hukou", "total"][dec],
                               rtol=1e-12)
    np.testing.assert_allclose(rural_origin[:, dec].sum(0),
                               ser["rural_origin_urban_population", "total"][dec], rtol=1e-12)
    # in agents: exact integers; the origin is the household's province
    r, p = sim.rec, sim.persons
    migrants = (p.hukou == RURAL) & (p.loc != HOME)
    hh_prov = sim.places.county_prov[sim.households.county]
    np.testing.assert_array_equal(
        r.migrants_origin[-1], np.bincount(hh_prov[p.hh[migrants]], minlength=len(names)))
    urban = p.hukou == URBAN
    dest_prov = np.asarray(sim.geo.dest_prov, np.int64)
    np.testing.assert_array_equal(
        r.settled_prov[-1], np.bincount(dest_prov[p.loc[urban]], minlength=len(names)))
    assert (r.migrants_origin[~dec] == -1).all() and (r.settled_prov[~dec] == -1).all()


def test_net_migration(run):
    sim, res, ser = run
    dec = np.arange(res.n_months) % 12 == 11
    names = sim.geo.prov_name
    net = _by_prov(ser, "net_migration", names)[:, dec]
    stock = _by_prov(ser, "migrant_stock", names)[:, dec]
    origin = _by_prov(ser, "migrants_by_origin", names)[:, dec]
    np.testing.assert_allclose(net, stock - origin, rtol=1e-12, atol=1e-6)
    # every migrant has one origin and one destination: zero up to float rounding
    assert np.all(np.abs(net.sum(0)) <= 1e-9 * ser["migrant_stock", "total"][dec])
    # 2005: the coast receives, the big sending provinces of the interior send
    y2005 = {p: v for p, v in zip(names, net[:, -1], strict=True)}
    assert y2005["Guangdong"] > 0
    assert y2005["Sichuan"] < 0 and y2005["Henan"] < 0
    # no new state: net migration is a difference of recorded counts, none of it in the summary
    assert not any(k.split("[")[0] in NEW[:2] for k in res.summary())


def test_invariants_accept_the_new_indicators(run):
    sim, res, ser = run
    for ind in NEW:
        assert december_only(ind, "prov:Guangdong")
    assert not december_only("settled_urban_hukou", "total")
    assert not december_only("rural_origin_urban_population", "total")
    chk = Checker()
    check_indicators(res, set(), chk)
    assert chk.failures == []
    # month by month, with many conversions (converted persons by province are exercised)
    busy = {"mobility_control": 0.0, "asc_home": 1.0, "conversion_rate_small": 0.5,
            "conversion_rate_medium": 0.4, "conversion_rate_large": 0.3,
            "conversion_rate_megacity": 0.2}
    out = run_checked(busy, agents=3000, seed=2, start_year=2000, years=2)
    assert out["failures"] == [] and out["migrants_end"] > 0


def test_saved_with_the_state(run, tmp_path):
    """The province tallies are part of the saved state and come back from the file as they
    were (a resumed run's tables continue them)."""
    sim, _, _ = run
    keys = state_arrays(sim)
    assert "rec.migrants_origin" in keys and "rec.settled_prov" in keys
    assert keys["rec.migrants_origin"].any() and keys["rec.settled_prov"].any()
    save_state(sim, tmp_path / "s.npz")
    back = state_arrays(load_state(tmp_path / "s.npz"))
    for k in ("rec.migrants_origin", "rec.settled_prov"):
        np.testing.assert_array_equal(back[k], keys[k], err_msg=k)


CHILD = """
import sys
import numpy as np
from sim import Simulation
res = Simulation({}, agents=6000, seed=5, start_year=2005, years=1).run()
ser = res.series()
keep = ("migrants_by_origin", "net_migration", "settled_urban_hukou",
        "rural_origin_urban_population", "migrant_stock")
np.savez(sys.argv[1], **{f"{i}|{g}": v for (i, g), v in ser.items() if i in keep})
"""


def test_same_on_one_and_two_threads(tmp_path):
    got = arrays_by_thread_count(CHILD, tmp_path)
    assert any(k.startswith("net_migration|prov:") for k in got[1].files)
    assert_same_arrays(got[1], got[2])


def test_shares_of_the_national_population():
    """The rural migrants' share of the population (the part of the gap between urbanisation
    by residence and by hukou they make) and the rural-origin urban share: the stocks over the
    year's national total of ``sim/data/national_series.csv``."""
    from sim import Simulation
    from sim.core.geography import load_geography
    from sim.engine.registry import Params

    sim = Simulation(Params({}), agents=5000, seed=2, start_year=2004, years=2, threads=1)
    ser = sim.run().series()
    geo = load_geography()
    pop = dict(zip(geo.national["year"].tolist(), geo.national["population_m"] * 1e6,
                   strict=True))
    years = 2004 + np.arange(24) // 12
    den = np.array([pop[y] for y in years])
    np.testing.assert_allclose(ser["migrant_share_of_population", "total"],
                               ser["migrant_stock", "total"] / den)
    np.testing.assert_allclose(ser["rural_origin_urban_share_of_population", "total"],
                               ser["rural_origin_urban_population", "total"] / den)
    assert 0.05 < ser["migrant_share_of_population", "total"][-1] < 0.2  # 2005: 130.8 M persons
