"""The aggregate datasets a node declares, and checking a question against its declaration:
every column must be declared, filters and groupings need a public value list, and a sum
needs an integer column with bounds. Errors name the offending field."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from connectors.errors import MappingError
from gateway.aggregates.schemas import AggregateQuery
from gateway.errors import BadRequest, ConfigError, NotFound

MAX_GROUPS = 10_000


@dataclass(frozen=True)
class CheckedQuery:
    """A question that fits its declaration: the groups it will release, in order, and the
    most one privacy unit can move any single released figure (the L1 and L2 sensitivity of
    the whole answer: all of a unit's rows may fall in one group)."""

    query: AggregateQuery
    declaration: AggregateDeclaration
    keys: tuple[tuple[str, ...], ...]
    sensitivity: int


class AggregateDatasets:
    """The node's declared aggregate datasets, by name."""

    def __init__(self, declarations: Iterable[AggregateDeclaration] = ()) -> None:
        self._by_name: dict[str, AggregateDeclaration] = {}
        for declaration in declarations:
            if declaration.dataset in self._by_name:
                raise ConfigError(
                    f"{declaration.path}: aggregate dataset {declaration.dataset!r} is declared "
                    "twice"
                )
            self._by_name[declaration.dataset] = declaration

    @classmethod
    def load(cls, paths: Iterable[Path]) -> AggregateDatasets:
        try:
            return cls(load_aggregate_declaration(path) for path in paths)
        except MappingError as exc:
            raise ConfigError(str(exc)) from exc

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> AggregateDeclaration:
        declaration = self._by_name.get(name)
        if declaration is None:
            raise NotFound(f"no aggregate dataset {name!r} here")
        return declaration

    def check(self, query: AggregateQuery) -> CheckedQuery:
        return check_query(self.get(query.dataset), query)


def check_query(declaration: AggregateDeclaration, query: AggregateQuery) -> CheckedQuery:
    columns = declaration.columns
    for name in query.columns():
        if name not in columns:
            raise BadRequest(f"column {name!r} is not declared in {declaration.dataset!r}")
    for name, wanted in query.filters.items():
        public = columns[name].values
        if columns[name].kind != "categorical" or not public:
            raise BadRequest(f"filters.{name}: only categorical columns with public values")
        if not wanted:
            raise BadRequest(f"filters.{name}: list at least one value")
        unknown = [v for v in wanted if v not in public]
        if unknown:
            raise BadRequest(f"filters.{name}: {len(unknown)} value(s) not in the public list")
    if len(set(query.group_by)) != len(query.group_by):
        raise BadRequest("group_by names a column twice")
    for name in query.group_by:
        if columns[name].kind != "categorical" or not columns[name].values:
            raise BadRequest(f"group_by: {name!r} has no public value list")
    if query.template == "count":
        if query.column is not None:
            raise BadRequest("column: a count takes no column")
        magnitude = 1
    else:
        if query.column is None or columns[query.column].kind != "integer":
            raise BadRequest("column: a sum needs a declared integer column")
        magnitude = columns[query.column].magnitude
    value_lists = [_group_values(query, declaration, name) for name in query.group_by]
    keys = tuple(itertools.product(*value_lists))
    if len(keys) > MAX_GROUPS:
        raise BadRequest(f"group_by would release {len(keys)} groups; at most {MAX_GROUPS}")
    sensitivity = max(1, declaration.max_rows_per_unit * magnitude)
    return CheckedQuery(query, declaration, keys, sensitivity)


def _group_values(
    query: AggregateQuery, declaration: AggregateDeclaration, name: str
) -> tuple[str, ...]:
    public = declaration.columns[name].values
    wanted = query.filters.get(name)
    return public if wanted is None else tuple(v for v in public if v in set(wanted))
