"""Parameter recovery for a wave posterior at the scale users run (issue 13, item 4).

    python calibration/scale_recovery.py --posterior hm_0.22.0_at200k_wave_band_w4_abc \
        --truths 60
    migsim calibrate --scale-agents 200000     # the last scale stage

The exact-ABC posterior of ``scale_waves`` is a prior uniform on the candidates its last
wave's emulators leave non-implausible in the box (the region R), times the emulators' chance
that one run lands in every band. Its recovery asks whether that procedure's 90% intervals
hold the truth 90% of the time where the posterior lies:

1. the last wave's emulators, refitted on the runs its summary lists (the fit is cached, so
   this reads the one the wave made: :func:`last_wave_emulator`), and the posterior's own
   candidates, drawn again with its seed: uniform on R (every committed draw must be one of
   them: ``posterior_redrawn``, :func:`redrawn`);
2. truths: ``--truths`` of those candidates at random, so uniform on R, the prior of step 1;
   each run once at the posterior's scale, seeds 60,000 + truth (``<name>_recovery_runs.csv``,
   reused when present);
3. each truth fitted back as the observation was: the other candidates non-implausible under
   the truth's values, weighted by the chance that a run lands in every band, the bands the
   targets' widths centred on the truth's values. Two observations of each truth:
   ``band_error`` the run plus an error uniform within each band's half-width (the error model
   the uniform-kernel likelihood states, Wilkinson 2013, Stat. Appl. Genet. Mol. Biol. 12, so
   a correct procedure covers 90%; a test checks that on a simulator with an exact emulator)
   and ``run_only`` the run itself (no error: the intervals then over-cover);
4. per truth and parameter, whether the central 90% interval holds the truth and its width as
   a share of the prior range (``<name>_recovery.csv``); the coverage by observation in
   ``<name>_recovery.json``, with the emulators checked on the truths' runs and on the
   posterior's predictive check, which they were not fitted on (:func:`emulator_check`). Every
   file is written atomically.

What it does not do: fit each truth with waves of its own (the design-scale recovery refocuses
each truth with a wave of runs); the last wave's emulators serve every truth, as they served
the posterior. Truths from the whole box (session 61's first design) mostly lie where the
posterior does not (8% inside R) and their fits weigh a few dozen effective candidates:
calibration/README.md, "Recovery at the scale users run".
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECOVERY_SEED = 60_000  # the truths' runs: the checks use 40,000+, the waves 50,000+


def band_fit(pool: np.ndarray, pm: np.ndarray, pv: np.ndarray, obs, half: np.ndarray,
             z: np.ndarray, cutoff: float, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(points, log-weights) of the exact-ABC posterior of the observation ``z`` over the
    candidates ``pool`` (predictions ``pm``, ``pv``): those whose k-th largest implausibility
    against ``z`` is at most ``cutoff``, weighted by the log chance that one run lands within
    ``half`` of ``z`` on every target (a target without a value counts as in band)."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import band_loglik

    known = np.isfinite(z)
    o = obs.replace_z(np.where(known, z, np.nan))
    ok = E.kth_max(E.implausibility(pm, pv, o), kmax) <= cutoff
    lo = np.where(known, z - half, -np.inf)
    hi = np.where(known, z + half, np.inf)
    return pool[ok], band_loglik(pm[ok], pv[ok], o, lo, hi, discrepancy=False)


def recovery_rows(pool: np.ndarray, pm: np.ndarray, pv: np.ndarray, obs, half: np.ndarray,
                  truths: np.ndarray, y: np.ndarray, bounds: dict, params: list[str],
                  cutoff: float, kmax: int, seed: int, own: np.ndarray | None = None
                  ) -> pd.DataFrame:
    """One row per truth and observation (``band_error``, ``run_only``; :func:`band_fit`):
    the candidates kept, the effective sample of the weights and, per parameter, the truth
    inside the central 90% interval and the interval's width (``truths`` in parameter units,
    ``y`` their runs' target values; ``own``: each truth's row in ``pool``, left out of its
    fit)."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import ess

    rng = np.random.default_rng(seed)
    rows = []
    for i, (truth, yi) in enumerate(zip(truths, y, strict=True)):
        err = rng.uniform(-half, half)
        keep = np.ones(len(pool), bool)
        if own is not None:
            keep[own[i]] = False
        for label, z in (("band_error", yi + err), ("run_only", yi)):
            x, ll = band_fit(pool[keep], pm[keep], pv[keep], obs, half, z, cutoff, kmax)
            row: dict[str, Any] = {"truth": i, "observed": label, "candidates": len(x)}
            if len(x) < 2:  # nothing to weigh: the truth is not recovered
                rows.append({**row, "ess": 0.0,
                             **{f"{p}_in90": False for p in params},
                             **{f"{p}_width": np.nan for p in params}})
                continue
            rows.append({**row, "ess": ess(ll),
                         **E.recovery_columns(x, ll, truth, bounds, params)})
    return pd.DataFrame(rows)


def coverage(rows: pd.DataFrame, params: list[str]) -> dict[str, dict[str, float]]:
    """Per observation: each parameter's share of truths inside the 90% interval, and
    ``all`` the mean over parameters."""
    cols = [f"{p}_in90" for p in params]
    out = {}
    for label, g in rows.groupby("observed", sort=False):
        by = g[cols].mean()
        out[str(label)] = {**{p: round(float(by[f"{p}_in90"]), 3) for p in params},
                           "all": round(float(by.mean()), 3)}
    return out


def redrawn(committed: np.ndarray, pool: np.ndarray, tol: float = 1e-3) -> dict[str, float]:
    """Whether the candidates drawn again (``pool``) are the posterior's: the share of the
    committed draws (both in [0, 1]^d) with a candidate within ``tol`` in every parameter, and
    the largest such distance. The summary rounds its box to four decimals, so the candidates
    drawn again sit up to about 1e-4 from the posterior's; the weights move with them, so a
    resample picks other candidates and only the candidates themselves can be compared."""
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(pool).query(committed, p=np.inf)
    return {"draws_among_candidates": round(float(np.mean(dist <= tol)), 4),
            "largest_distance": float(f"{dist.max():.3g}")}


def emulator_check(em, u: np.ndarray, y: np.ndarray, obs, lo: np.ndarray | None = None,
                   hi: np.ndarray | None = None) -> dict[str, Any]:
    """The emulators against runs they were not fitted on (points ``u`` in [0, 1]^d, values
    ``y``): per target and over all, the share of runs within 2 sd of the prediction (the sd
    of the emulator and the replicate noise; 0.95 if both are right) and the mean squared
    standardised error (1 if both are right; above 1, the emulators are too sure). With the
    bands ``lo``, ``hi``: per target and for every band at once, the chance of a run in band
    the emulators predict (:func:`sim.experiments.inference.band_probabilities`, averaged over
    the runs' points) beside the share of the runs in band."""
    from sim.experiments.inference import band_probabilities

    m, v = em.predict(u)
    z = (y - m) / np.sqrt(v + obs.var_noise)
    ok = np.isfinite(z)
    within = np.where(ok, np.abs(z) <= 2.0, np.nan)
    per = {n: {"within_2sd": round(float(np.nanmean(within[:, j])), 3),
               "mean_squared_z": round(float(np.nanmean(z[ok[:, j], j] ** 2)), 3)}
           for j, n in enumerate(obs.names) if ok[:, j].any()}
    out: dict[str, Any] = {"runs": int(len(u)),
                           "within_2sd": round(float(np.nanmean(within)), 3),
                           "mean_squared_z": round(float(np.nanmean(np.where(ok, z * z, np.nan))),
                                                   3)}
    if lo is not None and hi is not None:
        p, joint = band_probabilities(m, v, obs.var_noise, lo, hi)
        inb = (y >= lo) & (y <= hi)
        for j, n in enumerate(obs.names):
            if n in per:
                per[n]["in_band_predicted"] = round(float(p[:, j].mean()), 3)
                per[n]["in_band_found"] = round(float(inb[:, j].mean()), 3)
        out["all_in_band_predicted"] = round(float(joint.mean()), 3)
        out["all_in_band_found"] = round(float(inb.all(axis=1).mean()), 3)
    return {**out, "per_target": per}


def inflation(em, u: np.ndarray, y: np.ndarray, obs) -> np.ndarray:
    """Per target, the factor k >= 1 on the emulators' variance that makes the mean squared
    standardised error of runs they were not fitted on (points ``u``, values ``y``) equal to
    1: ``mean((y - m)^2 / (k v + noise)) = 1`` (1 where the error is already no larger, or
    where the emulators claim no variance to widen)."""
    from scipy.optimize import brentq

    m, v = em.predict(u)
    k = np.ones(m.shape[1])
    for j in range(m.shape[1]):
        ok = np.isfinite(y[:, j]) & np.isfinite(m[:, j])
        e2, vj, nj = (y[ok, j] - m[ok, j]) ** 2, v[ok, j], obs.var_noise[j]
        if not ok.any() or vj.max() <= 0.0 or np.mean(e2 / (vj + nj)) <= 1.0:
            continue
        f = lambda kk, e2=e2, vj=vj, nj=nj: np.mean(e2 / (kk * vj + nj)) - 1.0  # noqa: E731
        hi = 2.0
        while f(hi) > 0.0 and hi < 1e8:
            hi *= 2.0
        k[j] = brentq(f, 1.0, hi) if f(hi) <= 0.0 else hi
    return k


def last_wave_emulator(results: Path, summ: dict[str, Any], c: dict[str, Any]):
    """(the emulators of the wave posterior ``summ``'s last wave, its box in [0, 1]^d): fitted
    on the runs the wave fitted (every committed run inside the box, the earlier checks and
    waves, then its own), through the fit cache, so a machine that made the wave reads its
    fit. Refused if the runs found are not as many as the summary lists."""
    from sim.experiments import emulator as E
    from sim.experiments.scale_waves import runs_inside

    params, bounds, names = c["params"], c["bounds"], c["names"]
    agents, tag = int(summ["agents"]), summ["base_tag"]
    new = f"{tag}_at{agents // 1000}k_wave" + (
        "_band" if summ["settings"]["likelihood"] == "band" else "")
    box = tuple(E.to_unit(np.array(summ["box"], float), bounds))
    waves = pd.read_csv(results / f"{new}_design.csv")
    last = summ["waves"][-1]
    w = int(last["wave"])
    old, u_old = runs_inside(results, tag, agents, params, names,
                             tuple(summ["settings"].get("earlier_checks", ())), bounds, box,
                             waves, w, new)
    this = waves[waves["wave"] == w]
    u = np.vstack([u_old, E.to_unit(this[params].to_numpy(float), bounds)])
    y = np.vstack([old[names].to_numpy(float), this[names].to_numpy(float)])
    if len(u) != last["runs"]:
        raise ValueError(f"{summ['name']}: {len(u)} runs inside the box, the summary's last "
                         f"wave fitted {last['runs']}")
    cache = Path(tempfile.gettempdir()) / "migsim_emulators"
    return E.fit_cached(u, y, cache, 0, c["settings"].seed), box


def wave_posterior(results: Path, name: str) -> dict[str, Any]:
    """An exact-ABC wave posterior read back: its ``summary``, its ``calibration``
    (:func:`sim.experiments.committed.committed_calibration`), ``agents``, the observation at
    that scale ``obs``, the bands ``lo`` and ``hi``, the last wave's emulators ``em`` and box
    (:func:`last_wave_emulator`), and its candidates ``pool`` drawn again with its seed
    (``scale_waves.scale_wave``'s) with their predictions ``pm``, ``pv``."""
    from sim.experiments import emulator as E
    from sim.experiments.committed import committed_calibration
    from sim.experiments.scale_correction import scaled_observation

    path = results / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no wave posterior of that name")
    summ = json.loads(path.read_text())
    if summ["settings"].get("final") != "abc":
        raise ValueError(f"{name}: not an exact-ABC posterior (final "
                         f"{summ['settings'].get('final')!r}); its recovery is not this one")
    c = committed_calibration(results, summ["base_tag"])
    s, agents = c["settings"], int(summ["agents"])
    obs = scaled_observation(c["obs"], s.agents, agents)
    em, box = last_wave_emulator(results, summ, c)
    pool, _ = E.sample_region([em], obs, len(c["params"]), int(summ["posterior"]["candidates"]),
                              s.cutoff, s.kmax, s.seed + 11, box=box)
    pm, pv = em.predict(pool)
    return {"summary": summ, "calibration": c, "agents": agents, "obs": obs,
            "lo": np.array([t.lo for t in c["targets"]]),
            "hi": np.array([t.hi for t in c["targets"]]), "em": em, "box": box,
            "pool": pool, "pm": pm, "pv": pv}


def scale_recovery(name: str, truths: int, workers: int, out: Path,
                   results: Path | None = None, log=print) -> dict[str, Any]:
    """Every step of the module docstring for the wave posterior ``name`` (its summary
    ``<name>.json`` in ``results``, default ``out``); the files go to ``out``; the summary."""
    from sim.core.version import __version__
    from sim.experiments import emulator as E
    from sim.experiments.history_match import Runner, cached, frame

    t0 = time.time()
    results = out if results is None else results
    w = wave_posterior(results, name)
    summ, c, obs, em, pool, pm, pv = (w[k] for k in ("summary", "calibration", "obs", "em",
                                                      "pool", "pm", "pv"))
    s, params, bounds, names = c["settings"], c["params"], c["bounds"], c["names"]
    agents, lo_b, hi_b = w["agents"], w["lo"], w["hi"]
    same = redrawn(E.to_unit(pd.read_csv(results / f"{name}_posterior.csv")[params]
                             .to_numpy(float), bounds), pool)
    own = np.random.default_rng(s.seed + 61).choice(len(pool), truths, replace=False)
    x_t = E.from_unit(pool[own], bounds)
    run = Runner(c["targets"], workers)

    def make() -> pd.DataFrame:
        seeds = [RECOVERY_SEED + i for i in range(truths)]
        y = run([dict(zip(params, map(float, r), strict=True)) for r in x_t], seeds, agents)
        return frame(params, x_t, names, y, seed=seeds, candidate=own,
                     truth=np.arange(truths))

    try:
        rec = cached(out / f"{name}_recovery_runs.csv", make)
    finally:
        run.close()
    if len(rec) != truths or list(rec["candidate"]) != own.tolist():
        raise ValueError(f"{out / f'{name}_recovery_runs.csv'}: not the {truths} truths this "
                         "posterior's candidates give (remove it to run them)")
    log(f"recovery of {name}: {truths} truths at {agents:,} persons ({run.runs} runs this "
        f"call, {run.seconds:.0f} s); the posterior's candidates drawn again: "
        + f"{same['draws_among_candidates']:.0%} of its draws among them (within "
        f"{same['largest_distance']:.1g} of the prior's range)")
    rows = recovery_rows(pool, pm, pv, obs, (hi_b - lo_b) / 2.0, rec[params].to_numpy(float),
                         rec[names].to_numpy(float), bounds, params, s.cutoff, s.kmax,
                         s.seed + 63, own=own)
    E.write_csv(rows, out / f"{name}_recovery.csv")
    check = emulator_check(em, E.to_unit(rec[params].to_numpy(float), bounds),
                           rec[names].to_numpy(float), obs)
    ppc_path = results / f"{name}_ppc{agents // 1000}k.csv"  # the posterior's own check
    if ppc_path.exists():
        ppc = pd.read_csv(ppc_path)
        check_ppc = emulator_check(em, E.to_unit(ppc[params].to_numpy(float), bounds),
                                   ppc[names].to_numpy(float), obs, lo_b, hi_b)
    rows = pd.read_csv(out / f"{name}_recovery.csv")
    widths = rows.groupby("observed", sort=False)[[f"{p}_width" for p in params]].mean()
    summary = {
        "version": __version__, "posterior": name, "base_tag": summ["base_tag"],
        "agents": agents, "truths": truths, "seed": RECOVERY_SEED, "candidates": len(pool),
        "posterior_redrawn": same,
        "coverage90": coverage(rows, params),
        "width_share_of_range": {str(k): {p: round(float(v[f"{p}_width"]), 3) for p in params}
                                 for k, v in widths.iterrows()},
        "median_ess": {str(k): round(float(v), 1) for k, v
                       in rows.groupby("observed", sort=False)["ess"].median().items()},
        "goal": [0.80, 0.97],
        "emulator_check": check,
        **({"emulator_check_ppc": check_ppc} if ppc_path.exists() else {}),
        "runs_this_call": run.runs, "wall_seconds_this_call": round(time.time() - t0, 1)}
    E.write_call_summary(summary, out / f"{name}_recovery.json")
    log(f"recovery coverage of 90% intervals over {truths} truths: "
        + ", ".join(f"{k} {v['all']:.2f}" for k, v in summary["coverage90"].items())
        + f" (median effective sample {summary['median_ess']}); the emulators on the truths' "
        f"runs: {check['within_2sd']:.0%} within 2 sd, mean squared error "
        f"{check['mean_squared_z']:.2f} sd^2 (1 if right)")
    return summary


__all__ = ["RECOVERY_SEED", "band_fit", "coverage", "emulator_check", "inflation",
           "last_wave_emulator", "recovery_rows", "redrawn", "scale_recovery", "wave_posterior"]
