"""Where the minimum wage binds: the share of formal demand in destination-sector cells whose
market wage level is below the local minimum, and the mean level over the minimum, in December
of chosen years: the labour indicators ``min_wage_binding_share`` and ``wage_level_over_minimum``
of one run from 1985 (calibration/README.md, "Minimum wages at their published level" and
"Raises from the wage paid").

    python calibration/min_wage_binding.py --agents 200000 --seed 5 --years 1999 2005 2010 2019
    python calibration/min_wage_binding.py --held --latent   # the rules before version 0.18

``--held`` holds the 2010 ratio (0.257) after 2010 instead of the published tables
(``sim/data/min_wage_ratio.csv``, the default since 0.18); ``--latent`` sets
``wage_raise_from_paid`` to 0 (raises start from the market level, not from the wage paid).
"""

from __future__ import annotations

import argparse

from sim import Simulation
from sim.mechanisms.wages import published_min_wage_path


def held_path() -> dict:
    """The default ``min_wage_ratio`` steps up to 2010, held after (the path before 0.18)."""
    return {k: v for k, v in published_min_wage_path().items()
            if k == "mode" or int(k) <= 2010}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--years", type=int, nargs="+", default=[1999, 2005, 2010, 2015, 2019])
    ap.add_argument("--held", action="store_true", help="hold the 2010 ratio after 2010")
    ap.add_argument("--latent", action="store_true", help="wage_raise_from_paid = 0")
    a = ap.parse_args()
    pars: dict = {"min_wage_ratio": held_path()} if a.held else {}
    if a.latent:
        pars["wage_raise_from_paid"] = 0.0
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
