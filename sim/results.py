"""Indicators recorded each month, and the tidy table users read.

All counts are in real persons (agents times the scale). Flows are monthly: ``outflow`` counts
moves from home to a destination, ``returnflow`` moves back home, ``onflow`` moves between
destinations, and ``exitflow`` any other way of leaving the migrant stock while away (ageing
out, death, conversion to local hukou). The stock therefore changes by exactly
outflow - returnflow - exitflow each month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from sim.geography import DIST_CLASS_NAMES, REGION_NAMES, TIER_NAMES
from sim.state import HOME, RURAL

EXIT_CAUSES = ("ageing", "death", "hukou")


@njit(cache=True)
def tally(age, sex, loc, hukou, dist, employed, n_dest):
    """One pass over persons: stock by destination and distance class, and migrant profile."""
    by_dest = np.zeros(n_dest, np.int64)
    by_dist = np.zeros(4, np.int64)
    prof = np.zeros(6, np.int64)  # male, aged 15-29, sum of ages, employed, rural LF, settled
    for i in range(age.shape[0]):
        if hukou[i] != RURAL:
            prof[5] += 1
            continue
        prof[4] += 1
        d = loc[i]
        if d == HOME:
            continue
        by_dest[d] += 1
        by_dist[dist[i]] += 1
        if sex[i] == 0:
            prof[0] += 1
        if age[i] < 30:
            prof[1] += 1
        prof[2] += age[i]
        prof[3] += employed[i]
    return by_dest, by_dist, prof


@dataclass
class Recorder:
    """Preallocated monthly integer counts (agents), filled by the engine."""

    n_months: int
    n_dest: int
    stock_dest: np.ndarray = field(init=False)
    stock_dist: np.ndarray = field(init=False)
    profile: np.ndarray = field(init=False)
    outflow_dist: np.ndarray = field(init=False)
    returnflow: np.ndarray = field(init=False)
    onflow: np.ndarray = field(init=False)
    exitflow: np.ndarray = field(init=False)
    demand: np.ndarray = field(init=False)

    def __post_init__(self):
        m = self.n_months
        self.stock_dest = np.zeros((m, self.n_dest), np.int64)
        self.stock_dist = np.zeros((m, 4), np.int64)
        self.profile = np.zeros((m, 6), np.int64)
        self.outflow_dist = np.zeros((m, 4), np.int64)
        self.returnflow = np.zeros(m, np.int64)
        self.onflow = np.zeros(m, np.int64)
        self.exitflow = np.zeros((m, len(EXIT_CAUSES)), np.int64)
        self.demand = np.zeros((m, self.n_dest), np.float64)


@dataclass
class Results:
    """What a run produced: monthly counts plus the metadata needed to read them."""

    rec: Recorder
    start_year: int
    scale: float
    dest_name: tuple[str, ...]
    dest_prov: np.ndarray
    dest_tier: np.ndarray
    dest_is_six: np.ndarray
    prov_name: tuple[str, ...]
    prov_region: np.ndarray
    initial_stock: int
    meta: dict = field(default_factory=dict)

    @property
    def n_months(self) -> int:
        return self.rec.n_months

    def calendar(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(self.n_months)
        return self.start_year + t // 12, t % 12 + 1

    def stock_total(self) -> np.ndarray:
        """Migrant stock (real persons) at the end of each month."""
        return self.rec.stock_dest.sum(axis=1) * self.scale

    def series(self) -> dict[tuple[str, str], np.ndarray]:
        """All indicators as {(indicator, group): monthly values}."""
        r, s = self.rec, self.scale
        out: dict[tuple[str, str], np.ndarray] = {}
        stock = r.stock_dest.sum(axis=1)
        out["migrant_stock", "total"] = stock * s
        for j, name in enumerate(self.dest_name):
            out["migrant_stock", f"dest:{name}"] = r.stock_dest[:, j] * s
        for p, name in enumerate(self.prov_name):
            out["migrant_stock", f"prov:{name}"] = r.stock_dest[:, self.dest_prov == p].sum(1) * s
        for k, name in enumerate(TIER_NAMES):
            out["migrant_stock", f"tier:{name}"] = r.stock_dest[:, self.dest_tier == k].sum(1) * s
        for k, name in enumerate(REGION_NAMES):
            sel = self.prov_region[self.dest_prov] == k
            out["migrant_stock", f"region:{name}"] = r.stock_dest[:, sel].sum(1) * s
        for k, name in enumerate(DIST_CLASS_NAMES):
            out["migrant_stock", f"dist:{name}"] = r.stock_dist[:, k] * s
        safe = np.maximum(stock, 1)
        for k, name in enumerate(DIST_CLASS_NAMES):
            out["share_stock", f"dist:{name}"] = r.stock_dist[:, k] / safe
        out["share_to_six_destinations", "total"] = r.stock_dest[:, self.dest_is_six].sum(1) / safe
        out["share_male", "total"] = r.profile[:, 0] / safe
        out["share_aged_15_29", "total"] = r.profile[:, 1] / safe
        out["mean_age", "total"] = r.profile[:, 2] / safe
        out["unemployment_rate", "migrants"] = 1.0 - r.profile[:, 3] / safe
        out["rural_labour_force", "total"] = r.profile[:, 4] * s
        out["settled_urban_hukou", "total"] = r.profile[:, 5] * s
        out["outflow", "total"] = r.outflow_dist.sum(1) * s
        for k, name in enumerate(DIST_CLASS_NAMES):
            out["outflow", f"dist:{name}"] = r.outflow_dist[:, k] * s
        out["returnflow", "total"] = r.returnflow * s
        out["onflow", "total"] = r.onflow * s
        out["exitflow", "total"] = r.exitflow.sum(1) * s
        for k, name in enumerate(EXIT_CAUSES):
            out["exitflow", f"cause:{name}"] = r.exitflow[:, k] * s
        out["labour_demand", "total"] = r.demand.sum(1)
        return out

    def to_frame(self):
        """Tidy table: year, month, indicator, group, value (pandas DataFrame)."""
        import pandas as pd

        year, month = self.calendar()
        ser = self.series()
        n = self.n_months
        keys = list(ser)
        return pd.DataFrame({
            "year": np.tile(year, len(keys)).astype(np.int16),
            "month": np.tile(month, len(keys)).astype(np.int8),
            "indicator": pd.Categorical(np.repeat([k[0] for k in keys], n)),
            "group": pd.Categorical(np.repeat([k[1] for k in keys], n)),
            "value": np.concatenate([np.asarray(ser[k], np.float64) for k in keys]),
        })

    def summary(self) -> dict:
        """Key indicators of the last simulated year (stocks and shares in December, flows summed)."""
        ser = self.series()
        last = slice(self.n_months - 12, self.n_months)
        year = int(self.calendar()[0][-1])
        flows = ("outflow", "returnflow", "onflow", "exitflow")
        out: dict = {"year": year}
        for (ind, grp), v in ser.items():
            if grp != "total" and not grp.startswith(("dist:", "tier:", "region:")):
                if ind != "unemployment_rate":
                    continue
            key = ind if grp in ("total", "migrants") else f"{ind}[{grp}]"
            out[key] = float(np.sum(v[last])) if ind in flows else float(v[-1])
        return out
