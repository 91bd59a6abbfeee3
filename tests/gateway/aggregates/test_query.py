from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from connectors.aggregate_mapping import AggregateDeclaration
from gateway.aggregates.declarations import check_query
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.schemas import AggregateQuery


@pytest.fixture
def sources(node_engine: Engine) -> Iterator[SourceDatabases]:
    databases = SourceDatabases(node_engine)
    yield databases
    databases.close()


def exact(
    sources: SourceDatabases, declaration: AggregateDeclaration, **fields: object
) -> list[int]:
    query = AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})
    return sources.exact(check_query(declaration, query))


def test_count_bounds_each_unit_to_max_rows_and_skips_rows_without_a_unit(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # C1 contributes 4 of its 6 rows; C2..C5 one each; the row without a case none.
    assert exact(sources, declaration, template="count") == [4 + 4]


def test_sum_clamps_values_to_the_declared_bounds(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # 4 x 100 (C1 bounded) + 1000 (5000 clamped) + 0 (-7 clamped) + 20 + 50
    assert exact(sources, declaration, template="sum", column="quantity_kg") == [1470]


def test_group_by_answers_every_public_key_and_only_public_keys(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    # NLRTM, BEANR, DEHAM: the XXOTH row is not in the public list; DEHAM answers 0.
    assert exact(sources, declaration, template="count", group_by=["port"]) == [5, 2, 0]


def test_filters_restrict_the_rows(
    sources: SourceDatabases, declaration: AggregateDeclaration
) -> None:
    counted = exact(
        sources,
        declaration,
        template="sum",
        column="quantity_kg",
        group_by=["month"],
        filters={"port": ["BEANR"]},
    )
    assert counted == [0, 20]
