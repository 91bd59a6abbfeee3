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

The typed result lives in ``connectors.mapping_types`` and is re-exported here. This module
imports ``connectors.vocabulary`` for the identifier types and the vocabulary
version, so that a mapping is refused on load rather than row by row.
"""

from __future__ import annotations

from pathlib import Path

from connectors._mapping_parser import parse_mapping, read_yaml
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
    return parse_mapping(mapping_file, read_yaml(mapping_file))
