"""The simulation loop built from the mechanism registry."""

from sim.engine.loop import STEP_ORDER, Simulation

__all__ = ["STEP_ORDER", "Simulation"]
