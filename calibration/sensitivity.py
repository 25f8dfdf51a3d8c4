"""Morris screening of the behavioural parameters on the seed targets, with replicate noise.

Usage (from the repository root, with the ``calibrate`` extra installed)::

    NUMBA_NUM_THREADS=1 python calibration/sensitivity.py --agents 20000 --trajectories 6

Screens every scalar float parameter of the chosen roles (default ``behaviour``) over its
declared range (:func:`sim.experiments.sensitivity.scalar_parameters`; yearly paths are left
out and listed), or with ``--around SHARE`` within that share of its default
(:func:`~sim.experiments.sensitivity.local_ranges`), on every target of
``calibration/targets.toml`` (the summary ranks over the ``use = "fit"`` ones). The default
parameters are also run at ``--noise-seeds`` seeds for the seed-to-seed standard deviation of
each target. Writes ``calibration/results/morris_<date>.csv`` (one row per parameter and
target), ``morris_<date>_summary.csv`` (per parameter), ``morris_<date>_noise.csv``,
``morris_<date>.json`` (the run's scale, version and commit) and ``morris_<date>.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path


def code_state() -> tuple[str, bool]:
    """The commit the runs import, and whether ``sim/`` differs from it (read before running)."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "sim"], capture_output=True,
                           text=True).stdout.strip() != ""
    return commit.strip(), dirty


def grid_plot(m, bars, path: Path, title: str, cbar_label: str, bar_label: str,
              height: float, vmin: float, vmax: float, marks=None) -> Path:
    """Heat map of ``m`` (parameters by targets, a DataFrame in plotting order, values already
    on the colour scale) beside a bar per parameter; ``marks`` (same shape, bool) puts a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    order, targets = list(m.index), list(m.columns)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(17, height),
                                   gridspec_kw={"width_ratios": [3.2, 1]})
    im = ax0.imshow(m.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=vmin,
                    vmax=vmax)
    if marks is not None:
        for i, j in zip(*np.nonzero(marks.to_numpy(dtype=bool)), strict=True):
            ax0.text(j, i, "·", ha="center", va="center", color="white", fontsize=8)
    ax0.set_yticks(range(len(order)), order, fontsize=7)
    ax0.set_xticks(range(len(targets)), targets, rotation=70, ha="right", fontsize=7)
    fig.colorbar(im, ax=ax0, label=cbar_label)
    ax1.barh(range(len(order)), bars, color="tab:blue")
    ax1.set_ylim(len(order) - 0.5, -0.5)
    ax1.set_yticks([])
    ax1.set_xlabel(bar_label)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot(table, summary, path: Path, title: str) -> Path:
    """Heat map of mu_star in half-bands (parameters by rank, fitted targets) and the ranking."""
    import numpy as np

    fit = table[table["use"] == "fit"]
    order = list(summary["parameter"])
    targets = list(dict.fromkeys(fit["target"]))
    m = fit.pivot(index="parameter", columns="target", values="mu_star_band").loc[order, targets]
    marks = None
    if "below_noise" in fit:
        marks = fit.pivot(index="parameter", columns="target",
                          values="below_noise").loc[order, targets]
    return grid_plot(np.log10(m.astype(float).clip(lower=1e-3)), summary["mean_mu_star_rel"],
                     path, title, "log10 mu* (half-bands); dot: below replicate noise",
                     "mean relative mu* over fitted targets", 0.22 * len(order) + 3.5, -3, 1,
                     marks)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--start-year", type=int, default=1985)
    ap.add_argument("--years", type=int, default=22)
    ap.add_argument("--trajectories", type=int, default=4)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1, help="seed of every Morris run (common)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the Morris sample")
    ap.add_argument("--noise-seeds", type=int, default=6,
                    help="seeds (seed, seed+1, ...) of the default runs for the noise")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--roles", nargs="+", default=["behaviour"])
    ap.add_argument("--around", type=float, default=None, metavar="SHARE",
                    help="screen each parameter within SHARE of its default (e.g. 0.5: the "
                         "default times 0.5-1.5), clipped to the declared range, instead of the "
                         "whole declared range")
    ap.add_argument("--params", nargs="+", default=None,
                    help="screen only these parameters (of the roles)")
    ap.add_argument("--keep-idle", action="store_true",
                    help="also screen the parameters that no run of these years reads (their "
                         "active_when fails throughout: every effect 0 by construction)")
    ap.add_argument("--out", type=Path, default=None,
                    help="output CSV (default calibration/results/morris_<date>.csv)")
    a = ap.parse_args(argv)
    from sim.core.version import __version__
    from sim.experiments import sensitivity as sens
    from sim.experiments.emulator import atomic_write
    from sim.experiments.targets import load_targets

    out = a.out or Path("calibration/results") / f"morris_{dt.date.today():%Y%m%d}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    params = sens.scalar_parameters(tuple(a.roles))
    if a.params:
        unknown = sorted(set(a.params) - set(params))
        if unknown:
            ap.error(f"--params {' '.join(unknown)}: not scalar parameters of the roles "
                     f"{' '.join(a.roles)}")
        params = {k: params[k] for k in a.params}
    idle = {} if a.keep_idle else sens.idle_parameters(list(params), a.start_year, a.years)
    params = {k: v for k, v in params.items() if k not in idle}
    if a.around is not None:
        params = sens.local_ranges(params, a.around)
    left_out = sens.path_parameters(tuple(a.roles))
    targets = load_targets()
    n_runs = a.trajectories * (len(params) + 1)
    print(f"{len(params)} parameters, {len(targets)} targets, {n_runs} Morris runs + "
          f"{a.noise_seeds} noise runs at {a.agents} agents; paths left out: {left_out}; "
          f"idle in these years, left out: {sorted(idle)}", flush=True)
    commit, dirty = code_state()
    t0 = time.perf_counter()
    noise = sens.replicate_noise(targets, range(a.seed, a.seed + a.noise_seeds), a.agents,
                                 a.start_year, a.years, a.workers)
    t1 = time.perf_counter()
    print(f"noise runs: {t1 - t0:.0f} s", flush=True)
    table, summary = sens.morris(params, targets, a.agents, a.trajectories, a.seed, a.start_year,
                                 a.years, a.levels, a.sample_seed, a.workers, noise)
    t2 = time.perf_counter()
    meta = {"version": __version__, "commit": commit, "sim_tree_dirty": dirty,
            "agents": a.agents, "start_year": a.start_year, "years": a.years,
            "around": a.around, "ranges": params,
            "trajectories": a.trajectories, "levels": a.levels, "seed": a.seed,
            "sample_seed": a.sample_seed, "noise_seeds": a.noise_seeds,
            "parameters": len(params), "paths_left_out": left_out, "idle_left_out": idle,
            "targets": len(targets),
            "runs": table.attrs["runs"], "failed_runs": table.attrs["failed"],
            "seconds_noise": round(t1 - t0, 1), "seconds_morris": round(t2 - t1, 1),
            "seconds_per_run": round((t2 - t1) / table.attrs["runs"], 2)}
    stem = out.with_suffix("")
    for df, path in ((table, out), (summary, f"{stem}_summary.csv"),
                     (noise, f"{stem}_noise.csv")):  # atomically, the summary JSON last
        atomic_write(path, lambda p, df=df: df.to_csv(p, index=False))
    title = (f"Morris screening, migsim {__version__} ({commit[:7]}), {a.agents} agents, "
             f"{a.start_year}-{a.start_year + a.years - 1}, r = {a.trajectories}, "
             f"{a.levels} levels, seed {a.seed}")
    png = plot(table, summary, Path(f"{stem}.png"), title)
    atomic_write(f"{stem}.json", lambda p: p.write_text(json.dumps(meta, indent=1) + "\n"))
    print(summary.head(20).to_string(index=False))
    print(json.dumps(meta))
    print(f"wrote {out}, {png}")


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # a run from the shell, not a caller's process
    main()
