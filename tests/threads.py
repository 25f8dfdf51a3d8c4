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


def assert_same_summary_except(with_mech, without_mech, own: set) -> None:
    """Two runs' summaries equal on every indicator but a mechanism's ``own`` (equal, or both
    NaN): the mechanism switched off changes nothing else."""
    a = {k: v for k, v in with_mech.summary().items() if k.split("[")[0] not in own}
    b = without_mech.summary()
    assert set(a) == set(b)
    for k in b:
        assert (a[k] == b[k]) or (a[k] != a[k] and b[k] != b[k]), k
