"""Loading: turn a mapped source's rows into canonical ``Record``s, counting every rejection.

Rules, applied per row (``docs/connectors.md`` has the full table):

- the row is rejected as a whole, with one reason, when it has no record reference, a subject
  category or handling code outside the vocabulary, or a missing or unreadable date (when
  ``recorded_on`` is mapped), or when it is unreadable at source level (malformed JSON, a CSV
  row with the wrong number of fields); checks stop at the first failure;
- otherwise each identifier value is canonicalised; an invalid one is dropped and counted as a
  field rejection (the reason from ``InvalidIdentifier``, never the value); empty cells are
  simply absent; a person identifier needs both its name and its date of birth;
- a row left with no valid identifier is rejected as a whole ("no valid identifier") after its
  identifier field rejections were counted;
- attributes are typed: an ``integer`` cell that is not a whole number is a field rejection
  and becomes ``None``.

So ``report.rows_read == report.records + report.rows_rejected`` once the load is exhausted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from connectors.mapping_types import (
    HANDLING_CODES,
    SUBJECT_CATEGORIES,
    AttributeField,
    CodeField,
    DatasetMapping,
    DateField,
    IdentifierField,
    PersonField,
)
from connectors.records import Identifier, LoadReport, Record, Rejection
from connectors.sources import open_source
from connectors.vocabulary import InvalidIdentifier, canonicalise, canonicalise_person

__all__ = ["RecordLoad", "load_records"]

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_BOUND = 10**18  # integer attributes fit a signed 64-bit column with room to sum a few
Values = dict[str, object]
Reject = Callable[[int, str, str], None]


def load_records(mapping: DatasetMapping, *, shard: tuple[int, int] | None = None) -> RecordLoad:
    """Open the mapping's source (a bad mapping raises ``MappingError`` here) and return the
    lazy load of its records. Iterate it once, to the end or inside ``with``.

    ``shard=(index, count)`` keeps only the rows whose position modulo ``count`` is ``index``,
    so that ``count`` processes can share the canonicalisation of one source."""
    return RecordLoad(mapping, shard=shard)


class RecordLoad:
    """The records of one load, streamed. ``report`` fills in as iteration proceeds and is
    complete once the records are exhausted. A load iterates its source once."""

    def __init__(self, mapping: DatasetMapping, *, shard: tuple[int, int] | None = None) -> None:
        if shard is not None and not 0 <= shard[0] < shard[1]:
            raise ValueError(f"shard index must be in [0, count); got {shard}")
        self._shard = shard
        self.mapping = mapping
        self.report = LoadReport(dataset=mapping.dataset)
        self._build = _RowMapper(mapping, self.report)
        self._rows = open_source(mapping, on_malformed=self._malformed)
        self._stream: Generator[Record, None, None] | None = None
        self._closed = False

    def __iter__(self) -> Iterator[Record]:
        if self._stream is not None or self._closed:
            raise RuntimeError("a RecordLoad streams its source once; call load_records again")
        self._stream = self._records()
        return self._stream

    def _records(self) -> Generator[Record, None, None]:
        report, build = self.report, self._build
        index, count = self._shard or (0, 1)
        for row, values in self._rows:
            if count > 1 and (row - 1) % count != index:
                continue
            report.rows_read += 1
            record = build(row, values)
            if record is not None:
                report.records += 1
                report.identifiers += len(record.identifiers)
                yield record

    def close(self) -> None:
        """Release the source's file or connection before the records are exhausted."""
        self._closed = True
        if self._stream is not None:
            self._stream.close()
        self._rows.close()

    def __enter__(self) -> RecordLoad:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _malformed(self, row: int, reason: str) -> None:
        if self._shard is not None and (row - 1) % self._shard[1] != self._shard[0]:
            return
        self.report.rows_read += 1
        self._build.reject_row(row, "row", reason)


class _Rejected(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


class _RowMapper:
    """The mapping compiled once into per-column readers, applied to every row."""

    def __init__(self, mapping: DatasetMapping, report: LoadReport) -> None:
        self.dataset = mapping.dataset
        self.report = report
        reject = self.reject_field
        self.ref_column = mapping.record_ref
        self.category = _code_reader(
            mapping.subject_category, SUBJECT_CATEGORIES, str.casefold, "subject category"
        )
        self.handling = _code_reader(
            mapping.handling_code, HANDLING_CODES, str.upper, "handling code"
        )
        self.recorded_on = _date_reader(mapping.recorded_on)
        self.identifiers = [
            _person_reader(field, reject)
            if isinstance(field, PersonField)
            else _identifier_reader(field, reject)
            for field in mapping.identifiers
        ]
        self.attributes = [
            (field.name, _attribute_reader(field, reject)) for field in mapping.attributes
        ]

    def __call__(self, row: int, values: Values) -> Record | None:
        try:
            ref = values.get(self.ref_column)
            ref = ref.strip() if ref.__class__ is str else _text(ref, self.ref_column)
            if not ref:
                raise _Rejected(self.ref_column, "missing record reference")
            category = self.category(values)
            handling = self.handling(values)
            recorded_on = self.recorded_on(values)
        except _Rejected as rejected:
            self.reject_row(row, rejected.field, rejected.reason)
            return None
        found: list[Identifier] = []
        for read in self.identifiers:
            read(row, values, found)
        if not found:
            self.reject_row(row, "identifiers", "no valid identifier")
            return None
        return Record(
            dataset=self.dataset,
            record_ref=ref,
            identifiers=tuple(dict.fromkeys(found)) if len(found) > 1 else (found[0],),
            attributes={name: read(row, values) for name, read in self.attributes},
            subject_category=category,
            handling_code=handling,
            recorded_on=recorded_on,
        )

    def reject_row(self, row: int, field: str, reason: str) -> None:
        self.report.reject(Rejection(self.dataset, row, field, reason), whole_row=True)

    def reject_field(self, row: int, field: str, reason: str) -> None:
        self.report.reject(Rejection(self.dataset, row, field, reason), whole_row=False)


def _text(value: object, field: str) -> str | None:
    """A cell as stripped text, ``None`` when empty; whole numbers and dates are spelled out."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    raise _Rejected(field, f"expected text or a whole number, not {_kind(value)}")


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", float: "a decimal number"}.get(
        type(value), type(value).__name__
    )


def _code_reader(
    field: CodeField, allowed: tuple[str, ...], normalise: Callable[[str], str], what: str
) -> Callable[[Values], str]:
    constant = field.value
    if constant is not None:
        return lambda values: constant
    column, codes, known = field.column or "", dict(field.codes), frozenset(allowed)
    unknown = f"unknown {what}; allowed: {', '.join(allowed)}"

    def read(values: Values) -> str:
        text = _text(values.get(column), column)
        if text is None:
            raise _Rejected(column, f"missing {what}")
        code = codes.get(text)
        if code is None:
            code = normalise(text)
            if code not in known:
                raise _Rejected(column, unknown)
        return code

    return read


def _date_reader(field: DateField | None) -> Callable[[Values], date | None]:
    if field is None:
        return lambda values: None
    constant = field.value
    if constant is not None:
        return lambda values: constant
    column, fmt = field.column or "", field.format

    def read(values: Values) -> date:
        value = values.get(column)
        if isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        text = _text(value, column)
        if text is None:
            raise _Rejected(column, "missing date")
        parsed = _parse_date(text, fmt)
        if parsed is None:
            raise _Rejected(
                column, f"not a date in the format {fmt}" if fmt else "not an ISO date (YYYY-MM-DD)"
            )
        return parsed

    return read


def _parse_date(text: str, fmt: str | None) -> date | None:
    try:
        if fmt is not None:
            return datetime.strptime(text, fmt).date()
        if len(text) <= 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _scrub(reason: str, *secrets: str | None) -> str:
    """Belt and braces: a reason must never quote the value it refuses."""
    for secret in secrets:
        if secret and len(secret) >= 3 and secret in reason:
            reason = reason.replace(secret, "<value>")
    return reason


def _identifier_reader(
    field: IdentifierField, reject: Reject
) -> Callable[[int, Values, list[Identifier]], None]:
    id_type, column, split = field.id_type, field.column, field.split
    region, fixed_country = field.default_region, field.country
    country_column = field.country_column

    def read(row: int, values: Values, found: list[Identifier]) -> None:
        value = values.get(column)
        if value is None or value == "":
            return
        country = fixed_country
        if country_column is not None:
            cell = values.get(country_column)
            country = cell.strip().upper() or None if isinstance(cell, str) else None
        items: Iterable[str | _Rejected]
        if split is None and value.__class__ is str:
            text = value.strip()
            if not text:
                return
            items = (text,)
        else:
            items = _items(value, split)
        for item in items:
            if isinstance(item, _Rejected):
                reject(row, column, item.reason)
                continue
            try:
                found.append(
                    Identifier(
                        id_type, canonicalise(id_type, item, default_region=region, country=country)
                    )
                )
            except InvalidIdentifier as error:
                reject(row, column, _scrub(str(error), item, country if country_column else None))
            except ValueError:
                reject(row, column, f"{id_type}: refused by the vocabulary")

    return read


def _items(value: object, split: str | None) -> Iterator[str | _Rejected]:
    """The non-empty values of one identifier cell: a list yields each item, ``split`` cuts text."""
    for item in value if isinstance(value, list) else (value,):
        try:
            text = _text(item, "")
        except _Rejected as rejected:
            yield rejected
            continue
        if text is None:
            continue
        if split is None:
            yield text
        else:
            yield from (part for part in (piece.strip() for piece in text.split(split)) if part)


def _person_reader(
    field: PersonField, reject: Reject
) -> Callable[[int, Values, list[Identifier]], None]:
    name_column, dob_column, fmt = (
        field.name_column,
        field.date_of_birth_column,
        field.date_of_birth_format,
    )
    label = f"{name_column}+{dob_column}"

    def read(row: int, values: Values, found: list[Identifier]) -> None:
        try:
            name = _text(values.get(name_column), label)
            raw_dob = values.get(dob_column)
            dob = raw_dob.date() if isinstance(raw_dob, datetime) else raw_dob
            dob_text = _text(dob, label)
        except _Rejected as rejected:
            reject(row, label, rejected.reason)
            return
        if name is None or dob_text is None:
            return  # a person identifier needs both halves; half of one is absent, not wrong
        if fmt is not None and not isinstance(dob, date):
            parsed = _parse_date(dob_text, fmt)
            if parsed is None:
                reject(row, label, f"person: date of birth not in the format {fmt}")
                return
            dob_text = parsed.isoformat()
        try:
            found.append(Identifier("person", canonicalise_person(name, dob_text)))
        except InvalidIdentifier as error:
            reject(row, label, _scrub(str(error), name, dob_text))
        except ValueError:
            reject(row, label, "person: refused by the vocabulary")

    return read


def _attribute_reader(
    field: AttributeField, reject: Reject
) -> Callable[[int, Values], str | int | None]:
    column = field.column

    def read_string(row: int, values: Values) -> str | int | None:
        value = values.get(column)
        if isinstance(value, str):
            return value.strip() or None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return repr(value)
        try:
            return _text(value, column)
        except _Rejected as rejected:
            reject(row, column, rejected.reason)
            return None

    def read_integer(row: int, values: Values) -> str | int | None:
        value = values.get(column)
        if value is None:
            return None
        number: int | None = None
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if _INTEGER.fullmatch(text):
                number = int(text)
        elif isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer() and abs(value) < _BOUND:
            number = int(value)
        elif isinstance(value, Decimal) and value.is_finite() and value % 1 == 0:
            number = int(value)
        if number is None:
            reject(row, column, "not a whole number")
            return None
        if abs(number) >= _BOUND:
            reject(row, column, "whole number out of range (at most 18 digits)")
            return None
        return number

    return read_integer if field.type == "integer" else read_string
