"""Shared by the common-random-numbers tests of January rules: one run saved after its first
months, restored into a second run that differs only by a rule, then both stepped once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim import Simulation
from sim.engine import checkpoint as ck


def fork_one_month(tmp_path: Path, rule: dict[str, Any], *, months: int = 36,
                   **kw: Any) -> tuple[Simulation, Simulation]:
    """A default run (``kw``: agents, seed, start_year, years) stepped ``months`` months, and a
    run with ``rule`` restored from its saved state; both then step one more month, so the
    two share every draw and differ only by what the rule changes."""
    a = Simulation({}, **kw)
    for _ in range(months):
        a.step()
    b = Simulation(rule, **kw)
    path = ck.save_state(a, tmp_path / "s.npz")
    with np.load(path) as z:
        ck._restore(b, ck.read_header(path), z)
    a.step()
    b.step()
    return a, b
