"""The package version (one place; ``sim.__version__`` and run manifests read it)."""

__version__ = "0.17.0"

# The version whose committed calibration (calibration/results/hm_<version>.*) describes the
# current defaults: later versions moved nothing up to the last fitted year, 2006 (0.17.0 added
# the 2024 retirement-age decision to baseline_2025, from 2025), so its posterior and where the
# defaults stand in it still hold. Move it with a refit.
CALIBRATED_VERSION = "0.16.0"
