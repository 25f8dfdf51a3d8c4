"""The model's effect of the policy levers that have published evidence, for utility.md.

    python docs/markets/lever_effects.py                  # 8 replicates of 100,000 (4 min)
    python docs/markets/lever_effects.py --agents 20000 --replicates 2 --out /tmp/x.csv

Each lever is changed from 2004 the way the published study saw it change (or, where the study
measured a level, by a stated step), in the default scenario ``baseline`` (1985-2006), and compared
with the baseline under common random numbers: replicate r runs seed 1 + r in both. An outcome is
read at December 2005 and 2006 (mean of the two); the effect is the mean paired difference over
replicates with its 95% t interval (replicate noise only, at the default parameters). The table
goes to ``docs/markets/lever_effects.csv`` with the model version; ``util_table.py`` puts it in the
"effect in the model" column of utility.md's lever table.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "lever_effects.csv"
YEARS = (2005, 2006)  # outcomes read in December of these years (mean)
FIELDS = ("lever", "change", "outcome", "unit", "effect", "low", "high", "baseline",
          "replicates", "agents", "version")


@dataclass(frozen=True)
class Outcome:
    """What is read from a run: ``value(res)`` at the years of YEARS, reported as a difference
    in ``unit`` ("%": relative to the baseline's mean, "points": of a share, x 100)."""

    name: str
    unit: str
    value: Callable


@dataclass(frozen=True)
class Lever:
    name: str
    change: str
    params: dict
    outcomes: tuple


def _at(res, indicator: str, group: str = "total") -> float:
    years, first = np.asarray(YEARS), int(res.calendar()[0][0])
    return float(np.mean(res.annual(indicator, group)[years - first]))


def _tiers(res, *tiers: str) -> float:
    """Rural-hukou migrants in the destinations of the named tiers (their names end so)."""
    years, first = np.asarray(YEARS), int(res.calendar()[0][0])
    total = 0.0
    for ind, grp in res.series():
        if ind == "migrant_stock" and grp.startswith("dest:") and grp.endswith(tiers):
            total += float(np.mean(res.annual(ind, grp)[years - first]))
    return total


def _premium(res) -> tuple[float, float]:
    """(migrants' monthly wage bill, trained migrants), RMB of 2000 and persons."""
    stock = _at(res, "migrant_stock")
    return (stock * _at(res, "mean_wage_rmb_2000", "migrants"),
            stock * _at(res, "share_trained", "migrants"))


WAGE = Outcome("migrants' mean wage", "%", lambda r: _at(r, "mean_wage_rmb_2000", "migrants"))
UNEMP = Outcome("migrants' unemployment rate", "points",
                lambda r: _at(r, "unemployment_rate", "migrants"))
STOCK = Outcome("migrant stock", "%", lambda r: _at(r, "migrant_stock"))
INSURED = Outcome("migrants insured (pension)", "points",
                  lambda r: _at(r, "share_insured", "migrants"))
TRAINED = Outcome("migrants trained", "points", lambda r: _at(r, "share_trained", "migrants"))
PREMIUM = Outcome("wage bill per extra trained migrant", "RMB 2000 a month", _premium)
TREATED = Outcome("rural-hukou migrants in county towns and prefecture cities", "%",
                  lambda r: _tiers(r, " small", " medium"))
PAID = Outcome("migrants fully paid", "points", lambda r: _at(r, "share_fully_paid", "migrants"))

LEVERS = (
    Lever("min_wage_ratio", "10% higher from 2004 (0.295 -> 0.3245 of the local average wage)",
          {"min_wage_ratio": {"mode": "step", "1985": 0.0, "1994": 0.3, "2004": 0.3245,
                              "2009": 0.2827}},
          (WAGE, UNEMP, STOCK)),
    Lever("training_rate_year", "0.01 -> 0.05 a year from 2004 (the scale of the 2003-2010 "
          "national plan: 60 million in eight years)",
          {"training_rate_year": {"mode": "step", "1985": 0.002, "2004": 0.05}},
          (TRAINED, PREMIUM, STOCK)),
    Lever("hukou_penalty_small", "county towns and prefecture cities open from 2004: "
          "barriers 0 (`hukou_penalty_medium` too), conversion 0.03 -> 0.10 and 0.01 -> 0.05 "
          "a year (as the scenario `hukou_small_medium_open`, three years earlier)",
          {"hukou_penalty_small": {"mode": "step", "1985": 1.25, "1998": 0.7, "2004": 0.0},
           "hukou_penalty_medium": {"mode": "step", "1985": 1.6, "2002": 1.05, "2004": 0.0},
           "conversion_rate_small": {"mode": "step", "1985": 0.03, "2004": 0.10},
           "conversion_rate_medium": {"mode": "step", "1985": 0.01, "2004": 0.05}},
          (TREATED, STOCK)),
    Lever("insurance_contribution_rate", "0.11 -> 0.15 of the wage from 2004",
          {"insurance_contribution_rate": {"mode": "step", "1985": 0.11, "2004": 0.15}},
          (INSURED, WAGE, STOCK)),
    Lever("inspection_focus_arrears", "0.3 -> 0.5 of inspectors' effort on arrears from 2005",
          {"inspection_focus_arrears": {"mode": "step", "1985": 0.05, "2004": 0.2,
                                        "2005": 0.5}},
          (PAID, STOCK)),
)


def _init() -> None:
    import numba

    numba.set_num_threads(1)


def run_one(lever: Lever | None, seed: int, agents: int, levers=LEVERS) -> dict:
    """Outcome values of one run of ``baseline`` with ``lever``'s change (None: the baseline):
    ``{outcome name: value}`` for the outcomes of ``levers`` (all, for the baseline)."""
    import sim
    from sim.experiments.scenario import load_scenario

    sc = load_scenario("baseline")
    pars = sc.to_params()
    if lever is not None:
        pars = pars.copy().update(lever.params, where=f"lever {lever.name}")
        levers = (lever,)
    res = sim.Simulation(pars, agents=agents, seed=seed, start_year=sc.start_year,
                         years=sc.years).run()
    return {o.name: o.value(res) for lv in levers for o in lv.outcomes}


def _run(args) -> dict:
    name, seed, agents = args
    return run_one(next((lv for lv in LEVERS if lv.name == name), None), seed, agents)


def _interval(d: np.ndarray) -> tuple[float, float, float]:
    m = float(d.mean())
    if d.size < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return m, m - h, m + h


def paired_effect(outcome: Outcome, base: list, lever: list) -> tuple[float, float, float, float]:
    """(effect, low, high, baseline mean) of one outcome from paired replicate values."""
    if outcome.unit.startswith("RMB"):  # a ratio of differences, replicate by replicate
        b, v = np.asarray(base, float), np.asarray(lever, float)
        d = (v[:, 0] - b[:, 0]) / (v[:, 1] - b[:, 1])
        return (*_interval(d), float("nan"))
    b, v = np.asarray(base, float), np.asarray(lever, float)
    scale = 100.0 / b.mean() if outcome.unit == "%" else 100.0
    return (*_interval((v - b) * scale), float(b.mean()))


def measure(agents: int, replicates: int, workers: int = 2) -> list[dict]:
    """Rows of FIELDS: every lever's outcomes against the baseline, paired by seed."""
    import sim

    seeds = [1 + r for r in range(replicates)]
    jobs = [("", s, agents) for s in seeds] + [(lv.name, s, agents) for lv in LEVERS
                                                for s in seeds]
    os.environ["NUMBA_NUM_THREADS"] = "1"
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init) as ex:
        out = list(ex.map(_run, jobs))
    base, rest = out[:replicates], out[replicates:]
    rows = []
    for k, lv in enumerate(LEVERS):
        runs = rest[k * replicates:(k + 1) * replicates]
        for o in lv.outcomes:
            e, lo, hi, b = paired_effect(o, [r[o.name] for r in base], [r[o.name] for r in runs])
            rows.append(dict(lever=lv.name, change=lv.change, outcome=o.name, unit=o.unit,
                             effect=e, low=lo, high=hi, baseline=b, replicates=replicates,
                             agents=agents, version=sim.__version__))
    return rows


def write(rows: list[dict], path: Path = OUT) -> None:
    """The table, atomically (a temporary file renamed over the old one)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    os.replace(tmp, path)


def read(path: Path = OUT) -> list[dict]:
    """The committed table (empty when there is none)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = measure(args.agents, args.replicates, args.workers)
    write(rows, args.out)
    for r in rows:
        print(f"{r['lever']:28s} {r['outcome']:58s} {r['effect']:+9.3f} "
              f"({r['low']:+.3f}, {r['high']:+.3f}) {r['unit']}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
