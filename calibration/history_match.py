"""Posterior of the influential behavioural parameters by history matching (issue 13, 3-5).

Usage (from the repository root, with the ``calibrate`` extra installed)::

    NUMBA_NUM_THREADS=1 python calibration/history_match.py --agents 30000 --design 150 \\
        --waves 2 --workers 2 --out calibration/results

Stages, each cached as a CSV in ``--out`` (a rerun reuses the runs already there, so only the
emulation is redone; delete a file to run its stage again):

1. ``noise``: the defaults at ``--noise-seeds`` seeds (replicate sd of each target);
2. ``design``: wave 1 a Latin hypercube over the parameters' declared ranges, wave k a
   space-filling set from the region the earlier waves leave non-implausible (candidates
   drawn in the box around a pilot sample of that region); one run per point, each with its
   own seed; a GP emulator per target per wave (its own runs and the earlier runs still
   non-implausible), checked by leave-one-out;
3. ``scale``: the defaults and three points of the final non-implausible region at the
   design scale and at ``--scale-agents`` persons, ``--scale-seeds`` seeds each;
4. ``posterior``: ``--draws`` draws (uniform candidates in the final non-implausible region,
   Gaussian-likelihood weights, resampled);
5. ``recovery``: ``--truths`` parameter points from the prior, one run each; the run plus an
   observation and discrepancy error is the "observed" value, fitted back with the wave-1
   emulators; coverage of the 90% intervals;
6. ``ppc``: ``--ppc`` posterior draws simulated (own seeds), per target in band or not.

Targets: ``use = "fit"``, asserted, up to 2006 (no later figure is ever a target). Writes
``hm_<version>_{noise,design,scale,posterior,recovery,ppc}.csv`` and ``hm_<version>.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_PARAMS = ["asc_home", "demand_wage_elasticity", "wage_adjust_unemployment",
                  "spring_festival_share", "demand_growth_elasticity", "beta_income",
                  "return_unemployed_mult", "return_age_log_per_decade"]


class Runner:
    """Runs parameter points through the model (sensitivity._simulate), 1985-2006."""

    def __init__(self, targets, workers: int) -> None:
        self.targets, self.workers = targets, workers
        self.pool = ProcessPoolExecutor(workers) if workers > 1 else None
        self.runs = 0
        self.seconds = 0.0

    def __call__(self, points: list[dict[str, float]], seeds: list[int], agents: int
                 ) -> np.ndarray:
        from sim.experiments.sensitivity import _simulate

        jobs = [(x, int(s), self.targets, agents, 1985, 22) for x, s in zip(points, seeds,
                                                                            strict=True)]
        t0 = time.time()
        out = list(self.pool.map(_simulate, jobs)) if self.pool else [_simulate(j) for j in jobs]
        self.runs += len(jobs)
        self.seconds += time.time() - t0
        return np.array(out).reshape(len(jobs), len(self.targets))


def cached(path: Path, make) -> pd.DataFrame:
    """The stage's table from path if it exists, else made and written atomically."""
    from sim.experiments.emulator import write_csv

    if path.exists():
        return pd.read_csv(path)
    df = make()
    write_csv(df, path)
    return df


def frame(params: list[str], x: np.ndarray, names: list[str], y: np.ndarray, **cols
          ) -> pd.DataFrame:
    df = pd.DataFrame(x, columns=params)
    for k, v in cols.items():
        df.insert(0, k, v)
    return pd.concat([df, pd.DataFrame(y, columns=names)], axis=1)


def main() -> None:  # noqa: PLR0915  one driver, stage by stage
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=30_000)
    ap.add_argument("--years", type=int, default=22, help="years from 1985 (to 2006)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per design point (averaged)")
    ap.add_argument("--design", type=int, default=150, help="runs per wave")
    ap.add_argument("--waves", type=int, default=2)
    ap.add_argument("--params", nargs="+", default=DEFAULT_PARAMS)
    ap.add_argument("--cutoff", type=float, default=3.0)
    ap.add_argument("--kmax", type=int, default=1,
                    help="the k-th largest implausibility over targets is cut")
    ap.add_argument("--band-sds", type=float, default=2.0, help="band half-width in obs sd")
    ap.add_argument("--md-fraction", type=float, default=0.25,
                    help="model-discrepancy variance as a share of the observation variance")
    ap.add_argument("--noise-seeds", type=int, default=10)
    ap.add_argument("--scale-agents", type=int, default=100_000)
    ap.add_argument("--scale-seeds", type=int, default=3)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--candidates", type=int, default=10_000,
                    help="uniform candidates in the final region, weighted for the draws")
    ap.add_argument("--pool", type=int, default=200_000,
                    help="prior points the recovery weights (wave-1 emulators)")
    ap.add_argument("--truths", type=int, default=30)
    ap.add_argument("--ppc", type=int, default=30)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="seed of designs and sampling")
    ap.add_argument("--out", type=Path, default=Path("calibration/results"))
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "migsim_emulators",
                    help="fitted emulators (pickles, not results) for reruns")
    ap.add_argument("--until", choices=["noise", "wave1", "all"], default="all",
                    help="stop after the replicate noise or the wave-1 runs (to split the "
                         "compute; the next call reuses the cached runs)")
    a = ap.parse_args()
    if a.years != 22:
        ap.error("the targets are read in 1985-2006: --years must be 22")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from sim.core.version import __version__
    from sim.experiments import emulator as E
    from sim.experiments.sensitivity import scalar_parameters
    from sim.experiments.targets import load_targets

    declared = scalar_parameters()
    bounds = {p: declared[p] for p in a.params}
    d = len(bounds)
    targets = [t for t in load_targets() if t.use == "fit" and t.asserted and t.years[-1] <= 2006]
    names = [t.name for t in targets]
    tag = f"hm_{__version__}"
    out = a.out
    run = Runner(targets, a.workers)
    started = time.time()
    summary: dict = {"version": __version__, "agents": a.agents, "params": bounds,
                     "targets": names, "band_sds": a.band_sds, "md_fraction": a.md_fraction,
                     "cutoff": a.cutoff, "kmax": a.kmax, "workers": a.workers}

    def point(row) -> dict[str, float]:
        return dict(zip(a.params, map(float, row), strict=True))

    def simulate(x: np.ndarray, seed0: int, agents: int | None = None) -> np.ndarray:
        """Mean over --seeds seeds of each point (rows of x in the parameters' units)."""
        pts = [point(r) for r in x for _ in range(a.seeds)]
        seeds = [seed0 + a.seeds * i + s for i in range(len(x)) for s in range(a.seeds)]
        y = run(pts, seeds, agents or a.agents)
        return np.nanmean(y.reshape(len(x), a.seeds, -1), axis=1)

    # 1. replicate noise at the defaults
    noise = cached(out / f"{tag}_noise.csv", lambda: pd.DataFrame(
        run([{}] * a.noise_seeds, list(range(1, a.noise_seeds + 1)), a.agents), columns=names))
    noise_sd = noise[names].std(ddof=1).to_numpy()
    obs = E.observations(targets, noise_sd, a.band_sds, a.md_fraction)
    print(f"noise: {run.runs} runs, {run.seconds:.0f} s", flush=True)
    if a.until == "noise":
        return

    # 2. waves
    design_path = out / f"{tag}_design.csv"
    design = pd.read_csv(design_path) if design_path.exists() else pd.DataFrame()
    emulators: list = []
    box = (np.zeros(d), np.ones(d))  # where candidates are drawn: shrinks wave by wave
    for w in range(1, a.waves + 1):
        if design.empty or w not in set(design["wave"]):
            if w == 1:
                u = E.latin_hypercube(a.design, d, a.seed)
            else:
                cand, _ = E.sample_region(emulators, obs, d, 20 * a.design, a.cutoff, a.kmax,
                                          a.seed + w, box=box)
                if len(cand) < a.design:
                    print(f"wave {w}: only {len(cand)} non-implausible candidates")
                    if len(cand) == 0:
                        break
                u = E.maximin_subset(cand, a.design, a.seed + w)
            x = E.from_unit(u, bounds)
            y = simulate(x, 10_000 * w)
            design = pd.concat([design, frame(a.params, x, names, y, wave=w,
                                              seed=10_000 * w + a.seeds * np.arange(len(x)))])
            E.write_csv(design, design_path)
            print(f"wave {w}: {len(x)} points, {run.runs} runs, {run.seconds:.0f} s", flush=True)
        if a.until == "wave1":
            return
        # a wave's emulators: its own runs and the earlier runs still non-implausible
        dw = design[design["wave"] <= w]
        u_all = E.to_unit(dw[a.params].to_numpy(), bounds)
        keep = (dw["wave"] == w).to_numpy().copy()
        if emulators:
            ok = np.ones(len(u_all), bool)
            for em in emulators:
                ok &= E.nonimplausible(em, u_all, obs, a.cutoff, a.kmax)
            keep |= ok
        em = E.fit_cached(u_all[keep], dw[names].to_numpy()[keep], a.cache, seed=a.seed)
        emulators.append(em)
        loo = em.validate(obs)
        pilot, frac = E.sample_region(emulators, obs, d, 5000, a.cutoff, a.kmax, a.seed + 99,
                                      max_tries=1_000_000, box=box)
        if len(pilot) >= 10:
            box = E.bounding_box(pilot)
        print(f"wave {w}: emulators on {keep.sum()} runs; non-implausible share of the prior "
              f"{frac:.4g} ({len(pilot)} pilot points); next box "
              f"{np.round(E.from_unit(np.array(box), bounds), 3).tolist()}\n"
              f"{loo.round(3).to_string()}", flush=True)
        summary.setdefault("waves", []).append(
            {"wave": w, "runs": int((design["wave"] == w).sum()), "emulator_runs":
             int(keep.sum()), "nonimplausible_share": frac,
             "box_after": E.from_unit(np.array(box), bounds).round(4).tolist(),
             "loo_within_3sd": dict(zip(names, loo["within_3sd"].round(3), strict=True)),
             "var_em_inflation": dict(zip(names, loo["inflation"].round(2), strict=True)),
             "nugget_over_noise_sd": dict(zip(names, (em.nuggets() / noise_sd).round(3),
                                                  strict=True))})

    # 3. scale: defaults and three non-implausible points, design scale vs large
    def make_scale() -> pd.DataFrame:
        u1, _ = E.sample_region(emulators, obs, d, 3, a.cutoff, a.kmax, a.seed + 7, box=box)
        xs = np.vstack([[declared_default(p) for p in a.params], E.from_unit(u1, bounds)])
        rows = []
        for agents in (a.agents, a.scale_agents):
            for i, x in enumerate(xs):
                y = run([point(x)] * a.scale_seeds, list(range(501, 501 + a.scale_seeds)), agents)
                rows.append(frame(a.params, np.repeat([x], a.scale_seeds, 0), names, y,
                                  seed=np.arange(501, 501 + a.scale_seeds), point=i,
                                  agents=agents))
        return pd.concat(rows)

    scale = cached(out / f"{tag}_scale.csv", make_scale)
    g = scale.groupby(["point", "agents"])[names]
    m, s = g.mean(), g.std(ddof=1)
    small, large = a.agents, a.scale_agents
    diff = (m.xs(large, level="agents") - m.xs(small, level="agents"))
    sd = np.sqrt((s.xs(large, level="agents") ** 2 + s.xs(small, level="agents") ** 2) / 2)
    drift = (diff / sd / np.sqrt(2.0 / a.scale_seeds))  # in sd of the difference of means
    print("scale drift (difference of means / its sd):\n" + drift.T.round(2).to_string())
    summary["scale_drift_over_sd"] = drift.T.round(3).to_dict()
    summary["scale_drift_over_half_band"] = (diff / np.sqrt(obs.var_obs) / a.band_sds
                                             ).T.round(3).to_dict()

    # 4. posterior
    print(f"posterior candidates ({time.time() - started:.0f} s)", flush=True)
    cand, _ = E.sample_region(emulators, obs, d, a.candidates, a.cutoff, a.kmax, a.seed + 11,
                              box=box)
    if not len(cand):
        raise SystemExit("no non-implausible point: nothing to draw from")
    ll = E.log_likelihood(*emulators[-1].predict(cand), obs)
    draws, ess = E.importance_draws(cand, ll, a.draws, a.seed + 12)
    post = pd.DataFrame(E.from_unit(draws, bounds), columns=a.params)
    post.insert(0, "draw", np.arange(len(post)))
    E.write_csv(post, out / f"{tag}_posterior.csv")
    summary["posterior"] = {"candidates": len(cand), "ess": ess,
                            "summary": post[a.params].describe(percentiles=[0.05, 0.5, 0.95])
                            .T.round(4).to_dict()}
    print(f"posterior: {len(cand)} candidates, ESS {ess:.0f}\n"
          f"{post[a.params].describe(percentiles=[.05, .5, .95]).T.round(4).to_string()}")

    # 5. recovery with the wave-1 emulators
    print(f"recovery ({time.time() - started:.0f} s)", flush=True)
    def make_recovery() -> pd.DataFrame:
        xt = E.from_unit(E.latin_hypercube(a.truths, d, a.seed + 21), bounds)
        return frame(a.params, xt, names, simulate(xt, 30_000),
                     truth=np.arange(a.truths))

    rec = cached(out / f"{tag}_recovery_runs.csv", make_recovery)
    rng = np.random.default_rng(a.seed + 22)
    pool = rng.random((a.pool, d))
    pm, pv = emulators[0].predict(pool)
    rows = []
    for _, r in rec.iterrows():
        y = r[names].to_numpy(float)
        err = rng.normal(0, np.sqrt(obs.var_obs + obs.var_md))
        for label, z in (("with_obs_error", y + err), ("run_only", y)):
            o = obs.replace_z(np.where(np.isfinite(z), z, np.nan))
            ok = E.kth_max(E.implausibility(pm, pv, o), a.kmax) <= a.cutoff
            if ok.sum() < 2:
                ok[:] = True
            ll = E.log_likelihood(pm[ok], pv[ok], o)
            iv = E.from_unit(E.posterior_intervals(pool[ok], ll).T, bounds).T
            truth = r[a.params].to_numpy(float)
            w = np.exp(ll - ll.max())
            rows.append({"truth": int(r["truth"]), "observed": label,
                         "nonimplausible": int(ok.sum()), "ess": float(w.sum() ** 2 / (w ** 2)
                                                                     .sum()),
                         **{f"{p}_in90": bool(iv[j, 0] <= truth[j] <= iv[j, 1])
                            for j, p in enumerate(a.params)},
                         **{f"{p}_width": float((iv[j, 1] - iv[j, 0]) / np.ptp(bounds[p]))
                            for j, p in enumerate(a.params)}})
    recovery = pd.DataFrame(rows)
    E.write_csv(recovery, out / f"{tag}_recovery.csv")
    cov = recovery.groupby("observed")[[f"{p}_in90" for p in a.params]].mean()
    width = recovery.groupby("observed")[[f"{p}_width" for p in a.params]].mean()
    summary["recovery_coverage90"] = cov.round(3).to_dict(orient="index")
    summary["recovery_width_share_of_range"] = width.round(3).to_dict(orient="index")
    print("recovery coverage of 90% intervals:\n" + cov.T.round(3).to_string())

    # 6. posterior predictive check
    def make_ppc() -> pd.DataFrame:
        xp = post[a.params].to_numpy()[:a.ppc]
        return frame(a.params, xp, names, simulate(xp, 40_000), draw=np.arange(len(xp)))

    ppc = cached(out / f"{tag}_ppc.csv", make_ppc)
    y = ppc[names].to_numpy(float)
    lo, hi = np.array([t.lo for t in targets]), np.array([t.hi for t in targets])
    inb = (y >= lo) & (y <= hi)
    table = pd.DataFrame({"target": names, "in_band": inb.sum(0), "draws": len(y),
                          "mean": np.nanmean(y, 0), "low": lo, "high": hi})
    summary["ppc"] = {"per_target_in_band": dict(zip(names, inb.sum(0).tolist(), strict=True)),
                      "draws": len(y), "all_in_band_share": float(inb.all(1).mean()),
                      "mean_targets_in_band": float(inb.sum(1).mean())}
    print(f"PPC ({len(y)} draws): all in band {inb.all(1).mean():.3f}\n{table.to_string()}")
    summary["runs_this_call"] = run.runs
    summary["run_seconds_this_call"] = round(run.seconds, 1)
    summary["wall_seconds_this_call"] = round(time.time() - started, 1)
    E.write_json(summary, out / f"{tag}.json")
    if run.pool:
        run.pool.shutdown()


def declared_default(name: str) -> float:
    """The parameter's default value."""
    from sim.engine.registry import schema

    return float(schema()[name].default)


if __name__ == "__main__":
    main()
