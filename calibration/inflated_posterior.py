"""The four-wave exact-ABC posterior with the emulators' variances widened to what runs they
were not fitted on show (issue 13, session 61).

    python calibration/inflated_posterior.py --posterior hm_0.22.0_at200k_wave_band_w4_abc \
        --ppc 120

The recovery's 60 truths (``<posterior>_recovery_runs.csv``, uniform on the posterior's
region) are runs the last wave's emulators were not fitted on; on them the emulators are too
sure of several targets (``emulator_check`` in ``<posterior>_recovery.json``). Each target's
emulator variance is widened by the factor that makes those runs' mean squared standardised
error 1 (:func:`sim.experiments.scale_recovery.inflation`), and the posterior is weighted again
over the same candidates (drawn again with the posterior's seed) by the chance of a run in
every band under the widened variances: ``<posterior>_inflated_posterior.csv``; its first
``--ppc`` draws run at the posterior's scale (seeds 40,000 + draw, every check's seeds):
``<posterior>_inflated_ppc<k>.csv``; the summary ``<posterior>_inflated.json`` (factors,
predicted and found shares in every band). Findings: calibration/README.md, "Recovery at the
scale users run".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def inflated_posterior(name: str, ppc: int, workers: int, out: Path, results: Path) -> dict:
    """Every step of the module docstring; the summary."""
    from sim.core.version import __version__
    from sim.experiments import emulator as E
    from sim.experiments.history_match import Runner
    from sim.experiments.inference import band_loglik, band_probabilities, ppc_summary
    from sim.experiments.scale_posterior import checked_draws
    from sim.experiments.scale_recovery import inflation, wave_posterior

    t0 = time.time()
    w = wave_posterior(results, name)  # its candidates drawn again, with their predictions
    c, obs, em, pool, pm, pv = (w[k] for k in ("calibration", "obs", "em", "pool", "pm", "pv"))
    s, params, bounds, names = c["settings"], c["params"], c["bounds"], c["names"]
    agents, lo, hi = w["agents"], w["lo"], w["hi"]
    truths = pd.read_csv(results / f"{name}_recovery_runs.csv")
    k = inflation(em, E.to_unit(truths[params].to_numpy(float), bounds),
                  truths[names].to_numpy(float), obs)
    ll = band_loglik(pm, k * pv, obs, lo, hi, discrepancy=False)
    draws, ess = E.importance_draws(pool, ll, s.draws, s.seed + 12)
    post = pd.DataFrame(E.from_unit(draws, bounds), columns=params)
    post.insert(0, "draw", np.arange(len(post)))
    E.write_csv(post, out / f"{name}_inflated_posterior.csv")
    post = pd.read_csv(out / f"{name}_inflated_posterior.csv")
    m_d, v_d = em.predict(E.to_unit(post[params].to_numpy(float), bounds))
    _, joint = band_probabilities(m_d, k * v_d, obs.var_noise, lo, hi)
    _, joint_as_fitted = band_probabilities(m_d, v_d, obs.var_noise, lo, hi)
    summary = {
        "version": __version__, "posterior": name, "agents": agents,
        "inflation": dict(zip(names, k.round(3).tolist(), strict=True)),
        "ess": round(ess, 1),
        "summary": post[params].describe(percentiles=[0.05, 0.5, 0.95]).T.round(4).to_dict(),
        "predicted_all_in_band": round(float(joint.mean()), 4),
        "predicted_all_in_band_first_ppc": round(float(joint[:ppc].mean()), 4),
        "predicted_all_in_band_as_fitted": round(float(joint_as_fitted.mean()), 4)}
    print(f"factors: {summary['inflation']}\nESS {ess:.0f}; predicted share in every band "
          f"{joint.mean():.3f} (as fitted {joint_as_fitted.mean():.3f})", flush=True)
    if ppc:
        run = Runner(c["targets"], workers)
        try:
            runs = checked_draws(run, params, names, post[params].to_numpy()[:ppc], agents,
                                 out / f"{name}_inflated_ppc{agents // 1000}k.csv")
        finally:
            run.close()
        summary["ppc"], line = ppc_summary(runs, c["targets"], agents=agents)
        summary["runs_this_call"] = run.runs
        print(line, flush=True)
    summary["wall_seconds_this_call"] = round(time.time() - t0, 1)
    E.write_json(summary, out / f"{name}_inflated.json")
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posterior", required=True,
                    help="an exact-ABC wave posterior with a recovery, e.g. "
                         "hm_0.22.0_at200k_wave_band_w4_abc")
    ap.add_argument("--ppc", type=int, default=120, help="posterior draws run to check")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--results", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    for f in (f"{a.posterior}.json", f"{a.posterior}_recovery_runs.csv"):
        if not (a.results / f).exists():
            ap.error(f"no {f} in {a.results}: run calibration/scale_recovery.py first")
    if a.ppc < 0 or a.workers < 1:
        ap.error("--ppc must be at least 0 and --workers at least 1")
    a.out.mkdir(parents=True, exist_ok=True)
    inflated_posterior(a.posterior, a.ppc, a.workers, a.out, a.results)


if __name__ == "__main__":
    main()
