"""The contact network in compact form, and the kernels' reader of a person's contacts.

A person's contacts are two sorted lists (:class:`Network`):

- **near** ties, to slots at most 32,767 away, as int16 offsets ``j - i``. Kin, fellow
  villagers and most fellow-county persons are stored close together, so two bytes hold nearly
  every tie (about 17 a person). Their row starts are ``near_base[i >> NEAR_SHIFT] +
  near_off[i]``: an int64 start per block of 64 persons and a uint16 offset inside it (2 bytes
  a person instead of 4). A block holds at most 65,535 near ties: within the declared ranges
  of the contact parameters a block of 64 persons averages at most about 12,700.
- **far** ties, the rest, as int32 slot ids. They are rare (about one person in six has
  one), so instead of a row pointer per person they are kept per block of
  :data:`FAR_BLOCK` persons (``far_base``) with the owner's place in the block as a uint8
  (``far_own``); a person's far ties are found by a scan of the block's few entries (about
  three).

:func:`contacts_into` merges the two lists into increasing order, the order the kernels have
always read. ``near_ptr``, ``far_ptr`` and :meth:`Network.csr` give the plain forms on demand
(tests, the Mesa reference, networkx).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

NEAR_SPAN = 32767  # farthest slot distance stored as an int16 offset
NEAR_SHIFT = 6  # near row starts: one int64 base per 64 persons
FAR_SHIFT = 4
FAR_BLOCK = 1 << FAR_SHIFT  # persons per block of far ties (owner in the block: uint8)
FAR_MASK = FAR_BLOCK - 1
CONTACT_CHUNK = 256  # persons a parallel loop over contact lists gives each scratch list


@njit(inline="always", cache=True)
def near_row(i, cn):
    """(start, end) of person ``i``'s near ties in ``cn[2]`` (``cn``: :attr:`Network.arrays`)."""
    base, off = cn[0], cn[1]
    return (base[i >> NEAR_SHIFT] + np.int64(off[i]),
            base[(i + 1) >> NEAR_SHIFT] + np.int64(off[i + 1]))


@njit(inline="always", cache=True)
def far_row(i, cn):
    """(start, end) of person ``i``'s far ties in ``cn[5]``: a scan of the block's entries."""
    fbase, fown = cn[3], cn[4]
    blk = i >> FAR_SHIFT
    k = i & FAR_MASK
    b, end = fbase[blk], fbase[blk + 1]
    while b < end and fown[b] < k:
        b += 1
    e = b
    while e < end and fown[e] == k:
        e += 1
    return b, e


@njit(inline="always", cache=True)
def contacts_into(i, cn, buf):
    """Write the contacts of person ``i`` into ``buf`` in increasing order (the merge of the
    near and far parts of ``cn``, :attr:`Network.arrays`); returns their number."""
    near, far = cn[2], cn[5]
    a, ae = near_row(i, cn)
    b, be = far_row(i, cn)
    m = 0
    while a < ae and b < be:
        j = i + np.int64(near[a])
        f = np.int64(far[b])
        if j < f:
            buf[m] = j
            a += 1
        else:
            buf[m] = f
            b += 1
        m += 1
    while a < ae:
        buf[m] = i + np.int64(near[a])
        a += 1
        m += 1
    while b < be:
        buf[m] = far[b]
        b += 1
        m += 1
    return m


@njit(cache=True)
def _block_span(ptr, shift):
    """Largest offset of a row start from its block's first start."""
    top = 0
    for i in range(ptr.shape[0]):
        v = ptr[i] - ptr[(i >> shift) << shift]
        if v > top:
            top = v
    return top


@njit(cache=True)
def _near_offsets(ptr, base, off):
    for b in range(base.shape[0]):
        base[b] = ptr[b << NEAR_SHIFT]
    for i in range(ptr.shape[0]):
        off[i] = ptr[i] - base[i >> NEAR_SHIFT]


@njit(cache=True)
def _far_blocks(ptr, fbase, fown):
    n = ptr.shape[0] - 1
    for b in range(fbase.shape[0]):
        fbase[b] = ptr[min(b << FAR_SHIFT, n)]
    for i in range(n):
        for a in range(ptr[i], ptr[i + 1]):
            fown[a] = i & FAR_MASK


@njit(cache=True)
def _max_degree(n, cn):
    top = 0
    for i in range(n):
        a, ae = near_row(i, cn)
        b, be = far_row(i, cn)
        d = (ae - a) + (be - b)
        if d > top:
            top = d
    return top


@njit(cache=True)
def _far_counts(n, cn, out):
    for i in range(n):
        b, e = far_row(i, cn)
        out[i + 1] = e - b


@dataclass
class Network:
    """Contacts in two sorted parts, near offsets and far ids (module docstring). Kernels read a
    person's contacts, in increasing order, with :func:`contacts_into` on :attr:`arrays`."""

    near_base: np.ndarray  # int64 ((n >> NEAR_SHIFT) + 1): row start of each block's first person
    near_off: np.ndarray  # uint16 (n + 1): row start less the block's
    near: np.ndarray  # int16, j - i
    far_base: np.ndarray  # int64 (blocks + 1): first far entry of each block of FAR_BLOCK persons
    far_own: np.ndarray  # uint8: the owner's place in its block (i & FAR_MASK)
    far: np.ndarray  # int32, j
    n: int = field(init=False)  # number of person slots
    max_degree: int = field(init=False)  # the longest contact list (the kernels' scratch size)

    def __post_init__(self) -> None:
        self.n = self.near_off.size - 1
        self.max_degree = int(_max_degree(self.n, self.arrays))

    @classmethod
    def from_rows(cls, near_ptr: np.ndarray, near: np.ndarray, far_ptr: np.ndarray,
                  far: np.ndarray) -> Network:
        """The compact form of two CSR parts (row pointers of n + 1 entries each)."""
        n = near_ptr.size - 1
        span = _block_span(near_ptr, NEAR_SHIFT)
        if span > np.iinfo(np.uint16).max:
            raise ValueError(f"{span:,} near ties in a block of {1 << NEAR_SHIFT} persons: at "
                             "most 65,535 fit (contact parameters far outside their ranges?)")
        base = np.empty((n >> NEAR_SHIFT) + 1, np.int64)
        off = np.empty(n + 1, np.uint16)
        _near_offsets(near_ptr, base, off)
        fbase = np.empty(((n - 1) >> FAR_SHIFT) + 2 if n else 1, np.int64)
        fown = np.empty(far.size, np.uint8)
        _far_blocks(far_ptr, fbase, fown)
        return cls(base, off, near, fbase, fown, far)

    @property
    def arrays(self) -> tuple:
        """(near_base, near_off, near, far_base, far_own, far), as kernels take them."""
        return (self.near_base, self.near_off, self.near, self.far_base, self.far_own, self.far)

    @property
    def near_ptr(self) -> np.ndarray:
        """Row pointers of the near ties (int64, n + 1), built on demand."""
        idx = np.arange(self.n + 1, dtype=np.int64)
        return self.near_base[idx >> NEAR_SHIFT] + self.near_off

    @property
    def far_ptr(self) -> np.ndarray:
        """Row pointers of the far ties (int64, n + 1), built on demand."""
        out = np.zeros(self.n + 1, np.int64)
        _far_counts(self.n, self.arrays, out)
        return np.cumsum(out, out=out)

    def degree(self) -> np.ndarray:
        return np.diff(self.near_ptr) + np.diff(self.far_ptr)

    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """(indptr int64, indices int64): the plain CSR of the same rows, built on demand (for
        tests, the Mesa reference and networkx on small populations)."""
        n = self.n
        near_ptr, far_ptr = self.near_ptr, self.far_ptr
        rn = np.repeat(np.arange(n, dtype=np.int64), np.diff(near_ptr))
        rf = np.repeat(np.arange(n, dtype=np.int64), np.diff(far_ptr))
        rows = np.concatenate([rn, rf])
        cols = np.concatenate([rn + self.near, self.far.astype(np.int64)])
        order = np.lexsort((cols, rows))
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.diff(near_ptr) + np.diff(far_ptr), out=indptr[1:])
        return indptr, cols[order]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays)
