"""Unfilled openings stay small while the rural surplus lasts (issue 11; seed 1.2, 1.4).

The default baseline from 1985 to 2030 (60,000 agents, seed 5) should have no year's national
unfilled share of migrant labour demand above 0.10, and no destination above 0.25 for more than
two consecutive years. Since version 0.8 (``local_competition`` on: migrant demand is the urban
jobs locals leave) the defaults meet it from 1990 to 2009 (at 200,000 persons, seed 1: 0.047 in
1990, 0.029 in 1995, 0.067 in 2005), but not in the start-up years 1985-1989 (0.62 in 1985:
the initial stock is placed by the choice model, not where the jobs are) nor after 2010, when
the young rural cohorts thin while urban demand keeps growing and the shortage settles near
``frictional_shortage`` plus the 0.2 cap of the wage rule (about 0.29; calibration/README.md,
"Distances and the jobs locals leave"). The two run tests are therefore strict expected
failures: they pass the day the defaults meet the rule, and then the marks must go.
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
    sim = Simulation(agents=60_000, seed=5, start_year=1985, years=46)
    return shortage_report(sim.run())


OPEN = pytest.mark.xfail(
    strict=True, reason="issue 11: openings unfilled in 1985-1989 and after 2010 (see above)"
)


@OPEN
def test_national_shortage_small_every_year(report):
    worst = int(np.argmax(report.national))
    assert report.national.max() <= NATIONAL_MAX, (
        f"national unfilled share {report.national[worst]:.3f} in {report.years[worst]}"
    )


@OPEN
def test_no_destination_short_for_long(report):
    spells = report.longest_spell(LOCAL_MAX, MIN_SHARE)
    assert spells.max() <= LOCAL_YEARS, f"longest spell {spells.max()} years"
