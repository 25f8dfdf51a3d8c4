"""Posterior draws for batches: each replicate pairs one seed with one draw of the parameters.

``migsim batch ... --posterior FILE --draws K`` (``run_batch(posterior=..., draws=...)``) reads
a CSV of posterior draws (one row a draw, one column a parameter; columns that are not
parameters, such as ``draw`` or ``weight``, are ignored) and runs ``K`` replicates: replicate
``r`` uses seed ``S + r`` and the parameters of row ``r`` in every scenario, so a comparison
between scenarios keeps common random numbers and common parameters within each pair, and the
spread over replicates carries both the stochastic and the parameter uncertainty (issue 13,
item 6). The draws are applied after the scenario, ``--set`` values and sweep points.

With ``seeds_per_draw`` M (``--seeds-per-draw``, default 1) each draw gets M seeds: ``K * M``
replicates, replicate ``r`` with seed ``S + r`` and draw ``r // M``. Then the comparison report
(:func:`sim.experiments.effects.variance_components`) splits each effect's variance over
replicates into a within-draw (stochastic, seeds) and a between-draw (parameter) component; with
M = 1 the two cannot be separated. Each run's manifest records ``posterior_draw`` (the values)
and ``posterior_draw_index`` (the row, 0-based); ``batch.json`` records ``seeds_per_draw``.
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError


def read_draws(path: str | Path, k: int) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """The first ``k`` draws of the CSV at ``path`` (rows in file order), and a description
    for ``batch.json`` (file, SHA-256, parameter columns, draws used)."""
    from sim.engine.registry import Params

    path = Path(path)
    if not path.is_file():
        raise BatchError(f"posterior file {path} not found")
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise BatchError(f"posterior file {path} has no draws (a CSV: one row a draw)")
    schema = Params({}).schema
    names = [c for c in rows[0] if c in schema]
    if not names:
        raise BatchError(f"posterior file {path}: no column names a parameter (columns: "
                         f"{', '.join(list(rows[0])[:8])})")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(rows):
        raise BatchError(f"draws must be an integer in [1, {len(rows)}] (the rows of {path}), "
                         f"got {k!r}")
    draws = []
    for i, row in enumerate(rows[:k]):
        try:
            d = {n: float(row[n]) for n in names}
        except (TypeError, ValueError):
            raise BatchError(f"posterior file {path}, draw {i + 1}: a value is not a number"
                             ) from None
        if not all(math.isfinite(v) for v in d.values()):
            raise BatchError(f"posterior file {path}, draw {i + 1}: a value is not finite")
        draws.append(d)
    info = {"file": str(path.absolute()), "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "parameters": names, "draws": k}
    cal = calibration_summary(path)
    if cal is not None:
        info["calibration"] = cal
    return draws, info


def _summary_beside(path: Path, part: str = "") -> dict | None:
    """The ``<tag><part>.json`` summary beside a ``<tag>_posterior.csv`` (``migsim
    calibrate``; ``part`` ``_recovery``: the recovery of a wave posterior at a larger scale)."""
    import json

    suffix = "_posterior.csv"
    if not path.name.endswith(suffix):
        return None
    summary = path.with_name(path.name[: -len(suffix)] + part + ".json")
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def calibration_summary(path: str | Path) -> dict[str, Any] | None:
    """How good the posterior at ``path`` is, from its calibration's summary (None without
    one): model version, persons a run, the likelihood's power (1: untempered), the mean
    coverage of the 90% intervals over the recovered truths (after their refocused waves when
    the calibration ran them, else with observation error; for a wave posterior with a
    ``<tag>_recovery.json`` beside it, that recovery's with the band's error; goal 0.80-0.97),
    the predictive check's share of draws inside every band, and where the default parameters
    stand in the posterior (the mass of the highest-density region they are on the edge of; how
    many are inside their 90% intervals). Recorded in ``batch.json`` and stated by the
    comparison report."""
    data = _summary_beside(Path(path))
    if data is None:
        return None
    out: dict[str, Any] = {"version": data.get("version"), "agents": data.get("agents")}
    post = data.get("posterior")
    out["tau"] = float(post.get("tau", 1.0)) if isinstance(post, dict) else None
    cov = data.get("recovery_coverage90")
    mode = "refocused" if isinstance(cov, dict) and "refocused" in cov else "with_obs_error"
    if isinstance(cov, dict) and isinstance(cov.get(mode), dict):
        vals = [float(v) for v in cov[mode].values()]
        out["recovery_coverage90"] = round(sum(vals) / len(vals), 3) if vals else None
    rec = _summary_beside(Path(path), "_recovery")  # a wave posterior's (scale_recovery)
    if rec is not None and isinstance(rec.get("coverage90"), dict):
        band = rec["coverage90"].get("band_error")
        if isinstance(band, dict) and "all" in band:
            out["recovery_coverage90"] = float(band["all"])
    ppc = data.get("ppc")
    if isinstance(ppc, dict):
        out["ppc_all_in_band_share"] = ppc.get("all_in_band_share")
    dflt = post.get("defaults") if isinstance(post, dict) else None
    if isinstance(dflt, dict):  # calibrations since 0.16.0 (session 37)
        out["defaults_hpd_mass"] = dflt.get("hpd_mass")
        inside = dflt.get("inside_90")
        if isinstance(inside, dict):
            out["defaults_inside_90"] = f"{sum(map(bool, inside.values()))} of {len(inside)}"
    return out


def design_scale(path: str | Path) -> int | None:
    """Persons per run of the calibration that drew the posterior at ``path``: the ``agents``
    of the ``<tag>.json`` summary beside a ``<tag>_posterior.csv`` (``migsim calibrate``), or
    None when there is none. A posterior fits runs of that size: the moments of the model can
    drift with the number of agents (calibration/README.md, "Posterior refit for 0.13.0")."""
    data = _summary_beside(Path(path))
    agents = data.get("agents") if data is not None else None
    return agents if isinstance(agents, int) and not isinstance(agents, bool) else None
