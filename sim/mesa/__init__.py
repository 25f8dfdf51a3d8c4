"""Mesa 3 faces of migsim.

- :class:`~sim.mesa.reference.ReferenceModel`: a plainly written agent-based twin of the numba
  core (persons and households as ``mesa.Agent``), for reading, teaching and docking.
- :class:`~sim.mesa.fast.MigrationModel`: a ``mesa.Model`` over the fast core, stepping
  ``sim.Simulation`` a month at a time, with a ``DataCollector`` and ``mesa.batch_run`` support.

Submodules are imported lazily so that ``import sim.mesa.fast`` does not build the reference
model's classes and vice versa.
"""

from __future__ import annotations

__all__ = ["MigrationModel", "ReferenceModel"]


def __getattr__(name: str):
    if name == "MigrationModel":
        from sim.mesa.fast import MigrationModel

        return MigrationModel
    if name == "ReferenceModel":
        from sim.mesa.reference import ReferenceModel

        return ReferenceModel
    raise AttributeError(name)
