"""Unfilled openings stay small while the rural surplus lasts (issue 11; seed 1.1, 1.2, 1.4).

The default baseline from 1985 to 2030 (200,000 agents, seed 5) should have no year's national
unfilled share of migrant labour demand above 0.10, and no destination above 0.25 for more than
two consecutive years. Since version 0.9 (the initial stock placed in arrival rounds, the
1985 demand at the seed's two million, wage-elastic demand with the scale effect, the local
workforce growing again from 2012; calibration/README.md, "Markets that clear from the start")
the defaults met both rules from 1987 to 2030, but not in 1985 (0.26 at this seed in 0.9, 0.118
in 0.15), while demand for migrants more than doubles in 1985. Most of that was a finite-size
effect: with fractional demand per destination and sector, a market of a few agents is all or
nothing, and the 1985 unfilled share was 0.12, 0.07, 0.05 and 0.04 at 200,000, 500,000, one
million and two million agents. Since 0.16 openings are counted in whole agents
(``whole_openings``; ``tests/test_whole_openings.py``) and 1985 meets the rule at this scale too
(0.08). The projection years sat at the rule's edge until 0.17 (0.100 in 2024): the enforced
minimum set the wage in most cells after 2006 while wage raises started from a market level
below it, so a shortage did not raise the wage that was paid. Since 0.18 employers short of
workers raise from the wage they pay (``wage_raise_from_paid``), and the rule holds in every
year with the published minimum-wage path (0.096 in 1992 at most, 0.085 after 2006). At one
million persons the 1992 boom year is 0.124 (seeds 5 and 7), above the rule: a scale effect of
the early market that this test, at 200,000 persons, does not see (calibration/README.md,
"Raises from the wage paid").
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


def test_national_shortage_small_every_year(report):
    """The rule from the first year (1985, the start-up) to 2030."""
    worst = int(np.argmax(report.national))
    assert report.national.max() <= NATIONAL_MAX, (
        f"national unfilled share {report.national[worst]:.3f} in {report.years[worst]}"
    )


def test_raises_from_the_paid_wage_keep_the_projection_filled(report):
    """With raises from the latent level (``wage_raise_from_paid`` 0, the rule before 0.18)
    the same run has its largest unfilled shares after 2015 (0.10 in 2024 with the 2010 ratio
    held; 0.12 with the published path); from the paid wage they stay below the years of the
    rural surplus' start-up."""
    late = report.years >= 2015
    assert report.national[late].max() < report.national[~late].max()


def test_no_destination_short_for_long(report):
    spells = report.longest_spell(LOCAL_MAX, MIN_SHARE)
    assert spells.max() <= LOCAL_YEARS, f"longest spell {spells.max()} years"
