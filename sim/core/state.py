"""Agent state as a structure of arrays: one compact numpy array per attribute.

Persons are the agents that decide; households group them and hold land and children. A person is
in exactly one place: at home (``loc == HOME``) or at destination ``loc`` (0..n_dest-1), either as a
rural-hukou migrant (``hukou == RURAL``) or as a settled resident who converted hukou.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit

HOME = -1
RURAL = 0
URBAN = 1
VACANT = 2  # an empty person slot (not yet entered, or left by ageing or death)
MALE = 0
FEMALE = 1
N_SCHOOL = 3  # 0 primary or less, 1 junior secondary, 2 senior secondary or more
SCHOOL_NAMES = ("primary", "junior", "senior")
N_AGE_GROUPS = 3  # 15-29, 30-44, 45-64
AGE_GROUP_NAMES = ("15-29", "30-44", "45-64")


@njit(inline="always", cache=True)
def send_home(i, loc, dist, employed, months_away, sector, job, permit):
    """Person ``i`` is at home, out of any urban job, spell and permit (one definition for
    returns, exits and Harris-Todaro returns)."""
    loc[i] = HOME
    dist[i] = -1
    employed[i] = 0
    months_away[i] = 0
    sector[i] = -1
    job[i] = 0
    permit[i] = 0


@dataclass
class Persons:
    """Per-person arrays (length n_persons)."""

    age: np.ndarray  # int8, years
    sex: np.ndarray  # int8, MALE/FEMALE
    school: np.ndarray  # int8, 0..2
    trained: np.ndarray  # int8, 1 = vocational/skills training
    hh: np.ndarray  # int32, household index
    county: np.ndarray  # int32, global county id of home
    loc: np.ndarray  # int16, HOME or destination id
    hukou: np.ndarray  # int8, RURAL, URBAN (converted at destination) or VACANT slot
    dist: np.ndarray  # int8, distance class of current stay, -1 at home
    employed: np.ndarray  # int8, 1 = holds an urban job (meaningful when away)
    months_away: np.ndarray  # int16, months since leaving home in the current spell
    sector: np.ndarray  # int8, sector of the current job (sim.sectors), -1 without one
    job: np.ndarray  # int8, bit flags of the current job (sim.wages: informal, minimum wage)
    permit: np.ndarray  # int8, 1 = holds a residence permit where they live (registered)
    first_year: np.ndarray  # int16, year of the first departure, -1 if never left

    @property
    def n(self) -> int:
        return int(self.age.shape[0])

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


@dataclass
class Households:
    """Per-household arrays (length n_households)."""

    county: np.ndarray  # int32
    land_mu_per_worker: np.ndarray  # float32, mu of arable land per working member
    n_children: np.ndarray  # int8, children under 15
    kids_with: np.ndarray  # int32, person who took the children to the city, -1 if at home

    @property
    def n(self) -> int:
        return int(self.county.shape[0])

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


@dataclass
class Places:
    """Static lookup tables of the home geography (per county) and village ranges."""

    county_prov: np.ndarray  # int8
    county_pref: np.ndarray  # int32, global prefecture id
    county_capital: np.ndarray  # int8, 1 if the county lies in its province's capital prefecture
    county_start: np.ndarray  # int64 (n_counties+1), person index ranges (persons sorted by county)
    hh_start: np.ndarray  # int64 (n_households+1), person index ranges of households
    prov_start: np.ndarray  # int64 (32,), person index ranges by province
    village: np.ndarray  # int32 per person, village id
    village_start: np.ndarray  # int64 (n_villages+1)

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


@dataclass
class Network:
    """Contacts in CSR form: the contacts of person i are indices[indptr[i]:indptr[i+1]]."""

    indptr: np.ndarray  # int64 (n+1)
    indices: np.ndarray  # int32

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def nbytes(self) -> int:
        return self.indptr.nbytes + self.indices.nbytes
