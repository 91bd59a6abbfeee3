"""Validation of a mapping document into ``connectors.mapping_types``: every key checked, every
mistake raised as a ``MappingError`` naming the key path and what is allowed there. Internal:
``connectors.mapping.load_mapping`` is the public entry point and documents the format.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from connectors.errors import MappingError
from connectors.mapping_types import (
    ATTRIBUTE_TYPES,
    COUNTRY_TYPES,
    HANDLING_CODES,
    RAW_SQL_KEYS,
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
from connectors.vocabulary import IDENTIFIER_TYPES, VOCABULARY_VERSION

__all__ = ["parse_mapping"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_JSON_PATH = re.compile(r"[^.\s][^.]*(\.[^.\s][^.]*)*")
_COUNTRY = re.compile(r"[A-Za-z]{2,3}")


def parse_mapping(mapping_file: Path, document: object) -> DatasetMapping:
    """Validate a mapping document read from ``mapping_file``."""
    return _Parser(mapping_file).mapping(document)


class _Parser:
    def __init__(self, mapping_file: Path) -> None:
        self.file = mapping_file
        self.folder = mapping_file.resolve().parent
        self.kind = ""

    def fail(self, key_path: str, problem: str) -> NoReturn:
        raise MappingError(self.file, key_path, problem)

    def mapping(self, document: object) -> DatasetMapping:
        top = self.table(
            document,
            "",
            required=(
                "dataset",
                "source",
                "record_ref",
                "subject_category",
                "handling_code",
                "identifiers",
            ),
            optional=("vocabulary", "description", "recorded_on", "attributes"),
        )
        if "vocabulary" in top and (
            isinstance(top["vocabulary"], bool) or top["vocabulary"] != VOCABULARY_VERSION
        ):
            self.fail("vocabulary", f"this node implements vocabulary {VOCABULARY_VERSION} only")
        description = top.get("description")
        if description is not None and not isinstance(description, str):
            self.fail("description", "expected text")
        source = self.source(top["source"])
        recorded_on = top.get("recorded_on")
        return DatasetMapping(
            mapping_file=self.file,
            dataset=self.text(top["dataset"], "dataset", _NAME, "a name matching [a-z][a-z0-9_]*"),
            source=source,
            record_ref=self.column(top["record_ref"], "record_ref"),
            subject_category=self.code(
                top["subject_category"], "subject_category", SUBJECT_CATEGORIES, str.casefold
            ),
            handling_code=self.code(
                top["handling_code"], "handling_code", HANDLING_CODES, str.upper
            ),
            recorded_on=None if recorded_on is None else self.date(recorded_on, "recorded_on"),
            identifiers=self.identifiers(top["identifiers"]),
            attributes=self.attributes(top.get("attributes", [])),
            description=description,
        )

    # -- structure ---------------------------------------------------------------------------

    def table(
        self,
        value: object,
        key_path: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> dict[str, Any]:
        required, optional = tuple(required), tuple(optional)
        allowed = required + optional
        if not isinstance(value, dict):
            self.fail(key_path, f"expected a mapping with keys: {', '.join(allowed)}")
        for key in value:
            if key not in allowed:
                where = _join(key_path, str(key))
                if str(key).lower() in RAW_SQL_KEYS:
                    self.fail(
                        where,
                        "raw SQL is never accepted from a mapping; map a table or "
                        "a view (put joins and filters in a database view)",
                    )
                self.fail(where, f"unknown key; allowed here: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                self.fail(_join(key_path, key), "missing required key")
        return value

    def items(self, value: object, key_path: str) -> list[object]:
        if not isinstance(value, list):
            self.fail(key_path, "expected a list")
        return value

    def text(
        self,
        value: object,
        key_path: str,
        pattern: re.Pattern[str] | None = None,
        what: str = "text",
    ) -> str:
        if isinstance(value, bool):
            self.fail(
                key_path,
                f"expected {what}, got a boolean (YAML reads yes/no/on/off as "
                "booleans: quote the value)",
            )
        if not isinstance(value, str) or not value:
            self.fail(key_path, f"expected {what}")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key_path, f"expected {what}")
        return value

    def column(self, value: object, key_path: str) -> str:
        if self.kind == "sql":
            return self.text(
                value, key_path, _SQL_NAME, "a SQL column name (letters, digits, underscore)"
            )
        if self.kind == "jsonl":
            return self.text(value, key_path, _JSON_PATH, "a key or dotted path (a.b.c)")
        return self.text(value, key_path, None, "a column name from the CSV header")

    # -- source ------------------------------------------------------------------------------

    def source(self, value: object) -> Source:
        if not isinstance(value, dict):
            self.fail("source", f"expected a mapping with a kind: {', '.join(SOURCE_KINDS)}")
        kind = value.get("kind")
        if kind not in SOURCE_KINDS:
            self.fail("source.kind", f"expected one of: {', '.join(SOURCE_KINDS)}")
        self.kind = kind
        if kind == "sql":
            spec = self.table(
                value,
                "source",
                required=("kind", "url", "table"),
                optional=("schema", "batch_size"),
            )
            schema = spec.get("schema")
            return SqlSource(
                url=self.url(spec["url"]),
                table=self.text(spec["table"], "source.table", _SQL_NAME, "a SQL table name"),
                schema=None
                if schema is None
                else self.text(schema, "source.schema", _SQL_NAME, "a SQL schema name"),
                batch_size=self.batch_size(spec.get("batch_size", 1000)),
            )
        optional = ("encoding", "delimiter") if kind == "csv" else ("encoding",)
        spec = self.table(value, "source", required=("kind", "path"), optional=optional)
        path = self.folder / self.text(spec["path"], "source.path", None, "a file path")
        encoding = self.encoding(spec.get("encoding", "utf-8-sig"))
        if kind == "jsonl":
            return JsonLinesSource(path=path, encoding=encoding)
        delimiter = self.text(spec.get("delimiter", ","), "source.delimiter")
        if len(delimiter) != 1 or delimiter in '\r\n"':
            self.fail("source.delimiter", "expected one character (not a quote or line break)")
        return CsvSource(path=path, delimiter=delimiter, encoding=encoding)

    def encoding(self, value: object) -> str:
        name = self.text(value, "source.encoding", None, "a codec name such as utf-8 or cp1252")
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            self.fail(
                "source.encoding",
                "unknown codec; use a Python codec name such as utf-8, latin-1 or cp1252",
            )
        return "utf-8-sig" if codec == "utf-8" else codec

    def url(self, value: object) -> URL:
        # Never echo the URL: it may carry a password.
        text = self.text(value, "source.url", None, "a SQLAlchemy URL")
        try:
            url = make_url(text)
        except ArgumentError:
            self.fail(
                "source.url",
                "not a SQLAlchemy URL (e.g. sqlite:///watch.db or postgresql+psycopg://host/db)",
            )
        database = url.database
        if (
            url.get_backend_name() == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            and not Path(database).is_absolute()
        ):
            url = url.set(database=str(self.folder / database))
        return url

    def batch_size(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
            self.fail("source.batch_size", "expected a whole number from 1 to 1000000")
        return value

    # -- fields ------------------------------------------------------------------------------

    def code(
        self,
        value: object,
        key_path: str,
        allowed: tuple[str, ...],
        normalise: Callable[[str], str],
    ) -> CodeField:
        spec = self.table(value, key_path, optional=("column", "value", "map"))
        self.one_of(spec, key_path, "column", "value")
        listing = f"expected one of: {', '.join(allowed)}"
        if "value" in spec:
            if "map" in spec:
                self.fail(f"{key_path}.map", "only for a column")
            constant = normalise(self.text(spec["value"], f"{key_path}.value", None, listing))
            if constant not in allowed:
                self.fail(f"{key_path}.value", listing)
            return CodeField(key_path, None, constant, {})
        codes: dict[str, str] = {}
        raw_codes = spec.get("map", {})
        if not isinstance(raw_codes, dict):
            self.fail(f"{key_path}.map", "expected a mapping of local codes to allowed values")
        for local, target in raw_codes.items():
            where = f"{key_path}.map.{local}"
            canonical = normalise(self.text(target, where, None, listing))
            if canonical not in allowed:
                self.fail(where, listing)
            codes[str(local).strip()] = canonical
        return CodeField(key_path, self.column(spec["column"], f"{key_path}.column"), None, codes)

    def date(self, value: object, key_path: str) -> DateField:
        spec = self.table(value, key_path, optional=("column", "value", "format"))
        self.one_of(spec, key_path, "column", "value")
        fmt = spec.get("format")
        if fmt is not None:
            fmt = self.date_format(fmt, f"{key_path}.format")
        if "value" not in spec:
            return DateField(key_path, self.column(spec["column"], f"{key_path}.column"), None, fmt)
        constant = spec["value"]
        if isinstance(constant, str):
            try:
                constant = date.fromisoformat(constant)
            except ValueError:
                self.fail(f"{key_path}.value", "expected an ISO date (YYYY-MM-DD)")
        if isinstance(constant, datetime) or not isinstance(constant, date):
            self.fail(f"{key_path}.value", "expected an ISO date (YYYY-MM-DD)")
        if fmt is not None:
            self.fail(f"{key_path}.format", "only for a column")
        return DateField(key_path, None, constant, None)

    def date_format(self, value: object, key_path: str) -> str:
        fmt = self.text(value, key_path, None, "a strptime format such as %d/%m/%Y")
        sample = datetime(2001, 12, 31)
        try:
            ok = "%" in fmt and datetime.strptime(sample.strftime(fmt), fmt) == sample
        except ValueError:
            ok = False
        if not ok:
            self.fail(
                key_path, "expected a strptime format with day, month and year, such as %d/%m/%Y"
            )
        return fmt

    def one_of(self, spec: dict[str, Any], key_path: str, first: str, second: str) -> None:
        if (first in spec) == (second in spec):
            self.fail(key_path, f"expected exactly one of {first} or {second}")

    def identifiers(self, value: object) -> tuple[IdentifierField | PersonField, ...]:
        entries = self.items(value, "identifiers")
        if not entries:
            self.fail("identifiers", "expected at least one identifier")
        fields: list[IdentifierField | PersonField] = []
        seen: dict[tuple[str, ...], str] = {}
        for index, entry in enumerate(entries):
            field = self.identifier(entry, f"identifiers[{index}]")
            key = (field.id_type, *(column for _, column in _columns_of(field)))
            if key in seen:
                self.fail(field.key_path, f"the same identifier as {seen[key]}")
            seen[key] = field.key_path
            fields.append(field)
        return tuple(fields)

    def identifier(self, value: object, key_path: str) -> IdentifierField | PersonField:
        if not isinstance(value, dict):
            self.fail(key_path, "expected a mapping with a type and a column")
        id_type = value.get("type")
        if id_type not in IDENTIFIER_TYPES:
            self.fail(f"{key_path}.type", f"expected one of: {', '.join(IDENTIFIER_TYPES)}")
        if id_type == "person":
            spec = self.table(
                value,
                key_path,
                required=("type", "name_column", "date_of_birth_column"),
                optional=("date_of_birth_format",),
            )
            fmt = spec.get("date_of_birth_format")
            if fmt is not None:
                fmt = self.date_format(fmt, f"{key_path}.date_of_birth_format")
            return PersonField(
                key_path,
                self.column(spec["name_column"], f"{key_path}.name_column"),
                self.column(spec["date_of_birth_column"], f"{key_path}.date_of_birth_column"),
                fmt,
            )
        optional = ["split"]
        if id_type == "phone":
            optional.append("default_region")
        if id_type in COUNTRY_TYPES:
            optional += ["country", "country_column"]
        spec = self.table(value, key_path, required=("type", "column"), optional=optional)
        if "country" in spec and "country_column" in spec:
            self.fail(key_path, "expected at most one of country or country_column")

        def option(key: str, parse: Callable[[object, str], str]) -> str | None:
            return None if spec.get(key) is None else parse(spec[key], f"{key_path}.{key}")

        return IdentifierField(
            key_path,
            id_type,
            self.column(spec["column"], f"{key_path}.column"),
            default_region=option("default_region", self.country),
            country=option("country", self.country),
            country_column=option("country_column", self.column),
            split=option("split", self.text),
        )

    def country(self, value: object, key_path: str) -> str:
        return self.text(value, key_path, _COUNTRY, "an ISO 3166 country code").upper()

    def attributes(self, value: object) -> tuple[AttributeField, ...]:
        fields: list[AttributeField] = []
        names: dict[str, str] = {}
        for index, entry in enumerate(self.items(value, "attributes")):
            key_path = f"attributes[{index}]"
            spec = self.table(entry, key_path, required=("name", "column", "type"))
            name = self.text(
                spec["name"], f"{key_path}.name", _NAME, "a name matching [a-z][a-z0-9_]*"
            )
            if name in names:
                self.fail(f"{key_path}.name", f"already used by {names[name]}")
            names[name] = key_path
            if spec["type"] not in ATTRIBUTE_TYPES:
                self.fail(f"{key_path}.type", f"expected one of: {', '.join(ATTRIBUTE_TYPES)}")
            column = self.column(spec["column"], f"{key_path}.column")
            fields.append(AttributeField(key_path, name, column, spec["type"]))
        return tuple(fields)


def _columns_of(field: IdentifierField | PersonField) -> list[tuple[str, str]]:
    if isinstance(field, PersonField):
        return [
            ("name_column", field.name_column),
            ("date_of_birth_column", field.date_of_birth_column),
        ]
    return [("column", field.column)]


def _join(key_path: str, key: str) -> str:
    return f"{key_path}.{key}" if key_path else key
