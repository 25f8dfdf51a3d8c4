"""Where married couples are in December of the last year, by ``couple_apart_cost``.

    python scripts/couples.py --agents 100000 --seed 1 --costs 0 1 2 [--return-log X]

prints, for each cost (and ``return_spouse_log`` X, default 0), the share of married migrants
living with their spouse in the same destination and the couples with only the wife or only
the husband away (agents, not scaled), from ``Persons.spouse`` and ``Persons.loc`` at the end
of a 1985-2005 run (``calibration/README.md``, "Couples deciding together"), and the share away
of married rural men and women by age group.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from sim import Simulation
from sim.core.encodings import FEMALE, HOME, NO_PERSON, RURAL

AGES = ((15, 24), (25, 29), (30, 34), (35, 39), (40, 49), (50, 64))


def couples(cost: float, agents: int, seed: int, return_log: float = 0.0, start: int = 1985,
            years: int = 21) -> dict[str, Any]:
    """The December counts of one run (see the module docstring)."""
    sim = Simulation({"couple_apart_cost": cost, "return_spouse_log": return_log},
                     agents=agents, seed=seed, start_year=start, years=years, threads=1)
    sim.run()
    p = sim.persons
    wives = np.flatnonzero((p.spouse != NO_PERSON) & (p.sex == FEMALE) & (p.hukou == RURAL))
    husbands = p.spouse[wives]
    w_away = p.loc[wives] != HOME
    h_away = (p.loc[husbands] != HOME) & (p.hukou[husbands] == RURAL)
    together = w_away & h_away & (p.loc[wives] == p.loc[husbands])
    married_migrants = np.count_nonzero((p.loc != HOME) & (p.hukou == RURAL)
                                        & (p.spouse != NO_PERSON))
    married = (p.spouse != NO_PERSON) & (p.hukou == RURAL)
    away = p.loc != HOME
    age = p.age.astype(int)
    by_age = {}
    for sex, name in ((FEMALE, "women"), (1 - FEMALE, "men")):
        for lo, hi in AGES:
            m = married & (p.sex == sex) & (age >= lo) & (age <= hi)
            by_age[f"{name} {lo}-{hi}"] = float(away[m].mean()) if m.any() else float("nan")
        m = married & (p.sex == sex)
        by_age[f"{name} all"] = float(away[m].mean()) if m.any() else float("nan")
    return {
        "cost": cost,
        "living_with_spouse": 2 * np.count_nonzero(together) / max(married_migrants, 1),
        "only_wife_away": int(np.count_nonzero(w_away & ~h_away)),
        "only_husband_away": int(np.count_nonzero(~w_away & h_away)),
        "married_away_by_age": by_age,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--costs", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    ap.add_argument("--return-log", type=float, default=0.0, help="return_spouse_log")
    a = ap.parse_args()
    for c in a.costs:
        r = couples(c, a.agents, a.seed, a.return_log)
        print(f"cost {c:g}: living with spouse {r['living_with_spouse']:.3f}, only wife away "
              f"{r['only_wife_away']:,}, only husband away {r['only_husband_away']:,}")
        print("  married rural persons away: " + ", ".join(
            f"{k} {v:.3f}" for k, v in r["married_away_by_age"].items()))


if __name__ == "__main__":
    main()
