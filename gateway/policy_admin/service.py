"""The data-protection officer's work on the node's policy: validate, explain, diff, dry-run,
apply, roll back, and read the versions. Every applied version is stored with its author,
time and reason, and every change (or refused change) is itself an audit entry.

    CordonError
    └── BadRequest
        └── InvalidPolicy   the proposed text cannot be put in force; ``issues`` says why
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.errors import BadRequest, ConfigError, NotFound
from gateway.policy_admin.dry_run import DryRunReport, Replayer
from gateway.policy_admin.store import StoredVersion, VersionConflict
from gateway.policy_source import PolicySource, version_event
from policies import (
    AggregateRequest,
    Explanation,
    MatchRequest,
    Policy,
    PolicyError,
    PolicyIssue,
    diff_policies,
    explain,
    load_policy,
)

MAX_AUTHOR = 128
MAX_REASON = 2000
MAX_DRY_RUN_DAYS = 366
_NUMBER = re.compile(r"^v?(\d{1,9})$")
_HASH_PREFIX = re.compile(r"^[0-9a-f]{6,64}$")


class InvalidPolicy(BadRequest):
    """The proposed policy cannot be put in force; ``issues`` lists every problem."""

    code = "invalid_policy"

    def __init__(self, detail: str, issues: list[PolicyIssue] | None = None) -> None:
        super().__init__(detail)
        self.issues = issues or []


@dataclass(frozen=True)
class Validation:
    """The result of checking a proposed text: the policy, or every problem with it."""

    policy: Policy | None
    problems: list[str] = field(default_factory=list)
    issues: list[PolicyIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.policy is not None


@dataclass(frozen=True)
class PolicyDiff:
    base: StoredVersion
    proposed_hash: str
    changes: list[str]


class PolicyAdmin:
    def __init__(
        self,
        source: PolicySource,
        audit: AuditLog,
        agency: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._source = source
        self._store = source.store
        self._audit = audit
        self._agency = agency
        self._clock = clock

    @property
    def policy_file(self) -> Path:
        """The node's policy file (the source of the first version only)."""
        return self._source.path

    # --- reading ---

    def current(self) -> StoredVersion:
        return self.version(None)

    def version(self, ref: str | int | None) -> StoredVersion:
        """A stored version by number (``3`` or ``v3``) or hash prefix; ``None``: in force."""
        if ref is None:
            latest = self._store.latest()
            if latest is None:
                raise NotFound("the node database holds no policy version yet")
            return latest
        text = str(ref).strip().lower()
        number = _NUMBER.match(text)
        if number:
            version = self._store.get(int(number.group(1)))
            if version is None:
                raise NotFound(f"there is no policy version {ref!r}; {self._range()}")
            return version
        if not _HASH_PREFIX.match(text):
            raise BadRequest(
                f"{ref!r} is not a policy version: give its number (v3 or 3) or at least "
                "6 characters of its hash"
            )
        found = self._store.by_hash_prefix(text)
        if not found:
            raise NotFound(f"no policy version has a hash starting {text!r}; {self._range()}")
        if len({v.version_hash for v in found}) > 1:
            raise BadRequest(f"hash prefix {text!r} fits several versions; give more characters")
        return found[0]

    def history(self, limit: int = 50) -> list[StoredVersion]:
        return self._store.history(max(1, min(limit, 1000)))

    def _range(self) -> str:
        latest = self._store.latest_ref()
        if latest is None:
            return "no version is stored yet"
        return f"versions run from v1 to v{latest.number} (see 'cordon policy history')"

    # --- checking ---

    def validate(self, text: str, *, source: str = "proposed policy") -> Validation:
        try:
            return Validation(self._source.load_text(text, source=source))
        except PolicyError as exc:
            return Validation(None, [i.format(source) for i in exc.issues], exc.issues)
        except ConfigError as exc:
            return Validation(None, [exc.detail])

    def check(self, text: str, *, source: str = "proposed policy") -> Policy:
        """The policy ``text`` means, checked for this node; InvalidPolicy otherwise."""
        validation = self.validate(text, source=source)
        if validation.policy is None:
            raise InvalidPolicy("\n".join(validation.problems), validation.issues)
        return validation.policy

    def policy_of(self, version: StoredVersion) -> Policy:
        # A stored version was checked when it was applied; read it as it was.
        return load_policy(version.text, source=f"policy {version.label}")

    def diff(
        self, text: str, *, against: str | None = None, source: str = "proposed policy"
    ) -> PolicyDiff:
        proposed = self.check(text, source=source)
        base = self.version(against)
        changes = diff_policies(self.policy_of(base), proposed)
        return PolicyDiff(base, proposed.version_hash, changes)

    def explain(
        self,
        request: MatchRequest | AggregateRequest,
        *,
        text: str | None = None,
        version: str | None = None,
        source: str = "proposed policy",
    ) -> Explanation:
        if text is not None and version is not None:
            raise BadRequest("explain against a proposed text or a stored version, not both")
        if text is not None:
            return explain(self.check(text, source=source), request)
        return explain(self.policy_of(self.version(version)), request)

    def dry_run(
        self, text: str, *, days: int = 30, examples: int = 20, source: str = "proposed policy"
    ) -> DryRunReport:
        if not 1 <= days <= MAX_DRY_RUN_DAYS:
            raise BadRequest(f"days must be between 1 and {MAX_DRY_RUN_DAYS}, got {days}")
        if not 0 <= examples <= 1000:
            raise BadRequest(f"examples must be between 0 and 1000, got {examples}")
        proposed = self.check(text, source=source)
        since = self._clock() - timedelta(days=days)
        replayer = Replayer(proposed, self._store.all_versions(), load_policy, examples=examples)
        return replayer.run(self._store.peer_requests_since(since), since)

    # --- changing ---

    def apply(
        self,
        text: str,
        *,
        author: str,
        reason: str,
        base_version: int | None = None,
        source: str = "proposed policy",
    ) -> StoredVersion:
        """Put ``text`` in force as the next version. With ``base_version``, only if that
        version is still the one in force (so a change reviewed against it is not applied
        over someone else's)."""
        author, reason = _who_and_why(author, reason)
        try:
            proposed = self.check(text, source=source)
        except InvalidPolicy as exc:
            self._audit_refusal("policy-apply", author, reason, exc.detail)
            raise
        current = self.current()
        if base_version is not None and current.number != base_version:
            raise BadRequest(
                f"{current.label} is in force now, not v{base_version}: another version was "
                f"applied meanwhile; review the diff against {current.label} and apply again"
            )
        if proposed.version_hash == current.version_hash:
            raise BadRequest(
                f"nothing to apply: {source} means the same as {current.label} in force "
                f"(version hash {current.version_hash[:12]})"
            )
        return self._store_version(text, proposed, current, author, reason, "apply", None)

    def rollback(self, ref: str, *, author: str, reason: str) -> StoredVersion:
        """Put an earlier version's text back in force, as a new version."""
        author, reason = _who_and_why(author, reason)
        target = self.version(ref)
        current = self.current()
        if target.version_hash == current.version_hash:
            raise BadRequest(
                f"{target.label} means the same as {current.label} in force; nothing to roll back"
            )
        try:
            restored = self.check(target.text, source=f"policy {target.label}")
        except InvalidPolicy as exc:
            self._audit_refusal("policy-rollback", author, reason, exc.detail)
            raise InvalidPolicy(
                f"{target.label} cannot be put back in force:\n{exc.detail}", exc.issues
            ) from exc
        return self._store_version(
            target.text, restored, current, author, reason, "rollback", target.number
        )

    def _store_version(
        self,
        text: str,
        policy: Policy,
        current: StoredVersion,
        author: str,
        reason: str,
        action: str,
        restores: int | None,
    ) -> StoredVersion:
        try:
            version = self._store.append(
                expected_latest=current.number,
                version_hash=policy.version_hash,
                text=text,
                author=author,
                reason=reason,
                action="rollback" if action == "rollback" else "apply",
                restores=restores,
                applied_at=self._clock(),
            )
        except VersionConflict as exc:
            raise BadRequest(
                "another version was applied at the same moment; review the history and try again"
            ) from exc
        changes = len(diff_policies(self.policy_of(current), policy))
        self._audit.append(version_event(version, self._agency, previous=current, changes=changes))
        return version

    def _audit_refusal(self, query_type: str, author: str, reason: str, detail: str) -> None:
        self._audit.append(
            AuditEvent(
                channel="admin",
                requester_agency=self._agency,
                requester_user=author,
                query_type=query_type,
                decision="failed",
                recorded_at=self._clock(),
                outcome={"reason": reason, "refused": detail[:1000]},
            )
        )


def explain_request(
    partner: str,
    purpose: str,
    *,
    types: list[str] | None = None,
    dataset: str | None = None,
    columns: list[str] | None = None,
    group_by: list[str] | None = None,
    rho: float | None = None,
) -> MatchRequest | AggregateRequest:
    """The request to explain, from what the DPO typed; BadRequest says what is missing."""
    types, columns, group_by = types or [], columns or [], group_by or []
    aggregate_parts = bool(columns or group_by or rho is not None)
    if types and aggregate_parts:
        raise BadRequest(
            "give identifier types for a match request, or columns and rho for an aggregate "
            "request, not both"
        )
    if types:
        return MatchRequest(partner, purpose, tuple(dict.fromkeys(types)), dataset)
    if dataset is None:
        raise BadRequest(
            "say what is asked: identifier types for a match request (--types phone,iban), "
            "or a dataset with columns and rho for an aggregate request "
            "(--dataset seizures --columns port,quantity_kg --rho 0.05)"
        )
    if rho is None:
        raise BadRequest(
            f"an aggregate request on {dataset!r} needs rho, the privacy loss asked for "
            "(--rho 0.05)"
        )
    used = tuple(dict.fromkeys([*columns, *group_by]))
    return AggregateRequest(partner, purpose, dataset, used, tuple(group_by), rho)


def _who_and_why(author: str, reason: str) -> tuple[str, str]:
    author, reason = author.strip(), reason.strip()
    if not author or len(author) > MAX_AUTHOR:
        raise BadRequest(f"the author must be named (1-{MAX_AUTHOR} characters)")
    if not reason:
        raise BadRequest("a reason is required: say why the policy changes (it is kept with it)")
    if len(reason) > MAX_REASON:
        raise BadRequest(f"the reason is longer than {MAX_REASON} characters")
    return author, reason
