"""Who employers hire: the sex mix of each sector's demand and export manufacturing's growth.

Seed 1.3 attributes the feminisation of migration (about one third female in the often-cited
earlier figure, 49% in 2003) to "the demand for young women in particular industries, such as
manufacturing, where they are considered cheaper and easier to manage than men". Two rules carry
that, with behaviour held constant:

* Each sector hires a given share of women when equal numbers of men and women seek
  (``female_hire_share_<sector>``). A seeker of sex x meets a sector's openings with weight
  ``w[s, x]`` = 2 share (women) or 2 (1 - share) (men), so a sector with share 0.5 treats both
  alike and the weights average 1 over the sexes. A woman's chance of a job at a destination
  is the destination's chance times the opening-weighted mean of her weights; her sector is
  drawn with them; migrants weighing a destination expect the employment rate of their sex.
* Manufacturing's share of migrant labour demand follows national exports (export processing,
  seed 1.3-1.4): the manufacturing column is scaled by ``(X_t / X_2004) ** eta`` and each
  destination's total kept, so 2004 (the year of seed 1.4's sector shares) is the reference.

With every share at 0.5 and ``eta`` = 0 both rules are the identity.

While urban jobs outnumber the migrants present, the chance of a job a migrant expects is
close to 1 for both sexes, so these rules shape who works in which sector more than who
migrates. The female share's rise comes from the women's migration experience
(``decisions.norms``, the seed's "growing acceptance for young women to travel alone"), with
constant parameters since 0.13 (issue 12).
"""

from __future__ import annotations

import numpy as np

from sim.core.encodings import N_SEX, SECTOR_NAMES
from sim.core.params import Param

MANUFACTURING = SECTOR_NAMES.index("manufacturing")
EXPORT_BASE_YEAR = 2004  # the year seed 1.4's sector shares describe (Cai 2005, 2004 survey)

_FEMALE_SHARE = (
    # sector, default, low, high: estimates (no published table of hires by sex and sector of
    # rural migrants was found in the stored copies); ordering from seed 1.3-1.4: construction
    # almost all men, export manufacturing preferring young women, services and catering mixed
    ("construction", 0.1, 0.02, 0.25),
    ("manufacturing", 0.707, 0.45, 0.75),
    ("trade_catering", 0.55, 0.40, 0.70),
    ("services", 0.5, 0.35, 0.65),
    ("other", 0.35, 0.20, 0.50),
)

GENDER_PARAMS = (
    *[
        Param(
            f"female_hire_share_{s}",
            v,
            "share",
            0.0,
            1.0,
            f"estimate (likely range {lo}-{hi}); seed 1.3: demand for young women in "
            "manufacturing; seed 1.4: construction and manufacturing the largest employers of "
            "migrants",
            f"share of hires in {s} that go to women when equal numbers of men and women seek",
            role="structural",
        )
        for s, v, lo, hi in _FEMALE_SHARE
    ],
    Param(
        "manufacturing_export_elasticity",
        0.257451,
        "elasticity",
        0.0,
        1.0,
        "estimate (range 0-1); seed 1.3-1.4: export processing draws migrants to manufacturing; "
        "national exports from sim/data/national_series.csv",
        "elasticity of manufacturing's share of migrant labour demand to national exports "
        f"(relative to {EXPORT_BASE_YEAR})",
        role="structural",
    ),
)


def sex_weights(pars) -> np.ndarray:
    """Weight of a seeker of each sex on each sector's openings, shape (n_sectors, N_SEX)."""
    share = np.array([getattr(pars, f"female_hire_share_{s}") for s in SECTOR_NAMES])
    return np.stack([2.0 * (1.0 - share), 2.0 * share], axis=1)


def export_factor(geo, pars, year: float) -> float:
    """(X_year / X_2004) ** eta, with exports interpolated in logs within the year (``year``
    may be fractional: January = year + 0)."""
    eta = pars.manufacturing_export_elasticity
    if eta == 0.0:
        return 1.0
    years = geo.national["year"].astype(np.float64)
    log_x = np.log(geo.national["exports_usd_bn"])
    base = np.interp(float(EXPORT_BASE_YEAR), years, log_x)
    return float(np.exp(eta * (np.interp(year, years, log_x) - base)))


def tilt(demand: np.ndarray, ratio: float) -> np.ndarray:
    """Demand (n_dest, n_sectors) with manufacturing scaled by ``ratio`` and each destination's
    total kept."""
    if ratio == 1.0:
        return demand
    out = demand.copy()
    out[:, MANUFACTURING] *= ratio
    total = demand.sum(axis=1, keepdims=True)
    return out * (total / np.maximum(out.sum(axis=1, keepdims=True), 1e-300))


def sex_job_chance(find: np.ndarray, openings: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Job-finding chance by destination and sex: the destination's chance times the
    opening-weighted mean weight of the sex (at most 1), shape (n_dest, N_SEX)."""
    total = openings.sum(axis=1)
    mean_w = (openings @ weights) / np.maximum(total, 1e-300)[:, None]
    mean_w = np.where(total[:, None] > 0, mean_w, 1.0)
    return np.minimum(1.0, find[:, None] * mean_w)


def sex_employment_rate(demand: np.ndarray, present: np.ndarray, weights: np.ndarray):
    """Employment probability by destination and sex (jobs open to the sex over migrants
    present, at most 1), shape (n_dest, N_SEX)."""
    jobs = demand @ weights
    assert jobs.shape[1] == N_SEX
    return np.minimum(1.0, jobs / np.maximum(present, 1)[:, None])
