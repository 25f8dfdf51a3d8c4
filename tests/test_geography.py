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
