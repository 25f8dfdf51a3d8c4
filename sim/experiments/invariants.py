"""Invariants every run must keep, checked month by month (for sweeps over the parameter space).

The same accounting as ``tests/test_invariants.py``, written to return failures instead of
asserting, so a sweep over many parameter vectors can record which invariant broke where:

* agents: everyone in exactly one place (``loc`` is HOME or a destination id; vacant slots are
  at home and empty), distance class set iff away, converted persons away, ages in
  [15, exit_age - 1], no negative months away, wages and remittances non-negative;
* records: no negative count, the stock changes by exactly outflow - returnflow - exitflow,
  the recorded stocks agree with the agents, the rural labour force changes by exactly
  entrants - leavers - conversions; in December the migrants by province of origin sum to the
  stock and the converted persons by province to the settled;
* indicators: finite wherever a value is expected, shares in [0, 1], money and counts
  non-negative. NaN is expected only (:data:`DECEMBER_ONLY`, and the groups of
  :data:`DECEMBER_ONLY_GROUPS`) in months other than December for yearly indicators, for the
  life course's counts at a date (:data:`LIFE_COUNTS`: December, ``couples_apart`` January;
  every month of a run without the life course), and
  (:func:`check_indicators`) where a ratio has no denominator: completed spells (none ended
  in the last 12 months), returnees' schooling (no returns that month) and the decade
  cohort's returned share (no one first left in the ten years before).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.core.encodings import (
    FEMALE,
    HOME,
    JOB_SELF,
    N_SECTORS,
    NO_MOTHER,
    NO_PERSON,
    NO_SECTOR,
    NO_YEAR,
    RURAL,
    URBAN,
    VACANT,
)
from sim.core.state import families
from sim.io.tallies import PR_EMPLOYED, PR_INFORMAL
from sim.io.urbanisation import INDICATORS as URBANISATION
from sim.mechanisms.demography.life_course import JANUARY_COUNTS, LifeCourse

# counts of the household life course at a date (not flows): NaN in other months, and in every
# month of a run without the life course
LIFE_COUNTS = tuple(r.name for r in LifeCourse.results if not r.flow)

# yearly indicators: recorded in December, NaN in the other months by design
DECEMBER_ONLY = ("gini_rural_income_per_head", "rural_income_per_head_rmb_year",
                 "urban_rural_income_ratio", "share_returned_decade_cohort",
                 "surplus_rural_labour", "rural_underemployment_rate",
                 "children_left_behind", "migrant_children_in_cities",
                 "elders", "elders_need_care", "elders_with_migrant", "elders_left_behind",
                 "elders_need_care_alone", "children_behind_grandparents", "children_behind_kin",
                 "children_behind_no_carer", "migrants_by_origin", "net_migration",
                 *URBANISATION, *(n for n in LIFE_COUNTS if n not in JANUARY_COUNTS))
# indicators monthly in total but yearly (December only) by group prefix: by province
DECEMBER_ONLY_GROUPS = {"settled_urban_hukou": "prov:", "rural_origin_urban_population": "prov:"}
SHARES = ("share_stock", "share_stock_across_province", "share_to_six_destinations",
          "share_male", "share_aged_15_29", "unemployment_rate", "sector_share",
          "migrant_share_of_sector",
          "migrant_share_of_urban_labour", "share_fully_paid", "share_informal",
          "share_paid_min_wage", "wage_bracket_share", "share_with_residence_permit",
          "share_insured", "share_trained", "labour_shortage_rate",
          "share_returned_decade_cohort", "gini_rural_income_per_head",
          "labour_status_share", "informal_share_of_urban_labour",
          "labour_shortage_rate_year_mean", "rural_underemployment_rate",
          "tve_share_of_rural_labour", "urbanisation_by_hukou", "urbanisation_by_residence",
          "urbanisation_gap", "first_birth_share", "share_left_behind_under6")
SIGNED = ("new_entrants_net", "net_migration")  # differences: may be negative
MAX_FAILURES = 20  # per run: the first ones say enough
_COUNTS = ("stock_dest", "stock_dist", "profile", "sector_emp", "wage_bins", "outflow_dist",
           "returnflow", "onflow", "exitflow")


class Checker:
    """Collects failures (``"month t: invariant: detail"``) of one run."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def need(self, ok: Any, t: int, what: str, detail: str = "") -> bool:
        if not bool(ok) and len(self.failures) < MAX_FAILURES:
            self.failures.append(f"month {t}: {what}" + (f": {detail}" if detail else ""))
        return bool(ok)


def check_state(sim: Any, t: int, chk: Checker) -> tuple[int, np.ndarray, np.ndarray]:
    """Per-agent consistency; returns (stock, stock by distance class, migrant mask)."""
    p, n_dest = sim.persons, sim.geo.n_dest
    loc, dist, hukou = p.loc.astype(np.int64), p.dist.astype(np.int64), p.hukou
    bad = ~((loc == HOME) | ((loc >= 0) & (loc < n_dest)))
    chk.need(not bad.any(), t, "one place", f"{int(bad.sum())} persons with loc outside "
             f"HOME/0..{n_dest - 1}")
    chk.need(np.all((hukou == RURAL) | (hukou == URBAN) | (hukou == VACANT)), t, "hukou code")
    vacant = hukou == VACANT
    emp = p.employed  # decoded from the sector, once
    chk.need(np.all(loc[vacant] == HOME) and np.all(p.age[vacant] == 0)
             and np.all(emp[vacant] == 0) and np.all(p.months_away[vacant] == 0),
             t, "vacant slots at home and empty")
    rural, away = hukou == RURAL, loc != HOME
    chk.need(np.array_equal(dist[rural] == -1, ~away[rural]), t, "distance class iff away")
    chk.need(np.all((dist[rural & away] >= 0) & (dist[rural & away] <= 3)), t,
             "distance class in 0..3")
    chk.need(np.all(away[hukou == URBAN]), t, "converted persons live at a destination")
    chk.need(np.all(emp[rural & ~away] == 0), t, "no urban job at home")
    chk.need(np.all(p.months_away[rural & ~away] == 0), t, "no months away at home")
    chk.need(np.all((p.sector == NO_SECTOR) | ((p.sector >= 0) & (p.sector < N_SECTORS))), t,
             "sector code (NO_SECTOR without a wage job)")
    own = (p.job & JOB_SELF) != 0
    chk.need(np.all(rural[own] & away[own] & (emp[own] == 0)), t,
             "own-account work only by rural migrants away without a wage job")
    chk.need(np.all(p.months_away >= 0), t, "months away >= 0")
    if (~vacant).any():
        exit_age = int(getattr(sim.pars, "exit_age", 65))
        lo, hi = int(p.age[~vacant].min()), int(p.age[~vacant].max())
        chk.need(lo >= 15 and hi <= exit_age - 1, t, "ages in [15, exit_age - 1]",
                 f"ages {lo}..{hi}, exit_age {exit_age}")
    for name in ("wage", "remit"):
        arr = getattr(sim.buf, name, None)
        if arr is not None:
            chk.need(np.all(arr >= 0) and np.all(np.isfinite(arr)), t,
                     f"{name} finite and non-negative", f"min {float(np.nanmin(arr)):.4g}")
    check_families(sim, t, chk)
    migrants = rural & away
    return int(migrants.sum()), np.bincount(dist[migrants], minlength=4), migrants


def check_families(sim: Any, t: int, chk: Checker) -> None:
    """Couples and children (household life course): spouses point to each other, are of
    opposite sex, live in one prefecture and occupy their slots; every household's count of
    children equals its table; every child's mother, where known, is a woman of the household."""
    p, hs, hh_start = sim.persons, sim.households, sim.places.hh_start
    sp = p.spouse.astype(np.int64)
    married = np.flatnonzero(sp != NO_PERSON)
    if married.size:
        partner = sp[married]
        chk.need(np.array_equal(sp[partner], married), t, "spouses point to each other")
        chk.need(np.all(p.sex[partner] != p.sex[married]), t, "spouses of opposite sex")
        pref = sim.places.county_pref
        cty = p.county
        chk.need(np.all(pref[cty[partner]] == pref[cty[married]]), t,
                 "spouses in one prefecture")
        chk.need(np.all(p.hukou[married] != VACANT), t, "no spouse in a vacant slot")
    kids = hs.child_by != NO_YEAR
    chk.need(np.array_equal(kids.sum(axis=1), hs.n_children.astype(np.int64))
             or not kids.any(), t, "children counted as in the table")
    h, j = np.nonzero(kids & (hs.child_mother != NO_MOTHER))
    if h.size:
        m = hh_start[h] + hs.child_mother[h, j]
        chk.need(np.all(m < hh_start[h + 1]) and np.all(p.sex[m] == FEMALE)
                 and np.all(p.hukou[m] != VACANT), t, "each child's mother a woman of its "
                 "household")


def check_record(sim: Any, t: int, prev_stock: int, counted: tuple, chk: Checker) -> int:
    """Recorded counts of month ``t``: non-negative, identities, agreement with the agents."""
    r, p = sim.rec, sim.persons
    for name in _COUNTS:
        arr = getattr(r, name)[t]
        chk.need(np.all(arr >= 0), t, "no negative count", name)
    stock = int(r.stock_dest[t].sum())
    out, ret = int(r.outflow_dist[t].sum()), int(r.returnflow[t])
    ex = int(r.exitflow[t].sum())
    chk.need(stock - prev_stock == out - ret - ex, t, "stock changes by the flows",
             f"stock {prev_stock}->{stock}, outflow {out} - return {ret} - exit {ex}")
    chk.need(int(r.stock_dist[t].sum()) == stock, t, "stock by distance = stock")
    occupied = p.n - int(np.sum(p.hukou == VACANT))
    chk.need(int(r.profile[t, 4] + r.profile[t, 5]) == occupied, t,
             "rural labour force + settled = occupied slots")
    if t > 0:
        sc = r.scalars
        change = int(r.profile[t, 4]) - int(r.profile[t - 1, 4])
        flows = int(sc["entrants"][t]) - int(sc["leavers"][t]) - int(r.exitflow[t, 2])
        chk.need(change == flows, t, "rural labour force changes by the flows",
                 f"change {change}, entrants - leavers - conversions {flows}")
    n_agents, by_dist, migrants = counted
    chk.need(stock == n_agents, t, "recorded stock = agents away", f"{stock} vs {n_agents}")
    chk.need(np.array_equal(r.stock_dist[t], by_dist), t, "stock by distance = agents")
    chk.need(np.array_equal(r.stock_dest[t], np.bincount(p.loc[migrants].astype(np.int64),
                                                         minlength=sim.geo.n_dest)),
             t, "stock by destination = agents")
    chk.need(int(r.profile[t, 3]) == int(p.employed[migrants].sum()), t,
             "employed migrants = agents")
    origin, settled = r.migrants_origin[t], r.settled_prov[t]
    if sim.month == 12 and origin.size:
        chk.need(np.all(origin >= 0) and np.all(settled >= 0), t,
                 "province counts recorded in December")
        chk.need(int(origin.sum()) == stock, t, "migrants by origin province = stock",
                 f"{int(origin.sum())} vs {stock}")
        chk.need(np.array_equal(origin, np.bincount(
            sim.hh_prov[p.hh[migrants]].astype(np.int64), minlength=origin.size)), t,
            "migrants by origin province = agents")
        chk.need(int(settled.sum()) == int(r.profile[t, 5]), t,
                 "settled by province = settled")
    elif origin.size:
        chk.need(np.all(origin == -1) and np.all(settled == -1), t,
                 "province counts only in December")
    return stock


def children_in_tables(sim: Any) -> int:
    """Children under 15 in the households' tables (the household life course)."""
    return int(np.count_nonzero(sim.households.child_by != NO_YEAR))


def check_children(sim: Any, t: int, before: int, chk: Checker) -> int:
    """With the household life course, the children's table changes by exactly the flows:
    births, less those reaching 15 (entrants, unplaced entrants, tertiary exits), less those
    who leave with a parent taking urban hukou. Returns the count now."""
    now = children_in_tables(sim)
    sc = sim.rec.scalars
    if "life_course" in sim.mech and "tertiary_exits" in sc and families(sim.pars):
        jan = sim.month == 1 and t > 0
        flows = int(sc["children_settled"][t])
        if jan:
            flows += int(sc["tertiary_exits"][t]) + int(sc["entrants"][t]) + int(
                sc["entrants_unplaced"][t]) - int(sc["births"][t])
        chk.need(before - now == flows, t, "children change by the flows",
                 f"table {before}->{now}, out - in {flows}")
    return now


def _cohort_empty(sim: Any) -> bool:
    """No rural person first left in the ten years before this one (no denominator)."""
    p, year = sim.persons, sim.year
    return not np.any((p.first_year >= year - 10) & (p.first_year <= year - 1)
                      & (p.hukou == RURAL))


def check_indicators(res: Any, empty_cohort_months: set[int], chk: Checker) -> None:
    """Indicators finite where a value is expected, shares in [0, 1], the rest non-negative."""
    ser = res.series()
    months = np.arange(res.n_months)
    december = months % 12 == 11
    sc = res.rec.scalars
    k = np.ones(12)
    spells = {g: np.convolve(np.nan_to_num(sc[f"spells_{g}"]), k)[: res.n_months] > 0
              for g in ("male", "female")}
    for (ind, grp), v in ser.items():
        v = np.asarray(v, np.float64)
        where = f"{ind}[{grp}]"
        if ind in LIFE_COUNTS and not res.meta.get("families", True):
            expected = np.zeros(res.n_months, bool)  # not counted without the life course
        elif ind in JANUARY_COUNTS:
            expected = (months % 12 == 0) & (months > 0)  # the weddings, births of the year
        elif december_only(ind, grp):
            expected = december.copy()
            if ind == "share_returned_decade_cohort":
                expected &= ~np.isin(months, list(empty_cohort_months))
        elif ind == "completed_spell_years":
            expected = spells[grp.removeprefix("sex:")]
        elif ind == "mean_school_level" and grp == "returnees":
            expected = res.rec.returnflow > 0
        elif ind == "mean_earnings_rmb_2000":
            expected = earners(res, grp) > 0
        else:
            expected = np.ones(res.n_months, bool)
        bad = expected & ~np.isfinite(v)
        if not chk.need(not bad.any(), int(np.argmax(bad)), "finite where expected",
                        f"{where} = {v[np.argmax(bad)]}"):
            continue
        if (ind in ("completed_spell_years", "mean_earnings_rmb_2000")
                or where == "mean_school_level[returnees]"):
            nan_bad = ~expected & np.isfinite(v)
            chk.need(not nan_bad.any(), int(np.argmax(nan_bad)), "NaN where no denominator",
                     where)
        x = v[expected]
        if ind in SHARES:
            lo_ok = np.all(x >= -1e-12)
            hi_ok = np.all(x <= 1 + 1e-12)
            chk.need(lo_ok and hi_ok, int(np.argmax(expected & ((v < 0) | (v > 1)))),
                     "share in [0, 1]",
                     f"{where} in [{x.min():.6g}, {x.max():.6g}]" if x.size else where)
        elif ind not in SIGNED:
            chk.need(np.all(x >= 0), int(np.argmax(expected & (v < 0))), "non-negative",
                     f"{where} min {x.min() if x.size else 0:.6g}")


def earners(res: Any, group: str) -> np.ndarray:
    """Migrants (agents) in the labour status of a ``mean_earnings_rmb_2000`` group, by month:
    the denominator of the mean, counted from the run's tallies."""
    informal = res.rec.profile[:, PR_INFORMAL].astype(np.float64)
    formal = res.rec.profile[:, PR_EMPLOYED] - informal
    own = np.nan_to_num(res.rec.scalars.get("self_employed", np.zeros(res.n_months)))
    return {"migrants:formal": formal, "migrants:informal_wage": informal,
            "migrants:self_employed": own, "migrants:working": formal + informal + own}[group]


def december_only(indicator: str, group: str) -> bool:
    """Whether the series ``indicator[group]`` is yearly: recorded in December, NaN in the
    other months (:data:`DECEMBER_ONLY`, :data:`DECEMBER_ONLY_GROUPS`)."""
    prefix = DECEMBER_ONLY_GROUPS.get(indicator)
    return indicator in DECEMBER_ONLY or (prefix is not None and group.startswith(prefix))


def sample_vectors(n: int, seed: int, years: int = 2,
                   schema: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """``n`` parameter vectors drawn by a Latin hypercube uniformly within the declared ranges.

    Every float and int parameter gets a scalar in [lo, hi] (a yearly path by default is
    replaced by one value); each bool is true with probability 1/2 and a choice parameter
    takes one of its choices (each from its own hypercube dimension). Each vector also holds
    a ``start_year`` drawn within what the data allow for its ``exit_age`` and
    ``cohort_entry`` (:func:`sim.experiments.resources.year_range`), and a run ``seed``. The
    inspection focus shares are scaled to sum to at most one (:func:`_shares_within_one`)."""
    from scipy.stats import qmc

    from sim.engine.registry import Params
    from sim.engine.registry import schema as model_schema
    from sim.experiments.resources import year_range

    sch = dict(schema if schema is not None else model_schema())
    names = list(sch)
    u = qmc.LatinHypercube(d=len(names) + 1, seed=seed).random(n)
    out = []
    for i, row in enumerate(u):
        vec: dict[str, Any] = {}
        for name, x in zip(names, row, strict=False):
            p = sch[name]
            if p.kind is bool:
                vec[name] = bool(x < 0.5)
            elif p.kind is str:
                vec[name] = p.choices[min(int(x * len(p.choices)), len(p.choices) - 1)]
            elif p.kind is int:
                vec[name] = int(min(p.hi, math.floor(p.lo + x * (p.hi - p.lo + 1))))
            else:
                vec[name] = float(p.lo + x * (p.hi - p.lo))
        _shares_within_one(vec, [k for k in names if k.startswith("inspection_focus_")])
        first, last = year_range(Params(vec), years)
        vec["start_year"] = int(min(last, math.floor(first + row[-1] * (last - first + 1))))
        vec["seed"] = seed * 1000 + i
        out.append(vec)
    return out


def _shares_within_one(vec: dict[str, Any], names: list[str]) -> None:
    """Shares of one whole drawn independently (the inspectors' effort by violation,
    ``inspection.check``) are scaled down to sum to one when they exceed it, so that the
    sample covers the feasible set rather than being mostly refused."""
    total = sum(vec[k] for k in names)
    if total > 1.0:
        for k in names:
            vec[k] = vec[k] / total


def refusal(params: Mapping[str, Any]) -> str | None:
    """Why the model refuses these values before building (each in range, together impossible:
    ``Mechanism.check``), or None. A drawn vector that is refused is not a failure: the test is
    that the refusal is a clean ``ValueError`` naming it."""
    from sim.engine.registry import Params, build

    pars = Params(dict(params))
    try:
        for m in build():
            m.check(pars)
    except ValueError as e:
        return str(e)
    return None


def run_checked(params: Mapping[str, Any] | Any, *, agents: int = 2000, seed: int = 1,
                start_year: int = 1985, years: int = 2) -> dict[str, Any]:
    """Build and step a run, checking every month; return {"failures": [...], ...}. Values the
    model refuses before building (:func:`refusal`) give {"failures": [], "refused": why}."""
    from sim.engine.loop import Simulation

    chk = Checker()
    why = refusal(params) if isinstance(params, Mapping) else None
    if why is not None:
        try:
            Simulation(params, agents=agents, seed=seed, start_year=start_year, years=years,
                       threads=1)
        except ValueError as e:
            if str(e) == why:
                return {"failures": [], "refused": why, "stage": "build"}
        return {"failures": [f"build: not refused cleanly ({why})"], "stage": "build"}
    try:
        model = Simulation(params, agents=agents, seed=seed, start_year=start_year,
                           years=years, threads=1)
    except Exception as e:  # noqa: BLE001 - a refusal to build is itself a finding
        return {"failures": [f"build: {type(e).__name__}: {e}"], "stage": "build"}
    counted = check_state(model, -1, chk)
    chk.need(counted[0] == model.initial_stock, -1, "initial stock = agents away")
    prev = model.initial_stock
    kids = children_in_tables(model)
    empty: set[int] = set()
    try:
        for t in range(model.n_months):
            model.step()
            if model.month == 12 and _cohort_empty(model):
                empty.add(t)
            counted = check_state(model, t, chk)
            prev = check_record(model, t, prev, counted, chk)
            kids = check_children(model, t, kids, chk)
        res = model.results()
        r = model.rec
        chk.need(r.stock_dest[-1].sum() == model.initial_stock + r.outflow_dist.sum()
                 - r.returnflow.sum() - r.exitflow.sum(), model.n_months - 1,
                 "cumulative stock identity")
        check_indicators(res, empty, chk)
    except Exception as e:  # noqa: BLE001 - a crash is a finding too
        chk.failures.append(f"month {model.t}: crash: {type(e).__name__}: {e}")
    return {"failures": chk.failures, "stage": "run",
            "migrants_end": int(model.rec.stock_dest[-1].sum()) if model.n_months else 0,
            "outflow": int(model.rec.outflow_dist.sum())}


__all__ = ["DECEMBER_ONLY", "DECEMBER_ONLY_GROUPS", "SHARES", "SIGNED", "Checker", "check_children",
           "children_in_tables",
           "check_indicators", "check_record", "check_state", "december_only", "run_checked",
           "sample_vectors"]
