"""CSV and JSON Lines sources: canonical records out, every rejection counted, memory flat."""

from __future__ import annotations

import csv
import gc
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.errors import SourceError
from connectors.loading import load_records
from connectors.mapping import DatasetMapping, load_mapping
from connectors.records import Identifier, LoadReport, Record
from connectors.sources import open_source
from connectors.vocabulary import InvalidIdentifier, canonicalise, canonicalise_person

HEADER = [
    "shipment_id", "role", "handling", "declared_on", "container_no", "consignee_phone",
    "passport_no", "nationality", "full_name", "dob", "port", "value_eur",
]  # fmt: skip

MAPPING: dict[str, Any] = {
    "dataset": "shipments",
    "source": {"kind": "csv", "path": "shipments.csv"},
    "record_ref": "shipment_id",
    "subject_category": {"column": "role", "map": {"S": "suspect"}},
    "handling_code": {"column": "handling"},
    "recorded_on": {"column": "declared_on"},
    "identifiers": [
        {"type": "container", "column": "container_no"},
        {"type": "phone", "column": "consignee_phone", "default_region": "NL", "split": ";"},
        {"type": "passport", "column": "passport_no", "country_column": "nationality"},
        {"type": "person", "name_column": "full_name", "date_of_birth_column": "dob"},
    ],
    "attributes": [
        {"name": "port", "column": "port", "type": "string"},
        {"name": "declared_value", "column": "value_eur", "type": "integer"},
    ],
}

JAN = Identifier("person", canonicalise_person("Jan de Vries", "1980-02-03"))
PHONE_NL = Identifier("phone", "+31612345678")
PHONE_UK = Identifier("phone", "+442079460958")
CONTAINER_1 = Identifier("container", "CSQU3054383")
CONTAINER_2 = Identifier("container", "MSKU9070323")
PASSPORT = Identifier("passport", "NLD:X1234567")


def record(ref: str, category: str, code: str, day: int, identifiers: Iterable[Identifier],
           port: str | None, value: int | None) -> Record:  # fmt: skip
    return Record(
        dataset="shipments",
        record_ref=ref,
        identifiers=tuple(identifiers),
        attributes={"port": port, "declared_value": value},
        subject_category=category,
        handling_code=code,
        recorded_on=date(2024, 3, day),
    )


EXPECTED = [
    record("S1", "suspect", "H1", 1, [CONTAINER_1, PHONE_NL, PASSPORT, JAN], "Rotterdam", 12500),
    record("S2", "suspect", "H2", 2, [CONTAINER_2, PHONE_NL, PHONE_UK], "Antwerp", None),
    record("S3", "witness", "H0", 3, [PHONE_NL], None, -40),
]

# Identical content, written the way different clerks write it.
GOOD_CSV_ROWS = [
    ["S1", "suspect", "H1", "2024-03-01", "CSQU3054383", "06 12345678", "X1234567", "NLD",
     "Jan de Vries", "1980-02-03", "Rotterdam", "12500"],
    ["S2", "S", "h2", "2024-03-02", "msku 907032-3", "+31 6 1234 5678;+44 20 7946 0958;", "",
     "", "", "", " Antwerp ", ""],
    [" S3 ", "Witness", "H0", "2024-03-03T09:30:00", "", "0031612345678;06-12345678", "", "",
     "Jan de Vries", "", "", "-40"],
]  # fmt: skip

GOOD_JSONL_ROWS: list[dict[str, Any]] = [
    {"id": "S1", "role": "SUSPECT", "handling": "H1", "declared_on": "2024-03-01",
     "cargo": {"container": "CSQU 305438 3"}, "consignee": {"phones": ["+31612345678"]},
     "passport": {"number": "x 123 4567", "country": "nld"},
     "person": {"name": "VRIES, Jan de", "dob": "1980-02-03"}, "port": "Rotterdam",
     "value": 12500},
    {"id": "S2", "role": "S", "handling": "H2", "declared_on": "2024-03-02",
     "cargo": {"container": "MSKU9070323"},
     "consignee": [{"phones": ["06 1234 5678"]}, {"phones": "+442079460958"}],
     "passport": None, "port": "Antwerp"},
    {"id": "S3", "role": "witness", "handling": "h0", "declared_on": "2024-03-03",
     "consignee": {"phones": ["+31 6 12345678", "06-12345678", ""]},
     "person": {"name": "Jan de Vries"}, "value": "-40"},
]  # fmt: skip

JSONL_MAPPING: dict[str, Any] = {
    **MAPPING,
    "source": {"kind": "jsonl", "path": "shipments.jsonl"},
    "record_ref": "id",
    "identifiers": [
        {"type": "container", "column": "cargo.container"},
        {"type": "phone", "column": "consignee.phones", "default_region": "NL"},
        {"type": "passport", "column": "passport.number", "country_column": "passport.country"},
        {"type": "person", "name_column": "person.name", "date_of_birth_column": "person.dob"},
    ],
    "attributes": [
        {"name": "port", "column": "port", "type": "string"},
        {"name": "declared_value", "column": "value", "type": "integer"},
    ],
}


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_mapping(folder: Path, document: Mapping[str, Any]) -> DatasetMapping:
    path = folder / f"{document['dataset']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


def load(mapping: DatasetMapping) -> tuple[list[Record], LoadReport]:
    with load_records(mapping) as records:
        return list(records), records.report


def test_csv_source_yields_canonical_records(tmp_path: Path) -> None:
    write_csv(tmp_path / "shipments.csv", HEADER, GOOD_CSV_ROWS)
    records, report = load(write_mapping(tmp_path, MAPPING))
    assert records == EXPECTED
    assert (report.rows_read, report.records, report.identifiers) == (3, 3, 8)
    assert (report.rows_rejected, report.fields_rejected, report.reasons) == (0, 0, Counter())


def test_jsonl_source_with_nested_paths_and_lists_matches_the_csv_records(
    tmp_path: Path,
) -> None:
    lines = [json.dumps(row) for row in GOOD_JSONL_ROWS]
    (tmp_path / "shipments.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    records, report = load(write_mapping(tmp_path, JSONL_MAPPING))
    assert records == EXPECTED
    assert (report.rows_read, report.records, report.rows_rejected) == (3, 3, 0)


def test_open_source_streams_raw_mapped_values_with_row_numbers(tmp_path: Path) -> None:
    (tmp_path / "shipments.jsonl").write_text(
        "\n" + json.dumps(GOOD_JSONL_ROWS[1]) + "\n", encoding="utf-8"
    )
    rows = list(open_source(write_mapping(tmp_path, JSONL_MAPPING)))
    assert len(rows) == 1
    line, values = rows[0]
    assert line == 2  # JSON Lines rows are numbered by line, blank lines included
    assert values["consignee.phones"] == ["06 1234 5678", "+442079460958"]
    assert values["passport.number"] is None
    assert values["value"] is None
    assert set(values) == set(write_mapping(tmp_path, JSONL_MAPPING).columns())


# Rows that must be rejected (whole or in part); every raw value here is checked against the
# report so that no reason ever quotes one.
BAD_CSV_ROWS = [
    ["S4", "perpetrator", "H1", "2024-03-04", "CSQU3054383", "", "", "", "", "", "", ""],
    ["", "suspect", "H1", "2024-03-05", "CSQU3054383", "", "", "", "", "", "", ""],
    ["S6", "suspect", "H9", "2024-03-06", "CSQU3054383", "", "", "", "", "", "", ""],
    ["S7", "suspect", "H1", "31/02/2024", "CSQU3054383", "", "", "", "", "", "", ""],
    ["S8", "suspect", "H1", "2024-03-08", "CSQU3054384", "+31 6 123", "", "", "", "", "", ""],
    ["S9", "suspect", "H1", "2024-03-09", "TGHU1234567", "call me", "", "", "", "", "", "12k"],
    ["S10", "suspect", "H1"],
    ["S11", "suspect", "H1", "2024-03-11", "", "", "Z9876543", "", "", "", "Oslo", "7"],
]  # fmt: skip


def reason(id_type: str, raw: str, **options: str) -> str:
    try:
        canonicalise(id_type, raw, **options)
    except InvalidIdentifier as error:
        return str(error)
    raise AssertionError("expected the vocabulary to refuse the value")


def test_bad_rows_are_counted_with_reasons_and_the_load_goes_on(tmp_path: Path) -> None:
    write_csv(tmp_path / "shipments.csv", HEADER, [*BAD_CSV_ROWS[:4], GOOD_CSV_ROWS[0],
                                                   *BAD_CSV_ROWS[4:]])  # fmt: skip
    records, report = load(write_mapping(tmp_path, MAPPING))

    assert [r.record_ref for r in records] == ["S1", "S9"]
    assert records[1].identifiers == (Identifier("container", "TGHU1234567"),)
    assert records[1].attributes == {"port": None, "declared_value": None}
    assert report.rows_read == 9
    assert report.records == 2
    assert report.identifiers == 5
    assert report.rows_rejected == 7
    assert report.fields_rejected == 5
    assert report.reasons == Counter({
        "role: unknown subject category; allowed: suspect, witness, victim, minor, associate, "
        "other": 1,
        "shipment_id: missing record reference": 1,
        "handling: unknown handling code; allowed: H0, H1, H2, H3": 1,
        "declared_on: not an ISO date (YYYY-MM-DD)": 1,
        f"container_no: {reason('container', 'CSQU3054384')}": 1,
        f"consignee_phone: {reason('phone', '+31 6 123')}": 1,
        f"consignee_phone: {reason('phone', 'call me', default_region='NL')}": 1,
        "value_eur: not a whole number": 1,
        "row: has 3 fields, the header has 12": 1,
        f"passport_no: {reason('passport', 'Z9876543')}": 1,
        "identifiers: no valid identifier": 2,
    })  # fmt: skip
    assert report.rows_read == report.records + report.rows_rejected
    assert [(r.row, r.field) for r in report.examples[:5]] == [
        (1, "role"), (2, "shipment_id"), (3, "handling"), (4, "declared_on"),
        (6, "container_no"),
    ]  # fmt: skip


def test_rejection_reasons_never_contain_the_raw_value(tmp_path: Path) -> None:
    write_csv(tmp_path / "shipments.csv", HEADER, BAD_CSV_ROWS)
    _, report = load(write_mapping(tmp_path, MAPPING))
    raw_values = {cell for row in BAD_CSV_ROWS for cell in row[1:] if len(cell) > 2}
    raw_values -= {"suspect", "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-08",
                   "2024-03-09", "2024-03-11"}  # fmt: skip
    assert {"perpetrator", "CSQU3054384", "+31 6 123", "call me", "Z9876543"} <= raw_values
    text = " ".join([*report.reasons, *(repr(example) for example in report.examples)])
    for raw in raw_values:
        assert raw not in text
        assert raw.replace(" ", "") not in text


def test_empty_identifier_cells_are_absent_not_rejected(tmp_path: Path) -> None:
    row = ["S1", "suspect", "H1", "2024-03-01", "CSQU3054383", " ; ", "", "NLD", "Jan", "", "", ""]
    write_csv(tmp_path / "shipments.csv", HEADER, [row])
    records, report = load(write_mapping(tmp_path, MAPPING))
    assert records[0].identifiers == (CONTAINER_1,)
    assert (report.fields_rejected, report.rows_rejected) == (0, 0)


def test_date_format_and_person_date_format_are_applied(tmp_path: Path) -> None:
    document = {
        **MAPPING,
        "recorded_on": {"column": "declared_on", "format": "%d/%m/%Y"},
        "identifiers": [{"type": "person", "name_column": "full_name",
                         "date_of_birth_column": "dob", "date_of_birth_format": "%m/%d/%Y"}],
    }  # fmt: skip
    rows = [
        ["S1", "suspect", "H1", "01/03/2024", "", "", "", "", "Jan de Vries", "02/03/1980", "", ""],
        ["S2", "suspect", "H1", "2024-03-01", "", "", "", "", "Jan de Vries", "02/03/1980", "", ""],
        ["S3", "suspect", "H1", "01/03/2024", "", "", "", "", "Jan de Vries", "1980-02-03", "", ""],
    ]
    write_csv(tmp_path / "shipments.csv", HEADER, rows)
    records, report = load(write_mapping(tmp_path, document))
    assert [(r.record_ref, r.recorded_on, r.identifiers) for r in records] == [
        ("S1", date(2024, 3, 1), (JAN,))
    ]
    assert report.reasons == Counter({
        "declared_on: not a date in the format %d/%m/%Y": 1,
        "full_name+dob: person: date of birth not in the format %m/%d/%Y": 1,
        "identifiers: no valid identifier": 1,
    })  # fmt: skip


def test_malformed_json_lines_are_row_rejections(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD_JSONL_ROWS[0]),
        '{"id": "S2", "role": "suspect", broken',
        "[1, 2, 3]",
        json.dumps({**GOOD_JSONL_ROWS[2], "id": {"nested": "ref"}}),
        json.dumps(GOOD_JSONL_ROWS[2]),
    ]
    (tmp_path / "shipments.jsonl").write_text("\n".join(lines), encoding="utf-8")
    records, report = load(write_mapping(tmp_path, JSONL_MAPPING))
    assert [r.record_ref for r in records] == ["S1", "S3"]
    assert report.reasons == Counter({
        "row: not valid JSON": 1,
        "row: not a JSON object": 1,
        "id: expected text or a whole number, not an object": 1,
    })  # fmt: skip
    assert [(e.row, e.field) for e in report.examples] == [(2, "row"), (3, "row"), (4, "id")]
    assert (report.rows_read, report.records, report.rows_rejected) == (5, 2, 3)


def test_report_fills_in_as_the_records_stream(tmp_path: Path) -> None:
    write_csv(tmp_path / "shipments.csv", HEADER, [*GOOD_CSV_ROWS, BAD_CSV_ROWS[0]])
    with load_records(write_mapping(tmp_path, MAPPING)) as load_:
        stream = iter(load_)
        next(stream)
        assert (load_.report.rows_read, load_.report.records) == (1, 1)
        rest = list(stream)
        assert len(rest) == 2
        assert (load_.report.rows_read, load_.report.rows_rejected) == (4, 1)
        with pytest.raises(RuntimeError, match="once"):
            iter(load_)


def test_closing_a_load_early_releases_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "shipments.csv", HEADER, GOOD_CSV_ROWS)
    load_ = load_records(write_mapping(tmp_path, MAPPING))
    next(iter(load_))
    load_.close()  # an open file left behind would raise ResourceWarning (an error here)
    gc.collect()
    assert load_.report.records == 1


def test_encoding_is_honoured_and_a_bad_byte_is_a_source_error(tmp_path: Path) -> None:
    header = ",".join(HEADER)
    row = "S1,suspect,H1,2024-03-01,CSQU3054383,,,,,,Göteborg,"
    (tmp_path / "shipments.csv").write_bytes(f"{header}\n{row}\n".encode("latin-1"))
    latin = {**MAPPING, "source": {"kind": "csv", "path": "shipments.csv",
                                    "encoding": "latin-1"}}  # fmt: skip
    records, _ = load(write_mapping(tmp_path, latin))
    assert records[0].attributes["port"] == "Göteborg"
    with pytest.raises(SourceError, match="not valid utf-8-sig near the start"):
        load(write_mapping(tmp_path, MAPPING))


def test_byte_order_mark_and_semicolon_delimiter_are_handled(tmp_path: Path) -> None:
    lines = [";".join(HEADER), ";".join(GOOD_CSV_ROWS[0])]
    (tmp_path / "shipments.csv").write_text("\ufeff" + "\r\n".join(lines), encoding="utf-8")
    document = {**MAPPING, "source": {"kind": "csv", "path": "shipments.csv",
                                       "delimiter": ";", "encoding": "utf-8"}}  # fmt: skip
    records, _ = load(write_mapping(tmp_path, document))
    assert records == EXPECTED[:1]


def test_missing_source_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open: No such file"):
        load_records(write_mapping(tmp_path, MAPPING))


def test_empty_csv_file_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "shipments.csv").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="expected a header row"):
        open_source(write_mapping(tmp_path, MAPPING))


def test_oversized_csv_field_rejects_its_row_and_the_load_goes_on(tmp_path: Path) -> None:
    giant = "x" * (csv.field_size_limit() + 10)
    rows = [GOOD_CSV_ROWS[0], [*GOOD_CSV_ROWS[1][:10], giant, ""], GOOD_CSV_ROWS[2]]
    write_csv(tmp_path / "shipments.csv", HEADER, rows)
    records, report = load(write_mapping(tmp_path, MAPPING))
    assert [r.record_ref for r in records] == ["S1", "S3"]
    assert report.reasons == Counter({"row: not valid CSV": 1})
    assert giant not in repr(report)


# -- memory --------------------------------------------------------------------------------


def write_generated_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "email", "value"])
        writer.writerows([f"R{i}", f"user{i}@example.org", str(i % 997)] for i in range(rows))


def peak_load_memory(folder: Path, rows: int) -> tuple[int, int]:
    write_generated_csv(folder / "generated.csv", rows)
    mapping = write_mapping(folder, {
        "dataset": "generated",
        "source": {"kind": "csv", "path": "generated.csv"},
        "record_ref": "ref",
        "subject_category": {"value": "suspect"},
        "handling_code": {"value": "H2"},
        "identifiers": [{"type": "email", "column": "email"}],
        "attributes": [{"name": "value", "column": "value", "type": "integer"}],
    })  # fmt: skip
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with load_records(mapping) as records:
            count = sum(1 for _ in records)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return count, peak


def test_csv_load_memory_does_not_grow_with_row_count(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small_rows, small_peak = peak_load_memory(tmp_path / "small", 10_000)
    large_rows, large_peak = peak_load_memory(tmp_path / "large", 100_000)
    assert (small_rows, large_rows) == (10_000, 100_000)
    # Loose bound: 10x the rows may cost at most 1.5x the peak plus 256 KiB of noise. Keeping
    # even 4 bytes per row would add 360 KiB over the extra 90,000 rows and fail.
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)


def test_a_reason_that_quotes_the_value_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def careless(id_type: str, raw: str, **options: str | None) -> str:
        raise InvalidIdentifier(id_type, f"{raw.strip()!r} is not acceptable")

    monkeypatch.setattr("connectors.loading.canonicalise", careless)
    write_csv(tmp_path / "shipments.csv", HEADER, [BAD_CSV_ROWS[5]])
    _, report = load(write_mapping(tmp_path, MAPPING))
    assert report.reasons == Counter({
        "container_no: container: '<value>' is not acceptable": 1,
        "consignee_phone: phone: '<value>' is not acceptable": 1,
        "identifiers: no valid identifier": 1,
    })  # fmt: skip
