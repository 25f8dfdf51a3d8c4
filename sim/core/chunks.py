"""Fixed chunks of the person range for parallel tallies.

A tally over persons runs in parallel over ``N_CHUNKS`` fixed chunks of the index range; each
chunk writes its own partial counts (or sums), which are then reduced in chunk order. Integer
counts are exact in any order; the partial float sums are added in chunk order, and the chunks
do not depend on the number of threads, so every result is the same with any thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit

N_CHUNKS = 64


@njit(cache=True, inline="always")
def chunk(c, n):
    """[lo, hi) of chunk ``c`` of ``N_CHUNKS`` over ``n`` persons, as unsigned integers: a loop
    ``for i in range(lo, hi)`` then has an index the compiler knows is not negative, so array
    reads skip numba's wraparound check (a fifth faster than signed bounds here)."""
    return np.uint64(c * n // N_CHUNKS), np.uint64((c + 1) * n // N_CHUNKS)
