"""Offline verification of exports: a faithful export passes; every kind of tampering is
reported, with the entry it concerns; and no random mutation goes unnoticed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.checkpoint import Checkpoint, SignedCheckpoint, add_cosignature, sign_checkpoint
from crypto.keys import generate_signing_key, public_key_to_text
from gateway.audit.export import ExportRequest, csv_text
from gateway.audit.export_reader import Finding
from gateway.audit.search import EntryFilter
from gateway.audit.service import AuditLog
from gateway.audit.verify import VerifyReport, verify_export
from gateway.storage.database import open_engine, upgrade
from tests.gateway.audit.conftest import Clock, export_to, fill

ENTRIES = 40


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Ed25519PrivateKey]:
    """An export of 40 entries with checkpoints at 7, 14, ... and 40."""
    folder = tmp_path_factory.mktemp("export")
    key = generate_signing_key()
    engine = open_engine(f"sqlite:///{folder / 'node.db'}")
    upgrade(engine)
    log = AuditLog(engine, agency="police", signing_key=key, clock=Clock())
    try:
        fill(log, ENTRIES, checkpoint_every=7)
        path = export_to(log, folder / "export.jsonl", key)
    finally:
        log.close()
        engine.dispose()
    return path.read_bytes(), key


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")[:-1]


def check(tmp_path: Path, data: bytes, key: Ed25519PrivateKey) -> VerifyReport:
    path = tmp_path / "candidate.jsonl"
    path.write_bytes(data)
    return verify_export(path, key.public_key())


def entry_line(lines: list[bytes], seq: int) -> int:
    for i, line in enumerate(lines):
        if line.startswith(b'{"case_reference"') and json.loads(line)["seq"] == seq:
            return i
    raise AssertionError(seq)


def kinds(report: VerifyReport) -> set[tuple[str, int | None]]:
    return {(f.kind, f.seq) for f in report.findings}


def test_a_faithful_export_verifies(tmp_path: Path, exported: tuple[bytes, Any]) -> None:
    data, key = exported
    report = check(tmp_path, data, key)
    assert report.findings == []
    assert (report.first_seq, report.last_seq, report.entries) == (1, ENTRIES, ENTRIES)
    assert [c["size"] for c in report.checkpoints] == [7, 14, 21, 28, 35, 40]


def test_verifying_with_another_nodes_key_fails(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, _key = exported
    report = check(tmp_path, data, generate_signing_key())
    assert "bad-checkpoint" in {f.kind for f in report.findings}


def _edit(data: bytes, change: Callable[[list[bytes]], None]) -> bytes:
    lines = lines_of(data)
    change(lines)
    return b"".join(line + b"\n" for line in lines)


def test_a_modified_entry_is_reported_with_its_number(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        i = entry_line(lines, 12)
        lines[i] = lines[i].replace(b'"decision":"allowed"', b'"decision":"denied"')

    assert kinds(check(tmp_path, _edit(data, change), key)) == {("modified-entry", 12)}


def test_a_deleted_entry_is_reported_with_its_number(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported
    report = check(tmp_path, _edit(data, lambda ls: ls.pop(entry_line(ls, 20))), key)
    assert ("deleted-entry", 20) in kinds(report)


def test_an_inserted_entry_is_reported_with_its_line(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        forged = lines[entry_line(lines, 5)].replace(b'"jti-5"', b'"jti-x"')
        lines.insert(entry_line(lines, 9), forged)

    report = check(tmp_path, _edit(data, change), key)
    inserted = [f for f in report.findings if f.kind == "inserted-entry" and f.line is not None]
    assert inserted and inserted[0].seq == 5
    assert not {f.kind for f in report.findings} & {"modified-entry", "deleted-entry"}


def test_reordered_entries_are_reported(tmp_path: Path, exported: tuple[bytes, Any]) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        a, b = entry_line(lines, 30), entry_line(lines, 33)
        lines[a], lines[b] = lines[b], lines[a]

    assert {f.kind for f in check(tmp_path, _edit(data, change), key).findings} == {
        "reordered-entries"
    }


def test_a_truncated_log_is_reported_from_the_first_missing_entry(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        del lines[entry_line(lines, 37) : entry_line(lines, 40) + 1]
        lines[-1] = b'{"entries":36,"kind":"end"}'

    assert kinds(check(tmp_path, _edit(data, change), key)) == {("truncated-log", 37)}


def test_an_export_cut_short_is_reported(tmp_path: Path, exported: tuple[bytes, Any]) -> None:
    data, key = exported
    cut = data[: data.index(lines_of(data)[entry_line(lines_of(data), 25)])]
    report = check(tmp_path, cut, key)
    assert ("truncated-log", 25) in kinds(report)


def _resign(text: str, key: Ed25519PrivateKey, **changes: object) -> str:
    c = SignedCheckpoint.from_text(text).checkpoint
    fields = {"origin": c.origin, "size": c.size, "root_hash": c.root_hash,
              "timestamp": c.timestamp, **changes}  # fmt: skip
    return sign_checkpoint(Checkpoint(**fields), key).to_text()  # type: ignore[arg-type]


def _checkpoint_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith(b'{"checkpoint"')]


def test_a_forged_checkpoint_is_reported(tmp_path: Path, exported: tuple[bytes, Any]) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        i = _checkpoint_lines(lines)[2]
        text = json.loads(lines[i])["checkpoint"]
        lines[i] = json.dumps(
            {"checkpoint": _resign(text, generate_signing_key()), "kind": "checkpoint"}
        ).encode()

    report = check(tmp_path, _edit(data, change), key)
    assert [f.kind for f in report.findings] == ["bad-checkpoint"]


def test_two_checkpoints_that_cannot_both_be_true_are_reported(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        i = _checkpoint_lines(lines)[1]
        text = json.loads(lines[i])["checkpoint"]
        split = _resign(text, key, root_hash=bytes(32), timestamp=1)
        lines.insert(i + 1, json.dumps({"checkpoint": split, "kind": "checkpoint"}).encode())

    report = check(tmp_path, _edit(data, change), key)
    assert {f.kind for f in report.findings} == {"inconsistent-checkpoints"}


def test_a_rewritten_history_signed_with_the_real_key_is_reported(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        i = _checkpoint_lines(lines)[3]
        text = json.loads(lines[i])["checkpoint"]
        lines[i] = json.dumps(
            {"checkpoint": _resign(text, key, root_hash=bytes(range(32))), "kind": "checkpoint"}
        ).encode()

    report = check(tmp_path, _edit(data, change), key)
    assert "inconsistent-checkpoints" in {f.kind for f in report.findings}
    assert not {f.kind for f in report.findings} & {"modified-entry", "deleted-entry"}


def test_entries_past_an_altered_leaf_hash_list_are_still_checked_against_checkpoints(
    tmp_path: Path, exported: tuple[bytes, Any]
) -> None:
    data, key = exported

    def change(lines: list[bytes]) -> None:
        i = next(i for i, line in enumerate(lines) if b'"kind":"leaf_hashes"' in line)
        record = json.loads(lines[i])
        record["hashes"] = record["hashes"][:-8] + "AAAAAAA="
        lines[i] = json.dumps(record).encode()
        j = entry_line(lines, 38)
        lines[j] = lines[j].replace(b'"CASE-', b'"CASF-')

    report = check(tmp_path, _edit(data, change), key)
    found = {f.kind for f in report.findings}
    assert "altered-proof" in found
    modified = [f for f in report.findings if f.kind == "modified-entry"]
    assert modified and modified[0].seq == 36  # between the checkpoints of 35 and 40


def test_the_csv_export_verifies_and_its_readable_columns_are_checked(
    tmp_path: Path, audit_log: AuditLog, key: Ed25519PrivateKey
) -> None:
    fill(audit_log, 12, checkpoint_every=5)
    text = "".join(csv_text(audit_log, ExportRequest(), public_key_to_text(key.public_key())))
    path = tmp_path / "export.csv"
    path.write_text(text)
    assert verify_export(path, key.public_key()).findings == []
    path.write_text(text.replace(",allowed,", ",denied,", 1))
    assert {f.kind for f in verify_export(path, key.public_key()).findings} == {"modified-entry"}


def test_a_selection_carries_inclusion_proofs_and_a_changed_entry_fails_its_proof(
    tmp_path: Path, audit_log: AuditLog, key: Ed25519PrivateKey
) -> None:
    fill(audit_log, 30, checkpoint_every=10)
    request = ExportRequest(filters=EntryFilter(user="analyst-2"))
    path = export_to(audit_log, tmp_path / "sel.jsonl", key, request)
    report = verify_export(path, key.public_key())
    assert report.findings == [] and report.entries == 6
    path.write_bytes(path.read_bytes().replace(b'"jti-7"', b'"jti-8"'))
    assert kinds(verify_export(path, key.public_key())) == {("modified-entry", 8)}


def test_an_export_from_a_starting_point_verifies_with_the_hashes_before_it(
    tmp_path: Path, audit_log: AuditLog, key: Ed25519PrivateKey
) -> None:
    fill(audit_log, 25, checkpoint_every=4)
    path = export_to(audit_log, tmp_path / "tail.jsonl", key, ExportRequest(from_seq=11))
    report = verify_export(path, key.public_key())
    assert report.findings == [] and (report.first_seq, report.entries) == (11, 15)


def test_cosignatures_are_checked_when_the_witness_key_is_given(
    tmp_path: Path, audit_log: AuditLog, key: Ed25519PrivateKey
) -> None:
    witness = generate_signing_key()
    fill(audit_log, 3)
    stored = audit_log.issue_checkpoint()
    cosigned = add_cosignature(stored.signed, "customs", witness)
    audit_log.checkpoints.add_cosignature(stored.id, cosigned.cosignatures[0], Clock().now)
    path = export_to(audit_log, tmp_path / "cosigned.jsonl", key)
    good = verify_export(path, key.public_key(), witnesses={"customs": witness.public_key()})
    assert good.findings == [] and good.checkpoints[-1]["cosignatures_verified"] == ["customs"]
    bad = verify_export(
        path, key.public_key(), witnesses={"customs": generate_signing_key().public_key()}
    )
    assert {f.kind for f in bad.findings} == {"bad-checkpoint"}


# -- random mutations: none may go unnoticed ----------------------------------------------


@st.composite
def mutations(draw: st.DrawFn, data: bytes, key: Ed25519PrivateKey) -> bytes:
    lines = lines_of(data)
    kind = draw(st.sampled_from(["flip", "delete", "insert", "reorder", "truncate", "equivocate"]))
    if kind == "flip":
        position = draw(st.integers(0, len(data) - 1))
        mask = draw(st.integers(1, 255))
        return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[i]
    elif kind == "insert":
        source = lines[draw(st.integers(0, len(lines) - 1))]
        if draw(st.booleans()) and source.startswith(b'{"case_reference"'):
            document = json.loads(source)
            document["requester_user"] = draw(st.text(max_size=5))
            source = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        lines.insert(i, source)
    elif kind == "reorder":
        j = draw(st.integers(0, len(lines) - 1).filter(lambda j: lines[j] != lines[i]))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        checkpoints = _checkpoint_lines(lines)
        target = checkpoints[draw(st.integers(0, len(checkpoints) - 1))]
        text = json.loads(lines[target])["checkpoint"]
        size = SignedCheckpoint.from_text(text).checkpoint.size
        other = _resign(
            text,
            key,
            size=draw(st.integers(1, ENTRIES)) if draw(st.booleans()) else size,
            root_hash=draw(st.binary(min_size=32, max_size=32)),
        )
        record = json.dumps({"checkpoint": other, "kind": "checkpoint"}).encode()
        if draw(st.booleans()):
            lines[target] = record
        else:
            lines.insert(target + 1, record)
    return b"".join(line + b"\n" for line in lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_random_mutation_of_an_export_goes_unnoticed(
    tmp_path_factory: pytest.TempPathFactory, exported: tuple[bytes, Any], data: st.DataObject
) -> None:
    original, key = exported
    mutated = data.draw(mutations(original, key))
    if mutated == original:
        return
    path = tmp_path_factory.mktemp("mutated") / "export.jsonl"
    path.write_bytes(mutated)
    report = verify_export(path, key.public_key())
    assert report.findings, "an altered export verified"
    assert all(isinstance(f, Finding) for f in report.findings)


def test_a_checkpoint_from_elsewhere_shows_an_export_that_stops_short(
    tmp_path: Path, audit_log: AuditLog, key: Ed25519PrivateKey
) -> None:
    fill(audit_log, 20, checkpoint_every=10)
    path = export_to(audit_log, tmp_path / "old.jsonl", key)
    fill(audit_log, 10, start=20)
    later = audit_log.issue_checkpoint().signed.to_text()
    report = verify_export(path, key.public_key(), extra_checkpoints=[later])
    assert "truncated-log" in {f.kind for f in report.findings}
    same_size = audit_log.checkpoints.at_most(20)
    assert same_size is not None
    assert (
        verify_export(
            path, key.public_key(), extra_checkpoints=[same_size.signed.to_text()]
        ).findings
        == []
    )
    forged = _resign(same_size.signed.to_text(), key, root_hash=bytes(32))
    report = verify_export(path, key.public_key(), extra_checkpoints=[forged])
    assert "inconsistent-checkpoints" in {f.kind for f in report.findings}
