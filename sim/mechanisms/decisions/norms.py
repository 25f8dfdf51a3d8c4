"""Acceptance of young women leaving to work: the female cost of moving falls as the young women
of a province gain migration experience.

Seed 1.3 attributes the feminisation of migration (about one third female in the often-cited
earlier figure, 49% in 2003) to employers' demand for young women (``labour.gender``) and to "a
growing acceptance for young women to travel alone in order to contribute to household
earnings". The second is a norm, and a norm that changes because migration does: each woman
who leaves and comes back makes the next one's departure more usual (cumulative causation,
Massey 1990, Population Index 56(1); for rural China, the village accounts in Gaetano & Jacka
eds. 2004, *On the Move: Women in Rural-to-Urban Migration in Contemporary China*). The rule,
with both parameters constant in time:

    female_cost(o) = female_cost - female_norm_effect * E_o

where ``E_o`` is the share of the rural-hukou women of province ``o`` aged
:data:`NORM_AGE_MIN`-:data:`NORM_AGE_MAX` (at home or away) who have ever left to work
(``first_year`` set). It is counted each January (and at the start) from the state, so the
feminisation is an outcome: it follows how many women have gone, and new cohorts who have not
gone yet dilute it. Both parameters are constant, fitted in 0.13 with openings kept filled
(calibration/README.md, "Women's migration experience"); with ``female_norm_effect`` at 0 the
tables are exactly those of a constant (or, as before 0.13, a dated) ``female_cost``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import FEMALE, NEVER_LEFT, RURAL
from sim.core.params import Param
from sim.core.state import county_of

# the women whose experience sets the norm: the ages of most female migrants (seed 1.3: "young
# women"; 71% of migrants aged 15-29) and of the women just past them who have been away
NORM_AGE_MIN = 15
NORM_AGE_MAX = 39

NORM_PARAMS = (
    Param(
        "female_norm_effect",
        3.954,
        "utils per unit share",
        0.0,
        15.0,
        "seed 1.3 ('a growing acceptance for young women to travel alone'); Massey (1990) "
        "cumulative causation; fitted in 0.13 with female_cost constant (calibration/README.md, "
        "'Women's migration experience')",
        f"fall in the female cost of moving per unit share of a province's rural women aged "
        f"{NORM_AGE_MIN}-{NORM_AGE_MAX} who have ever left to work",
        role="behaviour",
    ),
)


@njit(cache=True, parallel=True)
def women_ever_away(p, county_prov, n_prov):
    """(ever left, all) among the rural-hukou women aged NORM_AGE_MIN-NORM_AGE_MAX, by home
    province: integer counts over fixed chunks, so the same for any thread count."""
    age = p.age
    sex = p.sex
    hukou = p.hukou
    first_left = p.first_left
    part = np.zeros((N_CHUNKS, 2, n_prov), np.int64)
    n = age.shape[0]
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        for i in range(lo, hi):
            if sex[i] != FEMALE or hukou[i] != RURAL:
                continue
            if age[i] < NORM_AGE_MIN or age[i] > NORM_AGE_MAX:
                continue
            o = county_prov[county_of(p, i)]
            part[c, 1, o] += 1
            if first_left[i] != NEVER_LEFT:
                part[c, 0, o] += 1
    out = np.zeros((2, n_prov), np.int64)
    for c in range(N_CHUNKS):
        out += part[c]
    return out[0], out[1]


def experience_share(p, county_prov: np.ndarray, n_prov: int) -> np.ndarray:
    """E_o: the share of each province's rural women aged NORM_AGE_MIN-NORM_AGE_MAX who have
    ever left to work (0 where there are none)."""
    ever, total = women_ever_away(p.core, county_prov, n_prov)
    return np.where(total > 0, ever / np.maximum(total, 1), 0.0)


def female_costs(pars, share: np.ndarray) -> np.ndarray:
    """The female cost of moving by home province (utils): ``female_cost -
    female_norm_effect * E_o``."""
    return pars.female_cost - pars.female_norm_effect * np.asarray(share, np.float64)


def update(sim: Any) -> None:
    """``sim.female_cost_prov``: the female cost of moving by home province from the women's
    experience in the current state (at the start, then each January at the decisions)."""
    share = experience_share(sim.persons, sim.places.county_prov, sim.geo.n_prov)
    sim.female_cost_prov = female_costs(sim.pars, share)
