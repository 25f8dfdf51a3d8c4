"""docs/markets/lever_effects.py: the model's effect of the levers with published evidence
(utility.md's last column). The paired effect by hand, zero for a change that changes nothing
(common random numbers), power for a real change, and the committed table complete."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def le():
    spec = importlib.util.spec_from_file_location(
        "lever_effects", ROOT / "docs" / "markets" / "lever_effects.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lever_effects"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_paired_effect_by_hand(le):
    """'%': mean of the paired differences over the baseline's mean, x 100; 'points': x 100;
    the interval is the t interval of the differences; the RMB ratio is taken per replicate."""
    base, lever = [10.0, 12.0, 14.0], [11.0, 12.6, 15.4]
    e, lo, hi, b = le.paired_effect(le.Outcome("x", "%", None), base, lever)
    d = np.array([1.0, 0.6, 1.4]) * 100 / 12.0
    h = 4.302653 * d.std(ddof=1) / math.sqrt(3)  # t(0.975, 2)
    assert (e, b) == (pytest.approx(d.mean()), 12.0)
    assert lo == pytest.approx(d.mean() - h, rel=1e-5)
    assert hi == pytest.approx(d.mean() + h, rel=1e-5)
    e, _, _, _ = le.paired_effect(le.Outcome("x", "points", None), [0.1, 0.2], [0.15, 0.23])
    assert e == pytest.approx(4.0)
    e, _, _, b = le.paired_effect(le.Outcome("x", "RMB 2000 a month", None),
                                  [(100.0, 10.0), (200.0, 20.0)], [(130.0, 12.0), (260.0, 24.0)])
    assert e == pytest.approx(15.0) and math.isnan(b)


def test_a_change_that_changes_nothing_has_no_effect(le):
    """A lever set to its default runs exactly the baseline (common random numbers), so every
    outcome's paired difference is 0; a real change moves its outcome."""
    import sim.engine.registry as reg

    path = reg.Params()["inspection_focus_arrears"].to_json()  # the default, as a change
    same = le.Lever("inspection_focus_arrears", "none", {"inspection_focus_arrears": path},
                    (le.PAID, le.STOCK))
    base = le.run_one(None, 3, 4000, (same,))
    assert le.run_one(same, 3, 4000) == base
    real = next(lv for lv in le.LEVERS if lv.name == "inspection_focus_arrears")
    moved = le.run_one(real, 3, 4000)
    assert moved[le.PAID.name] > base[le.PAID.name]


def test_committed_table_covers_every_lever_outcome(le):
    """lever_effects.csv has a row per lever and outcome, ordered intervals, and levers that
    are policy parameters; utility.md's table shows them (its freshness: test_util_table)."""
    from sim.engine.registry import by_role

    rows = le.read()
    want = {(lv.name, o.name) for lv in le.LEVERS for o in lv.outcomes}
    assert {(r["lever"], r["outcome"]) for r in rows} == want
    policy = set(by_role("policy"))
    for r in rows:
        assert r["lever"] in policy
        assert float(r["low"]) <= float(r["effect"]) <= float(r["high"])
        assert int(r["replicates"]) >= 4 and int(r["agents"]) >= 100_000
    page = (ROOT / "docs" / "markets" / "utility.md").read_text(encoding="utf-8")
    assert page.count("persons, version ") == len(le.LEVERS)
