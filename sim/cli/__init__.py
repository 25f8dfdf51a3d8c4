"""Command line: ``migsim run | params | mechanisms | scenarios | compare | validate | batch |
calibrate | dock | --version``.

One module per group of commands, each command a plain function registered here on the one
Typer ``app`` of :mod:`sim.cli.common`, in the order the help lists them.
"""

from __future__ import annotations

from sim.cli import analysis, batch, calibrate, dock, listing, run
from sim.cli.common import app
from sim.cli.listing import fmt_value

for _command in (run.run, listing.params, listing.mechanisms, listing.scenarios,
                 analysis.compare, analysis.validate, batch.batch, calibrate.calibrate,
                 dock.dock):
    app.command()(_command)

__all__ = ["app", "fmt_value"]
