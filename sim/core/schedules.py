"""Age schedules shared by the population build and the household life course."""

from __future__ import annotations

import numpy as np

FERTILE_MIN, FERTILE_MAX = 15, 49
MAX_AGE = 128


def fertility_weights(mean: float, sd: float) -> np.ndarray:
    """Relative fertility of women by single year of age 0..127: a normal schedule of the given
    mean and spread on ages 15-49, zero elsewhere; sums to 1."""
    a = np.arange(MAX_AGE, dtype=np.float64)
    w = np.exp(-0.5 * ((a + 0.5 - mean) / sd) ** 2)
    w[(a < FERTILE_MIN) | (a > FERTILE_MAX)] = 0.0
    return w / w.sum()


def children_expected(ages: np.ndarray, w: np.ndarray, first: int, last: int) -> np.ndarray:
    """Relative number of children born ``first``..``last`` years from now (negative: ago) to
    women of the given ages now: the sum of ``w`` over their ages in those years."""
    cum = np.concatenate([[0.0], np.cumsum(w), np.full(2 * MAX_AGE, w.sum())])
    lo = np.clip(ages.astype(np.int64) + first, 0, cum.size - 1)
    hi = np.clip(ages.astype(np.int64) + last + 1, 0, cum.size - 1)
    return cum[hi] - cum[lo]
