"""Urbanisation of a run beside the published rates (issue 14, part 5): the table of
calibration/README.md, "Urbanisation by residence and by hukou".

    migsim run baseline_2035 --agents 200000 --seed 1 --out /tmp/b35
    python calibration/urbanisation.py /tmp/b35

Prints a Markdown table: the model's urbanisation by residence and by hukou and the gap (the
December values of the run's timeseries.parquet), beside the published figures of
``calibration/urbanisation_published.toml`` (1985-2006 only; nothing after 2006 is compared).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SHOWN = (1985, 1990, 1995, 2000, 2005, 2006, 2010, 2015, 2020, 2025, 2030, 2035)
COLUMNS = ("urbanisation_by_residence", "urbanisation_by_hukou", "urbanisation_gap")


def published() -> pd.DataFrame:
    """Published shares by year: residence and registration (NaN where none)."""
    pub = tomllib.loads((HERE / "urbanisation_published.toml").read_text(encoding="utf-8"))
    res = {r["year"]: r["share"] if "share" in r else r["urban_m"] / r["total_m"]
           for r in pub["residence"]}
    reg = {r["year"]: 1 - r["rural_registered_m"] / r["total_m"] for r in pub["registration"]}
    return pd.DataFrame({"published_residence": pd.Series(res, dtype=float),
                         "published_registration": pd.Series(reg, dtype=float)})


def model(run_dir: Path) -> pd.DataFrame:
    """The run's December values of the three rates, by year."""
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    ts = ts[(ts["group"] == "total") & ts["indicator"].isin(COLUMNS) & (ts["month"] == 12)]
    if ts.empty:
        raise SystemExit(f"{run_dir}: no urbanisation indicators (a run without the household "
                         "life course or the elders does not count them)")
    return ts.pivot_table(index="year", columns="indicator", values="value")[list(COLUMNS)]


def table(run_dir: Path) -> str:
    """Markdown table of the model's rates beside the published ones, in percent."""
    df = model(run_dir).join(published(), how="left")
    df = df[df.index.isin(SHOWN)]
    head = ("| year | by residence | published | by hukou | published (registration) | gap |\n"
            "|---|---|---|---|---|---|")
    pct = lambda x: "" if pd.isna(x) else f"{100 * x:.1f}"  # noqa: E731
    rows = [f"| {y}{'*' if y > 2006 else ''} | {pct(r.urbanisation_by_residence)} | "
            f"{pct(r.published_residence)} | {pct(r.urbanisation_by_hukou)} | "
            f"{pct(r.published_registration)} | {pct(r.urbanisation_gap)} |"
            for y, r in df.iterrows()]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path, help="a run directory (migsim run ... --out DIR)")
    args = ap.parse_args(argv)
    print(table(args.run_dir))
    print("\n* out of sample (after 2006): the model's projection, no published figure shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
