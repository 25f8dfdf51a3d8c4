"""Policy levers that are not a parameter of a single mechanism: vocational training, social
insurance for migrants, and a sudden hukou relaxation in one city.

- Training (seed 2.4: the Sunshine Project trained 2.5 million in 2004-05, 88% of whom found
  off-farm jobs; the national plan aimed at 60 million prospective migrants for 2003-2010): each
  January a share of the untrained at home aged 16-35 is trained; training raises wages
  (``training_premium``) and the chance of finding a job.
- Social insurance (seed 1.5: 5-34% pension coverage; 2006 measure 4): a share of formal jobs
  is insured; insurance costs a contribution from the wage and is worth something to migrants,
  but much less when it cannot be carried to another city (seed 2.3: entitlements are local and
  "incompatible with migrant mobility"), and non-portable insurance ties the insured to the city.
- City relaxation (seed 2.3, Zhengzhou 2003: ten-fold rise of the migrant population in three
  months, then reversed): one destination's hukou penalty is scaled by a yearly path and its
  conversion rate raised while the penalty is reduced.
"""

from __future__ import annotations

from typing import Any

from numba import njit, prange

from sim.core.encodings import HOME, RURAL
from sim.core.geography import load_geography
from sim.core.mechanism import Mechanism
from sim.core.params import Param
from sim.core.rng import uniform

PARAMS = (
    Param(
        "training_rate_year",
        {"mode": "step", "1985": 0.002, "2004": 0.01},
        "per year",
        0.0,
        1.0,
        "seed 2.4: Sunshine Project from 2004 (2.5M trained 2004-05); 60M planned 2003-2010 "
        "(steps at dated documents, sim/data/policies.toml)",
        "share of untrained persons at home aged 16-35 trained each year",
        role="policy",
    ),
    Param(
        "training_job_boost",
        0.5,
        "ratio",
        0.0,
        5.0,
        "seed 2.4: 88% of Sunshine trainees found off-farm jobs",
        "relative rise of a trained seeker's job-finding chance",
        role="behaviour",
    ),
    Param(
        "social_insurance_coverage",
        {"mode": "step", "1985": 0.0, "1999": 0.32, "2004": 0.6},
        "share",
        0.0,
        1.0,
        "seed 1.5: 15% of migrants had a pension in 2004 (IILS; 5-34% across studies); fitted "
        "so that the model's pension coverage of migrants in wage jobs is about 15% in 2004 "
        "(version 0.7; steps at dated documents, sim/data/policies.toml)",
        "chance that a new formal job is insured",
        role="policy",
    ),
    Param(
        "insurance_contribution_rate",
        0.11,
        "share of wage",
        0.0,
        0.5,
        "employee contributions: pension 8%, medical 2%, unemployment 1%",
        "wage share paid by an insured migrant",
        role="policy",
    ),
    Param(
        "insurance_value",
        1.0,
        "utils",
        0.0,
        10.0,
        "assumption (seed 1.5, 2.3)",
        "value to a migrant of holding portable insurance (utility, at full coverage)",
        role="behaviour",
    ),
    Param(
        "insurance_portability",
        0.0,
        "share",
        0.0,
        1.0,
        "seed 2.3: entitlements organised locally, not transferable between cities",
        "degree to which insurance can be carried between cities and home (0 none, 1 full; "
        "a yearly path dates a portability reform)",
        role="policy",
    ),
    Param(
        "nonportable_value_share",
        0.3,
        "share",
        0.0,
        1.0,
        "assumption (seed 2.3)",
        "share of the value kept when insurance is not portable",
        role="behaviour",
    ),
    Param(
        "nonportable_return_mult",
        0.8,
        "ratio",
        0.0,
        2.0,
        "assumption (seed 2.3)",
        "return hazard of insured migrants when insurance is not portable",
        role="behaviour",
    ),
    Param(
        "relax_city",
        "none",
        "destination",
        0,
        0,
        "seed 2.3 (Zhengzhou 2003)",
        "destination whose hukou is relaxed on its own",
        kind=str,
        choices=("none", *load_geography().dest_name),
        role="policy",
    ),
    Param(
        "relax_city_penalty_mult",
        1.0,
        "ratio",
        0.0,
        5.0,
        "seed 2.3",
        "multiplier of the relaxed city's hukou penalty (a yearly path)",
        role="policy",
        active_when="relax_city != none",
    ),
    Param(
        "relax_city_conversion_rate",
        0.2,
        "per year",
        0.0,
        1.0,
        "seed 2.3: permanent residence made easy in Zhengzhou",
        "conversion rate in the relaxed city while its penalty is reduced",
        role="policy",
        active_when="relax_city != none and relax_city_penalty_mult < 1",
    ),
)


def insurance_value(pars) -> float:
    """Utility of expected insurance at a destination job (before the chance of a formal job)."""
    port = pars.insurance_portability
    share = port + (1.0 - port) * pars.nonportable_value_share
    return pars.insurance_value * share * pars.social_insurance_coverage


def insured_return_mult(pars) -> float:
    """Return-hazard ratio of insured migrants: non-portable insurance ties them to the city."""
    port = pars.insurance_portability
    return port + (1.0 - port) * pars.nonportable_return_mult


def relaxed_city(pars) -> int:
    """Destination index of the relaxed city, or -1."""
    if pars.relax_city == "none":
        return -1
    return load_geography().dest_name.index(pars.relax_city)


@njit(cache=True, parallel=True)
def train(key, p, rate):
    """Yearly training of untrained persons at home aged 16-35; returns nothing (in place)."""
    age = p.age
    loc = p.loc
    hukou = p.hukou
    trained = p.trained
    for i in prange(age.shape[0]):
        if trained[i] == 0 and loc[i] == HOME and hukou[i] == RURAL and 16 <= age[i] <= 35:
            if uniform(key, i, 0) < rate:
                trained[i] = 1


class Policy(Mechanism):
    """Policy levers that act by themselves once a year (vocational training of young persons
    at home, seed 2.4); the insurance and single-city levers act through the year's inputs."""

    name = "policy"
    doc = "(January) untrained young persons at home are trained at the year's rate"
    params = PARAMS
    streams = ("policy.training",)

    def yearly(self, sim: Any) -> None:
        if sim.t > 0:
            p = sim.persons
            train(sim.key("policy.training"), p.core, sim.pars.training_rate_year)
