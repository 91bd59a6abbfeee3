"""Declarative mapping files: one YAML document per dataset saying where its rows are and which
columns hold the record reference, the identifiers, the attributes and the record's
category, handling code and date. ``load_mapping`` validates a file into a frozen
``DatasetMapping``; ``connectors.sources`` turns that into a stream of rows.

A complete example (``docs/connectors.md`` explains every key)::

    dataset: shipments                 # [a-z][a-z0-9_]*
    vocabulary: 1                      # optional; must equal VOCABULARY_VERSION
    description: Customs declarations  # optional, free text
    source:
      kind: csv                        # csv | jsonl | sql
      path: shipments.csv              # relative to this file's folder
      delimiter: ","                   # csv only; one character
      encoding: utf-8                  # csv/jsonl; a UTF-8 byte-order mark is skipped
      # kind: sql -> url: sqlite:///watch.db (relative sqlite paths: this folder),
      #              table: watch_entries, schema: (optional), batch_size: 1000
    record_ref: shipment_id            # the column holding the local, opaque reference
    subject_category: {column: role, map: {S: suspect, W: witness}}  # or {value: suspect}
    handling_code: {value: H1}         # or {column: ...}; H0..H3
    recorded_on: {column: declared_on, format: "%d/%m/%Y"}  # optional; ISO date by default
    identifiers:
      - {type: container, column: container_no}
      - {type: phone, column: consignee_phone, default_region: NL, split: ";"}
      - {type: passport, column: passport_no, country_column: nationality}  # or country: NLD
      - {type: person, name_column: full_name, date_of_birth_column: dob}
    attributes:
      - {name: port, column: port_of_entry, type: string}
      - {name: declared_value, column: value_eur, type: integer}

Unknown keys are refused, and so is anything that looks like SQL text (``query:``, ``where:``):
a SQL source maps a table or a view, turned into a SQLAlchemy Core ``select()``. For ``jsonl``
a column is a dotted path into nested objects (``consignee.phone``); a list met on the way, or
at the end, yields every item. SQL table and column names must be plain identifiers; they are
checked against the database when the source is opened.

YAML is read strictly (a duplicated key is an error, not "last one wins"). The typed result is
defined in ``connectors.mapping_types`` and re-exported here; the checks live in
``connectors._mapping_parser``, which reads the identifier types and the vocabulary version
from ``connectors.vocabulary`` so that a mapping is refused on load rather than row by row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from connectors._mapping_parser import parse_mapping
from connectors.errors import MappingError
from connectors.mapping_types import (
    ATTRIBUTE_TYPES,
    HANDLING_CODES,
    SOURCE_KINDS,
    SUBJECT_CATEGORIES,
    AttributeField,
    CodeField,
    CsvSource,
    DatasetMapping,
    DateField,
    IdentifierField,
    JsonLinesSource,
    PersonField,
    Source,
    SqlSource,
)

__all__ = [
    "ATTRIBUTE_TYPES",
    "HANDLING_CODES",
    "SOURCE_KINDS",
    "SUBJECT_CATEGORIES",
    "AttributeField",
    "CodeField",
    "CsvSource",
    "DatasetMapping",
    "DateField",
    "IdentifierField",
    "JsonLinesSource",
    "PersonField",
    "Source",
    "SqlSource",
    "load_mapping",
]


def load_mapping(path: str | Path) -> DatasetMapping:
    """Read and validate one mapping file; raise ``MappingError`` naming the key path."""
    mapping_file = Path(path)
    return parse_mapping(mapping_file, _read_yaml(mapping_file))


def _read_yaml(mapping_file: Path) -> object:
    """The YAML document in ``mapping_file``, refusing duplicate keys."""
    try:
        text = mapping_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(mapping_file, "", f"cannot read the mapping file: {_why(exc)}") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MappingError(mapping_file, "", f"not valid YAML: {_yaml_problem(exc)}") from exc


def _why(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return type(exc).__name__


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of keeping the last one silently."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            continue  # unhashable key: construct_mapping reports it
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
