"""Land tenure in the Mesa reference model: the rules of :mod:`sim.core.land`, written
over agents (the household's stock ``land_stock``, its entitlement ``land``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.core.encodings import HOME, RURAL
from sim.core.land import is_fixed


def rural_counts(h: Any) -> tuple[int, int]:
    """(registered rural members, of whom at home) of household ``h``."""
    n_work = sum(1 for x in h.members if x.hukou == RURAL)
    at_home = sum(1 for x in h.members if x.hukou == RURAL and x.loc == HOME)
    return n_work, at_home


def log_land(h: Any, n_work: int, fixed: bool) -> float:
    """log T of household ``h`` (``household.home_income``): the stock under ``fixed``; else
    the entitlement times the workers (at least one), and the stock follows them."""
    if fixed:
        return math.log(max(float(h.land_stock), 1e-3))
    h.land_stock = np.float32(h.land) * np.float32(n_work)
    return h.log_land + math.log(min(max(n_work, 1), 63))


def land_now(model: Any) -> None:
    """Land per registered worker of every household before the month's conversions
    (``land.land_per_worker``; the core reads the state before any conversion)."""
    fixed = is_fixed(model.pars)
    for h in model.households:
        if fixed:
            h.land_now = float(h.land_stock) / max(rural_counts(h)[0], 1)
        else:
            h.land_now = float(np.float32(h.land))


def anchor(model: Any) -> np.ndarray:
    """Mean land per worker of the income anchor (``land.anchor_factor``)."""
    if not is_fixed(model.pars):
        return model.mean_land_prov * np.ones(model.geo.n_prov)
    n_prov = model.geo.n_prov
    s, e = np.zeros(n_prov), np.zeros(n_prov)
    for h in model.households:
        s[h.prov] += float(h.land_stock)
        e[h.prov] += float(np.float32(h.land)) * rural_counts(h)[0]
    return model.mean_land_prov * np.where((s > 0) & (e > 0), s / np.maximum(e, 1e-12), 1.0)


def split(model: Any, pars: Any, moves: list) -> None:
    """Moves (source person, destination place) before they happen: a mover into a household
    with no registered rural worker takes T_from / workers_from (``land.split_land``)."""
    if not is_fixed(pars):
        return
    plan = []
    for src, dst in moves:
        a, b = src.household, dst.household
        share = 0.0
        if a is not b and rural_counts(b)[0] == 0:
            share = float(a.land_stock) / max(rural_counts(a)[0], 1)
        plan.append((a, b, share))
    for a, b, share in plan:
        if share > 0.0:
            a.land_stock = np.float32(float(a.land_stock) - share)
            b.land_stock = np.float32(float(b.land_stock) + share)
