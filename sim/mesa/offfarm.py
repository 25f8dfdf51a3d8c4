"""Rural off-farm work in the reference model: TVE jobs at home, written plainly.

The rule of ``sim.mechanisms.rural_offfarm`` (see its module docstring), applied to the
reference model's agents right after the household stage (``ReferenceModel.step``):

1. holders no longer eligible (rural hukou, at home, aged 16 to ``tve_age_max``) lose the job;
   each remaining holder separates with chance ``tve_separation_rate``;
2. province p, with capacity K_p (``rural_offfarm.capacity``, shared with the core), H_p holders
   and S_p seekers (eligible non-holders), has openings O_p = max(K_p - H_p, 0); seekers are
   visited in person order and each is hired with chance min(1, ``tve_matching_efficiency`` *
   O_p / S_p) while the province has an opening left (O_p >= 1, one less per hire);
3. each household with n rural workers at home of whom k hold a TVE job earns, per worker at
   home, y <- log(exp(y) + (k / n) * (w_p - exp(y))), w_p = ``tve_wage_ratio`` times the
   provincial mean of exp(y) over households with a worker at home (before the change).

Draws come from the model's ``numpy`` generator (``model.rng``), not the core's counter-based
keys: the two models agree in distribution, not run by run. ``tve_jobs_scale = 0`` records
zeros and touches nothing else (no draw), as in the core.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.core.state import HOME, RURAL
from sim.mechanisms.rural_offfarm import AGE_MAX_LABOUR, AGE_MIN, capacity

#: indicators of the stage, keyed like ``Results.series()`` (not part of ``KEY_INDICATORS``)
TVE_INDICATORS = (("tve_employment", "total"), ("tve_share_of_rural_labour", "total"))


def _eligible(x: Any, age_max: int) -> bool:
    return x.loc == HOME and x.hukou == RURAL and AGE_MIN <= x.age <= age_max


def _count(model: Any, age_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(holders, seekers, rural workers at home aged 16-64) per province."""
    n = model.geo.n_prov
    holders, seekers, labour = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    for x in model.persons:
        if x.loc != HOME or x.hukou != RURAL:
            continue
        if AGE_MIN <= x.age <= AGE_MAX_LABOUR:
            labour[x.prov] += 1
        if x.tve == 1:
            holders[x.prov] += 1
        elif AGE_MIN <= x.age <= age_max:
            seekers[x.prov] += 1
    return holders, seekers, labour


def rural_offfarm(model: Any, pars: Any) -> None:
    """One month of the TVE labour market and the TVE wage in the income at home."""
    rec = model.offfarm_rec
    if pars.tve_jobs_scale <= 0.0:  # off: only the records
        for k in TVE_INDICATORS:
            rec[k].append(0.0)
        model.offfarm_check.append((np.zeros(model.geo.n_prov), np.zeros(model.geo.n_prov)))
        return
    rng, age_max = model.rng, int(pars.tve_age_max)
    # 1 separations
    for x in model.persons:
        if x.tve == 1 and (not _eligible(x, age_max) or rng.random() < pars.tve_separation_rate):
            x.tve = 0
    # 2 hires in person order while openings last
    holders, seekers, _ = _count(model, age_max)
    cap = capacity(model.geo, model.year, pars.tve_jobs_scale, model.scale)
    openings = np.maximum(cap - holders, 0.0)
    prob = np.minimum(1.0, pars.tve_matching_efficiency * openings / np.maximum(seekers, 1))
    for x in model.persons:
        if x.tve == 1 or not _eligible(x, age_max):
            continue
        if openings[x.prov] >= 1.0 and rng.random() < prob[x.prov]:
            x.tve = 1
            openings[x.prov] -= 1.0
    # 3 the TVE wage in the income per worker at home
    n_prov = model.geo.n_prov
    counts = []
    total, n_hh = np.zeros(n_prov), np.zeros(n_prov)
    for h in model.households:
        home = [x for x in h.members if x.hukou == RURAL and x.loc == HOME]
        counts.append((len(home), sum(x.tve for x in home)))
        if home:
            total[h.prov] += math.exp(h.log_income_home)
            n_hh[h.prov] += 1.0
    wage = pars.tve_wage_ratio * np.where(n_hh > 0, total / np.maximum(n_hh, 1.0), 0.0)
    for h, (n, k) in zip(model.households, counts, strict=True):
        if k > 0 and n > 0:
            y = math.exp(h.log_income_home)
            h.log_income_home = math.log(y + (k / n) * (wage[h.prov] - y))
    # records
    holders, _, labour = _count(model, age_max)
    rec["tve_employment", "total"].append(float(holders.sum()) * model.scale)
    n_lab = int(labour.sum())
    rec["tve_share_of_rural_labour", "total"].append(holders.sum() / n_lab if n_lab else 0.0)
    model.offfarm_check.append((holders.astype(np.float64), cap))
