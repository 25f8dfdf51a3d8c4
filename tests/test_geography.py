"""Tests of sim.geography and the data files in sim/data."""

import numpy as np
import pytest

from sim.core import geography
from sim.core.geography import REGION_NAMES, SIX_DESTINATIONS, TIER_NAMES, load_geography

# rural persons per rural person aged 15-64, 2000 census (rural 15-64 share ~0.66)
RURAL_PERSONS_PER_WORKING_AGE = 1 / 0.66


@pytest.fixture(scope="module")
def geo():
    return load_geography()


def test_31_provinces(geo):
    assert len(geo.prov_name) == 31
    assert geo.prov_code[0] == 11 and geo.prov_code[-1] == 65
    assert len(set(geo.prov_code.tolist())) == 31
    assert geo.prov_name[geo.prov_index("Inner Mongolia")] == "Inner Mongolia"
    assert geo.school_shares.shape == (31, 3)
    np.testing.assert_allclose(geo.school_shares.sum(axis=1), 1.0, atol=0.002)
    assert np.all(geo.n_counties >= geo.n_prefectures)


def test_rural_working_age_total(geo):
    total = geo.rural_pop_working_age.sum()
    assert 450e6 <= total <= 560e6


def test_destination_layout(geo):
    assert geo.n_dest == 94 == len(geo.dest_name) == len(geo.dest_prov) == len(geo.dest_tier)
    for p in range(31):
        assert geo.dest_prov[3 * p : 3 * p + 3].tolist() == [p, p, p]
        assert geo.dest_tier[3 * p] == TIER_NAMES.index("small")
        assert geo.dest_tier[3 * p + 1] == TIER_NAMES.index("medium")
    mega = np.flatnonzero(geo.dest_tier == TIER_NAMES.index("megacity"))
    assert [geo.dest_name[d] for d in mega] == ["Beijing", "Shanghai", "Shenzhen"]
    assert mega[-1] == 93
    assert geo.dest_prov[93] == geo.prov_index("Guangdong")
    assert np.sum(geo.dest_tier == TIER_NAMES.index("large")) == 29
    assert geo.dest_name[3 * geo.prov_index("Guangdong") + 2] == "Guangzhou"
    six = {geo.prov_index(n) for n in SIX_DESTINATIONS}
    assert geo.dest_is_six.tolist() == [int(p) in six for p in geo.dest_prov]
    assert geo.dest_is_six.sum() == 3 * 6 + 1


def test_distances(geo):
    d = geo.prov_dist_km
    assert d.shape == (31, 31)
    np.testing.assert_allclose(d, d.T)
    assert np.all(np.diag(d) == 0)
    assert np.all(d[~np.eye(31, dtype=bool)] > 0)
    bj_sh = d[geo.prov_index("Beijing"), geo.prov_index("Shanghai")]
    assert abs(bj_sh - 1070) <= 50


def test_east_wages_above_west(geo):
    east = geo.prov_region == REGION_NAMES.index("east")
    west = geo.prov_region == REGION_NAMES.index("west")
    assert geo.urban_wage_rmb_year[east].mean() > geo.urban_wage_rmb_year[west].mean()
    assert geo.rural_income_rmb_year[east].mean() > geo.rural_income_rmb_year[west].mean()


def test_urban_rural_income_ratio_2000(geo):
    # urban wage per worker vs rural net income per rural person of working age
    w = geo.rural_pop_working_age
    urban = np.average(geo.urban_wage_rmb_year, weights=w)
    rural = np.average(geo.rural_income_rmb_year, weights=w) * RURAL_PERSONS_PER_WORKING_AGE
    assert 2.0 <= urban / rural <= 3.5


def test_national_series(geo):
    years = geo.national["year"]
    assert years.dtype == np.int32
    assert years[0] <= 1985 and years[-1] >= 2030
    assert np.all(np.diff(years) == 1)
    np.testing.assert_array_equal(geo.national["out_of_sample"], years > 2006)
    i2000 = int(np.flatnonzero(years == 2000)[0])
    for col in ("urban_wage_real_index", "rural_income_real_index", "cpi_index"):
        assert geo.national[col][i2000] == pytest.approx(1.0)
    assert geo.regional_growth.shape == (len(years), 4)
    assert np.all(np.isfinite(geo.regional_growth))


def test_prov_index_suggests(geo):
    with pytest.raises(KeyError, match="Guangdong"):
        geo.prov_index("Guangdon")


def test_cached_and_read_only(geo):
    assert load_geography() is geo
    with pytest.raises(ValueError):
        geo.urban_wage_rmb_year[0] = 0.0


def test_bad_data_names_file_column_row(monkeypatch):
    real = geography._read_csv

    def corrupted(fname):
        rows = real(fname)
        if fname == "provinces.csv":
            rows[4]["rural_hh_size"] = "-1"
        return rows

    monkeypatch.setattr(geography, "_read_csv", corrupted)
    with pytest.raises(ValueError, match=r"provinces\.csv: column 'rural_hh_size', row 5"):
        geography._load_provinces()


# ---------------------------------------------------------------- sim/data/sources.toml
SOURCE_STATUSES = ("table", "derived", "estimate")
ROW_KEY = {
    "provinces.csv": "code",
    "national_series.csv": "year",
    "regional_growth.csv": "year",
    "births.csv": "birth_year",
    "tve_employment.csv": "year",
    "min_wage_ratio.csv": "year",
}


def _data_dir():
    from importlib import resources

    return resources.files("sim").joinpath("data")


@pytest.fixture(scope="module")
def sources():
    import tomllib

    return tomllib.loads(_data_dir().joinpath("sources.toml").read_text(encoding="utf-8"))["entry"]


@pytest.fixture(scope="module")
def csv_tables():
    import csv
    import io

    out = {}
    for entry in sorted(_data_dir().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".csv"):
            out[entry.name] = list(csv.DictReader(io.StringIO(entry.read_text(encoding="utf-8"))))
    return out


def _selected(entry, rows, fname):
    """Indices of the rows an entry covers (rows / row_range on the file's key column)."""
    keys = [int(r[ROW_KEY[fname]]) for r in rows]
    if "rows" in entry:
        wanted = set(entry["rows"])
        assert wanted <= set(keys), (
            f"{fname}:{entry['column']}: rows {wanted - set(keys)} not in file"
        )
        return [i for i, k in enumerate(keys) if k in wanted]
    if "row_range" in entry:
        lo, hi = entry["row_range"]
        return [i for i, k in enumerate(keys) if lo <= k <= hi]
    return list(range(len(rows)))


def test_every_csv_is_described(csv_tables):
    assert set(csv_tables) == set(ROW_KEY)


def test_every_column_has_sources_covering_each_row_once(sources, csv_tables):
    for fname, rows in csv_tables.items():
        for col in rows[0]:
            entries = [e for e in sources if e["file"] == fname and e["column"] == col]
            assert entries, f"{fname}: column {col!r} has no entry in sources.toml"
            hits = [0] * len(rows)
            for e in entries:
                for i in _selected(e, rows, fname):
                    hits[i] += 1
            bad = [rows[i][ROW_KEY[fname]] for i, h in enumerate(hits) if h != 1]
            assert not bad, f"{fname}:{col}: rows {bad[:5]} covered {set(hits)} times, not once"


def test_sources_entries_are_well_formed(sources, csv_tables):
    for e in sources:
        where = f"{e.get('file')}:{e.get('column')}"
        assert e.get("file") in csv_tables, where
        assert e.get("column") in csv_tables[e["file"]][0], where
        assert e.get("status") in SOURCE_STATUSES, where
        if e["status"] in ("table", "derived"):
            assert isinstance(e.get("source"), str) and e["source"].strip(), f"{where}: no source"
        urls = e.get("url", [])
        for url in [urls] if isinstance(urls, str) else urls:
            assert url.startswith(("http://", "https://")), f"{where}: bad url {url!r}"


def test_estimates_have_ranges_containing_the_values(sources, csv_tables):
    for e in (e for e in sources if e["status"] == "estimate"):
        fname, col = e["file"], e["column"]
        rows = csv_tables[fname]
        idx = _selected(e, rows, fname)
        where = f"{fname}:{col}"
        if "allowed" in e:  # categorical column
            vals = {rows[i][col].strip() for i in idx}
            assert vals <= set(e["allowed"]), f"{where}: {vals - set(e['allowed'])} not allowed"
            continue
        assert "range" in e, f"{where}: estimate without range"
        lo, hi = e["range"]
        assert lo <= hi, where
        vals = np.array([float(rows[i][col]) for i in idx])
        assert np.all((vals >= lo) & (vals <= hi)), f"{where}: values outside [{lo}, {hi}]"
        if "rel_range" in e:
            assert 0 < e["rel_range"] < 1, where
        if "row_bounds" in e:
            keys = {int(rows[i][ROW_KEY[fname]]): float(rows[i][col]) for i in idx}
            assert {int(k) for k, _, _ in e["row_bounds"]} <= set(keys), where
            for k, rlo, rhi in e["row_bounds"]:
                assert rlo <= keys[int(k)] <= rhi, (
                    f"{where}: row {k} = {keys[int(k)]} not in [{rlo}, {rhi}]"
                )


def test_national_anchors_of_sourced_columns(geo):
    # published 2000 figures the sourced columns must agree with (see sources.toml)
    i = geo.prov_index("Beijing")
    assert geo.rural_income_rmb_year[i] == pytest.approx(4604.6)
    assert geo.urban_wage_rmb_year[geo.prov_index("Fujian")] == 10584
    years = geo.national["year"]
    cpi = geo.national["cpi_index"]
    t = int(np.flatnonzero(years == 2008)[0])
    assert cpi[t] / cpi[t - 1] == pytest.approx(1.059, abs=6e-4)  # CSY 2012 table 9-1


def test_province_series_published_by_default_and_the_recalled_one_available():
    """Provincial wages, incomes and products read in yearbooks (``province_series``
    "published", the default since 0.21.0) beside the values first compiled ("recalled", with
    which earlier versions ran; sim/data/sources.toml)."""
    from sim import Simulation
    from sim.core.geography import load_geography
    from sim.engine.registry import Params

    assert Params()["province_series"] == "published"
    new, old = load_geography(), load_geography("recalled")
    assert new is load_geography("published")
    chongqing, qinghai = new.prov_index("Chongqing"), new.prov_index("Qinghai")
    assert new.urban_wage_rmb_year[chongqing] == 6980  # Chongqing yearbook 2001, appendix 4
    assert old.urban_wage_rmb_year[chongqing] == 8128
    assert new.urban_wage_rmb_year[qinghai] == 10050 and old.urban_wage_rmb_year[qinghai] == 10804
    moved = {new.prov_name[i] for i in np.flatnonzero(new.urban_wage_rmb_year
                                                      != old.urban_wage_rmb_year)}
    derived = {"Shanxi", "Inner Mongolia", "Liaoning", "Jilin", "Heilongjiang", "Shanghai",
               "Jiangsu", "Zhejiang", "Anhui", "Jiangxi", "Shandong", "Henan", "Hubei", "Hunan",
               "Guangdong", "Guangxi"}  # 0.22.0: the 2002 table times 9371 / 12422
    assert moved == {"Tianjin", "Chongqing", "Sichuan", "Qinghai"} | derived
    zhejiang = new.prov_index("Zhejiang")  # 18785 yuan in 2002 (Shandong yearbook 2003)
    assert new.urban_wage_rmb_year[zhejiang] == round(18785 * 9371 / 12422) == 14171
    np.testing.assert_array_equal(new.exports_usd_bn, old.exports_usd_bn)  # only three columns
    for over, geo in (({}, new), ({"province_series": "recalled"}, old)):  # what runs read
        built = Simulation(over, agents=1000, seed=1, years=1).geo
        np.testing.assert_array_equal(built.urban_wage_rmb_year, geo.urban_wage_rmb_year)
        np.testing.assert_array_equal(built.gdp_bn_rmb, geo.gdp_bn_rmb)
    with pytest.raises(ValueError, match="province_series"):
        load_geography("2000")
    with pytest.raises(ValueError, match="province_series"):
        Params({"province_series": "0.20"})
