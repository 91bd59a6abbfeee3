"""Mapping files: what a valid one loads into, and how each kind of mistake is named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.errors import ConnectorError, MappingError
from connectors.mapping import (
    CodeField,
    CsvSource,
    DateField,
    IdentifierField,
    JsonLinesSource,
    PersonField,
    SqlSource,
    load_mapping,
)
from connectors.sources import open_source
from connectors.vocabulary import IDENTIFIER_TYPES

FULL_EXAMPLE = """\
dataset: shipments
vocabulary: 1
description: Customs declarations
source:
  kind: csv
  path: data/shipments.csv
  delimiter: ";"
  encoding: latin-1
record_ref: shipment_id
subject_category: {column: role, map: {S: suspect, W: Witness}}
handling_code: {value: h1}
recorded_on: {column: declared_on, format: "%d/%m/%Y"}
identifiers:
  - {type: container, column: container_no}
  - {type: phone, column: consignee_phone, default_region: nl, split: ","}
  - {type: passport, column: passport_no, country_column: nationality}
  - {type: national_id, column: bsn, country: NL}
  - {type: person, name_column: full_name, date_of_birth_column: dob,
     date_of_birth_format: "%d.%m.%Y"}
attributes:
  - {name: port, column: port_of_entry, type: string}
  - {name: declared_value, column: value_eur, type: integer}
"""

BASE: dict[str, Any] = {
    "dataset": "shipments",
    "source": {"kind": "csv", "path": "shipments.csv"},
    "record_ref": "shipment_id",
    "subject_category": {"value": "suspect"},
    "handling_code": {"value": "H1"},
    "identifiers": [
        {"type": "container", "column": "container_no"},
        {"type": "phone", "column": "phone", "default_region": "NL"},
    ],
    "attributes": [{"name": "port", "column": "port", "type": "string"}],
}


def sql_source(**extra: object) -> dict[str, object]:
    return {"kind": "sql", "url": "sqlite:///x.db", "table": "t", **extra}


def write(tmp_path: Path, document: dict[str, Any] | str) -> Path:
    path = tmp_path / "mapping.yaml"
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def variant(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    change(document)
    return document


def test_full_example_loads_into_typed_fields(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, FULL_EXAMPLE))

    assert mapping.dataset == "shipments"
    assert mapping.description == "Customs declarations"
    assert mapping.source == CsvSource(
        path=tmp_path.resolve() / "data" / "shipments.csv", delimiter=";", encoding="iso8859-1"
    )
    assert mapping.record_ref == "shipment_id"
    assert mapping.subject_category == CodeField(
        "subject_category", "role", None, {"S": "suspect", "W": "witness"}
    )
    assert mapping.handling_code == CodeField("handling_code", None, "H1", {})
    assert mapping.recorded_on == DateField("recorded_on", "declared_on", None, "%d/%m/%Y")
    assert mapping.identifiers == (
        IdentifierField("identifiers[0]", "container", "container_no"),
        IdentifierField(
            "identifiers[1]", "phone", "consignee_phone", default_region="NL", split=","
        ),
        IdentifierField("identifiers[2]", "passport", "passport_no", country_column="nationality"),
        IdentifierField("identifiers[3]", "national_id", "bsn", country="NL"),
        PersonField("identifiers[4]", "full_name", "dob", "%d.%m.%Y"),
    )
    assert [(a.name, a.column, a.type) for a in mapping.attributes] == [
        ("port", "port_of_entry", "string"),
        ("declared_value", "value_eur", "integer"),
    ]
    assert mapping.columns() == (
        "shipment_id",
        "role",
        "declared_on",
        "container_no",
        "consignee_phone",
        "passport_no",
        "nationality",
        "bsn",
        "full_name",
        "dob",
        "port_of_entry",
        "value_eur",
    )


def test_jsonl_source_accepts_dotted_paths(tmp_path: Path) -> None:
    document = variant(
        lambda d: d.update(
            source={"kind": "jsonl", "path": "rows.jsonl"},
            identifiers=[{"type": "phone", "column": "consignee.phones", "default_region": "NL"}],
        )
    )
    mapping = load_mapping(write(tmp_path, document))
    assert mapping.source == JsonLinesSource(
        path=tmp_path.resolve() / "rows.jsonl", encoding="utf-8-sig"
    )
    assert mapping.identifiers[0] == IdentifierField(
        "identifiers[0]", "phone", "consignee.phones", default_region="NL"
    )


def test_relative_sqlite_url_resolves_against_the_mapping_folder(tmp_path: Path) -> None:
    document = variant(
        lambda d: d.update(
            source={
                "kind": "sql",
                "url": "sqlite:///db/watch.db",
                "table": "watch_entries",
                "batch_size": 50,
            }
        )
    )
    source = load_mapping(write(tmp_path, document)).source
    assert isinstance(source, SqlSource)
    assert source.url.database == str(tmp_path.resolve() / "db" / "watch.db")
    assert (source.table, source.schema, source.batch_size) == ("watch_entries", None, 50)


def test_unquoted_yaml_date_is_accepted_as_a_constant_recorded_on(tmp_path: Path) -> None:
    text = yaml.safe_dump(BASE, sort_keys=False) + "recorded_on: {value: 2024-03-01}\n"
    mapping = load_mapping(write(tmp_path, text))
    assert mapping.recorded_on == DateField("recorded_on", None, date(2024, 3, 1), None)


def expect_error(tmp_path: Path, document: dict[str, Any] | str) -> MappingError:
    path = write(tmp_path, document)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = caught.value
    assert error.mapping_file == path
    assert str(error).startswith(f"{path}: ")
    return error


@pytest.mark.parametrize(
    ("change", "key_path", "says"),
    [
        (lambda d: d.update(colour="red"), "colour", "unknown key; allowed here: dataset"),
        (
            lambda d: d["identifiers"][1].update(colum="x"),
            "identifiers[1].colum",
            "allowed here: type, column, split, default_region",
        ),
        (
            lambda d: d["identifiers"][0].update(type="pasport"),
            "identifiers[0].type",
            "expected one of: " + ", ".join(IDENTIFIER_TYPES),
        ),
        (
            lambda d: d["source"].update(kind="excel"),
            "source.kind",
            "expected one of: csv, jsonl, sql",
        ),
        (
            lambda d: d.update(source=sql_source(query="SELECT * FROM t")),
            "source.query",
            "raw SQL is never accepted",
        ),
        (lambda d: d.update(source=sql_source(where="1=1")), "source.where", "raw SQL"),
        (lambda d: d.update(sql="SELECT 1"), "sql", "raw SQL"),
        (
            lambda d: d.update(source=sql_source(table="t; DROP TABLE t")),
            "source.table",
            "SQL table name",
        ),
        (
            lambda d: (
                d.update(source=sql_source()) or d["identifiers"][0].update(column="upper(x)")
            ),
            "identifiers[0].column",
            "SQL column name",
        ),
        (lambda d: d.pop("record_ref"), "record_ref", "missing required key"),
        (lambda d: d.update(identifiers=[]), "identifiers", "at least one identifier"),
        (
            lambda d: d.update(subject_category={"value": "perpetrator"}),
            "subject_category.value",
            "suspect, witness, victim, minor, associate, other",
        ),
        (
            lambda d: d.update(subject_category={"column": "role", "map": {"P": "perp"}}),
            "subject_category.map.P",
            "expected one of: suspect",
        ),
        (
            lambda d: d.update(handling_code={"value": "H7"}),
            "handling_code.value",
            "H0, H1, H2, H3",
        ),
        (
            lambda d: d.update(handling_code={"column": "h", "value": "H1"}),
            "handling_code",
            "exactly one of column or value",
        ),
        (
            lambda d: d.update(recorded_on={"column": "d", "format": "%Y"}),
            "recorded_on.format",
            "day, month and year",
        ),
        (lambda d: d.update(recorded_on={"value": "yesterday"}), "recorded_on.value", "ISO date"),
        (
            lambda d: d["identifiers"][0].update(country="NL"),
            "identifiers[0].country",
            "unknown key",
        ),
        (
            lambda d: d["identifiers"].append(
                {"type": "passport", "column": "p", "country": "NL", "country_column": "n"}
            ),
            "identifiers[2]",
            "at most one of country or country_column",
        ),
        (
            lambda d: d["identifiers"].append({"type": "container", "column": "container_no"}),
            "identifiers[2]",
            "the same identifier as identifiers[0]",
        ),
        (
            lambda d: d["identifiers"].append({"type": "person", "name_column": "n"}),
            "identifiers[2].date_of_birth_column",
            "missing required key",
        ),
        (
            lambda d: d["attributes"].append({"name": "port", "column": "p2", "type": "string"}),
            "attributes[1].name",
            "already used by attributes[0]",
        ),
        (
            lambda d: d["attributes"][0].update(type="float"),
            "attributes[0].type",
            "expected one of: string, integer",
        ),
        (lambda d: d.update(dataset="Ship Ments"), "dataset", "[a-z][a-z0-9_]*"),
        (lambda d: d.update(vocabulary=2), "vocabulary", "vocabulary 1 only"),
        (lambda d: d["source"].update(encoding="klingon"), "source.encoding", "unknown codec"),
        (lambda d: d["source"].update(delimiter=";;"), "source.delimiter", "one character"),
        (
            lambda d: d["source"].update(kind="jsonl", delimiter=";"),
            "source.delimiter",
            "allowed here: kind, path, encoding",
        ),
        (lambda d: d.update(source=sql_source(batch_size=0)), "source.batch_size", "1 to 1000000"),
        (
            lambda d: d["identifiers"][1].update(default_region=True),
            "identifiers[1].default_region",
            "quote the value",
        ),
    ],
)
def test_mapping_error_names_the_key_path_and_what_is_allowed(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], key_path: str, says: str
) -> None:
    error = expect_error(tmp_path, variant(change))
    assert error.key_path == key_path
    assert says in error.problem
    assert f": {key_path}: " in str(error)


def test_sql_url_with_a_password_is_never_echoed(tmp_path: Path) -> None:
    secret = "s3cr3t-pw"
    error = expect_error(
        tmp_path,
        variant(
            lambda d: d.update(
                source={
                    "kind": "sql",
                    "url": f"postgresql+psycopg://u:{secret}@h/db",
                    "table": "t",
                },
                identifiers=[{"type": "email", "column": "bad name"}],
            )
        ),
    )
    assert error.key_path == "identifiers[0].column"
    assert secret not in str(error)
    source = load_mapping(
        write(
            tmp_path,
            variant(
                lambda d: d.update(
                    source={
                        "kind": "sql",
                        "url": f"postgresql+psycopg://u:{secret}@h/db",
                        "table": "t",
                    }
                )
            ),
        )
    ).source
    assert secret not in repr(source)


def test_unparseable_sql_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    error = expect_error(
        tmp_path,
        variant(
            lambda d: d.update(
                source={"kind": "sql", "url": "not a url with secret-token", "table": "t"}
            )
        ),
    )
    assert error.key_path == "source.url"
    assert "secret-token" not in str(error)


def test_duplicate_yaml_key_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    text = yaml.safe_dump(BASE, sort_keys=False) + "dataset: other\n"
    error = expect_error(tmp_path, text)
    assert "duplicate key 'dataset'" in error.problem


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = expect_error(tmp_path, "dataset: [unclosed\nsource: x\n")
    assert error.problem.startswith("not valid YAML:")
    assert "line" in error.problem


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    error = expect_error(tmp_path, "- just\n- a list\n")
    assert "expected a mapping with keys: dataset, source" in error.problem


def test_missing_mapping_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read the mapping file") as caught:
        load_mapping(tmp_path / "absent.yaml")
    assert isinstance(caught.value, ConnectorError)


def test_missing_csv_column_is_named_with_its_key_path(tmp_path: Path) -> None:
    (tmp_path / "shipments.csv").write_text(
        "shipment_id,container_no,port\nS1,x,y\n", encoding="utf-8"
    )
    mapping = load_mapping(write(tmp_path, BASE))
    with pytest.raises(MappingError) as caught:
        open_source(mapping)
    assert caught.value.key_path == "identifiers[1].column"
    assert "column 'phone' is not in the CSV header of shipments.csv" in str(caught.value)
    assert "'shipment_id', 'container_no', 'port'" in caught.value.problem
