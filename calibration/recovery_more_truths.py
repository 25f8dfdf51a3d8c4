"""Parameter recovery of a committed calibration with more synthetic truths (issue 13).

    python calibration/recovery_more_truths.py --tag hm_0.16.0 --truths 60 --work /tmp/rec60

Copies the committed noise, design, scale, posterior and predictive runs of
``calibration/results/<tag>_*`` into ``--work`` and reruns the pipeline with the settings of
``<tag>.json`` but ``--truths`` truths: a new Latin hypercube over the prior (so a set of truths
independent of the committed one), one run each, fitted back with the same emulators (and,
with ``--refocus N``, after a refocused wave of N runs each; default none, as committed). With
``--write`` the truths' runs and fits are copied to ``<tag>_recovery<N>_runs.csv`` and
``<tag>_recovery<N>.csv`` beside the committed files (the committed recovery is left alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
KEPT = ("noise", "design", "scale", "posterior", "ppc")


def main(argv: list[str] | None = None) -> None:
    from sim.experiments.history_match import Settings, history_match

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="hm_0.16.0")
    ap.add_argument("--truths", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--refocus", type=int, default=0, help="runs of each truth's refocused wave")
    ap.add_argument("--work", type=Path, required=True, help="work directory")
    ap.add_argument("--write", action="store_true", help="copy the fits to calibration/results")
    a = ap.parse_args(argv)
    old = json.loads((RESULTS / f"{a.tag}.json").read_text())
    a.work.mkdir(parents=True, exist_ok=True)
    for part in KEPT:
        shutil.copy2(RESULTS / f"{a.tag}_{part}.csv", a.work / f"{a.tag}_{part}.csv")
    settings = Settings.from_summary(old, truths=a.truths, workers=a.workers,
                                     refocus=a.refocus)
    summ = history_match(settings, a.work, tag=a.tag, log=print)
    cov = summ["recovery_coverage90"]
    for mode, by in cov.items():
        print(f"{mode}: mean coverage {sum(by.values()) / len(by):.3f}")
    if a.write:
        files = [("recovery_runs", f"recovery{a.truths}_runs"), ("recovery", f"recovery{a.truths}")]
        if a.refocus:
            files.append(("recovery_refocus_runs", f"recovery{a.truths}_refocus_runs"))
        for src, dst in files:
            shutil.copy2(a.work / f"{a.tag}_{src}.csv", RESULTS / f"{a.tag}_{dst}.csv")
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
