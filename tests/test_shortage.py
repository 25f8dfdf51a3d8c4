"""Unfilled openings stay small while the rural surplus lasts (issue 11; seed 1.1, 1.2, 1.4).

The default baseline from 1985 to 2030 (200,000 agents, seed 5) should have no year's national
unfilled share of migrant labour demand above 0.10, and no destination above 0.25 for more than
two consecutive years. Since version 0.9 (the initial stock placed in arrival rounds, the
1985 demand at the seed's two million, wage-elastic demand with the scale effect, the local
workforce growing again from 2012; calibration/README.md, "Markets that clear from the start")
the defaults meet both rules from 1987 to 2030 (at this seed: at most 0.093, in 2025-2030; the
longest spell of a destination above 0.25 is two years). The first two years do not: 0.26 in
1985 and 0.12 in 1986, while demand for migrants more than doubles in 1985 (urban jobs grow
with a 13% GDP growth, the locals' workforce 4%) and the stock cannot follow without
overshooting the seed's two million of the mid-1980s. That test is a strict expected failure:
it passes the day the defaults meet the rule, and then the mark must go. At 60,000 agents the
unfilled share is biased upwards (a market of a few agents is all or nothing), hence the scale.
Destinations holding under 0.5% of national demand are left out of the second rule: at this
scale they have a few dozen openings, so one agent is several points of their rate (see
docs/markets/formal.md). The unit test checks the spell arithmetic on a known series.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.experiments.shortage import ShortageReport, shortage_report

NATIONAL_MAX, LOCAL_MAX, LOCAL_YEARS, MIN_SHARE = 0.10, 0.25, 2, 0.005


def test_longest_spell_counts_consecutive_years():
    by_dest = np.array([[0.3, 0.1], [0.3, 0.3], [0.1, 0.3], [0.3, 0.3], [0.3, 0.1]])
    share = np.array([[0.5, 0.5]] * 5)
    rep = ShortageReport(np.arange(5), by_dest.mean(1), by_dest, share)
    np.testing.assert_array_equal(rep.longest_spell(0.25), [2, 3])
    share[:, 1] = 0.001  # too small a market to count
    rep = ShortageReport(np.arange(5), by_dest.mean(1), by_dest, share)
    np.testing.assert_array_equal(rep.longest_spell(0.25, min_share=0.005), [2, 0])


@pytest.fixture(scope="module")
def report():
    sim = Simulation(agents=200_000, seed=5, start_year=1985, years=46)
    return shortage_report(sim.run())


START_UP = pytest.mark.xfail(
    strict=True, reason="issue 11: openings unfilled in 1985 and 1986, the run's start-up (above)"
)


def test_national_shortage_small_after_start_up(report):
    later = report.years >= 1987
    worst = int(np.argmax(np.where(later, report.national, -1.0)))
    assert report.national[later].max() <= NATIONAL_MAX, (
        f"national unfilled share {report.national[worst]:.3f} in {report.years[worst]}"
    )


@START_UP
def test_national_shortage_small_every_year(report):
    worst = int(np.argmax(report.national))
    assert report.national.max() <= NATIONAL_MAX, (
        f"national unfilled share {report.national[worst]:.3f} in {report.years[worst]}"
    )


def test_no_destination_short_for_long(report):
    spells = report.longest_spell(LOCAL_MAX, MIN_SHARE)
    assert spells.max() <= LOCAL_YEARS, f"longest spell {spells.max()} years"
