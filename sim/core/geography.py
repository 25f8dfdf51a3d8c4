"""Provinces, destinations and macro series of migsim, loaded from ``sim/data``.

The data files and their sources are described in ``sim/data/README.md``.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

TIER_NAMES = ("small", "medium", "large", "megacity")  # hukou tiers, seed report 2.3
DIST_CLASS_NAMES = ("within_county", "across_county", "across_prefecture", "across_province")
REGION_NAMES = ("east", "central", "west", "northeast")
SIX_DESTINATIONS = ("Guangdong", "Zhejiang", "Fujian", "Jiangsu", "Beijing", "Shanghai")

N_PROVINCES = 31
MEGACITY_PROVINCES = ("Beijing", "Shanghai")  # their capital destination is tier megacity
SHENZHEN = ("Shenzhen", "Guangdong")  # extra megacity destination, index 93
EARTH_RADIUS_KM = 6371.0

PROVINCE_SERIES = ("recalled", "published")  # values of the structural parameter province_series
DEFAULT_PROVINCE_SERIES = "published"  # its default (version 0.21.0; "recalled" before)
_RECALLED_COLUMNS = ("urban_wage_rmb_year", "rural_income_rmb_year", "gdp_bn_rmb")
_PROV_FLOAT = (
    "lat",
    "lon",
    "rural_pop_working_age_m",
    "rural_hh_size",
    "urban_wage_rmb_year",
    "rural_income_rmb_year",
    "arable_mu_per_rural_worker",
    "gdp_bn_rmb",
    "exports_usd_bn",
)
_SCHOOL = ("share_school_primary", "share_school_junior", "share_school_senior")
_PROV_INT = ("code", "n_prefectures", "n_counties")
_NAT_COLS = (
    "year",
    "urban_wage_real_index",
    "rural_income_real_index",
    "cpi_index",
    "gdp_growth_pct",
    "exports_usd_bn",
    "population_m",
    "out_of_sample",
)


@dataclass(frozen=True)
class Geography:
    """Static geography of the model: 31 provinces and 94 destinations, plus macro series."""

    prov_name: tuple[str, ...]
    prov_code: np.ndarray
    prov_region: np.ndarray
    prov_lat: np.ndarray
    prov_lon: np.ndarray
    rural_pop_working_age: np.ndarray
    rural_hh_size: np.ndarray
    urban_wage_rmb_year: np.ndarray
    rural_income_rmb_year: np.ndarray
    arable_mu_per_worker: np.ndarray
    gdp_bn_rmb: np.ndarray
    exports_usd_bn: np.ndarray
    school_shares: np.ndarray
    n_prefectures: np.ndarray
    n_counties: np.ndarray
    prov_dist_km: np.ndarray
    dest_name: tuple[str, ...]
    dest_prov: np.ndarray
    dest_tier: np.ndarray
    dest_is_six: np.ndarray
    n_dest: int
    national: dict[str, np.ndarray]
    regional_growth: np.ndarray
    births: dict[str, np.ndarray]  # by birth year (``births.csv``): the cohorts entering at 15
    # township and village enterprises (TVEs): persons employed in 1998 per province (CSY 1999
    # table 12-27; Tibet blank, 0) and the national series (``tve_employment.csv``): "year" and
    # "employed" (persons) in the years with a published figure
    tve_employed_1998: np.ndarray
    tve_national: dict[str, np.ndarray]

    @property
    def n_prov(self) -> int:
        """Number of provinces (31)."""
        return len(self.prov_name)

    def prov_index(self, name: str) -> int:
        """Index of a province by English name; KeyError with a suggestion if unknown."""
        try:
            return self.prov_name.index(name)
        except ValueError:
            close = difflib.get_close_matches(name, self.prov_name, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"unknown province {name!r}{hint}") from None


def _read_csv(fname: str) -> list[dict[str, str]]:
    text = resources.files("sim").joinpath("data", fname).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _column(rows: list[dict[str, str]], fname: str, col: str, kind: type) -> np.ndarray:
    """One column as an array; ValueError naming file, column and row on a bad value."""
    out = []
    for i, row in enumerate(rows, start=1):
        raw = row.get(col)
        try:
            out.append(kind(raw))
        except (TypeError, ValueError):
            raise ValueError(f"{fname}: column {col!r}, row {i}: bad value {raw!r}") from None
    return np.asarray(out, dtype=np.float64 if kind is float else np.int64)


def _fail_where(mask: np.ndarray, fname: str, col: str, what: str) -> None:
    if np.any(mask):
        i = int(np.flatnonzero(mask)[0])
        raise ValueError(f"{fname}: column {col!r}, row {i + 1}: {what}")


def great_circle_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Pairwise haversine distances (km) between points given in decimal degrees."""
    la, lo = np.radians(lat), np.radians(lon)
    dla = la[:, None] - la[None, :]
    dlo = lo[:, None] - lo[None, :]
    h = np.sin(dla / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlo / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    np.fill_diagonal(d, 0.0)
    return d


def _load_provinces() -> dict:
    fname = "provinces.csv"
    rows = _read_csv(fname)
    if len(rows) != N_PROVINCES:
        raise ValueError(f"{fname}: expected {N_PROVINCES} rows, got {len(rows)}")
    out: dict = {c: _column(rows, fname, c, float) for c in _PROV_FLOAT + _SCHOOL}
    out.update({c: _column(rows, fname, c, int) for c in _PROV_INT})
    out["tve_employed_1998_10k"] = _column(rows, fname, "tve_employed_1998_10k", float)
    for c in _RECALLED_COLUMNS:  # the values as first compiled (province_series)
        out[f"{c}_recalled"] = _column(rows, fname, f"{c}_recalled", float)
        _fail_where(out[f"{c}_recalled"] <= 0, fname, f"{c}_recalled", "must be positive")
    for c in _PROV_FLOAT[2:] + ("n_prefectures", "n_counties"):
        _fail_where(out[c] <= 0, fname, c, "must be positive")
    for c in _SCHOOL:
        _fail_where((out[c] < 0) | (out[c] > 1), fname, c, "share outside [0, 1]")
    total = sum(out[c] for c in _SCHOOL)
    _fail_where(np.abs(total - 1.0) > 0.002, fname, "share_school_*", "shares do not sum to 1")
    _fail_where(
        out["n_counties"] < out["n_prefectures"],
        fname,
        "n_counties",
        "fewer counties than prefectures",
    )
    _fail_where(np.abs(out["lat"]) > 90, fname, "lat", "latitude out of range")
    _fail_where(np.abs(out["lon"]) > 180, fname, "lon", "longitude out of range")
    codes = out["code"]
    _, first = np.unique(codes, return_index=True)
    _fail_where(~np.isin(np.arange(len(codes)), first), fname, "code", "duplicate code")
    _fail_where(np.diff(codes, prepend=codes[0] - 1) <= 0, fname, "code", "codes not ascending")
    names = tuple(r["name"].strip() for r in rows)
    _fail_where(np.array([not n for n in names]), fname, "name", "empty name")
    _fail_where(
        np.array([n in names[:i] for i, n in enumerate(names)]), fname, "name", "duplicate name"
    )
    regions = [r["region"].strip() for r in rows]
    _fail_where(
        np.array([g not in REGION_NAMES for g in regions]),
        fname,
        "region",
        f"region not in {REGION_NAMES}",
    )
    out["name"] = names
    out["capital"] = tuple(r["capital"].strip() for r in rows)
    out["region"] = np.array([REGION_NAMES.index(g) for g in regions], dtype=np.int8)
    return out


def _tve_1998(pv: dict) -> np.ndarray:
    """Persons employed by TVEs in 1998 per province (``tve_employed_1998_10k`` x 10,000)."""
    v = pv["tve_employed_1998_10k"]
    _fail_where(v < 0, "provinces.csv", "tve_employed_1998_10k", "must be non-negative")
    return v * 1e4


def _load_series() -> tuple[dict[str, np.ndarray], np.ndarray]:
    fname = "national_series.csv"
    rows = _read_csv(fname)
    nat = {
        c: _column(rows, fname, c, int if c in ("year", "out_of_sample") else float)
        for c in _NAT_COLS
    }
    years = nat["year"].astype(np.int32)
    _fail_where(np.diff(years, prepend=years[0] - 1) != 1, fname, "year", "years not consecutive")
    for c in ("urban_wage_real_index", "rural_income_real_index", "cpi_index", "population_m"):
        _fail_where(nat[c] <= 0, fname, c, "must be positive")
    _fail_where(~np.isin(nat["out_of_sample"], (0, 1)), fname, "out_of_sample", "must be 0 or 1")
    national = {c: nat[c] for c in _NAT_COLS}
    national["year"] = years
    national["out_of_sample"] = nat["out_of_sample"].astype(bool)

    fname = "regional_growth.csv"
    rows = _read_csv(fname)
    ry = _column(rows, fname, "year", int)
    rg = _column(rows, fname, "gdp_growth_pct", float)
    roos = _column(rows, fname, "out_of_sample", int)
    growth = np.full((len(years), len(REGION_NAMES)), np.nan)
    for i, row in enumerate(rows):
        reg = row.get("region", "").strip()
        if reg not in REGION_NAMES:
            raise ValueError(f"{fname}: column 'region', row {i + 1}: unknown region {reg!r}")
        t = int(ry[i] - years[0])
        if not 0 <= t < len(years):
            raise ValueError(
                f"{fname}: column 'year', row {i + 1}: year {ry[i]} not in national_series.csv"
            )
        if bool(roos[i]) != national["out_of_sample"][t]:
            raise ValueError(
                f"{fname}: column 'out_of_sample', row {i + 1}: disagrees with national_series.csv"
            )
        growth[t, REGION_NAMES.index(reg)] = rg[i]
    if np.isnan(growth).any():
        t, r = np.argwhere(np.isnan(growth))[0]
        raise ValueError(
            f"{fname}: column 'gdp_growth_pct': missing row for year "
            f"{years[t]}, region {REGION_NAMES[r]}"
        )
    return national, growth


def _load_births() -> dict[str, np.ndarray]:
    fname = "births.csv"
    rows = _read_csv(fname)
    out = {
        c: _column(rows, fname, c, int if c in ("birth_year", "out_of_sample") else float)
        for c in ("birth_year", "births_m", "births_m_0_19", "rural_share", "survival_to_15",
                  "out_of_sample")
    }
    years = out["birth_year"]
    _fail_where(np.diff(years, prepend=years[0] - 1) != 1, fname, "birth_year", "not consecutive")
    for c in ("births_m", "births_m_0_19"):
        _fail_where(out[c] <= 0, fname, c, "must be positive")
    for c in ("rural_share", "survival_to_15"):
        _fail_where((out[c] <= 0) | (out[c] > 1), fname, c, "must be in (0, 1]")
    out["birth_year"] = years.astype(np.int32)
    out["out_of_sample"] = out["out_of_sample"].astype(bool)
    return out


def _load_tve() -> dict[str, np.ndarray]:
    fname = "tve_employment.csv"
    rows = _read_csv(fname)
    years = _column(rows, fname, "year", int)
    employed = _column(rows, fname, "employed_10k", float)
    _fail_where(np.diff(years, prepend=years[0] - 1) <= 0, fname, "year", "years not ascending")
    _fail_where(employed <= 0, fname, "employed_10k", "must be positive")
    return {"year": years.astype(np.int32), "employed": employed * 1e4}


def _destinations(names: tuple[str, ...], capitals: tuple[str, ...]) -> tuple:
    dest_name: list[str] = []
    dest_prov: list[int] = []
    dest_tier: list[int] = []
    for p, (name, cap) in enumerate(zip(names, capitals, strict=True)):
        mega = name in MEGACITY_PROVINCES
        dest_name += [f"{name} small", f"{name} medium", name if mega else cap]
        dest_prov += [p, p, p]
        dest_tier += [0, 1, 3 if mega else 2]
    dest_name.append(SHENZHEN[0])
    dest_prov.append(names.index(SHENZHEN[1]))
    dest_tier.append(TIER_NAMES.index("megacity"))
    prov = np.array(dest_prov, dtype=np.int8)
    six = np.array([names[p] in SIX_DESTINATIONS for p in dest_prov], dtype=bool)
    return tuple(dest_name), prov, np.array(dest_tier, dtype=np.int8), six


def province_series_of(params) -> str:
    """The ``province_series`` of a parameter set, the default where it has none (a set
    without the demography mechanism)."""
    return params["province_series"] if "province_series" in params else DEFAULT_PROVINCE_SERIES


def load_geography(province_series: str = DEFAULT_PROVINCE_SERIES) -> Geography:
    """The geography of ``province_series`` (:func:`_load_geography`), one cached copy per
    series however it is asked for."""
    if province_series not in PROVINCE_SERIES:
        raise ValueError(f"province_series must be one of {PROVINCE_SERIES}, got "
                         f"{province_series!r}")
    return _load_geography(province_series)


@lru_cache(maxsize=len(PROVINCE_SERIES))
def _load_geography(province_series: str) -> Geography:
    """Read and validate ``sim/data`` once per ``province_series``; the result is cached and
    immutable by convention. ``province_series`` "published" (the model's default) takes the
    columns that hold the provincial wages, rural incomes and regional products read in
    yearbooks (``sim/data/sources.toml``), "recalled" the values as first compiled (columns
    ``<name>_recalled`` of ``provinces.csv``), with which versions up to 0.20.0 ran."""
    pv = _load_provinces()
    if province_series == "recalled":
        pv.update({c: pv[f"{c}_recalled"] for c in _RECALLED_COLUMNS})
    national, growth = _load_series()
    dest_name, dest_prov, dest_tier, dest_is_six = _destinations(pv["name"], pv["capital"])
    geo = Geography(
        prov_name=pv["name"],
        prov_code=pv["code"].astype(np.int16),
        prov_region=pv["region"],
        prov_lat=pv["lat"],
        prov_lon=pv["lon"],
        rural_pop_working_age=pv["rural_pop_working_age_m"] * 1e6,
        rural_hh_size=pv["rural_hh_size"],
        urban_wage_rmb_year=pv["urban_wage_rmb_year"],
        rural_income_rmb_year=pv["rural_income_rmb_year"],
        arable_mu_per_worker=pv["arable_mu_per_rural_worker"],
        gdp_bn_rmb=pv["gdp_bn_rmb"],
        exports_usd_bn=pv["exports_usd_bn"],
        school_shares=np.column_stack([pv[c] for c in _SCHOOL]),
        n_prefectures=pv["n_prefectures"].astype(np.int32),
        n_counties=pv["n_counties"].astype(np.int32),
        prov_dist_km=great_circle_km(pv["lat"], pv["lon"]),
        dest_name=dest_name,
        dest_prov=dest_prov,
        dest_tier=dest_tier,
        dest_is_six=dest_is_six,
        n_dest=len(dest_name),
        national=national,
        regional_growth=growth,
        births=_load_births(),
        tve_employed_1998=_tve_1998(pv),
        tve_national=_load_tve(),
    )
    for arr in (v for v in vars(geo).values() if isinstance(v, np.ndarray)):
        arr.flags.writeable = False
    for arr in (*national.values(), *geo.births.values(), *geo.tve_national.values()):
        arr.flags.writeable = False
    return geo
