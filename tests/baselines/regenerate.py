"""Regenerate the regression baselines in this folder: ``python tests/baselines/regenerate.py``.

Each case is a small, fast run whose ``Results.summary()`` (every total and share of the last
year) is stored as JSON together with the package version and the case definition.
``tests/test_regression.py`` re-runs the cases and compares. Regenerate only after a change
that is meant to move the model's output, and say so in the commit message: the diff of these
files is the record of what moved.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (scenario name or None, parameter overrides, start year, years)
CASES: dict[str, tuple[str | None, dict, int, int]] = {
    "baseline_1985_1996": (None, {}, 1985, 12),
    "closed_population_1985_1996": (None, {"cohort_entry": False}, 1985, 12),
    "hukou_small_medium_open_2005_2012": ("hukou_small_medium_open", {}, 2005, 8),
}
AGENTS = 20_000
SEED = 7


def run_case(name: str) -> dict:
    """Summary of one case (JSON-ready: NaN stored as None)."""
    from sim import Simulation
    from sim.experiments.scenario import load_scenario

    scenario, overrides, start, years = CASES[name]
    params = dict(load_scenario(scenario).params) if scenario else {}
    params.update(overrides)
    sim = Simulation(params, agents=AGENTS, seed=SEED, start_year=start, years=years)
    sim.run()
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in sim.results().summary().items()}


def path_of(name: str) -> Path:
    return HERE / f"{name}.json"


def main() -> None:
    from sim import __version__

    for name in sys.argv[1:] or CASES:
        scenario, overrides, start, years = CASES[name]
        doc = {"version": __version__, "agents": AGENTS, "seed": SEED, "scenario": scenario,
               "overrides": overrides, "start_year": start, "years": years,
               "summary": run_case(name)}
        tmp = path_of(name).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        tmp.replace(path_of(name))
        print(f"wrote {path_of(name).relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
