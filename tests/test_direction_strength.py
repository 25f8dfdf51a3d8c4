"""``scripts/direction_strength.py`` (the directions of the scenario tests over several seeds):
its parsing, and that its committed tables cover exactly the directions the tests assert now
(add a direction, rerun the script)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("direction_strength_script",
                                                  ROOT / "scripts" / "direction_strength.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_seed_lists_parse():
    ds = _script()
    assert ds._seeds("11-14") == [11, 12, 13, 14]
    assert ds._seeds("5,7,9") == [5, 7, 9]


def test_committed_tables_cover_the_asserted_directions():
    ds = _script()
    lib = ds._library()
    ids = [e.id for e in lib.EXPECT]
    assert len(set(ids)) == len(ids)
    table = pd.read_csv(ROOT / "scripts" / "results" / "direction_strength.csv")
    assert set(table.expectation) == set(ids)
    today = [ds._today_id(d) for d in ds._module("test_today_scenarios").DIRECTIONS]
    assert len(set(today)) == len(today)
    table = pd.read_csv(ROOT / "scripts" / "results" / "direction_strength_today.csv")
    assert set(table.expectation) == set(today)
    assert (table.seeds >= 2).all() and table.se.notna().all()
