"""Wire models of the DPO's policy API (``/api/v1/policy/...``)."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict, Field

from gateway.policy_admin.dry_run import DryRunReport
from gateway.policy_admin.store import StoredVersion
from gateway.quotas.store import Block
from policies import Explanation, PolicyIssue

MAX_POLICY_TEXT = 256 * 1024
PolicyText = Field(min_length=1, max_length=MAX_POLICY_TEXT, description="The policy YAML.")
Names = list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProposedPolicy(_Strict):
    text: str = PolicyText


class ApplyRequest(_Strict):
    text: str = PolicyText
    reason: str = Field(min_length=1, max_length=2000)
    base_version: int | None = Field(
        default=None, ge=1, description="Apply only if this version is still in force."
    )


class RollbackRequest(_Strict):
    version: str = Field(min_length=1, max_length=64, description="v3, 3 or a hash prefix.")
    reason: str = Field(min_length=1, max_length=2000)


class DiffRequest(_Strict):
    text: str = PolicyText
    against: str | None = Field(default=None, max_length=64)


class DryRunRequest(_Strict):
    text: str = PolicyText
    days: int = Field(default=30, ge=1, le=366)
    examples: int = Field(default=20, ge=0, le=1000)


class ExplainRequest(_Strict):
    partner: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=128)
    identifier_types: Names = Field(default_factory=list, max_length=64)
    dataset: str | None = Field(default=None, max_length=128)
    columns: Names = Field(default_factory=list, max_length=64)
    group_by: Names = Field(default_factory=list, max_length=8)
    rho: float | None = None
    version: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=MAX_POLICY_TEXT)


class UnblockRequest(_Strict):
    reason: str = Field(min_length=1, max_length=2000)


class VersionView(_Strict):
    number: int
    label: str
    version_hash: str
    author: str
    reason: str
    action: str
    restores: int | None
    applied_at: str
    text: str | None = None

    @classmethod
    def of(cls, version: StoredVersion, *, with_text: bool = False) -> VersionView:
        return cls(
            number=version.number,
            label=version.label,
            version_hash=version.version_hash,
            author=version.author,
            reason=version.reason,
            action=version.action,
            restores=version.restores,
            applied_at=version.applied_at.isoformat(),
            text=version.text if with_text else None,
        )


class IssueView(_Strict):
    line: int | None
    path: str
    message: str

    @classmethod
    def of(cls, issue: PolicyIssue) -> IssueView:
        return cls(line=issue.line, path=issue.path, message=issue.message)


class ValidationView(_Strict):
    valid: bool
    version_hash: str | None
    problems: list[str]
    issues: list[IssueView]


class DiffView(_Strict):
    against: VersionView
    proposed_hash: str
    changes: list[str]


class RuleOutcomeView(_Strict):
    rule_id: str
    applied: bool
    reasons: list[str]


class ExplainView(_Strict):
    allowed: bool
    rule_id: str | None
    reason: str
    policy_version: str
    allowed_types: list[str]
    rules: list[RuleOutcomeView]
    text: str

    @classmethod
    def of(cls, explanation: Explanation) -> ExplainView:
        decision = explanation.decision
        return cls(
            allowed=decision.allowed,
            rule_id=decision.rule_id,
            reason=decision.reason,
            policy_version=decision.policy_version,
            allowed_types=sorted(decision.allowed_types),
            rules=[
                RuleOutcomeView(rule_id=o.rule_id, applied=o.applied, reasons=list(o.reasons))
                for o in explanation.outcomes
            ],
            text=explanation.to_text(),
        )


class GroupView(_Strict):
    partner: str
    query_type: str
    requests: int
    changed: int
    newly_allowed: int
    newly_denied: int
    rule_changed: int
    identifiers_newly_allowed: int
    identifiers_newly_denied: int


class ChangeView(_Strict):
    seq: int
    recorded_at: str
    partner: str
    purpose: str
    query_type: str
    subject: str
    before: str
    after: str


class DryRunView(_Strict):
    proposed_version: str
    since: str
    replayed: int
    changed: int
    skipped: dict[str, int]
    groups: list[GroupView]
    examples: list[ChangeView]

    @classmethod
    def of(cls, report: DryRunReport) -> DryRunView:
        return cls(
            proposed_version=report.proposed_version,
            since=report.since.isoformat(),
            replayed=report.replayed,
            changed=report.changed,
            skipped=dict(report.skipped),
            groups=[GroupView(**asdict(g)) for g in report.groups],
            examples=[
                ChangeView(**{**asdict(e), "recorded_at": e.recorded_at.isoformat()})
                for e in report.examples
            ],
        )


class BlockView(_Strict):
    partner: str
    blocked_until: int
    reason: str

    @classmethod
    def of(cls, block: Block) -> BlockView:
        return cls(partner=block.partner, blocked_until=block.blocked_until, reason=block.reason)
