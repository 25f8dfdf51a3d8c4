"""A posterior for runs of 200,000 persons from a calibration run at 30,000 (issue 13,
item 3): the command line of :mod:`sim.experiments.scale_posterior`, whose docstring states
the method.

    python calibration/scale_posterior.py --tag hm_0.22.0 --points 40 --seeds 2 --ppc 60

Reads the committed calibration in ``--results`` and writes to ``--out`` (both
``calibration/results`` by default). Findings: calibration/README.md, "A posterior for the
scale users run".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.experiments.inference import band_loglik  # noqa: F401  (the tests reach them here)
from sim.experiments.scale_posterior import _differences, scale_posterior  # noqa: F401

RESULTS = Path(__file__).resolve().parent / "results"

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", required=True, help="committed calibration, e.g. hm_0.22.0")
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--ppc", type=int, default=60)
    ap.add_argument("--likelihood", choices=("gauss", "band"), default="gauss",
                    help="gauss: the calibration's (Normal around the band centres); band: "
                         "the chance of landing in every band")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where the calibration --tag is (default calibration/results)")
    a = ap.parse_args(argv)
    for name, lo in (("points", 3), ("seeds", 1), ("agents", 1000), ("ppc", 0),
                     ("workers", 1)):
        if getattr(a, name) < lo:
            ap.error(f"--{name} must be at least {lo}, got {getattr(a, name)}")
    if not (a.results / f"{a.tag}.json").exists():
        ap.error(f"no calibration {a.tag} in {a.results} (no {a.tag}.json)")
    a.out.mkdir(parents=True, exist_ok=True)
    scale_posterior(a.tag, a.points, a.seeds, a.agents, a.ppc, a.workers, a.out, a.results,
                    likelihood=a.likelihood)


if __name__ == "__main__":
    main()
