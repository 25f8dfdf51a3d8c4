"""Errors of the experiments layer: batches that cannot run, batches that cannot be compared."""

from __future__ import annotations


class BatchError(ValueError):
    """A batch that cannot be planned or started (bad scenario, parameter, design, directory)."""


class ReportError(ValueError):
    """A batch that cannot be compared (no runs, unknown baseline or indicator, ...)."""


__all__ = ["BatchError", "ReportError"]
