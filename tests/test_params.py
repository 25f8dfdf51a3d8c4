"""Tests of sim.params: the typed, validated parameter schema and yearly paths.

Parameters are how users (CLI ``--set``, scenario files) and calibration talk to the model, so a
typo or an impossible value must be refused loudly with a helpful message rather than silently
ignored, and every parameter must carry its unit and source.
"""

import importlib
import math
import re
from pathlib import Path

import pytest

import sim
from sim.core.params import Param, ParamError, YearlyPath, parse_assignment
from sim.engine.registry import Params, schema


def _param_modules():
    """Every module of the ``sim`` package that declares a top-level ``PARAMS`` tuple."""
    root = Path(sim.__file__).parent
    mods = []
    for f in sorted(root.rglob("*.py")):
        if re.search(r"^PARAMS\s*[:=]", f.read_text(encoding="utf-8"), re.M):
            rel = f.relative_to(root.parent).with_suffix("")
            mods.append(importlib.import_module(".".join(rel.parts)))
    return mods


def test_defaults_valid():
    """Params() builds from the defaults alone, every name resolves, and ``at(year)`` gives a
    plain number for every parameter in every simulated year."""
    p = Params()
    sch = schema()
    assert len(sch) > 30
    for year in (1985, 1990, 2006, 2030):
        ns = p.at(year)
        for name, par in sch.items():
            v = getattr(ns, name)
            if par.kind is str:  # a choice among named options
                assert v in par.choices, (name, v)
                continue
            assert isinstance(v, int | float), (name, v)
            assert par.lo <= v <= par.hi, (name, year, v)
    assert p.changed() == {}


def test_unknown_key_suggests_closest():
    """An unknown name raises ParamError naming the closest valid name."""
    with pytest.raises(ParamError, match="netwrk_beta") as ei:
        Params({"netwrk_beta": 1.0})
    assert "did you mean 'network_beta'" in str(ei.value)
    with pytest.raises(ParamError, match="hukou_penalty_small"):
        Params({"hukou_penalty_smal": 1.0})
    with pytest.raises(ParamError, match="unknown parameter 'zzzzzz'"):
        Params({"zzzzzz": 1.0})
    with pytest.raises(KeyError, match="network_beta"):
        Params()["netwrk_beta"]


def test_out_of_range_refused_with_range():
    """A value outside [lo, hi] is refused and the message states the range and unit; so are NaN,
    infinity, non-numeric strings and booleans for numeric parameters."""
    par = schema()["network_beta"]
    with pytest.raises(ParamError) as ei:
        Params({"network_beta": par.hi + 1})
    msg = str(ei.value)
    assert f"[{par.lo}, {par.hi}]" in msg and "network_beta" in msg and par.unit in msg
    with pytest.raises(ParamError, match=r"\[0\.0, 5\.0\]"):
        Params({"network_beta": -0.1})
    for bad in (math.nan, math.inf, "abc", True, None, [1.0]):
        with pytest.raises(ParamError):
            Params({"network_beta": bad})
    # a value inside a yearly path is range-checked too, and the message names the year
    with pytest.raises(ParamError, match="1995"):
        Params({"hukou_penalty_small": {"1990": 1.0, "1995": 99.0}})
    # the bounds themselves are allowed
    assert Params({"network_beta": par.lo})["network_beta"] == par.lo
    assert Params({"network_beta": par.hi})["network_beta"] == par.hi


def test_int_kind():
    """Integer parameters accept integral numbers (also as strings) and refuse fractions, and
    refuse yearly paths (they take one value)."""
    assert Params({"contacts_village": 6})["contacts_village"] == 6
    assert Params({"contacts_village": "7"})["contacts_village"] == 7
    assert Params({"contacts_village": 8.0})["contacts_village"] == 8
    assert isinstance(Params({"contacts_village": 8.0})["contacts_village"], int)
    with pytest.raises(ParamError, match="integer"):
        Params({"contacts_village": 2.5})
    with pytest.raises(ParamError, match="yearly path"):
        Params({"contacts_village": {"1990": 2}})
    # float parameters coerce numeric strings
    assert Params({"network_beta": "1.5"})["network_beta"] == 1.5


def test_bool_kind():
    """Boolean parameters accept true/false spellings and 0/1, refuse anything else."""
    par = Param("flag", False, "switch", 0, 1, "test", "a switch", kind=bool, role="policy")
    for raw, want in ((True, True), (False, False), ("true", True), ("FALSE", False), ("1", True),
                      ("0", False), (1, True), (0, False), (1.0, True)):
        assert par.check(raw) is want, raw
    for bad in ("yes", 2, 0.5, None):
        with pytest.raises(ParamError, match="true/false"):
            par.check(bad)


def test_yearly_path_linear_and_flat_outside():
    """A path interpolates linearly between given years and is held flat before the first and
    after the last given year."""
    p = Params({"hukou_penalty_small": {"1990": 2.0, "2000": 1.0}})
    at = lambda y: p.at(y).hukou_penalty_small  # noqa: E731
    assert at(1985) == 2.0 and at(1990) == 2.0
    assert at(1995) == pytest.approx(1.5)
    assert at(1992) == pytest.approx(1.8)
    assert at(2000) == 1.0 and at(2030) == 1.0
    # keys may be ints or strings, in any order
    q = Params({"hukou_penalty_small": {2000: 1.0, 1990: 2.0}})
    assert q.at(1995).hukou_penalty_small == pytest.approx(1.5)
    # a single-year path is a constant
    assert Params({"network_beta": {"2000": 1.3}}).at(1985).network_beta == 1.3


def test_yearly_path_step_mode():
    """With mode 'step' each value holds until the next given year (no interpolation)."""
    p = Params({"hukou_penalty_small": {"mode": "step", "1990": 2.0, "2000": 1.0}})
    at = lambda y: p.at(y).hukou_penalty_small  # noqa: E731
    assert [at(y) for y in (1985, 1990, 1995, 1999, 2000, 2010)] == [2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    assert p.to_json()["hukou_penalty_small"]["mode"] == "step"
    with pytest.raises(ParamError, match="mode"):
        Params({"hukou_penalty_small": {"mode": "cubic", "1990": 2.0}})
    with pytest.raises(ParamError, match="years"):
        Params({"hukou_penalty_small": {"next": 2.0}})
    with pytest.raises(ParamError, match="at least one year"):
        Params({"hukou_penalty_small": {"mode": "step"}})
    path = YearlyPath((1990, 2000), (2.0, 1.0), "step")
    assert path.at(1999.9) == 2.0


def test_default_paths_resolve():
    """Every default path resolves to its end points outside its years."""
    p = Params()
    for name, v in p.to_json().items():
        if isinstance(v, dict):
            pth = p[name]
            assert p.at(pth.years[0] - 5).__dict__[name] == pth.values[0]
            assert p.at(pth.years[-1] + 5).__dict__[name] == pth.values[-1]


def test_parse_assignment():
    """CLI ``key=value``: scalars come back as strings (validated by Params), paths as
    {year: value}, including a mode entry; malformed input raises ParamError."""
    assert parse_assignment("network_beta=1.2") == ("network_beta", "1.2")
    assert parse_assignment(" network_beta = 1.2 ") == ("network_beta", "1.2")
    key, path = parse_assignment("hukou_penalty_small=1990:0.5, 2000:1.0")
    assert key == "hukou_penalty_small" and path == {"1990": "0.5", "2000": "1.0"}
    p = Params(dict([parse_assignment("hukou_penalty_small=1990:0.5,2000:1.0"),
                     parse_assignment("contacts_village=6")]))
    assert p.at(1995).hukou_penalty_small == pytest.approx(0.75)
    assert p["contacts_village"] == 6
    key, path = parse_assignment("hukou_penalty_small=mode:step,1990:0.5,2000:1.0")
    assert Params({key: path}).at(1995).hukou_penalty_small == 0.5
    with pytest.raises(ParamError):
        parse_assignment("network_beta")
    with pytest.raises(ParamError):
        parse_assignment("hukou_penalty_small=1990:0.5,2000")


def test_update_all_or_nothing():
    """Params.update validates every value before applying any: one bad key or value leaves the
    object unchanged."""
    p = Params({"network_beta": 1.1})
    before = p.to_json()
    with pytest.raises(ParamError):
        p.update({"network_beta": 2.0, "asc_home": 1.0, "netwrk_beta": 3.0})
    assert p.to_json() == before
    with pytest.raises(ParamError):
        p.update({"network_beta": 2.0, "contacts_village": 999})
    assert p.to_json() == before
    p.update({"network_beta": 2.0, "asc_home": 1.0})
    assert p["network_beta"] == 2.0 and p["asc_home"] == 1.0
    assert p.changed() == {"network_beta": 2.0, "asc_home": 1.0}


def test_copy_is_independent():
    """A copy does not share state with the original."""
    p = Params()
    q = p.copy()
    q.update({"network_beta": 2.0})
    assert p["network_beta"] == schema()["network_beta"].default


def test_every_param_documented_and_default_in_range():
    """Every parameter has a non-empty unit, source and meaning, lo <= hi, a known kind and a
    default within its range (every value of a default path; integer defaults for int kinds;
    for a choice (str kind) the default is one of its choices)."""
    for name, par in schema().items():
        assert par.unit.strip(), name
        assert par.source.strip(), name
        assert par.doc.strip(), name
        assert par.lo <= par.hi, name
        assert par.kind in (float, int, bool, str), name
        assert par.module, name
        if par.kind is str:  # one choice, or a stepwise path of choices (a dated policy)
            choices = getattr(par, "choices", ())
            values = (
                [v for k, v in par.default.items() if k != "mode"]
                if isinstance(par.default, dict) else [par.default]
            )
            assert choices and all(v in choices for v in values), name
            assert all(par.check(v) == v for v in values), name
            continue
        if isinstance(par.default, dict):
            assert par.kind is float, name
            values = [v for k, v in par.default.items() if k != "mode"]
            assert values, name
            for k in par.default:
                assert k == "mode" or 1900 <= int(k) <= 2200, (name, k)
        else:
            values = [par.default]
        for v in values:
            assert not isinstance(v, bool) or par.kind is bool, name
            assert par.lo <= v <= par.hi, (name, v, par.lo, par.hi)
            if par.kind is int:
                assert float(v) == int(v), name


def test_no_parameter_declared_twice():
    """Names are unique across all modules of the package that declare ``PARAMS``, and the
    schema holds exactly the declared parameters (a module whose PARAMS are not registered in
    ``sim.engine.registry.REGISTRY`` would make its parameters unsettable)."""
    mods = _param_modules()
    assert len(mods) >= 7
    names = [p.name for mod in mods for p in mod.PARAMS]
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert dupes == []
    assert set(names) == set(schema())
    assert len(names) == len(schema())
