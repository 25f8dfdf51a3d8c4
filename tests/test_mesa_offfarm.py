"""Docking of rural off-farm work (TVE jobs): the reference model (``sim.mesa.offfarm``) against
the numba core (``sim.mechanisms.rural_offfarm``).

Set-up: ``tve_jobs_scale = 1``, 3,000 agents, 2000-2002 (36 months), seeds 1..8 for each model
(same seeds, same initial populations; the monthly draws differ). Indicators read in December
2002: the share of TVE job holders in the rural labour at home (``tve_share_of_rural_labour``)
and the migrant stock (``migrant_stock``, in agents).

Criteria for agreement (docking, as ``tests/test_docking.py``):

1. Welch's two-sample t-test (``scipy.stats.ttest_ind``, ``equal_var=False``) per indicator:
   the p-value must exceed alpha = 0.001;
2. the mean difference over the pooled between-replicate SD must be below 1.5 in absolute value.

Also: the reference's holders never exceed its capacity in any province and month (capacity
rises over 2000-2004, so hiring alone bounds them), and with ``tve_jobs_scale = 0`` the
reference has no holder and records zeros.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import HOME, RURAL
from sim.mesa import docking as dk
from sim.mesa.reference import KEY_INDICATORS, ReferenceModel

ON = {"tve_jobs_scale": 1.0}
AGENTS, START, YEARS = 3000, 2000, 3
SEEDS = range(1, 9)
ALPHA = 0.001
MAX_STD_DIFF = 1.5
SHARE, STOCK = ("tve_share_of_rural_labour", "total"), ("migrant_stock", "total")


def _core(seed: int) -> dict[str, float]:
    sim = Simulation(ON, agents=AGENTS, seed=seed, start_year=START, years=YEARS, threads=1)
    ser = sim.run().series()
    return {"tve_share@m36": float(ser[SHARE][-1]), "stock@m36": float(ser[STOCK][-1] / sim.scale)}


def _reference(seed: int) -> tuple[dict[str, float], ReferenceModel]:
    m = ReferenceModel(ON, agents=AGENTS, seed=seed, start_year=START, years=YEARS).run()
    share = m.offfarm_series()[SHARE][-1]
    stock = float(m.series()[STOCK][-1] / m.scale)
    return {"tve_share@m36": float(share), "stock@m36": stock}, m


@pytest.fixture(scope="module")
def reference_runs():
    return [_reference(s) for s in SEEDS]


def test_offfarm_docks_with_core(reference_runs):
    core = dk.replicate(_core, SEEDS)
    rows_ref = [r for r, _ in reference_runs]
    ref = {k: np.array([r[k] for r in rows_ref]) for k in rows_ref[0]}
    rows = dk.compare(ref, core)
    print(f"\nTVE docking, reference vs core, {len(SEEDS)} replicates each\n")
    print(dk.table(rows, ALPHA))
    for r in rows:
        assert r.p_welch > ALPHA, (r.name, r.p_welch)
        assert abs(r.std_diff) < MAX_STD_DIFF, (r.name, r.std_diff)
    assert ref["tve_share@m36"].mean() > 0.05  # the mechanism is on in both
    assert core["tve_share@m36"].mean() > 0.05


def test_reference_holders_within_capacity(reference_runs):
    for _, m in reference_runs:
        assert len(m.offfarm_check) == 12 * YEARS
        for holders, cap in m.offfarm_check:
            assert np.all(holders <= cap + 1e-9)
        assert sum(x.tve for x in m.persons) > 0
        assert all(x.loc == HOME and x.hukou == RURAL for x in m.persons if x.tve == 1)


def test_reference_without_tve_jobs_has_no_holder():
    m = ReferenceModel({}, agents=AGENTS, seed=1, start_year=START, years=1).run()
    assert all(x.tve == 0 for x in m.persons)
    for v in m.offfarm_series().values():
        assert np.all(v == 0)
    assert set(m.series()) == set(KEY_INDICATORS)  # the TVE indicators are kept apart
