"""docs/markets/utility.md: its generated table of what a util is worth matches the code, and the
money values behave as the utility says (log income, penalties rising with the city tier)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ut():
    spec = importlib.util.spec_from_file_location(
        "util_table", ROOT / "docs" / "markets" / "util_table.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["util_table"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ref(ut):
    return ut.reference()


def test_generated_block_is_current(ut):
    """Refresh with ``python docs/markets/util_table.py --write``."""
    assert ut.current_block() == ut.block(), (
        "docs/markets/utility.md is stale: run python docs/markets/util_table.py --write")


def test_every_policy_lever_is_in_the_table(ut):
    from sim.engine.registry import by_role

    block = ut.current_block()
    for name in by_role("policy"):
        assert f"| `{name}` |" in block


def test_ten_percent_more_income_is_beta_log_1_1(ut, ref):
    """The model's own utility table: net income 10% higher raises V by b * log(1.1), b the
    pull coefficient of the age group; and that many utils are worth exactly 10% of income."""
    from sim.core.geography import load_geography
    from sim.engine.yearly import year_quantities
    from sim.mechanisms.decisions.choice import N_CAP, N_SEX, N_TRAIN, type_tables

    geo = load_geography()
    pars = ref.pars
    yq = year_quantities(geo, pars, ut.YEAR, np.ones(geo.n_prov))
    wage = np.full((geo.n_dest, 3, N_TRAIN), 2.0 * yq.y_ref)
    ones, zeros = np.ones(geo.n_dest), np.zeros(geo.n_dest)

    def v(w):
        e, _, _, vmax = type_tables(geo, pars, w, ones, zeros, zeros, yq.y_ref, yq.dist_probs)
        return pars.nest_lambda * (np.log(e) + vmax)

    dv = (v(1.1 * wage) - v(wage)).reshape(geo.n_prov, 3, N_TRAIN, 3, N_SEX, N_CAP, geo.n_dest)
    b = pars.beta_income
    np.testing.assert_allclose(dv[:, :, :, 0], (1 + pars.young_pull_shift) * b * math.log(1.1))
    np.testing.assert_allclose(dv[:, :, :, 1:], b * math.log(1.1))
    for y in (ref.y_dest, ref.y_home):
        assert ut.utils_of_income_change(1.1, b) == pytest.approx(b * math.log(1.1))
        assert ut.cv(b * math.log(1.1), y, b) == pytest.approx(0.1 * y)
        assert ut.cv(-b * math.log(1.1), y, b) == pytest.approx(y / 1.1 - y)


def test_linear_value_is_the_limit_of_the_exact_one(ut, ref):
    b = ref.pars.beta_income
    for c in (1e-4, -1e-4):
        assert ut.cv(c, ref.y_dest, b) == pytest.approx(ut.marginal(c, ref.y_dest, b), rel=1e-3)
    assert ut.cv(1.0, ref.y_dest, b) > ut.marginal(1.0, ref.y_dest, b)  # costs: convex
    assert ut.cv(-1.0, ref.y_dest, b) > -ref.y_dest  # no benefit is worth all income


def test_hukou_value_rises_with_tier(ut, ref):
    rows = [t for t in ut.terms(ref) if t.name.startswith("hukou penalty")]
    assert [t.name.split(", ")[1] for t in rows] == list(ut.TIERS)
    assert list(ref.hukou) == sorted(ref.hukou)
    values = [ut.cv(t.cost, t.y, t.b) for t in rows]
    assert all(v > 0 for v in values)
    assert values == sorted(values), values


def test_reference_incomes_are_plausible(ref):
    assert ref.to_2005 > 1.0
    assert 0 < ref.living < ref.wage
    assert ref.y_dest > 0 and ref.y_home > ref.y_ref > 0
    assert ref.y_tier[-1] == max(ref.y_tier)
