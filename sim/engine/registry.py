"""The ordered registry of mechanisms from which the simulation loop is built.

The order is the step order of every month (``STEP_ORDER`` lists the stages that run each month;
``population`` and ``network`` are built once). The same registry gives the parameter schema
(:func:`schema`), ``migsim params``, the app's sliders, the calibration search space and the
step-order table of ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sim.core.mechanism import Mechanism, check_registry
from sim.core.params import Param, ParamSet, schema_of
from sim.engine import yearly
from sim.engine.record import Record
from sim.engine.yearly import Year
from sim.mechanisms.decisions import Decisions
from sim.mechanisms.demography import Demography
from sim.mechanisms.demography.life_course import LifeCourse
from sim.mechanisms.elders import Elders
from sim.mechanisms.enterprise import Enterprise, Savings
from sim.mechanisms.household import Household
from sim.mechanisms.hukou import Hukou
from sim.mechanisms.inspection import Inspection
from sim.mechanisms.insurance import Insurance
from sim.mechanisms.labour import Labour, Matching
from sim.mechanisms.network import Contacts
from sim.mechanisms.policy import Policy
from sim.mechanisms.population import Population
from sim.mechanisms.returns import Returns
from sim.mechanisms.rural import RuralReserve
from sim.mechanisms.rural_offfarm import RuralOffFarm
from sim.mechanisms.self_employment import SelfEmployment
from sim.mechanisms.wages import Pay
from sim.mechanisms.work_safety import WorkSafety

REGISTRY: tuple[type[Mechanism], ...] = (
    Population,
    Contacts,
    Demography,
    LifeCourse,
    Year,
    Policy,
    Elders,
    Returns,
    Hukou,
    Labour,
    Household,
    RuralOffFarm,
    Enterprise,
    RuralReserve,
    Decisions,
    Matching,
    Pay,
    WorkSafety,
    Insurance,
    Inspection,
    Savings,
    SelfEmployment,
    Record,
)
STEP_ORDER: tuple[str, ...] = tuple(m.name for m in REGISTRY if m.runs_monthly())


def build(extra: Iterable[Mechanism] = ()) -> list[Mechanism]:
    """The model's mechanisms in step order, with ``extra`` ones inserted: after the stage
    named by their ``after`` attribute, or else just before ``record`` (so that what they
    record is recorded the same month)."""
    mechs: list[Mechanism] = [cls() for cls in REGISTRY]
    for m in extra:
        if isinstance(m, type):
            m = m()
        names = [x.name for x in mechs]
        after = getattr(m, "after", None)  # Mechanism.after
        if after is None:
            pos = names.index("record")
        elif after in names:
            pos = names.index(after) + 1
        else:
            raise ValueError(
                f"mechanism {getattr(m, 'name', m)!r}: after = {after!r} names no stage "
                f"(stages: {', '.join(names)})"
            )
        mechs.insert(pos, m)
    check_registry(mechs)
    return mechs


def _module_of(m: Mechanism) -> str:
    return type(m).__module__.rsplit(".", 1)[-1]


def schema_for(mechanisms: Sequence[Mechanism]) -> dict[str, Param]:
    """Parameter schema of ``mechanisms``; each parameter names the module declaring it."""
    sch = schema_of(mechanisms)
    owner = {p.name: _module_of(m) for m in mechanisms for p in m.params}
    return {k: Param(**{**p.__dict__, "module": owner[k]}) for k, p in sch.items()}


_DEFAULT: dict[str, Param] | None = None


def schema(extra: Iterable[Mechanism] = ()) -> dict[str, Param]:
    """All parameters of the model (plus those of ``extra`` mechanisms), in step order."""
    global _DEFAULT
    extra = list(extra)
    if extra:
        return schema_for(build(extra))
    if _DEFAULT is None:
        _DEFAULT = schema_for(build())
    return _DEFAULT


def by_role(role: str, extra: Iterable[Mechanism] = ()) -> dict[str, Param]:
    """Parameters of one role (``policy``, ``behaviour``, ``exogenous``, ``structural``)."""
    return {k: p for k, p in schema(extra).items() if p.role == role}


class Params(ParamSet):
    """Resolved parameter values of the model's registry; unknown names and out-of-range values
    are refused (``Params({"hukou_penalty_small": 0.5})``)."""

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        where: str = "",
        schema: Mapping[str, Param] | None = None,
    ):
        super().__init__(overrides, where, schema if schema is not None else globals()["schema"]())

    def places(self):
        """Provinces, tiers and cities of the geography; ``sim.engine.yearly.PLACE_PARAMS``."""
        from sim.core.geography import load_geography

        return yearly.place_names(load_geography()), yearly.place_params()

    def place_problem(self, kind: str, place: str, name: str) -> str | None:
        from sim.core.geography import load_geography

        return yearly.place_problem(load_geography(), kind, place, name)
