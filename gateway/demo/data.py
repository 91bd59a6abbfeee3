"""The demo federation's data: ``generate`` writes each agency's records in its own format
(customs a CSV file, police JSON Lines, intel a SQLite database), a mapping file per match
dataset, and a ``seizures`` dataset per agency for aggregates, all from one seed, the same
bytes every run. Hidden among the records is Operation Lantern (``gateway.demo.lantern``);
``DemoData.searches`` are the searches that surface it.

Layout under ``root``::

    customs/data/shipments.csv, seizures.csv        customs/mappings/shipments.yaml
    police/data/case_persons.jsonl, seizures.jsonl  police/mappings/case_persons.yaml
    intel/data/watch.db (watch_entries, seizures)   intel/mappings/watch_entries.yaml

The seizures datasets have no match mapping (they carry no identifier): the demo declares each
as an aggregate dataset instead (``seizure_declarations`` writes
``<agency>/mappings/seizures-aggregate.yaml``, with the case as privacy unit).
"""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from gateway.demo import background, lantern
from gateway.demo.clerk import Clerk
from gateway.demo.lantern import DemoSearch

__all__ = [
    "AGENCIES",
    "DATASET_SIZES",
    "SEIZURE_COLUMNS",
    "SEIZURE_COMMODITIES",
    "SEIZURE_PORTS",
    "SEIZURE_SIZES",
    "AgencyData",
    "DemoData",
    "DemoSearch",
    "generate",
    "seizure_declarations",
]

AGENCIES = ("customs", "police", "intel")
# Records per match dataset, planted rows included.
DATASET_SIZES = {"shipments": 3000, "case_persons": 1500, "watch_entries": 800}
SEIZURE_SIZES = {"customs": 600, "police": 450, "intel": 300}
SEIZURE_COLUMNS = ("seizure_id", "case_id", "port", "commodity", "month", "quantity_kg")
SEIZURE_PORTS = background.PORTS
SEIZURE_COMMODITIES = background.SEIZED_COMMODITIES

SHIPMENT_COLUMNS = (
    "shipment_id", "declared_on", "container_no", "vessel_imo", "consignee_name",
    "consignee_country", "consignee_reg_no", "consignee_phone", "contact_name", "contact_dob",
    "port_of_entry", "commodity", "declared_value_eur", "risk_lane", "handling",
)  # fmt: skip


@dataclass(frozen=True)
class AgencyData:
    """One agency's generated data: ``folder`` holds ``data/`` and ``mappings/``; ``mappings``
    are the mapping files of its match datasets, ready for a node's configuration."""

    agency: str
    folder: Path
    mappings: tuple[Path, ...]


@dataclass(frozen=True)
class DemoData:
    agencies: dict[str, AgencyData]
    searches: tuple[DemoSearch, ...]


def generate(root: Path, *, seed: int = 7) -> DemoData:
    """Write the three agencies' data and mappings under ``root`` (files are overwritten)."""
    # One seeded stream per dataset, so that changing one dataset leaves the others as they
    # were. Synthetic data, not secrets: a reproducible generator is the point.
    streams = {name: random.Random(f"{seed}/{name}") for name in _STREAMS}  # noqa: S311
    reserved = lantern.reserved_values()
    agencies = {
        "customs": _customs(root / "customs", streams, reserved),
        "police": _police(root / "police", streams, reserved),
        "intel": _intel(root / "intel", streams, reserved),
    }
    return DemoData(agencies=agencies, searches=lantern.SEARCHES)


_STREAMS = ("shipments", "case_persons", "watch_entries", "seizures")

Row = TypeVar("Row")


def _numbered(rows: Iterable[tuple[date, Row]]) -> list[Row]:
    """Rows in date order (stable: ties keep their generation order)."""
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])]


def _folders(folder: Path) -> tuple[Path, Path]:
    data, mappings = folder / "data", folder / "mappings"
    data.mkdir(parents=True, exist_ok=True)
    mappings.mkdir(parents=True, exist_ok=True)
    return data, mappings


def _customs(
    folder: Path, streams: dict[str, random.Random], reserved: frozenset[tuple[str, str]]
) -> AgencyData:
    data, mappings = _folders(folder)
    planted = lantern.customs_rows()
    clerk = Clerk(streams["shipments"], reserved)
    rows = background.customs_shipments(clerk, DATASET_SIZES["shipments"] - len(planted))
    shipments = [
        {"shipment_id": f"SH-{row['declared_on'][-4:]}-{number:06d}", **row}
        for number, row in enumerate(_numbered([*rows, *planted]), 1)
    ]
    _write_csv(data / "shipments.csv", SHIPMENT_COLUMNS, shipments)
    seizures = background.seizures(streams["seizures"], "CUS", SEIZURE_SIZES["customs"])
    _write_csv(data / "seizures.csv", SEIZURE_COLUMNS, seizures)
    mapping = mappings / "shipments.yaml"
    mapping.write_text(_SHIPMENTS_MAPPING, encoding="utf-8")
    return AgencyData("customs", folder, (mapping,))


def _police(
    folder: Path, streams: dict[str, random.Random], reserved: frozenset[tuple[str, str]]
) -> AgencyData:
    data, mappings = _folders(folder)
    planted = lantern.police_rows()
    clerk = Clerk(streams["case_persons"], reserved)
    rows = background.police_case_persons(clerk, DATASET_SIZES["case_persons"] - len(planted))
    persons = [
        {"person_id": f"PP-{number:06d}", **row}
        for number, row in enumerate(_numbered([*rows, *planted]), 1)
    ]
    _write_jsonl(data / "case_persons.jsonl", persons)
    seizures = background.seizures(streams["seizures"], "POL", SEIZURE_SIZES["police"])
    _write_jsonl(data / "seizures.jsonl", seizures)
    mapping = mappings / "case_persons.yaml"
    mapping.write_text(_CASE_PERSONS_MAPPING, encoding="utf-8")
    return AgencyData("police", folder, (mapping,))


def _intel(
    folder: Path, streams: dict[str, random.Random], reserved: frozenset[tuple[str, str]]
) -> AgencyData:
    data, mappings = _folders(folder)
    planted = lantern.intel_rows()
    clerk = Clerk(streams["watch_entries"], reserved)
    rows = background.intel_watch_entries(clerk, DATASET_SIZES["watch_entries"] - len(planted))
    entries = [
        {"entry_id": f"W-{number:05d}", **row}
        for number, row in enumerate(_numbered([*rows, *planted]), 1)
    ]
    seizures = background.seizures(streams["seizures"], "INT", SEIZURE_SIZES["intel"])
    _write_sqlite(data / "watch.db", entries, seizures)
    mapping = mappings / "watch_entries.yaml"
    mapping.write_text(_WATCH_ENTRIES_MAPPING, encoding="utf-8")
    return AgencyData("intel", folder, (mapping,))


# --- writers ----------------------------------------------------------------------------------


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


_WATCH_COLUMNS = (
    "entry_id", "subject_kind", "assessment", "company_country", "company_reg_no", "lei",
    "iban", "vessel_imo", "phone", "person_name", "person_dob", "handling_code", "date_added",
)  # fmt: skip
_SCHEMA = """
CREATE TABLE watch_entries (
    entry_id        TEXT PRIMARY KEY,
    subject_kind    TEXT NOT NULL,   -- company, person, vessel, phone, account
    assessment      TEXT NOT NULL,   -- TGT target, ASC associated, REF reference only
    company_country TEXT,            -- ISO 3166 alpha-3
    company_reg_no  TEXT,
    lei             TEXT,
    iban            TEXT,
    vessel_imo      TEXT,
    phone           TEXT,
    person_name     TEXT,
    person_dob      TEXT,
    handling_code   TEXT NOT NULL,
    date_added      TEXT NOT NULL
);
CREATE TABLE seizures (
    seizure_id  TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL,
    port        TEXT NOT NULL,
    commodity   TEXT NOT NULL,
    month       TEXT NOT NULL,
    quantity_kg INTEGER NOT NULL CHECK (quantity_kg BETWEEN 1 AND 2000)
);
"""


def _write_sqlite(
    path: Path, entries: Sequence[dict[str, object]], seizures: Sequence[dict[str, object]]
) -> None:
    for stale in (path, path.with_name(path.name + "-journal")):
        stale.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as database:
        with database:
            database.executescript(_SCHEMA)
        with database:
            database.executemany(
                f"INSERT INTO watch_entries ({', '.join(_WATCH_COLUMNS)}) "  # noqa: S608 - constant names
                f"VALUES ({', '.join('?' * len(_WATCH_COLUMNS))})",
                [tuple(entry[column] for column in _WATCH_COLUMNS) for entry in entries],
            )
            database.executemany(
                "INSERT INTO seizures VALUES (?, ?, ?, ?, ?, ?)",
                [tuple(row[column] for column in SEIZURE_COLUMNS) for row in seizures],
            )


# --- mappings ---------------------------------------------------------------------------------

_SHIPMENTS_MAPPING = """\
# Customs import declarations (synthetic demo data written by gateway.demo.data).
dataset: shipments
vocabulary: 1
description: Import declarations with consignee, container and vessel
source:
  kind: csv
  path: ../data/shipments.csv
record_ref: shipment_id
# The risk lane the declaration was routed to: red and amber consignees are profiled.
subject_category:
  column: risk_lane
  map: {red: suspect, amber: associate, green: other}
handling_code: {column: handling}
recorded_on: {column: declared_on, format: "%d/%m/%Y"}
identifiers:
  - {type: container, column: container_no}
  - {type: vessel, column: vessel_imo}
  - {type: company, column: consignee_reg_no, country_column: consignee_country}
  - {type: phone, column: consignee_phone, default_region: NL}
  - type: person
    name_column: contact_name
    date_of_birth_column: contact_dob
    date_of_birth_format: "%d/%m/%Y"
attributes:
  - {name: port, column: port_of_entry, type: string}
  - {name: commodity, column: commodity, type: string}
  - {name: declared_value_eur, column: declared_value_eur, type: integer}
"""

_CASE_PERSONS_MAPPING = """\
# Persons in police cases (synthetic demo data written by gateway.demo.data).
dataset: case_persons
vocabulary: 1
description: Suspects, associates, witnesses, victims and minors in police cases
source:
  kind: jsonl
  path: ../data/case_persons.jsonl
record_ref: person_id
subject_category: {column: role}
handling_code: {column: handling}
recorded_on: {column: recorded_on}
identifiers:
  - {type: person, name_column: full_name, date_of_birth_column: date_of_birth}
  - {type: passport, column: passport.number, country_column: passport.country}
  - {type: phone, column: contact.phones, default_region: NL}
  - {type: email, column: contact.email}
  - {type: vehicle, column: vehicles.plate}
attributes:
  - {name: case_number, column: case.number, type: string}
  - {name: offence, column: case.offence, type: string}
  - {name: nationality, column: nationality, type: string}
"""

_WATCH_ENTRIES_MAPPING = """\
# Intelligence watch list (synthetic demo data written by gateway.demo.data).
dataset: watch_entries
vocabulary: 1
description: Companies, persons, vessels, phones and accounts under watch
source:
  kind: sql
  url: sqlite:///../data/watch.db
  table: watch_entries
record_ref: entry_id
subject_category:
  column: assessment
  map: {TGT: suspect, ASC: associate, REF: other}
handling_code: {column: handling_code}
recorded_on: {column: date_added}
identifiers:
  - {type: company, column: company_reg_no, country_column: company_country}
  - {type: lei, column: lei}
  - {type: iban, column: iban}
  - {type: vessel, column: vessel_imo}
  - {type: phone, column: phone}
  - {type: person, name_column: person_name, date_of_birth_column: person_dob}
attributes:
  - {name: subject_kind, column: subject_kind, type: string}
"""


_SEIZURE_SOURCES = {
    "customs": "{kind: csv, path: ../data/seizures.csv}",
    "police": "{kind: jsonl, path: ../data/seizures.jsonl}",
    "intel": "{kind: sql, url: 'sqlite:///../data/watch.db', table: seizures}",
}


def seizure_declarations(demo: DemoData) -> dict[str, Path]:
    """Write each agency's aggregate declaration of its seizures; return them by agency."""
    return {
        agency: _write_seizures_declaration(data.folder / "mappings", _SEIZURE_SOURCES[agency])
        for agency, data in demo.agencies.items()
    }


def _write_seizures_declaration(mappings: Path, source: str) -> Path:
    """The agency's seizures as an aggregate dataset: one case contributes at most 4 rows."""
    ports = [f'"{port}"' for port in SEIZURE_PORTS]
    months = ", ".join(f'"2025-{month:02d}"' for month in range(1, 13))
    path = mappings / "seizures-aggregate.yaml"
    path.write_text(
        "# Seizures, for differentially private aggregates only (synthetic demo data).\n"
        "aggregate_dataset: seizures\n"
        "description: Seizures by port, commodity and month; the case is the privacy unit\n"
        f"source: {source}\n"
        "privacy_unit: case_id\n"
        "max_rows_per_unit: 4\n"
        "columns:\n"
        f"  port: {{type: categorical, values: [{', '.join(ports)}]}}\n"
        "  commodity: {type: categorical}   # no public list: keys chosen by DP threshold\n"
        f"  month: {{type: categorical, values: [{months}]}}\n"
        "  quantity_kg: {type: integer, lower: 0, upper: 2000}\n",
        encoding="utf-8",
    )
    return path
