"""Parameter recovery of a wave posterior at 200,000 persons (issue 13): the command line of
:mod:`sim.experiments.scale_recovery`, whose docstring states the method.

    python calibration/scale_recovery.py --posterior hm_0.22.0_at200k_wave_band_w4_abc \
        --truths 60

Reads the wave posterior's summary and the committed calibration in ``--results`` and writes
``<posterior>_recovery_runs.csv``, ``_recovery.csv`` and ``_recovery.json`` to ``--out`` (both
``calibration/results`` by default). Findings: calibration/README.md, "Recovery at the scale
users run".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.experiments.scale_recovery import scale_recovery

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posterior", required=True,
                    help="a wave posterior's name, e.g. hm_0.22.0_at200k_wave_band_w4_abc")
    ap.add_argument("--truths", type=int, default=60, help="truths drawn in the box and run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where the wave posterior and its calibration are read")
    a = ap.parse_args(argv)
    for name, lo in (("truths", 2), ("workers", 1)):
        if getattr(a, name) < lo:
            ap.error(f"--{name} must be at least {lo}, got {getattr(a, name)}")
    path = a.results / f"{a.posterior}.json"
    if not path.exists():
        ap.error(f"no wave posterior {a.posterior} in {a.results} (no {path.name})")
    final = json.loads(path.read_text()).get("settings", {}).get("final")
    if final != "abc":
        ap.error(f"{a.posterior} is not an exact-ABC posterior (final {final!r}): run "
                 "calibration/scale_wave.py with --final abc")
    a.out.mkdir(parents=True, exist_ok=True)
    scale_recovery(a.posterior, a.truths, a.workers, a.out, a.results)


if __name__ == "__main__":
    main()
