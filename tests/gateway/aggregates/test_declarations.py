from __future__ import annotations

from pathlib import Path

import pytest

from connectors.aggregate_mapping import AggregateDeclaration, load_aggregate_declaration
from connectors.errors import MappingError
from gateway.aggregates.declarations import check_query
from gateway.aggregates.schemas import AggregateQuery
from gateway.errors import BadRequest
from tests.gateway.aggregates.conftest import DECLARATION


def test_declaration_reads_types_bounds_unit_and_contribution_limit(
    declaration: AggregateDeclaration,
) -> None:
    assert declaration.dataset == "seizures"
    assert declaration.privacy_unit == "case_id"
    assert declaration.max_rows_per_unit == 4
    assert declaration.columns["port"].values == ("NLRTM", "BEANR", "DEHAM")
    assert (declaration.columns["quantity_kg"].lower, declaration.columns["quantity_kg"].upper) == (
        0,
        1000,
    )


@pytest.mark.parametrize(
    ("old", "new", "key_path"),
    [
        ("max_rows_per_unit: 4", "max_rows_per_unit: 0", "max_rows_per_unit"),
        ("lower: 0, upper: 1000", "lower: 5, upper: 1", "columns.quantity_kg.lower"),
        ("{type: integer, lower: 0, upper: 1000}", "{type: float}", "columns.quantity_kg.type"),
        ("values: [NLRTM, BEANR, DEHAM]", "values: [NLRTM, NLRTM]", "columns.port.values"),
        (
            "kind: sql, url: sqlite:///seizures.db, table: seizures",
            "kind: parquet, path: x.parquet",
            "source.kind",
        ),
        ("privacy_unit: case_id", "privacy_unit: port", "columns.port"),
        ("max_rows_per_unit: 4", "max_rows_per_unit: 4\nwhere: '1=1'", "where"),
    ],
)
def test_bad_declaration_is_refused_naming_the_key_path(
    tmp_path: Path, old: str, new: str, key_path: str
) -> None:
    assert old in DECLARATION
    (tmp_path / "bad.yaml").write_text(DECLARATION.replace(old, new))
    with pytest.raises(MappingError) as caught:
        load_aggregate_declaration(tmp_path / "bad.yaml")
    assert caught.value.key_path == key_path


def query(**fields: object) -> AggregateQuery:
    return AggregateQuery.model_validate({"dataset": "seizures", "rho": 0.1, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"template": "count", "group_by": ["nope"]},
        {"template": "count", "filters": {"port": ["ZZZZZ"]}},
        {"template": "count", "filters": {"quantity_kg": ["1"]}},
        {"template": "count", "group_by": ["quantity_kg"]},
        {"template": "sum", "column": "port"},
        {"template": "sum"},
        {"template": "count", "column": "quantity_kg"},
    ],
)
def test_question_outside_the_declaration_is_a_bad_request(
    declaration: AggregateDeclaration, fields: dict[str, object]
) -> None:
    with pytest.raises(BadRequest):
        check_query(declaration, query(**fields))


def test_sensitivity_is_max_rows_per_unit_times_the_largest_bound(
    declaration: AggregateDeclaration,
) -> None:
    assert check_query(declaration, query(template="count")).sensitivity == 4
    summed = check_query(declaration, query(template="sum", column="quantity_kg"))
    assert summed.sensitivity == 4 * 1000


def test_group_keys_are_the_public_values_narrowed_by_filters(
    declaration: AggregateDeclaration,
) -> None:
    checked = check_query(
        declaration,
        query(template="count", group_by=["port", "month"], filters={"port": ["BEANR", "NLRTM"]}),
    )
    assert checked.keys == (
        ("NLRTM", "2024-01"),
        ("NLRTM", "2024-02"),
        ("BEANR", "2024-01"),
        ("BEANR", "2024-02"),
    )
