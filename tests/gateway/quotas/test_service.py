"""Quotas and rate limits from the deciding rule, counted per partner and rule; probing
alerts once per window and, when the policy says so, blocks the partner for a while."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from gateway.audit.service import AuditLog
from gateway.errors import NotFound
from gateway.quotas.service import QuotaRefused, QuotaService
from gateway.quotas.store import QuotaStore
from policies import Policy, load_policy

T0 = datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)

POLICY = """
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "basis"}
rules:
  - id: phones
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [phone]
      subject_categories: [suspect]
      handling_codes: [H0]
      quota_per_day: 10
      rate_limit_per_minute: 3
  - id: containers
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [container]
      subject_categories: [suspect]
      handling_codes: [H0]
      quota_per_day: 100
probing:
  window_minutes: 10
  min_misses: 20
  miss_ratio: 0.9
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(engine: Engine) -> Iterator[AuditLog]:
    log = AuditLog(engine, agency="customs")
    try:
        yield log
    finally:
        log.close()


@pytest.fixture
def quotas(engine: Engine, audit: AuditLog, clock: Clock) -> QuotaService:
    return QuotaService(QuotaStore(engine), audit, "customs", clock)


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY)


def admit(quotas: QuotaService, policy: Policy, *types: str) -> None:
    quotas.admit_match(policy, "police", "organised-crime", list(types))


def test_the_daily_quota_counts_identifiers_and_renews_the_next_day(
    quotas: QuotaService, policy: Policy, clock: Clock
) -> None:
    admit(quotas, policy, *["phone"] * 6)
    admit(quotas, policy, *["phone"] * 4)
    clock.now += timedelta(minutes=1)
    with pytest.raises(QuotaRefused) as refused:
        admit(quotas, policy, "phone")
    assert refused.value.code == "quota_exceeded"
    assert refused.value.detail == (
        "quota exceeded: this request's 1 identifier(s) would pass the daily quota of 10; "
        "it renews at 00:00 UTC"
    )
    assert (refused.value.limit, refused.value.rule_id) == ("identifiers per day", "phones")
    clock.now = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
    admit(quotas, policy, "phone")


def test_the_rate_limit_counts_requests_per_minute(
    quotas: QuotaService, policy: Policy, clock: Clock
) -> None:
    for _ in range(3):
        admit(quotas, policy, "phone")
    with pytest.raises(QuotaRefused, match="at most 3 requests per minute"):
        admit(quotas, policy, "phone")
    clock.now += timedelta(seconds=30)  # 10:01:00, the next minute
    admit(quotas, policy, "phone")


def test_each_rule_counts_its_own_identifiers(quotas: QuotaService, policy: Policy) -> None:
    admit(quotas, policy, *["phone"] * 10)
    admit(quotas, policy, *["container"] * 50)  # the containers rule has its own quota
    with pytest.raises(QuotaRefused, match="daily quota of 10"):
        admit(quotas, policy, "phone", "container")


def test_a_refused_request_counts_against_nothing(
    quotas: QuotaService, policy: Policy, clock: Clock
) -> None:
    admit(quotas, policy, *["phone"] * 9)
    with pytest.raises(QuotaRefused):
        admit(quotas, policy, *["phone"] * 2)  # passes the day; must not use up the minute
    admit(quotas, policy, "phone")
    clock.now += timedelta(minutes=1)
    with pytest.raises(QuotaRefused, match="daily quota"):
        admit(quotas, policy, "phone")


def test_types_the_policy_denies_are_not_counted(quotas: QuotaService, policy: Policy) -> None:
    admit(quotas, policy, *["iban"] * 50, "phone")
    quotas.admit_match(policy, "intel", "organised-crime", ["phone"] * 50)
    admit(quotas, policy, *["phone"] * 2)


def test_a_quota_of_zero_refuses_every_identifier(quotas: QuotaService) -> None:
    zero = load_policy(POLICY.replace("quota_per_day: 10", "quota_per_day: 0"))
    with pytest.raises(QuotaRefused, match="daily quota of 0"):
        admit(quotas, zero, "phone")


def test_probing_alerts_once_per_window_when_misses_and_ratio_are_high(
    quotas: QuotaService, policy: Policy, clock: Clock
) -> None:
    assert quotas.observe_match(policy, "police", 15, 15) is None  # too few misses yet
    alert = quotas.observe_match(policy, "police", 6, 5)
    assert alert is not None
    assert (alert.checked, alert.misses, alert.window_minutes) == (21, 20, 10)
    assert alert.window_start == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert alert.blocked_until is None
    assert quotas.observe_match(policy, "police", 50, 50) is None  # already alerted
    admit(quotas, policy, "phone")  # no block: the policy only asks for alerts
    clock.now += timedelta(minutes=10)
    assert quotas.observe_match(policy, "police", 30, 30) is not None  # a new window


def test_many_misses_at_a_low_miss_ratio_raise_no_alert(
    quotas: QuotaService, policy: Policy
) -> None:
    assert quotas.observe_match(policy, "police", 100, 80) is None


def test_a_policy_with_block_minutes_blocks_the_partner_until_it_ends(
    quotas: QuotaService, clock: Clock, audit: AuditLog
) -> None:
    blocking = load_policy(POLICY + "  block_minutes: 30\n")
    alert = quotas.observe_match(blocking, "police", 20, 20)
    assert alert is not None and alert.blocked_until == T0 + timedelta(minutes=30)
    with pytest.raises(QuotaRefused, match="suspended until 2026-03-01T10:30:30Z") as refused:
        admit(quotas, blocking, "phone")
    assert refused.value.limit == "partner blocked"
    quotas.admit_match(blocking, "intel", "organised-crime", ["phone"])  # others unaffected
    clock.now += timedelta(minutes=30)
    admit(quotas, blocking, "phone")


def test_a_dpo_can_lift_a_block_and_that_is_audited(
    quotas: QuotaService, clock: Clock, audit: AuditLog
) -> None:
    blocking = load_policy(POLICY + "  block_minutes: 30\n")
    quotas.observe_match(blocking, "police", 20, 20)
    assert [b.partner for b in quotas.blocks()] == ["police"]
    quotas.unblock("police", author="dpo.anna", reason="known bulk check")
    admit(quotas, blocking, "phone")
    entry = audit.recent(1)[0]
    assert (entry["query_type"], entry["requester_user"]) == ("partner-unblock", "dpo.anna")
    assert entry["outcome"]["partner"] == "police"
    with pytest.raises(NotFound, match="partner 'police' is not blocked"):
        quotas.unblock("police", author="dpo.anna", reason="again")
