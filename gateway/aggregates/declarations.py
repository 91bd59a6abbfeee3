"""The aggregate datasets a node declares, and checking a question against its declaration:
every column must be declared, filters and groupings name categorical columns, and a sum needs
an integer column with bounds. Errors name the offending field.

A grouped column's keys are public when the declaration lists its values or the question
filters it to an in-list (the asker's own values); otherwise they must be chosen from the data
by a DP threshold (``selects_keys``), which the policy has to grant."""

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
MAX_VALUE_LENGTH = 256


@dataclass(frozen=True)
class CheckedQuery:
    """A question that fits its declaration: the groups it will release, in order, and the
    most one privacy unit can move any single released figure (the L1 and L2 sensitivity of
    the whole answer: all of a unit's rows may fall in one group)."""

    query: AggregateQuery
    declaration: AggregateDeclaration
    keys: tuple[tuple[str, ...], ...]
    sensitivity: int
    # True when a grouped column has neither public values nor an in-list filter: the keys
    # are then chosen by a DP threshold over the data (``noise.select_keys``), ``keys`` is
    # empty, and the question costs delta as well as rho.
    selects_keys: bool = False


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
        if columns[name].kind != "categorical":
            raise BadRequest(f"filters.{name}: only categorical columns can be filtered")
        if not wanted:
            raise BadRequest(f"filters.{name}: list at least one value")
        if len(wanted) > MAX_GROUPS:
            raise BadRequest(f"filters.{name}: at most {MAX_GROUPS} values")
        if any(len(value) > MAX_VALUE_LENGTH for value in wanted):
            raise BadRequest(f"filters.{name}: a value is longer than {MAX_VALUE_LENGTH}")
        unknown = [v for v in wanted if v not in public] if public else []
        if unknown:
            raise BadRequest(f"filters.{name}: {len(unknown)} value(s) not in the public list")
    if len(set(query.group_by)) != len(query.group_by):
        raise BadRequest("group_by names a column twice")
    for name in query.group_by:
        if columns[name].kind != "categorical":
            raise BadRequest(f"group_by: {name!r} is not a categorical column")
    if query.template == "count":
        if query.column is not None:
            raise BadRequest("column: a count takes no column")
        magnitude = 1
    else:
        if query.column is None or columns[query.column].kind != "integer":
            raise BadRequest("column: a sum needs a declared integer column")
        magnitude = columns[query.column].magnitude
    sensitivity = max(1, declaration.max_rows_per_unit * magnitude)
    value_lists = [_group_values(query, declaration, name) for name in query.group_by]
    if any(values is None for values in value_lists):
        return CheckedQuery(query, declaration, (), sensitivity, selects_keys=True)
    keys = tuple(itertools.product(*(values or () for values in value_lists)))
    if len(keys) > MAX_GROUPS:
        raise BadRequest(f"group_by would release {len(keys)} groups; at most {MAX_GROUPS}")
    return CheckedQuery(query, declaration, keys, sensitivity)


def _group_values(
    query: AggregateQuery, declaration: AggregateDeclaration, name: str
) -> tuple[str, ...] | None:
    """The public keys of a grouped column, or ``None`` when only the data can tell."""
    public = declaration.columns[name].values
    wanted = query.filters.get(name)
    if wanted is None:
        return public or None
    if not public:
        return tuple(sorted(set(wanted)))
    return tuple(v for v in public if v in set(wanted))
