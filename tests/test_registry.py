"""The mechanism registry: step order, declarations, parameter roles, added mechanisms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import Indicator, Mechanism, Param, StateField
from sim.core.params import ROLES, ParamError
from sim.engine import registry
from sim.engine.loop import ENGINE_STREAMS

ROOT = Path(sim.__file__).resolve().parent


def test_step_order_is_the_registry_order():
    mechs = registry.build()
    assert sim.STEP_ORDER == tuple(m.name for m in mechs if m.runs_monthly())
    assert sim.STEP_ORDER[0] == "demography" and sim.STEP_ORDER[-1] == "record"
    assert [m.name for m in mechs][:2] == ["population", "network"]  # set-up only


def test_schema_is_gathered_from_the_registry_and_every_parameter_has_a_role():
    sch = sim.schema()
    declared = [p.name for cls in registry.REGISTRY for p in cls.params]
    assert list(sch) == declared
    assert {p.role for p in sch.values()} <= set(ROLES)
    for role in ROLES:
        assert registry.by_role(role), role
    # levers that scenarios move are policy; preferences behaviour
    assert sch["hukou_penalty_small"].role == "policy"
    assert sch["network_beta"].role == "behaviour"
    assert sch["gdp_growth_shift"].role == "exogenous"


def test_a_parameter_without_a_role_is_refused():
    with pytest.raises(ValueError, match="role must be one of"):
        Param("x", 1.0, "u", 0, 2, "s", "d")
    with pytest.raises(ValueError, match="role must be one of"):
        Param("x", 1.0, "u", 0, 2, "s", "d", role="preference")


def _streams_in_code() -> set[str]:
    """String literals used as stream names: key("..."), tick_key(seed, "...", ...),
    uniform_array(seed, "...", ...)."""
    found = set()
    for f in ROOT.rglob("*.py"):
        if "mesa" in f.parts:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            pos = {"key": 0, "_key": 0, "tick_key": 1, "uniform_array": 1}.get(name)
            if pos is not None and len(node.args) > pos:
                a = node.args[pos]
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found.add(a.value)
    return found


def test_every_random_stream_is_declared_once():
    declared = [s for cls in registry.REGISTRY for s in cls.streams] + list(ENGINE_STREAMS)
    assert len(declared) == len(set(declared)), "a stream declared by two mechanisms"
    used = _streams_in_code()
    assert used, "no streams found: the scan is broken"
    assert used <= set(declared), f"undeclared streams: {sorted(used - set(declared))}"
    for s in declared:
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", s), s


class _Counter(Mechanism):
    name = "counter"
    params = (Param("counter_step", 1.0, "count", 0.0, 10.0, "test", "added per month",
                    role="behaviour"),)
    person_state = (StateField("touched", "int8", "test", fill=0, home=0),)
    household_state = (StateField("hh_mark", "int16", "test", fill=7, level="household"),)
    buffers = (StateField("tmp", "float32", "test"),)
    results = (Indicator("counter_total", "count", "test"),)
    streams = ("counter.draw",)

    def step(self, sim_):
        sim_.rec.scalars["counter_total"][sim_.t] = sim_.t * sim_.pars.counter_step
        sim_.persons.touched[sim_.persons.loc != -1] = 1


def test_an_added_mechanism_is_allocated_placed_and_recorded():
    s = sim.Simulation({"counter_step": 2.0}, agents=5000, seed=1, start_year=1995, years=1,
                       mechanisms=[_Counter()])
    names = [m.name for m in s.mechanisms]
    assert names.index("counter") == names.index("record") - 1
    assert s.persons.touched.dtype == np.int8 and not s.persons.touched.any()
    assert (s.households.hh_mark == 7).all()
    assert s.buf.tmp.shape == (s.persons.n,)
    before = sum(s.memory_bytes().values())
    plain = sim.Simulation(agents=5000, seed=1, start_year=1995, years=1)
    assert before - sum(plain.memory_bytes().values()) == (
        s.persons.n * (1 + 4) + s.households.n * 2
    )
    res = s.run()
    assert "counter" in s.timings  # the added stage is timed with the others
    assert res.rec.scalars["counter_total"][5] == 10.0
    # persons sent home get their `home` value back
    assert not s.persons.touched[s.persons.loc == -1].any()


def test_added_mechanism_after_a_named_stage_and_bad_registries():
    class AfterReturns(_Counter):
        name = "counter2"
        after = "returns"
        params = ()
        person_state = household_state = buffers = ()
        results = ()
        streams = ()

    names = [m.name for m in registry.build([AfterReturns()])]
    assert names[names.index("returns") + 1] == "counter2"

    class Nowhere(AfterReturns):
        after = "nowhere"

    with pytest.raises(ValueError, match="names no stage"):
        registry.build([Nowhere()])

    class Clash(_Counter):
        name = "clash"
        params = (Param("network_beta", 1.0, "u", 0, 2, "s", "d", role="behaviour"),)

    with pytest.raises(ValueError, match="network_beta"):
        registry.build([Clash()])
    with pytest.raises(TypeError, match="not a Mechanism"):
        registry.build([object()])


def test_added_parameters_are_validated_like_the_model_s_own():
    with pytest.raises(ParamError, match="outside its range"):
        sim.Simulation({"counter_step": 99.0}, agents=5000, years=1, mechanisms=[_Counter()])
    with pytest.raises(ParamError, match="unknown parameter 'counter_step'"):
        sim.Simulation({"counter_step": 1.0}, agents=5000, years=1)
    # a Params without the added parameters is extended with their defaults
    s = sim.Simulation(sim.Params(), agents=5000, years=1, mechanisms=[_Counter])
    assert s.params["counter_step"] == 1.0


def test_send_home_resets_exactly_the_declared_home_values():
    """``send_home`` takes the person state whole and gives every field declared with a ``home``
    value that value, leaving the others alone (a new field with a home value that send_home
    forgets fails here)."""
    from sim.core.state import PERSON_FIELDS, Persons, send_home

    p = Persons.allocate(3, PERSON_FIELDS)
    for f in PERSON_FIELDS:
        getattr(p, f.name)[:] = 7
    send_home(1, p.core)
    for f in PERSON_FIELDS:
        a = getattr(p, f.name)
        assert a[0] == a[2] == 7, f.name
        assert a[1] == (7 if f.home is None else f.home), f.name


def test_kernels_take_the_state_whole_and_write_through_it():
    """A parallel kernel writes into the arrays of the PersonArrays it is handed (numba loses
    writes made through ``p.x`` inside a prange, so kernels bind arrays first; this guards it)."""
    from sim.core.state import PERSON_FIELDS, Persons, add_month_away

    p = Persons.allocate(1000, PERSON_FIELDS)
    p.hukou[:] = 0
    p.loc[::2] = 5
    add_month_away(p.core)
    assert p.months_away[::2].tolist() == [1] * 500 and not p.months_away[1::2].any()


def test_values_that_do_not_fit_together_are_refused_before_any_build():
    """Each in range, together impossible: a mechanism's ``check`` refuses them."""
    with pytest.raises(ValueError, match="parent_age_min .* above parent_age_max"):
        sim.Simulation({"parent_age_min": 40, "parent_age_max": 30}, agents=2000, years=1)


def test_an_age_structure_beyond_the_births_data_is_refused_clearly():
    from sim.core.geography import load_geography
    from sim.mechanisms.demography import Projection

    proj = Projection(load_geography(), sim.Params())
    with pytest.raises(ValueError, match="births.csv gives cohorts entering up to"):
        proj.by_age(proj.last_entry + 1)
