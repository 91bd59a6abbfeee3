"""A three-node federation (customs, police, intel) on loopback with real mutual TLS, small
hand-written data, and policies written for the tests. The police node runs on PostgreSQL
when CORDON_TEST_POSTGRES_URL is set, on SQLite otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.cluster import AgencySetup, Cluster, provision
from tests.conftest import POSTGRES_URL_ENV, fresh_postgres_database

# Identifiers planted in the test data (raw, in the agencies' own spellings).
SHARED_PHONE = "+31 6 1234 5678"
SHARED_PHONE_NATIONAL = "06-12345678"
HIDDEN_PHONE = "+31 6 8765 4321"  # customs record with handling code H3: never hits
MINOR_PHONE = "+31 6 5555 0101"  # customs record about a minor: hit only
CONTAINER = "CSQU 305438 3"
VESSEL = "IMO 9074729"
IBAN = "GB82 WEST 1234 5698 7654 32"
UNKNOWN_PHONE = "+31 6 4321 0987"

CUSTOMS_POLICY = """
policy: 1
node: customs
purposes:
  organised-crime: {legal_basis: "test basis"}
rules:
  - id: police-shipments
    partners: [police]
    purposes: [organised-crime]
    match:
      identifier_types: [phone, container, vessel]
      subject_categories: [suspect, associate, minor]
      handling_codes: [H0, H1, H2]
      disclose: [hit_reference, contact_point, record_category, date_range]
      minors: hit_only
  - id: intel-shipments
    partners: [intel]
    purposes: [organised-crime]
    match:
      identifier_types: [container]
      subject_categories: [suspect]
      handling_codes: [H0, H1, H2]
      disclose: []
follow_up:
  contact_point: "Customs desk, +31 10 000 0000"
  answered_by: customs duty officer
"""

POLICE_POLICY = """
policy: 1
node: police
purposes:
  organised-crime: {legal_basis: "test basis"}
rules:
  - id: customs-persons
    partners: [customs, intel]
    purposes: [organised-crime]
    match:
      identifier_types: [phone, vessel]
      subject_categories: [suspect, associate]
      handling_codes: [H0, H1, H2]
      disclose: [record_category]
"""

INTEL_POLICY = """
policy: 1
node: intel
purposes:
  organised-crime: {legal_basis: "test basis"}
rules:
  - id: partners-watch
    partners: [customs, police]
    purposes: [organised-crime]
    match:
      identifier_types: [iban, vessel]
      subject_categories: [suspect]
      handling_codes: [H0, H1, H2, H3]
      disclose: [hit_reference]
"""


def _write_customs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "shipments.csv").write_text(
        "shipment_id,declared_on,container,vessel,phone,role,handling\n"
        f"S-1,2025-03-02,{CONTAINER},{VESSEL},{SHARED_PHONE},suspect,H1\n"
        f"S-2,2025-04-11,,,{HIDDEN_PHONE},suspect,H3\n"
        f"S-3,2025-05-20,,,{MINOR_PHONE},minor,H1\n"
        "S-4,2025-06-01,CSQU 305438 4,,,suspect,H1\n",
        encoding="utf-8",
    )
    mapping = folder / "shipments.yaml"
    mapping.write_text(
        "dataset: shipments\n"
        "source: {kind: csv, path: shipments.csv}\n"
        "record_ref: shipment_id\n"
        "subject_category: {column: role}\n"
        "handling_code: {column: handling}\n"
        "recorded_on: {column: declared_on}\n"
        "identifiers:\n"
        "  - {type: container, column: container}\n"
        "  - {type: vessel, column: vessel}\n"
        "  - {type: phone, column: phone, default_region: NL}\n",
        encoding="utf-8",
    )
    return mapping


def _write_police(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rows = [
        {
            "id": "P-1",
            "role": "suspect",
            "recorded": "2025-02-01",
            "contact": {"phones": [SHARED_PHONE_NATIONAL]},
        },
        {
            "id": "P-2",
            "role": "witness",
            "recorded": "2025-02-03",
            "contact": {"phones": [UNKNOWN_PHONE]},
        },
    ]
    (folder / "persons.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mapping = folder / "persons.yaml"
    mapping.write_text(
        "dataset: case_persons\n"
        "source: {kind: jsonl, path: persons.jsonl}\n"
        "record_ref: id\n"
        "subject_category: {column: role}\n"
        "handling_code: {value: H1}\n"
        "recorded_on: {column: recorded}\n"
        "identifiers:\n"
        "  - {type: phone, column: contact.phones, default_region: NL}\n",
        encoding="utf-8",
    )
    return mapping


def _write_intel(folder: Path) -> Path:
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "watch.db") as conn:
        conn.execute("CREATE TABLE watch (entry TEXT, iban TEXT, vessel TEXT, added TEXT)")
        conn.execute(
            "INSERT INTO watch VALUES ('W-1', ?, ?, '2025-01-15')", (IBAN.lower(), "9074729")
        )
    conn.close()
    mapping = folder / "watch.yaml"
    mapping.write_text(
        "dataset: watch_entries\n"
        "source: {kind: sql, url: 'sqlite:///watch.db', table: watch}\n"
        "record_ref: entry\n"
        "subject_category: {value: suspect}\n"
        "handling_code: {value: H2}\n"
        "recorded_on: {column: added}\n"
        "identifiers:\n"
        "  - {type: iban, column: iban}\n"
        "  - {type: vessel, column: vessel}\n",
        encoding="utf-8",
    )
    return mapping


@contextlib.contextmanager
def optional_postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database when CORDON_TEST_POSTGRES_URL is set, else None (SQLite).
    Each federation needs its own: a node's database holds its policy versions."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        yield None
        return
    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture(scope="package")
def postgres_for_police() -> Iterator[str | None]:
    with optional_postgres_database() as url:
        yield url


@pytest.fixture(scope="package")
def federation(
    tmp_path_factory: pytest.TempPathFactory, postgres_for_police: str | None
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("federation")
    policies = root / "policies"
    policies.mkdir()
    for agency, text in (
        ("customs", CUSTOMS_POLICY),
        ("police", POLICE_POLICY),
        ("intel", INTEL_POLICY),
    ):
        (policies / f"{agency}.yaml").write_text(text)
    setups = [
        AgencySetup(
            "customs",
            "Customs",
            policies / "customs.yaml",
            (_write_customs(root / "data-customs"),),
            default_region="NL",
        ),
        AgencySetup(
            "police",
            "Police",
            policies / "police.yaml",
            (_write_police(root / "data-police"),),
            database=postgres_for_police,
            default_region="NL",
        ),
        AgencySetup(
            "intel",
            "Intel",
            policies / "intel.yaml",
            (_write_intel(root / "data-intel"),),
            default_region="NL",
        ),
    ]
    cluster = provision(root / "nodes", setups, peer_deadline_seconds=1.5)
    cluster.index()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
