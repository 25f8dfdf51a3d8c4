"""How often could a draw land inside every band? The emulators' answer (issue 13, item 5).

    python calibration/band_probability.py --tag hm_0.18.0            # ~3 min, two cores
    python calibration/band_probability.py --tag hm_0.18.0 --write    # results/<tag>_bands.json

Issue 13 asks that 65% of posterior draws land inside every band at once. This script asks the
committed calibration's last-wave emulators how often one run at a point should do so
(:func:`sim.experiments.inference.band_probabilities`: the emulator's mean and variance plus the
replicate noise, the targets' chances multiplied), at the calibration's persons (the noise of
its ten runs at the defaults) and at 200,000 persons (that noise times 30,000 / 200,000, the
variance of a share of agents; the emulators' means are those of the calibration's runs, which
whole openings keep near larger runs' means: "Posterior refit for version 0.16.0").

It prints, and with ``--write`` stores:
* the predicted share of the committed posterior's draws inside every band, beside what the
  predictive checks found (``<tag>_ppc.csv`` at the calibration's persons, ``<tag>_ppc200k.csv``
  at 200,000 when present);
* the ceiling: the largest chance over candidates drawn uniformly from the last wave's
  non-implausible region, the share of candidates above 0.65, and the targets that keep the
  best candidate below it;
* the same at 200,000 persons with the emulator's variance left out (``200k_noise_only``): the
  chance if the emulator's mean were the model's, only the replicate noise between a run and
  it. The emulator's variance is uncertainty about the mean, shared by the targets a parameter
  moves together, so the product over targets that includes it understates the joint chance
  (compare the predictive checks' runs); the noise-only figure is the one to read against 0.65.

The emulators are refitted from the committed design runs exactly as the calibration fitted
them (the cache in the temporary directory makes a second call fast); nothing is run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
SCALE_AGENTS = 200_000
GOAL = 0.65  # issue 13: share of posterior draws inside every band at once


def _emulators(tag: str):
    """(settings, params, bounds, targets, observation, emulators, box) of a committed
    calibration, the waves' emulators refitted from its design runs."""
    from sim.experiments.committed import committed_emulators

    c = committed_emulators(RESULTS, tag)
    return (c["settings"], c["params"], c["bounds"], c["targets"], c["obs"], c["emulators"],
            c["box"])


def _ppc_share(path: Path, targets) -> tuple[float, int] | None:
    """(share of a predictive check's runs inside every band, runs), if the file exists."""
    if not path.exists():
        return None
    from sim.experiments.history_match import in_bands

    runs = pd.read_csv(path)
    return float(in_bands(runs, targets).all(axis=1).mean()), len(runs)


def bands(tag: str, candidates: int = 20_000) -> dict:
    """The predicted and found shares of draws inside every band, and the ceiling over the
    last wave's non-implausible region, at the calibration's persons and at 200,000."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import band_probabilities

    s, params, bounds, targets, obs, emulators, box = _emulators(tag)
    lo = np.array([t.lo for t in targets])
    hi = np.array([t.hi for t in targets])
    names = [t.name for t in targets]
    post = pd.read_csv(RESULTS / f"{tag}_posterior.csv")
    m_post, v_post = emulators[-1].predict(E.to_unit(post[params].to_numpy(), bounds))
    cand, _ = E.sample_region(emulators, obs, len(params), candidates, s.cutoff, s.kmax,
                              s.seed + 11, box=box)
    m_c, v_c = emulators[-1].predict(cand)
    out: dict = {"tag": tag, "draws": len(post), "candidates": len(cand), "goal": GOAL}
    for label, agents, em_var in (("calibration", s.agents, 1.0), ("200k", SCALE_AGENTS, 1.0),
                                  ("200k_noise_only", SCALE_AGENTS, 0.0)):
        var_noise = obs.var_noise * s.agents / agents
        _, joint_post = band_probabilities(m_post, em_var * v_post, var_noise, lo, hi)
        per_c, joint_c = band_probabilities(m_c, em_var * v_c, var_noise, lo, hi)
        best = int(np.argmax(joint_c))
        worst = np.argsort(per_c[best])[:4]
        found = _ppc_share(RESULTS / (f"{tag}_ppc.csv" if label == "calibration"
                                      else f"{tag}_ppc200k.csv"), targets)
        out.setdefault("emulator_variance", {})[label] = bool(em_var)
        out[label] = {
            "agents": agents,
            "posterior_predicted_all_in_band": round(float(joint_post.mean()), 4),
            "posterior_found_all_in_band": None if found is None else round(found[0], 4),
            "posterior_found_runs": None if found is None else found[1],
            "ceiling": round(float(joint_c[best]), 4),
            "candidates_over_goal": round(float(np.mean(joint_c >= GOAL)), 4),
            "best_point": dict(zip(params, E.from_unit(cand[best:best + 1], bounds)[0]
                                   .round(4).tolist(), strict=True)),
            "best_point_weakest": {names[j]: round(float(per_c[best, j]), 3) for j in worst},
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="hm_0.18.0")
    ap.add_argument("--candidates", type=int, default=20_000)
    ap.add_argument("--write", action="store_true", help="write results/<tag>_bands.json")
    a = ap.parse_args(argv)
    res = bands(a.tag, a.candidates)
    print(json.dumps(res, indent=1))
    if a.write:
        from sim.experiments.emulator import write_json

        write_json(res, RESULTS / f"{a.tag}_bands.json")


if __name__ == "__main__":
    main()
