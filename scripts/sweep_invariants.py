"""Invariants over the whole parameter space: a Latin hypercube of parameter vectors, each run
small and checked every month (:mod:`sim.experiments.invariants`).

    NUMBA_NUM_THREADS=1 python scripts/sweep_invariants.py --n 300 --workers 2

writes ``scripts/results/sweep_invariants.json`` (every vector's failures, with the vector) and
``scripts/results/sweep_invariants.md`` (the summary). ``tests/test_parameter_space.py`` runs a
small seeded version of the same sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _one(job: tuple[int, dict[str, Any], int, int]) -> dict[str, Any]:
    from sim.experiments.invariants import run_checked

    i, vec, agents, years = job
    params = {k: v for k, v in vec.items() if k not in ("start_year", "seed")}
    t0 = time.perf_counter()
    res = run_checked(params, agents=agents, seed=vec["seed"], start_year=vec["start_year"],
                      years=years)
    return {"index": i, "seconds": round(time.perf_counter() - t0, 2), **res}


def _kind(failure: str) -> str:
    """The invariant of a failure line (``month t: invariant: detail``)."""
    parts = failure.split(": ")
    return parts[1] if failure.startswith("month ") and len(parts) > 1 else parts[0]


def _git() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip() or None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="parameter vectors")
    ap.add_argument("--seed", type=int, default=20261201, help="seed of the hypercube")
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "sweep_invariants.json")
    args = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from sim.experiments.invariants import sample_vectors

    t0 = time.perf_counter()
    vectors = sample_vectors(args.n, args.seed, years=args.years)
    jobs = [(i, v, args.agents, args.years) for i, v in enumerate(vectors)]
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers) as pool:
        for k, r in enumerate(pool.map(_one, jobs, chunksize=2), 1):
            results.append(r)
            if r["failures"]:
                print(f"vector {r['index']}: {r['failures'][0]}", flush=True)
            if k % 25 == 0:
                print(f"{k}/{len(jobs)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    failed = [r for r in results if r["failures"]]
    refused = [r for r in results if r.get("refused")]
    kinds = Counter(_kind(f) for r in failed for f in set(r["failures"]))
    record = {
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": _git(), "python": platform.python_version(),
        "command": [sys.executable, *sys.argv],
        "design": {"kind": "latin hypercube (scipy.stats.qmc)", "n": args.n,
                   "seed": args.seed, "agents": args.agents, "years": args.years},
        "n_vectors": len(results), "n_failed": len(failed), "n_refused": len(refused),
        "refused": [{"index": r["index"], "why": r["refused"]} for r in refused],
        "seconds": round(time.perf_counter() - t0, 1),
        "failures_by_invariant": dict(kinds.most_common()),
        "failures": [{**r, "vector": vectors[r["index"]]} for r in failed],
        "ok": [{"index": r["index"], "seconds": r["seconds"], "migrants_end": r.get(
            "migrants_end"), "outflow": r.get("outflow")} for r in results
            if not r["failures"] and not r.get("refused")],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    md = [f"# Invariant sweep ({record['created_utc']})", "",
          f"{len(results)} parameter vectors (Latin hypercube, seed {args.seed}, every numeric "
          f"parameter uniform in its declared range, bools 50/50), {args.agents} agents, "
          f"{args.years} years each, checked every month; git {record['git_commit']}.", "",
          f"**{len(failed)} vectors broke an invariant.** {len(refused)} were refused before "
          "the build, cleanly, because their values do not fit together (`Mechanism.check`, "
          "e.g. parent_age_min above parent_age_max); they are not failures.", ""]
    if kinds:
        md += ["| invariant | vectors |", "|---|---:|"]
        md += [f"| {k} | {v} |" for k, v in kinds.most_common()]
        md += ["", "First failure of each failing vector (full vectors in the JSON):", ""]
        md += [f"- vector {r['index']}: {r['failures'][0]}" for r in failed]
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print(f"{len(results)} vectors, {len(failed)} failed, {len(refused)} refused; {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
