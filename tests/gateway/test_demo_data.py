"""The demo federation's synthetic data: reproducible, loadable by the connectors with about one
value in a hundred rejected, and with Operation Lantern's links holding at the canonical level
(and under the demo policies), so the demo's hit table is a finding, not a coincidence."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.loading import load_records
from connectors.mapping import load_mapping
from connectors.records import Identifier, LoadReport, Record
from connectors.vocabulary import canonicalise, canonicalise_person
from gateway.demo.clerk import canonical_or_none
from gateway.demo.data import (
    AGENCIES,
    DATASET_SIZES,
    SEIZURE_COLUMNS,
    SEIZURE_COMMODITIES,
    SEIZURE_PORTS,
    SEIZURE_SIZES,
    DemoData,
    DemoSearch,
    generate,
)
from gateway.demo.lantern import LANTERN
from policies import MatchRequest, Policy, decide_match_per_type, load_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies" / "examples"
MATCH_DATASETS = {"customs": "shipments", "police": "case_persons", "intel": "watch_entries"}
# A clerk slips on about one value in a hundred; the band allows for chance at these sizes.
REJECTION_BAND = (0.005, 0.02)


@dataclass(frozen=True)
class Loaded:
    records: tuple[Record, ...]
    report: LoadReport

    values: frozenset[tuple[str, str]]  # every (type, canonical value) held

    def holding(self, id_type: str, value: str) -> list[Record]:
        wanted = Identifier(id_type, value)
        return [record for record in self.records if wanted in record.identifiers]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return generate(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def loaded(demo: DemoData) -> dict[str, Loaded]:
    result = {}
    for agency, data in demo.agencies.items():
        (mapping_file,) = data.mappings
        load = load_records(load_mapping(mapping_file))
        records = tuple(load)
        values = frozenset((i.id_type, i.value) for r in records for i in r.identifiers)
        result[agency] = Loaded(records, load.report, values)
    return result


def canonical(identifier: dict[str, str]) -> tuple[str, str]:
    """The canonical form of a search identifier, as the searching node computes it."""
    if identifier["type"] == "person":
        return "person", canonicalise_person(identifier["name"], identifier["date_of_birth"])
    return identifier["type"], canonicalise(
        identifier["type"],
        identifier["value"],
        default_region=identifier.get("default_region", "NL"),
        country=identifier.get("country"),
    )


def expectations(demo: DemoData) -> Iterator[tuple[DemoSearch, str, int, bool]]:
    """Every (search, partner, identifier index, expected to hit there?)."""
    for search in demo.searches:
        for partner in AGENCIES:
            if partner == search.by:
                continue
            for index in range(len(search.identifiers)):
                yield search, partner, index, index in search.expect_hits.get(partner, ())


def root_of(demo: DemoData) -> Path:
    return demo.agencies["customs"].folder.parent


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- reproducibility --------------------------------------------------------------------------


def test_generate_writes_identical_bytes_for_the_same_seed(demo: DemoData, tmp_path: Path) -> None:
    generate(tmp_path)
    first, second = files_under(root_of(demo)), files_under(tmp_path)
    assert len(first) == 8
    assert first == second


def test_another_seed_changes_the_background_and_a_rerun_overwrites_it(
    demo: DemoData, tmp_path: Path
) -> None:
    generate(tmp_path, seed=8)
    other = files_under(tmp_path)
    assert other.keys() == files_under(root_of(demo)).keys()
    for name, data in files_under(root_of(demo)).items():
        if name.endswith((".csv", ".jsonl", ".db")):
            assert other[name] != data, name
    seeded_8 = other["customs/data/shipments.csv"].decode("utf-8")
    assert seeded_8.count("Baltic Reefer Logistics") == 6, "the plant does not depend on the seed"
    generate(tmp_path)
    assert files_under(tmp_path) == files_under(root_of(demo))


# --- loading through the connectors -----------------------------------------------------------


def test_each_agency_has_one_mapping_for_its_match_dataset(demo: DemoData) -> None:
    assert sorted(demo.agencies) == sorted(AGENCIES)
    for agency, data in demo.agencies.items():
        assert data.agency == agency
        assert [load_mapping(path).dataset for path in data.mappings] == [MATCH_DATASETS[agency]]
        assert all(path.is_relative_to(data.folder) for path in data.mappings)


def test_every_dataset_loads_with_the_expected_record_counts(loaded: dict[str, Loaded]) -> None:
    for agency, dataset in MATCH_DATASETS.items():
        report = loaded[agency].report
        assert report.dataset == dataset
        assert report.rows_read == DATASET_SIZES[dataset]
        assert report.records == len(loaded[agency].records)
        assert report.records + report.rows_rejected == report.rows_read
        # A row is only lost when every identifier on it was mistyped.
        assert report.rows_rejected <= report.rows_read // 100
        rows_lost = sum(
            n for reason, n in report.reasons.items() if reason.startswith("identifiers:")
        )
        assert rows_lost == report.rows_rejected


def test_about_one_value_in_a_hundred_is_rejected(loaded: dict[str, Loaded]) -> None:
    for agency in AGENCIES:
        report = loaded[agency].report
        rate = report.fields_rejected / (report.identifiers + report.fields_rejected)
        assert REJECTION_BAND[0] <= rate <= REJECTION_BAND[1], (agency, rate)
        assert len(report.reasons) >= 5, f"{agency}: the slips should be of several kinds"


# --- the planted network ----------------------------------------------------------------------


def test_each_expected_hit_is_in_the_partners_records(
    demo: DemoData, loaded: dict[str, Loaded]
) -> None:
    expected = [(s, p, i) for s, p, i, hit in expectations(demo) if hit]
    assert len(expected) == 12
    for search, partner, index in expected:
        value = canonical(search.identifiers[index])
        assert value in loaded[partner].values, (search.case_reference, partner, value)


def test_no_identifier_occurs_at_a_partner_where_no_hit_is_expected(
    demo: DemoData, loaded: dict[str, Loaded]
) -> None:
    for search, partner, index, hit in expectations(demo):
        if not hit:
            value = canonical(search.identifiers[index])
            assert value not in loaded[partner].values, (
                search.case_reference,
                partner,
                value,
            )


def test_expected_hits_are_allowed_by_the_demo_policies(
    demo: DemoData, loaded: dict[str, Loaded]
) -> None:
    policies = {
        agency: load_policy((POLICIES / f"{agency}.yaml").read_text(encoding="utf-8"))
        for agency in AGENCIES
    }
    for search, partner, index, hit in expectations(demo):
        if hit:
            id_type, value = canonical(search.identifiers[index])
            policy = policies[partner]
            assert matchable(policy, search, id_type, loaded[partner].holding(id_type, value)), (
                search.case_reference,
                partner,
                id_type,
            )


def matchable(policy: Policy, search: DemoSearch, id_type: str, records: list[Record]) -> bool:
    """Whether ``policy`` lets ``search.by`` hit one of ``records`` on ``id_type`` today."""
    request = MatchRequest(partner=search.by, purpose=search.purpose, identifier_types=(id_type,))
    decision = decide_match_per_type(policy, request)[id_type]
    if not decision.allowed or decision.match is None:
        return False
    grant = decision.match
    for record in records:
        retention = policy.retention_days(record.dataset)
        fresh = retention is None or (
            record.recorded_on is not None
            and record.recorded_on >= date.today() - timedelta(days=retention)
        )
        if (
            fresh
            and (grant.datasets is None or record.dataset in grant.datasets)
            and record.subject_category in grant.subject_categories
            and record.handling_code in grant.handling_codes
        ):
            return True
    return False


def test_no_single_agency_holds_the_whole_chain(loaded: dict[str, Loaded]) -> None:
    # company -> consignee phone (customs) -> suspect -> associate's phone (police) -> company
    company = ("company", LANTERN.company)
    consignee_phone = ("phone", LANTERN.phone_consignee)
    associate_phone = ("phone", LANTERN.phone_associate)
    suspect = ("person", canonicalise_person(*LANTERN.suspect))
    held = {agency: loaded[agency].values for agency in AGENCIES}
    assert {company, consignee_phone} <= held["customs"]
    assert not {associate_phone, suspect} & held["customs"]
    assert {consignee_phone, associate_phone, suspect} <= held["police"]
    assert company not in held["police"]
    assert {company, associate_phone, suspect} <= held["intel"]
    assert consignee_phone not in held["intel"]


def test_the_minors_phone_hits_a_minor_record(loaded: dict[str, Loaded]) -> None:
    records = loaded["police"].holding("phone", LANTERN.phone_minor)
    assert [record.subject_category for record in records] == ["minor"]


def test_the_consignee_phone_is_written_differently_by_customs_and_police(demo: DemoData) -> None:
    wanted = LANTERN.phone_consignee
    customs_file = demo.agencies["customs"].folder / "data" / "shipments.csv"
    with customs_file.open(encoding="utf-8", newline="") as handle:
        customs = {
            row["consignee_phone"]
            for row in csv.DictReader(handle)
            if canonical_or_none("phone", row["consignee_phone"], "NL") == wanted
        }
    police_file = demo.agencies["police"].folder / "data" / "case_persons.jsonl"
    police = {
        phone
        for line in police_file.read_text(encoding="utf-8").splitlines()
        for phone in json.loads(line)["contact"]["phones"]
        if canonical_or_none("phone", phone, "NL") == wanted
    }
    assert any(not phone.startswith(("+", "00")) for phone in customs), "a national form"
    assert any(phone.startswith("+") for phone in customs), "an international form"
    assert police and not police & customs


# --- seizures (aggregate-only data) -----------------------------------------------------------


def seizure_rows(demo: DemoData) -> dict[str, list[dict[str, object]]]:
    customs = demo.agencies["customs"].folder / "data" / "seizures.csv"
    police = demo.agencies["police"].folder / "data" / "seizures.jsonl"
    intel = demo.agencies["intel"].folder / "data" / "watch.db"
    with customs.open(encoding="utf-8", newline="") as handle:
        customs_rows: list[dict[str, object]] = [
            {**row, "quantity_kg": int(row["quantity_kg"])} for row in csv.DictReader(handle)
        ]
    police_rows = [json.loads(line) for line in police.read_text(encoding="utf-8").splitlines()]
    with closing(sqlite3.connect(intel)) as database:
        database.row_factory = sqlite3.Row
        intel_rows = [dict(row) for row in database.execute("SELECT * FROM seizures")]
    return {"customs": customs_rows, "police": police_rows, "intel": intel_rows}


def test_each_agency_has_a_seizures_dataset_of_bounded_values(demo: DemoData) -> None:
    for agency, rows in seizure_rows(demo).items():
        assert len(rows) == SEIZURE_SIZES[agency]
        assert all(tuple(row) == SEIZURE_COLUMNS for row in rows)
        assert {row["port"] for row in rows} <= set(SEIZURE_PORTS)
        assert {row["commodity"] for row in rows} == set(SEIZURE_COMMODITIES)
        assert all(re.fullmatch(r"2025-(0[1-9]|1[0-2])", str(row["month"])) for row in rows)
        quantities = [row["quantity_kg"] for row in rows]
        assert all(isinstance(q, int) and 1 <= q <= 2000 for q in quantities)
        assert len({row["seizure_id"] for row in rows}) == len(rows)
        # The case is the privacy unit: several seizures share one.
        assert len({row["case_id"] for row in rows}) < len(rows) * 0.8
