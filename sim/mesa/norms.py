"""The women's migration experience in the Mesa reference model, written out per agent (the
core's ``sim.mechanisms.decisions.norms``): each January, at the decisions, the female cost of
moving by home province is ``female_cost - female_norm_effect * E_o``, ``E_o`` the share of the
province's rural-hukou women aged 15-39 who have ever left to work."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.encodings import FEMALE, RURAL
from sim.mechanisms.decisions.norms import NORM_AGE_MAX, NORM_AGE_MIN, female_costs


def female_cost_by_province(model: Any) -> np.ndarray:
    """The female cost of moving by home province (utils) from the persons of ``model``."""
    n_prov = model.geo.n_prov
    ever, total = np.zeros(n_prov, np.int64), np.zeros(n_prov, np.int64)
    for x in model.persons:
        if x.sex == FEMALE and x.hukou == RURAL and NORM_AGE_MIN <= x.age <= NORM_AGE_MAX:
            total[x.prov] += 1
            ever[x.prov] += x.first_year >= 0
    share = np.where(total > 0, ever / np.maximum(total, 1), 0.0)
    return female_costs(model.pars, share)
