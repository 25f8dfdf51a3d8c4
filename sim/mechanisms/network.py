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

from sim.core.mechanism import Mechanism
from sim.core.params import Param
from sim.core.rng import tick_key, uniform
from sim.core.state import Network, Persons, Places

PARAMS = (
    Param(
        "village_size_agents",
        80,
        "agents",
        10,
        1000,
        "modelling choice: agents per village (a village stands for its migrants' circle)",
        "persons per village in the synthetic population",
        kind=int,
        role="structural",
    ),
    Param(
        "contacts_village",
        4,
        "ties per person",
        0,
        30,
        "assumption; kin and fellow villagers dominate migrants' job networks (seed 1.4)",
        "ties each person draws to random fellow villagers",
        kind=int,
        role="structural",
    ),
    Param(
        "contacts_county",
        2,
        "ties per person",
        0,
        30,
        "assumption; fellow-county ties (laoxiang) are the next circle (seed 1.4)",
        "ties each person draws to random persons in the home county",
        kind=int,
        role="structural",
    ),
    Param(
        "contacts_province",
        1,
        "ties per person",
        0,
        30,
        "assumption",
        "ties each person draws to random persons in the home province",
        kind=int,
        role="structural",
    ),
    Param(
        "contacts_national_prob",
        0.1,
        "probability",
        0.0,
        1.0,
        "assumption",
        "probability that a person has one tie in a random other place",
        role="structural",
    ),
)

MAX_KIN = 8  # kin ties kept per person (household members beyond this are ignored)


@njit(inline="always", cache=True)
def _partner(
    key,
    i,
    k,
    hh_start,
    hh,
    village,
    village_start,
    county,
    county_start,
    prov_start,
    county_prov,
    k_vill,
    k_cty,
    k_prov,
    p_nat,
    n,
):
    """The person drawn in tie slot ``k`` of person ``i``, or -1 for an empty slot.

    Slots: kin (other household members, at most MAX_KIN), then village, county, province and
    one national slot. A pure function of (key, i, k): the build can draw every tie twice (to
    count, then to fill) without storing the draws."""
    if k < MAX_KIN:
        h = hh[i]
        j = hh_start[h] + k
        if j >= i:
            j += 1  # skip self
        return j if j < hh_start[h + 1] else -1
    k -= MAX_KIN
    if k < k_vill:
        lo, hi = village_start[village[i]], village_start[village[i] + 1]
        j = lo + np.int64(uniform(key, i, k) * (hi - lo))
    elif k < k_vill + k_cty:
        c = county[i]
        lo, hi = county_start[c], county_start[c + 1]
        j = lo + np.int64(uniform(key, i, 100 + k) * (hi - lo))
    elif k < k_vill + k_cty + k_prov:
        p = county_prov[county[i]]
        lo, hi = prov_start[p], prov_start[p + 1]
        j = lo + np.int64(uniform(key, i, 200 + k) * (hi - lo))
    else:
        if uniform(key, i, 300) >= p_nat:
            return -1
        j = np.int64(uniform(key, i, 301) * n)
    return j if j != i else -1


@njit(cache=True, parallel=True)
def _build_csr(
    key,
    hh_start,
    hh,
    village,
    village_start,
    county,
    county_start,
    prov_start,
    county_prov,
    k_vill,
    k_cty,
    k_prov,
    p_nat,
):
    """Undirected CSR of all drawn ties (both directions), rows sorted, duplicates removed.

    Two passes over the same counter-based draws (count, then fill) keep the peak memory at
    about the size of the result."""
    n = hh.shape[0]
    per = MAX_KIN + k_vill + k_cty + k_prov + 1
    deg = np.zeros(n + 1, np.int64)
    for i in range(n):
        for k in range(per):
            j = _partner(
                key,
                i,
                k,
                hh_start,
                hh,
                village,
                village_start,
                county,
                county_start,
                prov_start,
                county_prov,
                k_vill,
                k_cty,
                k_prov,
                p_nat,
                n,
            )
            if j >= 0:
                deg[i + 1] += 1
                deg[j + 1] += 1
    ptr = np.cumsum(deg)
    fill = ptr[:-1].copy()
    idx = np.empty(ptr[-1], np.int32)
    for i in range(n):
        for k in range(per):
            j = _partner(
                key,
                i,
                k,
                hh_start,
                hh,
                village,
                village_start,
                county,
                county_start,
                prov_start,
                county_prov,
                k_vill,
                k_cty,
                k_prov,
                p_nat,
                n,
            )
            if j >= 0:
                idx[fill[i]] = j
                fill[i] += 1
                idx[fill[j]] = i
                fill[j] += 1
    newdeg = np.zeros(n + 1, np.int64)
    for i in prange(n):
        row = idx[ptr[i] : ptr[i + 1]]
        row.sort()
        m = 0
        for t in range(row.shape[0]):
            if t == 0 or row[t] != row[t - 1]:
                row[m] = row[t]
                m += 1
        newdeg[i + 1] = m
    nptr = np.cumsum(newdeg)
    for i in range(n):  # compact in place, left to right (never overtakes the source)
        src = ptr[i]
        dst = nptr[i]
        for t in range(nptr[i + 1] - nptr[i]):
            idx[dst + t] = idx[src + t]
    return nptr, idx[: nptr[-1]]  # a view: the few removed duplicates stay as slack, no copy


def build_network(persons: Persons, places: Places, seed: int, pars) -> Network:
    """Draw the contact network (counter-based stream ``network``)."""
    indptr, indices = _build_csr(
        tick_key(seed, "network", 0),
        places.hh_start,
        persons.hh,
        places.village,
        places.village_start,
        persons.county,
        places.county_start,
        places.prov_start,
        places.county_prov,
        int(pars.contacts_village),
        int(pars.contacts_county),
        int(pars.contacts_province),
        float(pars.contacts_national_prob),
    )
    if indptr[-1] <= np.iinfo(np.int32).max:  # 4 bytes a person instead of 8
        indptr = indptr.astype(np.int32)
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


class Contacts(Mechanism):
    """The kin and fellow-villager contact network (built once by the engine)."""

    name = "network"
    doc = "contacts in the household, village, county and province, and a few far away"
    params = PARAMS
    streams = ("network",)
