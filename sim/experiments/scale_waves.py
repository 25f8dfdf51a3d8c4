"""Waves of history matching at the scale users run, on runs of 200,000 persons (issue 13).

    python calibration/scale_wave.py --tag hm_0.22.0 --design 150 --waves 3 --ppc 120 \
        --final abc --candidates 100000
    migsim calibrate --scale-agents 200000     # after the calibration, in one command

The corrected emulators of ``scale_posterior.py`` are the design-scale emulators of the last
wave plus a linear discrepancy. Near the edge of the last wave's region, where the larger
runs' good region reaches, they extrapolate: at the defaults they predict 0.37 of wages over
RMB 800 and 0.76 men in the early 1990s, where runs of 200,000 persons give 0.30 and 0.63. This
module runs waves of history matching at the larger scale instead, in the region those
emulators left (calibration/README.md, "Waves at the scale users run"):

1. the first box: the one ``scale_posterior.py`` draws its candidates in (the last wave's box
   and the pairs' points, the defaults among them);
2. each wave: every committed run of ``--agents`` persons of this calibration inside the box
   (the predictive checks, the pairs' larger runs, the waves at 200,000 persons and the
   recovery truths where they fall inside, the earlier waves and the predictive
   checks of the posteriors from fewer waves, :func:`earlier_checks`), emulators fitted
   on them, and ``--design`` new points, a maximin set of the candidates in the box that these
   emulators leave non-implausible, run at ``--agents`` persons (seeds 50,000 + 1,000 (wave -
   1) + point): ``<tag>_at<k>k_wave[_band]_design.csv`` (reused when present);
3. the wave's emulators on those runs and its own (leave-one-out checked; the likelihood's
   power from their effective number of targets, :func:`sim.experiments.inference.temper`),
   and the posterior: candidates uniform in the box and non-implausible under them, weighted
   by the band likelihood (``--likelihood band``, the chance of landing in every band) or the
   Normal's, to that power. Where more than 5% of the draws lie at an inner face of the box,
   the next wave's box is wider on that side by half its width (:func:`grow`): the
   design-scale waves that drew the box were wrong near it;
4. after the last wave (n of them), its posterior,
   ``<tag>_at<k>k_wave[_band]_w<n>[_<final>]_posterior.csv``, with the
   emulators' prediction of the share of draws inside every band, the best point's chance
   (the ceiling) and the share the untempered band likelihood would give;
5. with ``--ppc N``, the first N draws run at ``--agents`` persons, seeds 40,000 + draw (the
   other checks' seeds): per target the draws in band, and the draws in every band at once.

The summary ``<tag>_at<k>k_wave[_band]_w<n>[_<final>].json`` (``agents`` the larger scale,
for ``migsim batch --posterior``) is written last; every file atomically. Earlier waves'
emulators do not rule candidates out inside the box: the design-scale ones extrapolate
there, and each wave here refits on every run inside.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

WAVE_SEED = 50_000  # the predictive checks: scale_posterior.PPC_SEED
GOAL = 0.65  # issue 13: share of posterior draws inside every band at once


def committed_runs(results: Path, tag: str, agents: int, params: list[str],
                   names: list[str], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every committed run of ``agents`` persons of the calibration ``tag``, and those of
    the files ``extra``: parameters, targets and the file each came from (``source``)."""
    k = f"{agents // 1000}k"
    files = [f"{tag}_{k}_design.csv", f"{tag}_{k}_ppc.csv", f"{tag}_{k}_recovery_runs.csv",
             f"{tag}_ppc{k}.csv", f"{tag}_at{k}_ppc{k}.csv", f"{tag}_at{k}_band_ppc{k}.csv",
             f"{tag}_at{k}_pairs.csv", *extra]
    parts = []
    for f in files:
        p = results / f
        if not p.exists():
            continue
        df = pd.read_csv(p)
        if "agents" in df.columns:
            df = df[df["agents"] == agents]
        if not set(params + names) <= set(df.columns):
            raise ValueError(f"{p}: not the calibration's parameters and targets")
        parts.append(df[params + names].assign(source=f))
    if not parts:
        raise FileNotFoundError(f"no committed run of {agents:,} persons for {tag} in {results}")
    return pd.concat(parts, ignore_index=True)


def earlier_checks(results: Path, new: str, k: str, n_waves: int) -> tuple[str, ...]:
    """The predictive checks of the wave posteriors from fewer than ``n_waves`` waves
    (``<new>_w<m>[_<final>]_ppc<k>.csv``, m < n_waves): runs at known parameters where the
    earlier posterior lies, so a call with more waves fits its emulators on them too, and a
    call never on its own check."""
    pat = re.compile(rf"{re.escape(new)}_w(\d+)(_[a-z]+)?_ppc{k}\.csv")
    found = (pat.fullmatch(p.name) for p in results.glob(f"{new}_w*_ppc{k}.csv"))
    return tuple(sorted(m.group(0) for m in found if m and int(m.group(1)) < n_waves))


def runs_inside(results: Path, tag: str, agents: int, params: list[str], names: list[str],
                earlier: tuple[str, ...], bounds: dict, box: tuple[np.ndarray, np.ndarray],
                waves: pd.DataFrame, w: int, new: str) -> tuple[pd.DataFrame, np.ndarray]:
    """(runs, their points in [0, 1]^d) that wave ``w``'s emulators fit besides the wave's own:
    the committed runs (:func:`committed_runs` with the checks ``earlier``) and the earlier
    waves' runs (``source`` ``new``), those inside ``box``, in that order (the order the
    cached fit is keyed by)."""
    from sim.experiments import emulator as E

    old = committed_runs(results, tag, agents, params, names, earlier)
    u_old = E.to_unit(old[params].to_numpy(float), bounds)
    old, u_old = old[inside(u_old, box)], u_old[inside(u_old, box)]
    before = waves[waves["wave"] < w] if len(waves) else waves
    if len(before):  # the earlier waves' runs inside the (grown) box
        u_w = E.to_unit(before[params].to_numpy(float), bounds)
        u_old = np.vstack([u_old, u_w[inside(u_w, box)]])
        old = pd.concat([old, before[inside(u_w, box)].assign(source=new)])
    return old, u_old


def inside(u: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Rows of u (in [0, 1]^d) inside the box."""
    return np.all((u >= box[0]) & (u <= box[1]), axis=1)


def at_faces(u: np.ndarray, box: tuple[np.ndarray, np.ndarray], within: float = 0.02
             ) -> tuple[np.ndarray, np.ndarray]:
    """(points, d) booleans for the low and the high side: a point within ``within`` (in
    [0, 1] units) of an inner face of the box (a face that is not the prior's bound)."""
    lo, hi = box
    return (u - lo < within) & (lo > 0), (hi - u < within) & (hi < 1)


def grow(box: tuple[np.ndarray, np.ndarray], faces: tuple[np.ndarray, np.ndarray],
         share: float = 0.05, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The box widened by ``step`` of its width on each side where more than ``share`` of
    the draws lie at that inner face (:func:`at_faces`), clipped to the prior's cube; the
    other sides unchanged."""
    lo, hi = (np.array(b, float) for b in box)
    width = hi - lo
    low, high = (f.mean(axis=0) > share for f in faces)
    return np.clip(lo - step * width * low, 0.0, 1.0), np.clip(hi + step * width * high, 0.0,
                                                              1.0)


def likelihood_of(kind: str, lo: np.ndarray, hi: np.ndarray):
    """(log-likelihood f(mean, var_em, obs), tempered): ``gauss`` the calibration's Normal
    around the band centres; ``band`` the log chance of landing in every band with the model
    discrepancy's variance added (:func:`sim.experiments.inference.band_loglik`); both
    tempered like the calibration. ``abc`` the log chance that one run lands in every band,
    the emulators' variance and the replicate noise only, untempered: the posterior of the
    parameters given that a run at them lands inside every band, the exact uniform-kernel ABC
    posterior whose kernel (the band) is itself the error model (Wilkinson 2013, Stat. Appl.
    Genet. Mol. Biol. 12), so no discrepancy or tempering is added on top."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import band_loglik

    if kind == "gauss":
        return E.log_likelihood, True
    if kind in ("band", "abc"):
        md = kind == "band"
        return (lambda m, v, o: band_loglik(m, v, o, lo, hi, discrepancy=md)), md
    raise ValueError(f"likelihood {kind!r}: one of gauss, band, abc")


def scale_wave(tag: str, design: int, agents: int, ppc: int, workers: int, out: Path,
               results: Path | None = None, log=print, likelihood: str = "band",
               n_waves: int = 1, final: str | None = None, candidates: int | None = None
               ) -> dict[str, Any]:
    """Every step of the module docstring for the calibration ``tag`` in ``results``
    (default ``out``); the files go to ``out``; the summary."""
    from sim.core.version import __version__
    from sim.experiments import emulator as E
    from sim.experiments.committed import committed_emulators
    from sim.experiments.history_match import Runner, _standings, frame
    from sim.experiments.inference import (
        band_probabilities,
        effective_targets,
        ppc_summary,
        temper,
    )
    from sim.experiments.scale_correction import scaled_observation

    t0 = time.time()
    results = out if results is None else results
    cache = Path(tempfile.gettempdir()) / "migsim_emulators"
    c = committed_emulators(results, tag)
    s, params, bounds, names, targets = (c["settings"], c["params"], c["bounds"], c["names"],
                                         c["targets"])
    k = f"{agents // 1000}k"
    new = f"{tag}_at{k}_wave" + ("_band" if likelihood == "band" else "")
    d = len(params)
    obs = scaled_observation(c["obs"], s.agents, agents)
    lo_b = np.array([t.lo for t in targets])
    hi_b = np.array([t.hi for t in targets])
    pairs = pd.read_csv(results / f"{tag}_at{k}_pairs.csv")
    u_pairs = E.to_unit(pairs[params].drop_duplicates().to_numpy(float), bounds)
    box = E.bounding_box(np.vstack([*c["box"], u_pairs]))  # scale_posterior.py's box
    summary: dict[str, Any] = {
        "version": __version__, "base_tag": tag, "base_version": c["summary"].get("version"),
        "agents": agents, "design_agents": s.agents, "params": bounds, "targets": names,
        "box": E.from_unit(np.array(box), bounds).round(4).tolist(),
        "settings": {"params": params, "cutoff": s.cutoff, "kmax": s.kmax,
                     "candidates": s.candidates, "draws": s.draws, "seed": s.seed,
                     "band_sds": s.band_sds, "design": design, "waves": n_waves,
                     "likelihood": likelihood}}
    final = final or likelihood
    name = f"{new}_w{n_waves}" + ("" if final == likelihood else f"_{final}")  # its files
    earlier = earlier_checks(results, new, k, n_waves)
    summary["settings"]["earlier_checks"] = list(earlier)
    loglik, _ = likelihood_of(likelihood, lo_b, hi_b)
    summary["settings"]["final"] = final
    summary["name"] = name
    run = Runner(targets, workers)
    design_path = out / f"{new}_design.csv"
    waves = pd.read_csv(design_path) if design_path.exists() else pd.DataFrame()
    summary["waves"] = []
    try:
        for w in range(1, n_waves + 1):
            old, u_old = runs_inside(results, tag, agents, params, names, earlier, bounds,
                                     box, waves, w, new)
            if waves.empty or w not in set(waves["wave"]):
                em0 = E.fit_cached(u_old, old[names].to_numpy(float), cache, 0, s.seed)
                cand, frac = E.sample_region([em0], obs, d, 20 * design, s.cutoff, s.kmax,
                                             s.seed + 40 + w, box=box)
                if len(cand) < design:
                    raise RuntimeError(f"wave {w}: only {len(cand)} non-implausible candidates")
                x_new = E.from_unit(E.maximin_subset(cand, design, s.seed + 41 + w), bounds)
                seeds = [WAVE_SEED + 1000 * (w - 1) + i for i in range(len(x_new))]
                y = run([dict(zip(params, map(float, r), strict=True)) for r in x_new], seeds,
                        agents)
                waves = pd.concat([waves, frame(params, x_new, names, y, wave=w, seed=seeds)])
                E.write_csv(waves, design_path)
                waves = pd.read_csv(design_path)  # the rounded values a resumed call reads
                log(f"wave {w}: {design} runs ({run.seconds:.0f} s this call)")
            this = waves[waves["wave"] == w]
            u_all = np.vstack([u_old, E.to_unit(this[params].to_numpy(float), bounds)])
            y_all = np.vstack([old[names].to_numpy(float), this[names].to_numpy(float)])
            em = E.fit_cached(u_all, y_all, cache, 0, s.seed)
            loo = em.validate(obs)
            tau = temper(em, y_all)
            cand, frac = E.sample_region([em], obs, d, s.candidates, s.cutoff, s.kmax,
                                         s.seed + 11, box=box)
            if not len(cand):
                raise RuntimeError(f"wave {w}: no candidate in the box is non-implausible")
            ll = tau * loglik(*em.predict(cand), obs)
            draws, ess = E.importance_draws(cand, ll, s.draws, s.seed + 12)
            faces = at_faces(draws, box)
            summary["waves"].append({
                "wave": w, "box": E.from_unit(np.array(box), bounds).round(4).tolist(),
                "runs": len(y_all), "sources": old["source"].value_counts().to_dict(),
                "tau": round(tau, 4), "effective_targets": round(effective_targets(em, y_all), 2),
                "region_share_of_prior": frac, "ess": ess,
                "draws_at_inner_box_faces": dict(zip(params, (faces[0] | faces[1]).mean(0)
                                                     .round(3).tolist(), strict=True)),
                "loo_within_3sd": dict(zip(names, loo["within_3sd"].round(3), strict=True))})
            log(f"wave {w}: emulators on {len(y_all)} runs, tau {tau:.3f}, ESS {ess:.0f}; "
                f"draws at inner faces {summary['waves'][-1]['draws_at_inner_box_faces']}")
            if w < n_waves:
                box = grow(box, faces)
        summary["box"] = E.from_unit(np.array(box), bounds).round(4).tolist()
        # the final posterior: the last wave's emulators, the final likelihood (untempered
        # when it is the exact chance of a run in every band)
        loglik, tempered = likelihood_of(final, lo_b, hi_b)
        tau = tau if tempered else 1.0
        if final != likelihood or candidates:  # else the last wave's posterior is the final
            cand, frac = E.sample_region([em], obs, d, candidates or s.candidates, s.cutoff,
                                         s.kmax, s.seed + 11, box=box)
            ll = tau * loglik(*em.predict(cand), obs)
            draws, ess = E.importance_draws(cand, ll, s.draws, s.seed + 12)
        post = pd.DataFrame(E.from_unit(draws, bounds), columns=params)
        post.insert(0, "draw", np.arange(len(post)))
        E.write_csv(post, out / f"{name}_posterior.csv")
        post = pd.read_csv(out / f"{name}_posterior.csv")
        desc = post[params].describe(percentiles=[0.05, 0.5, 0.95]).T
        m_d, v_d = em.predict(E.to_unit(post[params].to_numpy(float), bounds))
        _, joint = band_probabilities(m_d, v_d, obs.var_noise, lo_b, hi_b)
        _, joint_noise = band_probabilities(m_d, 0.0 * v_d, obs.var_noise, lo_b, hi_b)
        stand = _standings(s, params, bounds, obs, [em], cand, ll, tau, desc, loglik)
        # the best any point of the region does, and the share of the draws of the exact ABC
        # posterior (weights P) in every band: E[P^2] / E[P] over the region
        m_c, v_c = em.predict(cand)
        _, p_c = band_probabilities(m_c, v_c, obs.var_noise, lo_b, hi_b)
        summary["posterior"] = {
            "candidates": len(cand), "region_share_of_prior": frac, "ess": ess, "tau": tau,
            "summary": desc.round(4).to_dict(),
            "predicted_all_in_band": round(float(joint.mean()), 4),
            "predicted_all_in_band_noise_only": round(float(joint_noise.mean()), 4),
            "predicted_ceiling": round(float(p_c.max()), 4),
            "candidates_over_goal": round(float(np.mean(p_c >= GOAL)), 4),
            "predicted_all_in_band_abc": round(
                float(np.sum(p_c ** 2) / max(np.sum(p_c), 1e-300)), 4),
            "draws_at_inner_box_faces": dict(zip(params, np.logical_or(*at_faces(draws, box))
                                                 .mean(0).round(3).tolist(), strict=True)),
            **stand}
        log(f"posterior at {agents:,}: {len(cand)} candidates, ESS {ess:.0f}, tau {tau:.3f}; "
            f"predicted share in every band {joint.mean():.3f} ({joint_noise.mean():.3f} "
            f"without the emulators' variance; the best point {p_c.max():.3f})\n"
            f"{desc.round(4).to_string()}\n"
            f"defaults: {stand['defaults']}")
        if ppc:
            from sim.experiments.scale_posterior import checked_draws

            runs = checked_draws(run, params, names, post[params].to_numpy()[:ppc],
                                 agents, out / f"{name}_ppc{k}.csv")
            summary["ppc"], line = ppc_summary(runs, targets, agents=agents)
            log(line)
    finally:
        run.close()
    summary["runs_this_call"] = run.runs
    summary["wall_seconds_this_call"] = round(time.time() - t0, 1)
    E.write_call_summary(summary, out / f"{name}.json")
    return summary
