"""Building and refreshing the token index from a connector's records, incrementally: a record
whose content fingerprint is unchanged is left alone, a changed one is re-tokenised, a record
gone from the source (or past its retention period) leaves the index."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connectors.records import Record
from crypto.tokens import MatchKeyring
from gateway.matching.store import MatchStore

BATCH_RECORDS = 10_000


@dataclass
class IndexSummary:
    """What one ``cordon index`` run did for one dataset."""

    dataset: str
    generation: int
    records_read: int = 0
    records_indexed: int = 0
    records_unchanged: int = 0
    records_removed: int = 0
    records_expired: int = 0
    identifiers_indexed: int = 0
    duplicate_refs: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "generation": self.generation,
            "records_read": self.records_read,
            "records_indexed": self.records_indexed,
            "records_unchanged": self.records_unchanged,
            "records_removed": self.records_removed,
            "records_expired": self.records_expired,
            "identifiers_indexed": self.identifiers_indexed,
            "duplicate_refs": self.duplicate_refs,
            "by_type": dict(sorted(self.by_type.items())),
        }


def record_fingerprint(record: Record, epochs: tuple[int, ...]) -> bytes:
    """SHA-256 over everything that decides a record's index rows (epochs included, so that a
    key rotation re-tokenises every record)."""
    parts = [
        record.record_ref,
        record.subject_category,
        record.handling_code,
        str(record.recorded_on or ""),
        ",".join(map(str, epochs)),
    ]
    parts.extend(sorted(f"{i.id_type}\x1e{i.value}" for i in record.identifiers))
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


class Indexer:
    def __init__(
        self,
        store: MatchStore,
        keyring: MatchKeyring,
        epochs: tuple[int, ...],
        clock: Callable[[], datetime],
    ) -> None:
        if not epochs:
            raise ValueError("at least one key epoch is needed")
        self._store = store
        self._keyring = keyring
        self._epochs = epochs
        self._clock = clock

    def index_dataset(
        self,
        dataset: str,
        records: Iterable[Record],
        *,
        max_age_days: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> IndexSummary:
        """Bring the index of ``dataset`` in line with ``records``."""
        generation = self._store.next_generation(dataset)
        summary = IndexSummary(dataset, generation)
        run_id = self._store.start_run(dataset, generation, self._clock())
        known = self._store.fingerprints(dataset)
        cutoff: date | None = None
        if max_age_days is not None:
            cutoff = self._clock().date() - timedelta(days=max_age_days)
        seen: set[str] = set()
        batch: list[tuple[Record, bytes]] = []
        for record in records:
            summary.records_read += 1
            if record.record_ref in seen:
                summary.duplicate_refs += 1
                continue
            if (
                cutoff is not None
                and record.recorded_on is not None
                and record.recorded_on < cutoff
            ):
                summary.records_expired += 1
                continue
            seen.add(record.record_ref)
            fingerprint = record_fingerprint(record, self._epochs)
            if known.get(record.record_ref) == fingerprint:
                summary.records_unchanged += 1
                continue
            batch.append((record, fingerprint))
            if len(batch) >= BATCH_RECORDS:
                self._write(dataset, generation, batch, known, summary)
                batch = []
            if progress is not None and summary.records_read % 1000 == 0:
                progress(summary.records_read)
        if batch:
            self._write(dataset, generation, batch, known, summary)
        gone = [ref for ref in known if ref not in seen]
        summary.records_removed = self._store.remove_records(dataset, gone)
        if progress is not None:
            progress(summary.records_read)
        self._store.finish_run(run_id, self._clock(), summary.as_dict())
        return summary

    def _write(
        self,
        dataset: str,
        generation: int,
        batch: list[tuple[Record, bytes]],
        known: dict[str, bytes],
        summary: IndexSummary,
    ) -> None:
        token_rows: list[tuple[Any, ...]] = []
        fingerprint_rows: list[tuple[Any, ...]] = []
        was_indexed: list[str] = []
        token_of = self._keyring.token_bytes
        by_type = summary.by_type
        for record, fingerprint in batch:
            ref = record.record_ref
            if ref in known:
                was_indexed.append(ref)
            tail = (dataset, ref, record.subject_category, record.handling_code, record.recorded_on)
            for ident in record.identifiers:
                by_type[ident.id_type] = by_type.get(ident.id_type, 0) + 1
                for epoch in self._epochs:
                    token_rows.append(
                        (token_of(ident.id_type, epoch, ident.value), epoch, ident.id_type, *tail)
                    )
            summary.identifiers_indexed += len(record.identifiers)
            fingerprint_rows.append((dataset, ref, fingerprint, generation))
        with self._store.engine.begin() as conn:
            self._store.replace_records(conn, dataset, was_indexed, token_rows, fingerprint_rows)
        summary.records_indexed += len(batch)
