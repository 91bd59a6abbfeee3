"""The policy in force: the latest version stored in the node database.

The database, not the file, is the source of truth. The policy file named in ``node.yaml`` is
a convenience for the first version: when the database holds no version yet, the file is
checked and stored as version 1. After that the file is never applied on its own — a change
needs an author and a reason (``cordon policy apply``) — and a file that differs from the
version in force only earns a warning at start.

Every call to :meth:`PolicySource.current` asks the database which version is the latest (one
primary-key lookup) and re-reads the text only when it changed, so every process sharing the
database decides with the version applied last, without a restart. Loading fails closed: a
stored version that does not fit this node (a partner that left the federation) is never put in
force; the node refuses to start (``build_node`` asks for the current policy), or a running
node refuses requests, until a fitting version is applied with ``cordon policy apply``, which
works without the version in force.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.errors import ConfigError
from gateway.policy_admin.store import PolicyVersionStore, StoredVersion, VersionConflict
from policies import Policy, PolicyError, check_policy, load_policy

log = logging.getLogger(__name__)

FILE_AUTHOR = "policy file"


class PolicySource:
    def __init__(
        self,
        engine: Engine,
        path: Path,
        *,
        agency: str,
        partners: Collection[str],
        identifier_types: Collection[str],
        audit: AuditLog,
        clock: Callable[[], datetime],
        refresh_seconds: float = 0.0,
    ) -> None:
        self._path = path
        self._agency = agency
        self._partners = tuple(partners)
        self._types = tuple(identifier_types)
        self._audit = audit
        self._clock = clock
        self._refresh = refresh_seconds
        self.store = PolicyVersionStore(engine)
        self._lock = threading.Lock()
        self._cached: tuple[int, Policy] | None = None
        self._checked_at = float("-inf")
        self._store_first_version()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def partners(self) -> tuple[str, ...]:
        return self._partners

    def load_text(self, text: str, *, source: str | None = None) -> Policy:
        """Parse and check ``text`` for this node; PolicyError lists every problem with its
        line, ConfigError says when the policy is written for another node."""
        source = source or str(self._path)
        policy = load_policy(text, source=source)
        issues = check_policy(policy, partners=self._partners, identifier_types=self._types)
        if issues:
            raise PolicyError(issues, source=source)
        if policy.node != self._agency:
            raise ConfigError(
                f"{source}: policy is written for node '{policy.node}', "
                f"this node is '{self._agency}'"
            )
        return policy

    def current(self) -> Policy:
        """The policy in force now (fails closed with ConfigError)."""
        return self._in_force()[1]

    def current_number(self) -> int:
        return self._in_force()[0]

    def read_file(self) -> str:
        try:
            return self._path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read policy {self._path}: {exc}") from exc

    def file_differs(self) -> bool:
        """Whether the policy file means something else than the version in force."""
        try:
            text = self.read_file()
            return load_policy(text).version_hash != self.current().version_hash
        except (ConfigError, PolicyError):
            return True

    def _in_force(self) -> tuple[int, Policy]:
        now = time.monotonic()
        cached = self._cached
        if cached is not None and now - self._checked_at < self._refresh:
            return cached
        ref = self.store.latest_ref()  # outside the lock: concurrent requests do not queue
        if ref is None:
            raise ConfigError("the node database holds no policy version")
        with self._lock:
            # Version numbers only grow; another thread may already hold a newer one.
            if self._cached is None or self._cached[0] < ref.number:
                self._cached = (ref.number, self._load_version(ref.number))
            self._checked_at = now
            return self._cached

    def _load_version(self, number: int) -> Policy:
        version = self.store.get(number)
        if version is None:  # pragma: no cover - versions are never deleted
            raise ConfigError(f"policy version {number} disappeared from the database")
        try:
            return self.load_text(version.text, source=f"policy v{number}")
        except PolicyError as exc:
            raise ConfigError(
                f"policy v{number} in force does not fit this node:\n{exc}\n"
                "apply a corrected policy with 'cordon policy apply FILE'"
            ) from exc

    def _store_first_version(self) -> None:
        if self.store.latest_ref() is not None:
            if self.file_differs():
                log.warning(
                    "policy file %s differs from the version in force; it is not applied "
                    "on its own: review it with 'cordon policy diff' and apply it with "
                    "'cordon policy apply'",
                    self._path,
                )
            return
        text = self.read_file()
        policy = self.load_text(text)
        try:
            version = self.store.append(
                expected_latest=None,
                version_hash=policy.version_hash,
                text=text,
                author=FILE_AUTHOR,
                reason=f"first version, from {self._path.name}",
                action="initial",
                restores=None,
                applied_at=self._clock(),
            )
        except VersionConflict:
            return  # another process sharing the database stored the first version
        self._audit.append(version_event(version, self._agency, previous=None))


def version_event(
    version: StoredVersion, agency: str, *, previous: StoredVersion | None, changes: int = 0
) -> AuditEvent:
    """The audit entry of a new policy version."""
    return AuditEvent(
        channel="admin",
        requester_agency=agency,
        requester_user=version.author,
        query_type="policy-rollback" if version.action == "rollback" else "policy-apply",
        decision="allowed",
        recorded_at=version.applied_at,
        policy_version=version.version_hash,
        outcome={
            "version": version.number,
            "action": version.action,
            "reason": version.reason,
            "restores": version.restores,
            "previous_version": previous.number if previous else None,
            "previous_hash": previous.version_hash if previous else None,
            "changes": changes,
        },
    )
