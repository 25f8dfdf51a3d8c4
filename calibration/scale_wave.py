"""Waves of history matching at 200,000 persons (issue 13): the command line of
:mod:`sim.experiments.scale_waves`, whose docstring states the method.

    python calibration/scale_wave.py --tag hm_0.22.0 --design 150 --waves 3 --ppc 60
    python calibration/scale_wave.py --tag hm_0.22.0 --design 150 --waves 3 --ppc 120 \
        --final abc --candidates 100000

Reads the committed calibration in ``--results`` and writes to ``--out`` (both
``calibration/results`` by default). Findings: calibration/README.md, "Waves at the scale users
run".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.experiments.scale_waves import (  # noqa: F401  (the tests reach them here)
    at_faces,
    committed_runs,
    earlier_checks,
    grow,
    inside,
    likelihood_of,
    scale_wave,
)

RESULTS = Path(__file__).resolve().parent / "results"

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", required=True, help="committed calibration, e.g. hm_0.22.0")
    ap.add_argument("--design", type=int, default=150, help="new points of the wave")
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--ppc", type=int, default=60, help="posterior draws run to check")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--waves", type=int, default=1,
                    help="waves; after each but the last the box grows where draws press "
                         "against it")
    ap.add_argument("--likelihood", choices=("band", "gauss"), default="band",
                    help="the likelihood of the waves' posteriors (and the box's growth)")
    ap.add_argument("--final", choices=("band", "gauss", "abc"), default=None,
                    help="the final posterior's likelihood (default: --likelihood); abc: the "
                         "exact chance of a run in every band, untempered")
    ap.add_argument("--candidates", type=int, default=None,
                    help="candidates of the final posterior (default: the calibration's)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where the committed calibration is read")
    a = ap.parse_args(argv)
    for name, lo in (("design", 2), ("waves", 1), ("agents", 1000), ("ppc", 0),
                     ("workers", 1)):
        if getattr(a, name) < lo:
            ap.error(f"--{name} must be at least {lo}, got {getattr(a, name)}")
    if a.candidates is not None and a.candidates < 100:
        ap.error(f"--candidates must be at least 100, got {a.candidates}")
    if not (a.results / f"{a.tag}.json").exists():
        ap.error(f"no calibration {a.tag} in {a.results} (no {a.tag}.json)")
    k = f"{a.agents // 1000}k"
    if not (a.results / f"{a.tag}_at{k}_pairs.csv").exists():
        ap.error(f"no {a.tag}_at{k}_pairs.csv in {a.results}: run calibration/"
                 f"scale_posterior.py --tag {a.tag} --agents {a.agents} first (its box)")
    a.out.mkdir(parents=True, exist_ok=True)
    scale_wave(a.tag, a.design, a.agents, a.ppc, a.workers, a.out, a.results,
               likelihood=a.likelihood, n_waves=a.waves, final=a.final,
               candidates=a.candidates)


if __name__ == "__main__":
    main()
