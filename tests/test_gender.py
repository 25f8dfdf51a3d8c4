"""Employers' sex mix by sector and export manufacturing (``sim/mechanisms/labour/gender.py``).

Hand-checkable rules first; then small runs (20,000 agents, fixed seed) under common random
numbers, with the tolerances stated where they are used.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import FEMALE, HOME, MALE, RURAL, SECTOR_NAMES
from sim.engine.registry import Params
from sim.mechanisms.labour import gender

AGENTS, SEED, START, YEARS = 20_000, 4, 1995, 6
NEUTRAL = {f"female_hire_share_{s}": 0.5 for s in SECTOR_NAMES}


def test_sex_weights_average_one():
    """w[s, male] = 2 (1 - share), w[s, female] = 2 share: they average 1 over the sexes, and a
    sector with share 0.5 treats both alike."""
    w = gender.sex_weights(Params().at(2000))
    np.testing.assert_allclose(w.mean(axis=1), 1.0)
    assert w[SECTOR_NAMES.index("construction"), FEMALE] < w[1, MALE] < w[1, FEMALE]
    np.testing.assert_allclose(gender.sex_weights(Params(NEUTRAL).at(2000)), 1.0)


def test_job_chance_by_sex_by_hand():
    """A woman's chance at a destination is the destination's chance times the opening-weighted
    mean of her weights, at most 1; where nothing is open the weights do not matter."""
    w = np.array([[1.8, 0.2], [0.8, 1.2]])  # construction-like, manufacturing-like
    openings = np.array([[30.0, 10.0], [0.0, 40.0], [0.0, 0.0]])
    find = np.array([0.5, 0.9, 0.3])
    got = gender.sex_job_chance(find, openings, w)
    np.testing.assert_allclose(got[0], [0.5 * (30 * 1.8 + 10 * 0.8) / 40,
                                        0.5 * (30 * 0.2 + 10 * 1.2) / 40])
    np.testing.assert_allclose(got[1], [0.9 * 0.8, 1.0])  # 0.9 * 1.2 capped at 1
    np.testing.assert_allclose(got[2], [0.3, 0.3])


def test_employment_rate_by_sex_by_hand():
    w = np.array([[1.8, 0.2], [0.8, 1.2]])
    demand = np.array([[30.0, 10.0], [0.0, 40.0]])
    present = np.array([100, 20])
    got = gender.sex_employment_rate(demand, present, w)
    np.testing.assert_allclose(got[0], [(54 + 8) / 100, (6 + 12) / 100])
    np.testing.assert_allclose(got[1], [32 / 20 if 32 / 20 < 1 else 1.0, 1.0])


def test_tilt_keeps_totals():
    d = np.array([[10.0, 20.0, 5.0, 5.0, 0.0], [1.0, 0.0, 1.0, 1.0, 1.0]])
    out = gender.tilt(d, 2.0)
    np.testing.assert_allclose(out.sum(axis=1), d.sum(axis=1))
    # manufacturing's share rises from 0.5 to 40 / 60 in the first row
    assert out[0, 1] / out[0].sum() == pytest.approx(40 / 60)
    assert gender.tilt(d, 1.0) is d


def test_export_factor_is_one_in_2004_and_follows_exports():
    pars = Params({"manufacturing_export_elasticity": 0.5}).at(2000)
    from sim.core.geography import load_geography

    geo = load_geography()
    assert gender.export_factor(geo, pars, 2004) == pytest.approx(1.0)
    x = dict(zip(geo.national["year"], geo.national["exports_usd_bn"], strict=True))
    assert gender.export_factor(geo, pars, 1990) == pytest.approx((x[1990] / x[2004]) ** 0.5)
    off = Params({"manufacturing_export_elasticity": 0.0}).at(2000)
    assert gender.export_factor(geo, off, 1990) == 1.0


def _run(overrides):
    sim = Simulation(overrides, agents=AGENTS, seed=SEED, start_year=START, years=YEARS)
    return sim, sim.run()


@pytest.fixture(scope="module")
def pair():
    return _run(NEUTRAL), _run({})


def _female_share_of_sector(sim, sector):
    p = sim.persons
    m = (p.loc != HOME) & (p.hukou == RURAL) & (p.employed == 1) & (p.sector == sector)
    return float((p.sex[m] == FEMALE).mean())


def test_sectors_hire_by_their_sex_mix(pair):
    """With the default mix, women hold a larger share of manufacturing jobs than of
    construction jobs (by at least 0.2: the defaults are 0.60 and 0.10); with a neutral mix the
    two shares are within 0.1 of each other."""
    (neutral, _), (default, _) = pair
    c, m = SECTOR_NAMES.index("construction"), SECTOR_NAMES.index("manufacturing")
    assert _female_share_of_sector(default, m) - _female_share_of_sector(default, c) > 0.2
    assert abs(_female_share_of_sector(neutral, m) - _female_share_of_sector(neutral, c)) < 0.1


def test_more_manufacturing_means_more_women():
    """Raising manufacturing's export elasticity (more manufacturing demand before 2004, less
    after) changes the female share; more demand for women in manufacturing raises it:
    share_male falls when manufacturing prefers women more (same seed, common random numbers)."""
    _, low = _run({"female_hire_share_manufacturing": 0.5})
    _, high = _run({"female_hire_share_manufacturing": 0.75})
    a = low.annual("share_male", "total")[-1]
    b = high.annual("share_male", "total")[-1]
    assert b < a - 0.005
