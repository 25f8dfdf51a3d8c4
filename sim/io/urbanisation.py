"""Urbanisation by residence and by hukou, and the gap between them (issue 14, part 5).

The agents are China's rural-hukou population: the persons aged 15-64 (their number set by the
2000 census's rural residents plus the rural migrants it counted in cities,
``sim.mechanisms.demography``), the children under 15 of their households and the households'
elders aged 65 and over (``sim.mechanisms.elders``). Everyone else in the national population
(``sim/data/national_series.csv``) is counted as urban:

* **by hukou**: the population less every rural-hukou person, wherever they live; migrants who
  converted to a local hukou (``settled_urban_hukou``) and the children who went with them are
  urban-hukou;
* **by residence**: the population less the rural-hukou persons living in their village, so
  the urban-hukou population plus the rural migrants away (every destination, county towns
  included, is an urban place by the census's definition) and the children living with them;
  elders stay in the village (the elders' module's assumption);
* **the gap** between the two rates is the rural-hukou persons living in cities over the
  population: migrants and their children there.

Limit: rural-hukou persons who live in places classified urban without having moved (villages
inside cities, places reclassified as towns) are not among the agents, whose number comes from
the census's rural residents; both rates count them as urban. The hukou rate is therefore above
the registration-based figure by their share (4-7 points in 1985-2000 against the population
registered in rural townships, ``calibration/urbanisation_published.toml``), and the gap is the
migrants' part of the published gap only. All values are December values (yearly), in real
persons or shares.
"""

from __future__ import annotations

import numpy as np

INDICATORS = {  # name -> (unit, what)
    "rural_hukou_population": ("persons", "rural-hukou persons of every age, wherever they live"),
    "urban_hukou_population": ("persons", "the population less the rural-hukou persons"),
    "urban_residents": ("persons", "the population less the rural-hukou persons at home"),
    "urbanisation_by_hukou": ("share", "urban-hukou share of the population"),
    "urbanisation_by_residence": ("share", "urban residents' share of the population"),
    "urbanisation_gap": ("share", "rural-hukou persons living in cities (migrants and their "
                         "children) over the population: residence less hukou rate"),
}


def add_urbanisation(out: dict[tuple[str, str], np.ndarray], population: np.ndarray,
                     children: np.ndarray) -> None:
    """Add :data:`INDICATORS` (group ``total``) to ``out``, the scaled series of a run that
    counts every rural-hukou child and elder (the household life course and the elders'
    module: the caller checks); ``children`` are the rural-hukou children under 15 in real
    persons. All are counted when the migrants are (the record stage, December): values in
    December, NaN in the other months."""
    elders = out["elders", "total"]
    rural_hukou = out["rural_labour_force", "total"] + children + elders
    in_cities = out["migrant_stock", "total"] + out["migrant_children_in_cities", "total"]
    out["rural_hukou_population", "total"] = rural_hukou
    out["urban_hukou_population", "total"] = population - rural_hukou
    out["urban_residents", "total"] = population - rural_hukou + in_cities
    out["urbanisation_by_hukou", "total"] = out["urban_hukou_population", "total"] / population
    out["urbanisation_by_residence", "total"] = out["urban_residents", "total"] / population
    out["urbanisation_gap", "total"] = in_cities / population
