"""The recovery's refocused wave: each synthetic truth gets one wave of its own (issue 13, item 4).

The posterior comes from the last wave's emulators, fitted where the earlier waves left the
observation non-implausible; a truth fitted back with the wave-1 emulator alone (fitted over the
whole prior) gets intervals that are too narrow where that emulator is wrong, and covers about
0.76 (calibration/README.md, "Why the recovery under-covers"). So, as the pipeline does for the
observation, each truth's own run (its ``run_only`` observation) gets one more wave:
``Settings.refocus`` points chosen far apart (maximin) in the region the wave-1 emulator leaves
non-implausible for it, simulated at the calibration's persons (seeds 70,000 + 1,000 x truth),
an emulator fitted on them and on the wave-1 runs still non-implausible, its likelihood power
from its own leave-one-out residuals, and the truth fitted back with it
(:func:`sim.experiments.inference.fit_back`, candidates from the wave-1 region).

The runs are cached in ``<tag>_recovery_refocus_runs.csv`` (written after each truth, so a
stopped call resumes). A truth whose region holds fewer than ``refocus`` points of the prior
cannot be refocused; its row keeps the wave-1 fit (``refocused`` False) so that the coverage is
over every truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

RUN_SEED = 70_000  # first seed of the refocused runs; truth i uses RUN_SEED + 1000 i + point


def refocused_rows(s, out: Path, tag: str, params: list[str], bounds: dict, names: list[str],
                   obs, em1, rec: pd.DataFrame, wave1: list[dict], simulate: Callable,
                   cache: Path, log: Callable[[str], None]) -> list[dict]:
    """One ``observed = "refocused"`` row per truth of ``rec`` (the truths' runs): the truth
    inside the 90% interval of each parameter, the interval's width as a share of the range,
    and the wave's size. ``wave1`` holds the pipeline's ``run_only`` rows (the fit kept for a
    truth that cannot be refocused)."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import ess, fit_back, temper

    d, n = len(params), s.refocus
    design = pd.read_csv(out / f"{tag}_design.csv")
    w1 = design[design["wave"] == 1]
    u1, y1 = E.to_unit(w1[params].to_numpy(), bounds), w1[names].to_numpy(float)
    path = out / f"{tag}_recovery_refocus_runs.csv"
    runs = pd.read_csv(path) if path.exists() else pd.DataFrame()
    rows: list[dict] = []
    started = time.time()
    for i, (_, r) in enumerate(rec.iterrows()):
        truth_id, truth = int(r["truth"]), r[params].to_numpy(float)
        y = r[names].to_numpy(float)
        o = obs.replace_z(np.where(np.isfinite(y), y, np.nan))
        region, share = E.sample_region([em1], o, d, 20 * n + s.pool // 10, s.cutoff, s.kmax,
                                        s.seed + 5000 + i)
        if len(region) < n:
            log(f"recovery, truth {truth_id}: {len(region)} non-implausible points under the "
                "wave-1 emulator, too few to refocus; its wave-1 fit is kept")
            rows.append({**wave1[i], "observed": "refocused", "refocused": False,
                         "region_share": share, "refocus_runs": 0})
            continue
        mine = runs[runs["truth"] == truth_id] if len(runs) else runs
        if mine.empty:  # simulate this truth's wave, append it, read it back (rounded values)
            x = E.from_unit(E.maximin_subset(region[: 20 * n], n, s.seed + 6000 + i), bounds)
            seed0 = RUN_SEED + 1000 * i
            ids = pd.DataFrame({"truth": truth_id, "seed": seed0 + s.seeds * np.arange(n),
                                "point": np.arange(n)})
            new = pd.concat([ids, pd.DataFrame(x, columns=params),
                             pd.DataFrame(simulate(x, seed0), columns=names)], axis=1)
            E.write_csv(pd.concat([runs, new]), path)
            runs = pd.read_csv(path)
            mine = runs[runs["truth"] == truth_id]
        u = E.to_unit(mine[params].to_numpy(), bounds)
        ok = E.nonimplausible(em1, u1, o, s.cutoff, s.kmax)
        uk, yk = np.vstack([u1[ok], u]), np.vstack([y1[ok], mine[names].to_numpy(float)])
        em = E.fit_cached(uk, yk, cache, seed=s.seed)
        em.validate(o)
        tau = temper(em, yk) if s.temper == "loo" else 1.0
        pool = region[20 * n:] if len(region) >= 20 * n + 1000 else region
        pm, pv = em.predict(pool)
        x, lw = fit_back(em, o, pool, pm, pv, s.cutoff, s.kmax, tau, s.candidates, s.rounds,
                         np.random.default_rng(s.seed + 7000 + 10 * i + 2))
        rows.append({"truth": truth_id, "observed": "refocused", "refocused": True,
                     "region_share": share, "refocus_runs": len(mine),
                     "emulator_runs": len(uk), "tau": tau,
                     "nonimplausible": int(len(pool)), "candidates": len(x), "ess": ess(lw),
                     **E.recovery_columns(x, lw, truth, bounds, params)})
        done = pd.DataFrame(rows)
        cov = done[[f"{p}_in90" for p in params]].to_numpy().mean()
        log(f"recovery, truth {truth_id} refocused: region {share:.3g} of the prior, tau "
            f"{tau:.3f}, coverage so far {cov:.3f} ({time.time() - started:.0f} s)")
    return rows


__all__ = ["RUN_SEED", "refocused_rows"]
