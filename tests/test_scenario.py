"""Scenario files: resolution, base chains, and an error that names file, key and fix."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.registry import Params, schema
from sim.experiments.scenario import (
    ALLOWED_KEYS,
    Scenario,
    ScenarioError,
    default_dir,
    list_scenarios,
    load_scenario,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sdir(tmp_path: Path) -> Path:
    d = tmp_path / "scenarios"
    write(d / "base.toml", 'name = "base"\ndescription = "the base"\nyears = 10\n'
          "[params]\nbeta_income = 1.5\nasc_home = 2.0\n")
    return d


def error(name, sdir) -> str:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(name, sdir)
    return str(exc.value)


# ------------------------------------------------------------------ the shipped baseline
def test_baseline_is_history_with_defaults():
    scn = load_scenario("baseline")
    assert isinstance(scn, Scenario)
    assert scn.name == "baseline"
    assert (scn.start_year, scn.years) == (1985, 22)
    assert scn.path == default_dir().resolve() / "baseline.toml"
    for section in ("1.1", "2.2", "2.3"):
        assert section in scn.description
    assert scn.to_params().changed() == {}
    assert "baseline" in list_scenarios()


def test_env_var_sets_scenarios_dir(sdir, monkeypatch):
    monkeypatch.setenv("MIGSIM_SCENARIOS", str(sdir))
    assert default_dir() == sdir
    assert list_scenarios() == ["base"]
    assert load_scenario("base").params == {"beta_income": 1.5, "asc_home": 2.0}


def test_list_scenarios_missing_dir(tmp_path):
    assert list_scenarios(tmp_path / "nowhere") == []


# ------------------------------------------------------------------ resolution and merging
def test_direct_path_and_defaults(tmp_path, sdir):
    f = write(tmp_path / "elsewhere" / "mine.toml", "[params]\nseparation_rate = 0.05\n")
    scn = load_scenario(f, sdir)
    assert scn.name == "mine"  # defaults to the file stem
    assert (scn.start_year, scn.years) == (1985, 22)
    assert scn.description == ""
    assert scn.chain == [f.resolve()]
    assert scn.to_params()["separation_rate"] == 0.05


def test_base_chain_merges_base_first(sdir):
    write(sdir / "mid.toml", 'base = "base"\nstart_year = 1990\n'
          "[params]\nasc_home = 4.0\nhukou_penalty_small = { \"1990\" = 1.0, \"2000\" = 0.1 }\n")
    write(sdir / "top.toml", 'name = "top scenario"\nbase = "mid"\nyears = 5\n'
          '[params]\nhukou_penalty_small = { "1995" = 0.5, mode = "step" }\n')
    scn = load_scenario("top", sdir)
    assert scn.name == "top scenario"
    assert [p.stem for p in scn.chain] == ["top", "mid", "base"]
    assert scn.start_year == 1990  # from mid
    assert scn.years == 5  # top overrides base's 10
    assert scn.description == "the base"  # inherited
    assert scn.params["beta_income"] == 1.5  # only in base
    assert scn.params["asc_home"] == 4.0  # mid overrides base
    # the child's path replaces the base's path as a whole
    assert scn.params["hukou_penalty_small"] == {"1995": 0.5, "mode": "step"}
    p = scn.to_params()
    assert p.at(1994).hukou_penalty_small == 0.5
    assert p.at(2010).hukou_penalty_small == 0.5


def test_base_relative_to_extending_file_first(tmp_path, sdir):
    # same name in the scenarios folder and next to the child: the sibling wins
    write(tmp_path / "project" / "base.toml", "[params]\nbeta_income = 3.0\n")
    child = write(tmp_path / "project" / "child.toml", 'base = "base"\n')
    assert load_scenario(child, sdir).params == {"beta_income": 3.0}
    # a relative path with folders, resolved against the child's folder, not the cwd
    write(tmp_path / "shared" / "common.toml", "[params]\nasc_home = 1.0\n")
    nested = write(tmp_path / "project" / "deep" / "n.toml", 'base = "../../shared/common.toml"\n')
    assert load_scenario(nested, sdir).params == {"asc_home": 1.0}
    # falls back to a name in the scenarios folder
    lone = write(tmp_path / "lone" / "l.toml", 'base = "base"\n')
    scn = load_scenario(lone, sdir)
    assert scn.params["beta_income"] == 1.5
    assert scn.chain[-1] == (sdir / "base.toml").resolve()


# ------------------------------------------------------------------ errors
def test_missing_scenario_lists_available_and_closest(sdir):
    msg = error("bsae", sdir)
    assert "bsae" in msg
    assert str(sdir / "bsae.toml") in msg
    assert "available scenarios" in msg and "base" in msg
    assert "did you mean 'base'" in msg


def test_missing_path(tmp_path, sdir):
    missing = tmp_path / "no" / "such.toml"
    msg = error(missing, sdir)
    assert str(missing) in msg and "not found" in msg


def test_toml_syntax_error_names_file_and_line(sdir):
    f = write(sdir / "broken.toml", 'name = "x"\nyears = = 3\n')
    msg = error("broken", sdir)
    assert str(f) in msg
    assert "line 2" in msg
    assert "TOML" in msg


def test_unknown_top_level_key(sdir):
    f = write(sdir / "typo.toml", 'name = "x"\n[parms]\nbeta_income = 1.0\n')
    msg = error("typo", sdir)
    assert str(f) in msg
    assert "'parms'" in msg
    assert "did you mean 'params'" in msg
    for key in ALLOWED_KEYS:
        assert key in msg


@pytest.mark.parametrize("line, key", [
    ("name = 3", "name"),
    ("description = [1, 2]", "description"),
    ('years = "22"', "years"),
    ("years = true", "years"),
    ("years = 0", "years"),
    ("years = 2.5", "years"),
    ("start_year = 1800", "start_year"),
    ("base = 7", "base"),
    ("params = 3", "params"),
])
def test_wrong_types(sdir, line, key):
    f = write(sdir / "types.toml", line + "\n")
    msg = error("types", sdir)
    assert str(f) in msg
    assert f"'{key}'" in msg


def test_unknown_parameter_names_file_key_and_closest(sdir):
    f = write(sdir / "p.toml", "[params]\nhukou_penalty_smal = 1.0\n")
    msg = error("p", sdir)
    assert str(f) in msg
    assert "'hukou_penalty_smal'" in msg
    assert "did you mean 'hukou_penalty_small'" in msg


def test_out_of_range_value_states_range(sdir):
    f = write(sdir / "r.toml", "[params]\nhukou_penalty_small = 99\n")
    msg = error("r", sdir)
    assert str(f) in msg and "'hukou_penalty_small'" in msg
    assert "[0.0, 20.0]" in msg


def test_out_of_range_in_yearly_path(sdir):
    f = write(sdir / "path.toml", '[params]\nhukou_penalty_small = { "1985" = 1.5, "2001" = -1 }\n')
    msg = error("path", sdir)
    assert str(f) in msg and "'hukou_penalty_small'" in msg
    assert "2001" in msg and "[0.0, 20.0]" in msg


def test_bad_path_mode_names_file(sdir):
    f = write(sdir / "mode.toml", '[params]\nhukou_penalty_small = { "1985" = 1.5, mode = "x" }\n')
    msg = error("mode", sdir)
    assert str(f) in msg and "hukou_penalty_small" in msg and "step" in msg


def test_error_in_base_names_the_base_file(sdir):
    bad = write(sdir / "badbase.toml", "[params]\nbeta_incom = 1.0\n")
    write(sdir / "child.toml", 'base = "badbase"\n[params]\nasc_home = 1.0\n')
    msg = error("child", sdir)
    assert str(bad) in msg and "did you mean 'beta_income'" in msg


def test_base_cycle_lists_chain(sdir):
    a = write(sdir / "a.toml", 'base = "b"\n')
    b = write(sdir / "b.toml", 'base = "c"\n')
    c = write(sdir / "c.toml", 'base = "a"\n')
    msg = error("a", sdir)
    assert "cycle" in msg
    assert f"{a} -> {b} -> {c} -> {a}" in msg


def test_self_cycle(sdir):
    s = write(sdir / "self.toml", 'base = "self"\n')
    msg = error("self", sdir)
    assert "cycle" in msg and f"{s} -> {s}" in msg


def test_missing_base(sdir):
    f = write(sdir / "orphan.toml", 'base = "bas"\n')
    msg = error("orphan", sdir)
    assert str(f) in msg
    assert "base scenario 'bas'" in msg
    assert "did you mean 'base'" in msg


def test_merged_chain_is_validated_as_a_whole(sdir):
    # every file is valid on its own; the merged Params is built before returning
    write(sdir / "ok.toml", 'base = "base"\n[params]\nexit_age = 60\n')
    scn = load_scenario("ok", sdir)
    assert scn.to_params()["exit_age"] == 60
    assert scn.to_params()["beta_income"] == 1.5


# ------------------------------------------------------------------ properties
NUMERIC = sorted(n for n, p in schema().items() if p.kind in (float, int))
_KEY_CHARS = st.characters(categories=("Ll", "Lu", "Nd"), include_characters="_-",
                           max_codepoint=127)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"


_SCALARS = (st.booleans() | st.integers(-(2**63), 2**63 - 1)
            | st.floats(allow_subnormal=False) | st.text(max_size=8))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def _load_text(text: str) -> Scenario:
    with tempfile.TemporaryDirectory() as d:
        f = write(Path(d) / "prop.toml", text)
        return load_scenario(f, d)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(_KEY_CHARS, min_size=1, max_size=30).filter(lambda k: k not in schema()),
       value=st.floats(0, 1))
def test_unknown_parameter_always_refused(key, value):
    with tempfile.TemporaryDirectory() as d:
        f = write(Path(d) / "prop.toml", f"[params]\n{json.dumps(key)} = {value!r}\n")
        with pytest.raises(ScenarioError) as exc:
            load_scenario(f, d)
    assert key in str(exc.value) and str(f) in str(exc.value)


@st.composite
def out_of_range(draw):
    name = draw(st.sampled_from(NUMERIC))
    p = schema()[name]
    above = st.floats(min_value=p.hi, exclude_min=True, allow_infinity=False)
    below = st.floats(max_value=p.lo, exclude_max=True, allow_infinity=False)
    return name, draw(above | below | st.sampled_from([math.nan, math.inf, -math.inf]))


@settings(max_examples=150, deadline=None)
@given(case=out_of_range(), as_path=st.booleans())
def test_out_of_range_always_refused(case, as_path):
    name, value = case
    rhs = f'{{ "1990" = {toml_value(value)} }}' if as_path and schema()[name].kind is float \
        else toml_value(value)
    with tempfile.TemporaryDirectory() as d:
        f = write(Path(d) / "prop.toml", f"[params]\n{name} = {rhs}\n")
        with pytest.raises(ScenarioError) as exc:
            load_scenario(f, d)
    assert name in str(exc.value) and str(f) in str(exc.value)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(schema())), value=_VALUES,
       extra=st.dictionaries(st.text(max_size=8), _SCALARS, max_size=2))
def test_any_value_loads_or_raises_scenario_error(name, value, extra):
    """Whatever a file holds, loading gives a valid scenario or a ScenarioError, nothing else."""
    top = "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in extra.items())
    text = f"{top}[params]\n{name} = {toml_value(value)}\n"
    try:
        scn = _load_text(text)
    except ScenarioError:
        return
    assert isinstance(scn.to_params(), Params)
    assert name in scn.params
