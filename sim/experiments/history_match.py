"""History matching to a posterior, stage by stage (issue 13, items 3-5; ``migsim calibrate``).

Stages, each cached as a CSV in the output directory (a rerun reuses the runs already there and
redoes only the emulation; delete a file to run its stage again):

1. ``noise``: the defaults at ``noise_seeds`` seeds (replicate sd of each target);
2. ``design``: wave 1 a Latin hypercube over the parameters' declared ranges, wave k a
   space-filling set from the region the earlier waves leave non-implausible; one run per
   point, each with its own seed; a GP emulator per target per wave (its own runs and the
   earlier runs still non-implausible), checked by leave-one-out;
3. ``scale``: the defaults and three non-implausible points at the design scale and at
   ``scale_agents`` persons, ``scale_seeds`` seeds each (do the moments drift with scale?);
4. ``posterior``: ``draws`` draws (uniform candidates in the final non-implausible region,
   weighted by the Gaussian likelihood raised to the power ``tau``, resampled);
5. ``recovery``: ``truths`` points from the prior, one run each, fitted back with the wave-1
   emulators (the prior ``pool``'s non-implausible points start ``rounds`` rounds of adaptive
   importance sampling of ``candidates`` points, the likelihood tempered as the posterior's);
   coverage of the 90% intervals; then each truth's own run gets one refocused wave of
   ``refocus`` runs and is fitted back again with that wave's emulator
   (:mod:`sim.experiments.refocus`; ``observed = "refocused"``, the coverage quoted);
6. ``ppc``: ``ppc`` posterior draws simulated (own seeds), per target in band or not.

``tau`` (``temper = "loo"``, the default since session 23) is each emulator's effective number of
independent targets over their number, from its leave-one-out residuals on the design runs
(:mod:`sim.experiments.inference`); ``temper = "none"`` is the untempered likelihood of the
calibrations committed before (0.7.0 and the first 0.13.0 fits).

Targets: ``use = "fit"``, asserted, up to 2006 (no later figure is ever a target). Files:
``<tag>_{noise,design,scale,posterior,recovery_runs,recovery_refocus_runs,recovery,ppc}.csv``
and ``<tag>.json`` (written last: its presence marks a complete calibration). Method and
measured budget: ``calibration/README.md``, "Posterior by history matching".
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.inference import in_bands

DEFAULT_PARAMS = ("asc_home", "demand_wage_elasticity", "wage_adjust_unemployment",
                  "spring_festival_share", "demand_growth_elasticity", "beta_income",
                  "return_unemployed_mult", "return_age_log_per_decade")
START, YEARS = 1985, 22  # the targets are read in 1985-2006


@dataclass(frozen=True)
class Settings:
    """One calibration's settings; :data:`BUDGETS` holds the named ones."""

    agents: int = 30_000  # persons per run
    design: int = 200  # runs per wave
    waves: int = 3
    seeds: int = 1  # seeds per design point (averaged)
    noise_seeds: int = 10
    scale_agents: int = 100_000
    scale_seeds: int = 3
    scale_points: int = 3  # non-implausible points besides the defaults in the scale check
    draws: int = 500  # posterior draws kept
    candidates: int = 10_000  # uniform candidates in the final region, weighted for the draws
    pool: int = 200_000  # prior points the recovery weights (wave-1 emulators)
    truths: int = 30
    ppc: int = 30
    params: tuple[str, ...] = DEFAULT_PARAMS
    cutoff: float = 3.0  # implausibility cut-off
    kmax: int = 1  # the k-th largest implausibility over targets is cut
    band_sds: float = 2.0  # band half-width in observation sd
    md_fraction: float = 0.25  # model-discrepancy variance as a share of the observation's
    temper: str = "loo"  # "loo": likelihood ** (effective targets / targets); "none"
    rounds: int = 3  # adaptive importance-sampling rounds of each recovery fit
    refocus: int = 60  # runs of each truth's refocused wave in the recovery (0: none)
    workers: int = 1
    seed: int = 0  # seed of designs and sampling
    until: str = "all"  # or "noise", "wave1": stop early to split the compute
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in the JSON, not used

    @classmethod
    def from_summary(cls, summary: dict[str, Any], **changes: Any) -> Settings:
        """The settings a committed ``<tag>.json`` records (its ``settings``; keys this version
        does not know are left out), with ``changes`` applied."""
        known = {f.name for f in fields(cls)}
        st = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in summary["settings"].items() if k in known}
        st.setdefault("refocus", 0)  # calibrations before 0.16.0's refit had no refocused wave
        return cls(**{**st, **changes})


# "default" is the budget of the committed posteriors (calibration/results/hm_<version>_*):
# about 700 runs of 30,000 persons (13-25 minutes on two cores) plus emulation, and 1,680-1,800
# refocusing the recovery (0.16.0: 67 minutes in all; 0.18.0: about 80).
# "large" is the same at 100,000 persons a run (the scale check at 200,000), for models whose
# moments drift between 30,000 and 100,000 persons (0.13: calibration/README.md).
# "small" checks the pipeline end to end in about a minute; its posterior means nothing.
BUDGETS: dict[str, Settings] = {
    "default": Settings(),
    "large": Settings(agents=100_000, scale_agents=200_000),
    "small": Settings(agents=1000, design=8, waves=2, noise_seeds=2, scale_agents=2000,
                      scale_seeds=2, scale_points=1, draws=20, candidates=400, pool=4000,
                      truths=2, ppc=2, cutoff=5.0, kmax=3, refocus=4),
}
TEMPER = ("loo", "none")  # how the log-likelihood is tempered (module docstring)
STAGES = ("noise", "design", "scale", "posterior", "recovery_runs", "recovery_refocus_runs",
          "recovery", "ppc")


class Runner:
    """Runs parameter points through the model (sensitivity._simulate), 1985-2006.

    Workers are spawned with one numba thread each (:func:`executors.spawned_pool`): forked
    after this process had started numba's threads (a resumed calibration's first runs come
    after its emulation), workers failed to compile (session 36). A call whose runs all fail
    is an error, not a table of NaN."""

    def __init__(self, targets: list, workers: int) -> None:
        from sim.experiments.executors import spawned_pool

        self.targets, self.workers = targets, workers
        self.pool = spawned_pool(workers) if workers > 1 else None
        self.runs = 0
        self.seconds = 0.0

    def __call__(self, points: list[dict[str, float]], seeds: list[int], agents: int
                 ) -> np.ndarray:
        from sim.experiments.sensitivity import _simulate

        # each value as its row will record it (seven significant digits, emulator.write_csv):
        # a run is then made again from its file, not only from the process that made it
        jobs = [({k: float(f"{v:.7g}") for k, v in x.items()}, int(s), self.targets, agents,
                 START, YEARS) for x, s in zip(points, seeds, strict=True)]
        t0 = time.time()
        if self.pool:
            from sim.experiments.executors import map_one_thread

            out = map_one_thread(self.pool, _simulate, jobs)
        else:
            out = [_simulate(j) for j in jobs]
        self.runs += len(jobs)
        self.seconds += time.time() - t0
        y = np.array(out, dtype=float).reshape(len(jobs), len(self.targets))
        if len(jobs) and np.isnan(y).all():
            raise RuntimeError(f"all {len(jobs)} runs failed (seeds {seeds[0]}...); rerun one "
                               "with `migsim run` to see why")
        return y

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()


def cached(path: Path, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The stage's table from path, made and written atomically first if it is missing."""
    from sim.experiments.emulator import write_csv

    if not path.exists():  # read back, so a fresh and a resumed call see the same numbers
        write_csv(make(), path)
    return pd.read_csv(path)


def frame(params: list[str], x: np.ndarray, names: list[str], y: np.ndarray, **cols: Any
          ) -> pd.DataFrame:
    """Parameters, then ``cols``, then target values, one row a run."""
    df = pd.DataFrame(x, columns=params)
    for k, v in cols.items():
        df.insert(0, k, v)
    return pd.concat([df, pd.DataFrame(y, columns=names)], axis=1)


def declared_default(name: str) -> float:
    """The parameter's default value."""
    from sim.engine.registry import schema

    return float(schema()[name].default)


def drifting_targets(summary: dict[str, Any], tol: float = 0.5) -> dict[str, float]:
    """Targets whose mean moves by more than ``tol`` half-bands between the design scale and
    ``scale_agents`` at some point of the scale check, with the largest move (signed)."""
    out: dict[str, float] = {}
    for by_target in summary.get("scale_drift_over_half_band", {}).values():
        for name, v in by_target.items():
            if v is not None and np.isfinite(v) and abs(v) > tol and abs(v) > abs(
                    out.get(name, 0.0)):
                out[name] = float(v)
    return out


def fit_targets() -> list:
    """The targets history matching fits: ``use = "fit"``, asserted, up to 2006."""
    from sim.experiments.targets import load_targets

    return [t for t in load_targets() if t.use == "fit" and t.asserted and t.years[-1] <= 2006]


def check_settings(s: Settings) -> None:
    """Refuse settings the pipeline cannot use, naming the value and its range."""
    from sim.experiments.sensitivity import scalar_parameters

    declared = scalar_parameters()
    for p in s.params:
        if p not in declared:
            from sim.core.params import closest

            near = closest(p, declared)
            raise ValueError(f"parameter {p!r} is not a scalar behaviour parameter"
                             + (f" (did you mean {near!r}?)" if near else ""))
    for name, lo in (("agents", 1000), ("design", 4), ("waves", 1), ("seeds", 1),
                     ("noise_seeds", 2), ("scale_agents", 1000), ("scale_seeds", 2),
                     ("scale_points", 0),
                     ("draws", 1), ("candidates", 10), ("pool", 10), ("truths", 1), ("ppc", 1),
                     ("workers", 1), ("kmax", 1), ("rounds", 1), ("refocus", 0)):
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an integer of at least {lo}, got {v!r}")
    if s.until not in ("noise", "wave1", "all"):
        raise ValueError(f"until must be one of noise, wave1, all; got {s.until!r}")
    if s.temper not in TEMPER:
        raise ValueError(f"temper must be one of {', '.join(TEMPER)}; got {s.temper!r}")


def history_match(s: Settings, out: Path, tag: str | None = None, cache: Path | None = None,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) every stage into ``out``; return the summary written to ``<tag>.json``
    (``tag`` defaults to ``hm_<version>``)."""
    from sim.core.version import __version__
    from sim.experiments import emulator as E
    from sim.experiments.sensitivity import idle_parameters, scalar_parameters

    check_settings(s)
    out.mkdir(parents=True, exist_ok=True)
    tag = tag or f"hm_{__version__}"
    cache = cache or Path(tempfile.gettempdir()) / "migsim_emulators"
    declared = scalar_parameters()
    params = list(s.params)
    for p, cond in idle_parameters(params, START, YEARS).items():
        log(f"warning: {p} is read only when {cond}, which no run of this calibration meets: "
            "its posterior is its prior (calibration/README.md, 'Parameters that no run reads')")
    bounds = {p: declared[p] for p in params}
    targets = fit_targets()
    names = [t.name for t in targets]
    run = Runner(targets, s.workers)
    started = time.time()
    summary: dict[str, Any] = {"version": __version__, "agents": s.agents, "params": bounds,
                               "targets": names, "band_sds": s.band_sds,
                               "md_fraction": s.md_fraction, "cutoff": s.cutoff,
                               "kmax": s.kmax, "workers": s.workers,
                               "settings": {k: v for k, v in asdict(s).items()
                                            if k != "extra"}, **s.extra}

    def point(row: np.ndarray) -> dict[str, float]:
        return dict(zip(params, map(float, row), strict=True))

    def simulate(x: np.ndarray, seed0: int, agents: int | None = None) -> np.ndarray:
        """Mean over ``seeds`` seeds of each point (rows of x in the parameters' units)."""
        pts = [point(r) for r in x for _ in range(s.seeds)]
        seeds = [seed0 + s.seeds * i + k for i in range(len(x)) for k in range(s.seeds)]
        y = run(pts, seeds, agents or s.agents).reshape(len(x), s.seeds, -1)
        with warnings.catch_warnings():  # a target a run cannot measure stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(y, axis=1)

    try:
        # 1. replicate noise at the defaults
        noise = cached(out / f"{tag}_noise.csv", lambda: pd.DataFrame(
            run([{}] * s.noise_seeds, list(range(1, s.noise_seeds + 1)), s.agents),
            columns=names))
        noise_sd = noise[names].std(ddof=1).to_numpy()
        obs = E.observations(targets, noise_sd, s.band_sds, s.md_fraction)
        log(f"noise: {run.runs} runs, {run.seconds:.0f} s")
        if s.until == "noise":
            return summary
        emulators, taus, box = _waves(s, out, tag, cache, params, bounds, names, obs, noise_sd,
                                simulate, run, summary, log)
        if s.until == "wave1":
            return summary
        _scale(s, out, tag, params, bounds, names, obs, emulators, box, run, point, summary,
               log)
        log(f"posterior candidates ({time.time() - started:.0f} s)")
        post = _posterior(s, out, tag, params, bounds, obs, emulators, taus[-1], box, summary,
                          log)
        _recovery(s, out, tag, params, bounds, names, obs, emulators, taus[0], simulate,
                  cache, summary, log)
        _ppc(s, out, tag, params, names, targets, post, simulate, summary, log)
    finally:
        run.close()
    summary["runs_this_call"] = run.runs
    summary["run_seconds_this_call"] = round(run.seconds, 1)
    summary["wall_seconds_this_call"] = round(time.time() - started, 1)
    E.write_call_summary(summary, out / f"{tag}.json")
    return summary


def _waves(s, out, tag, cache, params, bounds, names, obs, noise_sd, simulate, run, summary,
           log):
    """Stage 2: the design runs wave by wave and the emulators fitted on them, with the
    likelihood's power for each (:func:`sim.experiments.inference.temper`)."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import effective_targets, temper

    d = len(params)
    design_path = out / f"{tag}_design.csv"
    design = pd.read_csv(design_path) if design_path.exists() else pd.DataFrame()
    emulators: list = []
    taus: list[float] = []  # the likelihood's power for each wave's emulators
    box = (np.zeros(d), np.ones(d))  # where candidates are drawn: shrinks wave by wave
    for w in range(1, s.waves + 1):
        if design.empty or w not in set(design["wave"]):
            if w == 1:
                u = E.latin_hypercube(s.design, d, s.seed)
            else:
                cand, _ = E.sample_region(emulators, obs, d, 20 * s.design, s.cutoff, s.kmax,
                                          s.seed + w, box=box)
                if len(cand) < s.design:
                    log(f"wave {w}: only {len(cand)} non-implausible candidates")
                    if len(cand) == 0:
                        break
                u = E.maximin_subset(cand, s.design, s.seed + w)
            x = E.from_unit(u, bounds)
            y = simulate(x, 10_000 * w)
            design = pd.concat([design, frame(params, x, names, y, wave=w,
                                              seed=10_000 * w + s.seeds * np.arange(len(x)))])
            E.write_csv(design, design_path)
            design = pd.read_csv(design_path)  # the rounded values a resumed call reads
            log(f"wave {w}: {len(x)} points, {run.runs} runs, {run.seconds:.0f} s")
        if s.until == "wave1":
            return emulators, taus, box
        # a wave's emulators: its own runs and the earlier runs still non-implausible
        dw = design[design["wave"] <= w]
        u_all = E.to_unit(dw[params].to_numpy(), bounds)
        keep = (dw["wave"] == w).to_numpy().copy()
        if emulators:
            ok = np.ones(len(u_all), bool)
            for em in emulators:
                ok &= E.nonimplausible(em, u_all, obs, s.cutoff, s.kmax)
            keep |= ok
        y_keep = dw[names].to_numpy()[keep]
        em = E.fit_cached(u_all[keep], y_keep, cache, seed=s.seed)
        emulators.append(em)
        loo = em.validate(obs)
        n_eff = effective_targets(em, y_keep)
        taus.append(temper(em, y_keep) if s.temper == "loo" else 1.0)
        pilot, frac = E.sample_region(emulators, obs, d, 5000, s.cutoff, s.kmax, s.seed + 99,
                                      max_tries=1_000_000, box=box)
        box = E.next_box(pilot, u_all, emulators, obs, box, s.cutoff, s.kmax)
        log(f"wave {w}: emulators on {keep.sum()} runs; non-implausible share of the prior "
            f"{frac:.4g} ({len(pilot)} pilot points)")
        with np.errstate(divide="ignore", invalid="ignore"):  # a target without noise: inf
            ratio = em.nuggets() / noise_sd
        summary.setdefault("waves", []).append(
            {"wave": w, "runs": int((design["wave"] == w).sum()), "emulator_runs":
             int(keep.sum()), "nonimplausible_share": frac,
             "box_after": E.from_unit(np.array(box), bounds).round(4).tolist(),
             "effective_targets": round(n_eff, 2), "tau": round(taus[-1], 4),
             "loo_within_3sd": dict(zip(names, loo["within_3sd"].round(3), strict=True)),
             "var_em_inflation": dict(zip(names, loo["inflation"].round(2), strict=True)),
             "nugget_over_noise_sd": dict(zip(names, ratio.round(3), strict=True))})
    return emulators, taus, box


def _scale(s, out, tag, params, bounds, names, obs, emulators, box, run, point, summary, log):
    """Stage 3: the defaults and ``scale_points`` non-implausible points at two scales."""
    from sim.experiments import emulator as E

    def make() -> pd.DataFrame:
        u1, _ = E.sample_region(emulators, obs, len(params), s.scale_points, s.cutoff, s.kmax,
                                s.seed + 7,
                                box=box)
        xs = np.vstack([[declared_default(p) for p in params], E.from_unit(u1, bounds)])
        rows = []
        for agents in (s.agents, s.scale_agents):
            for i, x in enumerate(xs):
                y = run([point(x)] * s.scale_seeds, list(range(501, 501 + s.scale_seeds)),
                        agents)
                rows.append(frame(params, np.repeat([x], s.scale_seeds, 0), names, y,
                                  seed=np.arange(501, 501 + s.scale_seeds), point=i,
                                  agents=agents))
        return pd.concat(rows)

    scale = cached(out / f"{tag}_scale.csv", make)
    g = scale.groupby(["point", "agents"])[names]
    m, sd_ = g.mean(), g.std(ddof=1)
    diff = m.xs(s.scale_agents, level="agents") - m.xs(s.agents, level="agents")
    sd = np.sqrt((sd_.xs(s.scale_agents, level="agents") ** 2
                  + sd_.xs(s.agents, level="agents") ** 2) / 2)
    drift = diff / sd / np.sqrt(2.0 / s.scale_seeds)  # in sd of the difference of means
    log("scale drift (difference of means / its sd):\n" + drift.T.round(2).to_string())
    summary["scale_drift_over_sd"] = drift.T.round(3).to_dict()
    summary["scale_drift_over_half_band"] = (diff / np.sqrt(obs.var_obs) / s.band_sds
                                             ).T.round(3).to_dict()


def _posterior(s, out, tag, params, bounds, obs, emulators, tau, box, summary, log
               ) -> pd.DataFrame:
    """Stage 4: draws from the final non-implausible region, weighted by the likelihood to
    the power ``tau``."""
    from sim.experiments import emulator as E

    cand, _ = E.sample_region(emulators, obs, len(params), s.candidates, s.cutoff, s.kmax,
                              s.seed + 11, box=box)
    if not len(cand):
        raise RuntimeError("no non-implausible point: nothing to draw the posterior from")
    ll = tau * E.log_likelihood(*emulators[-1].predict(cand), obs)
    draws, ess = E.importance_draws(cand, ll, s.draws, s.seed + 12)
    post = pd.DataFrame(E.from_unit(draws, bounds), columns=params)
    post.insert(0, "draw", np.arange(len(post)))
    E.write_csv(post, out / f"{tag}_posterior.csv")
    post = pd.read_csv(out / f"{tag}_posterior.csv")  # the draws as a later stage reads them
    desc = post[params].describe(percentiles=[0.05, 0.5, 0.95]).T
    summary["posterior"] = {"candidates": len(cand), "ess": ess, "tau": tau,
                            "summary": desc.round(4).to_dict(),
                            **_standings(s, params, bounds, obs, emulators, cand, ll, tau, desc)}
    log(f"posterior: {len(cand)} candidates, ESS {ess:.0f}\n{desc.round(4).to_string()}\n"
        f"defaults: {summary['posterior']['defaults']}")
    return post


def _standings(s, params, bounds, obs, emulators, cand, ll, tau, desc, loglik=None) -> dict:
    """How the defaults and the posterior median stand in the posterior
    (:func:`sim.experiments.inference.point_standing`, with ``loglik`` the likelihood the
    weights ``ll`` were made with, default the Normal), and which defaults are inside their
    90% intervals: the defaults are not the posterior's point estimate, so this says how far
    from it they are."""
    from sim.engine.registry import Params
    from sim.experiments import emulator as E
    from sim.experiments.inference import point_standing

    defaults = Params()
    values = np.array([[float(defaults[p]) for p in params]])
    med = desc["50%"].to_numpy(float)[None]
    stand = {k: point_standing(E.to_unit(v, bounds), emulators, obs, cand, ll, tau, s.cutoff,
                               s.kmax, loglik or E.log_likelihood)
             for k, v in (("defaults", values), ("median", med))}
    stand["defaults"]["inside_90"] = {p: bool(desc.loc[p, "5%"] <= values[0, j]
                                              <= desc.loc[p, "95%"])
                                      for j, p in enumerate(params)}
    return stand


def _recovery(s, out, tag, params, bounds, names, obs, emulators, tau, simulate, cache,
              summary, log):
    """Stage 5: truths from the prior, simulated and fitted back with the wave-1 emulators by
    adaptive importance sampling, the likelihood to the power ``tau`` (the wave-1 emulators');
    then, with ``refocus`` runs, after a refocused wave each (:mod:`sim.experiments.refocus`)."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import ess, fit_back

    d = len(params)

    def make() -> pd.DataFrame:
        xt = E.from_unit(E.latin_hypercube(s.truths, d, s.seed + 21), bounds)
        return frame(params, xt, names, simulate(xt, 30_000), truth=np.arange(s.truths))

    rec = cached(out / f"{tag}_recovery_runs.csv", make)
    rng = np.random.default_rng(s.seed + 22)
    pool = rng.random((s.pool, d))
    pm, pv = emulators[0].predict(pool)
    rows = []
    for i, (_, r) in enumerate(rec.iterrows()):
        y = r[names].to_numpy(float)
        err = rng.normal(0, np.sqrt(obs.var_obs + obs.var_md))
        for m, (label, z) in enumerate((("with_obs_error", y + err), ("run_only", y))):
            o = obs.replace_z(np.where(np.isfinite(z), z, np.nan))
            ok = E.kth_max(E.implausibility(pm, pv, o), s.kmax) <= s.cutoff
            x, lw = fit_back(emulators[0], o, pool, pm, pv, s.cutoff, s.kmax, tau,
                             s.candidates, s.rounds,
                             np.random.default_rng(s.seed + 1000 + 2 * i + m))
            rows.append({"truth": int(r["truth"]), "observed": label,
                         "nonimplausible": int(ok.sum()), "candidates": len(x),
                         "ess": ess(lw), **E.recovery_columns(x, lw, r[params].to_numpy(float),
                                                              bounds, params)})
    if s.refocus:
        from sim.experiments.refocus import refocused_rows

        t0 = time.time()
        wave1 = [r for r in rows if r["observed"] == "run_only"]
        rows += refocused_rows(s, out, tag, params, bounds, names, obs, emulators[0], rec,
                               wave1, simulate, cache, log)
        ref = [r for r in rows if r["observed"] == "refocused"]
        summary["recovery_refocus"] = {
            "runs_per_truth": s.refocus, "truths_refocused": sum(r["refocused"] for r in ref),
            "median_tau": float(np.median([r["tau"] for r in ref if r["refocused"]] or [tau])),
            "seconds": round(time.time() - t0, 1)}
    recovery = pd.DataFrame(rows)
    E.write_csv(recovery, out / f"{tag}_recovery.csv")
    cov = recovery.groupby("observed")[[f"{p}_in90" for p in params]].mean()
    width = recovery.groupby("observed")[[f"{p}_width" for p in params]].mean()
    summary["recovery_coverage90"] = cov.round(3).to_dict(orient="index")
    summary["recovery_width_share_of_range"] = width.round(3).to_dict(orient="index")
    summary["recovery_tau"] = tau
    summary["recovery_median_ess"] = recovery.groupby("observed")["ess"].median().round(1
                                                                                     ).to_dict()
    log(f"recovery (tau {tau:.3f}) coverage of 90% intervals:\n" + cov.T.round(3).to_string())


def _ppc(s, out, tag, params, names, targets, post, simulate, summary, log):
    """Stage 6: posterior draws simulated; per target, how many land in the band."""
    from sim.experiments import emulator as E
    from sim.experiments.inference import ppc_summary

    def make() -> pd.DataFrame:
        xp = post[params].to_numpy()[:s.ppc]
        return frame(params, xp, names, simulate(xp, 40_000), draw=np.arange(len(xp)))

    ppc = cached(out / f"{tag}_ppc.csv", make)
    y = ppc[names].to_numpy(float)
    inb = in_bands(ppc, targets)
    table = pd.DataFrame({"target": names, "in_band": inb.sum(0), "draws": len(y),
                          "mean": np.nanmean(y, 0), "low": [t.lo for t in targets],
                          "high": [t.hi for t in targets]})
    E.write_csv(table, out / f"{tag}_ppc_table.csv")
    summary["ppc"], _ = ppc_summary(ppc, targets)
    log(f"PPC ({len(y)} draws): all in band {inb.all(1).mean():.3f}\n{table.to_string()}")


def compare_posteriors(new: pd.DataFrame, ref: pd.DataFrame, params: list[str] | None = None
                       ) -> pd.DataFrame:
    """Per parameter: the shift of the mean in reference posterior sd, and the ratio of sd.
    A reproduction agrees when every |shift| <= 0.25 and every ratio is in [0.8, 1.25]
    (:data:`REPRODUCE_TOL`): about the Monte Carlo error of 500 resampled draws from a few
    hundred effective candidates, with room for a refitted emulator."""
    params = params or [c for c in ref.columns if c in new.columns and c != "draw"]
    rows = []
    for p in params:
        sd = float(ref[p].std(ddof=1)) or 1.0
        rows.append({"parameter": p, "mean_ref": float(ref[p].mean()),
                     "mean_new": float(new[p].mean()),
                     "shift_in_sd": float((new[p].mean() - ref[p].mean()) / sd),
                     "sd_ratio": float(new[p].std(ddof=1) / sd)})
    df = pd.DataFrame(rows)
    df["agrees"] = (df["shift_in_sd"].abs() <= REPRODUCE_TOL[0]) & df["sd_ratio"].between(
        *REPRODUCE_TOL[1:])
    return df


REPRODUCE_TOL = (0.25, 0.8, 1.25)
__all__ = ["BUDGETS", "DEFAULT_PARAMS", "REPRODUCE_TOL", "STAGES", "Runner", "Settings",
           "check_settings", "compare_posteriors", "fit_targets", "history_match"]
