"""Unfilled openings by year and destination, and how long a destination stays short (issue 11).

The rule read from the seed (1.2, 1.4): while the rural surplus lasts, unfilled openings are few;
a shortage may appear where the supply of young rural workers thins relative to demand at sticky
wages, and wages then rise until it closes. ``shortage_report`` gives what a test or a reader
needs to check that: the national yearly mean of the monthly unfilled share, the same per
destination, and each destination's longest run of years above a threshold.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from sim.io.results import Results


@dataclass(frozen=True)
class ShortageReport:
    """Yearly means of the monthly unfilled share of migrant labour demand."""

    years: np.ndarray  # calendar years covered in full
    national: np.ndarray  # (n_years,)
    by_dest: np.ndarray  # (n_years, n_dest); NaN where a destination had no demand that year
    demand_share: np.ndarray  # (n_years, n_dest): the destination's share of national demand

    def longest_spell(self, threshold: float, min_share: float = 0.0) -> np.ndarray:
        """Per destination, the most consecutive years with a yearly mean above ``threshold``,
        counting only years in which the destination held at least ``min_share`` of national
        demand (a handful of openings at a small scale is noise, not a market)."""
        above = (self.by_dest > threshold) & (self.demand_share >= min_share)
        out = np.zeros(above.shape[1], np.int64)
        run = np.zeros(above.shape[1], np.int64)
        for row in above:
            run = np.where(row, run + 1, 0)
            out = np.maximum(out, run)
        return out


def shortage_report(results: Results) -> ShortageReport:
    """Yearly means over the full calendar years of a run (monthly rates averaged, as
    ``labour_shortage_rate_year_mean``)."""
    r = results.rec
    n_years = results.n_months // 12
    months = n_years * 12
    demand = r.demand[:months]
    short = r.shortage[:months]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_dest = np.where(demand > 0, short / demand, np.nan)
    national = short.sum(1) / np.maximum(demand.sum(1), 1e-12)
    with warnings.catch_warnings():  # a destination without demand all year: NaN, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        by_dest = np.nanmean(rate_dest.reshape(n_years, 12, -1), axis=1)
    dem_year = demand.reshape(n_years, 12, -1).sum(axis=1)
    share = dem_year / np.maximum(dem_year.sum(axis=1, keepdims=True), 1e-12)
    return ShortageReport(
        years=results.start_year + np.arange(n_years),
        national=national.reshape(n_years, 12).mean(axis=1),
        by_dest=by_dest,
        demand_share=share,
    )
