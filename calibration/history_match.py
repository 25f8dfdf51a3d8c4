"""Posterior of the influential behavioural parameters by history matching (issue 13, 3-5).

The pipeline is :mod:`sim.experiments.history_match`, which ``migsim calibrate`` drives too;
this script exposes every setting. Usage (from the repository root, ``calibrate`` extra)::

    NUMBA_NUM_THREADS=1 python calibration/history_match.py --agents 30000 --design 200 \\
        --waves 3 --workers 2 --out calibration/results

Each stage is cached as a CSV in ``--out``; a rerun reuses the runs already there.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import fields
from pathlib import Path


def main() -> None:
    from sim.experiments.history_match import Settings, history_match

    default = Settings()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(Settings):
        if f.name in ("params", "extra", "until"):
            continue
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(default, f.name)),
                        default=getattr(default, f.name))
    ap.add_argument("--params", nargs="+", default=list(default.params))
    ap.add_argument("--until", choices=["noise", "wave1", "all"], default="all",
                    help="stop after the replicate noise or the wave-1 runs")
    ap.add_argument("--out", type=Path, default=Path("calibration/results"))
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "migsim_emulators",
                    help="fitted emulators (pickles, not results) for reruns")
    a = vars(ap.parse_args())
    out, cache = a.pop("out"), a.pop("cache")
    a["params"] = tuple(a["params"])
    history_match(Settings(**a), out, cache=cache, log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
