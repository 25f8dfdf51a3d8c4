"""The scripts of ``calibration/`` and ``scenarios/`` that write committed results: the search's
space and options, and the scenario effects table of ``scenarios/README.md``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_search_space_comes_from_the_schema():
    search = _module(ROOT / "calibration" / "search.py", "search_script")
    from sim.engine.registry import schema

    sch = schema()
    space = search.search_space(names=("self_entry_rate", "asc_home"),
                                narrow={"asc_home": (-1.0, 0.0)})
    assert space["self_entry_rate"] == (sch["self_entry_rate"].lo, sch["self_entry_rate"].hi)
    assert space["asc_home"] == (-1.0, 0.0)
    with pytest.raises(SystemExit, match="leaves its declared range"):
        search.search_space(names=("self_entry_rate",), narrow={"self_entry_rate": (0.0, 2.0)})


def test_search_by_role_leaves_out_parameters_of_switched_off_mechanisms():
    """The off-farm market's parameters move nothing while ``tve_jobs_scale`` is 0: a search
    by role leaves them out, unless the switch is held on."""
    search = _module(ROOT / "calibration" / "search.py", "search_script")
    off = search.search_space(roles=("behaviour",))
    assert "asc_home" in off and "tve_wage_ratio" not in off
    # self_entry_rate is itself a behaviour parameter, so its margin's parameters are searched
    assert "self_entry_rate" in off and "self_income_ratio" in off
    on = search.search_space(roles=("behaviour",), fixed={"tve_jobs_scale": "1.0"})
    assert "tve_wage_ratio" in on


def test_search_refuses_an_unknown_extra_target():
    proc = subprocess.run([sys.executable, str(ROOT / "calibration" / "search.py"), "--trials",
                           "0", "--also", "share of unicorns"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert "unknown targets" in proc.stderr and "share of unicorns" in proc.stderr


def test_unfilled_penalty_is_one_sided():
    """Years at or below the cap cost nothing; each year above costs penalty * (excess / 0.01)^2;
    without a cap the constraint is off."""
    search = _module(ROOT / "calibration" / "search.py", "search_script")
    assert search.unfilled_penalty([0.02, 0.09, 0.10], 0.10) == 0.0
    assert search.unfilled_penalty([0.12, 0.05, 0.11], 0.10, penalty=4.0) == pytest.approx(
        4.0 * (2.0**2 + 1.0**2))
    assert search.unfilled_penalty([0.5], None) == 0.0


def test_effects_table_of_a_small_batch(tmp_path):
    """The table lists every policy scenario once, each effect inside its interval, from a
    batch of two scenarios; the README keeps one generated block."""
    effects = _module(ROOT / "scenarios" / "effects.py", "effects_script")
    names = effects.policy_scenarios()
    assert "hukou_small_medium_open" in names and "social_insurance_portable" in names
    assert "baseline_2015" not in names and "harris_todaro" not in names
    out = tmp_path / "batch"
    subprocess.run([sys.executable, "-m", "sim.cli", "batch", "baseline_2015",
                    "hukou_small_medium_open", "--out", str(out), "--replicates", "2",
                    "--agents", "2000", "--years", "4", "-q"], check=True, timeout=600)
    text = effects.table(out)
    rows = [r for r in text.splitlines() if r.startswith("| `")]
    assert len(rows) == 1 and rows[0].startswith("| `hukou_small_medium_open` |")
    for cell in rows[0].split("|")[2:6:2]:  # "mean (low, high)"
        mean, rest = cell.strip().split(" (")
        low, high = (float(x) for x in rest.rstrip(")").split(", "))
        assert low <= float(mean) <= high
    readme = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
    assert readme.count(effects.START) == 1 and readme.count(effects.END) == 1
    block = readme.split(effects.START)[1].split(effects.END)[0]
    assert all(f"`{n}`" in block for n in names)


def test_todays_effects_block_lists_every_scenario_on_baseline_2035():
    """scenarios/README.md keeps one generated block of today's scenarios' effects (written by
    ``python scenarios/effects.py --run DIR --base baseline_2035``), naming each of them."""
    effects = _module(ROOT / "scenarios" / "effects.py", "effects_script")
    names = effects.policy_scenarios("baseline_2035")
    assert "lockdown_2027" in names and "hukou_small_medium_open" not in names
    start, end, fork = effects.FAMILIES["baseline_2035"]
    assert fork
    readme = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
    assert readme.count(start) == 1 and readme.count(end) == 1
    block = readme.split(start)[1].split(end)[0]
    assert all(f"`{n}`" in block for n in names) and "`baseline_2035`" in block


def test_recovery_diagnostics_sampler_finds_a_known_posterior():
    """``calibration/recovery_diagnostics.py``'s adaptive importance sampler on a problem with a
    known answer: two targets that equal the two parameters (emulated on 60 runs), observed at
    (0.5, 0.3) with sd 0.05 in all, so the posterior of each parameter is Gaussian with that sd
    (sd / tau^0.5 when tempered by tau) cut at 3 sd of the untempered fit (the
    non-implausibility cutoff). Its 90% intervals are found to 0.01 at tau 1 and 1/4, with an
    effective sample in the hundreds."""
    from scipy.stats import truncnorm

    from sim.experiments import emulator as E

    diag = _module(ROOT / "calibration" / "recovery_diagnostics.py", "recovery_diagnostics")
    rng = np.random.default_rng(0)
    u = rng.random((60, 2))
    em = E.Emulator(0, 0).fit(u, u.copy())
    sd = 0.05
    var = np.full(2, sd ** 2 / 2)  # split between observation and replicate noise
    o = E.Observation(["a", "b"], np.array([0.5, 0.3]), var, np.zeros(2), var)
    pool = rng.random((20_000, 2))
    pm, pv = em.predict(pool)
    for tau in (1.0, 0.25):
        x, lw = diag.fit_back(em, o, pool, pm, pv, 3.0, 1, tau, 10_000, 3,
                              np.random.default_rng(1))
        w = np.exp(lw - lw.max())
        assert w.sum() ** 2 / (w ** 2).sum() > 300
        iv = E.posterior_intervals(x, lw)
        s = sd / np.sqrt(tau)
        cut = 3.0 * sd / s  # the cutoff in sd of the tempered posterior
        half = s * truncnorm(-cut, cut).ppf(0.95)
        np.testing.assert_allclose(iv[:, 0], [0.5 - half, 0.3 - half], atol=0.01)
        np.testing.assert_allclose(iv[:, 1], [0.5 + half, 0.3 + half], atol=0.01)
