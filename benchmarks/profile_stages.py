"""Finer profile of one run: the engine's per-stage timings plus time inside each kernel call.

Wraps (in this process only, by attribute replacement) the functions the engine calls through
their modules -- ``decisions.table_inputs``, ``decisions.decide`` (which builds the tables of
the month's deciders), ``decisions.apply_moves``, ``labour.count_workers``,
``labour.job_chances``, ``labour.match_jobs``, ... -- so the ``decisions`` and ``matching``
stages can be split into their parts. The wrapper overhead is a ``perf_counter`` pair per call
(a few calls per month), negligible at 1e5+ agents.

    NUMBA_NUM_THREADS=1 python benchmarks/profile_stages.py --agents 1e6 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import defaultdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=float, default=1e6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--wrap", nargs="*", default=[], metavar="MODULE:FUNC",
                    help="more functions to time, e.g. sim.mechanisms.household:children_counts "
                         "(the attribute is replaced in that module only)")
    a = ap.parse_args()

    import sim
    from sim.engine import loop, record
    from sim.io import results
    from sim.mechanisms import decisions, demography, household, hukou, labour, returns, wages

    # warm-up (JIT / cache load) before wrapping
    sim.Simulation(agents=2_000, seed=1, start_year=1995, years=1, threads=a.threads).run()

    acc: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)

    def wrap(mod, name, label=None):
        f = getattr(mod, name)
        label = label or f"{mod.__name__.split('.')[-1]}.{name}"

        def w(*args, **kw):
            t0 = time.perf_counter()
            try:
                return f(*args, **kw)
            finally:
                acc[label] += time.perf_counter() - t0
                calls[label] += 1

        setattr(mod, name, w)

    for mod, name in [(decisions, "table_inputs"), (decisions, "decide"),
                      (decisions, "apply_moves"), (labour, "add_month_away"),
                      (labour, "count_workers"), (labour, "job_chances"),
                      (labour, "match_jobs"), (returns, "draw_returns"),
                      (hukou, "draw_conversions"), (hukou, "draw_permits"),
                      (demography, "age_and_exit"), (demography, "enter"),
                      (household, "home_income"), (household, "resolve_departures"),
                      (wages, "pay"), (record, "tally_pay")]:
        wrap(mod, name)
    import importlib

    for spec in a.wrap:
        mod_name, func = spec.split(":")
        wrap(importlib.import_module(mod_name), func)
    record.tally = loop.tally = _timed(results.tally, "results.tally", acc, calls)

    n = int(a.agents)
    s = sim.Simulation(agents=n, seed=1, start_year=1995, years=max(1, math.ceil(a.months / 12)),
                       threads=a.threads)
    acc.clear()
    calls.clear()
    s.run()
    out = {"agents": n, "threads": a.threads, "months": s.n_months, "run_seconds": s.run_seconds,
           "stage_seconds": dict(s.timings), "kernel_seconds": dict(acc),
           "kernel_calls": dict(calls)}
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{n} agents, {a.threads} thread(s), {s.n_months} months, run {s.run_seconds:.3f} s")
    print("\n| stage | seconds | share |\n|---|---:|---:|")
    for k, v in sorted(s.timings.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v:.3f} | {100 * v / s.run_seconds:.1f}% |")
    print("\n| kernel / call | calls | seconds | share of run |\n|---|---:|---:|---:|")
    for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {calls[k]} | {v:.3f} | {100 * v / s.run_seconds:.1f}% |")


def _timed(f, label, acc, calls):
    def w(*args, **kw):
        t0 = time.perf_counter()
        try:
            return f(*args, **kw)
        finally:
            acc[label] += time.perf_counter() - t0
            calls[label] += 1
    return w


if __name__ == "__main__":
    main()
