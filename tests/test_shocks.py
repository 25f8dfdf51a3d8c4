"""Demand shocks (``sim/data/shocks.toml``, ``sim.core.shocks``; issue 14): episodes are read
and checked, the month's multipliers follow the stated rule, a path of names steps the lever,
and a shock moves the model only from its first month, under common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.core.encodings import SECTOR_NAMES
from sim.core.params import ParamError
from sim.core.shocks import choices, demand_multipliers, episodes, selected
from sim.engine.registry import Params
from sim.mesa.reference import ReferenceModel

MFG = SECTOR_NAMES.index("manufacturing")


def test_episodes_have_sources_and_stay_out_of_the_fitted_years():
    hist = [e for e in episodes() if e.kind == "history"]
    assert {e.id for e in hist} >= {"export_collapse_2008", "lockdown_2020"}
    for e in hist:
        assert "http" in e.source and "(1 + g_month) / (1 + g_year)" in e.derivation, e.id
        assert min(e.output_ratio)[0] >= 2007, "no shock inside the fitted 1985-2006"
        assert all(0.5 < r < 1.0 for r in e.output_ratio.values()), e.id


def test_hypothetical_episodes_repeat_their_model_shifted():
    by_id = {e.id: e for e in episodes()}
    rep, orig = by_id["export_shock_2027"], by_id["export_collapse_2008"]
    assert sorted(rep.output_ratio.values()) == sorted(orig.output_ratio.values())
    assert min(rep.output_ratio) == (2027, 10) and min(orig.output_ratio) == (2008, 10)
    assert {e.id for e in selected("history+lockdown_2027")} >= {
        "lockdown_2027", "lockdown_2027_services", "lockdown_2027_trade", "lockdown_2020"}
    assert "export_shock_2027" not in {e.id for e in selected("history")}
    assert selected("none") == ()
    assert choices()[:2] == ("none", "history")


def test_multipliers_by_hand():
    assert demand_multipliers("none", 2020, 2, 0.7) is None
    assert demand_multipliers("history", 2020, 7, 0.7) is None  # no episode that month
    m = demand_multipliers("history", 2020, 2, 0.7)
    ratio = {e.id: e.output_ratio[(2020, 2)] for e in episodes() if (2020, 2) in e.output_ratio}
    assert m[MFG] == pytest.approx(1 + 0.7 * (ratio["lockdown_2020"] - 1))
    assert m[SECTOR_NAMES.index("trade_catering")] == pytest.approx(
        1 + 0.7 * (ratio["lockdown_2020_trade"] - 1))
    assert np.allclose(demand_multipliers("history", 2020, 2, 0.0), 1.0)
    assert np.array_equal(demand_multipliers("history+lockdown_2027", 2027, 2, 0.7), m)


def test_the_lever_takes_a_stepwise_path_of_names_and_refuses_others():
    p = Params({"demand_shocks": {"1985": "history", "2027": "history+export_shock_2027"}})
    assert p.at(2026).demand_shocks == "history"
    assert p.at(2030).demand_shocks == "history+export_shock_2027"
    with pytest.raises(ParamError, match="did you mean 'history'"):
        Params({"demand_shocks": "histroy"})
    with pytest.raises(ParamError, match="stepwise"):
        Params({"demand_shocks": {"mode": "linear", "1985": "none", "2020": "history"}})


def test_reference_model_refuses_shocks():
    with pytest.raises(ValueError, match="demand shocks in the run"):
        ReferenceModel({"demand_shocks": "history"}, agents=1000, start_year=2019, years=2)
    ReferenceModel({"demand_shocks": "history"}, agents=1000, start_year=2000, years=1)


def test_the_2008_collapse_moves_the_model_from_october_2008_only():
    def run(choice: str):
        sim = Simulation(Params({"demand_shocks": choice}), agents=20_000, seed=3,
                         start_year=2007, years=3, threads=1)
        return sim.run().series()

    a, b = run("none"), run("history")
    first = 12 * (2008 - 2007) + 9  # October 2008
    for key in a:
        assert np.array_equal(a[key][:first], b[key][:first], equal_nan=True), key
    mfg = ("sector_share", "sector:manufacturing")
    gap = b[mfg][first:first + 8] - a[mfg][first:first + 8]
    assert np.nanmean(gap) < 0, gap
    unemp = ("unemployment_rate", "migrants")
    assert np.nanmean(b[unemp][first:first + 8] - a[unemp][first:first + 8]) > 0
