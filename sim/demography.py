"""Demography of the working-age population: ageing, deaths, exit at 65 and new entrants at 15.

Once a year (January) everyone ages a year. Persons who reach the exit age or die leave; each
leaver's slot is taken by a new entrant aged 15 of the same household, so the population stays a
closed, stable-size working-age population (one entrant per leaver). Entrants' schooling follows a
yearly path of cohort shares (compulsory schooling spread, seed 1.3: most migrants completed
nine years). A person who leaves while away as a rural migrant leaves the migrant stock: that is
``exitflow`` (ageing or death).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.params import Param
from sim.rng import uniform
from sim.state import RURAL, send_home

PARAMS = (
    Param(
        "exit_age",
        65,
        "years",
        50,
        80,
        "working-age definition 15-64 (NBS)",
        "age at which persons leave the working-age population",
        kind=int,
    ),
    Param(
        "mortality_30",
        0.0012,
        "per year",
        0.0,
        0.05,
        "China life tables 2000 (rural, ages 30-34), rounded",
        "death rate at age 30",
    ),
    Param(
        "mortality_gompertz",
        0.075,
        "log per year of age",
        0.0,
        0.2,
        "Gompertz slope of adult mortality",
        "rise of log mortality per year of age",
    ),
    Param(
        "entrant_share_junior",
        {"1985": 0.45, "1995": 0.6, "2006": 0.68},
        "share",
        0.0,
        1.0,
        "seed 1.3: most migrants hold junior high diplomas; 1986 compulsory schooling law",
        "share of new entrants whose highest level is junior secondary",
    ),
    Param(
        "entrant_share_senior",
        {"1985": 0.08, "1995": 0.12, "2006": 0.2},
        "share",
        0.0,
        1.0,
        "2000 census and later rural schooling tabulations",
        "share of entrants with senior secondary+",
    ),
)


@njit(cache=True, parallel=True)
def age_and_replace(
    key,
    age,
    sex,
    school,
    trained,
    loc,
    hukou,
    dist,
    employed,
    months_away,
    sector,
    job,
    permit,
    first_year,
    exit_age,
    m30,
    gompertz,
    share_junior,
    share_senior,
    left,
):
    """Yearly ageing; leavers are replaced in place by entrants. ``left``: 0 stays, 1 aged out,
    2 died (the engine counts exitflow from leavers that were away as rural migrants)."""
    n = age.shape[0]
    for i in prange(n):
        left[i] = 0
        a = age[i] + 1
        if a >= exit_age:
            left[i] = 1
        elif uniform(key, i, 0) < 1.0 - np.exp(-m30 * np.exp(gompertz * (a - 30))):
            left[i] = 2
        if left[i] == 0:
            age[i] = a
            continue
        age[i] = 15
        sex[i] = 1 if uniform(key, i, 1) < 0.49 else 0
        u = uniform(key, i, 2)
        school[i] = 2 if u < share_senior else (1 if u < share_senior + share_junior else 0)
        trained[i] = 0
        hukou[i] = RURAL
        first_year[i] = -1
        send_home(i, loc, dist, employed, months_away, sector, job, permit)
