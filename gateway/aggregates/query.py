"""The exact aggregate, computed where the data lives: one SQLAlchemy Core statement pushed
down to the source database, with contribution bounding and clamping done in SQL.

    SELECT g1, g2, COUNT(*) | SUM(clamped)
    FROM (SELECT g1, g2, CASE ... END AS clamped,
                 ROW_NUMBER() OVER (PARTITION BY unit ORDER BY unit) AS contribution
          FROM source WHERE filter IN (...) AND g IN (public values)) AS bounded
    WHERE contribution <= :max_rows_per_unit
    GROUP BY g1, g2

Rows whose group key is not in the public list never reach the answer, so the released keys
are exactly the public ones (missing keys answer 0), whatever the data holds.

A file source staged in the node's database (``staging``) carries each row's ordinal within
its unit already, so its statement filters on that column instead of the window function.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Select,
    and_,
    case,
    cast,
    column,
    create_engine,
    func,
    literal,
    select,
    table,
    true,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from connectors.aggregate_mapping import AggregateDeclaration
from connectors.mapping_types import SqlSource
from gateway.aggregates.declarations import CheckedQuery
from gateway.aggregates.staging import CONTRIBUTION, is_staged, staged_table_name
from gateway.errors import CordonError


class SourceUnavailable(CordonError):
    code = "source_unavailable"


def exact_statement(checked: CheckedQuery) -> Select[tuple[object, ...]]:
    """The pushed-down statement for ``checked`` (no SQL text from anywhere but SQLAlchemy)."""
    declaration, query = checked.declaration, checked.query
    names = [declaration.privacy_unit, *declaration.columns]
    in_place = isinstance(declaration.source, SqlSource)
    if isinstance(declaration.source, SqlSource):
        source = table(
            declaration.source.table,
            *(column(name) for name in names),
            schema=declaration.source.schema,
        )
    else:
        source = table(
            staged_table_name(declaration.dataset),
            *(column(name) for name in [*names, CONTRIBUTION]),
        )
    unit = source.c[declaration.privacy_unit]
    # A staged table holds no row without a unit (its column is NOT NULL).
    conditions: list[ColumnElement[bool]] = [unit.is_not(None)] if in_place else []
    for name, wanted in sorted(query.filters.items()):
        conditions.append(source.c[name].in_(sorted(set(wanted))))
    for name in query.group_by:
        conditions.append(source.c[name].in_(declaration.columns[name].values))
    measured: ColumnElement[int]
    if query.column is None:
        measured = literal(1)
    else:
        spec = declaration.columns[query.column]
        value = source.c[query.column]
        # NULL counts as 0 clamped into the bounds: a missing quantity is not a reason to
        # leave a row out of the count that the sum's noise was calibrated for.
        measured = case(
            (value.is_(None), max(spec.lower, min(spec.upper, 0))),
            (value < spec.lower, spec.lower),
            (value > spec.upper, spec.upper),
            else_=value,
        )
    contribution: ColumnElement[int] = (
        func.row_number().over(partition_by=unit, order_by=unit)
        if in_place
        else source.c[CONTRIBUTION]
    )
    bounded = (
        select(
            *(source.c[name].label(f"g{i}") for i, name in enumerate(query.group_by)),
            measured.label("measured"),
            contribution.label("contribution"),
        )
        .where(and_(true(), *conditions))
        .subquery("bounded")
    )
    groups = [bounded.c[f"g{i}"] for i in range(len(query.group_by))]
    total = (
        func.count()
        if query.template == "count"
        else func.sum(cast(bounded.c.measured, BigInteger))
    )
    # The rows counted ride along with a sum in the same scan: the answerer's suppression
    # decision needs a (separately noised) count.
    return (
        select(*groups, total.label("total"), func.count().label("rows"))
        .where(bounded.c.contribution <= declaration.max_rows_per_unit)
        .group_by(*groups)
    )


class SourceDatabases:
    """Where each dataset's exact aggregate runs: the agency's own database for a SQL source
    (one pooled engine per dataset, opened on first use), the node's database for a staged
    file."""

    def __init__(self, node_engine: Engine) -> None:
        self._node_engine = node_engine
        self._engines: dict[str, Engine] = {}
        self._staged: set[str] = set()  # once staged, a refresh replaces it in a transaction

    @property
    def node_engine(self) -> Engine:
        return self._node_engine

    @contextmanager
    def _engine(self, declaration: AggregateDeclaration) -> Iterator[Engine]:
        if not isinstance(declaration.source, SqlSource):
            if declaration.dataset not in self._staged:
                if not is_staged(self._node_engine, declaration):
                    raise SourceUnavailable(
                        f"aggregate dataset {declaration.dataset!r} is not staged yet "
                        "(cordon aggregate refresh)"
                    )
                self._staged.add(declaration.dataset)
            yield self._node_engine
            return
        engine = self._engines.get(declaration.dataset)
        if engine is None:
            url = declaration.source.url
            kwargs: dict[str, object] = {}
            if url.get_backend_name() == "sqlite":
                kwargs = {"poolclass": NullPool}
            engine = create_engine(url, **kwargs)
            self._engines[declaration.dataset] = engine
        yield engine

    def exact(self, checked: CheckedQuery) -> list[int]:
        """The exact, bounded aggregate for each of ``checked.keys``, in order."""
        return self.exact_with_counts(checked)[0]

    def exact_with_counts(self, checked: CheckedQuery) -> tuple[list[int], list[int]]:
        """The exact, bounded aggregate and the bounded row count for each of
        ``checked.keys``, in order, from one scan."""
        statement = exact_statement(checked)
        width = len(checked.query.group_by)
        try:
            with self._engine(checked.declaration) as engine, engine.connect() as connection:
                rows = connection.execute(statement).all()
        except SQLAlchemyError as exc:
            # The driver's message could quote a value: keep only its class.
            raise SourceUnavailable(
                f"aggregate source of {checked.declaration.dataset!r} cannot be read "
                f"({type(exc).__name__})"
            ) from None
        found = {
            tuple(str(v) for v in row[:width]): (_whole(row[width]), _whole(row[width + 1]))
            for row in rows
        }
        pairs = [found.get(key, (0, 0)) for key in checked.keys]
        return [total for total, _ in pairs], [count for _, count in pairs]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


def _whole(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        return int(value)
    return int(str(value))  # Decimal from PostgreSQL SUM
