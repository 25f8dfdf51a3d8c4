"""How strong is each direction the scenario tests assert? The expectations of
``tests/test_scenario_library.py`` (``EXPECT``) run at the test's size (100,000 persons, the
base from 1985, each scenario resumed from the year before its policy) over several seeds:

    NUMBA_NUM_THREADS=1 python scripts/direction_strength.py --seeds 11-18 --workers 2
    NUMBA_NUM_THREADS=1 python scripts/direction_strength.py --today --seeds 5-12 --workers 2

writes ``scripts/results/direction_strength.csv`` (one row per expectation: the effect at
each seed, mean, standard error, z = mean / SE signed so that positive is the expected
direction, and the seeds that agree with the expected sign) and ``direction_strength.md``
(the table, weakest first); with ``--today`` the directions of
``tests/test_today_scenarios.py`` (``DIRECTIONS``: 20,000 persons, forked at 2026, summed over
2028-2030) into ``direction_strength_today.*``. The tests assert each sign at one seed (11,
and 5 for today's); an expectation whose z is small flips with any change of data or rule, as
three did with the provincial data of 0.21.0. Run it after a change of defaults.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"direction_strength_{name}",
                                                  TESTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve the module by name
    spec.loader.exec_module(mod)
    return mod


def _library():
    return _module("test_scenario_library")


def _today_id(d: tuple) -> str:
    name, indicator, group, sign = d[:4]
    return f"{name}:{indicator}[{group}]_{'up' if sign > 0 else 'down'}"


def _today_effects(seed: int) -> dict[str, float]:
    """Scenario minus base for every direction of today's scenarios at one seed."""
    from sim.engine.checkpoint import fork_runs
    from sim.experiments.scenario import load_scenario

    t = _module("test_today_scenarios")
    names = [t.BASE, *sorted({d[0] for d in t.DIRECTIONS})]  # the trunk first
    with tempfile.TemporaryDirectory() as tmp:
        runs = fork_runs({n: load_scenario(n).to_params() for n in names},
                         Path(tmp) / "trunk.npz", fork_year=t.FORK, agents=t.AGENTS, seed=seed,
                         start_year=t.START, years=t.YEARS, threads=1)
    out = {_today_id(d): float(t._annual(runs[d[0]], d[1], d[2]).sum()
                               - t._annual(runs[t.BASE], d[1], d[2]).sum())
           for d in t.DIRECTIONS}
    print(f"seed {seed}: done", flush=True)
    return out


def _effects(seed: int) -> dict[str, float]:
    """Scenario minus base for every expectation at one seed, aggregated as the test does."""
    lib = _library()
    lib.SEED, lib.THREADS = seed, 1  # one numba thread per worker process
    with tempfile.TemporaryDirectory() as d:
        runs = lib.Runs(Path(d))
        out = {}
        for e in lib.EXPECT:
            idx = lib._yrs(*e.years)
            agg = np.sum if e.how == "sum" else np.mean
            s = float(agg(runs.annual(e.scenario, e.indicator, e.group)[idx]))
            b = float(agg(runs.annual(e.base, e.indicator, e.group)[idx]))
            out[e.id] = s - b
    print(f"seed {seed}: done", flush=True)
    return out


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = (int(x) for x in text.split("-"))
        return list(range(a, b + 1))
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="11-18", help="a-b or a,b,c (default 11-18)")
    ap.add_argument("--today", action="store_true",
                    help="today's scenarios (tests/test_today_scenarios.py) instead")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    seeds = _seeds(args.seeds)
    if len(seeds) < 2:
        ap.error("--seeds: at least two seeds (the standard error needs them)")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    with ProcessPoolExecutor(args.workers) as ex:
        per_seed = list(ex.map(_today_effects if args.today else _effects, seeds))

    import pandas as pd

    from sim.core.version import __version__
    from sim.experiments.emulator import atomic_write
    from sim.experiments.validation import write_csv

    if args.today:
        mod = _module("test_today_scenarios")
        expected = [(_today_id(d), d[3], False) for d in mod.DIRECTIONS]
        stem = "direction_strength_today"
    else:
        mod = _library()
        expected = [(e.id, e.sign, bool(e.xfail)) for e in mod.EXPECT]
        stem = "direction_strength"
    rows = []
    for key, sign, xfail in expected:
        d = np.array([r[key] for r in per_seed])
        se = d.std(ddof=1) / np.sqrt(d.size)
        z = d.mean() / se * sign if se > 0 else np.inf * np.sign(d.mean()) * sign
        rows.append({"expectation": key, "expected_sign": sign, "xfail": xfail,
                     "mean": d.mean(), "se": se, "z": z,
                     "agree": int((np.sign(d) == sign).sum()), "seeds": d.size,
                     **{f"seed_{s}": v for s, v in zip(seeds, d, strict=True)}})
    t = pd.DataFrame(rows).sort_values("z")
    write_csv(t, args.out / f"{stem}.csv")
    md = [f"# Direction strength (version {__version__}, seeds {args.seeds}, "
          f"{mod.AGENTS:,} persons)", "",
          "z: mean effect over the seeds, in standard errors, signed so that positive is the "
          "expected direction; agree: seeds with the expected sign.", "",
          "| expectation | z | agree | mean | se |", "|---|---:|---:|---:|---:|"]
    md += [f"| {r.expectation} | {r.z:.1f} | {r.agree}/{r.seeds} | {r.mean:.4g} | {r.se:.2g} |"
           for r in t.itertuples()]
    atomic_write(args.out / f"{stem}.md",
                 lambda tmp: tmp.write_text("\n".join(md) + "\n", encoding="utf-8"))
    print(f"wrote {args.out / stem}.csv and {stem}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
