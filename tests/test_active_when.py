"""Parameters read only under a condition (``Param.active_when``): the declarations, the
warning a run gives when one is set but never read, and the screening that finds them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.core.params import ParamError, condition_holds, parse_condition
from sim.engine.registry import schema
from sim.experiments.sensitivity import moved_value

ROOT = Path(__file__).resolve().parents[1]
SCREEN = ROOT / "calibration" / "results" / f"inert_parameters_{sim.__version__}.json"


def declared() -> dict[str, str]:
    return {k: p.active_when for k, p in schema().items() if p.active_when}


def test_conditions_parse_and_hold_by_hand():
    alts = parse_condition("a > 0 and b == 1 or c != none")
    assert alts == [[("a", ">", 0.0), ("b", "==", 1.0)], [("c", "!=", "none")]]
    ns = type("NS", (), {})
    v = ns()
    v.a, v.b, v.c = 0.5, True, "none"
    assert condition_holds("a > 0 and b == 1 or c != none", v)
    v.b = False
    assert not condition_holds("a > 0 and b == 1 or c != none", v)
    v.c = "Zhengzhou"
    assert condition_holds("a > 0 and b == 1 or c != none", v)
    for bad in ("a >", "a => 0", "a > zero", "a 0 >"):
        with pytest.raises(ValueError):
            parse_condition(bad)


def test_declarations_name_real_parameters_and_fail_at_the_defaults():
    sch = schema()
    d = sim.Params()
    assert len(declared()) >= 30
    for name, cond in declared().items():
        for alt in parse_condition(cond):
            for other, _, x in alt:
                assert other in sch, (name, other)
                if isinstance(x, str):
                    assert sch[other].choices and x in sch[other].choices, (name, other, x)
        # every conditional parameter is idle in a default run of any years
        assert not any(condition_holds(cond, d.at(y)) for y in (1985, 2006, 2030)), name


def test_inert_lists_changed_parameters_that_are_never_read():
    p = sim.Params({"demand_growth_elasticity": 2.0, "siyb_coverage": 0.1, "asc_home": 0.0})
    found = p.inert(range(1985, 2007))
    assert set(found) == {"demand_growth_elasticity", "siyb_coverage"}
    assert "local_competition == 0" in found["demand_growth_elasticity"]
    # the switch set too: read, so no warning
    assert sim.Params({"demand_growth_elasticity": 2.0, "local_competition": False}
                      ).inert(range(1985, 2007)) == {}
    # a path that turns the switch on in 2010 counts only in runs that reach 2010
    q = sim.Params({"ent_start_rate_year": {"mode": "step", "1985": 0.0, "2010": 0.003},
                    "siyb_coverage": 0.1})
    assert q.inert(range(1985, 2010)) == {"siyb_coverage": q.inert(range(1985, 2010))[
        "siyb_coverage"]}
    assert q.inert(range(1985, 2012)) == {}
    assert sim.Params().inert(range(1985, 2007)) == {}


def test_conditions_are_on_national_values():
    """A condition reads the national value; none names a lever that may be set by place
    (where it could hold in one province only)."""
    from sim.engine.yearly import PLACE_PARAMS

    for name, cond in declared().items():
        assert not {c[0] for alt in parse_condition(cond) for c in alt} & set(PLACE_PARAMS), name


def test_simulation_and_manifest_record_inert_parameters(tmp_path):
    from sim.io.output import write_run

    s = sim.Simulation({"self_asc": 1.0}, agents=1000, seed=1, years=1)
    assert set(s.inert_params) == {"self_asc"}
    path = write_run(s.run(), tmp_path / "run", simulation=s)
    man = json.loads((Path(path) / "manifest.json").read_text())
    assert set(man["inert_params"]) == {"self_asc"}


def test_cli_run_warns(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    res = CliRunner().invoke(app, ["run", "baseline", "--agents", "1000", "--years", "1",
                                   "--out", str(tmp_path / "r"), "--quiet",
                                   "--set", "ht_response=2.0"])
    assert res.exit_code == 0, res.output
    assert "ht_response" in res.output and "ht_mode == 1" in res.output


def test_batch_plan_warns_once_per_parameter(tmp_path):
    from sim.experiments.plan import plan_batch

    plan = plan_batch(["baseline"], out=tmp_path / "b", replicates=2, agents=1000, seed=1,
                     years=2, sets=["tve_wage_ratio=2.0"])
    msgs = [m for m in plan.warnings if "tve_wage_ratio" in m]
    assert len(msgs) == 1 and "tve_jobs_scale > 0" in msgs[0] and "baseline" in msgs[0]


def _satisfy(cond: str) -> dict:
    """Values of the condition's parameters under which it holds (its first alternative)."""
    sch = schema()
    out = {}
    for name, op, x in parse_condition(cond)[0]:
        p = sch[name]
        if isinstance(x, str):
            out[name] = next(c for c in p.choices if c != x) if op == "!=" else x
        elif p.kind is bool:
            out[name] = bool(x) if op == "==" else not bool(x)
        elif op in (">", ">="):
            out[name] = max(x, 0.0) + 0.25 * (p.hi - max(x, 0.0))
        elif op in ("<", "<="):
            out[name] = x - 0.25 * (x - p.lo)
        else:
            out[name] = x
    return out


def _series(over: dict, start_year: int = 1985, years: int = 16) -> np.ndarray:
    res = sim.Simulation(over, agents=3000, seed=2, start_year=start_year, years=years).run()
    return res.to_frame().value.to_numpy()


def test_each_condition_switches_its_parameter_on():
    """With its condition met, moving a conditional parameter changes the run: the
    declaration names the switch the rule waits for (3,000 persons, 1985-2000; 2006-2009 for
    the shock episodes)."""
    groups: dict[str, list[str]] = {}
    for name, cond in declared().items():
        groups.setdefault(cond, []).append(name)
    for cond, names in groups.items():
        on = _satisfy(cond)
        if "ent_start_rate_year" in on:  # enough start-ups for the levers to reach some
            on["ent_start_rate_year"] = 0.05
        if "relax_city" in on:  # a city with many migrants at 3,000 persons
            on["relax_city"] = "Shenzhen"
        # the shock episodes of sim/data/shocks.toml begin in 2008
        when = (2006, 4) if "demand_shocks" in on else (1985, 16)
        base = _series(on, *when)
        for name in names:
            moved = _series({**on, name: moved_value(schema()[name])}, *when)
            assert not np.array_equal(base, moved), f"{name} idle with {on}"


def test_committed_screening_matches_the_declarations():
    """The screening (``calibration/inert_parameters.py``) moved every scalar parameter alone
    at the defaults: those that changed nothing are exactly the declared conditional ones,
    besides those it names as idle only by rarity at its scale."""
    d = json.loads(SCREEN.read_text())
    assert d["version"] == sim.__version__
    idle = {k for k, v in d["parameters"].items() if v["inert"]}
    sch = schema()
    for k, v in d["parameters"].items():  # the screening moved each as moved_value does
        assert v["moved_to"] == pytest.approx(moved_value(sch[k])), k
    rare = set(d["rare"])
    assert idle - rare == set(declared()) & set(d["parameters"])
    assert not rare & set(declared())
    assert set(declared()) <= set(d["parameters"]) | {
        k for k, p in schema().items() if p.kind is not float or isinstance(p.default, dict)}


def test_calibration_refuses_nothing_but_names_an_idle_parameter():
    from sim.experiments.sensitivity import idle_parameters

    assert idle_parameters(("asc_home", "demand_growth_elasticity")) == {
        "demand_growth_elasticity": "local_competition == 0"}
    with pytest.raises(ParamError):
        idle_parameters(("no_such_parameter",))
