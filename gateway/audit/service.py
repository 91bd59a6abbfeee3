"""The audit log service every capability appends to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from gateway.audit.schemas import AuditEvent
from gateway.audit.store import AuditStore


class AuditLog:
    """Append-only log of every request the node saw or made."""

    def __init__(self, engine: Engine) -> None:
        self._store = AuditStore(engine)

    def append(self, event: AuditEvent) -> int:
        """Durably append ``event``; returns its sequence number once committed."""
        return self._store.append(event)

    def recent(self, limit: int = 100) -> Sequence[dict[str, Any]]:
        return self._store.recent(limit)
