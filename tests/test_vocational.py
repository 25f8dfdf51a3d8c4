"""Entrants on the vocational track of senior schooling enter trained (``demography.enter``,
``entrant_vocational_share``; seed 1.3: 9.1% of rural labourers, 18% of migrants trained)."""

from __future__ import annotations

import math

import numpy as np

from sim import Simulation
from sim.core.encodings import RURAL, VACANT
from sim.core.rng import tick_key, uniform
from sim.core.state import PERSON_FIELDS, Persons
from sim.mechanisms import demography
from sim.mesa.reference import ReferenceModel

KEY = tick_key(3, "demography", 12)


def vacant(n: int):
    p = Persons.allocate(n, PERSON_FIELDS)
    p.hukou[:] = VACANT
    p.trained[:] = 1  # a previous occupant's training does not pass to the entrant
    return p.core


def test_only_the_senior_schooled_can_enter_trained():
    """Senior share 0: nobody is trained, whatever the vocational share; senior share 1 and
    vocational share 1: everybody is."""
    slots = np.arange(50, dtype=np.int64)
    p = vacant(50)
    demography.enter(KEY, slots, p, 1.0, 0.0, 1.0)
    assert (p.school == 1).all() and (p.trained == 0).all() and (p.hukou == RURAL).all()
    p = vacant(50)
    demography.enter(KEY, slots, p, 0.0, 1.0, 1.0)
    assert (p.school == 2).all() and (p.trained == 1).all()
    p = vacant(50)
    demography.enter(KEY, slots, p, 0.0, 1.0, 0.0)
    assert (p.trained == 0).all()


def test_trained_entrants_follow_their_own_draw():
    """Each senior entrant is trained exactly when its draw (stream counter 3) is below the
    share; the share trained among 20,000 senior entrants is within four binomial standard
    errors of 0.45, and no one else is trained."""
    n, share = 20_000, 0.45
    slots = np.arange(n, dtype=np.int64)
    p = vacant(n)
    demography.enter(KEY, slots, p, 0.3, 0.4, share)
    senior = p.school == 2
    draws = np.array([uniform(KEY, i, 3) for i in range(n)])
    assert np.array_equal(p.trained == 1, senior & (draws < share))
    k = int(senior.sum())
    assert abs(p.trained[senior].mean() - share) < 4 * math.sqrt(share * (1 - share) / k)
    assert abs(k / n - 0.4) < 4 * math.sqrt(0.24 / n)


def test_vocational_share_changes_only_training():
    """Common random numbers: a larger share keeps every entrant's sex and schooling and
    trains a superset of those trained at the smaller share."""
    slots = np.arange(5000, dtype=np.int64)
    lo, hi = vacant(5000), vacant(5000)
    demography.enter(KEY, slots, lo, 0.3, 0.4, 0.3)
    demography.enter(KEY, slots, hi, 0.3, 0.4, 0.6)
    assert np.array_equal(lo.sex, hi.sex) and np.array_equal(lo.school, hi.school)
    assert ((lo.trained == 1) <= (hi.trained == 1)).all()
    assert hi.trained.sum() > 1.5 * lo.trained.sum() > 0


def _fifteen(sim) -> tuple[np.ndarray, np.ndarray]:
    """Schooling and training of the persons aged 15 at the end (the January's entrants: the
    yearly training reaches ages 16-35 only)."""
    p = sim.persons
    k = (p.age == 15) & (p.hukou != VACANT)
    return p.school[k], p.trained[k]


def test_simulation_entrants_carry_the_year_share():
    """In the whole model the share reaches the entrants: at share 1 every 15-year-old with
    senior schooling is trained, at share 0 no 15-year-old is."""
    one = Simulation({"entrant_vocational_share": 1.0}, agents=20_000, seed=4,
                     start_year=2000, years=2)
    one.run()
    school, trained = _fifteen(one)
    assert (school == 2).sum() > 20
    assert np.array_equal(trained == 1, school == 2)
    zero = Simulation({"entrant_vocational_share": 0.0}, agents=20_000, seed=4,
                      start_year=2000, years=2)
    zero.run()
    school0, trained0 = _fifteen(zero)
    assert (trained0 == 0).all() and np.array_equal(school0, school)


def test_reference_model_entrants_carry_the_share():
    """The reference model's entrants (``Person.become_entrant``) follow the same rule."""
    m = ReferenceModel({"entrant_vocational_share": 1.0}, agents=3000, seed=2,
                       start_year=2000, years=2)
    m.run()
    young = [x for x in m.persons if x.age == 15 and x.hukou != VACANT]
    assert sum(x.school == 2 for x in young) > 3
    assert all(x.trained == int(x.school == 2) for x in young)
