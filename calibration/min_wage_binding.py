"""Where the minimum wage binds: the share of formal demand in destination-sector cells whose
market wage level is below the local minimum, and the mean level over the minimum, in December
of chosen years: the labour indicators ``min_wage_binding_share`` and ``wage_level_over_minimum``
of one run from 1985 (calibration/README.md, "Minimum wages at their published level").

    python calibration/min_wage_binding.py --agents 200000 --seed 5 --years 1999 2005 2010 2019
    python calibration/min_wage_binding.py --tables   # the published ratio from 2011

``--tables`` replaces the held ratio after 2010 by ``sim/data/min_wage_ratio.csv``'s ``ratio``.
"""

from __future__ import annotations

import argparse
import csv
from importlib import resources

from sim import Simulation
from sim.mechanisms.wages import PARAMS


def tables_path() -> dict:
    """The default ``min_wage_ratio`` steps with the published ratio for 2011 on."""
    path = dict(next(p.default for p in PARAMS if p.name == "min_wage_ratio"))
    with resources.files("sim.data").joinpath("min_wage_ratio.csv").open() as f:
        for row in csv.DictReader(f):
            if int(row["year"]) >= 2011:
                path[row["year"]] = float(row["ratio"])
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--years", type=int, nargs="+", default=[1999, 2005, 2010, 2015, 2019])
    ap.add_argument("--tables", action="store_true", help="published ratio from 2011")
    a = ap.parse_args()
    pars = {"min_wage_ratio": tables_path()} if a.tables else {}
    last = max(a.years)
    res = Simulation(pars, agents=a.agents, seed=a.seed, start_year=1985,
                     years=last - 1984).run()
    share, ratio = (res.annual(k) for k in ("min_wage_binding_share",
                                             "wage_level_over_minimum"))
    print("year  demand below the minimum  level over minimum  (December)")
    for y in sorted(a.years):
        print(f"{y}  {share[y - 1985]:24.3f}  {ratio[y - 1985]:18.2f}")


if __name__ == "__main__":
    main()
