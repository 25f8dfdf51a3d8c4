"""The posterior predictive check at the scale users run (issue 13, item 5).

    python calibration/ppc_at_scale.py --tag hm_0.18.0 --draws 30 --agents 200000 --write

The pipeline's check (``<tag>_ppc.csv``) simulates posterior draws at the calibration's own
scale (30,000 persons for the default budget). This one simulates the first ``--draws`` draws of
the committed posterior (``<tag>_posterior.csv``) at ``--agents`` persons, one run each, 1985-2006,
with the seeds the pipeline's check uses (40,000 + draw), and counts, target by target, the draws
whose value is in the band, and the draws in every band at once. With ``--write`` the runs go to
``<tag>_ppc<agents/1000>k.csv`` beside the committed files (read back by the tests), and a file
already there is read instead of run again (delete it to rerun). The command line of
:func:`sim.experiments.scale_posterior.ppc_at_scale`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def in_band(runs: pd.DataFrame) -> pd.DataFrame:
    """(draws, fitted targets) booleans: each run's value inside the target's band."""
    from sim.experiments.history_match import fit_targets, in_bands

    targets = fit_targets()
    return pd.DataFrame(in_bands(runs, targets), columns=[t.name for t in targets])


def main(argv: list[str] | None = None) -> None:
    import tempfile

    from sim.experiments.scale_posterior import ppc_at_scale

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="hm_0.18.0")
    ap.add_argument("--draws", type=int, default=30)
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = RESULTS if a.write else Path(tmp)
        runs = ppc_at_scale(a.tag, a.draws, a.agents, a.workers, out, RESULTS)
    inb = in_band(runs)
    print(f"{len(runs)} draws at {a.agents:,} persons")
    print(f"targets in band per draw: mean {inb.sum(axis=1).mean():.2f} of {inb.shape[1]}; "
          f"draws in every band: {inb.all(axis=1).mean():.3f}")
    print(inb.sum().sort_values().head(8).to_string())
    if a.write:
        print(f"written {RESULTS / f'{a.tag}_ppc{a.agents // 1000}k.csv'}")


if __name__ == "__main__":
    main()
