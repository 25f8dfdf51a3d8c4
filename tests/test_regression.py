"""Regression baselines: small runs compared with the summaries stored in ``tests/baselines``.

A failure means the model's output moved. If that was intended, regenerate with
``python tests/baselines/regenerate.py`` and commit the JSON diff with the change that caused it.
Counts and shares are compared to a relative 1e-6 (identical on one machine; the tolerance only
absorbs floating-point summation order of other CPUs or library versions).
"""

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))
import regenerate  # noqa: E402


@pytest.mark.parametrize("name", list(regenerate.CASES))
def test_matches_stored_baseline(name):
    stored = json.loads(regenerate.path_of(name).read_text())
    assert stored["agents"] == regenerate.AGENTS and stored["seed"] == regenerate.SEED
    now = regenerate.run_case(name)
    old = stored["summary"]
    assert set(now) == set(old), (
        f"indicators added {sorted(set(now) - set(old))} or removed {sorted(set(old) - set(now))}"
        "; regenerate with python tests/baselines/regenerate.py")
    moved = {}
    for k, v in old.items():
        w = now[k]
        if v is None or w is None:
            if (v is None) != (w is None):
                moved[k] = (v, w)
        elif not math.isclose(w, v, rel_tol=1e-6, abs_tol=1e-9):
            moved[k] = (v, w)
    assert not moved, (
        f"{len(moved)} indicators moved from the baseline (stored, now), e.g. "
        f"{dict(list(moved.items())[:5])}; if intended, run python tests/baselines/regenerate.py")
