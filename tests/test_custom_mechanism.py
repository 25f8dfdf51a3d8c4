"""The plug-in proof: ``examples/custom_mechanism.py`` defines a mechanism outside the package
(returnees invest savings in a business at home, seed 1.6) that runs through the API and the
CLI, changes its own indicator, and changes nothing else: not the state before its first step,
not any other indicator of the run (it draws from its own stream and feeds back into no rule).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.state import PERSON_FIELDS
from sim.engine.plugins import PluginError, load_mechanism

REPO = Path(__file__).resolve().parents[1]
SPEC = f"{REPO / 'examples' / 'custom_mechanism.py'}:ReturneeEnterprise"
KW = dict(agents=20_000, seed=4, start_year=1995, years=6)


def _pair(**overrides):
    mech = load_mechanism(SPEC)
    with_ = sim.Simulation(overrides, mechanisms=[mech], **KW)
    without = sim.Simulation(**KW)
    return with_, without


def test_nothing_changes_before_its_first_step():
    s, base = _pair()
    for f in PERSON_FIELDS:
        np.testing.assert_array_equal(getattr(s.persons, f.name), getattr(base.persons, f.name))
    assert s.initial_stock == base.initial_stock
    assert not s.persons.business.any() and not s.persons.nest_egg.any()
    names = [m.name for m in s.mechanisms]
    assert names.index("returnee_enterprise") == names.index("pay") + 1


def test_it_changes_its_indicator_and_nothing_else():
    # a start rate high enough that six years of 20,000 persons see businesses whatever the
    # defaults of the model (the example's 0.05 a year leaves none at some seeds)
    s, base = _pair(enterprise_start_rate_year=0.5)
    res, ref = s.run(), base.run()
    a, b = res.series(), ref.series()
    assert set(a) - set(b) == {("returnee_businesses", "total")}
    for key, v in b.items():
        np.testing.assert_array_equal(a[key], v, err_msg=str(key))
    for f in PERSON_FIELDS:
        np.testing.assert_array_equal(getattr(s.persons, f.name), getattr(base.persons, f.name))
    firms = res.annual("returnee_businesses")
    assert firms[-1] > 0
    # only returnees (persons who left once and are home) run one: an owner who leaves again
    # closes it (with the provincial data of 0.21.0 one does at this seed)
    p = s.persons
    runs = p.business == 1
    assert (p.first_year[runs] >= 0).all() and (p.loc[runs] == -1).all()
    assert firms[-1] == pytest.approx(runs.sum() * s.scale)


def test_its_parameter_is_a_lever():
    s, _ = _pair(enterprise_start_rate_year=0.0)
    res = s.run()
    assert res.annual("returnee_businesses").max() == 0.0
    assert s.persons.nest_egg.max() > 0.0  # migrants still save


def test_load_errors_are_clear():
    with pytest.raises(PluginError, match="module:Name"):
        load_mechanism("examples/custom_mechanism.py")
    with pytest.raises(PluginError, match="did you mean 'ReturneeEnterprise'"):
        load_mechanism(f"{REPO / 'examples' / 'custom_mechanism.py'}:ReturneeEnterprize")
    with pytest.raises(PluginError, match="no file"):
        load_mechanism("no/such/file.py:X")
    with pytest.raises(PluginError, match="cannot import module"):
        load_mechanism("no_such_module_xyz:X")


def test_through_the_command_line(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sim.cli", "run", "baseline", "--agents", "5000",
           "--start-year", "1995", "--years", "3", "--quiet", "--out", str(out),
           "--mechanism", SPEC, "--set", "enterprise_start_rate_year=0.5",
           "--set", "enterprise_capital_rmb=200"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    ts = pd.read_parquet(out / "timeseries.parquet")
    firms = ts[ts.indicator == "returnee_businesses"]
    assert len(firms) == 36 and firms.value.iloc[-1] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "returnee_enterprise" in manifest["mechanisms"]
    assert manifest["params"]["enterprise_start_rate_year"] == 0.5
    # an added mechanism's parameter without the mechanism is refused, naming it
    bad = subprocess.run(cmd[:-6] + ["--set", "enterprise_start_rate_year=0.5"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert bad.returncode != 0 and "enterprise_start_rate_year" in bad.stderr + bad.stdout
