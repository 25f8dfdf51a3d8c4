"""migsim: agent-based simulation of rural-urban labour migration in China.

>>> import sim
>>> res = sim.Simulation(agents=50_000, seed=1, years=5).run()   # doctest: +SKIP
>>> res.to_frame()                                                 # doctest: +SKIP

Layers (each imports only those below it): ``sim.core`` (parameter types, encodings, state,
random numbers, the mechanism protocol, geography); ``sim.mechanisms`` (one module per rule);
``sim.io`` (records and run files); ``sim.engine`` (the registry and the loop);
``sim.experiments`` (scenarios, batches, reports, validation), ``sim.mesa`` and ``sim.cli``.
"""

from sim.core.mechanism import Indicator, Mechanism, StateField
from sim.core.params import ROLES, Param, ParamError
from sim.core.version import __version__
from sim.engine import REGISTRY, STEP_ORDER, Params, Simulation, schema
from sim.io.results import Results

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
