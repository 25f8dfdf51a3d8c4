"""migsim: agent-based simulation of rural-urban labour migration in China.

>>> import sim
>>> res = sim.Simulation(agents=50_000, seed=1, years=5).run()   # doctest: +SKIP
>>> res.to_frame()                                                 # doctest: +SKIP
"""

from sim.core.params import Param, ParamError, Params, schema
from sim.engine import STEP_ORDER, Simulation
from sim.io.results import Results

__version__ = "0.3.0"
__all__ = ["STEP_ORDER", "Param", "ParamError", "Params", "Results", "Simulation", "schema",
           "__version__"]
