"""A fifth wave at 200,000 persons that frees one parameter in place of another (an experiment).

The four waves at 200,000 persons (``scale_wave.py``) fitted eight parameters, one of which,
``demand_growth_elasticity``, no default run reads (calibration/README.md, "Parameters that no
run reads"), while the most influential one, ``wage_adjust_shortage``, stayed at its default.
Every committed run of 200,000 persons of the calibration was made with it at its default, so
each is a point of the space where the idle parameter is replaced by the freed one at that
default. This script:

1. takes those runs (the pairs' larger runs, the four waves, the predictive checks of every
   wave posterior and the widened one, the recovery's truths) inside the box of the fourth
   wave (the idle parameter's side dropped) and the freed parameter's range ``--free-range``,
   chosen before the fit (default 0.7-4.6: half the default up to the top of the box the
   design-scale calibration with the swap drew);
2. runs ``--design`` new points (seeds 62,000 + point): a maximin set of the candidates that
   emulators of the seven kept parameters, fitted on those runs, leave non-implausible, each
   with a value of the freed parameter from a Latin stratification of its range;
3. fits emulators of all eight on the old runs and the new, draws candidates uniform in the
   box and non-implausible under them, weights each by the chance that one run lands in every
   band (the exact uniform-kernel ABC posterior of the fourth wave, untempered) and keeps
   500 draws;
4. runs the first ``--ppc`` draws at 200,000 persons (seeds 40,000 + draw, every check's).

Usage (``calibrate`` extra; about 40 minutes on two cores)::

    NUMBA_NUM_THREADS=1 python calibration/freed_wave.py --workers 2

Files ``<tag>_at<k>k_freed_<param>{_design.csv,_posterior.csv,_ppc<k>k.csv,.json}`` in
``--out``, each written atomically; the summary last. Nothing here changes the committed
posterior that batches pair with.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 62_000
# the runs of the waves at the larger scale besides the committed calibration's own, in the
# order the emulators are fitted on (files absent are skipped): w the waves' prefix
CHECKS = ("{w}_design.csv", "{w}_w3_ppc{k}.csv", "{w}_w3_abc_ppc{k}.csv",
          "{w}_w4_abc_ppc{k}.csv", "{w}_w4_abc_inflated_ppc{k}.csv", "{last}_recovery_runs.csv")


def main(argv: list[str] | None = None) -> None:
    from sim.engine.registry import schema
    from sim.experiments import emulator as E
    from sim.experiments.committed import committed_calibration
    from sim.experiments.history_match import Runner, frame
    from sim.experiments.inference import band_probabilities, ppc_summary
    from sim.experiments.scale_correction import scaled_observation
    from sim.experiments.scale_posterior import checked_draws
    from sim.experiments.scale_waves import GOAL, committed_runs, inside, likelihood_of

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tag", default="hm_0.22.0")
    ap.add_argument("--last", default="hm_0.22.0_at200k_wave_band_w4_abc",
                    help="the wave posterior whose box and runs are taken")
    ap.add_argument("--drop", default="demand_growth_elasticity")
    ap.add_argument("--free", default="wage_adjust_shortage")
    ap.add_argument("--free-range", nargs=2, type=float, default=[0.7, 4.6])
    ap.add_argument("--design", type=int, default=200)
    ap.add_argument("--ppc", type=int, default=120)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=Path("calibration/results"))
    a = ap.parse_args(argv)
    agents, k = a.agents, f"{a.agents // 1000}k"
    t0 = time.time()
    res = a.out
    cache = Path(tempfile.gettempdir()) / "migsim_emulators"
    c = committed_calibration(res, a.tag)
    s, names, targets = c["settings"], c["names"], c["targets"]
    old_params, old_bounds = list(c["params"]), dict(c["bounds"])
    last = json.loads((res / f"{a.last}.json").read_text())
    sch = schema()
    if a.drop not in old_params or a.free in old_params or a.free not in sch:
        raise SystemExit(f"--drop must be one of {old_params}; --free a parameter not among them")
    default = float(sch[a.free].default)
    lo_f, hi_f = a.free_range
    if not sch[a.free].lo <= lo_f < default < hi_f <= sch[a.free].hi:
        raise SystemExit(f"--free-range {lo_f} {hi_f} must hold the default {default} inside "
                         f"the declared range [{sch[a.free].lo}, {sch[a.free].hi}]")
    params = [a.free if p == a.drop else p for p in old_params]
    bounds = {(a.free if p == a.drop else p): (
        (float(sch[a.free].lo), float(sch[a.free].hi)) if p == a.drop else tuple(b))
        for p, b in old_bounds.items()}
    j = params.index(a.free)
    box_x = np.array(last["box"], float)  # (2, d) in the old parameters' units
    box_x[:, j] = (lo_f, hi_f)
    box = tuple(E.to_unit(box_x, bounds))
    name = f"{a.tag}_at{k}_freed_{a.free}"
    obs = scaled_observation(c["obs"], s.agents, agents)
    lo_b = np.array([t.lo for t in targets])
    hi_b = np.array([t.hi for t in targets])

    # 1. the committed runs, made with the freed parameter at its default
    checks = tuple(f.format(w=f"{a.tag}_at{k}_wave_band", k=k, last=a.last) for f in CHECKS)
    old = committed_runs(res, a.tag, agents, old_params, names, checks)
    old = old.drop(columns=[a.drop]).assign(**{a.free: default})[params + names + ["source"]]
    u_old = E.to_unit(old[params].to_numpy(float), bounds)
    keep = inside(u_old, box)
    old, u_old = old[keep], u_old[keep]
    run = Runner(targets, a.workers)
    summary = {"tag": a.tag, "last": a.last, "agents": agents, "design_agents": s.agents,
               "params": bounds, "targets": names, "dropped": a.drop, "freed": a.free,
               "freed_default": default, "free_range": [lo_f, hi_f],
               "box": E.from_unit(np.array(box), bounds).round(4).tolist(),
               "old_runs": int(len(old)), "old_sources": old["source"].value_counts().to_dict()}
    try:
        # 2. the new wave: kept parameters from the old runs' non-implausible region, the freed
        # one stratified over its range
        design_path = res / f"{name}_design.csv"
        if not design_path.exists():
            kept = [i for i in range(len(params)) if i != j]
            em0 = E.fit_cached(u_old[:, kept], old[names].to_numpy(float), cache, 0, s.seed)
            sub = (box[0][kept], box[1][kept])
            cand, frac0 = E.sample_region([em0], obs, len(kept), 20 * a.design, s.cutoff,
                                          s.kmax, s.seed + 45, box=sub)
            if len(cand) < a.design:
                raise RuntimeError(f"only {len(cand)} non-implausible candidates")
            pick = E.maximin_subset(cand, a.design, s.seed + 46)
            rng = np.random.default_rng(s.seed + 47)
            strata = (rng.permutation(a.design) + rng.random(a.design)) / a.design
            u_new = np.empty((a.design, len(params)))
            u_new[:, kept] = pick
            u_new[:, j] = box[0][j] + strata * (box[1][j] - box[0][j])
            x_new = E.from_unit(u_new, bounds)
            seeds = [SEED + i for i in range(a.design)]
            y = run([dict(zip(params, map(float, r), strict=True)) for r in x_new], seeds,
                    agents)
            E.write_csv(frame(params, x_new, names, y, wave=5, seed=seeds), design_path)
            summary["wave_candidates_share"] = frac0
            print(f"wave: {a.design} runs ({run.seconds:.0f} s)", flush=True)
        new = pd.read_csv(design_path)
        u_all = np.vstack([u_old, E.to_unit(new[params].to_numpy(float), bounds)])
        y_all = np.vstack([old[names].to_numpy(float), new[names].to_numpy(float)])
        # 3. emulators of all eight, the exact ABC posterior
        em = E.fit_cached(u_all, y_all, cache, 0, s.seed)
        loo = em.validate(obs)
        loglik, _ = likelihood_of("abc", lo_b, hi_b)
        cand, frac = E.sample_region([em], obs, len(params), a.candidates, s.cutoff, s.kmax,
                                     s.seed + 11, box=box)
        if not len(cand):
            raise RuntimeError("no candidate in the box is non-implausible")
        ll = loglik(*em.predict(cand), obs)
        draws, ess = E.importance_draws(cand, ll, s.draws, s.seed + 12)
        post = pd.DataFrame(E.from_unit(draws, bounds), columns=params)
        post.insert(0, "draw", np.arange(len(post)))
        E.write_csv(post, res / f"{name}_posterior.csv")
        post = pd.read_csv(res / f"{name}_posterior.csv")
        desc = post[params].describe(percentiles=[0.05, 0.5, 0.95]).T
        m_d, v_d = em.predict(E.to_unit(post[params].to_numpy(float), bounds))
        _, joint = band_probabilities(m_d, v_d, obs.var_noise, lo_b, hi_b)
        m_c, v_c = em.predict(cand)
        _, p_c = band_probabilities(m_c, v_c, obs.var_noise, lo_b, hi_b)
        u_d = E.to_unit(post[params].to_numpy(float), bounds)
        faces = ((u_d - box[0] < 0.02) & (box[0] > 0)) | ((box[1] - u_d < 0.02) & (box[1] < 1))
        summary["posterior"] = {
            "runs": int(len(y_all)), "candidates": int(len(cand)),
            "region_share_of_prior": frac, "ess": ess,
            "summary": desc.round(4).to_dict(),
            "predicted_all_in_band": round(float(joint.mean()), 4),
            "predicted_ceiling": round(float(p_c.max()), 4),
            "candidates_over_goal": round(float(np.mean(p_c >= GOAL)), 4),
            "draws_at_inner_box_faces": dict(zip(params, faces.mean(0).round(3).tolist(),
                                                 strict=True)),
            "loo_within_3sd": dict(zip(names, loo["within_3sd"].round(3), strict=True))}
        print(f"posterior: {len(cand)} candidates, ESS {ess:.0f}; predicted share in every "
              f"band {joint.mean():.3f}, best point {p_c.max():.3f}\n"
              f"{desc.round(4).to_string()}", flush=True)
        # 4. the predictive check
        if a.ppc:
            runs = checked_draws(run, params, names, post[params].to_numpy()[:a.ppc], agents,
                                 res / f"{name}_ppc{k}.csv")
            summary["ppc"], line = ppc_summary(runs, targets, agents=agents)
            print(line, flush=True)
    finally:
        run.close()
    summary["runs_this_call"] = run.runs
    summary["wall_seconds_this_call"] = round(time.time() - t0, 1)
    E.write_json(summary, res / f"{name}.json")


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
