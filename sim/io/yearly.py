"""Yearly values from monthly ones: flows summed over the year, everything else at December.

One rule, two faces: :func:`annual` for a run's monthly series (arrays, whole years) and
:func:`yearly_frame` for tidy tables of runs (the last recorded month of each year).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# indicators counted per month and summed over a year; all others are stocks or shares
FLOW_INDICATORS = (
    "outflow",
    "returnflow",
    "onflow",
    "exitflow",
    "hukou_conversions",
    "new_entrants",
    "labour_force_leavers",
    "new_entrants_net",
    "entrants_unplaced",
    "remittances_rmb",
)


def is_flow(indicator: str) -> bool:
    """Whether an indicator is a flow (summed over the year)."""
    return indicator in FLOW_INDICATORS


def annual(values: np.ndarray, indicator: str, flow: bool | None = None) -> np.ndarray:
    """Yearly values of one monthly series starting in January: the year's sum for a flow,
    otherwise the value of the year's last recorded month (December, or the month a count is
    taken in, as ``couples_apart`` in January; NaN for a year with none), as
    :func:`yearly_frame` and ``Results.summary`` read them (whole years only). ``flow``
    overrides the lookup by name (for indicators of added mechanisms)."""
    v = np.asarray(values)
    v = v[: v.size // 12 * 12].reshape(-1, 12)
    if is_flow(indicator) if flow is None else flow:
        return v.sum(axis=1)
    seen = ~np.isnan(v)
    last = 11 - np.argmax(seen[:, ::-1], axis=1)
    return np.where(seen.any(axis=1), v[np.arange(v.shape[0]), last], np.nan)


def yearly_frame(frame, keys: Sequence[str]):
    """Tidy monthly table (``keys``, year, month, indicator, group, value) as a yearly one
    (``month`` dropped): flows summed over the year, other indicators at the year's last
    recorded month. A frame without ``month`` is returned as is."""
    import pandas as pd

    if "month" not in frame.columns:
        return frame
    if frame.empty:
        return frame.drop(columns="month").reset_index(drop=True)
    keys = [*keys, "year", "indicator", "group"]
    flow = frame["indicator"].isin(FLOW_INDICATORS)
    parts = []
    if flow.any():
        parts.append(frame[flow].groupby(keys, sort=False, observed=True)["value"].sum()
                     .reset_index())
    if (~flow).any():
        last = frame[~flow].sort_values("month", kind="stable")
        parts.append(last.groupby(keys, sort=False, observed=True)["value"].last()
                     .reset_index())
    out = pd.concat(parts, ignore_index=True)
    for c in ("indicator", "group", "scenario"):
        if c in out.columns:
            out[c] = out[c].astype(str)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


__all__ = ["FLOW_INDICATORS", "annual", "is_flow", "yearly_frame"]
