"""Land tenure of rural households: who holds the land when members come and go (issue 12).

Each household holds a stock of contracted arable land, ``households.land_mu`` (mu), and a
per-worker entitlement drawn at the start, ``households.land_mu_per_worker``. The dated policy
``land_tenure`` (in :mod:`sim.mechanisms.household`) says how the stock follows the members:

``readjusted`` (to 2002)
    The village adjusts each household's land to its registered rural workers at the
    household's own entitlement: T_h = entitlement_h x workers_h, rewritten every month (the
    rule of version 0.9 and earlier). Readjustments to changes in household size were common in
    the 1980s and 1990s (Kung 2000, J. Comp. Econ. 28(4); Brandt, Huang, Li & Rozelle 2002,
    China Journal 47); that the village's land grows with its people is the rule's stated
    approximation.

``fixed`` (from 2003)
    "More people, no more land; fewer people, no less land" (zeng ren bu zeng di, jian ren bu
    jian di): advocated for the contract term by CPC Central Committee and State Council
    Document No. 11 of 1993 after the Meitan (Guizhou) trial of 1987 (Xinhua Daily Telegraph on
    Meitan, http://bbs.zunyishizx.com/archiver/showtopic-8099.aspx), and made law by the Rural
    Land Contracting Law (adopted 29 August 2002, in force 1 March 2003: the Taikang county
    government's copy, sim/data/policies.toml ``rural_land_contracting_law_2002``; art. 27, as
    recalled: no readjustment by the contractor within the term). The stock stays with the
    household through births, entry at 15, marriage into it, deaths, ageing out, migration and
    hukou conversion. The switch year is a lever (1994-2003
    are defensible: the 1993 document advocated, the 2002 law required).

**Division at a split** (fen jia; an assumption, stated): when a couple sets up a new
household in an empty homestead, each spouse takes an equal share per registered rural worker
of the land of the household they leave, T_from / workers_from (land was contracted per head in
the 1980s allocations), and the new household keeps any land the homestead still held (a
household that died out). Marriage into an existing household carries no land (the bride's
share stays with her natal household, as the 1993 rule implies). The total is conserved.

**Income anchor.** Farm productivity A_p is set each year so that a household with the
provincial mean land per worker earns the observed provincial income
(``household.log_farm_productivity``). Under ``fixed`` the mean land per registered worker
drifts as households grow or shrink; the anchor uses the provincial mean scaled by
f_p = sum_h T_h / sum_h (entitlement_h x workers_h), so the published rural income series stays
the average and the tenure rule moves only who is above or below it. Under ``readjusted``
f_p = 1 exactly. The surplus-labour reference (``rural``) keeps the start year's land per
worker: the institutional wage of Fei and Ranis is fixed in land terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.state import household, rural_members

TENURES = ("readjusted", "fixed")


def is_fixed(pars: Any) -> bool:
    """The year's tenure rule holds each household's land stock fixed."""
    return pars.land_tenure == "fixed"


@njit(cache=True, inline="always")
def land_per_worker(h, hh_start, loc, hukou, land_pw, land, fixed):
    """Land per registered rural worker of household ``h`` under the tenure rule."""
    if not fixed:
        return np.float64(land_pw[h])
    n_work, _ = rural_members(hh_start, h, loc, hukou)
    return np.float64(land[h]) / max(n_work, 1)


@njit(cache=True)
def split_land(src, dst, hh_start, p, land):
    """Moves ``src[k] -> dst[k]`` (person slots, before they happen): a mover whose new
    household holds no registered rural worker (an empty homestead: a split) takes the share
    T_from / workers_from of the land of the household left. Serial, in the order given, with
    the counts taken before any move, so the result does not depend on threads; returns the
    mu moved."""
    loc = p.loc
    hukou = p.hukou
    n = src.shape[0]
    h_from = np.empty(n, np.int64)
    share = np.zeros(n, np.float64)
    for k in range(n):
        a, b = household(p, src[k]), household(p, dst[k])
        h_from[k] = a
        n_to, _ = rural_members(hh_start, b, loc, hukou)
        if a == b or n_to > 0:
            continue
        n_from, _ = rural_members(hh_start, a, loc, hukou)
        share[k] = np.float64(land[a]) / max(n_from, 1)
    moved = 0.0
    for k in range(n):
        if share[k] > 0.0:
            land[h_from[k]] = np.float32(np.float64(land[h_from[k]]) - share[k])
            b = household(p, dst[k])
            land[b] = np.float32(np.float64(land[b]) + share[k])
            moved += share[k]
    return moved


@njit(cache=True, parallel=True)
def land_totals(hh_start, loc, hukou, land_pw, land, out_stock, out_entitled):
    """Per household: the land stock and the entitlement x registered rural workers."""
    for h in prange(hh_start.shape[0] - 1):
        n_work, _ = rural_members(hh_start, h, loc, hukou)
        out_stock[h] = land[h]
        out_entitled[h] = np.float64(land_pw[h]) * n_work


def anchor_factor(sim: Any) -> np.ndarray:
    """f_p of the income anchor (module docstring): ones under ``readjusted``."""
    n_prov = sim.geo.n_prov
    if not is_fixed(sim.pars):
        return np.ones(n_prov)
    hs, p = sim.households, sim.persons
    stock = np.empty(hs.n, np.float64)
    entitled = np.empty(hs.n, np.float64)
    land_totals(sim.places.hh_start, p.loc, p.hukou, hs.land_mu_per_worker, hs.land_mu,
                stock, entitled)
    s = np.bincount(sim.hh_prov, stock, n_prov)
    e = np.bincount(sim.hh_prov, entitled, n_prov)
    return np.where((s > 0) & (e > 0), s / np.maximum(e, 1e-12), 1.0)
