"""Invariants over the parameter space: a small seeded Latin hypercube of parameter vectors,
each uniform within the declared ranges, run small and checked every month (the full sweep of
a few hundred vectors is ``scripts/sweep_invariants.py``; its record is in ``scripts/results``)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.core.encodings import NO_YEAR
from sim.experiments.invariants import (
    Checker,
    check_children,
    check_indicators,
    children_in_tables,
    refusal,
    run_checked,
    sample_vectors,
)
from sim.experiments.resources import year_range

N, SEED, AGENTS, YEARS = 14, 15, 2000, 2
VECTORS = sample_vectors(N, SEED, years=YEARS)


def test_vectors_cover_the_declared_ranges():
    sch = sim.schema()
    for vec in VECTORS:
        for name, p in sch.items():
            v = vec[name]
            if p.kind is str:
                assert v in p.choices
            elif p.kind is not bool:
                assert p.lo <= v <= p.hi and isinstance(v, p.kind), name
        first, last = year_range(sim.Params({k: v for k, v in vec.items()
                                             if k in sch}), YEARS)
        assert first <= vec["start_year"] <= last
    # Latin hypercube: each numeric parameter has one draw in each of the N strata
    p = sch["beta_income"]
    strata = sorted(int((v["beta_income"] - p.lo) / (p.hi - p.lo) * N) for v in VECTORS)
    assert strata == list(range(N))


@pytest.mark.parametrize("i", range(N))
def test_invariants_hold(i):
    vec = VECTORS[i]
    params = {k: v for k, v in vec.items() if k not in ("start_year", "seed")}
    res = run_checked(params, agents=AGENTS, seed=vec["seed"], start_year=vec["start_year"],
                      years=YEARS)
    assert res["failures"] == [], {"vector": i, "start_year": vec["start_year"],
                                   "failures": res["failures"]}
    # values that do not fit together are refused cleanly before the build, not run
    assert res.get("refused") == refusal(params)


def test_most_vectors_run():
    refused = [i for i, v in enumerate(VECTORS)
               if refusal({k: x for k, x in v.items() if k not in ("start_year", "seed")})]
    assert len(refused) < N // 2, refused


def test_children_flows_balance_and_a_lost_child_is_caught():
    """The children's table changes by exactly the recorded flows, month by month (births,
    entrants at 15, tertiary exits, children settling with a converted parent); a child
    removed outside them is reported."""
    model = sim.Simulation(agents=AGENTS, seed=2, start_year=2003, years=3)
    kids, chk = children_in_tables(model), Checker()
    for t in range(model.n_months):
        model.step()
        if t == 20:
            h, j = np.argwhere(model.households.child_by != NO_YEAR)[0]
            model.households.child_by[h, j] = NO_YEAR
            model.households.n_children[h] -= 1
        kids = check_children(model, t, kids, chk)
    assert chk.failures and all("month 20: children change by the flows" in f
                                for f in chk.failures), chk.failures
    sc = model.rec.scalars
    assert np.nansum(sc["births"]) > 0 and np.nansum(sc["tertiary_exits"]) > 0


def test_checks_have_teeth():
    """Corrupted records are caught: a share above one, a NaN where a value is expected, a
    negative count."""
    model = sim.Simulation(agents=AGENTS, seed=1, start_year=1995, years=1)
    res = model.run()
    chk = Checker()
    check_indicators(res, set(), chk)
    assert chk.failures == []
    res.rec.profile[3, 0] = res.rec.stock_dest[3].sum() * 2  # share male = 2
    res.rec.scalars["wage_sum_rmb"][4] = np.nan
    res.rec.returnflow[5] = -1
    chk = Checker()
    check_indicators(res, set(), chk)
    text = "\n".join(chk.failures)
    assert "month 3: share in [0, 1]: share_male[total]" in text
    assert "month 4: finite where expected: mean_wage_rmb_2000[migrants]" in text
    assert "returnflow" in text
