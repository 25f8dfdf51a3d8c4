"""Agent state as a structure of arrays: one compact numpy array per attribute.

Persons are the agents that decide; households group them and hold land and children. A person is
in exactly one place: at home (``loc == HOME``) or at destination ``loc`` (0..n_dest-1), either as a
rural-hukou migrant (``hukou == RURAL``) or as a settled resident who converted hukou.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, fields

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.contacts import (  # noqa: F401  (re-exported: the network's storage and reader)
    CONTACT_CHUNK,
    Network,
    contacts_into,
)
from sim.core.encodings import (  # noqa: F401  (re-exported: the names of state codes)
    AGE_GROUP_NAMES,
    FEMALE,
    HOME,
    MALE,
    MAX_CHILDREN,
    N_AGE_GROUPS,
    N_SCHOOL,
    NEVER_LEFT,
    NO_DIST,
    NO_MOTHER,
    NO_PERSON,
    NO_SECTOR,
    NO_YEAR,
    RURAL,
    SCHOOL_NAMES,
    URBAN,
    VACANT,
)
from sim.core.mechanism import StateField

FIRST_YEAR0 = 1948  # Persons.year0 until a build sets the year before the run's start

# the core person state; ``home`` is the value a person is reset to by ``send_home``
PERSON_FIELDS = (
    StateField("age", "int8", "years"),
    StateField("sex", "int8", "MALE/FEMALE"),
    StateField("school", "int8", "highest schooling level, 0..N_SCHOOL-1"),
    StateField("trained", "int8", "1 = vocational or skills training"),
    StateField("hh_off", "uint8",
               "household index less that of the slot's block (``Persons.hh_base``)"),
    StateField("loc", "int16", "HOME or destination id", HOME, home=HOME),
    StateField("hukou", "int8", "RURAL, URBAN (converted at destination) or VACANT slot",
               VACANT),
    StateField("dist", "int8", "distance class of the current stay", NO_DIST, home=NO_DIST),
    StateField("months_away", "int16", "months since leaving home in this spell", home=0),
    StateField("sector", "int8", "sector of the urban wage job held, NO_SECTOR without one",
               NO_SECTOR, home=NO_SECTOR),
    StateField("job", "int8", "bit flags of the current job (JOB_*)", home=0),
    StateField("permit", "int8", "1 = holds a residence permit where they live", home=0),
    StateField("first_left", "uint8", "year of the first departure less ``Persons.year0`` "
               "(the year before the run's start), NEVER_LEFT if never", NEVER_LEFT),
    StateField("spouse", "int32", "person index of the spouse, NO_PERSON if unmarried",
               NO_PERSON),
)
HOUSEHOLD_FIELDS = (
    StateField("county", "int16", "global county id", level="household"),
    StateField("land_mu_per_worker", "float32",
               "entitlement: mu of arable land per registered worker (drawn at the start)",
               level="household"),
    StateField("land_mu", "float32", "mu of contracted arable land the household holds",
               level="household"),
    StateField("n_children", "int8", "children under 15", level="household"),
    StateField("child_by", f"({MAX_CHILDREN},)int16",
               "birth years of the children under 15 (NO_YEAR for an empty place)", NO_YEAR,
               level="household"),
    StateField("child_mother", f"({MAX_CHILDREN},)int8",
               "place of each child's mother in the household, NO_MOTHER if not there",
               NO_MOTHER, level="household"),
    StateField("kids_with", "int8",
               "place in the household (slot less its first) of the member who took the "
               "children to the city, or NO_PERSON", NO_PERSON, level="household"),
)


# the kernels take the core state whole: one numba-compatible named tuple of arrays each; the
# persons' also carries ``hh_base``, the household index of each block of HH_BLOCK slots, and
# ``hh_county``, the households' county (a slot's home county is its household's)
PersonArrays = namedtuple("PersonArrays",
                          [f.name for f in PERSON_FIELDS] + ["hh_base", "hh_county"])
HouseholdArrays = namedtuple("HouseholdArrays", [f.name for f in HOUSEHOLD_FIELDS])

# A slot's household never changes and households are runs of slots, so within a block of 256
# slots the households differ from the block's first by at most 255: one int64 base a block
# and a uint8 offset a slot give the household (1 byte a slot instead of an int32's 4).
HH_SHIFT = 8
HH_BLOCK = 1 << HH_SHIFT


@njit(inline="always", cache=True)
def household(p, i):
    """Household index of slot ``i`` of ``p`` (:data:`PersonArrays`)."""
    return p.hh_base[i >> HH_SHIFT] + np.int64(p.hh_off[i])


@njit(inline="always", cache=True)
def county_of(p, i):
    """Home county (global id) of slot ``i`` of ``p``: its household's."""
    return p.hh_county[household(p, i)]


@njit(cache=True)
def _encode_households(hh, base, off):
    """Fill ``base``/``off`` from the household index ``hh``; returns the first slot whose
    household is below its block's first or more than 255 above it (-1: none)."""
    for i in range(hh.shape[0]):
        if (i & (HH_BLOCK - 1)) == 0:
            base[i >> HH_SHIFT] = hh[i]
        d = np.int64(hh[i]) - base[i >> HH_SHIFT]
        if d < 0 or d > 255:
            return i
        off[i] = d
    return -1


@njit(cache=True)  # not inlined: numba 0.68 loses writes through p.x inlined in a prange
def send_home(i, p):
    """Person ``i`` of ``p`` (:data:`PersonArrays`) is at home, out of any urban job, spell and
    permit: every field of ``PERSON_FIELDS`` with a ``home`` value takes it (one definition for
    returns, exits and Harris-Todaro returns; ``tests/test_registry.py`` checks it against the
    declarations; fields that mechanisms add are reset by ``Simulation.sent_home``)."""
    p.loc[i] = HOME
    p.dist[i] = NO_DIST
    p.months_away[i] = 0
    p.sector[i] = NO_SECTOR
    p.job[i] = 0
    p.permit[i] = 0


# persons per partial tally: tallies sum each fixed chunk, then the chunks in order, so their
# sums (floats too) are the same with any number of threads, and the chunks run in parallel
TALLY_CHUNK = 1 << 14


@njit(inline="always", cache=True)
def n_chunks(n):
    """Number of tally chunks of ``TALLY_CHUNK`` persons covering ``n`` persons."""
    return (n + TALLY_CHUNK - 1) // TALLY_CHUNK


@njit(cache=True, parallel=True)
def flat_nonzero(a: np.ndarray) -> np.ndarray:
    """Indices of the non-zero entries of ``a``, in increasing order (``np.flatnonzero`` for the
    month's event flags): a parallel count by fixed chunk, then each chunk fills its own part
    (``sim.core.chunks``), so the result is the same with any number of threads."""
    n = a.shape[0]
    counts = np.zeros(N_CHUNKS + 1, np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        k = 0
        for i in range(lo, hi):
            if a[i] != 0:
                k += 1
        counts[c + 1] = k
    starts = np.cumsum(counts)
    out = np.empty(starts[N_CHUNKS], np.int64)
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        k = starts[c]
        for i in range(lo, hi):
            if a[i] != 0:
                out[k] = i
                k += 1
    return out


@njit(inline="always", cache=True)
def rural_members(hh_start, h, loc, hukou):
    """(rural-hukou members, of whom at home) of household ``h``; vacant slots and converted
    members are not counted."""
    n_work = 0
    at_home = 0
    for i in range(hh_start[h], hh_start[h + 1]):
        if hukou[i] == RURAL:
            n_work += 1
            if loc[i] == HOME:
                at_home += 1
    return n_work, at_home


CARE_AGE_MIN, CARE_AGE_MAX = 15, 64  # members of working age: who can look after an elder
CARER_MIN_AGE = 45  # a member this old at home can look after a migrant's children
SCHOOL_AGE = 6  # children aged 6-14 are of compulsory-school age (1986 Compulsory Education Law)


@njit(inline="always", cache=True)
def carer_at_home(h, i, hh_start, loc, hukou, age):
    """Whether a rural member of household ``h`` aged 15-64, other than person ``i`` (-1: any
    member), is at home (to look after its elders, ``sim.mechanisms.elders``)."""
    for k in range(hh_start[h], hh_start[h + 1]):
        if (k != i and hukou[k] == RURAL and loc[k] == HOME
                and CARE_AGE_MIN <= age[k] <= CARE_AGE_MAX):
            return True
    return False


@njit(cache=True, parallel=True)
def add_month_away(p):
    """One more month away for every rural-hukou person at a destination."""
    loc = p.loc  # bind each array before the parallel loop (see docs/architecture.md)
    hukou = p.hukou
    months_away = p.months_away
    for i in prange(loc.shape[0]):
        if loc[i] != HOME and hukou[i] == RURAL and months_away[i] < 32000:
            months_away[i] += 1


class Table:
    """Arrays of one length, one per declared :class:`StateField` (a structure of arrays).

    ``Table(age=a, sex=b, ...)`` wraps given arrays; :meth:`add` allocates a declared field;
    :meth:`declare` declares one that is allocated (at its fill value) the first time it is
    read, so the state of a mechanism that is off costs no memory. Every field is an
    attribute; ``names`` lists the allocated fields, ``declared`` all of them; ``nbytes``
    counts the allocated ones.
    """

    def __init__(self, **arrays: np.ndarray):
        self._pending: dict[str, tuple[StateField, int]] = {}
        self.names: list[str] = []
        for name, a in arrays.items():
            self._set(name, a)

    same_length = True

    def _set(self, name: str, a: np.ndarray) -> None:
        if self.same_length and self.names and a.shape[0] != self.n:
            raise ValueError(f"field {name} has {a.shape[0]} rows, the table {self.n}")
        setattr(self, name, a)
        if name not in self.names:
            self.names.append(name)

    def add(self, field: StateField, n: int | None = None) -> np.ndarray:
        """Allocate a declared field (refusing a name already present)."""
        if field.name in self.names or field.name in self._pending:
            raise ValueError(f"state field '{field.name}' exists already")
        a = field.allocate(self.n if n is None else n)
        self._set(field.name, a)
        return a

    def declare(self, field: StateField, n: int | None = None) -> None:
        """Declare a field of ``n`` rows (the table's by default), allocated on first read
        (refusing a name already present)."""
        if field.name in self.names or field.name in self._pending:
            raise ValueError(f"state field '{field.name}' exists already")
        if n is None:
            if not self.same_length:
                raise ValueError(f"buffer '{field.name}' needs its number of rows")
            n = self.n
        self._pending[field.name] = (field, int(n))

    def __getattr__(self, name: str) -> np.ndarray:
        pending = self.__dict__.get("_pending")
        if pending is None or name not in pending:
            raise AttributeError(f"no state field or buffer '{name}'")
        field, n = pending.pop(name)
        a = field.allocate(n)
        self._set(name, a)
        return a

    def allocated(self, name: str) -> bool:
        """The field has been read (or was never deferred)."""
        return name in self.names

    @property
    def declared(self) -> list[str]:
        """Every field, allocated or not."""
        return [*self.names, *self._pending]

    @classmethod
    def allocate(cls, n: int, declared: tuple[StateField, ...]) -> Table:
        """A table of ``n`` rows with every declared field at its fill value."""
        return cls(**{f.name: f.allocate(n) for f in declared})

    @property
    def n(self) -> int:
        return int(getattr(self, self.names[0]).shape[0]) if self.names else 0

    def nbytes(self) -> int:
        return sum(getattr(self, k).nbytes for k in self.names)


class Persons(Table):
    """Per-person arrays (length n_persons): ``PERSON_FIELDS`` plus mechanisms' fields, and
    ``hh_base`` (int64, one a block of ``HH_BLOCK`` slots) under the household index.

    ``hh_county`` is the households' county array (``Households.county``, shared: see
    :meth:`link`); unlinked, a zero county for as many households as slots."""

    def __init__(self, **arrays: np.ndarray):
        super().__init__(**arrays)
        self.hh_base = np.zeros(((self.n - 1) >> HH_SHIFT) + 1 if self.n else 0, np.int64)
        self.hh_county = np.zeros(max(self.n, 1), np.int16)
        self.year0 = FIRST_YEAR0  # first departures are kept as years after this one

    def link(self, households: Table) -> None:
        """Read home counties from ``households.county`` (the same array, not a copy)."""
        self.hh_county = households.county

    @property
    def core(self) -> PersonArrays:
        """The core fields as one :data:`PersonArrays`, the form the kernels take."""
        return PersonArrays(*(getattr(self, f.name) for f in PERSON_FIELDS), self.hh_base,
                            self.hh_county)

    @property
    def first_year(self) -> np.ndarray:
        """Year of each slot's first departure, NO_YEAR if never (int16, decoded from
        ``first_left``: a read-only copy; set it whole with ``persons.first_year = ...``)."""
        f = self.first_left
        a = np.where(f == NEVER_LEFT, NO_YEAR, f.astype(np.int16) + self.year0).astype(np.int16)
        a.setflags(write=False)
        return a

    @first_year.setter
    def first_year(self, years: np.ndarray) -> None:
        y = np.broadcast_to(np.asarray(years, np.int64), (self.n,))
        code = np.where(y == NO_YEAR, NEVER_LEFT, y - self.year0)
        if np.any((code < 0) | (code > NEVER_LEFT) | ((code == NEVER_LEFT) & (y != NO_YEAR))):
            raise ValueError(f"first_year outside [{self.year0}, {self.year0 + NEVER_LEFT - 1}]")
        self.first_left[:] = code

    @property
    def employed(self) -> np.ndarray:
        """1 where a slot holds an urban wage job, else 0: a job is its sector (``sector`` is
        NO_SECTOR without one), so this is decoded, an int8 read-only copy."""
        a = (self.sector != NO_SECTOR).astype(np.int8)
        a.setflags(write=False)
        return a

    @property
    def county(self) -> np.ndarray:
        """Home county of each slot (its household's; decoded: a read-only copy)."""
        a = self.hh_county[self.hh]
        a.setflags(write=False)
        return a

    @property
    def hh(self) -> np.ndarray:
        """Household index of each slot (int64, decoded: a read-only copy; set it whole with
        ``persons.hh = ...``)."""
        a = self.hh_base[np.arange(self.n, dtype=np.int64) >> HH_SHIFT] + self.hh_off
        a.setflags(write=False)
        return a

    @hh.setter
    def hh(self, hh: np.ndarray) -> None:
        hh = np.asarray(hh, np.int64)
        if hh.shape != (self.n,):
            raise ValueError(f"hh has shape {hh.shape}, the table {self.n} rows")
        bad = _encode_households(hh, self.hh_base, self.hh_off)
        if bad >= 0:
            raise ValueError(f"slot {bad}: household {hh[bad]} is outside [first, first + 255] "
                             f"of its block of {HH_BLOCK} slots (slots must be sorted by "
                             "household)")

    def nbytes(self) -> int:
        return super().nbytes() + self.hh_base.nbytes


class Households(Table):
    """Per-household arrays (length n_households): ``HOUSEHOLD_FIELDS`` plus mechanisms'."""

    @property
    def core(self) -> HouseholdArrays:
        """The core fields as one :data:`HouseholdArrays`, the form the kernels take."""
        return HouseholdArrays(*(getattr(self, f.name) for f in HOUSEHOLD_FIELDS))


class Buffers(Table):
    """Scratch arrays declared by mechanisms (per person or per household): not agent state.

    A declared buffer is allocated (at its fill value) the first time it is read
    (:meth:`Table.declare`), so a mechanism that is switched off -- ``work_safety`` with its
    hazards at 0 returns before touching its four per-person buffers -- costs no memory; a run
    is the same either way, as an unread buffer holds its fill value.
    """

    same_length = False

    def add(self, field: StateField, n: int | None = None) -> None:  # type: ignore[override]
        """Declare a buffer of ``n`` rows, allocated on first read (refusing a name present)."""
        self.declare(field, n)


@dataclass
class Places:
    """Static lookup tables of the home geography (per county) and village ranges."""

    county_prov: np.ndarray  # int8
    county_pref: np.ndarray  # int32, global prefecture id
    county_capital: np.ndarray  # int8, 1 if the county lies in its province's capital prefecture
    county_start: np.ndarray  # int64 (n_counties+1), person index ranges (persons sorted by county)
    hh_start: np.ndarray  # int32 (n_households+1; int64 past 2**31 - 1 persons), households' ranges
    prov_start: np.ndarray  # int64 (32,), person index ranges by province
    village_start: np.ndarray  # int64 (n_villages+1), person index ranges (inside counties)

    @property
    def village(self) -> np.ndarray:
        """Village id of each person (int32), from the contiguous ranges of ``village_start``:
        built on demand (only the network's build reads it), so it costs no state."""
        n_vill = self.village_start.size - 1
        return np.repeat(np.arange(n_vill, dtype=np.int32), np.diff(self.village_start))

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def elder_need(sim) -> np.ndarray:
    """The households' elders in need of care this year (``sim.mechanisms.elders``), or zeros
    when that mechanism is not registered."""
    need = getattr(sim.households, "elder_need", None)
    return need if need is not None else np.zeros(sim.households.n, np.int8)


def families(pars) -> bool:
    """Households are families (couples, children with their mothers): the household life
    course is on, which needs the open population (``cohort_entry``)."""
    return bool(getattr(pars, "life_course", False)) and bool(pars.cohort_entry)


@njit(inline="always", cache=True)
def has_young_child(m, hh_start, p, hs, year):
    """Mother ``m`` has a child under school age (``SCHOOL_AGE``) in her household's table."""
    h = household(p, m)
    off = m - hh_start[h]
    for j in range(hs.child_by.shape[1]):
        b = hs.child_by[h, j]
        if b != NO_YEAR and hs.child_mother[h, j] == off and year - b < SCHOOL_AGE:
            return True
    return False


@njit(inline="always", cache=True)
def eldest_child_age(h, hs, year):
    """Age this year of the oldest child in household ``h``'s table (-1 when it has none)."""
    a = -1
    for j in range(hs.child_by.shape[1]):
        b = hs.child_by[h, j]
        if b != NO_YEAR and year - b > a:
            a = year - b
    return a


@njit(inline="always", cache=True)
def _mother_of_child_in(m, hh_start, p, hs):
    """Person ``m`` has a child under 15 in her household's table."""
    h = household(p, m)
    if hs.n_children[h] == 0:
        return False
    off = m - hh_start[h]
    for j in range(hs.child_by.shape[1]):
        if hs.child_by[h, j] != NO_YEAR and hs.child_mother[h, j] == off:
            return True
    return False


@njit(inline="always", cache=True)
def is_parent(i, h, hh_start, p, hs, age_lo, age_hi, families):
    """Person ``i`` (of household ``h``) is a parent of children under 15. With ``families``
    (the household life course) that is a mother of a child in her household's table, or the
    husband of one; otherwise (version 0.6) any member of parent age while the household has
    children."""
    if not families:
        return hs.n_children[h] > 0 and age_lo <= p.age[i] <= age_hi
    if _mother_of_child_in(i, hh_start, p, hs):
        return True
    sp = p.spouse[i]
    return sp != NO_PERSON and _mother_of_child_in(sp, hh_start, p, hs)


CHILD_HOME, CHILD_ONE_AWAY, CHILD_BEHIND, CHILD_CITY = 0, 1, 2, 3  # places of a child
CENSUS_AWAY_MONTHS = 6  # the census counts a parent as away after six months (2000 census)


@njit(inline="always", cache=True)
def child_place(h, j, hh_start, p, hs):
    """Where child ``j`` of household ``h`` lives (household life course): with a migrant in a
    city (the household's children were taken along), at home with both parents, at home with
    one parent while the other is away, or left with relatives (grandparents, kin) while every
    parent is away (seed 1.3). A parent is away, as the 2000 census counts, after six months
    away (the census estimate of 22.9 million left-behind children, seed 1.5; Duan and Zhou,
    Population Research 29(1), 2005). A child whose mother is no longer in the household counts
    as at home."""
    if hs.kids_with[h] >= 0:
        return CHILD_CITY
    mo = hs.child_mother[h, j]
    if mo == NO_MOTHER:
        return CHILD_HOME
    m = hh_start[h] + mo
    n_par = 0
    n_away = 0
    if p.hukou[m] == RURAL:
        n_par += 1
        if p.loc[m] != HOME and p.months_away[m] >= CENSUS_AWAY_MONTHS:
            n_away += 1
    f = p.spouse[m]
    if f != NO_PERSON and p.hukou[f] == RURAL:
        n_par += 1
        if p.loc[f] != HOME and p.months_away[f] >= CENSUS_AWAY_MONTHS:
            n_away += 1
    if n_away == 0:
        return CHILD_HOME
    return CHILD_BEHIND if n_away == n_par else CHILD_ONE_AWAY
