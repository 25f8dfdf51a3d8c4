"""What keeps short moves attractive (issue 11 item 3; seed 1.3): family proximity in the choice
(``family_near_share``) and short, seasonal spells inside the home province
(``return_near_mult``). Version 0.8 calibrates both (calibration/README.md); the runs below set
them against 1, which switches each off. The Mesa reference model implements both
(``tests/test_docking.py`` checks the choice probabilities person by person).

Kernel tests are exact (a grid of draws) or statistical with 4 standard errors; the model tests
are small runs (20,000 agents, seed 3, 1995-2000) under common random numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.engine.registry import Params
from sim.mechanisms.decisions import choice

AGENTS, SEED, START, YEARS = 20_000, 3, 1995, 6


def _near_rows(n_dest: int, own: tuple[int, ...]) -> np.ndarray:
    """A (n_dest, 4) slice of ``dist_class_probs``: own-province destinations have class 3
    probability 0, the others 1."""
    near = np.zeros((n_dest, 4))
    near[:, 3] = 1.0
    for d in own:
        near[d, :] = (0.5, 0.5, 0.0, 0.0)
    return near


def test_pick_dest_weights_home_province_by_the_saved_cost():
    """With no contacts, destination d is drawn with weight e[d] * fmul in the home province
    and e[d] elsewhere: checked on a grid of 100,000 draws (error below 1e-4)."""
    e = np.array([[0.5, 1.0, 2.0, 0.25, 1.25]])
    cum = np.cumsum(e, axis=1)
    near = _near_rows(5, (1, 3))
    fmul = np.exp(0.8 / 0.6)
    cont = np.zeros(0, np.int64)  # no contacts
    loc = np.zeros(1, np.int16)
    nadj = choice._near_adjustment(0, e, near, fmul)
    total = cum[0, -1] + nadj
    n = 100_000
    counts = np.zeros(5)
    for k in range(n):
        u = (k + 0.5) / n * total
        counts[choice._pick_dest(0, u, 0.0, nadj, e, cum, cont, loc, 0.5, near, fmul)] += 1
    w = e[0] * np.where(near[:, 3] < 1.0, fmul, 1.0)
    np.testing.assert_allclose(counts / n, w / w.sum(), atol=1e-4)
    assert choice._near_adjustment(0, e, near, 1.0) == 0.0  # off: nothing added


def test_network_term_in_the_home_province_carries_the_factor():
    """A contact's term e[d] * ((1 + n)^(b/lambda) - 1) is multiplied by fmul when d is in the
    home province, so the draw weight is e[d] * (1 + n)^(b/lambda) * fmul there."""
    e = np.array([[1.0, 2.0, 3.0]])
    near = _near_rows(3, (0,))
    cont = np.array([1, 2], np.int64)  # person 0's contacts are persons 1 and 2
    loc = np.array([-1, 0, 2], np.int16)  # contacts in destinations 0 (home province) and 2
    b = 0.5
    adj = choice._network_adjustment(0, e, cont, loc, b, near, 3.0)
    assert adj == pytest.approx(1.0 * (2**b - 1) * 3.0 + 3.0 * (2**b - 1))


def _returns(dist: int, near_mult: float, n: int = 20_000) -> float:
    from sim.core.rng import tick_key
    from sim.mechanisms import returns
    from tests.test_mechanisms import households, persons

    p = persons(n, loc=3)
    p.sector[:] = 0  # all in wage jobs
    p.dist[:] = dist
    returned = np.zeros(n, np.int8)
    returns.draw_returns(tick_key(1, "test", 0), np.array([0, n], np.int64), p, households([0]),
                         25, 45, False, 0.05, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0,
                         np.zeros(1, np.int8), 0.0, near_mult, 0.0, 1.0, 2000, *returns.NO_WEDDINGS,
                         returned)
    return float(returned.mean())


def test_return_hazard_is_multiplied_inside_the_home_province_only():
    n = 20_000
    for dist, h in ((1, 0.15), (3, 0.05)):  # across counties: x3; across provinces: as before
        q = 1 - np.exp(-h)
        assert abs(_returns(dist, 3.0, n) - q) < 4 * np.sqrt(q * (1 - q) / n)


OFF = {"family_near_share": 1.0, "return_near_mult": 1.0}


def _share_across(params: dict) -> float:
    sim = Simulation(Params({**OFF, **params}), agents=AGENTS, seed=SEED, start_year=START,
                     years=YEARS, threads=1)
    return float(sim.run().annual("share_stock", "dist:across_province")[-1])


@pytest.fixture(scope="module")
def shares() -> dict[str, float]:
    return {
        "default": _share_across({}),
        "near": _share_across({"family_near_share": 0.2}),
        "seasonal": _share_across({"return_near_mult": 3.0}),
    }


def test_family_proximity_keeps_parents_in_the_home_province(shares):
    """Parents who bear only a fifth of the family cost in their own province move across
    provinces less: the across-province share of the stock falls (common random numbers)."""
    assert shares["near"] < shares["default"] - 0.005


def test_seasonal_returns_thin_the_stock_inside_the_province(shares):
    """Shorter spells inside the home province leave a larger across-province share."""
    assert shares["seasonal"] > shares["default"] + 0.005
