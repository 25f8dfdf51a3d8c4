"""Where the default parameters come from, recorded in every run's manifest (issue 13, item 6).

The behavioural defaults are the point of recorded searches (``calibration/search.py``), not a
posterior's point estimate. What a reader needs beside them is how they stand in the posterior
that describes them (fitted to ``CALIBRATED_VERSION``, which later versions keep while they move
nothing up to the last fitted year): ``migsim calibrate`` writes that in the calibration's
``<tag>.json`` (``posterior.defaults``: non-implausible under each wave, density rank, the mass of
the highest-density region they are on the edge of, which parameters are inside their 90%
intervals). The committed summaries ship as the data package ``sim.calibration.results``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sim.core.version import CALIBRATED_VERSION, __version__
from sim.io.files import package_dir

DEFAULTS_ORIGIN = (
    "behaviour parameters: the point of the recorded searches of calibration/search.py "
    "(Optuna TPE against the asserted targets; logs calibration/results/search_*.jsonl, the "
    "last search_0.18.0_age_horizon_defaults.jsonl, trial 51, which set the age horizon and six "
    "other behaviour defaults in 0.19); the others: the "
    "sources each parameter cites. Not a posterior's point estimate (calibration/README.md, "
    "'Where the defaults stand in the posterior')"
)


def committed_summary(version: str = CALIBRATED_VERSION) -> tuple[str, dict[str, Any]] | None:
    """The committed calibration summary fitted to ``version`` (``calibration/results/
    hm_<version>.json``, the default budget's; by default the version whose posterior describes
    the current defaults) as ``(tag, data)``, or None if there is none."""
    tag = f"hm_{version}"
    path = package_dir("sim.calibration", "calibration") / "results" / f"{tag}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (tag, data) if isinstance(data, dict) else None


def defaults_provenance(changed: Iterable[str] = (), calibrated: str = CALIBRATED_VERSION
                        ) -> dict[str, Any]:
    """Where the defaults of this version come from and how they stand in the committed
    posterior of ``calibrated`` (the version whose calibration describes them); ``changed``:
    the parameters a run set away from the defaults (those of the posterior among them are
    named, since the standing is the defaults', not the run's)."""
    out: dict[str, Any] = {"version": __version__, "calibrated_version": calibrated,
                           "origin": DEFAULTS_ORIGIN, "posterior_point_estimate": False,
                           "posterior": None}
    found = committed_summary(calibrated)
    post = found[1].get("posterior") if found is not None else None
    stand = post.get("defaults") if isinstance(post, dict) else None
    if found is None or not isinstance(stand, dict):
        out["note"] = f"no committed posterior of version {calibrated} places the defaults"
        return out
    tag, data = found
    inside = stand.get("inside_90") or {}
    waves = stand.get("nonimplausible") or []
    out["posterior"] = {
        "file": f"calibration/results/{tag}_posterior.csv",
        "agents": data.get("agents"),
        "parameters": list(inside),
        "nonimplausible_waves": f"{sum(map(bool, waves))} of {len(waves)}",
        "inside_90": f"{sum(map(bool, inside.values()))} of {len(inside)}",
        "density_rank": stand.get("density_rank"),
        "hpd_mass": stand.get("hpd_mass"),
    }
    moved = sorted(set(changed) & set(inside))
    if moved:
        out["changed_posterior_parameters"] = moved
    return out


__all__ = ["DEFAULTS_ORIGIN", "committed_summary", "defaults_provenance"]
