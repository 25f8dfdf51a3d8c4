"""A mechanism defined outside the package: returnees invest their savings in a local business.

    python examples/custom_mechanism.py
    migsim run baseline --agents 50000 --mechanism examples/custom_mechanism.py:ReturneeEnterprise

The seed report (1.6, 2.4) finds that returnees bring savings and skills home, yet "only a small
proportion establish small businesses"; the biggest hurdles are a lack of capital and of skilled
labour. This mechanism gives every person a savings account filled from wages while away, and
lets a returnee at home with enough savings start a business with a small yearly chance. It
declares two states per person (``nest_egg``, ``business``; the model's own ``enterprise``
mechanism, off by default, already owns a field named ``savings``), three behaviour parameters, one
random stream and one indicator (``returnee_businesses``, real persons); the engine allocates the
state, adds the parameters to the schema (so ``--set`` and scenario files accept them), records
the indicator in the run's table, and runs the step after ``pay`` every month. Nothing in the
package is edited. It feeds back into no other rule, so every other indicator of a run is
unchanged by it (``tests/test_custom_mechanism.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import Indicator, Mechanism, Param, StateField
from sim.core.encodings import HOME, NEVER_LEFT, RURAL
from sim.core.rng import uniform


@njit(cache=True)
def save_and_start(key, loc, hukou, first_left, wage, savings, business, save_share, capital,
                   p_start):
    """Migrants save a share of the wage paid; a returnee at home with ``capital`` saved starts
    a business with chance ``p_start`` this month (a returnee: at home, and ``first_left`` is not
    NEVER_LEFT). An owner who leaves again, or whose place falls vacant, closes the business.
    Returns the businesses run by returnees."""
    running = 0
    for i in range(loc.shape[0]):
        if hukou[i] != RURAL:
            business[i] = 0
            continue
        if loc[i] != HOME:
            business[i] = 0
            savings[i] += save_share * wage[i]
            continue
        if business[i] == 0 and first_left[i] != NEVER_LEFT and savings[i] >= capital:
            if uniform(key, i, 0) < p_start:
                business[i] = 1
                savings[i] -= capital
        running += business[i]
    return running


class ReturneeEnterprise(Mechanism):
    """Returnees invest savings from wages in a business at home (seed 1.6, 2.4)."""

    name = "returnee_enterprise"
    doc = "migrants save from wages; returnees with enough savings may start a business at home"
    after = "pay"  # wages of the month are known
    params = (
        Param("returnee_saving_share", 0.15, "share of wage", 0.0, 1.0,
              "assumption (seed 1.6: remittances and savings mostly go to consumption)",
              "share of the wage a migrant saves for the return", role="behaviour"),
        Param("enterprise_capital_rmb", 8000.0, "RMB (2000 prices)", 0.0, 1e6,
              "assumption (seed 1.6, 2.4: lack of capital is the biggest hurdle)",
              "savings needed to start a small business", role="behaviour"),
        Param("enterprise_start_rate_year", 0.05, "per year", 0.0, 1.0,
              "assumption (seed 1.6: only a small proportion establish small businesses)",
              "yearly chance a returnee with enough savings starts a business", role="behaviour"),
    )
    person_state = (
        StateField("nest_egg", "float32", "RMB (2000 prices) saved while away"),
        StateField("business", "int8", "1 = runs a business at home"),
    )
    results = (
        Indicator("returnee_businesses", "persons", "returnees running a business at home",
                  scaled=True),
    )
    streams = ("returnee_enterprise.start",)

    def step(self, sim) -> None:
        p, pars = sim.persons, sim.pars
        p_month = 1.0 - np.exp(-pars.enterprise_start_rate_year / 12.0)
        running = save_and_start(
            sim.key("returnee_enterprise.start"), p.loc, p.hukou, p.first_left, sim.buf.wage,
            p.nest_egg, p.business, pars.returnee_saving_share, pars.enterprise_capital_rmb,
            p_month,
        )
        sim.rec.scalars["returnee_businesses"][sim.t] = running


def main() -> None:
    import sim

    res = sim.Simulation(agents=50_000, seed=1, start_year=1990, years=12,
                         mechanisms=[ReturneeEnterprise()]).run()
    for year, v in zip(range(1990, 2002), res.annual("returnee_businesses"), strict=True):
        print(f"{year}: {v / 1e6:6.2f} million returnees run a business at home")


if __name__ == "__main__":
    main()
