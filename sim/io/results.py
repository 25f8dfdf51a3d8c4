"""Indicators recorded each month, and the tidy table users read.

All counts are in real persons (agents times the scale), money in RMB. Flows are monthly:
``outflow`` counts moves from home to a destination, ``returnflow`` moves back home, ``onflow``
moves between destinations, and ``exitflow`` any other way of leaving the migrant stock while
away (ageing out, death, conversion to local hukou). The stock therefore changes by exactly
outflow - returnflow - exitflow each month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core.encodings import EXIT_CAUSES, N_SECTORS, SECTOR_NAMES
from sim.core.geography import DIST_CLASS_NAMES, REGION_NAMES, TIER_NAMES
from sim.io.cohorts import empty_by_age
from sim.io.families import empty_children, empty_parents
from sim.io.tallies import (  # noqa: F401  (re-exported: the tallies' names)
    N_PROFILE,
    PR_AGE_SUM,
    PR_AGED_15_29,
    PR_EMPLOYED,
    PR_INFORMAL,
    PR_INSURED,
    PR_MALE,
    PR_PERMIT,
    PR_RURAL_LF,
    PR_SCHOOL_SUM,
    PR_SETTLED,
    PR_TRAINED_MIGRANTS,
    PR_TRAINED_RURAL,
    PROFILE,
    tally,
    tally_pay,
    tally_provinces,
)
from sim.io.urbanisation import add_urbanisation
from sim.io.yearly import FLOW_INDICATORS, annual

WAGE_BRACKETS = ("under_300", "300_500", "500_800", "over_800")  # RMB/month, 2005 prices (seed 1.4)
WAGE_EDGES_2005 = np.array([300.0, 500.0, 800.0])

# monthly scalar indicators kept in Recorder.scalars (name -> unit)
SCALARS = {
    "paid_full": "agents",
    "minwage_covered": "agents",
    "minwage_ok": "agents",
    "wage_sum_rmb": "RMB/month (2000 prices), agents' sum",
    "informal_wage_sum_rmb": "RMB/month (2000 prices), agents' sum over informal wage jobs",
    "remittances_rmb": "RMB/month, current prices, real persons",
    "rural_income_per_head": "RMB/month (2000 prices)",
    "urban_income_per_head": "RMB/month",
    "gini_rural": "Gini",
    "children_left_behind": "agents' children",
    "children_in_cities": "x",
    "children_rural": "agents' children: rural-hukou children under 15 (December; NaN without "
    "the household life course)",
    "spell_months_male": "months",
    "spells_male": "agents",
    "spell_months_female": "months",
    "spells_female": "agents",
    "cohort_returned_share": "share",
    "entrants": "agents",
    "leavers": "agents",
    "entrants_unplaced": "agents",
    "returnee_school_sum": "levels",
    "local_workers": "persons",
    "cpi": "index 2000=1",
    "population": "persons (national total, year-end; sim/data national_series.csv)",
}


def per_earner(total: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``total / n`` where ``n > 0``, NaN where nobody earns (a mean over no one)."""
    n = np.asarray(n, np.float64)
    return np.where(n > 0, np.asarray(total, np.float64) / np.maximum(n, 1.0), np.nan)


def _year_to_date_mean(x: np.ndarray) -> np.ndarray:
    """Mean of a monthly series over the months of its calendar year so far (runs start in
    January), so the December value is the yearly mean."""
    out = np.empty_like(x, dtype=np.float64)
    for start in range(0, x.size, 12):
        chunk = x[start : start + 12]
        out[start : start + 12] = np.cumsum(chunk) / np.arange(1, chunk.size + 1)
    return out


@dataclass
class Recorder:
    """Preallocated monthly records, filled by the engine (counts in agents)."""

    n_months: int
    n_dest: int
    n_prov: int = 0  # 0: no province counts (migrants_origin, settled_prov) are kept
    stock_dest: np.ndarray = field(init=False)
    stock_dist: np.ndarray = field(init=False)
    stock_dest_xprov: np.ndarray = field(init=False)
    profile: np.ndarray = field(init=False)
    sector_emp: np.ndarray = field(init=False)
    wage_bins: np.ndarray = field(init=False)
    outflow_dist: np.ndarray = field(init=False)
    returnflow: np.ndarray = field(init=False)
    onflow: np.ndarray = field(init=False)
    exitflow: np.ndarray = field(init=False)
    demand: np.ndarray = field(init=False)
    shortage: np.ndarray = field(init=False)
    by_age: np.ndarray = field(init=False)  # (years, ages 15..64, [home, away]), December
    # December, household life course only (sim.io.families): children under 15 by age and
    # place (years, 15, 4), parents of a child under 15 by age (years, ages 15..64, 2)
    children_by_age: np.ndarray = field(init=False)
    parents_by_age: np.ndarray = field(init=False)
    # (months, provinces), December, -1 in other months: rural migrants by province of origin
    # (household) and converted (urban-hukou) persons by province of residence
    migrants_origin: np.ndarray = field(init=False)
    settled_prov: np.ndarray = field(init=False)
    scalars: dict = field(init=False)

    def __post_init__(self):
        m, nd = self.n_months, self.n_dest
        self.stock_dest = np.zeros((m, nd), np.int64)
        self.stock_dist = np.zeros((m, 4), np.int64)
        self.stock_dest_xprov = np.zeros((m, nd), np.int64)
        self.profile = np.zeros((m, len(PROFILE)), np.int64)
        self.sector_emp = np.zeros((m, N_SECTORS), np.int64)
        self.wage_bins = np.zeros((m, 4), np.int64)
        self.outflow_dist = np.zeros((m, 4), np.int64)
        self.returnflow = np.zeros(m, np.int64)
        self.onflow = np.zeros(m, np.int64)
        self.exitflow = np.zeros((m, len(EXIT_CAUSES)), np.int64)
        self.demand = np.zeros((m, nd), np.float64)
        self.shortage = np.zeros((m, nd), np.float64)
        self.by_age = empty_by_age((m + 11) // 12)  # sim.io.cohorts; -1 until recorded
        self.children_by_age = empty_children((m + 11) // 12)  # sim.io.families; likewise
        self.parents_by_age = empty_parents((m + 11) // 12)
        self.migrants_origin = np.full((m, self.n_prov), -1, np.int64)
        self.settled_prov = np.full((m, self.n_prov), -1, np.int64)
        self.scalars = {k: np.full(m, np.nan) for k in SCALARS}


@dataclass
class Results:
    """What a run produced: monthly records plus the metadata needed to read them."""

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

    def _stock_series(self, out: dict) -> None:
        r, s = self.rec, self.scale
        out["migrant_stock", "total"] = r.stock_dest.sum(axis=1) * s
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

    def _province_series(self, out: dict) -> None:
        """By province, in December (NaN in other months; none without province counts):
        migrants by province of origin, converted persons and the rural-origin urban
        population by province of residence, and net migration (migrants living in the province
        less migrants from it: moves within a province cancel, and the provinces sum to 0)."""
        r, s = self.rec, self.scale
        if r.migrants_origin.shape[1] != len(self.prov_name):
            return
        recorded = r.migrants_origin >= 0
        origin = np.where(recorded, r.migrants_origin, 0)
        settled = np.where(recorded, r.settled_prov, 0)
        for p, name in enumerate(self.prov_name):
            stock = r.stock_dest[:, self.dest_prov == p].sum(1)
            rec_p = recorded[:, p]
            grp = f"prov:{name}"
            out["migrants_by_origin", grp] = np.where(rec_p, origin[:, p] * s, np.nan)
            out["net_migration", grp] = np.where(rec_p, (stock - origin[:, p]) * s, np.nan)
            out["settled_urban_hukou", grp] = np.where(rec_p, settled[:, p] * s, np.nan)
            out["rural_origin_urban_population", grp] = np.where(
                rec_p, (stock + settled[:, p]) * s, np.nan
            )

    def _flow_series(self, out: dict) -> None:
        r, s = self.rec, self.scale
        out["outflow", "total"] = r.outflow_dist.sum(1) * s
        for k, name in enumerate(DIST_CLASS_NAMES):
            out["outflow", f"dist:{name}"] = r.outflow_dist[:, k] * s
        out["returnflow", "total"] = r.returnflow * s
        out["onflow", "total"] = r.onflow * s
        out["exitflow", "total"] = r.exitflow.sum(1) * s
        for k, name in enumerate(EXIT_CAUSES):
            out["exitflow", f"cause:{name}"] = r.exitflow[:, k] * s
        out["hukou_conversions", "total"] = r.exitflow[:, EXIT_CAUSES.index("hukou")] * s
        out["new_entrants", "total"] = r.scalars["entrants"] * s
        out["labour_force_leavers", "total"] = r.scalars["leavers"] * s
        out["new_entrants_net", "total"] = (r.scalars["entrants"] - r.scalars["leavers"]) * s
        out["entrants_unplaced", "total"] = r.scalars["entrants_unplaced"] * s

    def _economy_series(self, out: dict) -> None:
        r, s, sc = self.rec, self.scale, self.rec.scalars
        stock = np.maximum(r.stock_dest.sum(axis=1), 1)
        emp = np.maximum(r.profile[:, PR_EMPLOYED], 1)
        n_self = sc.get("self_employed", np.zeros(r.profile.shape[0]))  # own-account, agents
        working = r.profile[:, PR_EMPLOYED] + n_self
        out["unemployment_rate", "migrants"] = 1.0 - working / stock
        informal_wage = r.profile[:, PR_INFORMAL]
        formal = r.profile[:, PR_EMPLOYED] - informal_wage
        for name, v in (
            ("formal", formal),
            ("informal_wage", informal_wage),
            ("self_employed", n_self),
            ("unemployed", stock - working),
        ):
            out["labour_status_share", f"migrants:{name}"] = v / stock
        for k, name in enumerate(SECTOR_NAMES):
            out["sector_share", f"sector:{name}"] = r.sector_emp[:, k] / emp
        local = sc["local_workers"]
        for k, name in enumerate(SECTOR_NAMES):
            mig = r.sector_emp[:, k] * s
            loc_k = local * self.meta.get("local_sector_shares", np.full(5, 0.2))[k]
            out["migrant_share_of_sector", f"sector:{name}"] = mig / np.maximum(mig + loc_k, 1)
        out["migrant_share_of_urban_labour", "total"] = working * s / np.maximum(
            working * s + local, 1
        )
        local_self = sc.get("local_self_employed", np.zeros_like(local))
        out["informal_share_of_urban_labour", "total"] = (
            (informal_wage + n_self) * s + local_self
        ) / np.maximum(working * s + local, 1)
        out["share_fully_paid", "migrants"] = sc["paid_full"] / emp
        out["share_informal", "migrants"] = r.profile[:, PR_INFORMAL] / emp
        out["share_paid_min_wage", "migrants"] = sc["minwage_ok"] / np.maximum(
            sc["minwage_covered"], 1
        )
        for k, name in enumerate(WAGE_BRACKETS):
            out["wage_bracket_share", f"rmb2005:{name}"] = r.wage_bins[:, k] / emp
        out["mean_wage_rmb_2000", "migrants"] = sc["wage_sum_rmb"] / emp
        # earnings by labour status (issue 11): wages earned in the month (before arrears) for
        # wage jobs, own-account earnings for the self-employed; NaN where nobody is in a status
        self_sum = sc.get("self_income_sum", np.zeros_like(n_self))
        informal_sum = sc["informal_wage_sum_rmb"]
        for name, total, n in (
            ("formal", sc["wage_sum_rmb"] - informal_sum, formal),
            ("informal_wage", informal_sum, informal_wage),
            ("self_employed", self_sum, n_self),
            ("working", sc["wage_sum_rmb"] + self_sum, working),
        ):
            out["mean_earnings_rmb_2000", f"migrants:{name}"] = per_earner(total, n)
        out["share_with_residence_permit", "migrants"] = r.profile[:, PR_PERMIT] / stock
        out["share_insured", "migrants"] = r.profile[:, PR_INSURED] / emp
        out["share_trained", "migrants"] = r.profile[:, PR_TRAINED_MIGRANTS] / stock
        out["share_trained", "rural_labour_force"] = r.profile[:, PR_TRAINED_RURAL] / np.maximum(
            r.profile[:, PR_RURAL_LF], 1
        )
        out["labour_shortage", "total"] = r.shortage.sum(1)
        out["labour_shortage_rate", "total"] = r.shortage.sum(1) / np.maximum(r.demand.sum(1), 1)
        for j, name in enumerate(self.dest_name):
            out["labour_shortage_rate", f"dest:{name}"] = r.shortage[:, j] / np.maximum(
                r.demand[:, j], 1
            )
        gd = [j for j, p in enumerate(self.dest_prov) if self.prov_name[p] == "Guangdong"]
        out["labour_shortage_rate", "prov:Guangdong"] = r.shortage[:, gd].sum(1) / np.maximum(
            r.demand[:, gd].sum(1), 1
        )
        for group, short, dem in (
            ("total", r.shortage.sum(1), r.demand.sum(1)),
            ("prov:Guangdong", r.shortage[:, gd].sum(1), r.demand[:, gd].sum(1)),
        ):  # the mean over the calendar year to date of the monthly rates
            rate = short / np.maximum(dem, 1)
            out["labour_shortage_rate_year_mean", group] = _year_to_date_mean(rate)
        out["labour_demand", "total"] = r.demand.sum(1)
        out["rural_income_per_head_rmb_year", "total"] = (
            sc["rural_income_per_head"] * 12 * sc["cpi"]
        )
        out["urban_rural_income_ratio", "total"] = (
            sc["urban_income_per_head"] / sc["rural_income_per_head"]
        )
        out["gini_rural_income_per_head", "total"] = sc["gini_rural"]
        out["remittances_rmb", "total"] = sc["remittances_rmb"]
        out["children_left_behind", "total"] = sc["children_left_behind"] * s
        out["migrant_children_in_cities", "total"] = sc["children_in_cities"] * s
        out["completed_spell_years", "sex:male"] = (
            _cum_ratio(sc["spell_months_male"], sc["spells_male"]) / 12
        )
        out["completed_spell_years", "sex:female"] = (
            _cum_ratio(sc["spell_months_female"], sc["spells_female"]) / 12
        )
        out["share_returned_decade_cohort", "total"] = sc["cohort_returned_share"]
        n_ret = np.maximum(r.returnflow, 1)
        out["mean_school_level", "returnees"] = np.where(
            r.returnflow > 0, sc["returnee_school_sum"] / n_ret, np.nan
        )
        out["mean_school_level", "migrants"] = r.profile[:, PR_SCHOOL_SUM] / stock

    def series(self) -> dict[tuple[str, str], np.ndarray]:
        """All indicators as {(indicator, group): monthly values}."""
        r, s = self.rec, self.scale
        out: dict[tuple[str, str], np.ndarray] = {}
        self._stock_series(out)
        stock = np.maximum(r.stock_dest.sum(axis=1), 1)
        for k, name in enumerate(DIST_CLASS_NAMES):
            out["share_stock", f"dist:{name}"] = r.stock_dist[:, k] / stock
        out["share_to_six_destinations", "total"] = r.stock_dest[:, self.dest_is_six].sum(1) / stock
        xprov = r.stock_dest_xprov
        out["share_to_six_destinations", "across_province"] = xprov[:, self.dest_is_six].sum(
            1
        ) / np.maximum(xprov.sum(1), 1)
        for p, name in enumerate(self.prov_name):
            out["share_stock", f"prov:{name}"] = r.stock_dest[:, self.dest_prov == p].sum(1) / stock
        if "Guangdong" in self.prov_name:
            gd = self.dest_prov == self.prov_name.index("Guangdong")
            out["share_stock_across_province", "prov:Guangdong"] = xprov[:, gd].sum(
                1
            ) / np.maximum(xprov.sum(1), 1)
        out["share_male", "total"] = r.profile[:, PR_MALE] / stock
        out["share_aged_15_29", "total"] = r.profile[:, PR_AGED_15_29] / stock
        out["mean_age", "total"] = r.profile[:, PR_AGE_SUM] / stock
        out["rural_labour_force", "total"] = r.profile[:, PR_RURAL_LF] * s
        out["settled_urban_hukou", "total"] = r.profile[:, PR_SETTLED] * s
        out["rural_origin_urban_population", "total"] = (
            r.stock_dest.sum(axis=1) + r.profile[:, PR_SETTLED]
        ) * s  # migrants plus those who converted to a local hukou
        self._flow_series(out)
        self._economy_series(out)
        for ind in self.added_indicators():  # declared by mechanisms added to the registry
            v = r.scalars[ind["name"]]
            out[ind["name"], "total"] = v * s if ind["scaled"] else v
        self._province_series(out)  # last: the keys above keep their order
        pop = r.scalars["population"]  # the gap between urbanisation by residence and by hukou
        out["migrant_share_of_population", "total"] = out["migrant_stock", "total"] / pop
        out["rural_origin_urban_share_of_population", "total"] = (
            out["rural_origin_urban_population", "total"] / pop
        )
        if self.meta.get("counts_all_ages"):  # by residence and by hukou
            add_urbanisation(out, pop, r.scalars["children_rural"] * s)
        return out

    def added_indicators(self) -> list[dict]:
        """Indicators declared by mechanisms added to the model (name, unit, doc, scaled,
        flow), in the order of the registry."""
        return list(self.meta.get("indicators", ()))

    def is_flow(self, indicator: str) -> bool:
        """Whether ``indicator`` is summed over a year (the model's flows and added ones)."""
        return indicator in FLOW_INDICATORS or any(
            i["name"] == indicator and i["flow"] for i in self.added_indicators()
        )

    def to_frame(self):
        """Tidy table: year, month, indicator, group, value (pandas DataFrame)."""
        import pandas as pd

        year, month = self.calendar()
        ser = self.series()
        n = self.n_months
        keys = list(ser)
        value = np.concatenate([np.asarray(ser[k], np.float64) for k in keys])
        keep = ~np.isnan(value)  # yearly indicators are recorded in December only
        return pd.DataFrame(
            {
                "year": np.tile(year, len(keys)).astype(np.int16)[keep],
                "month": np.tile(month, len(keys)).astype(np.int8)[keep],
                "indicator": pd.Categorical(np.repeat([k[0] for k in keys], n)[keep]),
                "group": pd.Categorical(np.repeat([k[1] for k in keys], n)[keep]),
                "value": value[keep],
            }
        )

    def annual(self, indicator: str, group: str = "total") -> np.ndarray:
        """Yearly values: flows summed over the year, other indicators at the year's last
        recorded month, December for most (:func:`sim.io.yearly.annual`)."""
        v = self.series()[indicator, group]
        return annual(v, indicator, flow=self.is_flow(indicator))

    def summary(self) -> dict:
        """Key indicators of the last simulated year (stocks and shares in December, flows
        summed over the year); dest- and province-level groups are left to the table."""
        ser = self.series()
        last = slice(self.n_months - 12, self.n_months)
        out: dict = {"year": int(self.calendar()[0][-1])}
        for (ind, grp), v in ser.items():
            if grp.startswith(("dest:", "prov:")) and not (
                ind == "labour_shortage_rate" and grp == "prov:Guangdong"
            ):
                continue
            key = ind if grp in ("total",) else f"{ind}[{grp}]"
            if self.is_flow(ind):
                out[key] = float(np.sum(v[last]))
            else:
                x = v[last]
                x = x[~np.isnan(x)]
                out[key] = float(x[-1]) if x.size else float("nan")
        return out


def _cum_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Running ratio over the last 12 months of two monthly flows (nan where none)."""
    k = np.ones(12)
    a = np.convolve(np.nan_to_num(num), k)[: num.size]
    b = np.convolve(np.nan_to_num(den), k)[: den.size]
    return np.where(b > 0, a / np.maximum(b, 1e-12), np.nan)
