"""A Mesa 3 model over the fast core: ``sim.Simulation`` stepped one month per ``Model.step``.

The agents stay in the core's numpy arrays (there are no ``mesa.Agent`` objects, which would
cost more than the whole month of the numba kernels); Mesa contributes the model protocol, the
``DataCollector`` and ``mesa.batch_run``::

    import mesa
    from sim.mesa.fast import MigrationModel

    rows = mesa.batch_run(MigrationModel,
                          parameters={"agents": 20_000, "years": 3, "start_year": 2000,
                                      "seed": [1, 2], "hukou_penalty_small": [0.0, 1.0]},
                          iterations=1, max_steps=36, number_processes=1)

Give replicates as a list of seeds (``iterations`` repeats the same seed, hence the same run).
The ``DataCollector`` collects after each month (not at construction), so its row k holds
month k + 1 and the last row the final month; ``batch_run`` (Mesa 3.3) reports the row of
``model.steps - 1``, i.e. the last month (see mesa issue #2514 on its indexing).
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.engine import Simulation
from sim.engine.loop import _threads as _Threads  # numba thread count for a block

TOP_PROVINCES = 5


class MigrationModel(mesa.Model):
    """``mesa.Model`` wrapping ``sim.Simulation``.

    Keyword arguments: ``agents``, ``seed``, ``start_year``, ``years``, ``threads`` (numba
    threads, None leaves the setting alone) and any model parameter by name, as a number or a
    yearly path (``hukou_penalty_small=0.5`` or ``hukou_penalty_small={"2001": 0.4}``);
    ``sim.Params`` refuses unknown names.
    """

    def __init__(
        self,
        agents: int = 20_000,
        seed: int = 1,
        start_year: int = 1985,
        years: int = 22,
        threads: int | None = None,
        **params: Any,
    ):
        super().__init__(seed=seed)
        self.threads = threads
        with _Threads(threads):
            self.sim = Simulation(
                params, agents=agents, seed=seed, start_year=start_year, years=years
            )
        geo = self.sim.geo
        self._is_six = np.asarray(geo.dest_is_six)
        self._dest_prov = np.asarray(geo.dest_prov)
        self._prov_name = geo.prov_name
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "year": lambda m: m.year,
                "month": lambda m: m.month,
                "migrant_stock": lambda m: m.migrant_stock,
                "share_to_six_destinations": lambda m: m.share_to_six,
                "unemployment_rate": lambda m: m.unemployment_rate,
                "outflow": lambda m: m.outflow,
                "returnflow": lambda m: m.returnflow,
                "migrants_by_province": lambda m: m.migrants_by_province(),
                "top_provinces": lambda m: m.top_provinces(),
            }
        )

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Advance the core one month and collect the month's indicators."""
        with _Threads(self.threads):
            self.sim.step()
        self.datacollector.collect(self)
        if self.sim.t >= self.sim.n_months:
            self.running = False

    def results(self):
        """The core's ``Results`` of the months run so far."""
        return self.sim.results()

    # ------------------------------------------------------------------ reporters
    @property
    def _t(self) -> int:
        return self.sim.t - 1  # the month just recorded

    @property
    def year(self) -> int:
        return self.sim.start_year + self._t // 12

    @property
    def month(self) -> int:
        return self._t % 12 + 1

    @property
    def migrant_stock(self) -> float:
        """Rural-hukou migrants away from home, real persons."""
        return float(self.sim.rec.stock_dest[self._t].sum() * self.sim.scale)

    @property
    def share_to_six(self) -> float:
        """Share of the stock in Guangdong, Zhejiang, Fujian, Jiangsu, Beijing, Shanghai."""
        s = self.sim.rec.stock_dest[self._t]
        return float(s[self._is_six].sum() / max(s.sum(), 1))

    @property
    def unemployment_rate(self) -> float:
        """Share of migrants without an urban job."""
        stock = max(int(self.sim.rec.stock_dest[self._t].sum()), 1)
        return float(1.0 - self.sim.rec.profile[self._t, 3] / stock)

    @property
    def outflow(self) -> float:
        """Departures from home this month, real persons."""
        return float(self.sim.rec.outflow_dist[self._t].sum() * self.sim.scale)

    @property
    def returnflow(self) -> float:
        """Returns home this month, real persons."""
        return float(self.sim.rec.returnflow[self._t] * self.sim.scale)

    def migrants_by_province(self) -> dict[str, float]:
        """Migrant stock by destination province, real persons."""
        by_prov = (
            np.bincount(
                self._dest_prov, self.sim.rec.stock_dest[self._t], minlength=len(self._prov_name)
            )
            * self.sim.scale
        )
        return {name: float(v) for name, v in zip(self._prov_name, by_prov, strict=True)}

    def top_provinces(self, n: int = TOP_PROVINCES) -> str:
        """The n destination provinces with most migrants, as 'name:share' text."""
        by = self.migrants_by_province()
        total = max(sum(by.values()), 1e-12)
        top = sorted(by.items(), key=lambda kv: -kv[1])[:n]
        return ", ".join(f"{k}:{v / total:.2f}" for k, v in top)
