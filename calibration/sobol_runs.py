"""Sobol' indices of the parameters a Morris screening ranked on top, from direct model runs.

Usage (from the repository root, with the ``calibrate`` extra installed)::

    NUMBA_NUM_THREADS=1 python calibration/sobol_runs.py --top 5 --around 0.5 --n 64 \
        --agents 50000 --workers 2 --morris calibration/results/morris_20261203_local

Takes the ``--top`` parameters of the Morris summary (or ``--params``), each within ``--around``
of its default as the screening had them (:func:`sim.experiments.sensitivity.local_ranges`),
runs ``n * (k + 2)`` points at one seed and writes ``sobol_runs_<date>.csv`` (one row per
parameter and target: S1, ST and their 95% bootstrap half-widths), ``_summary.csv``, ``.json``
(scale, version, commit, seconds) and ``.png`` (ST on the fitted targets) into
``calibration/results`` (:func:`sim.experiments.sobol_runs.sobol_runs`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

from sensitivity import code_state, grid_plot  # calibration/sensitivity.py, beside this file


def plot(table, summary, path: Path, title: str) -> Path:
    """Heat map of the total indices (parameters by rank, fitted targets) and the mean."""
    fit = table[table["use"] == "fit"]
    order = list(summary["parameter"])
    targets = list(dict.fromkeys(fit["target"]))
    m = fit.pivot(index="parameter", columns="target", values="ST").loc[order, targets]
    return grid_plot(m.astype(float).clip(0, 1), summary["mean_ST"], path, title,
                     "total Sobol' index ST (blank: undefined)", "mean ST over fitted targets",
                     0.4 * len(order) + 4, 0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", nargs="+", default=None, help="parameters (else --top)")
    ap.add_argument("--top", type=int, default=5, help="the Morris summary's first TOP")
    ap.add_argument("--morris", type=Path,
                    default=Path("calibration/results/morris_20261203_local"),
                    help="stem of the Morris screening (its _summary.csv and .json)")
    ap.add_argument("--around", type=float, default=0.5, metavar="SHARE")
    ap.add_argument("--n", type=int, default=64, help="base sample (a power of two)")
    ap.add_argument("--agents", type=int, default=50_000)
    ap.add_argument("--start-year", type=int, default=1985)
    ap.add_argument("--years", type=int, default=22)
    ap.add_argument("--seed", type=int, default=1, help="seed of every run (common)")
    ap.add_argument("--sample-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None,
                    help="output CSV (default calibration/results/sobol_runs_<date>.csv)")
    a = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import pandas as pd

    from sim.core.version import __version__
    from sim.experiments import sensitivity as sens
    from sim.experiments.sobol_runs import sobol_runs, summarise_sobol
    from sim.experiments.targets import load_targets

    names = a.params or list(pd.read_csv(f"{a.morris}_summary.csv")["parameter"][:a.top])
    space = sens.scalar_parameters(("behaviour", "structural", "policy"))
    unknown = sorted(set(names) - set(space))
    if unknown:
        raise SystemExit(f"not scalar float parameters: {unknown}")
    params = sens.local_ranges({k: space[k] for k in names}, a.around)
    targets = load_targets()
    out = a.out or Path("calibration/results") / f"sobol_runs_{dt.date.today():%Y%m%d}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(params)} parameters {params}, {len(targets)} targets, "
          f"{a.n * (len(params) + 2)} runs at {a.agents} agents", flush=True)
    commit, dirty = code_state()
    t0 = time.perf_counter()
    table = sobol_runs(params, targets, a.n, a.agents, a.seed, a.start_year, a.years,
                       a.sample_seed, a.workers)
    seconds = time.perf_counter() - t0
    summary = summarise_sobol(table)
    meta = {"version": __version__, "commit": commit, "sim_tree_dirty": dirty,
            "agents": a.agents, "start_year": a.start_year, "years": a.years,
            "around": a.around, "ranges": params, "n": a.n, "seed": a.seed,
            "sample_seed": a.sample_seed, "morris": str(a.morris), "targets": len(targets),
            "runs": table.attrs["runs"], "failed_runs": table.attrs["failed"],
            "seconds": round(seconds, 1),
            "seconds_per_run": round(seconds / table.attrs["runs"], 2)}
    stem = out.with_suffix("")
    table.to_csv(out, index=False)
    summary.to_csv(f"{stem}_summary.csv", index=False)
    Path(f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
    title = (f"Sobol' indices from direct runs, migsim {__version__} ({commit[:7]}), "
             f"{a.agents} agents, n = {a.n}, {table.attrs['runs']} runs, seed {a.seed}, "
             f"default x (1 -+ {a.around})")
    png = plot(table, summary, Path(f"{stem}.png"), title)
    print(summary.to_string(index=False))
    print(json.dumps(meta))
    print(f"wrote {out}, {png}")


if __name__ == "__main__":
    main()
