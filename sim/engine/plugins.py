"""Mechanisms from outside the package, named ``module:Name`` or ``path/to/file.py:Name``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from sim.core.mechanism import Mechanism
from sim.core.params import closest


class PluginError(ValueError):
    """A ``--mechanism`` specification that cannot be loaded."""


def load_mechanism(spec: str) -> Mechanism:
    """The mechanism ``Name`` of ``module`` (an importable module or a ``.py`` file), as an
    instance (a class is instantiated without arguments)."""
    if ":" not in spec:
        raise PluginError(f"--mechanism expects module:Name or file.py:Name, got {spec!r}")
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise PluginError(f"--mechanism {spec}: no file {path}")
        mod_name = f"_migsim_plugin_{path.stem}"
        loader = importlib.util.spec_from_file_location(mod_name, path)
        if loader is None or loader.loader is None:
            raise PluginError(f"--mechanism {spec}: cannot import {path}")
        module = importlib.util.module_from_spec(loader)
        sys.modules[mod_name] = module
        loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise PluginError(f"--mechanism {spec}: cannot import module {where!r} ({e})") from None
    obj = getattr(module, name, None)
    if obj is None:
        found = [k for k, v in vars(module).items()
                 if isinstance(v, type) and issubclass(v, Mechanism) and v is not Mechanism]
        hint = closest(name, found)
        raise PluginError(
            f"--mechanism {spec}: {where} has no {name!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
            + (f" (mechanisms there: {', '.join(found)})" if found else "")
        )
    if isinstance(obj, type) and issubclass(obj, Mechanism):
        obj = obj()
    if not isinstance(obj, Mechanism):
        raise PluginError(f"--mechanism {spec}: {name} is not a sim.Mechanism subclass")
    return obj
