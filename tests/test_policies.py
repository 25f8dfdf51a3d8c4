"""Dated policies: documents, the controls on movement they end, and behaviour constant in time
(issue 12, part 3)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

import sim
from sim.core import policies
from sim.core.params import YearlyPath
from sim.engine.registry import Params

START = 1985  # the earliest start year: a path's first value is the state of policy then


def test_documents_parse_and_name_policy_levers():
    """Every document has a valid date, an effective year in the year of the date or the next,
    a unique id, and names only policy parameters of the schema."""
    docs = policies.documents()
    assert len(docs) >= 10
    schema = sim.schema()
    ids = [d.id for d in docs]
    assert len(ids) == len(set(ids))
    for d in docs:
        year = int(d.date[:4])
        datetime.date.fromisoformat(d.date if len(d.date) == 10 else d.date[:7] + "-01")
        assert d.effective_year in (year, year + 1), d.id
        assert d.issuer and d.title and d.source and d.summary, d.id
        for lever in d.levers:
            assert lever in schema, (d.id, lever)
            assert schema[lever].role == "policy", (d.id, lever)


def test_no_behaviour_parameter_has_a_yearly_path():
    """Behaviour is constant over time (issue 12): no behaviour-role default is a yearly path;
    history enters through exogenous series and dated policies. The last path, ``female_cost``,
    gave way to the women's migration experience (``decisions.norms``) in 0.13."""
    bad = sorted(
        name
        for name, p in sim.schema().items()
        if p.role == "behaviour" and isinstance(p.default, dict)
    )
    assert bad == []


def test_policy_paths_change_only_at_dated_documents():
    """A policy parameter's default path is stepwise and changes value only in the effective
    year of a document that names it, or in a year of its ``reviews`` span (the minimum-wage
    reviews of the 2004 Provisions from 2011); its first year is at or before 1985."""
    params = Params()
    checked = 0
    for name, p in sim.schema().items():
        if p.role != "policy" or not isinstance(p.default, dict):
            continue
        path = params[name]
        assert isinstance(path, YearlyPath) and path.mode == "step", name
        assert path.years[0] <= START, name
        dated = set().union(*(d.dates(name) for d in policies.documents_for(name)))
        for y, before, after in zip(path.years[1:], path.values[:-1], path.values[1:], strict=True):
            if after != before:
                assert y in dated, f"{name}: change in {y} has no document ({sorted(dated)})"
        checked += 1
    assert checked >= 8


def test_review_years_date_the_minimum_wage_series():
    """The 2004 Provisions' reviews span 2011-2024 for its own levers only."""
    doc = policies.by_id("min_wage_provisions_2004")
    assert doc.reviews == (2011, 2024)
    assert doc.dates("min_wage_ratio") == {2004, *range(2011, 2025)}
    assert doc.dates("hukou_penalty_small") == set()
    assert policies.by_id("labour_law_1994").dates("min_wage_ratio") == {1995}


def test_control_cost_by_hand():
    """Each control is in force until its document's effective year; the lever adds on top."""
    grain = policies.by_id(policies.CONTROLS["control_grain_rations"]).effective_year
    custody = policies.by_id(policies.CONTROLS["control_custody"]).effective_year
    assert grain == 1993 and custody == 2003
    pars = SimpleNamespace(control_grain_rations=1.5, control_custody=0.5, mobility_control=0.0)
    assert policies.control_cost(pars, 1985) == 2.0
    assert policies.control_cost(pars, 1992) == 2.0
    assert policies.control_cost(pars, 1993) == 0.5
    assert policies.control_cost(pars, 2002) == 0.5
    assert policies.control_cost(pars, 2003) == 0.0
    pars.mobility_control = 1.0
    assert policies.control_cost(pars, 2010) == 1.0


def test_controls_are_constant_policy_parameters():
    schema = sim.schema()
    for name in policies.CONTROLS:
        assert schema[name].role == "policy" and not isinstance(schema[name].default, dict)


def test_unknown_document_is_named():
    with pytest.raises(KeyError, match="no policy document"):
        policies.by_id("no_such_document")
