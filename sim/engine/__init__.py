"""The simulation loop built from the mechanism registry."""

from sim.engine.loop import Simulation
from sim.engine.registry import REGISTRY, STEP_ORDER, Params, schema

__all__ = ["REGISTRY", "STEP_ORDER", "Params", "Simulation", "schema"]
