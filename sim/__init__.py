"""migsim: agent-based simulation of rural-urban labour migration in China.

>>> import sim
>>> res = sim.Simulation(agents=50_000, seed=1, years=5).run()   # doctest: +SKIP
>>> res.to_frame()                                                 # doctest: +SKIP

Layers (each imports only those below it): ``sim.core`` (parameter types, encodings, state,
random numbers, the mechanism protocol, geography); ``sim.mechanisms`` (one module per rule);
``sim.io`` (records and run files); ``sim.engine`` (the registry and the loop);
``sim.experiments`` (scenarios, batches, reports, validation), ``sim.mesa`` and ``sim.cli``.
"""

from sim.core.jitcache import refresh as _refresh_jit_cache

_refresh_jit_cache()  # before any kernel loads: stale inlined helpers are compiled again

from sim.core.mechanism import Indicator, Mechanism, StateField  # noqa: E402
from sim.core.params import ROLES, Param, ParamError  # noqa: E402
from sim.core.version import __version__  # noqa: E402
from sim.engine import REGISTRY, STEP_ORDER, Params, Simulation, schema  # noqa: E402
from sim.io.results import Results  # noqa: E402

__all__ = [
    "REGISTRY",
    "ROLES",
    "STEP_ORDER",
    "Indicator",
    "Mechanism",
    "Param",
    "ParamError",
    "Params",
    "Results",
    "Simulation",
    "StateField",
    "__version__",
    "schema",
]
