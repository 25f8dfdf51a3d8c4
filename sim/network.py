"""Social network of kin and fellow villagers, in CSR arrays built by numba kernels.

Every person knows the other working members of the household (kin), a few fellow villagers, fewer
people elsewhere in the county and the province, and rarely someone in another province. These
ties carry chain migration: about 95% of migrants found jobs through friends or by themselves
(seed 1.4, CASS), and migrant networks raise the odds of migrating and shape destination choice
(Zhao 2003, "The role of migrant networks in labor migration: the case of China", Contemporary
Economic Policy 21(4)). Ties are undirected. Use :func:`to_networkx` only on small populations.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.params import Param
from sim.rng import tick_key, uniform
from sim.state import Network, Persons, Places

PARAMS = (
    Param("village_size_agents", 80, "agents", 10, 1000,
          "modelling choice: agents per village (a village stands for its migrants' circle)",
          "persons per village in the synthetic population", kind=int),
    Param("contacts_village", 4, "ties per person", 0, 30,
          "assumption; kin and fellow villagers dominate migrants' job networks (seed 1.4)",
          "ties each person draws to random fellow villagers", kind=int),
    Param("contacts_county", 2, "ties per person", 0, 30,
          "assumption; fellow-county ties (laoxiang) are the next circle (seed 1.4)",
          "ties each person draws to random persons in the home county", kind=int),
    Param("contacts_province", 1, "ties per person", 0, 30,
          "assumption", "ties each person draws to random persons in the home province", kind=int),
    Param("contacts_national_prob", 0.1, "probability", 0.0, 1.0,
          "assumption", "probability that a person has one tie in a random other place"),
)

MAX_KIN = 8  # kin ties kept per person (household members beyond this are ignored)


@njit(cache=True, parallel=True)
def _draw_edges(key, hh, village, village_start, county, county_start, prov_start, county_prov,
                k_vill, k_cty, k_prov, p_nat, src, dst):
    """Fill (src, dst) with directed draws; unused slots stay -1. Kin from contiguous households."""
    n = hh.shape[0]
    per = MAX_KIN + k_vill + k_cty + k_prov + 1
    for i in prange(n):
        base = i * per
        m = 0
        # kin: household members are contiguous
        j = i - 1
        while j >= 0 and hh[j] == hh[i] and m < MAX_KIN // 2:
            src[base + m] = i
            dst[base + m] = j
            m += 1
            j -= 1
        j = i + 1
        while j < n and hh[j] == hh[i] and m < MAX_KIN:
            src[base + m] = i
            dst[base + m] = j
            m += 1
            j += 1
        m = MAX_KIN
        v = village[i]
        lo, hi = village_start[v], village_start[v + 1]
        for k in range(k_vill):
            j = lo + np.int64(uniform(key, i, k) * (hi - lo))
            if j != i:
                src[base + m] = i
                dst[base + m] = j
            m += 1
        c = county[i]
        lo, hi = county_start[c], county_start[c + 1]
        for k in range(k_cty):
            j = lo + np.int64(uniform(key, i, 100 + k) * (hi - lo))
            if j != i:
                src[base + m] = i
                dst[base + m] = j
            m += 1
        p = county_prov[c]
        lo, hi = prov_start[p], prov_start[p + 1]
        for k in range(k_prov):
            j = lo + np.int64(uniform(key, i, 200 + k) * (hi - lo))
            if j != i:
                src[base + m] = i
                dst[base + m] = j
            m += 1
        if uniform(key, i, 300) < p_nat:
            j = np.int64(uniform(key, i, 301) * n)
            if j != i:
                src[base + m] = i
                dst[base + m] = j


@njit(cache=True, parallel=True)
def _to_csr(n, src, dst):
    """Undirected CSR from directed pairs: both directions, rows sorted, duplicates removed."""
    deg = np.zeros(n + 1, np.int64)
    for e in range(src.shape[0]):
        if src[e] >= 0:
            deg[src[e] + 1] += 1
            deg[dst[e] + 1] += 1
    ptr = np.cumsum(deg)
    fill = ptr[:-1].copy()
    idx = np.empty(ptr[-1], np.int32)
    for e in range(src.shape[0]):
        a = src[e]
        if a >= 0:
            b = dst[e]
            idx[fill[a]] = b
            fill[a] += 1
            idx[fill[b]] = a
            fill[b] += 1
    # sort and dedupe each row in place, record new lengths
    newdeg = np.zeros(n + 1, np.int64)
    for i in prange(n):
        row = np.sort(idx[ptr[i]:ptr[i + 1]])
        k = 0
        for t in range(row.shape[0]):
            if t == 0 or row[t] != row[t - 1]:
                idx[ptr[i] + k] = row[t]
                k += 1
        newdeg[i + 1] = k
    nptr = np.cumsum(newdeg)
    out = np.empty(nptr[-1], np.int32)
    for i in prange(n):
        for t in range(nptr[i + 1] - nptr[i]):
            out[nptr[i] + t] = idx[ptr[i] + t]
    return nptr, out


def build_network(persons: Persons, places: Places, seed: int, pars) -> Network:
    """Draw the contact network (counter-based stream ``network``)."""
    n = persons.n
    k_v, k_c, k_p = int(pars.contacts_village), int(pars.contacts_county), int(pars.contacts_province)
    per = MAX_KIN + k_v + k_c + k_p + 1
    src = np.full(n * per, -1, np.int32)
    dst = np.full(n * per, -1, np.int32)
    _draw_edges(tick_key(seed, "network", 0), persons.hh, places.village, places.village_start,
                persons.county, places.county_start, places.prov_start, places.county_prov,
                k_v, k_c, k_p, float(pars.contacts_national_prob), src, dst)
    keep = src >= 0
    # drop duplicate pairs drawn from both ends before doubling (kin appear from both members)
    indptr, indices = _to_csr(n, src[keep], dst[keep])
    return Network(indptr=indptr, indices=indices)


def to_networkx(net: Network, max_nodes: int = 200_000):
    """An undirected networkx graph of the contacts (small populations only)."""
    import networkx as nx

    n = net.indptr.size - 1
    if n > max_nodes:
        raise ValueError(f"to_networkx is for small populations (<= {max_nodes}), got {n}")
    g = nx.Graph()
    g.add_nodes_from(range(n))
    rows = np.repeat(np.arange(n), np.diff(net.indptr))
    mask = rows < net.indices
    g.add_edges_from(zip(rows[mask].tolist(), net.indices[mask].tolist(), strict=True))
    return g
