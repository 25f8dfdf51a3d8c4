"""Counter-based random numbers: every draw is a pure function of (seed, stream, tick, agent id).

No generator object is carried from step to step and no global state is touched. A draw is the
SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators")
applied to a key mixed from its four counters; it is the same whichever thread computes it and in
whatever order, so results are bit-identical with any number of numba threads or processes.

Each behavioural decision has its own named stream. A policy scenario that changes one decision
therefore leaves the draws of every other decision untouched: scenario and baseline share common
random numbers (Starsim's design; see also L'Ecuyer 2017 on common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

_MASK64 = (1 << 64) - 1


def _mix_py(z: int) -> int:
    """SplitMix64 finaliser on Python ints (used to build per-tick keys)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def stream_id(name: str) -> int:
    """Stable 64-bit id of a named stream (blake2b of the name; never Python's salted hash)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def tick_key(seed: int, stream: str, tick: int) -> np.uint64:
    """Key of one (seed, stream, tick); kernels combine it with the agent id and a draw index."""
    k = _mix_py(int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)
    k = _mix_py(k ^ stream_id(stream))
    k = _mix_py(k + (int(tick) + 1) * 0x9E3779B97F4A7C15)
    return np.uint64(k)


@njit(inline="always", cache=True)
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def uniform(key, agent, k):
    """Uniform draw in [0, 1) for (key, agent id, draw index k); 53 random bits."""
    z = _mix(key ^ _mix(np.uint64(agent) * _GOLDEN + np.uint64(k)))
    return np.float64(z >> _S11) * _INV53


@njit(cache=True)
def uniforms(key, n, k=0):
    """Vector of draws for agents 0..n-1 (mainly for tests and set-up code)."""
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = uniform(key, i, k)
    return out


def uniform_array(seed: int, stream: str, tick: int, n: int, k: int = 0) -> np.ndarray:
    """Draws for agents 0..n-1 from one (seed, stream, tick)."""
    return uniforms(tick_key(seed, stream, tick), n, k)


def normal_array(seed: int, stream: str, tick: int, n: int) -> np.ndarray:
    """Standard normal draws (inverse CDF of the counter-based uniforms)."""
    from scipy.special import ndtri

    u = uniform_array(seed, stream, tick, n)
    return ndtri(np.clip(u, 1e-16, 1 - 1e-16))
