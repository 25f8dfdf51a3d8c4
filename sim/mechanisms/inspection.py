"""Labour inspection capacity (issue 17, part 2): how many inspectors there are, what they look
at and what complaints lead to set the chances that minimum-wage breaches, wage arrears, missing
contracts and injury-insurance evasion are corrected.

Seed 1.4 (3) and 2.2: "a severe shortage of trained labour inspectors", about 20,000 officers,
"one for every 35,000 workers" (the seed attributes the figure to the State Administration of
Work Safety; the labour-security inspectorate of the MoLSS was of the same order: 23,000
full-time inspectors in 3,000-odd agencies in 2010, Liaowang via news.sina.com.cn, 26 Feb 2011,
who add, in translation, that inspectors were swamped by complaints, too busy to inspect on
their own). Labour law suffers from the "failure of implementation" (seed 2.2; 3.1: "inadequate
implementation and enforcement"); "many employers" disregard the minimum wage and arrears
continue "to blight" construction (seed 1.4); the 2003-2005 arrears campaign brought the share
fully paid to about 80% (seed 2.2).

**Rule.** For each violation type ``x`` in ``VIOLATIONS`` (minimum wage, arrears, contracts,
injury claims) the chance that a breach is prevented or corrected is

    p_x = 1 - (1 - c_x) * exp(-a_x * f_x * I) * (1 - q_x * h(I)),   h(I) = 1 - exp(-b * I)

- ``I`` inspectors per 10,000 workers (``inspectors_per_10k_workers``, a policy path);
- ``c_x`` voluntary compliance, what employers respect with no inspector (``compliance_<x>``);
- ``f_x`` the share of inspection effort spent on ``x`` (``inspection_focus_<x>``, a policy
  path: the special campaigns move it); a_x the effectiveness of that effort
  (``inspection_effect_<x>``);
- complaints: a worker suffering ``x`` complains with chance ``q_x`` (``complaint_prob_<x>``,
  behaviour) and a complaint is acted upon with chance ``h(I)``, which rises with the
  inspectors there are to act on it (``complaint_handling`` = b).

The routes are independent: a breach escapes only if the employer does not comply, routine
inspection misses it and no handled complaint reveals it.

**What the outcomes replace.** They are computed with the year's inputs
(``sim.engine.yearly.year_quantities``, shared by the fast core and the Mesa reference) and take
the place of the hand-set enforcement paths retired in this version:

- ``p_min_wage`` is the chance a new job respects the minimum wage (was
  ``min_wage_enforcement``; ``YearInputs.minwage_prob``, read by matching and the expected wage);
- ``p_arrears`` is the share of the sectoral arrears risk removed (was ``arrears_enforcement``);
- ``p_contracts`` is the share of the sectoral informality removed (was
  ``contract_enforcement``);
- ``p_injury`` is the chance an insured job's injury claim is honoured, i.e. that the
  employer's evasion of its injury-insurance liability is corrected (was
  ``injury_claim_enforcement`` of ``work_safety``; ``YearInputs.injury_claim_prob``).

Social insurance coverage (``social_insurance_coverage``) is not replaced: which formal jobs are
insured is set by the schemes open to migrants (seed 1.5, 2006 measure 4), which inspection
cannot create; inspection reaches insurance through the contract (only formal jobs are insured).

**Calibration of the structural constants to the previous assumptions (not a fitted target).**
``c_x`` is the old path's value before any labour inspection (1985: minimum wage 0.3, arrears
0.2, contracts 0; injury claims 0.3, the pre-2004 value of scenario ``work_safety_2004``), and
``a_x`` is solved from the rule so that at the 2004 inputs (I = 0.2857, the seed's one per
35,000; the 2004 focus) p_x equals the old 2004 value (0.4, 0.45, 0.12, 0.5):
``a_x = -log((1 - p_old) / ((1 - c_x) (1 - q_x h(I)))) / (f_x I)`` (:func:`derive_effect`;
the test suite re-derives the defaults). Other years follow from the inspector and focus paths
and differ from the old paths (CHANGELOG, Unreleased).

**By province.** The year's inputs hold a density per province (``YearInputs.inspectors``,
national today: no provincial series was found) and the detection chances per destination
(``YearInputs.detection_dest``); the rules that use them read the national value.

**Each month** (stage ``inspection``, after ``pay`` and ``work_safety``) the mechanism records
the year's density and detection chances and its cases: wage-months of arrears found (expected
value over the employed migrants of the sector's base arrears risk times ``p_arrears - c``),
new jobs brought to the minimum wage by inspection (hires times ``p_min_wage - c``), and the
complaints of the migrants left unpaid (unpaid times ``q_arrears``). It draws no random number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from sim.core.chunks import N_CHUNKS, chunk
from sim.core.encodings import N_SECTORS, NO_SECTOR, RURAL, SECTOR_NAMES
from sim.core.mechanism import Indicator, Mechanism
from sim.core.params import Param

VIOLATIONS = ("min_wage", "arrears", "contracts", "injury")
MIN_WAGE, ARREARS, CONTRACTS, INJURY = range(4)
SEED_DENSITY_2003 = 1.0e4 / 35_000  # seed 1.4 (3), 2.2: one inspector per 35,000 workers
CALIBRATION_YEAR = 2004
OLD_2004 = {"min_wage": 0.4, "arrears": 0.45, "contracts": 0.12, "injury": 0.5}

_WHAT = {
    "min_wage": "a new job's minimum wage",
    "arrears": "wage arrears",
    "contracts": "a missing labour contract",
    "injury": "an employer's evasion of an insured injury claim",
}
# (default, source) of each type's voluntary compliance, complaint propensity and focus path
_COMPLIANCE = {
    "min_wage": (0.3, "the old min_wage_enforcement before inspection (1985: 0.3); seed 1.4: "
                 "many employers disregard the minimum wage; estimate, range 0.2-0.4"),
    "arrears": (0.2, "the old arrears_enforcement before inspection (1985: 0.2); seed 1.4, "
                "2.2; estimate, range 0.1-0.3"),
    "contracts": (0.0, "the old contract_enforcement before the Labour Law (0); seed 1.4: "
                  "Suizhou 2004, none of 134 firms had issued contracts; range 0-0.1"),
    "injury": (0.3, "the pre-2004 claim enforcement of scenario work_safety_2004; seed 1.4 (3): "
               "injury laws 'poorly enforced'; estimate, range 0.2-0.5"),
}
_COMPLAINT = {
    "min_wage": (0.05, "estimate (range 0.01-0.15): seed 1.4, employers treat the minimum as a "
                 "maximum and few migrants know the rate"),
    "arrears": (0.1, "estimate (range 0.05-0.3): seed 2.2 and 2.5, arrears are the migrants' "
                "main grievance (ACFTU 2005 campaign on delayed wages); Liaowang 2011: "
                "inspectors swamped by complaints"),
    "contracts": (0.02, "estimate (range 0-0.05): seed 1.4, eight in ten migrants did not know "
                  "what a labour contract was (Jinan Daily)"),
    "injury": (0.2, "estimate (range 0.1-0.4): seed 1.4 (3), an injured worker has a claim to "
               "press"),
}
_FOCUS = {
    "min_wage": ({"mode": "step", "1985": 0.05, "2004": 0.1, "2006": 0.2},
                 "estimate (ranges 0.02-0.1, 0.05-0.2, 0.1-0.3): raised at the 2004 Provisions "
                 "on Minimum Wages and the State Council's 2006 Opinions, measure 1 (seed 2.1)"),
    "arrears": ({"mode": "step", "1985": 0.05, "2004": 0.2, "2005": 0.3},
                "estimate (ranges 0.02-0.1, 0.1-0.3, 0.2-0.4): the 2003-2005 arrears campaigns "
                "(State Council General Office notices of Nov 2003 and Oct 2004; seed 2.1-2.2)"),
    "contracts": ({"mode": "step", "1985": 0.1, "2006": 0.18},
                  "estimate (ranges 0.05-0.2, 0.1-0.3): raised at the 2006 Opinions, measure 2 "
                  "(seed 2.1)"),
    "injury": (0.1, "estimate (range 0.05-0.2); the 2004 MoLSS order that high-risk enterprises "
               "insure their migrants (seed 2.1, Box 1) is left to scenarios"),
}


def _focus_default(x: str, year: int) -> float:
    """Default focus of type ``x`` in ``year`` (step path or constant)."""
    v = _FOCUS[x][0]
    if not isinstance(v, dict):
        return float(v)
    steps = sorted((int(k), float(val)) for k, val in v.items() if k != "mode")
    return [val for y, val in steps if y <= year][-1]


# derived from the 2004 calibration (module docstring, derive_effect); 4 decimals
_EFFECT = {"min_wage": 4.2715, "arrears": 5.4147, "contracts": 4.0291, "injury": 7.0464}

PARAMS = (
    Param(
        "inspectors_per_10k_workers",
        {"mode": "step", "1985": 0.0, "1995": round(SEED_DENSITY_2003, 4), "2005": 0.30},
        "per 10,000 workers",
        0.0,
        5.0,
        "seed 1.4 (3), 2.2: about 20,000 officers, one per 35,000 workers (0.2857, the 2003 "
        "value, held from the 1994 Labour Law, in force 1995, which first set out the rights and "
        "duties of labour inspectors; estimate for 1995-2002, range 0.15-0.3); 0 before it "
        "(estimate, range 0-0.1: pilots only); 0.30 from the 2004 Regulation on Labour Security "
        "Supervision (in force Dec 2004): 23,000 full-time inspectors in 2010 (Liaowang 2011) "
        "over 764 million employed (2006 MoLSS/NBS bulletin), range 0.28-0.35 "
        "(steps at dated documents, sim/data/policies.toml)",
        "labour inspectors per 10,000 workers",
        role="policy",
    ),
    *[
        Param(
            f"inspection_focus_{x}",
            _FOCUS[x][0],
            "share",
            0.0,
            1.0,
            _FOCUS[x][1] + (" (steps at dated documents, sim/data/policies.toml)"
                            if isinstance(_FOCUS[x][0], dict) else ""),
            f"share of inspection effort spent on {_WHAT[x]} (the four shares sum to at most 1)",
            role="policy",
        )
        for x in VIOLATIONS
    ],
    *[
        Param(
            f"compliance_{x}",
            _COMPLIANCE[x][0],
            "probability",
            0.0,
            0.99,
            _COMPLIANCE[x][1],
            f"chance that {_WHAT[x]} is respected with no inspection (voluntary compliance)",
            role="structural",
        )
        for x in VIOLATIONS
    ],
    *[
        Param(
            f"inspection_effect_{x}",
            _EFFECT[x],
            "per (focus x inspectors per 10k)",
            0.0,
            100.0,
            f"derived, not fitted: the rule at the 2004 inputs (inspectors 0.2857, focus "
            f"{_focus_default(x, CALIBRATION_YEAR)}) gives the old 2004 enforcement value "
            f"{OLD_2004[x]} (sim/mechanisms/inspection.py, derive_effect)",
            f"effectiveness of inspection effort against {_WHAT[x]}",
            role="structural",
        )
        for x in VIOLATIONS
    ],
    *[
        Param(
            f"complaint_prob_{x}",
            _COMPLAINT[x][0],
            "probability",
            0.0,
            1.0,
            _COMPLAINT[x][1],
            f"chance a migrant suffering {_WHAT[x]} complains to the labour authorities",
            role="behaviour",
        )
        for x in VIOLATIONS
    ],
    Param(
        "complaint_handling",
        3.5,
        "per (inspectors per 10k)",
        0.0,
        100.0,
        "estimate (range 1-10): a complaint is acted upon with chance 1 - exp(-b I), 0.63 at the "
        "seed's 2003 density; Liaowang 2011: inspectors 'swamped by complaints'",
        "rise of the chance a complaint is acted upon with the inspectors there are",
        role="structural",
    ),
)


def _vec(pars, prefix: str) -> np.ndarray:
    return np.array([getattr(pars, f"{prefix}_{x}") for x in VIOLATIONS], np.float64)


def detection_at(pars, inspectors) -> np.ndarray:
    """Detection chances by type (last axis, ``VIOLATIONS``) at ``inspectors`` per 10,000 workers
    (a scalar, shape (4,), or an array, shape (*inspectors.shape, 4))."""
    i = np.asarray(inspectors, np.float64)[..., None]
    c, a, f, q = (_vec(pars, k) for k in ("compliance", "inspection_effect", "inspection_focus",
                                           "complaint_prob"))
    handled = 1.0 - np.exp(-pars.complaint_handling * i)
    return 1.0 - (1.0 - c) * np.exp(-a * f * i) * (1.0 - q * handled)


def derive_effect(compliance: float, complaint: float, handling: float, focus: float,
                  inspectors: float, target: float) -> float:
    """The effectiveness a_x for which the rule gives ``target`` at the given inputs."""
    h = 1.0 - np.exp(-handling * inspectors)
    rest = (1.0 - target) / ((1.0 - compliance) * (1.0 - complaint * h))
    if not 0.0 < rest <= 1.0:
        raise ValueError("target not reachable: compliance and complaints alone exceed it")
    return float(-np.log(rest) / (focus * inspectors))


def province_density(geo, pars) -> np.ndarray:
    """Inspectors per 10,000 workers by province (national: no provincial series found)."""
    return np.full(geo.n_prov, float(pars.inspectors_per_10k_workers))


def year_inputs(geo, pars) -> dict[str, Any]:
    """The inspection quantities of the year's inputs (``sim.engine.yearly.YearInputs``)."""
    dens = province_density(geo, pars)
    det = detection_at(pars, pars.inspectors_per_10k_workers)
    return {
        "inspectors": dens,
        "detection": det,
        "detection_dest": detection_at(pars, dens[geo.dest_prov]),
        "minwage_prob": float(det[MIN_WAGE]),
        "injury_claim_prob": float(det[INJURY]),
    }


@njit(cache=True, parallel=True)
def tally(p, sector_before, paid):
    """Employed rural-hukou migrants by sector, those of them unpaid this month, and this
    month's hires (employed now, not at the start of matching): partial counts by fixed chunk
    in parallel (``sim.core.chunks``)."""
    loc = p.loc
    hukou = p.hukou
    sector = p.sector
    n = loc.shape[0]
    c_sector = np.zeros((N_CHUNKS, N_SECTORS), np.int64)
    c_count = np.zeros((N_CHUNKS, 2), np.int64)  # unpaid, hires
    for c in prange(N_CHUNKS):
        lo, hi = chunk(c, n)
        by_sector = c_sector[c]
        cnt = c_count[c]
        for i in range(lo, hi):
            if loc[i] < 0 or hukou[i] != RURAL or sector[i] == NO_SECTOR:
                continue
            by_sector[sector[i]] += 1
            if paid[i] == 0:
                cnt[0] += 1
            if sector_before[i] == NO_SECTOR:
                cnt[1] += 1
    tot = c_count.sum(axis=0)
    return c_sector.sum(axis=0), tot[0], tot[1]


class Inspection(Mechanism):
    """Labour inspection capacity (seed 1.4 (3), 2.2): inspectors per worker, the focus of their
    effort and complaints set the detection chances of minimum-wage breaches, arrears, missing
    contracts and injury-claim evasion, which the year's inputs pass to matching, pay and
    work safety (they replace the hand-set enforcement paths)."""

    name = "inspection"
    doc = ("records the year's inspector density and detection chances by violation type, and "
           "the month's arrears cases, minimum-wage cases and complaints")
    params = PARAMS
    results = (
        Indicator("inspectors_per_10k", "per 10,000 workers",
                  "labour inspectors per 10,000 workers (national)"),
        *[
            Indicator(f"detect_{x}", "probability",
                      f"chance that {_WHAT[x]} is prevented or corrected (compliance, "
                      "inspection or a handled complaint)")
            for x in VIOLATIONS
        ],
        Indicator("arrears_cases", "wage-months",
                  "wage-months of migrants' arrears prevented or recovered by inspection and "
                  "complaints (expected value)", scaled=True, flow=True),
        Indicator("minwage_cases", "jobs",
                  "new migrant jobs brought to the minimum wage by inspection and complaints "
                  "(expected value)", scaled=True, flow=True),
        Indicator("arrears_complaints", "complaints",
                  "complaints of migrants left unpaid this month (expected value)", scaled=True,
                  flow=True),
    )

    def check(self, params: Any) -> None:
        names = [f"inspection_focus_{x}" for x in VIOLATIONS]
        years = {1985}
        for k in names:
            v = params[k]
            years.update(getattr(v, "years", ()))
        for y in sorted(years):
            pars = params.at(y)
            total = sum(getattr(pars, k) for k in names)
            if total > 1.0 + 1e-9:
                raise ValueError(
                    f"inspection focus shares sum to {total:.3f} > 1 in {y} "
                    f"({', '.join(names)}): inspectors cannot spend more than all their effort"
                )

    def step(self, sim: Any) -> None:
        pars, yq, sc, t = sim.pars, sim.yq, sim.rec.scalars, sim.t
        det = yq.detection
        sc["inspectors_per_10k"][t] = pars.inspectors_per_10k_workers
        for k, x in enumerate(VIOLATIONS):
            sc[f"detect_{x}"][t] = det[k]
        by_sector, unpaid, hires = tally(sim.persons.core, sim.buf.sector_before, sim.buf.paid)
        base = np.array([getattr(pars, f"arrears_risk_{s}") for s in SECTOR_NAMES])
        sc["arrears_cases"][t] = float(
            (by_sector * base).sum() * max(det[ARREARS] - pars.compliance_arrears, 0.0))
        # (max: without inspectors the detection equals the compliance up to rounding)
        sc["minwage_cases"][t] = hires * max(det[MIN_WAGE] - pars.compliance_min_wage, 0.0)
        sc["arrears_complaints"][t] = unpaid * pars.complaint_prob_arrears
