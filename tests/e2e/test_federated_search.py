"""Federated search across three real nodes over mutual TLS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from gateway.audit.store import audit_entries
from gateway.demo.cluster import Cluster
from tests.e2e.conftest import (
    CONTAINER,
    HIDDEN_PHONE,
    IBAN,
    MINOR_PHONE,
    SHARED_PHONE,
    UNKNOWN_PHONE,
    VESSEL,
)


def search(
    cluster: Cluster, by: str, identifiers: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    body = {
        "purpose": "organised-crime",
        "case_reference": "CASE-1",
        "identifiers": identifiers,
        **extra,
    }
    with cluster.nodes[by].client() as client:
        response = client.post("/api/v1/search", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def outcome(answer: dict[str, Any], index: int, peer: str) -> dict[str, Any]:
    result: dict[str, Any] = answer["results"][index]["peers"][peer]
    return result


def test_a_phone_written_differently_hits_at_the_partner_that_holds_it(federation: Cluster) -> None:
    answer = search(federation, "customs", [{"type": "phone", "value": SHARED_PHONE}])
    assert answer["peers"]["police"]["status"] == "ok", answer["peers"]
    police = outcome(answer, 0, "police")
    assert police["outcome"] == "hit"
    assert police["disclosure"]["record_category"] == ["suspect"]
    # intel's policy grants no phone matching to customs: denied, not a silent miss
    assert outcome(answer, 0, "intel")["outcome"] == "denied"


def test_a_hit_discloses_what_the_responders_policy_allows(federation: Cluster) -> None:
    answer = search(
        federation,
        "police",
        [{"type": "container", "value": CONTAINER}, {"type": "vessel", "value": VESSEL}],
    )
    customs = outcome(answer, 0, "customs")
    assert customs["outcome"] == "hit"
    disclosure = customs["disclosure"]
    assert disclosure["hit_reference"].startswith("hit-")
    assert disclosure["contact_point"] == "Customs desk, +31 10 000 0000"
    assert disclosure["record_category"] == ["suspect"]
    assert disclosure["date_range"] == ["2025-03", "2025-03"]
    intel = outcome(answer, 1, "intel")
    assert intel["outcome"] == "hit"
    assert set(intel["disclosure"]) >= {"hit_reference"}
    assert intel["disclosure"]["record_category"] is None


def test_a_record_hidden_by_policy_answers_exactly_like_a_missing_one(federation: Cluster) -> None:
    answer = search(
        federation,
        "police",
        [{"type": "phone", "value": HIDDEN_PHONE}, {"type": "phone", "value": UNKNOWN_PHONE}],
    )
    hidden, missing = outcome(answer, 0, "customs"), outcome(answer, 1, "customs")
    assert hidden == missing == {"outcome": "no_hit", "disclosure": None}


def test_a_record_about_a_minor_hits_without_any_disclosure(federation: Cluster) -> None:
    answer = search(federation, "police", [{"type": "phone", "value": MINOR_PHONE}])
    assert outcome(answer, 0, "customs") == {"outcome": "hit", "disclosure": None}


def test_an_invalid_identifier_is_reported_and_the_rest_is_searched(federation: Cluster) -> None:
    answer = search(
        federation,
        "customs",
        [{"type": "iban", "value": "GB00 WEST 1234 5698 7654 32"}, {"type": "iban", "value": IBAN}],
    )
    invalid = answer["results"][0]
    assert invalid["status"] == "invalid"
    assert invalid["error"].startswith("iban:")
    assert "WEST" not in invalid["error"]
    assert outcome(answer, 1, "intel")["outcome"] == "hit"


def test_a_search_with_no_usable_identifier_is_refused_with_the_reason(federation: Cluster) -> None:
    body = {
        "purpose": "organised-crime",
        "case_reference": "CASE-1",
        "identifiers": [{"type": "container", "value": "CSQU 305438 4"}],
    }
    with federation.nodes["customs"].client() as client:
        response = client.post("/api/v1/search", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "container" in response.json()["detail"]


def test_a_purpose_no_rule_grants_is_denied_by_every_partner(federation: Cluster) -> None:
    body = {
        "purpose": "curiosity",
        "case_reference": "CASE-2",
        "identifiers": [{"type": "phone", "value": SHARED_PHONE}],
    }
    with federation.nodes["customs"].client() as client:
        answer = client.post("/api/v1/search", json=body).json()
    assert {p["status"] for p in answer["peers"].values()} == {"denied"}
    assert outcome(answer, 0, "police")["outcome"] == "denied"


def test_search_needs_a_local_token_with_a_searching_role(federation: Cluster) -> None:
    member = federation.nodes["customs"]
    body = {
        "purpose": "p",
        "case_reference": "c",
        "identifiers": [{"type": "phone", "value": SHARED_PHONE}],
    }
    with member.client() as client:
        no_token = client.post("/api/v1/search", json=body, headers={"Authorization": ""})
        bad_token = client.post(
            "/api/v1/search", json=body, headers={"Authorization": "Bearer cordon_x_y"}
        )
    assert no_token.status_code == 401
    assert bad_token.status_code == 401


def test_the_local_listener_does_not_serve_peer_routes(federation: Cluster) -> None:
    with federation.nodes["customs"].client() as client:
        assert client.post("/peer/v1/match", content=b"{}").status_code == 404


def test_every_request_is_audited_on_both_sides_without_raw_identifiers(
    federation: Cluster,
) -> None:
    search(federation, "customs", [{"type": "phone", "value": SHARED_PHONE}])
    for agency in ("customs", "police"):
        engine = create_engine(federation.nodes[agency].config.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(audit_entries)).mappings().all()
        finally:
            engine.dispose()
        assert rows, f"{agency} has no audit entries"
        text = repr(rows)
        for raw in ("1234 5678", "12345678", "+31612345678"):
            assert raw not in text
    customs_entry = rows  # police rows from the last loop
    assert any(r["channel"] == "peer" and r["requester_agency"] == "customs" for r in customs_entry)


def test_no_raw_identifier_reaches_any_node_database_file(federation: Cluster) -> None:
    search(federation, "customs", [{"type": "phone", "value": SHARED_PHONE}])
    for agency, member in federation.nodes.items():
        url = member.config.database_url
        if not url.startswith("sqlite:///"):
            continue
        db = Path(url.removeprefix("sqlite:///"))
        blob = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        for raw in (b"+31612345678", b"31612345678", b"GB82WEST", b"CSQU3054383", b"9074729"):
            assert raw not in blob, f"{agency} database holds a raw identifier"


def test_a_stopped_peer_gives_a_timely_partial_answer(federation: Cluster) -> None:
    federation.stop("intel")
    try:
        started = time.monotonic()
        answer = search(federation, "customs", [{"type": "phone", "value": SHARED_PHONE}])
        elapsed = time.monotonic() - started
        assert answer["peers"]["intel"]["status"] == "error"
        assert outcome(answer, 0, "intel")["outcome"] == "unanswered"
        assert outcome(answer, 0, "police")["outcome"] == "hit"
        assert elapsed < 1.5 + 2.0
    finally:
        federation.start(agencies=["intel"])


def test_a_peer_that_never_answers_is_cut_off_at_its_deadline(federation: Cluster) -> None:
    federation.pause("intel")
    try:
        started = time.monotonic()
        answer = search(federation, "customs", [{"type": "phone", "value": SHARED_PHONE}])
        elapsed = time.monotonic() - started
    finally:
        federation.resume("intel")
    assert answer["peers"]["intel"]["status"] == "timeout"
    assert outcome(answer, 0, "police")["outcome"] == "hit"
    # the deadline is 1.5 s; allow generous slack for a loaded CI machine but not a hang
    assert 1.4 < elapsed < 1.5 + 2.0
