"""What one audit entry says. Never a raw identifier: identifier types and counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["peer", "local", "outbound", "admin"]
Decision = Literal["allowed", "denied", "failed", "partial"]


@dataclass(frozen=True)
class AuditEvent:
    """One request as the auditor sees it.

    ``channel`` says where it came from: ``peer`` (a partner asked this node), ``outbound``
    (this node asked a partner on behalf of a local user), ``local`` (a local user's own
    request), ``admin`` (a policy or configuration change).
    """

    channel: Channel
    requester_agency: str
    requester_user: str
    query_type: str
    decision: Decision
    recorded_at: datetime
    responder_agency: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    identifier_types: dict[str, int] = field(default_factory=dict)
    rule_id: str | None = None
    policy_version: str | None = None
    rho_charged: float | None = None
    latency_ms: float | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)

    @property
    def identifier_count(self) -> int:
        return sum(self.identifier_types.values())
