"""Which parameters no rule reads at the defaults: each scalar parameter moved alone.

Every scalar float parameter of the schema (paths, names and switches left out) is moved alone
from its default (to 1.5 times it, clipped to its range, or half of it where that is the same;
a default of 0 to a quarter of the way up its range) and the run's tidy series compared, to the
bit, with a default run (10,000 persons, seed 5, 1985-2015, one numba thread). A parameter that
changes nothing is idle at the defaults: ``tests/test_active_when.py`` checks that those are
exactly the parameters declared with ``active_when`` (the switch they wait for), besides the
ones named in ``RARE`` (idle here only because their event is rare at this scale, checked at
200,000 persons). Usage (about 15 minutes on one core)::

    NUMBA_NUM_THREADS=1 python calibration/inert_parameters.py [--agents 10000]

Writes ``calibration/results/inert_parameters_<version>.json`` atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# idle at 10,000 persons by rarity, not by a switch: {name: what shows it}
RARE = {
    "conversion_rate_megacity": "conversion in a megacity needs senior schooling, 12 months "
    "away and a draw under 0.001 a year; moved to 0.0015 it changes a 200,000-person run "
    "(seed 5, 1985-2015)",
}


def main() -> None:
    import numpy as np

    import sim
    from sim.engine.registry import schema
    from sim.experiments.emulator import atomic_write
    from sim.experiments.sensitivity import moved_value

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=31)
    ap.add_argument("--out", type=Path, default=Path("calibration/results"))
    a = ap.parse_args()
    sch = schema()
    names = [k for k, p in sch.items()
             if p.kind is float and not p.choices and not isinstance(p.default, dict)]

    def series(over: dict) -> np.ndarray:
        r = sim.Simulation(over, agents=a.agents, seed=5, start_year=1985, years=a.years).run()
        return r.to_frame().value.to_numpy()

    t0 = time.time()
    base = series({})
    out = {}
    for k in names:
        v = moved_value(sch[k])
        x = series({k: v})
        out[k] = {"role": sch[k].role, "default": float(sch[k].default), "moved_to": v,
                  "inert": bool(x.shape == base.shape and np.array_equal(x, base)),
                  "active_when": sch[k].active_when}
        print(k, out[k]["inert"], flush=True)
    doc = {"version": sim.__version__, "agents": a.agents, "seed": 5, "start_year": 1985,
           "years": a.years, "seconds": round(time.time() - t0, 1), "rare": RARE,
           "parameters": out}
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"inert_parameters_{sim.__version__}.json"
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(doc, indent=1) + "\n"))
    idle = sorted(k for k, v in out.items() if v["inert"])
    print(f"{len(idle)} of {len(out)} idle at the defaults: {', '.join(idle)}; wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
