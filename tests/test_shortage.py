"""Unfilled openings stay small while the rural surplus lasts (issue 11; seed 1.2, 1.4).

The default baseline from 1985 to 2030 (60,000 agents, seed 5) should have no year's national
unfilled share of migrant labour demand above 0.10, and no destination above 0.25 for more than
two consecutive years. The defaults do not (0.6.0 at 200,000 persons, seed 1: 0.78 in 1990,
while grain rations hold migration back, 0.20 in 1995, 0.14 in 2005: demand for migrants is an
exogenous level); with ``local_competition`` on, the searched
parameters meet it from the mid-1990s but not yet with every asserted target in band
(calibration/README.md, "Issue 11: demand as the jobs locals leave"). The two run tests are
therefore strict expected failures: they pass the day the defaults meet the rule, and then the
marks must go. Destinations holding under 0.5% of national demand are left out of the
second rule: at this scale they have a few dozen openings, so one agent is several points of
their rate (at 200,000 agents, `migsim run`, they keep the rule too; see
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
    strict=True, reason="issue 11: the defaults leave openings unfilled (demand is exogenous)"
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
