"""Small runs, where a month's fixed cost dominates (EMA experiments, calibration designs,
notebooks, the test suite): run time of ``baseline_2015`` at 2,000 persons 2005-2015 (5 seeds)
and 20,000 persons 1985-2006 (3 seeds), best and median, in this process after a warm-up.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_small.py [label]

To compare two versions, run it alternately with each on ``PYTHONPATH`` (a worktree of the
other commit): the machine's speed drifts between runs.
"""

from __future__ import annotations

import sys
import time

from sim import Simulation
from sim.experiments.scenario import load_scenario

CASES = [(2_000, 2005, 11, 5), (20_000, 1985, 22, 3)]  # persons, start, years, seeds


def main(label: str = "") -> str:
    """One line: label, then persons: best/median seconds for each case."""
    pars = load_scenario("baseline_2015").to_params()
    Simulation(pars, agents=2000, seed=1, start_year=2005, years=2, threads=1).run()
    out = [label]
    for agents, start, years, reps in CASES:
        times = []
        for r in range(reps):
            s = Simulation(pars, agents=agents, seed=1 + r, start_year=start, years=years,
                           threads=1)
            t0 = time.perf_counter()
            s.run()
            times.append(time.perf_counter() - t0)
        times.sort()
        out.append(f"{agents}: {times[0]:.3f}/{times[len(times) // 2]:.3f} s")
    return "  ".join(out)


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else ""), flush=True)
