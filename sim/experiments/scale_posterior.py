"""A posterior for runs of 200,000 persons from a calibration run at 30,000 (issue 13, item 3).

    python calibration/scale_posterior.py --tag hm_0.22.0 --points 40 --seeds 2 --ppc 60

The committed calibration's emulators describe runs of its design scale (30,000 persons for
the default budget). :func:`scale_posterior` fits the scale discrepancy of
:mod:`sim.experiments.scale_correction` and draws the posterior again with the emulators of the
larger runs, on the same settings (cut-off, tempering, candidates, draws, seeds):

1. ``--points`` points (the defaults, a maximin set of the posterior's draws, one of the last
   wave's non-implausible region), each run at both scales with the same ``--seeds`` seeds
   (601, 602, ...): ``<tag>_at<k>k_pairs.csv`` (reused when present);
2. the discrepancy, linear in the parameters, fitted on the differences of the pairs' means;
   its leave-one-out error is reported in half-bands;
3. a held-out check, when ``<tag>_ppc<k>k.csv`` exists (the design-scale posterior's draws run
   at the larger scale by ``ppc_at_scale.py``, not used in the fit): the standardised errors of
   the plain and of the corrected emulators on those runs;
4. the posterior: candidates uniform in the box around the last wave's box and the pairs'
   points (the defaults among them), non-implausible under every wave's corrected emulators,
   weighted by the corrected likelihood to the calibration's power;
   ``<tag>_at<k>k_posterior.csv`` and the summary ``<tag>_at<k>k.json`` (``agents`` the larger
   scale, so ``migsim batch --posterior`` at that scale does not warn);
5. with ``--ppc N``, the first N draws run at the larger scale, seeds 40,000 + draw (those of
   the design-scale check: common random numbers), ``<tag>_at<k>k_ppc<k>k.csv``; per target,
   the draws in band, and the draws in every band at once, go into the summary.

Files go to ``out``, each written atomically; the summary is written last. Method and
findings: calibration/README.md, "A posterior for the scale users run".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.inference import band_loglik

PAIR_SEED, PPC_SEED = 601, 40_000


def _half_band(obs, x: np.ndarray, band_sds: float) -> np.ndarray:
    """Values in the targets' units over their half-bands."""
    return x / (np.sqrt(obs.var_obs) * band_sds)


def _pairs(c: dict, u: np.ndarray, seeds: int, agents: int, run, path: Path) -> pd.DataFrame:
    """Each point run at the design scale and at ``agents`` persons, the same seeds."""
    from sim.experiments import emulator as E
    from sim.experiments.history_match import cached, frame

    s, params, bounds, names = c["settings"], c["params"], c["bounds"], c["names"]
    x = E.from_unit(u, bounds)

    def make() -> pd.DataFrame:
        rows = []
        for n in (s.agents, agents):
            pts = [dict(zip(params, map(float, r), strict=True)) for r in x for _ in range(seeds)]
            sd = [PAIR_SEED + k for _ in range(len(x)) for k in range(seeds)]
            y = run(pts, sd, n)
            rows.append(frame(params, np.repeat(x, seeds, 0), names, y, seed=sd,
                              point=np.repeat(np.arange(len(x)), seeds), agents=n))
        return pd.concat(rows)

    return cached(path, make)


def _differences(c: dict, pairs: pd.DataFrame, agents: int) -> tuple[np.ndarray, np.ndarray]:
    """(points in [0, 1]^d, larger runs' mean less the design runs' mean at each point)."""
    from sim.experiments import emulator as E

    s, params, names = c["settings"], c["params"], c["names"]
    g = pairs.groupby(["agents", "point"])
    m = g[names].mean()
    diff = (m.xs(agents, level="agents") - m.xs(s.agents, level="agents")).to_numpy(float)
    u = E.to_unit(g[params].first().xs(s.agents, level="agents").to_numpy(float), c["bounds"])
    return u, diff


def heldout(c: dict, scaled: list, obs_s, runs: pd.DataFrame) -> dict[str, Any]:
    """Standardised errors of the plain and of the corrected last-wave emulators on runs of
    the larger scale that the fit did not use: per target the mean error in half-bands, and
    over all the share of |z| <= 2 (z: error over the emulator's and one run's sd)."""
    from sim.experiments import emulator as E

    names, bands = c["names"], c["settings"].band_sds
    u = E.to_unit(runs[c["params"]].to_numpy(float), c["bounds"])
    y = runs[names].to_numpy(float)
    out: dict[str, Any] = {"runs": len(runs)}
    for label, em in (("plain", c["emulators"][-1]), ("corrected", scaled[-1])):
        m, v = em.predict(u)
        z = (y - m) / np.sqrt(v + obs_s.var_noise)
        err = _half_band(c["obs"], y - m, bands)
        with np.errstate(invalid="ignore"):
            out[label] = {"within_2sd": round(float(np.nanmean(np.abs(z) <= 2)), 4),
                          "mean_abs_error_half_bands": round(float(np.nanmean(np.abs(err))), 4),
                          "mean_error_half_bands": dict(zip(names, np.round(
                              np.nanmean(err, 0), 3).tolist(), strict=True))}
    return out


def scale_posterior(tag: str, points: int, seeds: int, agents: int, ppc: int, workers: int,
                    out: Path, results: Path | None = None, log=print,
                    likelihood: str = "gauss") -> dict[str, Any]:
    """Every step of the module docstring for the calibration ``tag`` in ``results``
    (default ``out``); the summary (also written to ``out``)."""
    from sim.core.version import __version__
    from sim.engine.registry import Params
    from sim.experiments import emulator as E
    from sim.experiments.committed import committed_emulators
    from sim.experiments.history_match import Runner, _standings
    from sim.experiments.scale_correction import (
        Discrepancy,
        ScaledEmulator,
        correction_points,
        scaled_observation,
    )

    t0 = time.time()
    results = out if results is None else results
    c = committed_emulators(results, tag)
    s, params, bounds, names, obs = (c["settings"], c["params"], c["bounds"], c["names"],
                                     c["obs"])
    new = f"{tag}_at{agents // 1000}k" + ("_band" if likelihood == "band" else "")
    d = len(params)
    post0 = pd.read_csv(results / f"{tag}_posterior.csv")
    defaults = np.array([float(Params()[p]) for p in params])
    region, _ = E.sample_region(c["emulators"], obs, d, 2000, s.cutoff, s.kmax, s.seed + 31,
                                box=c["box"])
    u_pts = correction_points(E.to_unit(defaults, bounds), E.to_unit(
        post0[params].to_numpy(float), bounds), region, points, s.seed + 32)
    run = Runner(c["targets"], workers)
    summary: dict[str, Any] = {"version": __version__, "base_tag": tag,
                               "base_version": c["summary"].get("version"),
                               "agents": agents, "design_agents": s.agents, "params": bounds,
                               "targets": names,
                               "settings": {"params": params, "cutoff": s.cutoff,
                                            "kmax": s.kmax, "candidates": s.candidates,
                                            "draws": s.draws, "seed": s.seed,
                                            "band_sds": s.band_sds, "points": len(u_pts),
                                            "seeds": seeds, "likelihood": likelihood}}
    try:
        pairs = _pairs(c, u_pts, seeds, agents, run, out / f"{tag}_at{agents // 1000}k_pairs.csv")
        u, diff = _differences(c, pairs, agents)
        delta = Discrepancy().fit(u, diff)
        loo = delta.loo_residuals(u, diff)
        shift = _half_band(obs, diff, s.band_sds)
        summary["discrepancy"] = {
            "mean_over_half_band": dict(zip(names, np.round(np.nanmean(shift, 0), 3).tolist(),
                                            strict=True)),
            "at_defaults_over_half_band": dict(zip(names, np.round(shift[0], 3).tolist(),
                                                   strict=True)),
            "loo_rmse_over_half_band": dict(zip(names, np.round(np.sqrt(np.nanmean(
                _half_band(obs, loo, s.band_sds) ** 2, 0)), 3).tolist(), strict=True))}
        log(f"pairs: {len(pairs)} runs ({run.seconds:.0f} s this call); discrepancy in "
            "half-bands (mean, LOO rmse):\n" + pd.DataFrame(
                {"mean": summary["discrepancy"]["mean_over_half_band"],
                 "loo_rmse": summary["discrepancy"]["loo_rmse_over_half_band"]}).to_string())
        obs_s = scaled_observation(obs, s.agents, agents)
        scaled = [ScaledEmulator(em, delta) for em in c["emulators"]]
        held = results / f"{tag}_ppc{agents // 1000}k.csv"
        if held.exists():
            summary["heldout"] = heldout(c, scaled, obs_s, pd.read_csv(held))
            log(f"held out ({held.name}): " + ", ".join(
                f"{k} within 2 sd {summary['heldout'][k]['within_2sd']}, mean |error| "
                f"{summary['heldout'][k]['mean_abs_error_half_bands']} half-bands"
                for k in ("plain", "corrected")))
        tau = float(c["summary"]["posterior"]["tau"])
        # candidates in the box around the last wave's box and the pairs' points (the
        # defaults among them): the larger runs' region may reach beyond the design's
        box = E.bounding_box(np.vstack([*c["box"], u_pts]))
        cand, frac = E.sample_region(scaled, obs_s, d, s.candidates, s.cutoff, s.kmax,
                                     s.seed + 11, box=box)
        if not len(cand):
            raise RuntimeError("no candidate is non-implausible under the corrected emulators")
        if likelihood == "band":
            lo_b = np.array([t.lo for t in c["targets"]])
            hi_b = np.array([t.hi for t in c["targets"]])

            def loglik(m, v, o):
                return band_loglik(m, v, o, lo_b, hi_b)
        else:
            loglik = E.log_likelihood
        ll = tau * loglik(*scaled[-1].predict(cand), obs_s)
        draws, ess = E.importance_draws(cand, ll, s.draws, s.seed + 12)
        post = pd.DataFrame(E.from_unit(draws, bounds), columns=params)
        post.insert(0, "draw", np.arange(len(post)))
        E.write_csv(post, out / f"{new}_posterior.csv")
        post = pd.read_csv(out / f"{new}_posterior.csv")
        desc = post[params].describe(percentiles=[0.05, 0.5, 0.95]).T
        lo, hi = box
        edge = ((draws - lo < 0.02) & (lo > 0)) | ((hi - draws < 0.02) & (hi < 1))
        stand = _standings(s, params, bounds, obs_s, scaled, cand, ll, tau, desc, loglik)
        summary["posterior"] = {"candidates": len(cand), "region_share_of_prior": frac,
                                "box": E.from_unit(np.array(box), bounds).round(4).tolist(),
                                "ess": ess, "tau": tau, "summary": desc.round(4).to_dict(),
                                "draws_at_inner_box_faces": dict(zip(params, edge.mean(0)
                                                                     .round(3).tolist(),
                                                                     strict=True)),
                                **stand}
        log(f"posterior at {agents:,}: {len(cand)} candidates, ESS {ess:.0f}\n"
            f"{desc.round(4).to_string()}\ndefaults: {stand['defaults']}")
        if ppc:
            from sim.experiments.inference import ppc_summary

            runs = checked_draws(run, params, names, post[params].to_numpy()[:ppc],
                                 agents, out / f"{new}_ppc{agents // 1000}k.csv")
            summary["ppc"], line = ppc_summary(runs, c["targets"], agents=agents)
            log(line)
    finally:
        run.close()
    summary["runs_this_call"] = run.runs
    summary["wall_seconds_this_call"] = round(time.time() - t0, 1)
    E.write_call_summary(summary, out / f"{new}.json")
    return summary


def ppc_at_scale(tag: str, draws: int, agents: int, workers: int, out: Path,
                 results: Path | None = None) -> pd.DataFrame:
    """The first ``draws`` draws of the calibration's posterior (``<tag>_posterior.csv`` in
    ``results``, default ``out``) run at ``agents`` persons, 1985-2006, seeds 40,000 + draw
    (its own check's seeds): ``<tag>_ppc<k>k.csv`` in ``out``, reused when present. The
    design-scale posterior's check at the larger scale; :func:`scale_posterior` holds it out,
    the waves fit on it."""
    import json
    from contextlib import closing

    from sim.experiments.history_match import Runner, fit_targets

    results = out if results is None else results
    params = json.loads((results / f"{tag}.json").read_text())["settings"]["params"]
    x = pd.read_csv(results / f"{tag}_posterior.csv")[params].to_numpy(float)[:draws]
    targets = fit_targets()
    path = out / f"{tag}_ppc{agents // 1000}k.csv"
    if path.exists():
        return pd.read_csv(path)
    with closing(Runner(targets, workers)) as run:
        return checked_draws(run, params, [t.name for t in targets], x, agents, path)


def checked_draws(run, params: list[str], names: list[str], x: np.ndarray, agents: int,
                  path: Path) -> pd.DataFrame:
    """A predictive check: each row of ``x`` run once at ``agents`` persons, seed 40,000 +
    row (every check's seeds, so checks share random numbers), by ``run`` (a
    :class:`~sim.experiments.history_match.Runner`); the table at ``path``, written
    atomically and read back, or read when present."""
    from sim.experiments.history_match import cached, frame

    def make() -> pd.DataFrame:
        y = run([dict(zip(params, map(float, r), strict=True)) for r in x],
                [PPC_SEED + i for i in range(len(x))], agents)
        return frame(params, x, names, y, draw=np.arange(len(x)))

    return cached(path, make)
