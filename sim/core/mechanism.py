"""The mechanism protocol: what one rule of the model declares, and the hooks the loop calls.

A mechanism is a class with a ``name`` and declarations: its parameters (:class:`Param`, each
with a role), the per-person and per-household state it owns (:class:`StateField`), per-person
or per-household scratch buffers, the monthly indicators it records (:class:`Indicator`) and the
named random streams it draws from. The engine builds the simulation from an ordered registry
of mechanism instances: it allocates the declared state and buffers, gathers the parameter
schema, and each month calls, in registry order, ``yearly`` (January only) then ``step``. A
mechanism reads and writes the simulation only through the ``sim`` it is handed; it never imports
another mechanism (it may call another's methods as ``sim.mech[name]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sim.core.params import Param

LEVELS = ("person", "household")


@dataclass(frozen=True)
class StateField:
    """One array of agent state: name, numpy dtype, initial value and meaning.

    ``level`` is ``person`` or ``household``. ``home`` is the value a person's field takes when
    the person is sent home (a return) or leaves the population; None keeps it.
    """

    name: str
    dtype: str
    doc: str
    fill: float = 0
    level: str = "person"
    home: float | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"state field {self.name}: level must be one of {LEVELS}")
        np.dtype(self.dtype)  # refuses an unknown dtype

    def allocate(self, n: int) -> np.ndarray:
        """A new array of ``n`` values filled with ``fill``."""
        return np.full(n, self.fill, dtype=self.dtype)


@dataclass(frozen=True)
class Indicator:
    """A monthly scalar a mechanism records in ``sim.rec.scalars[name]`` and the table reports.

    ``scaled`` counts are in agents and multiplied by the scale (real persons) when reported;
    ``flow`` indicators are summed over a year, others read in December.
    """

    name: str
    unit: str
    doc: str
    scaled: bool = False
    flow: bool = False


class Mechanism:
    """Base class of every rule; subclasses override the declarations and hooks they need."""

    name: ClassVar[str] = ""
    doc: ClassVar[str] = ""  # one line: what the step does (the step-order table)
    params: ClassVar[tuple[Param, ...]] = ()
    person_state: ClassVar[tuple[StateField, ...]] = ()
    household_state: ClassVar[tuple[StateField, ...]] = ()
    buffers: ClassVar[tuple[StateField, ...]] = ()  # scratch arrays, not state
    results: ClassVar[tuple[Indicator, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ()
    after: ClassVar[str | None] = None  # for added mechanisms: the stage they follow

    def check(self, params: Any) -> None:
        """Refuse (``ValueError``) parameter values that are each in range but do not fit
        together; called before anything is built."""

    def init(self, sim: Any) -> None:
        """Called once after the population, network and buffers exist."""

    def yearly(self, sim: Any) -> None:
        """Called in January of every simulated year, just before ``step``."""

    def step(self, sim: Any) -> None:
        """Called every month in registry order."""

    @classmethod
    def runs_monthly(cls) -> bool:
        """True when the mechanism has a ``step`` or ``yearly`` hook (it is a stage of the loop)."""
        return cls.step is not Mechanism.step or cls.yearly is not Mechanism.yearly

    def __repr__(self) -> str:
        return f"<mechanism {self.name}>"


def check_registry(mechanisms: list[Mechanism] | tuple[Mechanism, ...]) -> None:
    """Refuse a registry with unnamed or repeated mechanisms, or clashing declarations."""
    seen: dict[str, str] = {}
    for m in mechanisms:
        if not isinstance(m, Mechanism):
            raise TypeError(f"{m!r} is not a Mechanism (subclass sim.core.mechanism.Mechanism)")
        if not m.name:
            raise ValueError(f"{type(m).__name__} has no name")
        kinds = (
            [("mechanism", m.name)]
            + [("parameter", p.name) for p in m.params]
            + [("state", f.name) for f in m.person_state + m.household_state + m.buffers]
            + [("indicator", r.name) for r in m.results]
        )
        for kind, name in kinds:
            key = f"{kind}:{name}"
            if key in seen:
                raise ValueError(f"{kind} '{name}' declared by both {seen[key]} and {m.name}")
            seen[key] = m.name
