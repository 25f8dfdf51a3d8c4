"""Tests of sim.network: the kin and fellow-villager contact network in two CSR parts.

Every kernel that reads contacts (chain migration in decisions, job referrals in labour) merges
a person's near (offsets coded as variable-length gaps) and far (int32 ids) rows without checks
(``contacts_into``), so both parts must be well formed and their merge sorted; ties are
undirected, so the structure must be symmetric. The tests also check the sociological shape the
model relies on: households are cliques, ties are local (high clustering, mostly within the home
county), and the build is reproducible.
"""

import networkx as nx
import numpy as np
import pytest

from sim.core.contacts import FAR_MASK, NEAR_SHIFT, PAD, Network, contacts_into
from sim.core.geography import load_geography
from sim.core.rng import tick_key, uniforms
from sim.engine.registry import Params
from sim.mechanisms.network import MAX_KIN, NEAR_SPAN, build_network, to_networkx
from sim.mechanisms.population import build_population

SEED = 5


def _by_age(geo, year):
    """The birth-cohort age structure the engine passes (default parameters)."""
    from sim.mechanisms.demography import Projection

    return Projection(geo, Params()).by_age(year)


def _build(agents, seed=SEED, overrides=None):
    geo = load_geography()
    pars = Params(overrides or {}).at(1985)
    persons, households, places, _ = build_population(
        geo, agents, seed, pars, 1985, by_age=_by_age(geo, 1985)
    )
    return persons, places, build_network(persons, places, seed, pars), pars


@pytest.fixture(scope="module")
def big():
    return _build(50_000)


@pytest.fixture(scope="module")
def small():
    return _build(5_000)


def _edges(net):
    indptr, indices = net.csr()
    rows = np.repeat(np.arange(net.n, dtype=np.int64), np.diff(indptr))
    return rows, indices


@pytest.mark.parametrize("which", ["small", "big"])
def test_csr_well_formed(which, request):
    """Both parts' row pointers start at 0, are non-decreasing and end at their entries' size;
    contacts are in range; no self loops; every merged row strictly increasing (sorted, no
    duplicates); dtypes as documented."""
    persons, _, net, _ = request.getfixturevalue(which)
    n = persons.n
    for ip, ix in ((net.near_ptr, net.near), (net.far_ptr, net.far)):
        assert ip.shape == (n + 1,) and ip[0] == 0 and ip[-1] == ix.size
        assert np.all(np.diff(ip) >= 0)
    assert net.near.dtype == np.int16 and net.far.dtype == np.int32
    # near ties coded as byte gaps with escapes: fewer bytes than an int16's two a tie
    assert net.near_code.dtype == np.uint8
    assert net.near.size <= net.near_code.size - PAD < 1.6 * net.near.size
    # compact row starts: a uint16 offset a person, an int64 base a block; far ties by block
    assert net.near_off.dtype == np.uint16 and net.near_off.shape == (n + 1,)
    assert net.near_base.shape == ((n >> NEAR_SHIFT) + 1,)
    assert net.far_own.dtype == np.uint8 and net.far_own.shape == net.far.shape
    rows = np.repeat(np.arange(n), np.diff(net.far_ptr))
    np.testing.assert_array_equal(net.far_own, rows & FAR_MASK)
    ip, ix = net.csr()
    assert ix.min() >= 0 and ix.max() < n
    rows, cols = _edges(net)
    assert not np.any(rows == cols), "self loop"
    same_row = rows[1:] == rows[:-1]
    assert np.all(np.diff(cols)[same_row] > 0), "row not sorted or duplicate"
    np.testing.assert_array_equal(net.degree(), np.diff(ip))
    assert net.max_degree == np.diff(ip).max()


@pytest.mark.parametrize("which", ["small", "big"])
def test_symmetric(which, request):
    """i is a contact of j exactly when j is a contact of i: the set of (row, col) pairs equals
    the set of (col, row) pairs."""
    _, _, net, _ = request.getfixturevalue(which)
    rows, cols = _edges(net)
    n = net.n
    fwd = np.sort(rows * n + cols)
    bwd = np.sort(cols * n + rows)
    np.testing.assert_array_equal(fwd, bwd)


def test_household_members_connected(big):
    """Working members of a household know each other: households of up to MAX_KIN + 1 members
    are cliques; a larger one (rare) gives each member at least MAX_KIN kin ties."""
    persons, _, net, _ = big
    hh = persons.hh
    size = np.bincount(hh)
    assert size.max() >= 4  # the check below is not vacuous
    rows, cols = _edges(net)
    kin = hh[rows] == hh[cols]
    kin_deg = np.bincount(rows[kin], minlength=persons.n)
    expect = np.minimum(size[hh] - 1, MAX_KIN)
    small_hh = size[hh] <= MAX_KIN + 1
    np.testing.assert_array_equal(kin_deg[small_hh], expect[small_hh])
    assert np.all(kin_deg[~small_hh] >= MAX_KIN)


def test_only_kin_when_other_contacts_off():
    """With all non-kin contacts switched off the network is exactly the household cliques:
    degree = household size - 1."""
    persons, _, net, _ = _build(
        20_000,
        overrides={
            "contacts_village": 0,
            "contacts_county": 0,
            "contacts_province": 0,
            "contacts_national_prob": 0.0,
        },
    )
    size = np.bincount(persons.hh)[persons.hh]
    assert size.max() <= MAX_KIN + 1
    np.testing.assert_array_equal(net.degree(), size - 1)
    rows, cols = _edges(net)
    assert np.all(persons.hh[rows] == persons.hh[cols])


def test_mean_degree_band(big):
    """Mean degree lies in a band derived from the parameters: each person draws
    k_vill + k_cty + k_prov ties plus one national tie with probability p_nat, each tie counted
    at both ends, plus kin (household size - 1). That sum is an upper bound (draws that hit
    oneself, a relative or an already-drawn contact are dropped); at 50k agents (~17 persons per
    county) at least 60% of the non-kin draws survive."""
    persons, _, net, pars = big
    kin = (np.bincount(persons.hh)[persons.hh] - 1).mean()
    draws = (
        pars.contacts_village
        + pars.contacts_county
        + pars.contacts_province
        + pars.contacts_national_prob
    )
    mean_deg = net.degree().mean()
    upper = kin + 2 * draws
    lower = kin + 0.6 * 2 * draws
    assert lower <= mean_deg <= upper, (lower, mean_deg, upper)


def test_national_ties_rarely_collide():
    """Only national ties (p = 1, drawn uniformly among all persons) and kin: almost every draw
    survives, so the mean degree is kin + 2 within 1%."""
    persons, _, net, _ = _build(
        20_000,
        overrides={
            "contacts_village": 0,
            "contacts_county": 0,
            "contacts_province": 0,
            "contacts_national_prob": 1.0,
        },
    )
    kin = (np.bincount(persons.hh)[persons.hh] - 1).mean()
    assert net.degree().mean() == pytest.approx(kin + 2.0, rel=0.01)


def test_matches_reference_construction():
    """Oracle: rebuilding the edge set in plain Python from the same counter-based draws gives
    exactly the CSR edge set. Rules (sim/network.py ``_partner``): kin are the first MAX_KIN other
    members of the household; then slot k of the village draws uses draw index k, county slots
    100 + k_vill + c, province slots 200 + k_vill + k_cty + q, and the national slot draws 300
    (whether) and 301 (whom); a draw that hits oneself is dropped."""
    persons, places, net, pars = _build(5_000, seed=9)
    n = persons.n
    key = tick_key(9, "network", 0)
    hh = persons.hh
    kv, kc, kp = pars.contacts_village, pars.contacts_county, pars.contacts_province
    edges = set()
    starts = np.concatenate([[0], np.cumsum(np.bincount(hh))])
    for h in range(starts.size - 1):
        members = list(range(starts[h], starts[h + 1]))
        for i in members:
            for j in [m for m in members if m != i][:MAX_KIN]:
                edges.add((min(i, j), max(i, j)))

    def add(lo, hi, k):
        u = uniforms(key, n, k)
        j = lo + (u * (hi - lo)).astype(np.int64)
        for i in np.flatnonzero(j != np.arange(n)):
            edges.add((min(i, j[i]), max(i, j[i])))

    v = places.village
    c = persons.county
    p = places.county_prov[c]
    for k in range(kv):
        add(places.village_start[v], places.village_start[v + 1], k)
    for k in range(kc):
        add(places.county_start[c], places.county_start[c + 1], 100 + kv + k)
    for k in range(kp):
        add(places.prov_start[p], places.prov_start[p + 1], 200 + kv + kc + k)
    has_nat = uniforms(key, n, 300) < pars.contacts_national_prob
    j = (uniforms(key, n, 301) * n).astype(np.int64)
    for i in np.flatnonzero(has_nat & (j != np.arange(n))):
        edges.add((min(i, j[i]), max(i, j[i])))
    rows, cols = _edges(net)
    got = {(int(a), int(b)) for a, b in zip(rows, cols, strict=True) if a < b}
    want = {(int(a), int(b)) for a, b in edges}
    assert got == want


def test_networkx_view(small):
    """On 5,000 agents networkx sees the same degrees and edge count; average clustering is far
    (> 10x) above that of a random graph of equal density (expected clustering = density), and
    most ties (> 50%; counties hold under two agents at this size) stay within the home county
    while > 90% stay within the home province."""
    persons, places, net, _ = small
    g = to_networkx(net)
    n = persons.n
    assert g.number_of_nodes() == n
    assert g.number_of_edges() == net.csr()[1].size // 2
    np.testing.assert_array_equal(np.array([d for _, d in sorted(g.degree())]), net.degree())
    density = 2 * g.number_of_edges() / (n * (n - 1))
    clustering = nx.average_clustering(g)
    assert clustering > 10 * density, (clustering, density)
    assert clustering > 0.1
    rows, cols = _edges(net)
    same_county = np.mean(persons.county[rows] == persons.county[cols])
    same_prov = np.mean(
        places.county_prov[persons.county[rows]] == places.county_prov[persons.county[cols]]
    )
    assert same_county > 0.5
    assert same_prov > 0.9


def test_network_ties_local_at_larger_size(big):
    """At 50k agents, with counties of ~17 agents, over 70% of ties are within the home county."""
    persons, _, net, _ = big
    rows, cols = _edges(net)
    assert np.mean(persons.county[rows] == persons.county[cols]) > 0.7


def test_to_networkx_refuses_large():
    """to_networkx guards against huge graphs."""
    _, _, net, _ = _build(5_000)
    with pytest.raises(ValueError, match="small populations"):
        to_networkx(net, max_nodes=1000)


def test_reproducible(small):
    """Same seed: identical CSR arrays; another seed: a different network."""
    _, _, net, _ = small
    _, _, again, _ = _build(5_000)
    for a, b in zip(net.arrays, again.arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    _, _, other, _ = _build(5_000, seed=SEED + 1)
    assert not all(np.array_equal(a, b) for a, b in zip(net.arrays, other.arrays, strict=True))


@pytest.mark.parametrize("span", [0, 3, 40, NEAR_SPAN])
def test_same_contacts_for_any_span(small, span):
    """Which ties are stored as near offsets changes no contact: every span gives the same
    merged rows; near offsets stay within the span, far ties lie beyond it."""
    persons, places, net, pars = small
    other = build_network(persons, places, SEED, pars, span=span)
    for a, b in zip(net.csr(), other.csr(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.all(np.abs(other.near.astype(np.int64)) <= span)
    rows = np.repeat(np.arange(other.n), np.diff(other.far_ptr))
    assert np.all(np.abs(other.far - rows) > span)
    if span < 40:
        assert other.far.size > 0  # the merge is exercised


def test_contacts_into_gives_the_sorted_row(small):
    """The kernels' reader (``contacts_into``) returns each person's row of the plain CSR, in
    order, with near and far ties interleaved (a span of 3 makes most ties far)."""
    persons, places, _, pars = small
    net = build_network(persons, places, SEED, pars, span=3)
    indptr, indices = net.csr()
    buf = np.empty(net.max_degree, np.int64)
    for i in range(0, net.n, 7):
        m = contacts_into(i, net.arrays, buf)
        np.testing.assert_array_equal(buf[:m], indices[indptr[i] : indptr[i + 1]])


def test_span_out_of_range_refused(small):
    persons, places, _, pars = small
    with pytest.raises(ValueError, match="span"):
        build_network(persons, places, SEED, pars, span=NEAR_SPAN + 1)


def test_compact_rows_round_trip():
    """``Network.from_rows`` keeps every row: the plain pointers come back as given, with long
    rows (a block of 64 persons holding 60,000 near ties, offsets near the uint16 limit) and
    far ties in the last, partial block; a block beyond 65,535 bytes of near ties is refused."""
    rng = np.random.default_rng(3)
    n = 300
    near_deg = rng.integers(0, 30, n)
    near_deg[[5, 6]] = 30_000
    far_deg = np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0)
    far_deg[-1] = 2
    near_ptr = np.concatenate([[0], np.cumsum(near_deg)]).astype(np.int32)
    far_ptr = np.concatenate([[0], np.cumsum(far_deg)]).astype(np.int32)
    near = np.concatenate([np.sort(rng.choice(np.arange(-NEAR_SPAN, NEAR_SPAN + 1), d,
                                              replace=False)) for d in near_deg]).astype(np.int16)
    far = np.sort(rng.integers(0, n, far_ptr[-1])).astype(np.int32)
    net = Network.from_rows(near_ptr, near, far_ptr, far)
    assert net.near_off.max() > 60_000
    np.testing.assert_array_equal(net.near_ptr, near_ptr)
    np.testing.assert_array_equal(net.near, near)
    np.testing.assert_array_equal(net.far_ptr, far_ptr)
    assert net.max_degree == int((near_deg + far_deg).max())
    assert net.nbytes() < near_ptr.nbytes + far_ptr.nbytes + near.nbytes + far.nbytes
    near_deg[7] = 10_000
    near_ptr = np.concatenate([[0], np.cumsum(near_deg)]).astype(np.int32)
    with pytest.raises(ValueError, match="65,535"):
        Network.from_rows(near_ptr, np.zeros(near_ptr[-1], np.int16), far_ptr, far)


def test_near_code_edges():
    """The gap code round-trips at its byte boundaries (a value of 0, 255/256), at the span's
    ends (+-32,767, a gap of 65,534), with repeated offsets and several escapes in a row; each
    tie costs the bytes the module docstring states; unsorted rows and offsets beyond the span
    are refused."""
    rows = [[0], [-1], [1], [-64], [64], [-65], [-32767, 32767], [-32767, -32640, -32639],
            [5, 5, 132, 16516, 16517], [-16384, 0, 16383], [], [3], [100, 355, 611]]
    ptr = np.zeros(len(rows) + 1, np.int32)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    near = np.array([v for r in rows for v in r], np.int16)
    empty = np.zeros(len(rows) + 1, np.int32)
    net = Network.from_rows(ptr, near, empty, np.zeros(0, np.int32))
    np.testing.assert_array_equal(net.near_ptr, ptr)
    np.testing.assert_array_equal(net.near, near)
    # zigzag 0 -> an escape (three bytes); 1, 2, 127, 128, 129 -> one; 65,533 and a gap of
    # 65,534 -> three each; 65,533 (3), gaps 127 and 1 (1 + 1); 10, 0, 127, 16,384, 1 ->
    # 1 + 3 + 1 + 3 + 1; 32,767, 16,384, 16,383 -> three each; 6 -> one; 200, 255, 256 ->
    # 1 + 1 + 3
    sizes = np.diff(net.near_base[0] + net.near_off.astype(np.int64))
    np.testing.assert_array_equal(sizes, [3, 1, 1, 1, 1, 1, 6, 5, 9, 9, 0, 1, 5])
    buf = np.empty(net.max_degree, np.int64)
    for i, r in enumerate(rows):
        m = contacts_into(i, net.arrays, buf)
        np.testing.assert_array_equal(buf[:m], i + np.array(r, np.int64))
    with pytest.raises(ValueError, match="row 1 are not sorted"):
        Network.from_rows(np.array([0, 1, 3], np.int32), np.array([0, 4, 2], np.int16),
                          np.zeros(3, np.int32), np.zeros(0, np.int32))
    with pytest.raises(ValueError, match="beyond"):
        Network.from_rows(np.array([0, 1], np.int32), np.array([-32768], np.int16),
                          np.zeros(2, np.int32), np.zeros(0, np.int32))


def test_code_written_in_place():
    """Given the buffer under the offsets (``own``), the code is written over them and the
    buffer shrunk to it: the same network as from a copy. A first row whose code would outrun
    the offsets still to read (one tie of three bytes) takes the copy instead, unharmed."""
    rng = np.random.default_rng(11)
    n = 500
    deg = rng.integers(0, 25, n)
    deg[0] = 1
    ptr = np.zeros(n + 1, np.int32)
    ptr[1:] = np.cumsum(deg)
    for first in (5, 30_000):
        raw = np.empty(2 * int(ptr[-1]), np.uint8)
        near = raw.view(np.int16)
        near[:] = rng.integers(-300, 300, near.size)
        for i in range(n):
            near[ptr[i] : ptr[i + 1]].sort()
        near[0] = -first
        nofar = np.zeros(n + 1, np.int32)
        want = Network.from_rows(ptr, near.copy(), nofar, np.zeros(0, np.int32))
        copy = raw.copy()
        got = Network.from_rows(ptr, near, nofar, np.zeros(0, np.int32), own=raw)
        for a, b in zip(want.arrays, got.arrays, strict=True):
            np.testing.assert_array_equal(a, b)
        if first == 5:
            assert got.near_code is raw and raw.size == want.near_code.size
        else:
            np.testing.assert_array_equal(raw, copy)  # untouched: the copy was taken
