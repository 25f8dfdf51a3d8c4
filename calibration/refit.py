"""Refit a committed calibration from its runs with today's fitting (issue 13).

Usage (from the repository root, with the ``calibrate`` extra installed)::

    python calibration/refit.py --tag hm_0.13.0_large --write

Copies the committed runs of ``calibration/results/<tag>_*`` (the noise, design, scale and
recovery runs) into ``--work``, reruns :func:`sim.experiments.history_match.history_match`
with the settings recorded in ``<tag>.json`` (and ``--temper``), which reuses every run and redoes
the emulators, the posterior, the recovery fits and the posterior predictive check (whose runs
are new: the draws have moved). With ``--write`` the new posterior, recovery and predictive files
and the JSON replace the committed ones; the JSON keeps the original call's budget as
``original_call`` and says what was refitted under ``refit``. The model version of the runs is
kept as ``version`` (a refit is only valid while the code gives the same numbers: the suite's
``test_committed_noise_run_reproduces`` checks it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
KEPT = ("noise", "design", "scale", "recovery_runs", "recovery_refocus_runs")  # runs reused
REDONE = ("posterior", "recovery", "ppc", "ppc_table")  # files the refit writes anew


def main(argv: list[str] | None = None) -> None:
    from sim.core.version import __version__
    from sim.experiments.emulator import CALL_KEYS, write_json
    from sim.experiments.history_match import Settings, history_match

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="hm_0.13.0_large")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="directory of the committed calibration (default: calibration/results)")
    ap.add_argument("--temper", default="loo")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="work directory (default: temp)")
    ap.add_argument("--write", action="store_true", help="replace the committed files")
    ap.add_argument("--quiet", "-q", action="store_true", help="no stage log")
    a = ap.parse_args(argv)
    res = a.results
    old = json.loads((res / f"{a.tag}.json").read_text())
    work = a.work or Path(tempfile.mkdtemp(prefix="refit-"))
    work.mkdir(parents=True, exist_ok=True)
    for part in KEPT:
        if (res / f"{a.tag}_{part}.csv").exists():  # no refocused runs before session 36
            shutil.copy2(res / f"{a.tag}_{part}.csv", work / f"{a.tag}_{part}.csv")
    settings = Settings.from_summary(
        old, temper=a.temper, workers=a.workers,
        extra={k: old[k] for k in ("budget", "command") if k in old})
    started = time.time()
    summ = history_match(settings, work, tag=a.tag,
                         log=(lambda m: None) if a.quiet else print)
    summ["version"] = old["version"]
    summ["fit_code_version"] = __version__
    summ["original_call"] = {k: old.get(k) for k in CALL_KEYS}
    summ["earlier_recovery_coverage90"] = old.get("recovery_coverage90")
    summ["refit"] = (f"session 23: emulators, posterior, recovery and predictive check "
                     f"refitted from the committed runs with temper={a.temper!r} and "
                     f"adaptive-importance-sampling recovery (calibration/refit.py, "
                     f"{time.time() - started:.0f} s); the predictive check's runs are new")
    write_json(summ, work / f"{a.tag}.json")
    print(f"refit in {work}: coverage {summ['recovery_coverage90']}")
    if a.write:
        for part in REDONE:
            shutil.copy2(work / f"{a.tag}_{part}.csv", res / f"{a.tag}_{part}.csv")
        shutil.copy2(work / f"{a.tag}.json", res / f"{a.tag}.json")
        print(f"written to {res}")


if __name__ == "__main__":
    main()
