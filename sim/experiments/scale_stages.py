"""The scale stages of ``migsim calibrate --scale-agents N`` (issue 13): from a design-scale
calibration to a posterior for runs of N persons, its predictive check and its recovery.

    migsim calibrate --scale-agents 200000

The stages, each in its own module: the design-scale posterior's first draws at N persons and
the corrected posteriors (:mod:`sim.experiments.scale_posterior`), waves of history matching at
N persons (:mod:`sim.experiments.scale_waves`) and the recovery of the last exact-ABC posterior
(:mod:`sim.experiments.scale_recovery`). Findings: calibration/README.md, "Waves at the scale
users run", "In one command".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ScaleBudget:
    """The scale stages of ``migsim calibrate --scale-agents`` (:func:`scale_stages`)."""

    checks: int  # the design-scale posterior's first draws run at the larger scale
    points: int  # the pairs' points, each run at both scales with ``seeds`` seeds
    seeds: int
    design: int  # new runs a wave
    calls: tuple[tuple[str, int, int], ...]  # (final likelihood, waves, predictive draws)
    candidates: int | None  # of the exact-ABC posterior (None: the calibration's)
    truths: int  # of the last posterior's recovery (sim.experiments.scale_recovery)


# the default budget is the committed sequence of calls (calibration/README.md, "Waves at the
# scale users run"); the small one exercises every stage in seconds and means nothing
SCALE_BUDGETS = {
    "small": ScaleBudget(2, 5, 1, 4, (("band", 1, 2), ("abc", 2, 2)), None, 3),
    "default": ScaleBudget(60, 40, 2, 150, (("band", 3, 60), ("abc", 3, 120), ("abc", 4, 120)),
                           100_000, 60),
}
SCALE_BUDGETS["large"] = SCALE_BUDGETS["default"]


def scale_stages(tag: str, agents: int, budget: str, workers: int, out: Path, log=print
                 ) -> dict[str, Any]:
    """The posterior for runs of ``agents`` persons from the calibration ``tag`` in ``out``,
    every file beside it: the design-scale posterior's first draws at that scale
    (:func:`sim.experiments.scale_posterior.ppc_at_scale`), the pairs and the corrected
    posteriors with both likelihoods and their checks
    (:func:`sim.experiments.scale_posterior.scale_posterior`), then
    :func:`sim.experiments.scale_waves.scale_wave` for each
    of the budget's calls, and the recovery of the last exact-ABC posterior
    (:func:`sim.experiments.scale_recovery.scale_recovery`, its summary under ``recovery``);
    each stage reuses its files when present (rerun to resume). The last call's summary."""
    from sim.experiments.scale_posterior import ppc_at_scale, scale_posterior
    from sim.experiments.scale_recovery import scale_recovery
    from sim.experiments.scale_waves import scale_wave

    b = SCALE_BUDGETS[budget]
    ppc_at_scale(tag, b.checks, agents, workers, out)
    for lik in ("gauss", "band"):
        scale_posterior(tag, b.points, b.seeds, agents, b.checks, workers, out, log=log,
                        likelihood=lik)
    summary: dict[str, Any] = {}
    for final, waves, ppc in b.calls:
        summary = scale_wave(tag, b.design, agents, ppc, workers, out, log=log, n_waves=waves,
                             final=final, candidates=b.candidates if final == "abc" else None)
    if b.truths and summary.get("settings", {}).get("final") == "abc":
        summary["recovery"] = scale_recovery(summary["name"], b.truths, workers, out, log=log)
    return summary
