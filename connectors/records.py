"""The canonical record a connector yields, and the report of what a load rejected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Identifier:
    """One canonicalised identifier of a record. ``value`` is the canonical form: it never
    leaves the node; only its token does."""

    id_type: str
    value: str


@dataclass(frozen=True, slots=True)
class Record:
    """One agency record in canonical form.

    ``record_ref`` is opaque and local: it is never sent to partners unless a disclosure
    names it. ``attributes`` hold the typed values aggregates may use.
    """

    dataset: str
    record_ref: str
    identifiers: tuple[Identifier, ...]
    attributes: dict[str, str | int | None]
    subject_category: str
    handling_code: str
    recorded_on: date | None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A source row (or one field of it) that failed validation; ``row`` is the 1-based
    source position, ``field`` the mapped column. Never carries the raw value."""

    dataset: str
    row: int
    field: str
    reason: str


@dataclass
class LoadReport:
    """What a load read, produced and rejected, with rejections counted by reason."""

    dataset: str
    rows_read: int = 0
    records: int = 0
    identifiers: int = 0
    rows_rejected: int = 0
    fields_rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[Rejection] = field(default_factory=list)
    max_examples: int = 20

    def reject(self, rejection: Rejection, *, whole_row: bool) -> None:
        if whole_row:
            self.rows_rejected += 1
        else:
            self.fields_rejected += 1
        self.reasons[f"{rejection.field}: {rejection.reason}"] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(rejection)
