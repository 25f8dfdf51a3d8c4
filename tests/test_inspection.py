"""Labour inspection capacity (``sim/mechanisms/inspection.py``, issue 17 part 2).

The rule is checked analytically (limits, monotonicity, the documented 2004 derivation of the
effectiveness constants), then through the year's inputs that carry its outcomes to matching,
pay and work safety, then in small runs (fixed seeds) under common random numbers: a run with
more inspectors from 2004 shares every draw with the baseline, so nothing differs before 2004
and the enforcement outcomes move the way the rule says afterwards.
"""

from __future__ import annotations

import numpy as np
import pytest
from threads import arrays_by_thread_count, assert_same_arrays

import sim.engine.registry as registry
from sim import Simulation
from sim.core.geography import load_geography
from sim.core.params import ParamError
from sim.engine.registry import Params
from sim.engine.yearly import year_quantities
from sim.experiments.invariants import run_checked
from sim.mechanisms import inspection as ins
from sim.mechanisms import wages

RETIRED = ("min_wage_enforcement", "arrears_enforcement", "contract_enforcement",
           "injury_claim_enforcement")
AGENTS, SEED, START, YEARS, POLICY = 20_000, 4, 2002, 5, 2004
DOUBLED = {"inspectors_per_10k_workers": {"mode": "step", "1985": 0.0, "1995": 0.2857,
                                          "2004": 0.5714, "2005": 0.60}}


def _pars(year, **over):
    return Params(over).at(year)


# ----------------------------------------------------------------------------- the rule
def test_defaults_reproduce_the_old_2004_values():
    """The documented calibration: at the 2004 inputs the rule gives the retired paths' 2004
    values (minimum wage 0.4, arrears 0.45, contracts 0.12, injury claims 0.5) up to the
    rounding of the effectiveness constants to 4 decimals, and re-deriving them gives the
    defaults."""
    pars = _pars(ins.CALIBRATION_YEAR)
    assert pars.inspectors_per_10k_workers == pytest.approx(1e4 / 35_000, abs=1e-4)
    det = ins.detection_at(pars, pars.inspectors_per_10k_workers)
    for k, x in enumerate(ins.VIOLATIONS):
        assert det[k] == pytest.approx(ins.OLD_2004[x], abs=2e-4), x
        a = ins.derive_effect(getattr(pars, f"compliance_{x}"),
                              getattr(pars, f"complaint_prob_{x}"), pars.complaint_handling,
                              getattr(pars, f"inspection_focus_{x}"),
                              pars.inspectors_per_10k_workers, ins.OLD_2004[x])
        assert a == pytest.approx(getattr(pars, f"inspection_effect_{x}"), abs=1e-4), x


def test_no_inspectors_leaves_voluntary_compliance_and_many_approach_one():
    pars = _pars(2006)
    c = np.array([getattr(pars, f"compliance_{x}") for x in ins.VIOLATIONS])
    assert np.allclose(ins.detection_at(pars, 0.0), c, rtol=0, atol=1e-12)
    assert np.all(ins.detection_at(pars, 1e3) > 0.999)
    before_law = ins.detection_at(_pars(1990), _pars(1990).inspectors_per_10k_workers)
    assert np.allclose(before_law, c, rtol=0, atol=1e-12)  # no inspection before the Labour Law


def test_detection_rises_with_inspectors_focus_and_complaints():
    base = _pars(2006)
    i = np.linspace(0.0, 3.0, 31)
    det = ins.detection_at(base, i)
    assert det.shape == (31, 4)
    assert np.all(np.diff(det, axis=0) > 0)
    d0 = ins.detection_at(base, 0.3)
    for x in ins.VIOLATIONS:
        k = ins.VIOLATIONS.index(x)
        more_focus = _pars(2006, **{f"inspection_focus_{x}": 0.05 + base.__dict__[
            f"inspection_focus_{x}"]})
        more_complaints = _pars(2006, **{f"complaint_prob_{x}": 0.5})
        assert ins.detection_at(more_focus, 0.3)[k] > d0[k], x
        assert ins.detection_at(more_complaints, 0.3)[k] > d0[k], x
        other = [j for j in range(4) if j != k]
        assert np.array_equal(ins.detection_at(more_focus, 0.3)[other], d0[other])


def test_derivation_refuses_an_unreachable_target():
    with pytest.raises(ValueError, match="not reachable"):
        ins.derive_effect(0.5, 0.0, 3.5, 0.1, 0.3, 0.4)  # compliance alone is above 0.4


def test_retired_enforcement_parameters_are_refused():
    """The hand-set enforcement paths are retired: setting one is an error, not ignored."""
    schema = registry.schema()
    for name in RETIRED:
        assert name not in schema
        with pytest.raises(ParamError):
            Params({name: 0.5})


def test_bad_values_refused():
    with pytest.raises(ParamError):
        Params({"inspectors_per_10k_workers": -0.1})
    with pytest.raises(ParamError):
        Params({"inspection_focus_arrears": 1.5})
    with pytest.raises(ValueError, match="focus shares sum"):
        Simulation({"inspection_focus_arrears": 0.6, "inspection_focus_contracts": 0.5},
                   agents=500, seed=1, start_year=2000, years=1, threads=1)
    with pytest.raises(ValueError, match="in 2009"):  # a path that goes over 1 later
        Simulation({"inspection_focus_min_wage": {"mode": "step", "2000": 0.2, "2009": 0.9}},
                   agents=500, seed=1, start_year=2000, years=1, threads=1)


# ----------------------------------------------------------------------------- year inputs
@pytest.mark.parametrize("year", [1990, 2003, 2006])
def test_year_inputs_carry_the_outcomes(year):
    """Matching, pay and work safety read the outcomes through the year's inputs (the same
    function feeds the fast core and the Mesa reference)."""
    geo = load_geography()
    pars = _pars(year)
    yq = year_quantities(geo, pars, year, np.ones(geo.n_prov))
    det = ins.detection_at(pars, pars.inspectors_per_10k_workers)
    assert np.array_equal(yq.detection, det)
    assert yq.minwage_prob == det[ins.MIN_WAGE] and yq.injury_claim_prob == det[ins.INJURY]
    assert np.allclose(yq.arrears_risk,
                       wages.sector_vector(pars, "arrears_risk") * (1 - det[ins.ARREARS]))
    assert np.allclose(yq.informal_prob,
                       wages.sector_vector(pars, "informal_prob") * (1 - det[ins.CONTRACTS]))
    assert yq.inspectors.shape == (geo.n_prov,)
    assert yq.detection_dest.shape == (geo.n_dest, 4)
    assert np.allclose(yq.detection_dest, det[None, :])  # national until a provincial series


# ----------------------------------------------------------------------------- runs
def _run(params):
    s = Simulation(params, agents=AGENTS, seed=SEED, start_year=START, years=YEARS, threads=1)
    return s.run()


@pytest.fixture(scope="module")
def pair():
    return _run({}), _run(DOUBLED)


def test_more_inspectors_more_minimum_wage_fewer_arrears(pair):
    """Common random numbers: identical before 2004; from 2004 on, with inspectors doubled,
    more migrant jobs pay at least the minimum wage, more migrants are paid in full and fewer
    jobs are informal (means over 2004-2006), and the recorded detection chances are higher."""
    base, more = pair
    k = POLICY - START
    for ind in ("share_paid_min_wage", "share_fully_paid", "share_informal"):
        a, b = base.annual(ind, "migrants"), more.annual(ind, "migrants")
        assert np.array_equal(a[:k], b[:k]), ind
    up = slice(k, YEARS)
    assert (more.annual("share_paid_min_wage", "migrants")[up].mean()
            > base.annual("share_paid_min_wage", "migrants")[up].mean())
    assert (more.annual("share_fully_paid", "migrants")[up].mean()
            > base.annual("share_fully_paid", "migrants")[up].mean())
    assert (more.annual("share_informal", "migrants")[up].mean()
            < base.annual("share_informal", "migrants")[up].mean())
    for x in ins.VIOLATIONS:
        assert np.array_equal(base.annual(f"detect_{x}")[:k], more.annual(f"detect_{x}")[:k])
        assert np.all(more.annual(f"detect_{x}")[up] > base.annual(f"detect_{x}")[up]), x
    assert np.all(more.annual("inspectors_per_10k")[up] > 0.5)


def test_indicators_are_consistent(pair):
    """The recorded chances are the rule's; cases and complaints are non-negative and the
    arrears cases grow when the campaign raises the arrears focus (2004, 2005)."""
    base, _ = pair
    for j, year in enumerate(range(START, START + YEARS)):
        pars = _pars(year)
        det = ins.detection_at(pars, pars.inspectors_per_10k_workers)
        for k, x in enumerate(ins.VIOLATIONS):
            assert base.annual(f"detect_{x}")[j] == pytest.approx(det[k]), (year, x)
    for ind in ("arrears_cases", "minwage_cases", "arrears_complaints"):
        assert np.all(base.annual(ind) >= 0) and base.annual(ind).sum() > 0, ind
    cases = base.annual("arrears_cases")
    assert cases[POLICY - START] > cases[POLICY - START - 1]


def test_invariants_hold_with_more_inspectors():
    out = run_checked({**DOUBLED, "inspection_focus_arrears": 0.5}, agents=3000, seed=3,
                      start_year=2003, years=3)
    assert out["failures"] == []


_CHILD = """
import sys, numpy as np
from sim import Simulation
sim = Simulation({"inspectors_per_10k_workers": 0.8}, agents=3000, seed=5, start_year=2003,
                 years=2)
res = sim.run()
np.savez(sys.argv[1], job=sim.persons.job, emp=sim.persons.employed,
         paid=res.annual("share_fully_paid", "migrants"), cases=res.annual("arrears_cases"))
"""


def test_thread_count_bit_identical(tmp_path):
    """Detection changes only probabilities of existing keyed draws: 1 and 2 threads give the
    same state."""
    out = arrays_by_thread_count(_CHILD, tmp_path)
    assert out[1]["cases"].sum() > 0
    assert_same_arrays(out[1], out[2])


def test_focus_shares_above_all_effort_are_refused():
    """Each focus share is in its range, but together they may not exceed all the inspectors'
    effort: the run is refused, naming the year and the shares."""
    with pytest.raises(ValueError, match="inspection focus shares sum to .* in 1990"):
        Simulation({"inspection_focus_min_wage": {"1985": 0.0, "1990": 1.0}}, agents=1000,
                   seed=1, start_year=1995, years=1)
