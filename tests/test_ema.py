"""The EMA workbench adapter (sim.experiments.ema): model building, refusals, a small experiment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ema = pytest.importorskip("ema_workbench")

from sim.experiments.ema import (  # noqa: E402
    build_model,
    experiment_seed,
    lhs_scenarios,
    migsim_function,
    outcome_name,
    scenario_policies,
)

FILES = ["baseline_2015", "hukou_small_medium_open"]
U = {"beta_income": (1.5, 2.5), "matching_efficiency": (0.4, 0.6),
     "land_attachment": (0.2, 0.5)}
RUN = {"agents": 2000, "start_year": 2005, "years": 11}


def test_build_model_defaults_and_choices():
    m = build_model()
    names = {u.name for u in m.uncertainties}
    assert {"beta_income", "network_beta", "matching_efficiency"} <= names
    assert {"female_cost", "female_norm_effect"} <= names  # constant behaviour (issue 12)
    assert all(p.name != "hukou_penalty_small" for p in m.levers)  # a dated path lever
    assert "conversion_rate_small" in {p.name for p in m.levers}
    assert [o.name for o in m.outcomes][:2] == ["migrant_stock", "rural_origin_urban_population"]
    m = build_model(scenario=FILES, uncertainties=U,
                    levers={"hukou_penalty_small": (0.0, 1.0)},
                    outcomes=["unemployment_rate[migrants]"], **RUN)
    assert m.uncertainties["beta_income"].lower_bound == 1.5
    assert [p.name for p in m.levers] == ["hukou_penalty_small", "scenario_file"]
    assert [o.name for o in m.outcomes] == ["unemployment_rate_migrants"]
    assert [p.name for p in scenario_policies(m)] == FILES


@pytest.mark.parametrize("kwargs, hint", [
    ({"uncertainties": ["beta_incme"]}, "did you mean 'beta_income'"),
    ({"levers": ["conversion_rate_smal"]}, "did you mean 'conversion_rate_small'"),
    ({"outcomes": ["rural_origin_urban_pop"]}, "did you mean 'rural_origin_urban_population'"),
    ({"uncertainties": ["conversion_rate_small"]}, "role 'policy'"),
    ({"levers": ["beta_income"]}, "role 'behaviour'"),
    ({"uncertainties": {"beta_income": (1.0, 11.0)}}, "declared range"),
])
def test_refuses_bad_names_and_ranges(kwargs, hint):
    with pytest.raises(ValueError, match=hint):
        build_model(**kwargs)


def test_function_refuses_unknown_parameter():
    with pytest.raises(ValueError, match="did you mean 'beta_income'"):
        migsim_function(beta_incom=2.0, **RUN)


def test_seed_depends_on_uncertainties_only():
    assert experiment_seed(1, {"a": 1.0, "b": 2.0}) == experiment_seed(1, {"b": 2.0, "a": 1.0})
    assert experiment_seed(1, {"a": 1.0}) != experiment_seed(1, {"a": 1.5})
    assert experiment_seed(1, {"a": 1.0}) != experiment_seed(2, {"a": 1.0})
    assert outcome_name("labour_status_share[migrants:formal]") == (
        "labour_status_share_migrants_formal")


def test_lhs_scenarios_stratified_and_seeded():
    m = build_model(uncertainties={**U, "tve_age_max": (40, 60)}, levers=[])
    a, b = lhs_scenarios(m, 10, seed=5), lhs_scenarios(m, 10, seed=5)
    assert [dict(s.items()) for s in a] == [dict(s.items()) for s in b]
    x = np.array([s["beta_income"] for s in a])
    assert sorted(np.floor((x - 1.5) / 0.1).astype(int)) == list(range(10))  # one per stratum
    assert all(isinstance(s["tve_age_max"], int) and 40 <= s["tve_age_max"] <= 60 for s in a)
    assert lhs_scenarios(m, 10, seed=6)[0]["beta_income"] != a[0]["beta_income"]


def test_small_experiment_hukou_opening_raises_rural_origin_urban_population():
    m = build_model(scenario=FILES, uncertainties=U, levers=[], **RUN)
    with ema.SequentialEvaluator(m) as ev:
        exp, out = ev.perform_experiments(scenarios=lhs_scenarios(m, 4, seed=3),
                                          policies=scenario_policies(m))
    assert len(exp) == 8 and set(exp["policy"]) == set(FILES)
    assert set(out) == {o.name for o in m.outcomes}
    for v in out.values():
        assert v.shape == (8,) and np.isfinite(v).all()
    df = pd.concat([exp, pd.DataFrame(out)], axis=1)
    roup = df.pivot(index="scenario", columns="policy", values="rural_origin_urban_population")
    settled = df.pivot(index="scenario", columns="policy", values="settled_urban_hukou")
    # same draw of uncertainties, same seed: the paired difference is the policy's effect
    assert (settled[FILES[1]] > 1.5 * settled[FILES[0]]).all()
    assert (roup[FILES[1]] > roup[FILES[0]]).all()
    # a plain call with one experiment's values reproduces it (seeded by its uncertainties)
    row = exp.iloc[0]
    again = migsim_function(scenario_file=row["scenario_file"], **RUN,
                            **{k: row[k] for k in U})
    assert again["migrant_stock"] == pytest.approx(out["migrant_stock"][0], rel=1e-12)
