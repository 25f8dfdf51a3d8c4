"""File and directory names of run, batch and report directories (one place for all)."""

from __future__ import annotations

from pathlib import Path

# a run directory (``migsim run``, one run of a batch)
MANIFEST = "manifest.json"
TIMESERIES = "timeseries.parquet"
SUMMARY = "summary.json"
COHORTS = "cohorts.parquet"  # share away by birth cohort and year (sim.io.cohorts)
MIGRANT_AGES = "migrant_ages.parquet"  # migrants by single year of age and year
CHILDREN_AGES = "children_ages.parquet"  # children under 15 by age and place (sim.io.families)
PARENT_AGES = "parent_ages.parquet"  # parents of children under 15 by age, at home and away

# a batch directory (``migsim batch``)
BATCH_JSON = "batch.json"
RUNS = "runs"
FAILED = "failed"
COMBINED = "combined.parquet"
LOCK = ".lock"

# a report directory (``migsim compare``)
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
YEARLY_CSV = "yearly.csv"
EFFECTS_CSV = "effects.csv"



def package_dir(package: str, source_folder: str) -> Path:
    """Folder of data shipped inside migsim as ``package`` (``sim.scenarios`` is the
    repository's ``scenarios/``, ``sim.calibration`` its ``calibration/``), found by the import
    system: the same in an editable and in a wheel install. In a source tree used without
    installing (only on ``sys.path``), the repository's ``source_folder``."""
    from importlib.util import find_spec

    try:
        spec = find_spec(package)
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / source_folder  # sim/io/files.py -> repo


__all__ = ["BATCH_JSON", "COHORTS", "COMBINED", "EFFECTS_CSV", "FAILED", "LOCK", "MANIFEST",
           "MIGRANT_AGES", "REPORT_HTML", "REPORT_MD", "RUNS", "SUMMARY", "TIMESERIES",
           "YEARLY_CSV", "package_dir"]
