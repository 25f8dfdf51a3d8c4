"""``migsim calibrate``: history matching to a posterior, with recovery and predictive checks."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.common import _check, _check_file, _check_out, _fail, _out
from sim.core.version import CALIBRATED_VERSION

# the default budget's committed posterior: the calibration that describes the current defaults
COMMITTED = Path(f"calibration/results/hm_{CALIBRATED_VERSION}_posterior.csv")
# the committed posterior each budget's fresh run is compared with (the latest of each budget:
# the large budget was last run on 0.13.0)
REFERENCES = {"default": COMMITTED,
              "large": Path("calibration/results/hm_0.13.0_large_posterior.csv")}


def calibrate(
    budget: Annotated[str, typer.Option(
        help="small: the pipeline end to end in about a minute (its posterior means nothing); "
             "default: the committed posterior's budget (about 700 runs of 30,000 persons and "
             "1,800 refocusing the recovery, about an hour on 2 cores); large: the same runs "
             "at 100,000 persons."
    )] = "default",
    out: Annotated[Path | None, typer.Option(
        help="Directory for the stages' files (default: runs/calibrate-<budget>); rerun to "
             "resume.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes, one numba thread each (default: two, one for small).")] = None,
    agents: Annotated[int | None, typer.Option(help="Persons per run (default: budget's).")]
    = None,
    seed: Annotated[int, typer.Option(help="Seed of the designs and the sampling.")] = 0,
    refocus: Annotated[int | None, typer.Option(
        help="Runs of each recovery truth's refocused wave (default: the budget's, 60 for "
             "default and large, 4 for small; 0: the wave-1 recovery only).")] = None,
    reference: Annotated[Path | None, typer.Option(
        help="A posterior CSV to compare with (default: the budget's committed one when "
             f"present, calibration/results/hm_{CALIBRATED_VERSION}_posterior.csv for default, "
             "hm_0.13.0_large_posterior.csv for large).")] = None,
    scale_agents: Annotated[int | None, typer.Option(
        help="Then a posterior for runs of this many persons (more than --agents): the "
             "design-scale posterior's draws run at that scale, pairs of runs at both scales, "
             "waves of history matching at that scale and the exact-ABC posterior with its "
             "predictive check, and that posterior's recovery (calibration/README.md, "
             "\"Waves at the scale users run\"); at 200,000 persons on the default budget "
             "1,300 runs, about an hour and a half more on 2 cores.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="A behaviour parameter to fit; repeat for each (default: the "
                        "committed calibration's eight). A parameter no default run reads "
                        "is refused.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No stage log.")] = False,
) -> None:
    """Fit behavioural parameters by history matching: a posterior, recovery and a check.

    Design runs in waves, Gaussian-process emulators, posterior draws, parameter recovery and a
    posterior predictive check; stages are cached in --out, the JSON summary is written last."""
    import pandas as pd

    from sim.experiments.history_match import (
        BUDGETS,
        compare_posteriors,
        drifting_targets,
        history_match,
    )
    from sim.experiments.resources import check_count, check_seed

    if budget not in BUDGETS:
        raise _fail(f"--budget {budget!r}: allowed values are {', '.join(BUDGETS)}")
    settings = BUDGETS[budget]
    cores = os.cpu_count() or 1
    two = budget in ("default", "large")  # the small budget's runs are too short to share
    workers = workers if workers is not None else min(cores, 2 if two else 1)
    _check(check_count, workers, "--workers", 1)
    if agents is not None:
        _check(check_count, agents, "--agents", 1000)
    _check(check_seed, seed, 1)
    if refocus is not None:
        _check(check_count, refocus, "--refocus", 0)
    _check_file(reference, "--reference")
    if scale_agents is not None and scale_agents <= (agents or settings.agents):
        raise _fail(f"--scale-agents {scale_agents:,}: must be more than the calibration's "
                    f"{agents or settings.agents:,} persons a run")
    params = _fitted(param) if param else settings.params
    out = out or Path("runs") / f"calibrate-{budget}"
    _check_out(out)
    extra = {"budget": budget, "command": "migsim calibrate"}
    settings = replace(settings, workers=workers, seed=seed, agents=agents or settings.agents,
                       refocus=settings.refocus if refocus is None else refocus, extra=extra,
                       params=params)
    try:
        summ = history_match(settings, out, log=(lambda m: None) if quiet else typer.echo)
    except (ValueError, RuntimeError) as e:
        raise _fail(f"{e} (the stages finished so far stay in {out}; rerun to resume)"
                    ) from None
    tag = f"hm_{summ['version']}"
    post = pd.read_csv(out / f"{tag}_posterior.csv")
    t = Table(title=f"posterior ({len(post)} draws, {budget} budget) in {out}")
    for col in ("parameter", "5%", "median", "95%"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for p in summ["params"]:
        q = post[p].quantile([0.05, 0.5, 0.95]).to_numpy()
        t.add_row(p, *(f"{v:.4g}" for v in q))
    con = _out()
    con.print(t)
    cov = pd.DataFrame(summ["recovery_coverage90"]).T
    tau = summ.get("posterior", {}).get("tau")
    if tau is not None:
        con.print(f"likelihood tempered by {tau:.3f} (effective independent targets over "
                  f"targets; recovery: {summ.get('recovery_tau', 1.0):.3f})")
    mode = "refocused" if "refocused" in cov.index else "with_obs_error"
    con.print(f"recovery: mean coverage of the 90% intervals "
              f"{float(cov.loc[mode].mean()):.2f} over {settings.truths} truths ({mode}); "
              f"predictive check: {summ['ppc']['all_in_band_share']:.0%} of "
              f"{summ['ppc']['draws']} draws inside every band")
    dflt = summ.get("posterior", {}).get("defaults")
    if dflt:
        inside = sum(map(bool, dflt["inside_90"].values()))
        con.print(f"defaults: {inside} of {len(dflt['inside_90'])} inside their 90% intervals, "
                  f"on the edge of the highest-density region holding {dflt['hpd_mass']:.2f} "
                  "of the posterior's mass (0: its mode)")
    drift = drifting_targets(summ)
    if drift:
        worst = sorted(drift.items(), key=lambda kv: -abs(kv[1]))[:3]
        con.print(f"scale check: {len(drift)} of {len(summ['targets'])} targets move by more "
                  f"than half a half-band between {settings.agents:,} and "
                  f"{settings.scale_agents:,} persons (largest: "
                  + ", ".join(f"{k} {v:+.2f}" for k, v in worst)
                  + f"); this posterior is for runs of {settings.agents:,} persons")
    ref = reference
    if ref is None and budget in REFERENCES and REFERENCES[budget].is_file():
        ref = REFERENCES[budget]
    if ref is not None:
        cmp = compare_posteriors(post, pd.read_csv(ref))
        con.print(f"against {ref}: " + ("agrees" if cmp["agrees"].all() else "differs")
                  + " (|mean shift| <= 0.25 reference sd, sd ratio in [0.8, 1.25])")
        con.print(cmp.round(3).to_string(index=False))
    if scale_agents:
        _scale(tag, scale_agents, budget, workers, out, quiet)


def _fitted(names: list[str]) -> tuple[str, ...]:
    """The parameters of ``--param``, checked: scalar behaviour parameters (a close match
    named), no repeats, at least two, none that no default run of the targets' years reads."""
    from sim.core.params import ParamError, closest
    from sim.experiments.history_match import START, YEARS
    from sim.experiments.sensitivity import idle_parameters, scalar_parameters

    declared = scalar_parameters()
    for p in names:
        if p not in declared:
            near = closest(p, declared)
            raise _fail(f"--param {p}: not a scalar behaviour parameter"
                        + (f"; did you mean '{near}'?" if near else "")
                        + " (migsim params lists them)")
    twice = sorted({p for p in names if names.count(p) > 1})
    if twice:
        raise _fail(f"--param {', '.join(twice)}: given more than once")
    if len(names) < 2:
        raise _fail("--param: give at least two parameters to fit")
    try:
        idle = idle_parameters(names, START, YEARS)
    except ParamError as e:
        raise _fail(f"--param: {e}") from None
    if idle:
        raise _fail("; ".join(f"--param {p}: no default run reads it (it is read only when "
                              f"{cond}), so its posterior would be its prior"
                              for p, cond in idle.items()))
    return tuple(names)


def _scale(tag: str, agents: int, budget: str, workers: int, out: Path, quiet: bool) -> None:
    """The scale stages after the calibration; their last posterior and its check."""
    from sim.experiments.scale_stages import scale_stages

    try:
        summ = scale_stages(tag, agents, budget, workers, out,
                            log=(lambda m: None) if quiet else typer.echo)
    except (ValueError, RuntimeError) as e:
        raise _fail(f"{e} (the stages finished so far stay in {out}; rerun to resume)"
                    ) from None
    ppc, post = summ["ppc"], summ["posterior"]
    _out().print(
        f"posterior for runs of {agents:,} persons: {out / (summ['name'] + '_posterior.csv')} "
        f"(for migsim batch --posterior); predictive check at that scale: "
        f"{ppc['all_in_band_share']:.0%} of {ppc['draws']} draws inside every band "
        f"(predicted {post['predicted_all_in_band']:.0%})")
    if "recovery" in summ:
        rec = summ["recovery"]
        _out().print(
            f"its recovery: 90% intervals hold {rec['coverage90']['band_error']['all']:.0%} of "
            f"{rec['truths']} truths (goal 80-97%; {out / (summ['name'] + '_recovery.json')})")
