"""Docking the reference model against the fast core (Axtell, Axelrod, Epstein & Cohen 1996).

Both models run on the same parameters and the same initial populations and initial
migrants (same seeds), many replicates each; the key indicators are read at a few
checkpoints and compared replicate distribution against replicate distribution: Welch's
t-test (the criterion) and the Mann-Whitney U test (reported), plus the mean difference in
units of the pooled between-replicate standard deviation. ``dock`` applies the criteria in two
stages: a checkpoint flagged at the first set of seeds must differ again on fresh seeds.

Both run the default model, the household life course included (marriage, births to
couples, parents: ``sim.mesa.families``); ``REFERENCE_RULES`` lists rules the reference
model would not write out (none now).

Checkpoints: stocks and shares at the end of month 1 and of each year; flows (outflow,
returnflow) summed over each year, since monthly flows are a handful of agents at docking sizes;
with the life course, its yearly counts (``LIFE_DOCKED``: marriages and moves at marriage in
January, births, entrants by place; married women and couples apart by migration in December).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.core.encodings import NO_MOTHER, NO_YEAR
from sim.core.state import families
from sim.engine import Simulation
from sim.mesa.reference import ReferenceModel

FLOWS = ("outflow", "returnflow")
#: rules the reference model does not write out: the core runs with them off when docked
#: (none: the household life course is written out in ``sim.mesa.families``)
REFERENCE_RULES: dict[str, Any] = {}
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
    ("migrant_children_in_cities", "total"): "children_city",
    ("share_to_six_destinations", "total"): "share_six",
}
#: yearly counts of the household life course compared, in agents, with a short label: counted
#: in January (years 2..) or, for ``DECEMBER`` ones, in December (years 1..)
LIFE_DOCKED = {
    "marriages": "marriages",
    "marriage_moves": "marriage_moves",
    "couples_apart": "couples_apart",
    "births": "births",
    "tertiary_exits": "tertiary_exits",
    "entrants_own_household": "entrants_own",
    "entrants_other_household": "entrants_county",
    "entrants_same_province": "entrants_province",
    "married_women": "married_women",
    "couples_one_away": "couples_one_away",
    "couples_both_away": "couples_both_away",
    "couples_together_away": "couples_together",
}
DECEMBER = ("married_women", "couples_one_away", "couples_both_away", "couples_together_away")
#: indicators the core counts in December only (the children, as a census counts them)
YEARLY_DOCKED = ("children_left_behind", "migrant_children_in_cities")


def life_checkpoints(yearly: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Checkpoints of the life course of one run: {label@y<year of the run>: count}."""
    out: dict[str, float] = {}
    for key, label in LIFE_DOCKED.items():
        first = 1 if key in DECEMBER else 2
        for y, v in enumerate(yearly[key]):
            out[f"{label}@y{y + first}"] = float(v)
    return out


def core_life_counts(sim: Simulation) -> dict[str, list[float]]:
    """The core's yearly life-course counts (as ``ReferenceModel.life_rec``)."""
    sc, years = sim.rec.scalars, sim.n_months // 12
    return {
        k: [float(sc[k][12 * y + 11]) for y in range(years)] if k in DECEMBER
        else [float(sc[k][12 * y]) for y in range(1, years)]
        for k in LIFE_DOCKED
    }


def checkpoints(series: Mapping[tuple[str, str], np.ndarray], scale: float) -> dict[str, float]:
    """Checkpoint values of one run: {label@checkpoint: value}; counts in agents (real persons
    divided by the scale), so that different scales would still compare."""
    out: dict[str, float] = {}
    for key, label in DOCKED.items():
        v = np.asarray(series[key], np.float64)
        years = v.size // 12
        if key[0] in ("migrant_stock", "outflow", "returnflow", "children_left_behind",
                      "migrant_children_in_cities"):
            v = v / scale
        if key[0] in FLOWS:
            for y in range(years):
                out[f"{label}@y{y + 1}"] = float(v[12 * y : 12 * y + 12].sum())
        else:
            if key[0] not in YEARLY_DOCKED:
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
        {**REFERENCE_RULES, **dict(params or {})},
        agents=agents,
        seed=seed,
        start_year=start_year,
        years=years,
        threads=threads,
    )
    out = checkpoints(sim.run().series(), sim.scale)
    if families(sim.pars):
        out.update(life_checkpoints(core_life_counts(sim)))
    return out


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
    out = checkpoints(m.series(), m.scale)
    if m.families:
        out.update(life_checkpoints(m.life_rec))
    return out


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


def welch_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test, from the sample variances (defined when one sample
    is constant; scipy's ``ttest_ind`` warns of cancellation there)."""
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se2 = vx + vy
    t = (x.mean() - y.mean()) / math.sqrt(se2)
    df = se2 * se2 / (vx * vx / (x.size - 1) + vy * vy / (y.size - 1))
    return float(2.0 * stats.t.sf(abs(t), df))


def compare(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> list[Row]:
    """Two-sample comparison per checkpoint (a: reference, b: core)."""
    rows = []
    for k in a:
        x, y = np.asarray(a[k], float), np.asarray(b[k], float)
        sa, sb = x.std(ddof=1), y.std(ddof=1)
        pooled = math.sqrt((sa * sa + sb * sb) / 2.0)
        scale = max(abs(x.mean()), abs(y.mean()), 1.0)
        if pooled <= 1e-12 * scale:  # constant in both, to rounding: equal or not
            same = math.isclose(x.mean(), y.mean(), rel_tol=1e-9, abs_tol=1e-12)
            p = pmw = 1.0 if same else 0.0
            d = 0.0 if same else math.inf
        else:
            p = welch_p(x, y)
            pmw = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
            d = float((x.mean() - y.mean()) / pooled)
        rows.append(Row(k, float(x.mean()), float(sa), float(y.mean()), float(sb), p, pmw, d))
    return rows


#: the docking criteria (``dock``): family-wise alpha of the Welch tests (Bonferroni over the
#: checkpoints) and the largest mean difference allowed, in pooled between-replicate SDs
FAMILY_ALPHA, MAX_D = 0.01, 1.5


def mean_d_bound(n: int) -> float:
    """Bound on the mean |d| over checkpoints with ``n`` replicates of each model: 0.5 at 16,
    scaled as the mean |d| of two models that agree, about 1.13 / sqrt(n) (0.28 at 16)."""
    return 0.5 * math.sqrt(16.0 / n)


@dataclass
class Verdict:
    """A two-stage docking comparison (``dock``): the first stage over every checkpoint, the
    second on fresh seeds over the checkpoints the first flagged."""

    rows: list[Row]
    alpha: float
    flagged: list[str]
    confirm: list[Row]
    confirm_alpha: float
    max_d: float
    mean_bound: float

    def differs(self, r: Row, alpha: float) -> bool:
        """The criterion of either stage: Welch p below ``alpha`` or |d| at least ``max_d``."""
        return r.p_welch < alpha or abs(r.std_diff) >= self.max_d

    @property
    def differing(self) -> list[str]:
        """Checkpoints whose difference the fresh seeds confirm."""
        return [r.name for r in self.confirm if self.differs(r, self.confirm_alpha)]

    @property
    def mean_abs_d(self) -> float:
        return float(np.mean([abs(r.std_diff) for r in self.rows]))

    @property
    def docked(self) -> bool:
        """No difference found at both stages, and the mean |d| within its bound."""
        return not self.differing and self.mean_abs_d < self.mean_bound

    def report(self, label_a: str = "reference", label_b: str = "core") -> str:
        out = [table(self.rows, self.alpha, label_a, label_b),
               f"mean |d/sd| = {self.mean_abs_d:.3f} (bound {self.mean_bound:.3f}); flagged "
               f"(p < {self.alpha:.2g} or |d/sd| >= {self.max_d}): {self.flagged or 'none'}"]
        if self.confirm:
            out += ["confirmation on fresh seeds, flagged checkpoints only:",
                    table(self.confirm, self.confirm_alpha, label_a, label_b),
                    f"confirmed: {self.differing or 'none'}"]
        return "\n".join(out)


def dock(
    a: Mapping[str, np.ndarray],
    b: Mapping[str, np.ndarray],
    fresh_a: Callable[[], Mapping[str, np.ndarray]],
    fresh_b: Callable[[], Mapping[str, np.ndarray]],
    family_alpha: float = FAMILY_ALPHA,
    max_d: float = MAX_D,
) -> Verdict:
    """Compare replicates ``a`` (reference) and ``b`` (core) at every checkpoint; a checkpoint
    is flagged when its Welch p is below ``family_alpha`` over the number of checkpoints
    (Bonferroni) or its mean difference reaches ``max_d`` pooled SDs. Flagged checkpoints are
    compared again on fresh, independent replicates (``fresh_a()``, ``fresh_b()``, run only
    then), at ``family_alpha`` over the number flagged: a difference counts when both stages
    find it. The models dock when none does and the mean |d| over all checkpoints stays
    within ``mean_d_bound`` of the replicates of the smaller sample. A confirmatory stage on
    independent seeds keeps the first stage's power (a real difference is found again, with
    as many replicates) while a false alarm at one fixed set of seeds, about 1% of runs by
    design, must recur by chance at p < 1% to count."""
    rows = compare(a, b)
    n = min(len(next(iter(a.values()))), len(next(iter(b.values()))))
    v = Verdict(rows, family_alpha / len(rows), [], [], family_alpha, max_d, mean_d_bound(n))
    v.flagged = [r.name for r in rows if v.differs(r, v.alpha)]
    if v.flagged:
        fa, fb = fresh_a(), fresh_b()
        v.confirm = compare({k: fa[k] for k in v.flagged}, {k: fb[k] for k in v.flagged})
        v.confirm_alpha = family_alpha / len(v.flagged)
    return v


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
    person's and household's state, demand, wage levels, the urban labour force (total and
    local, from which the residual migrant demand grows) and the January female cost by
    province (``decisions.norms``) copied, the year resolved. For
    checking rules on a common state (one month, or one decision, at a time)."""
    m = ReferenceModel(
        sim.params, agents=sim.agents, seed=sim.seed, start_year=sim.start_year, years=sim.years
    )
    p, hh = sim.persons, sim.households
    cols = {  # read once: employed and first_year are decoded on each read
        a: getattr(p, a)
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
        )
    }
    for i, x in enumerate(m.persons):
        for a, col in cols.items():
            setattr(x, a, int(col[i]))
    for i, x in enumerate(m.persons):
        k = int(p.spouse[i])
        x.spouse = m.persons[k] if k >= 0 and m.families else None
    for h, house in enumerate(m.households):
        if m.families:  # the children's table (birth year, mother's place)
            house.children.clear()
            first = int(sim.places.hh_start[h])
            for j in range(hh.child_by.shape[1]):
                if hh.child_by[h, j] != NO_YEAR:
                    mo = int(hh.child_mother[h, j])
                    house.add_child(int(hh.child_by[h, j]),
                                    m.persons[first + mo] if mo != NO_MOTHER else None)
        else:
            house.n_children = int(hh.n_children[h])
        k = int(hh.kids_with[h])
        k = int(sim.places.hh_start[h]) + k if k >= 0 else k
        house.kids_with = m.persons[k] if k >= 0 else None
        house.land_stock = np.float32(hh.land_mu[h])
    m.t = sim.t
    m.resolve_year(sim.start_year + max(sim.t - 1, 0) // 12)
    for name in ("demand", "base_demand", "levels", "ref_levels", "urban_total", "urban_local",
                 "female_cost_prov"):
        setattr(m, name, getattr(sim, name).copy())
    return m
