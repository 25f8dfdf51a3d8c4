"""``python -m sim.cli``: the ``migsim`` command."""

from sim.cli import app

app()
