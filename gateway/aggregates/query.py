"""The exact aggregate, computed where the data lives: one SQLAlchemy Core statement pushed
down to the source database, with contribution bounding and clamping done in SQL.

    SELECT g1, g2, COUNT(*) | SUM(clamped)
    FROM (SELECT g1, g2, CASE ... END AS clamped,
                 ROW_NUMBER() OVER (PARTITION BY unit ORDER BY unit) AS contribution
          FROM source WHERE filter IN (...) AND g IN (public values)) AS bounded
    WHERE contribution <= :max_rows_per_unit
    GROUP BY g1, g2

Rows whose group key is not in the public list never reach the answer, so the released keys
are exactly the public ones (missing keys answer 0), whatever the data holds. A grouped column
without a public list yields every non-NULL key the data holds: candidates only, from which a
DP threshold chooses what is released (``noise.select_keys``).

A file source staged in the node's database (``staging``) holds rows already bounded and
clamped for the declaration in force, so its statement is a plain aggregate, with no window
function, no ``CASE`` and no subquery but the one that keeps a count SQLite's ``COUNT(*)``
fast path. A staged table whose fingerprint is not the declaration's is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Select,
    TableClause,
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
from gateway.aggregates.schemas import AggregateQuery
from gateway.aggregates.staging import staged_table_name, staging_fingerprint, staging_state
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
        # A staged table holds the declared columns only: no privacy unit, no row without one.
        source = table(
            staged_table_name(declaration.dataset),
            *(column(name) for name in declaration.columns),
        )
    conditions: list[ColumnElement[bool]] = []
    for name, wanted in sorted(query.filters.items()):
        conditions.append(source.c[name].in_(sorted(set(wanted))))
    for name in query.group_by:
        public = declaration.columns[name].values
        # Keys from the data (for a DP threshold to choose from) are never NULL.
        conditions.append(source.c[name].in_(public) if public else source.c[name].is_not(None))
    if not in_place:
        return _staged_statement(source, query, conditions)
    unit = source.c[declaration.privacy_unit]
    conditions.append(unit.is_not(None))
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
    contribution = func.row_number().over(partition_by=unit, order_by=unit)
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


def _staged_statement(
    source: TableClause, query: AggregateQuery, conditions: list[ColumnElement[bool]]
) -> Select[tuple[object, ...]]:
    """The statement over staged rows, which were bounded and clamped when staged:

        SELECT g1, g2, SUM(col) AS total, COUNT(*) AS rows FROM staged WHERE ... GROUP BY g1, g2
        SELECT g1, g2, total, total AS rows
        FROM (SELECT g1, g2, COUNT(*) AS total FROM staged WHERE ... GROUP BY g1, g2) AS counted

    A count is counted once and copied outside: SQLite takes its ``COUNT(*)`` fast path only
    when the count is the statement's one column (``COUNT(*), COUNT(*)`` scans every row)."""
    groups = [source.c[name] for name in query.group_by]
    labelled = [group.label(f"g{i}") for i, group in enumerate(groups)]
    if query.column is not None:  # a sum (checked: a count names no column)
        total = func.sum(source.c[query.column])
        return (
            select(*labelled, total.label("total"), func.count().label("rows"))
            .select_from(source)
            .where(*conditions)
            .group_by(*groups)
        )
    counted = (
        select(*labelled, func.count().label("total"))
        .select_from(source)
        .where(*conditions)
        .group_by(*groups)
        .subquery("counted")
    )
    return select(
        *(counted.c[f"g{i}"] for i in range(len(groups))),
        counted.c.total,
        counted.c.total.label("rows"),
    )


class SourceDatabases:
    """Where each dataset's exact aggregate runs: the agency's own database for a SQL source
    (one pooled engine per dataset, opened on first use), the node's database for a staged
    file."""

    def __init__(self, node_engine: Engine) -> None:
        self._node_engine = node_engine
        self._engines: dict[str, Engine] = {}

    @property
    def node_engine(self) -> Engine:
        return self._node_engine

    @contextmanager
    def _engine(self, declaration: AggregateDeclaration) -> Iterator[Engine]:
        if not isinstance(declaration.source, SqlSource):
            # Checked before the aggregate and again after: unchanged, no restage committed in
            # between, so the aggregate read the rows staged under this declaration (a restage
            # cannot overtake a read in progress: SQLite's reads take the write lock, and
            # PostgreSQL's DROP waits for the read's lock).
            before = self._check_staged(declaration)
            yield self._node_engine
            if self._check_staged(declaration) != before:
                raise SourceUnavailable(
                    f"aggregate dataset {declaration.dataset!r} was restaged while it was "
                    "read: ask again"
                )
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

    def _check_staged(self, declaration: AggregateDeclaration) -> tuple[str, datetime]:
        """The staging state of a file source; refused when it is not staged, or was staged
        under another declaration: its rows were bounded and clamped for that one, which the
        noise would not match."""
        with self._node_engine.connect() as connection:
            state = staging_state(connection, declaration.dataset)
        if state is None:
            raise SourceUnavailable(
                f"aggregate dataset {declaration.dataset!r} is not staged yet "
                "(cordon aggregate refresh)"
            )
        if state[0] != staging_fingerprint(declaration):
            raise SourceUnavailable(
                f"aggregate dataset {declaration.dataset!r} was staged under a different "
                "declaration (its privacy unit, max_rows_per_unit or columns changed since): "
                "run cordon aggregate refresh"
            )
        return state

    def exact(self, checked: CheckedQuery) -> list[int]:
        """The exact, bounded aggregate for each of ``checked.keys``, in order."""
        return self.exact_with_counts(checked)[0]

    def exact_with_counts(self, checked: CheckedQuery) -> tuple[list[int], list[int]]:
        """The exact, bounded aggregate and the bounded row count for each of
        ``checked.keys``, in order, from one scan."""
        found = self.exact_groups(checked)
        pairs = [found.get(key, (0, 0)) for key in checked.keys]
        return [total for total, _ in pairs], [count for _, count in pairs]

    def exact_groups(self, checked: CheckedQuery) -> dict[tuple[str, ...], tuple[int, int]]:
        """The exact, bounded aggregate and row count of every group the data holds (the
        candidates a DP threshold chooses keys from), from one scan."""
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
        return {
            tuple(str(v) for v in row[:width]): (_whole(row[width]), _whole(row[width + 1]))
            for row in rows
        }

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
