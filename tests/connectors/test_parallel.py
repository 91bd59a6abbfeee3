"""Loading one source in several processes gives the same records and the same report as
loading it in one."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.loading import load_records
from connectors.mapping import load_mapping
from connectors.parallel import ParallelLoad


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    rows = ["ref,phone,email"]
    for i in range(250):
        phone = "not a phone" if i % 50 == 0 else f"06 1{i:07d}"
        rows.append(f"r{i},{phone},person{i}@example.org")
    rows.append(",06 12345678,nobody@example.org")  # no record reference: a row rejection
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = tmp_path / "people.yaml"
    path.write_text(
        "dataset: people\nsource: {kind: csv, path: people.csv}\nrecord_ref: ref\n"
        "subject_category: {value: suspect}\nhandling_code: {value: H1}\nidentifiers:\n"
        "  - {type: phone, column: phone, default_region: NL}\n"
        "  - {type: email, column: email}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("loaders", [1, 3])
def test_sharded_loading_matches_a_single_load(mapping: Path, loaders: int) -> None:
    single = load_records(load_mapping(mapping))
    expected = sorted(single, key=lambda r: r.record_ref)
    parallel = ParallelLoad(mapping, loaders)
    got = sorted(parallel, key=lambda r: r.record_ref)
    assert got == expected
    for figure in ("rows_read", "records", "identifiers", "rows_rejected", "fields_rejected"):
        assert getattr(parallel.report, figure) == getattr(single.report, figure), figure
    assert parallel.report.reasons == single.report.reasons
    assert single.report.rows_rejected == 1 and single.report.fields_rejected == 5


def test_a_shard_index_outside_the_count_is_refused(mapping: Path) -> None:
    with pytest.raises(ValueError, match="shard index"):
        load_records(load_mapping(mapping), shard=(3, 3))
