"""Dated policy documents (``sim/data/policies.toml``) and the controls on movement they ended.

History enters the model through exogenous series and dated policies, never through a
preference that drifts (issue 12). Each document has an issuer, a title, a date, the model year
from which it counts (``effective_year``) and the policy parameters (levers) it moves. A policy
parameter's yearly path may change value only in the effective year of a document that names it,
or in a year of the document's ``reviews`` span: the periodic reviews it requires, whose
published outcome is a yearly series (the minimum-wage standards under the 2004 Provisions;
``tests/test_policies.py``).

The controls on movement are constant utility costs, each in force until the document that
ended it (``CONTROLS``): the cost of leaving home in a year is the sum of the controls still in
force, plus the ``mobility_control`` lever (0 by default, for scenarios).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

FILE = "policies.toml"

# control parameter -> id of the document that ended it (seed 1.1, 2.2)
CONTROLS = {
    "control_grain_rations": "grain_rations_ended_1993",
    "control_custody": "custody_abolished_2003",
}

_FIELDS = ("id", "date", "effective_year", "issuer", "title", "number", "source", "summary",
           "levers", "note", "reviews")
_OPTIONAL = ("note", "reviews")


@dataclass(frozen=True)
class Document:
    """One dated policy document."""

    id: str
    date: str
    effective_year: int
    issuer: str
    title: str
    number: str
    source: str
    summary: str
    levers: tuple[str, ...]
    note: str = ""
    # first and last year in which the levers follow the published outcome of the periodic
    # reviews this document requires (a yearly series), or None
    reviews: tuple[int, int] | None = None

    def dates(self, lever: str) -> set[int]:
        """Years in which this document may change ``lever``: its effective year, and every
        year of its ``reviews`` span."""
        if lever not in self.levers:
            return set()
        years = {self.effective_year}
        if self.reviews is not None:
            years |= set(range(self.reviews[0], self.reviews[1] + 1))
        return years


@cache
def documents() -> tuple[Document, ...]:
    """Every document of ``sim/data/policies.toml``, in date order."""
    text = resources.files("sim").joinpath("data", FILE).read_text(encoding="utf-8")
    rows = tomllib.loads(text)["document"]
    out = []
    for i, row in enumerate(rows):
        unknown = set(row) - set(_FIELDS)
        missing = set(_FIELDS) - set(_OPTIONAL) - set(row)
        if unknown or missing:
            raise ValueError(
                f"sim/data/{FILE}: document {i + 1} ({row.get('id', '?')}): "
                f"unknown fields {sorted(unknown)}, missing fields {sorted(missing)}"
            )
        reviews = row.get("reviews")
        if reviews is not None and (len(reviews) != 2 or reviews[0] > reviews[1]):
            raise ValueError(f"sim/data/{FILE}: document {row['id']}: reviews must be "
                             f"[first year, last year], got {reviews!r}")
        out.append(Document(**{**row, "levers": tuple(row["levers"]),
                               "reviews": tuple(reviews) if reviews is not None else None}))
    return tuple(sorted(out, key=lambda d: d.date))


def by_id(doc_id: str) -> Document:
    """The document with this id (KeyError naming the known ids otherwise)."""
    for d in documents():
        if d.id == doc_id:
            return d
    raise KeyError(f"no policy document {doc_id!r} in sim/data/{FILE}")


def control_cost(pars, year: int) -> float:
    """Utility cost of leaving home in ``year``: the controls whose ending document has not yet
    taken effect, plus the ``mobility_control`` lever."""
    cost = float(pars.mobility_control)
    for name, doc_id in CONTROLS.items():
        if year < by_id(doc_id).effective_year:
            cost += float(getattr(pars, name))
    return cost


def documents_for(lever: str) -> list[Document]:
    """Documents that move ``lever``."""
    return [d for d in documents() if lever in d.levers]
