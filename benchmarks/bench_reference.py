"""The fast core against the Mesa reference model of the same rules, in one run each.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_reference.py        # ~2-4 minutes

The reference model (``sim.mesa.reference.ReferenceModel``: one Python object per person and
household, one method per mechanism, docked against the core in ``tests/test_docking.py``) runs
at 20,000 persons, the core at 1e6, both one thread, from 1995 (24 months for the core, 12 for
the reference). The ratio of their agent-steps per second is what the core's structure of arrays
and numba kernels buy. Writes ``benchmarks/results/reference-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference-agents", type=int, default=20_000)
    ap.add_argument("--reference-months", type=int, default=12)
    ap.add_argument("--core-agents", type=int, default=1_000_000)
    ap.add_argument("--core-months", type=int, default=24)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import sim
    from sim.mesa.reference import ReferenceModel

    sim.Simulation(agents=2_000, seed=1, start_year=1995, years=1, threads=1).run()  # JIT
    core = sim.Simulation(agents=a.core_agents, seed=1, start_year=1995,
                          years=-(-a.core_months // 12), threads=1)
    core.run()
    core_rate = a.core_agents * core.n_months / core.run_seconds

    t0 = time.perf_counter()
    ref = ReferenceModel(agents=a.reference_agents, seed=1, start_year=1995,
                         years=-(-a.reference_months // 12))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(a.reference_months):
        ref.step()
    ref_s = time.perf_counter() - t0
    ref_rate = a.reference_agents * a.reference_months / ref_s
    out = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "python": platform.python_version(),
        "load_1min": os.getloadavg()[0],
        "core": {"agents": a.core_agents, "months": core.n_months, "threads": 1,
                 "run_seconds": core.run_seconds, "agent_steps_per_second": core_rate},
        "reference": {"agents": a.reference_agents, "months": a.reference_months,
                      "build_seconds": build_s, "run_seconds": ref_s,
                      "agent_steps_per_second": ref_rate},
        "ratio": core_rate / ref_rate,
    }
    path = a.out or HERE / "results" / f"reference-{out['date']}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"core {core_rate / 1e6:.2f} M agent-steps/s ({a.core_agents:,} persons), reference "
          f"{ref_rate / 1e3:.1f} k agent-steps/s ({a.reference_agents:,} persons): ratio "
          f"{core_rate / ref_rate:,.0f}; {path}")


if __name__ == "__main__":
    main()
