"""Package list for setuptools: every subpackage of ``sim`` (found), plus the data packages
``sim.scenarios`` and ``sim.calibration`` mapped in pyproject.toml to the repository's
``scenarios/`` and ``calibration/``, and ``sim.calibration.results`` (the committed calibration
summaries that run manifests read); everything else is configured in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["sim", "sim.*"], exclude=["*__pycache__*"]),
                "sim.scenarios", "sim.calibration", "sim.calibration.results"])
