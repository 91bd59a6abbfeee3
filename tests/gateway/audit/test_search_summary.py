"""What auditors ask of the log: filtered, paginated search over the signed documents, and
summary figures per partner and period with exact counts, budget and percentiles."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from gateway.audit.search import EntryFilter, search
from gateway.audit.service import AuditLog
from gateway.audit.summary import contributions, percentile, summarise
from tests.gateway.audit.conftest import START, event, fill


def test_filters_select_exactly_the_matching_entries(audit_log: AuditLog) -> None:
    fill(audit_log, 30)
    found, cursor = search(
        audit_log.store, EntryFilter(partner="intel", decision="allowed", case_reference="CASE-1")
    )
    expected = [i + 1 for i in range(30) if i % 2 == 1 and i % 7 and i % 3 == 1]
    assert [e["seq"] for e in found] == expected and cursor is None
    window = EntryFilter(since=START + timedelta(minutes=10), until=START + timedelta(minutes=12))
    assert [e["seq"] for e in search(audit_log.store, window)[0]] == [11, 12]


def test_pages_follow_each_other_without_gaps_or_repeats(audit_log: AuditLog) -> None:
    fill(audit_log, 23)
    seen, cursor = [], 0
    while cursor is not None:
        page, cursor = search(audit_log.store, EntryFilter(), after_seq=cursor, limit=5)
        seen += [e["seq"] for e in page]
    assert seen == list(range(1, 24))


def test_a_fanned_out_search_is_found_under_each_partner_it_asked(audit_log: AuditLog) -> None:
    audit_log.append(
        event(
            1,
            channel="local",
            requester_agency="police",
            query_type="search",
            outcome={
                "peers": {"customs": {"status": "ok", "hits": 1}, "intel": {"status": "denied"}}
            },
        )
    )
    for partner in ("customs", "intel"):
        assert len(search(audit_log.store, EntryFilter(partner=partner))[0]) == 1
    assert search(audit_log.store, EntryFilter(partner="border"))[0] == []


def test_summary_counts_queries_denials_hits_budget_and_latency_per_partner() -> None:
    docs = [
        {"time": "2026-03-01T08:00:00.000000Z", "requester_agency": "customs",
         "decision": "allowed", "rho_charged": "0.1", "latency_ms": "10.0",
         "outcome": {"hits": 2}},
        {"time": "2026-03-02T08:00:00.000000Z", "requester_agency": "customs",
         "decision": "denied", "rho_charged": "0.2", "latency_ms": "30.0", "outcome": {}},
        {"time": "2026-04-01T08:00:00.000000Z", "requester_agency": "customs",
         "decision": "allowed", "rho_charged": None, "latency_ms": "20.0",
         "outcome": {"hits": 1}},
        {"time": "2026-03-03T08:00:00.000000Z", "requester_agency": "police",
         "responder_agency": None, "decision": "allowed", "latency_ms": "99.0",
         "outcome": {"peers": {"customs": {"status": "ok", "hits": 3, "latency_ms": 40.5},
                               "intel": "timeout"}}},
    ]  # fmt: skip
    rows = summarise(docs, "police", "month")
    by_key = {(r["partner"], r["direction"], r["period"]): r for r in rows}
    march = by_key[("customs", "inbound", "2026-03")]
    assert (march["queries"], march["denied"], march["hits"]) == (2, 1, 2)
    assert march["rho_spent"] == "0.3"
    assert (march["latency_p50_ms"], march["latency_p99_ms"]) == (10.0, 30.0)
    assert by_key[("customs", "inbound", "2026-04")]["queries"] == 1
    outbound = by_key[("customs", "outbound", "2026-03")]
    assert (outbound["hits"], outbound["latency_p50_ms"]) == (3, 40.5)
    assert by_key[("intel", "outbound", "2026-03")]["failed"] == 1
    assert [r["partner"] for r in summarise(docs, "police", "all", "intel")] == ["intel"]


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99)) == (50.0, 99.0)
    assert percentile([], 50) is None


def test_a_single_partner_request_carries_its_rho_to_that_partner() -> None:
    doc = {"requester_agency": "police", "decision": "allowed", "rho_charged": "0.5",
           "outcome": {"peers": {"customs": "ok"}}}  # fmt: skip
    (only,) = contributions(doc, "police")
    assert (only.partner, only.rho) == ("customs", Decimal("0.5"))
