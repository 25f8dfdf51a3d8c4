"""The contact network in compact form, and the kernels' reader of a person's contacts.

A person's contacts are two sorted lists (:class:`Network`):

- **near** ties, to slots at most 32,767 away. Kin, fellow villagers and most fellow-county
  persons are stored close together, so a row of near ties (about 15 a slot) is coded in
  bytes (``near_code``, uint8): the first tie's offset ``j - i`` zigzag-coded (0, -1, 1, -2,
  ... as 0, 1, 2, 3, ...), then each tie's distance from the previous one, one byte a tie
  from the row's start. A value from 1 to 255 is its own byte; any other (0, or above 255:
  about one gap in six, and most first offsets) is an escape, a zero byte whose value is a
  little-endian uint16 taken from the row's end, the first escape in the last two bytes, the
  next in the two before. About 1.35 bytes a tie instead of an int16's two; a decoder reads
  the ties at fixed places and stops where the escapes begin (:func:`next_tie`), so it has
  no chain of variable lengths to follow. Row starts (in bytes) are
  ``near_base[i >> NEAR_SHIFT] + near_off[i]``: an int64 start per block of 64 persons and a
  uint16 offset inside it. A block holds at most 65,535 bytes: within the declared ranges of
  the contact parameters a block of 64 persons averages at most about 12,700 ties. Two bytes
  of padding end the code (the decoder reads an escape's place before it knows it needs it).
- **far** ties, the rest, as int32 slot ids. They are rare (about one person in six has
  one), so instead of a row pointer per person they are kept per block of
  :data:`FAR_BLOCK` persons (``far_base``) with the owner's place in the block as a uint8
  (``far_own``); a person's far ties are found by a scan of the block's few entries (about
  three).

:func:`contacts_into` decodes and merges the two lists into increasing order, the order the
kernels have always read. ``near``, ``near_ptr``, ``far_ptr`` and :meth:`Network.csr` give the
plain forms on demand (tests, the Mesa reference, networkx).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from numba import njit

NEAR_SPAN = 32767  # farthest slot distance stored as a near tie (its code: at most 3 bytes)
NEAR_SHIFT = 6  # near row starts: one int64 base per 64 persons
FAR_SHIFT = 4
FAR_BLOCK = 1 << FAR_SHIFT  # persons per block of far ties (owner in the block: uint8)
FAR_MASK = FAR_BLOCK - 1
CONTACT_CHUNK = 256  # persons a parallel loop over contact lists gives each scratch list
PAD = 2  # bytes after the last code: the decoder may read an escape at the row's end


@njit(inline="always", cache=True)
def next_tie(code, a, o):
    """(value, next tie's byte, escapes' boundary) of the tie at byte ``a`` of a row whose
    escapes not yet read end at ``o`` (at first the row's end); the row ends when ``a``
    reaches ``o``. No branch: the escape's two bytes are read whether or not the tie has one
    (the code's padding keeps the read in bounds)."""
    c = np.int64(code[a])
    e = np.int64(c == 0)
    o -= 2 * e
    return c + e * (np.int64(code[o]) | (np.int64(code[o + 1]) << 8)), a + 1, o


@njit(inline="always", cache=True)
def unzigzag(z):
    """The signed offset of a zigzag code (0, 1, 2, 3, ... -> 0, -1, 1, -2, ...)."""
    return (z >> 1) ^ -(z & 1)


@njit(inline="always", cache=True)
def near_row(i, cn):
    """(start, end) bytes of person ``i``'s coded near ties in ``cn[2]`` (``cn``:
    :attr:`Network.arrays`)."""
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
    """Write the contacts of person ``i`` into ``buf`` in increasing order (the near ties
    decoded and merged with the far ones of ``cn``, :attr:`Network.arrays`); returns their
    number."""
    code, far = cn[2], cn[5]
    a, ae = near_row(i, cn)
    b, be = far_row(i, cn)
    m = 0
    if a < ae:
        z, a, ae = next_tie(code, a, ae)
        j = i + unzigzag(z)
        while True:
            while b < be and np.int64(far[b]) <= j:
                buf[m] = far[b]
                b += 1
                m += 1
            buf[m] = j
            m += 1
            if a >= ae:
                break
            d, a, ae = next_tie(code, a, ae)
            j += d
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


@njit(inline="always", cache=True)
def _zigzag(v):
    return 2 * v if v >= 0 else -2 * v - 1


@njit(inline="always", cache=True)
def _put_row(code, a, end, vals, k):
    """Write the ``k`` sorted offsets ``vals`` as one row's code at bytes ``[a, end)``."""
    o = end
    for q in range(k):
        g = _zigzag(vals[0]) if q == 0 else vals[q] - vals[q - 1]
        if 1 <= g <= 255:
            code[a + q] = g
        else:
            code[a + q] = 0
            o -= 2
            code[o] = g & 255
            code[o + 1] = g >> 8


@njit(cache=True)
def _encode(ptr, near, cptr, code, tmp):
    """Byte counts of each row's code at ``cptr[i + 1]`` (``code`` empty), or the codes written
    at ``cptr`` (row starts in bytes; ``tmp`` holds a row). Returns -1, or the first row that
    is not sorted or has an offset beyond NEAR_SPAN."""
    n = ptr.shape[0] - 1
    fill = code.shape[0] > 0
    for i in range(n):
        k = 0
        size = 0
        for t in range(ptr[i], ptr[i + 1]):
            v = np.int64(near[t])
            if v > NEAR_SPAN or v < -NEAR_SPAN or (k > 0 and v < tmp[k - 1]):
                return i
            g = _zigzag(v) if k == 0 else v - tmp[k - 1]
            size += 1 if 1 <= g <= 255 else 3
            tmp[k] = v
            k += 1
        if fill:
            _put_row(code, cptr[i], cptr[i + 1], tmp, k)
        else:
            cptr[i + 1] = size
    return -1


@njit(cache=True)
def _fits_in_place(ptr, cptr):
    """Whether every row's code ends before the next row's int16 offsets begin."""
    for i in range(ptr.shape[0] - 1):
        if cptr[i + 1] > 2 * np.int64(ptr[i + 1]):
            return False
    return True


@njit(cache=True)
def _encode_in_place(ptr, raw, cptr, tmp):
    """The codes written over the int16 offsets they come from (``raw``: their bytes,
    little-endian), a row at a time through ``tmp``; needs :func:`_fits_in_place`."""
    for i in range(ptr.shape[0] - 1):
        k = 0
        for t in range(ptr[i], ptr[i + 1]):
            v = np.int64(raw[2 * t]) | (np.int64(raw[2 * t + 1]) << 8)
            tmp[k] = v - 65536 if v >= 32768 else v
            k += 1
        _put_row(raw, cptr[i], cptr[i + 1], tmp, k)


@njit(cache=True)
def _decode(n, cn, out):
    """Every near offset, row after row, into ``out`` (int16)."""
    code = cn[2]
    t = 0
    for i in range(n):
        a, ae = near_row(i, cn)
        j = np.int64(0)
        first = True
        while a < ae:
            g, a, ae = next_tie(code, a, ae)
            j = unzigzag(g) if first else j + g
            first = False
            out[t] = j
            t += 1


@njit(inline="always", cache=True)
def _near_count(i, cn):
    """Number of person ``i``'s near ties (its code read to the escapes' boundary)."""
    a, ae = near_row(i, cn)
    k = 0
    while a < ae:
        _, a, ae = next_tie(cn[2], a, ae)
        k += 1
    return k


@njit(cache=True)
def _near_counts(n, cn, out):
    for i in range(n):
        out[i + 1] = _near_count(i, cn)


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
        b, be = far_row(i, cn)
        d = _near_count(i, cn) + be - b
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
    """Contacts in two sorted parts, coded near offsets and far ids (module docstring). Kernels
    read a person's contacts, in increasing order, with :func:`contacts_into` on
    :attr:`arrays`."""

    near_base: np.ndarray  # int64 ((n >> NEAR_SHIFT) + 1): byte start of each block's first row
    near_off: np.ndarray  # uint16 (n + 1): a row's byte start less its block's
    near_code: np.ndarray  # uint8: each row's offsets as LEB128 gaps (module docstring)
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
                  far: np.ndarray, own: np.ndarray | None = None) -> Network:
        """The compact form of two CSR parts (row pointers of n + 1 entries each; the near
        part's offsets ``j - i`` sorted within each row and at most :data:`NEAR_SPAN` apart).

        ``own``, if given, is the uint8 buffer under ``near`` (``near`` a view of it as int16
        from its first byte): the code is then written over the offsets, row after row, and
        the buffer shrunk in place, so that the offsets and their code are never held at once
        (the build's peak). The caller must not read ``near`` afterwards. Where the code of
        the first rows would outrun the offsets still to read, a separate array is used."""
        n = near_ptr.size - 1
        cptr = np.zeros(n + 1, np.int64)
        tmp = np.empty(int(np.diff(near_ptr).max()) if n else 0, np.int64)  # one row
        bad = _encode(near_ptr, near, cptr, np.empty(0, np.uint8), tmp)
        if bad >= 0:
            raise ValueError(f"the near ties of row {bad} are not sorted, or lie beyond "
                             f"+-{NEAR_SPAN:,}")
        np.cumsum(cptr, out=cptr)
        span = _block_span(cptr, NEAR_SHIFT)
        if span > np.iinfo(np.uint16).max:
            raise ValueError(f"{span:,} bytes of near ties in a block of {1 << NEAR_SHIFT} "
                             "persons: at most 65,535 fit (contact parameters far outside "
                             "their ranges?)")
        total = int(cptr[-1])
        if (own is not None and sys.byteorder == "little" and own.dtype == np.uint8
                and own.flags.owndata and own.size >= max(2 * near.size, total + PAD)
                and near.__array_interface__["data"][0] == own.__array_interface__["data"][0]
                and _fits_in_place(near_ptr, cptr)):
            _encode_in_place(near_ptr, own, cptr, tmp)
            own.resize(total + PAD, refcheck=False)  # realloc: the tail given back, no copy
            code = own
        else:
            code = np.empty(total + PAD, np.uint8)
            _encode(near_ptr, near, cptr, code, tmp)
        code[total:] = 0
        base = np.empty((n >> NEAR_SHIFT) + 1, np.int64)
        off = np.empty(n + 1, np.uint16)
        _near_offsets(cptr, base, off)
        del cptr
        fbase = np.empty(((n - 1) >> FAR_SHIFT) + 2 if n else 1, np.int64)
        fown = np.empty(far.size, np.uint8)
        _far_blocks(far_ptr, fbase, fown)
        return cls(base, off, code, fbase, fown, far)

    @property
    def arrays(self) -> tuple:
        """(near_base, near_off, near_code, far_base, far_own, far), as kernels take them."""
        return (self.near_base, self.near_off, self.near_code, self.far_base, self.far_own,
                self.far)

    @property
    def near_ptr(self) -> np.ndarray:
        """Row pointers of the near ties (int64, n + 1, in ties), built on demand."""
        out = np.zeros(self.n + 1, np.int64)
        _near_counts(self.n, self.arrays, out)
        return np.cumsum(out, out=out)

    @property
    def near(self) -> np.ndarray:
        """The near ties' offsets ``j - i`` (int16, row after row), decoded on demand."""
        ptr = self.near_ptr
        out = np.empty(int(ptr[-1]), np.int16)
        _decode(self.n, self.arrays, out)
        return out

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
