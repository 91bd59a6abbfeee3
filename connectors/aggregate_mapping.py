"""Aggregate dataset declarations: one YAML file per dataset that partners may only ever see
through differentially private aggregates. It says where the rows are, which column is the
privacy unit (the person, company or case to protect), how many rows one unit may contribute,
and the type of every column partners may use: ``categorical`` with its public list of values,
or ``integer`` with the lower and upper bounds values are clamped to.

A complete example::

    aggregate_dataset: seizures            # [a-z][a-z0-9_]*
    description: Seizures by case          # optional
    source: {kind: sql, url: sqlite:///watch.db, table: seizures}   # as in mapping files
    privacy_unit: case_id                  # rows are bounded per value of this column
    max_rows_per_unit: 4                   # a unit's further rows are left out of every answer
    columns:
      port: {type: categorical, values: [NLRTM, BEANR]}
      month: {type: categorical, values: ["2024-01", "2024-02"]}
      quantity_kg: {type: integer, lower: 0, upper: 2000}

The source is parsed exactly as in dataset mappings (``connectors.mapping``). Aggregates are
pushed down to SQL: a ``kind: sql`` source is queried in the agency's own database; a ``csv``
or ``jsonl`` file is first staged into a table of the node's database (``cordon aggregate
refresh``) and queried there. Column names are top-level CSV header names or JSON keys. Every
mistake raises a ``MappingError`` naming the key path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from connectors._mapping_parser import _Parser
from connectors.mapping import _read_yaml
from connectors.mapping_types import Source

__all__ = [
    "AggregateColumn",
    "AggregateDeclaration",
    "load_aggregate_declaration",
]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_ROWS_PER_UNIT = 1000
MAX_PUBLIC_VALUES = 10_000
MAX_BOUND = 10**12


@dataclass(frozen=True, slots=True)
class AggregateColumn:
    """One usable column: ``values`` for a categorical column (empty: no public list, so it
    can be neither filtered nor grouped on), ``lower``/``upper`` for an integer column."""

    name: str
    kind: Literal["categorical", "integer"]
    values: tuple[str, ...] = ()
    lower: int = 0
    upper: int = 0

    @property
    def magnitude(self) -> int:
        """The most one clamped value can move a sum."""
        return max(abs(self.lower), abs(self.upper))


@dataclass(frozen=True, slots=True)
class AggregateDeclaration:
    dataset: str
    description: str
    source: Source
    privacy_unit: str
    max_rows_per_unit: int
    columns: dict[str, AggregateColumn]
    path: Path


def load_aggregate_declaration(path: str | Path) -> AggregateDeclaration:
    """Read and validate one declaration file; raise ``MappingError`` naming the key path."""
    declaration_file = Path(path)
    return _DeclarationParser(declaration_file).declaration(_read_yaml(declaration_file))


class _DeclarationParser(_Parser):
    def declaration(self, document: object) -> AggregateDeclaration:
        top = self.table(
            document,
            "",
            required=(
                "aggregate_dataset",
                "source",
                "privacy_unit",
                "max_rows_per_unit",
                "columns",
            ),
            optional=("description",),
        )
        dataset = self.text(
            top["aggregate_dataset"], "aggregate_dataset", _NAME, "a name like seizures"
        )
        description = top.get("description", "")
        if not isinstance(description, str):
            self.fail("description", "expected text")
        source = self.source(top["source"])
        unit = self.text(top["privacy_unit"], "privacy_unit", _SQL_NAME, "a SQL column name")
        bound = top["max_rows_per_unit"]
        if isinstance(bound, bool) or not isinstance(bound, int):
            self.fail("max_rows_per_unit", "expected a whole number")
        if not 1 <= bound <= MAX_ROWS_PER_UNIT:
            self.fail("max_rows_per_unit", f"expected 1 to {MAX_ROWS_PER_UNIT}, got {bound}")
        columns = self.columns(top["columns"], unit)
        return AggregateDeclaration(
            dataset=dataset,
            description=description,
            source=source,
            privacy_unit=unit,
            max_rows_per_unit=bound,
            columns=columns,
            path=self.file,
        )

    def columns(self, value: object, unit: str) -> dict[str, AggregateColumn]:
        if not isinstance(value, dict) or not value:
            self.fail("columns", "expected a mapping of column name to {type: ...}")
        columns: dict[str, AggregateColumn] = {}
        for name, spec in value.items():
            where = f"columns.{name}"
            self.text(name, where, _SQL_NAME, "a SQL column name")
            if name == unit:
                self.fail(where, "the privacy unit cannot be a query column")
            columns[name] = self.column_spec(name, spec, where)
        return columns

    def column_spec(self, name: str, spec: object, where: str) -> AggregateColumn:
        if not isinstance(spec, dict) or spec.get("type") not in ("categorical", "integer"):
            self.fail(f"{where}.type", "expected categorical or integer")
        if spec["type"] == "categorical":
            spec = self.table(spec, where, required=("type",), optional=("values",))
            raw = self.items(spec.get("values", []), f"{where}.values")
            if len(raw) > MAX_PUBLIC_VALUES:
                self.fail(f"{where}.values", f"at most {MAX_PUBLIC_VALUES} values")
            values = tuple(
                self.text(v, f"{where}.values[{i}]", None, "text (quote numbers)")
                for i, v in enumerate(raw)
            )
            if len(set(values)) != len(values):
                self.fail(f"{where}.values", "values are listed more than once")
            return AggregateColumn(name, "categorical", values=values)
        spec = self.table(spec, where, required=("type", "lower", "upper"))
        lower, upper = spec["lower"], spec["upper"]
        for key, bound in (("lower", lower), ("upper", upper)):
            if isinstance(bound, bool) or not isinstance(bound, int):
                self.fail(f"{where}.{key}", "expected a whole number")
            if abs(bound) > MAX_BOUND:
                self.fail(f"{where}.{key}", f"expected at most {MAX_BOUND} in magnitude")
        if lower > upper:
            self.fail(f"{where}.lower", f"lower {lower} is above upper {upper}")
        return AggregateColumn(name, "integer", lower=lower, upper=upper)
