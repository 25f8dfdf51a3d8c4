"""A committed calibration read back (``calibration/results/<tag>.*``) for the scripts of
``calibration/`` that re-examine it without running the model: its summary, settings, the
parameters and their prior bounds, the fitted targets, the replicate noise and the observation,
built as ``history_match`` built them. A leaf module: nothing in the package imports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def committed_calibration(results: str | Path, tag: str) -> dict[str, Any]:
    """``summary``, ``settings`` (``history_match.Settings``), ``params``, ``bounds``,
    ``targets``, ``names``, ``noise_sd`` and ``obs`` of the calibration ``tag`` in ``results``."""
    import pandas as pd

    from sim.experiments import emulator as E
    from sim.experiments import history_match as H
    from sim.experiments.sensitivity import scalar_parameters

    results = Path(results)
    summary = json.loads((results / f"{tag}.json").read_text())
    s = H.Settings.from_summary(summary)
    declared = scalar_parameters()
    targets = H.fit_targets()
    names = [t.name for t in targets]
    noise_sd = pd.read_csv(results / f"{tag}_noise.csv")[names].std(ddof=1).to_numpy()
    return {"summary": summary, "settings": s, "params": list(s.params),
            "bounds": {p: declared[p] for p in s.params}, "targets": targets, "names": names,
            "noise_sd": noise_sd,
            "obs": E.observations(targets, noise_sd, s.band_sds, s.md_fraction)}


def committed_emulators(results: str | Path, tag: str, cache: str | Path | None = None
                        ) -> dict[str, Any]:
    """:func:`committed_calibration` plus ``emulators`` (one per wave), ``taus`` (each wave's
    power of the likelihood) and ``box`` (the last wave's candidate box in [0, 1]^d): the
    waves' emulators refitted from the committed design runs exactly as the calibration fitted
    them (the fits are cached in ``cache``, default the temporary directory's
    ``migsim_emulators``); nothing is run."""
    import tempfile

    from sim.experiments import history_match as H

    c = committed_calibration(results, tag)
    cache = Path(cache) if cache else Path(tempfile.gettempdir()) / "migsim_emulators"
    emulators, taus, box = H._waves(c["settings"], Path(results), tag, cache, c["params"],
                                    c["bounds"], c["names"], c["obs"], c["noise_sd"], None,
                                    None, {}, lambda m: None)
    return {**c, "emulators": emulators, "taus": taus, "box": box}


__all__ = ["committed_calibration", "committed_emulators"]
