"""Test-wide settings: Hypothesis draws the same examples on every run (a CI run is
reproducible); ``HYPOTHESIS_PROFILE=explore`` draws new ones, more of them, to hunt for bugs."""

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
