"""A 1:10 China on one machine: the default baseline from 1985 to 2025 at 5e6 and 5e7 persons.

    python benchmarks/bench_china.py --agents 5e6 5e7 --threads 2     # ~30 minutes on 2 cores

Each size runs in its own subprocess (so peak memory is its own), with the full model of the
default scenario, 41 years (492 months). Records wall time (build and run), agent-steps per
second, the state bytes (``Simulation.memory_bytes()``) and the peak RSS, in
``benchmarks/results/china-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(agents: int, threads: int, start: int, years: int) -> dict:
    import sim

    t0 = time.perf_counter()
    s = sim.Simulation(agents=agents, seed=1, start_year=start, years=years, threads=threads)
    build = time.perf_counter() - t0
    res = s.run()
    mem = s.memory_bytes()
    return {
        "agents": agents, "threads": threads, "start_year": start, "years": years,
        "slots": s.persons.n, "build_seconds": build, "run_seconds": s.run_seconds,
        "wall_seconds": build + s.run_seconds,
        "agent_steps_per_second": agents * s.n_months / s.run_seconds,
        "state_bytes": sum(mem.values()), "memory_bytes": mem,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "migrant_stock_last": float(res.annual("migrant_stock")[-1]),
        "stage_seconds": dict(s.timings),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=float, nargs="+", default=[5e6, 5e7])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--start-year", type=int, default=1985)
    ap.add_argument("--years", type=int, default=41)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(int(a.agents[0]), a.threads, a.start_year, a.years)))
        return
    cases = []
    for n in a.agents:
        cmd = [sys.executable, __file__, "--child", "--agents", str(n), "--threads",
               str(a.threads), "--start-year", str(a.start_year), "--years", str(a.years)]
        env = {**os.environ, "NUMBA_NUM_THREADS": str(a.threads)}
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        case = json.loads(done.stdout.strip().splitlines()[-1])
        case["process_seconds"] = time.perf_counter() - t0
        cases.append(case)
        print(f"{int(n):>12,} persons: build {case['build_seconds']:.0f} s, run "
              f"{case['run_seconds']:.0f} s, {case['agent_steps_per_second'] / 1e6:.1f} M "
              f"agent-steps/s, state {case['state_bytes'] / n:.0f} B/person, peak RSS "
              f"{case['peak_rss_bytes'] / 2**30:.1f} GiB", flush=True)
    out = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "python": platform.python_version(),
           "command": [sys.executable, *sys.argv], "cases": cases}
    path = a.out or HERE / "results" / f"china-{out['date']}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
