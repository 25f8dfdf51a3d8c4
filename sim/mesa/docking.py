"""Docking the reference model against the fast core (Axtell, Axelrod, Epstein & Cohen 1996).

Both models run on the same parameters and the same initial populations (same seeds), many
replicates each; the key indicators are read at a few checkpoints and compared replicate
distribution against replicate distribution: Welch's t-test (the criterion) and the
Mann-Whitney U test (reported), plus the mean difference in units of the pooled
between-replicate standard deviation.

Checkpoints: stocks and shares at the end of month 1 and of each year; flows (outflow,
returnflow) summed over each year, since monthly flows are a handful of agents at docking sizes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.engine import Simulation
from sim.mesa.reference import ReferenceModel

FLOWS = ("outflow", "returnflow")
#: (indicator, group) pairs compared, with a short label
DOCKED = {
    ("migrant_stock", "total"): "stock",
    ("outflow", "total"): "outflow",
    ("returnflow", "total"): "returnflow",
    ("share_male", "total"): "share_male",
    ("share_aged_15_29", "total"): "share_15_29",
    ("unemployment_rate", "migrants"): "unemployment",
    ("sector_share", "sector:construction"): "sh_construction",
    ("sector_share", "sector:manufacturing"): "sh_manufacturing",
    ("sector_share", "sector:services"): "sh_services",
    ("share_fully_paid", "migrants"): "share_fully_paid",
    ("children_left_behind", "total"): "children_behind",
    ("share_to_six_destinations", "total"): "share_six",
}


def checkpoints(series: Mapping[tuple[str, str], np.ndarray], scale: float) -> dict[str, float]:
    """Checkpoint values of one run: {label@checkpoint: value}; counts in agents (real persons
    divided by the scale), so that different scales would still compare."""
    out: dict[str, float] = {}
    for key, label in DOCKED.items():
        v = np.asarray(series[key], np.float64)
        years = v.size // 12
        if key[0] in ("migrant_stock", "outflow", "returnflow", "children_left_behind"):
            v = v / scale
        if key[0] in FLOWS:
            for y in range(years):
                out[f"{label}@y{y + 1}"] = float(v[12 * y : 12 * y + 12].sum())
        else:
            out[f"{label}@m1"] = float(v[0])
            for y in range(years):
                out[f"{label}@m{12 * y + 12}"] = float(v[12 * y + 11])
    return out


def run_core(
    seed: int,
    agents: int,
    start_year: int,
    years: int,
    params: Mapping[str, Any] | None = None,
    threads: int | None = 1,
) -> dict[str, float]:
    """Checkpoints of one core run (one numba thread by default: at docking sizes threads
    only add overhead, and results do not depend on the thread count)."""
    sim = Simulation(
        dict(params or {}),
        agents=agents,
        seed=seed,
        start_year=start_year,
        years=years,
        threads=threads,
    )
    return checkpoints(sim.run().series(), sim.scale)


def run_reference(
    seed: int,
    agents: int,
    start_year: int,
    years: int,
    params: Mapping[str, Any] | None = None,
    model_cls: Callable[..., ReferenceModel] = ReferenceModel,
    **flags: Any,
) -> dict[str, float]:
    """Checkpoints of one reference run (``flags``: ``network_term``, ``return_hazard_mult``)."""
    m = model_cls(
        dict(params or {}), agents=agents, seed=seed, start_year=start_year, years=years, **flags
    ).run()
    return checkpoints(m.series(), m.scale)


def replicate(
    run: Callable[[int], dict[str, float]], seeds: Iterable[int]
) -> dict[str, np.ndarray]:
    rows = [run(s) for s in seeds]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


@dataclass
class Row:
    name: str
    mean_a: float
    sd_a: float
    mean_b: float
    sd_b: float
    p_welch: float
    p_mw: float
    std_diff: float  # (mean_a - mean_b) / pooled SD


def compare(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> list[Row]:
    """Two-sample comparison per checkpoint (a: reference, b: core)."""
    rows = []
    for k in a:
        x, y = np.asarray(a[k], float), np.asarray(b[k], float)
        sa, sb = x.std(ddof=1), y.std(ddof=1)
        pooled = math.sqrt((sa * sa + sb * sb) / 2.0)
        if pooled == 0.0:  # constant in both: equal or not
            p = pmw = 1.0 if x.mean() == y.mean() else 0.0
            d = 0.0 if x.mean() == y.mean() else math.inf
        else:
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
            pmw = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
            d = float((x.mean() - y.mean()) / pooled)
        rows.append(Row(k, float(x.mean()), float(sa), float(y.mean()), float(sb), p, pmw, d))
    return rows


def table(rows: list[Row], alpha: float, label_a: str = "reference", label_b: str = "core") -> str:
    """Printable table of means, SDs, p-values and standardised differences."""
    head = (
        f"{'indicator@checkpoint':<24}{label_a + ' mean':>15}{'sd':>8}{label_b + ' mean':>15}"
        f"{'sd':>8}{'p Welch':>10}{'p MW':>9}{'d/sd':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        flag = " *" if r.p_welch < alpha else ""
        lines.append(
            f"{r.name:<24}{r.mean_a:>15.3f}{r.sd_a:>8.3f}{r.mean_b:>15.3f}"
            f"{r.sd_b:>8.3f}{r.p_welch:>10.2g}{r.p_mw:>9.2g}{r.std_diff:>7.2f}{flag}"
        )
    lines.append(
        f"(* p Welch < Bonferroni alpha {alpha:.2g}; d/sd = mean difference over the "
        f"pooled between-replicate SD)"
    )
    return "\n".join(lines)


def transplant(sim: Simulation) -> ReferenceModel:
    """A reference model in the state of the core ``sim`` (same seed and population): every
    person's and household's state, demand and wage levels copied, the year resolved. For
    checking rules on a common state (one month, or one decision, at a time)."""
    m = ReferenceModel(
        sim.params, agents=sim.agents, seed=sim.seed, start_year=sim.start_year, years=sim.years
    )
    p, hh = sim.persons, sim.households
    for i, x in enumerate(m.persons):
        for a in (
            "age",
            "sex",
            "school",
            "trained",
            "loc",
            "hukou",
            "dist",
            "employed",
            "months_away",
            "sector",
            "job",
            "permit",
            "first_year",
            "tve",
        ):
            setattr(x, a, int(getattr(p, a)[i]))
    for h, house in enumerate(m.households):
        house.n_children = int(hh.n_children[h])
        k = int(hh.kids_with[h])
        house.kids_with = m.persons[k] if k >= 0 else None
    m.t = sim.t
    m.resolve_year(sim.start_year + max(sim.t - 1, 0) // 12)
    for name in ("demand", "base_demand", "levels", "ref_levels"):
        setattr(m, name, getattr(sim, name).copy())
    return m
