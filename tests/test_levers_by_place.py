"""Levers by place (issue 14, part 4): a policy parameter set per province, per hukou tier or per
city (``[params.by_province.Guangdong]``, ``--set by_city.Shenzhen.child_school_barrier=0.2``).

Parsing and every refusal, from a scenario file and from ``--set``; the year's inputs change at
exactly the selected destinations, with city over tier over province; no lever (or a lever at
the national value) changes nothing, byte for byte; parameters, hashes, forks and batch
identity see a lever by place; a lever moves migrants the expected way (small runs, common
random numbers). Runs are 3,000-8,000 persons over a few years.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim import Params, Simulation
from sim.core.geography import TIER_NAMES, load_geography
from sim.core.params import ParamError
from sim.core.state import RURAL
from sim.engine import checkpoint as ck
from sim.engine.yearly import DEST_FIELDS, PLACE_PARAMS, YearInputs, place_params, year_quantities
from sim.experiments.scenario import ScenarioError, load_scenario

GEO = load_geography()
LAND = np.linspace(1.0, 3.0, GEO.n_prov)  # mean land per worker by province (any positive)
GD = GEO.prov_name.index("Guangdong")
GD_DESTS = set(np.flatnonzero(GEO.dest_prov == GD).tolist())
SHENZHEN = GEO.dest_name.index("Shenzhen")
ROOT = Path(__file__).resolve().parents[1]


def _yq(over=None, year=2005) -> YearInputs:
    return year_quantities(GEO, Params(over or {}).at(year), year, LAND)


def _diff(a: YearInputs, b: YearInputs) -> dict[str, set[int] | bool]:
    """Fields that differ: per-destination ones by the destinations that differ."""
    out: dict[str, set[int] | bool] = {}
    for f in vars(a):
        x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
        if x.shape != y.shape or not np.array_equal(x, y):
            rows = (x != y).reshape(x.shape[0], -1).any(axis=1) if x.ndim else None
            out[f] = (set(np.flatnonzero(rows).tolist()) if f in DEST_FIELDS and x.ndim >= 1
                      else True)
    return out


# ------------------------------------------------------------------ parsing and refusals
def _scenario(tmp_path: Path, body: str, name: str = "s") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(f'name = "{name}"\ndescription = "test"\nbase = "baseline"\n{body}')
    return p


def test_scenario_file_parses_tables_and_paths(tmp_path):
    p = _scenario(tmp_path, """
[params.by_province.Guangdong]
min_wage_ratio = 0.4
[params.by_tier.megacity]
hukou_penalty_megacity = { mode = "step", "1985" = 2.3, "2010" = 1.0 }
[params.by_city."Hebei small"]
child_school_barrier = { "1985" = 0.7, "2015" = 0.2 }
""")
    pars = load_scenario(p).to_params()
    assert list(pars.by_place()) == ["by_province.Guangdong.min_wage_ratio",
                                     "by_tier.megacity.hukou_penalty_megacity",
                                     "by_city.Hebei small.child_school_barrier"]
    assert pars["by_province.Guangdong.min_wage_ratio"] == 0.4
    assert pars["by_tier.megacity.hukou_penalty_megacity"].at(2012) == 1.0
    assert pars.at(2000).place_levers[0] == ("by_province", "Guangdong", {"min_wage_ratio": 0.4})
    js = pars.to_json()  # flat keys after the national values; they round-trip
    assert js["by_city.Hebei small.child_school_barrier"] == {"1985": 0.7, "2015": 0.2}
    assert Params(js).to_json() == js
    assert "by_province.Guangdong.min_wage_ratio" in pars.changed()
    assert "place_levers" not in vars(Params().at(2000))


def test_child_scenario_merges_per_place_and_parameter(tmp_path):
    _scenario(tmp_path, """
[params.by_province.Guangdong]
min_wage_ratio = 0.4
child_school_barrier = 0.3
[params.by_province.Fujian]
min_wage_ratio = 0.5
""", "parent")
    child = tmp_path / "child.toml"
    child.write_text('name = "child"\ndescription = "x"\nbase = "parent"\n'
                     '[params.by_province.Guangdong]\nmin_wage_ratio = 0.45\n')
    got = load_scenario(child).to_params().by_place()
    assert got == {"by_province.Fujian.min_wage_ratio": 0.5,
                   "by_province.Guangdong.child_school_barrier": 0.3,
                   "by_province.Guangdong.min_wage_ratio": 0.45}


BAD = [  # (kind, place, parameter, value, what the message must say)
    ("by_province", "Guangdon", "min_wage_ratio", 0.4,
     ["unknown province 'Guangdon'", "did you mean 'Guangdong'?", "Beijing, Tianjin"]),
    ("by_city", "Shenzen", "min_wage_ratio", 0.4,
     ["unknown city 'Shenzen'", "did you mean 'Shenzhen'?", "(94 in all)"]),
    ("by_city", "Guangdong", "min_wage_ratio", 0.4,
     ["unknown city 'Guangdong'", "is a province: use by_province.Guangdong"]),
    ("by_tier", "mega", "hukou_penalty_megacity", 1.0,
     ["unknown tier 'mega'", "small, medium, large, megacity", "did you mean 'megacity'?"]),
    ("by_province", "Guangdong", "min_wage_ration", 0.4,
     ["unknown parameter 'min_wage_ration'", "did you mean 'min_wage_ratio'?"]),
    ("by_province", "Guangdong", "local_development", 0.4,
     ["'local_development'", "cannot be set by place", "min_wage_ratio", "child_school_barrier"]),
    ("by_province", "Guangdong", "inspectors_per_10k_workers", 0.4,
     ["cannot be set by place"]),
    ("by_city", "Shenzhen", "living_cost_megacity", 300,
     ["cannot be set by place", "not a policy lever (role 'exogenous')"]),
    ("by_province", "Guangdong", "min_wage_ratio", 2.0,
     ["'min_wage_ratio'", "outside its range [0.0, 1.5]"]),
    ("by_city", "Beijing", "hukou_penalty_small", 0.5,
     ["acts only at small destinations and Beijing has none"]),
]


@pytest.mark.parametrize("kind,place,name,value,says", BAD, ids=[f"{b[1]}.{b[2]}" for b in BAD])
def test_refused_in_a_scenario_file(tmp_path, kind, place, name, value, says):
    p = _scenario(tmp_path, f'[params.{kind}."{place}"]\n{name} = {value}\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert str(p) in msg and f"{kind}.{place}.{name}" in msg
    for s in says:
        assert s in msg, msg


@pytest.mark.parametrize("kind,place,name,value,says", BAD, ids=[f"{b[1]}.{b[2]}" for b in BAD])
def test_refused_by_set(kind, place, name, value, says):
    with pytest.raises(ParamError) as e:
        Params().update({f"{kind}.{place}.{name}": str(value)}, where="--set")
    msg = str(e.value)
    assert "--set" in msg and f"{kind}.{place}.{name}" in msg
    for s in says:
        assert s in msg, msg


def test_other_refusals():
    cases = [
        ({"by_provnce.Guangdong.min_wage_ratio": 0.4}, "did you mean 'by_province'?"),
        ({"by_province": 3}, "must be a table of province names"),
        ({"by_province.Guangdong": 3}, "must be a table of parameters"),
        ({"by_city.Shenzhen.child_school_barrier": {"19x5": 0.5}}, "path keys must be years"),
        ({"by_city.Shenzhen.child_school_barrier": {"1985": 1.5}}, "outside its range"),
    ]
    for over, says in cases:
        with pytest.raises(ParamError, match=re.escape(says)):
            Params(over, where="--set")
    good = Params().update({"min_wage_ratio": 0.2})
    with pytest.raises(ParamError):  # all validated before any is applied
        good.update({"by_province.Guangdong.min_wage_ratio": 0.4,
                     "by_city.Shenzen.min_wage_ratio": 0.4})
    assert good.by_place() == {}


def test_set_on_the_command_line():
    from sim.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["run", "baseline", "--agents", "1000", "--years", "1",
                            "--set", "by_province.Guangdon.min_wage_ratio=0.4"])
    assert r.exit_code != 0
    out = " ".join(r.output.split())
    assert "unknown province 'Guangdon'" in out and "did you mean 'Guangdong'?" in out
    r = runner.invoke(app, ["run", "baseline", "--agents", "1000", "--years", "1",
                            "--set", "by_city.Shenzhen.local_development=1990:0.1,2000:0.2"])
    assert r.exit_code != 0 and "cannot be set by place" in " ".join(r.output.split())


def test_path_by_set_parses():
    from sim.core.params import parse_assignment

    key, val = parse_assignment("by_city.Shenzhen.child_school_barrier=1985:0.7,2015:0.2")
    pars = Params().update({key: val}, where="--set")
    assert pars[key].at(2015) == pytest.approx(0.2)


# ------------------------------------------------------------------ the year's inputs
def test_place_params_act_only_through_their_per_destination_fields():
    """Every parameter of PLACE_PARAMS, moved nationally, changes only its declared
    per-destination fields (no national scalar, no per-province array), so setting it by place
    is what it says."""
    base = Params().at(2005)
    yq0 = year_quantities(GEO, base, 2005, LAND)
    for field, names in PLACE_PARAMS.items():
        for name in names:
            moved = vars(base).copy()
            moved[name] = 0.5 * moved[name] + 0.1
            d = _diff(yq0, year_quantities(GEO, type(base)(**moved), 2005, LAND))
            assert set(d) == {field}, (name, set(d))
    assert set(place_params()) <= {k for k, p in Params().schema.items() if p.role == "policy"}


def test_place_params_are_read_nowhere_else():
    """A scan of the package: the place parameters are read only where the year's inputs are
    derived (so no monthly rule sees their national value)."""
    allowed = {"engine/yearly.py", "mechanisms/wages.py", "mechanisms/hukou.py",
               "mesa/reference.py", "mesa/agents.py", "mesa/household.py", "mesa/app.py"}
    names = set(place_params())
    for path in (ROOT / "sim").rglob("*.py"):
        rel = path.relative_to(ROOT / "sim").as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        read = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & names
        assert not read or rel in allowed, f"{rel} reads {sorted(read)}"


def test_province_changes_exactly_its_destinations():
    d = _diff(_yq(), _yq({"by_province.Guangdong.min_wage_ratio": 0.6}))
    assert d == {"minw": GD_DESTS}
    d = _diff(_yq(), _yq({"by_province.Guangdong.child_school_barrier": 0.1,
                          "by_province.Guangdong.hukou_penalty_large": 0.2}))
    large = {i for i in GD_DESTS if TIER_NAMES[GEO.dest_tier[i]] == "large"}
    assert d == {"p_bring": GD_DESTS, "hukou_pen": large} and len(large) == 1


def test_tier_and_city_change_exactly_theirs():
    mega = set(np.flatnonzero(GEO.dest_tier == TIER_NAMES.index("megacity")).tolist())
    assert _diff(_yq(), _yq({"by_tier.megacity.min_wage_ratio": 0.6})) == {"minw": mega}
    assert _diff(_yq(), _yq({"by_city.Shenzhen.child_school_barrier": 0.1})) == {
        "p_bring": {SHENZHEN}}
    assert _diff(_yq(), _yq({"by_city.Shenzhen.conversion_rate_megacity": 0.2})) == {
        "conv_month": {SHENZHEN}}


def test_city_beats_tier_beats_province():
    one = {"by_province.Guangdong.min_wage_ratio": 0.5}
    two = {**one, "by_tier.megacity.min_wage_ratio": 0.7}
    three = {**two, "by_city.Shenzhen.min_wage_ratio": 0.9}
    # minimum wage = ratio x the province's urban wage: compare ratios through one destination
    ratio = _yq(one).minw / _yq({"min_wage_ratio": 1.0}).minw
    assert np.allclose(ratio[sorted(GD_DESTS)], 0.5)
    ratio = _yq(two).minw / _yq({"min_wage_ratio": 1.0}).minw
    assert ratio[SHENZHEN] == pytest.approx(0.7)
    assert ratio[GEO.dest_name.index("Guangzhou")] == pytest.approx(0.5)  # a large city
    assert ratio[GEO.dest_name.index("Shanghai")] == pytest.approx(0.7)
    ratio = _yq(three).minw / _yq({"min_wage_ratio": 1.0}).minw
    assert ratio[SHENZHEN] == pytest.approx(0.9)
    assert ratio[GEO.dest_name.index("Beijing")] == pytest.approx(0.7)
    # the order the levers are given in does not matter
    rev = dict(reversed(list(three.items())))
    assert not _diff(_yq(three), _yq(rev))


def test_levers_at_the_national_value_change_nothing():
    nat = Params().at(2005)
    same = {f"by_province.{p}.min_wage_ratio": nat.min_wage_ratio for p in GEO.prov_name}
    same["by_tier.megacity.hukou_penalty_megacity"] = nat.hukou_penalty_megacity
    assert not _diff(_yq(), _yq(same))


def _tables(sim) -> dict[str, bytes]:
    return {k: v.tobytes() for k, v in ck.state_arrays(sim).items() if not k.startswith("buf.")}


def test_a_run_with_levers_at_the_national_paths_is_byte_identical():
    base = Params()
    same = {"by_province.Guangdong.min_wage_ratio": base.to_json()["min_wage_ratio"],
            "by_city.Shenzhen.child_school_barrier": base.to_json()["child_school_barrier"]}
    runs = []
    for over in ({}, same):
        m = Simulation(Params(over), agents=3000, seed=2, start_year=2002, years=3, threads=1)
        m.run()
        runs.append(_tables(m))
    assert runs[0] == runs[1]


def test_reference_model_refuses_levers_by_place():
    from sim.mesa.reference import ReferenceModel

    with pytest.raises(ValueError, match="does not implement levers by place"):
        ReferenceModel(Params({"by_province.Guangdong.min_wage_ratio": 0.4}), agents=1000)


# ------------------------------------------------------------------ identity
def test_hashes_forks_and_batches_see_levers_by_place(tmp_path):
    from sim.experiments.fork import fork_year
    from sim.experiments.plan import batch_differences, plan_batch

    base = Params()
    lever = Params({"by_province.Guangdong.min_wage_ratio": {"1985": 0.0, "1994": 0.3,
                                                             "2001": 0.5, "mode": "step"}})
    assert ck.params_hash(base, 2000) != ck.params_hash(lever, 2000)
    a, b = ck.comparable([ck.params_history(base, 2005), ck.params_history(lever, 2005)])
    first = {k: ck._first_difference(a[k], b[k], 2005) for k in a if a[k] != b[k]}
    assert first and set(first.values()) == {2001}  # same as the national path to 2000
    assert {k.split("@")[1] for k in first} == {GEO.dest_name[i] for i in GD_DESTS}
    # a province's lever masked by a city lever at the national value: only there they differ
    masked = Params({**lever.by_place(),
                     "by_city.Shenzhen.min_wage_ratio": base.to_json()["min_wage_ratio"]})
    a, b = ck.comparable([ck.params_history(lever, 2005), ck.params_history(masked, 2005)])
    assert [k for k in a if a[k] != b[k]] == ["min_wage_ratio@Shenzhen"]

    later = tmp_path / "gd_2001.toml"
    later.write_text('name = "gd_2001"\ndescription = "x"\nbase = "baseline"\n'
                     '[params.by_province.Guangdong]\n'
                     'min_wage_ratio = { mode = "step", "1985" = 0.0, "1994" = 0.3, '
                     '"2001" = 0.5 }\n')
    args = {"agents": 3000, "start_year": 1998, "years": 6, "replicates": 1}
    plan = plan_batch(["baseline", str(later)], out=tmp_path / "b", **args)
    assert fork_year(plan, plan.points[0]) == 2000
    early = tmp_path / "gd_1985.toml"
    early.write_text(later.read_text().replace("gd_2001", "gd_1985").replace('"1985" = 0.0',
                                                                             '"1985" = 0.1'))
    plan2 = plan_batch(["baseline", str(early)], out=tmp_path / "c", **args)
    assert fork_year(plan2, plan2.points[0]) is None
    plan3 = plan_batch(["baseline", str(later)], out=tmp_path / "d", **args,
                       sets=["by_city.Shenzhen.min_wage_ratio=0.2"])
    diffs = batch_differences(plan.describe(), plan3.describe())
    assert any("by_city.Shenzhen.min_wage_ratio" in d for d in diffs), diffs
    later.write_text(later.read_text().replace('"2001" = 0.5', '"2001" = 0.6'))
    plan4 = plan_batch(["baseline", str(later)], out=tmp_path / "d", **args)
    diffs = batch_differences(plan.describe(), plan4.describe())
    assert diffs == ["scenario gd_2001: parameters changed: by_province.Guangdong.min_wage_ratio"]


def test_resume_checks_levers_by_place(tmp_path):
    """A state saved by a plain run resumes a run whose lever by place starts after the saved
    year (byte for byte as the uninterrupted run), and refuses one that starts before."""
    kw = {"agents": 3000, "seed": 4, "start_year": 1998, "years": 4, "threads": 1}
    path = tmp_path / "s.npz"
    trunk = Simulation(Params(), **kw)
    trunk.run(progress=ck.save_at(trunk, 1999, path))
    late = Params({"by_province.Guangdong.min_wage_ratio": {"1985": 0.0, "1994": 0.3,
                                                            "2000": 0.6, "mode": "step"}})
    whole = Simulation(late, **kw)
    whole.run()
    resumed = ck.load_state(path, late, threads=1)
    resumed.run()
    assert _tables(resumed) == _tables(whole)
    early = Params({"by_province.Guangdong.min_wage_ratio": 0.6})
    with pytest.raises(ck.CheckpointError, match=r"min_wage_ratio@Guangdong"):
        ck.load_state(path, early, threads=1)


# ------------------------------------------------------------------ behaviour
def _guangdong(over, seed):
    """Guangdong's share of the migrant stock and of migrant labour demand at the end, and its
    paid wage level relative to the national mean."""
    m = Simulation(Params(over), agents=20_000, seed=seed, start_year=1998, years=5, threads=1)
    m.run()
    p = m.persons
    mig = (p.loc >= 0) & (p.hukou == RURAL)
    gd = sorted(GD_DESTS)
    paid = m.mech["labour"].paid_levels(m)
    return (float((mig & np.isin(p.loc, gd)).sum() / mig.sum()),
            float(m.demand[gd].sum() / m.demand.sum()), float(paid[gd].mean() / paid.mean()))


def test_a_provincial_lever_acts_on_that_province():
    """Common random numbers, 20,000 persons, 1998-2002, two seeds. Guangdong's share of the
    migrant stock in 2002 (about 16.5%) rises with its hukou barriers removed (by 2.1-3.2
    points on seeds 1-4 in 0.8; asserted: 1.2). A higher minimum wage there (0.6 of the average
    wage instead of 0.3) raises the wage paid in Guangdong against the nation's (1.43-1.45 to
    1.53-1.56 on seeds 1-4) and, with demand as elastic as since 0.9 (1.12), lowers Guangdong's
    share of migrant labour demand (17.6-17.8% to 15.9-16.1%) and so of the migrants (by
    0.3-0.5 points): fewer, better-paid jobs. Asserted: +0.05, -0.008 and below the baseline
    (0.8, with inelastic demand, asserted that the lever drew migrants)."""
    hukou = {f"by_province.Guangdong.hukou_penalty_{t}": 0.0 for t in TIER_NAMES}
    for seed in (1, 3):
        base = _guangdong({}, seed)
        assert _guangdong(hukou, seed)[0] - base[0] > 0.012
        mw = _guangdong({"by_province.Guangdong.min_wage_ratio": 0.6}, seed)
        assert mw[2] - base[2] > 0.05
        assert mw[1] - base[1] < -0.008
        assert mw[0] < base[0]
