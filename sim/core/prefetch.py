"""A software prefetch for the kernels that visit a sparse subset of persons.

A decision reads the person's contact list (row pointers, then the rows, at a place of a
30 MB array at a million persons) and the places of those contacts: chains of dependent loads that
miss every cache when only a few percent of persons decide in a month. Asking for the lines of
the persons some places ahead in the list (:func:`prefetch`) hides that latency (measured: the
contact scan of 3.5% of persons 2-4 times faster, ``benchmarks/README.md``). A prefetch is a
hint: it reads nothing into the program and changes no number.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim.core.contacts import FAR_SHIFT, NEAR_SHIFT, near_row

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


@njit(inline="always", cache=True)
def contacts_ahead(who, r, m, cn, loc, status):
    """The prefetches of a loop over the persons ``who`` (at place ``r`` of ``m``) that reads
    each one's contacts (``cn``, :attr:`sim.core.contacts.Network.arrays`): the row offsets of
    the person ``2 * AHEAD`` places ahead, the contact lists (and the block of far ties) of the
    one ``AHEAD`` ahead, and the place (``loc``) and ``status`` of the near contacts of the one
    ``AHEAD // 2`` ahead (far ties, about 1% of contacts, are not worth the scan of their
    block)."""
    if r + 2 * AHEAD < m:
        j = who[r + 2 * AHEAD]
        prefetch(cn[1], j)
        prefetch(cn[0], j >> NEAR_SHIFT)
        prefetch(cn[3], j >> FAR_SHIFT)
    if r + AHEAD < m:
        j = who[r + AHEAD]
        lo, hi = near_row(j, cn)
        if hi > lo:
            prefetch(cn[2], lo)
            prefetch(cn[2], hi - 1)
        lo = cn[3][j >> FAR_SHIFT]
        if cn[3][(j >> FAR_SHIFT) + 1] > lo:
            prefetch(cn[4], lo)
            prefetch(cn[5], lo)
    if r + AHEAD // 2 < m:
        j = who[r + AHEAD // 2]
        lo, hi = near_row(j, cn)
        for a in range(lo, hi):
            c = j + cn[2][a]
            prefetch(loc, c)
            prefetch(status, c)
