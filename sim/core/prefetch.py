"""A software prefetch for the kernels that visit a sparse subset of persons.

A decision reads the person's contact list (row pointers, then the rows, at a place of a
30 MB array at a million persons) and the places of those contacts: chains of dependent loads that
miss every cache when only a few percent of persons decide in a month. Asking for the lines of
the persons some places ahead in the list (:func:`prefetch`) hides that latency (measured: the
contact scan of 3.5% of persons 2-4 times faster, ``benchmarks/README.md``). A prefetch is a
hint: it reads nothing into the program and changes no number. The contact lists are coded
(:mod:`sim.core.contacts`), so :func:`contacts_ring` decodes each once, a few places ahead,
keeps it for its turn and asks for the contacts' lines then.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim.core.contacts import FAR_SHIFT, NEAR_SHIFT, contacts_into, near_row

_I32 = ir.IntType(32)
_I8P = ir.IntType(8).as_pointer()


@intrinsic
def prefetch(typingctx, arr, idx):
    """Prefetch the cache line of ``arr[idx]`` for reading (``llvm.prefetch``, high locality).
    No bounds check is needed: a prefetch of any address never faults."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        # llvmlite names the overload by its pointer type (p0, or p0i8 with typed pointers)
        fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [_I8P], fnty)
        rw, locality, cache = ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)
        builder.call(fn, [builder.bitcast(ptr, _I8P), rw, locality, cache])
        return context.get_dummy_value()

    return sig, codegen


AHEAD = 8  # list places ahead whose contact lists are asked for


RING = 8  # decoded contact lists a reader keeps: the current one and those AHEAD // 2 ahead
RING_MASK = RING - 1


@njit(inline="always", cache=True)
def contact_ring(max_degree):
    """Scratch for :func:`contacts_ring` (rows of contacts and their lengths), one a thread."""
    return np.empty((RING, max_degree), np.int64), np.zeros(RING, np.int64)


@njit(inline="always", cache=True)
def contacts_ring(who, r, lo, hi, m, cn, loc, status, ring, ring_n):
    """The contacts of ``who[r]`` in increasing order (a view of ``ring``), in a loop over
    ``who[lo:hi]`` (of ``m``) that reads each one's contacts (``cn``,
    :attr:`sim.core.contacts.Network.arrays`). Each list is decoded once, ``AHEAD // 2``
    places ahead, into the ring (``ring``, ``ring_n``: :func:`contact_ring`), and the place
    (``loc``) and ``status`` of those contacts are asked for then; the row starts of the
    person ``2 * AHEAD`` places ahead and the coded ties (and the block of far ties) of the
    one ``AHEAD`` ahead are asked for before."""
    if r + 2 * AHEAD < m:
        j = who[r + 2 * AHEAD]
        prefetch(cn[1], j)
        prefetch(cn[0], j >> NEAR_SHIFT)
        prefetch(cn[3], j >> FAR_SHIFT)
    if r + AHEAD < m:
        j = who[r + AHEAD]
        lo_b, hi_b = near_row(j, cn)
        if hi_b > lo_b:
            prefetch(cn[2], lo_b)
            prefetch(cn[2], hi_b - 1)
        f = cn[3][j >> FAR_SHIFT]
        if cn[3][(j >> FAR_SHIFT) + 1] > f:
            prefetch(cn[4], f)
            prefetch(cn[5], f)
    if r == lo:  # the first lists of the loop, not decoded ahead
        for q in range(lo, min(hi, lo + AHEAD // 2)):
            ring_n[q & RING_MASK] = contacts_into(who[q], cn, ring[q & RING_MASK])
    q = r + AHEAD // 2
    if q < hi:
        row = ring[q & RING_MASK]
        k = contacts_into(who[q], cn, row)
        ring_n[q & RING_MASK] = k
        for a in range(k):
            prefetch(loc, row[a])
            prefetch(status, row[a])
    s = r & RING_MASK
    return ring[s][: ring_n[s]]
