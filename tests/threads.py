"""Shared by the thread-count tests: run a child script once per numba thread count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def arrays_by_thread_count(child: str, tmp_path: Path, counts=(1, 2)) -> dict:
    """Run ``child`` (Python source that saves arrays to the .npz path given as its first
    argument) in a fresh process per ``NUMBA_NUM_THREADS`` in ``counts``; the loaded arrays."""
    out = {}
    for nt in counts:
        env = dict(os.environ, NUMBA_NUM_THREADS=str(nt))
        f = tmp_path / f"t{nt}.npz"
        proc = subprocess.run([sys.executable, "-c", child, str(f)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[nt] = np.load(f)
    return out


def assert_same_arrays(a, b) -> None:
    """Every array of two loaded .npz files equal, element for element."""
    assert a.files == b.files
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def assert_same_series_except(with_mech, without_mech, own: set) -> None:
    """Two runs equal, month by month and group by group, on every indicator but a mechanism's
    ``own`` (NaN where both are NaN): the mechanism switched off changes nothing else."""
    a = {k: v for k, v in with_mech.series().items() if k[0] not in own}
    b = without_mech.series()
    assert set(a) == set(b), set(a) ^ set(b)
    for k, v in b.items():
        np.testing.assert_array_equal(a[k], v, err_msg=str(k))
