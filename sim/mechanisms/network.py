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

from sim.core.contacts import NEAR_SPAN
from sim.core.mechanism import Mechanism
from sim.core.params import Param
from sim.core.rng import tick_key, uniform
from sim.core.state import Network, Persons, Places, county_of, household

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
    pa,
    v,
    village_start,
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

    Slots: kin (other household members, at most MAX_KIN), then village (``v``, the village of
    i), county, province and one national slot. A pure function of (key, i, k): the build can
    draw every tie twice (to count, then to fill) without storing the draws."""
    if k < MAX_KIN:
        h = household(pa, i)
        j = hh_start[h] + k
        if j >= i:
            j += 1  # skip self
        return j if j < hh_start[h + 1] else -1
    k -= MAX_KIN
    if k < k_vill:
        lo, hi = village_start[v], village_start[v + 1]
        j = lo + np.int64(uniform(key, i, k) * (hi - lo))
    elif k < k_vill + k_cty:
        c = county_of(pa, i)
        lo, hi = county_start[c], county_start[c + 1]
        j = lo + np.int64(uniform(key, i, 100 + k) * (hi - lo))
    elif k < k_vill + k_cty + k_prov:
        p = county_prov[county_of(pa, i)]
        lo, hi = prov_start[p], prov_start[p + 1]
        j = lo + np.int64(uniform(key, i, 200 + k) * (hi - lo))
    else:
        if uniform(key, i, 300) >= p_nat:
            return -1
        j = np.int64(uniform(key, i, 301) * n)
    return j if j != i else -1


@njit(cache=True, parallel=True)  # measured: its serial loops run 7x faster in this mode
def _ties(key, hh_start, pa, village_start, county_start, prov_start, county_prov,
          k_vill, k_cty, k_prov, p_nat, span, nptr, near, fptr, far):
    """One pass over every drawn tie (both directions). With ``near`` and ``far`` empty it
    counts each row's entries into ``nptr[i + 1]`` and ``fptr[i + 1]`` (zeroed first);
    otherwise it writes them, using ``nptr[i]`` and ``fptr[i]`` (the rows' starts) as
    cursors, which end at the rows' ends. A tie is near (an int16 offset ``j - i``) when
    ``|j - i| <= span``, for both of its ends, so a row is the merge of its two sorted parts
    (:func:`sim.core.contacts.contacts_into`)."""
    n = pa.hh_off.shape[0]
    per = MAX_KIN + k_vill + k_cty + k_prov + 1
    fill = near.shape[0] + far.shape[0] > 0
    if not fill:
        for i in prange(n + 1):
            nptr[i] = 0
            fptr[i] = 0
    v = 0
    for i in range(n):
        while village_start[v + 1] <= i:
            v += 1
        for k in range(per):
            j = _partner(key, i, k, hh_start, pa, v, village_start, county_start,
                         prov_start, county_prov, k_vill, k_cty, k_prov, p_nat, n)
            if j < 0:
                continue
            if abs(j - i) <= span:
                if fill:
                    near[nptr[i]] = j - i
                    nptr[i] += 1
                    near[nptr[j]] = i - j
                    nptr[j] += 1
                else:
                    nptr[i + 1] += 1
                    nptr[j + 1] += 1
            elif fill:
                far[fptr[i]] = j
                fptr[i] += 1
                far[fptr[j]] = i
                fptr[j] += 1
            else:
                fptr[i + 1] += 1
                fptr[j + 1] += 1


@njit(cache=True)
def _unshift(ptr):
    """Row pointers back from the fill's cursors (each at its row's end = the next start)."""
    for i in range(ptr.shape[0] - 1, 0, -1):
        ptr[i] = ptr[i - 1]
    ptr[0] = 0


@njit(cache=True, parallel=True)
def _sorted_unique_rows(ptr, idx):
    """Each CSR row sorted with its duplicates removed and compacted in place (left to right,
    never overtaking the source; ``ptr`` rewritten); returns the view of ``idx`` in use."""
    n = ptr.shape[0] - 1
    kept = np.empty(n, np.int32)
    for i in prange(n):
        row = idx[ptr[i] : ptr[i + 1]]
        row.sort()
        m = 0
        for t in range(row.shape[0]):
            if t == 0 or row[t] != row[t - 1]:
                row[m] = row[t]
                m += 1
        kept[i] = m
    dst = 0
    for i in range(n):
        src = ptr[i]
        for t in range(kept[i]):
            idx[dst + t] = idx[src + t]
        ptr[i] = dst
        dst += kept[i]
    ptr[n] = dst
    return idx[:dst]  # a view: the few removed duplicates stay as slack, no copy


def _pointers(counts: np.ndarray) -> np.ndarray:
    """Row starts from counts at ``[i + 1]``, in place as int32 when the total allows it."""
    total = int(counts.sum(dtype=np.int64))
    if total <= np.iinfo(np.int32).max:
        return np.cumsum(counts, out=counts)
    return np.cumsum(counts, dtype=np.int64)


def build_network(persons: Persons, places: Places, seed: int, pars,
                  span: int = NEAR_SPAN) -> Network:
    """Draw the contact network (counter-based stream ``network``). ``span`` (at most
    :data:`NEAR_SPAN`) is the farthest slot distance stored as an offset; any span gives the
    same contacts."""
    if not 0 <= span <= NEAR_SPAN:
        raise ValueError(f"span must be in [0, {NEAR_SPAN}], got {span}")
    n = persons.n
    args = (
        tick_key(seed, "network", 0),
        places.hh_start,
        persons.core,
        places.village_start,
        places.county_start,
        places.prov_start,
        places.county_prov,
        int(pars.contacts_village),
        int(pars.contacts_county),
        int(pars.contacts_province),
        float(pars.contacts_national_prob),
        int(span),
    )
    nptr, fptr = np.empty(n + 1, np.int32), np.empty(n + 1, np.int32)
    none16, none32 = np.empty(0, np.int16), np.empty(0, np.int32)
    _ties(*args, nptr, none16, fptr, none32)  # count (a row holds under 2**31 entries)
    nptr, fptr = _pointers(nptr), _pointers(fptr)
    raw = np.empty(2 * int(nptr[-1]), np.uint8)  # the near offsets' bytes, later their code
    near, far = raw.view(np.int16), np.empty(fptr[-1], np.int32)
    if near.size + far.size:
        _ties(*args, nptr, near, fptr, far)  # fill: the same counter-based draws
    _unshift(nptr)
    _unshift(fptr)
    near = _sorted_unique_rows(nptr, near)
    far = _sorted_unique_rows(fptr, far)
    return Network.from_rows(nptr, near, fptr, far, own=raw)


def to_networkx(net: Network, max_nodes: int = 200_000):
    """An undirected networkx graph of the contacts (small populations only)."""
    import networkx as nx

    n = net.n
    if n > max_nodes:
        raise ValueError(f"to_networkx is for small populations (<= {max_nodes}), got {n}")
    indptr, indices = net.csr()
    g = nx.Graph()
    g.add_nodes_from(range(n))
    rows = np.repeat(np.arange(n), np.diff(indptr))
    mask = rows < indices
    g.add_edges_from(zip(rows[mask].tolist(), indices[mask].tolist(), strict=True))
    return g


class Contacts(Mechanism):
    """The kin and fellow-villager contact network (built once by the engine)."""

    name = "network"
    doc = "contacts in the household, village, county and province, and a few far away"
    params = PARAMS
    streams = ("network",)
