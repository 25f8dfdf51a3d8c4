"""A batch plan: scenarios x parameter points x replicates, run ids and seeds.

Replicate ``r`` uses seed ``S + r`` in every scenario and every point (common random numbers);
in a batch over posterior draws with ``M`` seeds per draw it also uses draw ``r // M``.
:func:`plan_batch` validates everything before anything is written; :func:`batch_differences`
says whether a batch directory holds the same batch (to resume) or another one.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError
from sim.io.files import RUNS

FORMAT = 1
# batch.json fields that define a batch: resuming with any of them different is refused
IDENTITY = ("scenarios", "replicates", "seed", "agents", "start_year", "years", "sets", "sweep",
            "points", "posterior", "seeds_per_draw")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; :func:`run_one` is a pure function of it."""

    out: str                       # batch directory
    run_id: str
    scenario: str
    scenario_file: str
    scenario_params: dict[str, Any]
    sets: dict[str, Any]           # fixed overrides (``--set key=value``), all points
    overrides: dict[str, Any]      # this point's overrides
    point_id: int
    replicate: int
    seed: int
    agents: int
    start_year: int
    years: int
    threads: int = 1
    scenario_chain: tuple[str, ...] = ()
    plots: bool = False
    state: str = ""                # a saved state to resume from (a forked batch), or ""
    save_year: int = -1            # a trunk: run to the end of this year and save ``state``
    draw: dict[str, Any] = field(default_factory=dict)  # this replicate's posterior draw
    draw_index: int = -1           # its row in the posterior file (0-based), -1 without one

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / RUNS / self.run_id


def run_id(scenario: str, point: int, replicate: int) -> str:
    """Name of a run directory: ``<scenario>__p<point:03d>__r<rep:03d>``."""
    return f"{scenario}__p{point:03d}__r{replicate:03d}"


@dataclass
class BatchPlan:
    """A validated batch; nothing is written until :func:`run_batch` executes it."""

    out: Path
    scenarios: list[dict[str, Any]]   # name, file, chain, description, params
    replicates: int
    seed: int
    agents: int
    start_year: int
    years: int
    sets: dict[str, Any]
    sweep: dict[str, list[Any]]
    points: list[dict[str, Any]]      # [{point_id, overrides}]
    design: dict[str, Any] | None = None
    threads_per_run: int = 1
    command: list[str] | None = None
    draws: list[dict[str, float]] | None = None  # the posterior draws (K)
    posterior: dict[str, Any] | None = None       # where the draws come from (batch.json)
    seeds_per_draw: int = 1                       # M: replicate r uses draw r // M
    warnings: list[str] = field(default_factory=list)  # overrides of a scenario's own values

    def draw_of(self, replicate: int) -> int:
        """The posterior draw (row index) replicate ``replicate`` uses; -1 without draws."""
        return replicate // self.seeds_per_draw if self.draws else -1

    def specs(self) -> list[RunSpec]:
        """All runs, by point, then replicate, then scenario (so a replicate's scenarios, which
        are compared with each other, finish close together)."""
        out = []
        for pt in self.points:
            for r in range(self.replicates):
                for s in self.scenarios:
                    out.append(RunSpec(
                        out=str(self.out), run_id=run_id(s["name"], pt["point_id"], r),
                        scenario=s["name"], scenario_file=s["file"],
                        scenario_params=s["params"], sets=self.sets,
                        overrides=pt["overrides"], point_id=pt["point_id"], replicate=r,
                        seed=self.seed + r, agents=self.agents, start_year=self.start_year,
                        years=self.years, threads=self.threads_per_run,
                        scenario_chain=tuple(s["chain"]),
                        draw=self.draws[self.draw_of(r)] if self.draws else {},
                        draw_index=self.draw_of(r)))
        return out

    def describe(self) -> dict[str, Any]:
        """The content of ``batch.json``."""
        import sim
        from sim.io.output import git_commit

        return {
            "format": FORMAT, "kind": "migsim-batch",
            "scenarios": self.scenarios, "replicates": self.replicates, "seed": self.seed,
            "seeds": [self.seed + r for r in range(self.replicates)], "agents": self.agents,
            "start_year": self.start_year, "years": self.years, "sets": self.sets,
            "sweep": self.sweep, "design": self.design, "points": self.points,
            "n_runs": len(self.points) * self.replicates * len(self.scenarios),
            "threads_per_run": self.threads_per_run, "version": sim.__version__,
            "git_commit": git_commit(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": self.command, "posterior": self.posterior,
            "seeds_per_draw": self.seeds_per_draw if self.posterior else None,
        }


@dataclass
class BatchSummary:
    """What :func:`run_batch` did."""

    out: Path
    total: int
    done: int
    skipped: int
    failed: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def line(self) -> str:
        return (f"batch {self.out}: {self.total} runs: {self.done} done, {self.skipped} already "
                f"complete, {self.failed} failed ({self.seconds:.1f} s)")



def plan_batch(scenarios: Sequence[str | Path], *, out: str | Path, replicates: int = 1,
               agents: int = 200_000, seed: int = 1, years: int | None = None,
               start_year: int | None = None,
               sets: Iterable[str] | Mapping[str, Any] | None = None,
               design: str | Path | None = None, threads_per_run: int = 1,
               command: list[str] | None = None, posterior: str | Path | None = None,
               draws: int | None = None, seeds_per_draw: int | None = None) -> BatchPlan:
    """Load and validate everything (scenarios, overrides, every point against every scenario,
    posterior draws) without running or writing anything; raise :class:`BatchError` naming the
    problem. With ``posterior`` (a CSV of draws) there are ``draws`` draws K (default
    ``replicates``) and ``seeds_per_draw`` seeds M per draw (default 1): K * M replicates,
    replicate r with seed S + r and draw r // M (:mod:`sim.experiments.posterior`)."""
    from sim.core.params import ParamError
    from sim.experiments.design import parse_sets, read_design
    from sim.experiments.scenario import ScenarioError, load_scenario
    from sim.io.output import jsonable

    if isinstance(scenarios, str | Path):
        scenarios = [scenarios]
    post = None
    per_draw = 1 if seeds_per_draw is None else seeds_per_draw
    if isinstance(per_draw, bool) or not isinstance(per_draw, int) or per_draw < 1:
        raise BatchError(f"seeds_per_draw must be an integer >= 1, got {seeds_per_draw!r}")
    if posterior is not None:
        from sim.experiments.posterior import read_draws

        post = read_draws(posterior, replicates if draws is None else draws)
        replicates = len(post[0]) * per_draw
    elif draws is not None:
        raise BatchError("draws needs a posterior file (--posterior FILE)")
    elif seeds_per_draw is not None:
        raise BatchError("seeds_per_draw needs a posterior file (--posterior FILE)")
    if not scenarios:
        raise BatchError("no scenario given")
    for name, value, lo in (("replicates", replicates, 1), ("agents", agents, 1),
                            ("seed", seed, 0), ("threads_per_run", threads_per_run, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise BatchError(f"{name} must be an integer >= {lo}, got {value!r}")
    if seed + replicates - 1 >= 2**63:
        raise BatchError(f"seeds {seed}..{seed + replicates - 1} exceed 2**63 - 1")
    loaded, seen = [], {}
    for s in scenarios:
        try:
            scn = load_scenario(s)
        except ScenarioError as e:
            raise BatchError(str(e)) from None
        if not _SAFE_NAME.fullmatch(scn.name) or "__" in scn.name:
            raise BatchError(f"scenario name {scn.name!r} ({scn.path}) cannot name a run "
                             "directory: use letters, digits, '.', '-', '_' (no '__')")
        if scn.name in seen:
            raise BatchError(f"two scenarios are named '{scn.name}' ({seen[scn.name]} and "
                             f"{scn.path}); give one a different name")
        seen[scn.name] = scn.path
        loaded.append(scn)
    y0, n = start_year, years
    for label, given, attr in (("start_year", start_year, "start_year"),
                               ("years", years, "years")):
        if given is None:
            vals = {getattr(scn, attr) for scn in loaded}
            if len(vals) > 1:
                each = ", ".join(f"{scn.name}: {getattr(scn, attr)}" for scn in loaded)
                flag = "--" + label.replace("_", "-")
                raise BatchError(f"scenarios disagree on {label} ({each}); pass {flag}")
            given = vals.pop()
        if label == "start_year":
            y0 = given
        else:
            n = given
    if not 1949 <= y0 <= 2100:
        raise BatchError(f"start_year must be in [1949, 2100], got {y0}")
    if not 1 <= n <= 200:
        raise BatchError(f"years must be in [1, 200], got {n}")
    fixed, sweep = parse_sets(sets)
    design_points: list[dict[str, Any]] = [{}]
    design_info = None
    if design is not None:
        design_points, design_info = read_design(design)
        if not design_points:
            raise BatchError(f"design {design} has no points")
        keys = set().union(*design_points)
        both = sorted(keys & (set(fixed) | set(sweep)))
        if both:
            raise BatchError(f"parameters set both by --set and by design {design}: "
                             f"{', '.join(both)}")
    grid = [dict(zip(sweep, combo, strict=True)) for combo in itertools.product(*sweep.values())]
    points = [{"point_id": i, "overrides": {**d, **g}}
              for i, (d, g) in enumerate(itertools.product(design_points, grid))]
    # every point against every scenario: the exact parameters each run will use
    inert: dict[str, list[str]] = {}  # parameters set that no rule reads: message -> scenarios
    for scn in loaded:
        base = scn.to_params()
        for pt in points:
            for r, d in enumerate(post[0] if post else [{}]):
                try:
                    resolved = base.copy().update(fixed, where="--set").update(
                        pt["overrides"], where=f"point {pt['point_id']}").update(
                        d, where=f"posterior draw {r + 1}")
                except (ParamError, TypeError, ValueError) as e:
                    raise BatchError(f"scenario {scn.name}, point {pt['point_id']}: {e}") from None
                for msg in resolved.inert(range(y0, y0 + n)).values():
                    inert.setdefault(msg, []).append(scn.name)
    replaced = []  # an override of a key a scenario sets erases that scenario's difference
    for scn in loaded:
        replaced += scn.replaced_by(fixed) + scn.replaced_by(sweep, "--set (sweep)")
        if design is not None:
            replaced += scn.replaced_by(set().union(*design_points), f"--design {design}")
        if post:
            replaced += scn.replaced_by(post[0][0], f"--posterior {posterior}")
    replaced += [f"{msg} (scenario {', '.join(dict.fromkeys(names))})"
                 for msg, names in inert.items()]
    scen = [{"name": scn.name, "file": str(scn.path), "chain": [str(c) for c in scn.chain],
             "description": scn.description, "params": jsonable(scn.params)} for scn in loaded]
    return BatchPlan(out=Path(out).absolute(), scenarios=scen, replicates=replicates, seed=seed,
                     agents=agents, start_year=y0, years=n, sets=fixed, sweep=sweep,
                     points=points, design=design_info, threads_per_run=threads_per_run,
                     command=command, draws=post[0] if post else None,
                     posterior=post[1] if post else None, seeds_per_draw=per_draw,
                     warnings=replaced)



def _short(v: Any, width: int = 160) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= width else s[: width - 3] + "..."


def batch_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The defining fields (``IDENTITY``) in which two batch descriptions differ."""
    from sim.io.output import jsonable

    old, new = jsonable(old), jsonable(new)
    diffs = []
    for key in IDENTITY:
        a, b = old.get(key), new.get(key)
        if key == "seeds_per_draw":  # batch.json written before seeds_per_draw: one per draw
            a, b = (d.get(key, 1 if d.get("posterior") else None) for d in (old, new))
        if key == "scenarios" and isinstance(a, list) and isinstance(b, list):
            a = [{k: s.get(k) for k in ("name", "file", "params")} for s in a]
            b = [{k: s.get(k) for k in ("name", "file", "params")} for s in b]
            names_a, names_b = [s["name"] for s in a], [s["name"] for s in b]
            if names_a != names_b:
                diffs.append(f"scenarios: {names_a} in batch.json, {names_b} now")
                continue
            for sa, sb in zip(a, b, strict=True):
                if sa["file"] != sb["file"]:
                    diffs.append(f"scenario {sa['name']}: file {sa['file']} in batch.json, "
                                 f"{sb['file']} now")
                if sa["params"] != sb["params"]:
                    keys = sorted(k for k in set(sa["params"]) | set(sb["params"])
                                  if sa["params"].get(k) != sb["params"].get(k))
                    diffs.append(f"scenario {sa['name']}: parameters changed: {', '.join(keys)}")
            continue
        if key == "points" and isinstance(a, list) and isinstance(b, list) and len(a) != len(b):
            diffs.append(f"points: {len(a)} in batch.json, {len(b)} now")
            continue
        if a != b:
            diffs.append(f"{key}: {_short(a)} in batch.json, {_short(b)} now")
    return diffs


__all__ = ["FORMAT", "IDENTITY", "BatchPlan", "BatchSummary", "RunSpec", "batch_differences",
           "plan_batch", "run_id"]
