"""Kernels of the destination-choice tables (:func:`sim.mechanisms.decisions.choice.type_tables`):
the utility of every type at every destination, and running sums along rows. Both repeat the
array formula they replaced operation for operation, so the tables are bit-identical to it
(``tests/test_type_tables.py``)."""

from __future__ import annotations

from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk


@njit(cache=True, parallel=True)
def utilities(pull, log_net, move_cost, age_cost, sex_cost, common, size, lam, out):
    """V/lambda for every type (row, in :func:`type_index` order) and destination: the
    operations of the array formula, in its order, one element at a time (bit-identical to it,
    without its seven-dimensional temporaries). ``log_net`` is (school, train, sex, dest);
    ``size`` is lambda times the log size term, zeros without one (adding 0.0 leaves every
    value as it was)."""
    n_prov, n_cap, n_dest = move_cost.shape
    n_school, n_train, n_sex, _ = log_net.shape
    n_age = pull.size
    per_prov = n_school * n_train * n_age * n_sex * n_cap
    for p in prange(n_prov):
        row = p * per_prov
        for s in range(n_school):
            for tr in range(n_train):
                for a in range(n_age):
                    for x in range(n_sex):
                        ln = log_net[s, tr, x]
                        pa, ac, sx = pull[a], age_cost[a], sex_cost[x]
                        for c in range(n_cap):
                            mc = move_cost[p, c]
                            o = out[row]
                            for j in range(n_dest):
                                o[j] = ((pa * ln[j] - mc[j] - ac - sx + common[j])
                                        + size[j]) / lam
                            row += 1


@njit(cache=True, parallel=True)
def cumulate_rows(e, out):
    """Running sums along each row (numpy's cumsum along axis 1: sequential additions)."""
    n, m = e.shape
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        for i in range(lo, hi):
            acc = 0.0
            for j in range(m):
                acc = acc + e[i, j]
                out[i, j] = acc
