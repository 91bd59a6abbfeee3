"""The typed form of a dataset mapping: where a dataset's rows are and which columns say what.
``connectors.mapping.load_mapping`` builds these from a YAML file; sources and the loader read
them. Every field keeps the ``key_path`` it came from so later errors can name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from sqlalchemy import URL

from connectors.errors import MappingError

__all__ = [
    "ATTRIBUTE_TYPES",
    "COUNTRY_TYPES",
    "HANDLING_CODES",
    "RAW_SQL_KEYS",
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
]

SOURCE_KINDS = ("csv", "jsonl", "sql")
SUBJECT_CATEGORIES = ("suspect", "witness", "victim", "minor", "associate", "other")
HANDLING_CODES = ("H0", "H1", "H2", "H3")
ATTRIBUTE_TYPES = ("string", "integer")
# Types whose canonical form carries a country that the value itself may not.
COUNTRY_TYPES = ("passport", "national_id", "company", "vehicle")
RAW_SQL_KEYS = frozenset({"query", "sql", "where", "filter", "select", "statement", "raw_sql"})


@dataclass(frozen=True, slots=True)
class CsvSource:
    path: Path
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    kind: ClassVar[str] = "csv"


@dataclass(frozen=True, slots=True)
class JsonLinesSource:
    path: Path
    encoding: str = "utf-8-sig"
    kind: ClassVar[str] = "jsonl"


@dataclass(frozen=True, slots=True)
class SqlSource:
    """``url`` is a SQLAlchemy ``URL``: its ``repr`` and ``str`` mask any password."""

    url: URL
    table: str
    schema: str | None = None
    batch_size: int = 1000
    kind: ClassVar[str] = "sql"


Source = CsvSource | JsonLinesSource | SqlSource


@dataclass(frozen=True, slots=True)
class CodeField:
    """A subject category or handling code: a constant ``value`` or a ``column`` whose cells
    are translated through ``codes`` (local code -> allowed value) when they are listed."""

    key_path: str
    column: str | None
    value: str | None
    codes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DateField:
    key_path: str
    column: str | None
    value: date | None
    format: str | None


@dataclass(frozen=True, slots=True)
class IdentifierField:
    key_path: str
    id_type: str
    column: str
    default_region: str | None = None
    country: str | None = None
    country_column: str | None = None
    split: str | None = None


@dataclass(frozen=True, slots=True)
class PersonField:
    key_path: str
    name_column: str
    date_of_birth_column: str
    date_of_birth_format: str | None = None
    id_type: ClassVar[str] = "person"


@dataclass(frozen=True, slots=True)
class AttributeField:
    key_path: str
    name: str
    column: str
    type: str


@dataclass(frozen=True, slots=True)
class DatasetMapping:
    mapping_file: Path
    dataset: str
    source: Source
    record_ref: str
    subject_category: CodeField
    handling_code: CodeField
    recorded_on: DateField | None
    identifiers: tuple[IdentifierField | PersonField, ...]
    attributes: tuple[AttributeField, ...]
    description: str | None = None

    def column_refs(self) -> tuple[tuple[str, str], ...]:
        """Every ``(key_path, column)`` the mapping reads, in file order."""
        refs: list[tuple[str, str]] = [("record_ref", self.record_ref)]
        for code in (self.subject_category, self.handling_code, self.recorded_on):
            if code is not None and code.column is not None:
                refs.append((f"{code.key_path}.column", code.column))
        for ident in self.identifiers:
            if isinstance(ident, PersonField):
                refs.append((f"{ident.key_path}.name_column", ident.name_column))
                refs.append((f"{ident.key_path}.date_of_birth_column", ident.date_of_birth_column))
            else:
                refs.append((f"{ident.key_path}.column", ident.column))
                if ident.country_column is not None:
                    refs.append((f"{ident.key_path}.country_column", ident.country_column))
        refs.extend((f"{attr.key_path}.column", attr.column) for attr in self.attributes)
        return tuple(refs)

    def columns(self) -> tuple[str, ...]:
        """The distinct source columns the mapping reads, in file order."""
        return tuple(dict.fromkeys(column for _, column in self.column_refs()))

    def error(self, key_path: str, problem: str) -> MappingError:
        return MappingError(self.mapping_file, key_path, problem)
