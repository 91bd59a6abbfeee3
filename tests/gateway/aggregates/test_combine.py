"""Summing nodes' answers: variances add; keys some nodes did not list (below their DP
threshold) are summed over the others and say who is missing."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from gateway.aggregates.federated import Z95, _status, combine
from gateway.aggregates.schemas import (
    AggregateQuery,
    GroupValue,
    KeySelection,
    LocalAggregateAnswer,
    NodeAggregate,
    PeerStatus,
)
from gateway.cli.aggregate import print_tables
from gateway.errors import BadRequest
from gateway.federation.client import PeerCall

QUERY = AggregateQuery.model_validate(
    {"dataset": "seizures", "template": "count", "rho": 0.1, "group_by": ["port"]}
)


def node(
    responder: str, variance: float, groups: dict[str, int | None], delta_femto: int = 0
) -> PeerStatus:
    aggregate = NodeAggregate(
        responder=responder,
        dataset="seizures",
        template="count",
        mechanism="discrete_gaussian",
        scale=math.sqrt(variance),
        variance=variance,
        ci95_half_width=Z95 * math.sqrt(variance),
        rho_charged=0.1,
        budget_left=0.9,
        rho_charged_nano=100_000_000,
        budget_left_nano=900_000_000,
        cached=False,
        min_group_size=10,
        groups=tuple(
            GroupValue(
                key=(key,),
                value=value,
                ci_low=None if value is None else value - 5,
                ci_high=None if value is None else value + 5,
                suppressed=value is None,
            )
            for key, value in groups.items()
        ),
        key_selection=None
        if not delta_femto
        else KeySelection(
            threshold=30,
            scale=math.sqrt(variance),
            delta_charged=delta_femto / 10**15,
            delta_charged_femto=delta_femto,
            delta_left=0.0,
            delta_left_femto=0,
        ),
    )
    return PeerStatus(agency=responder, status="ok", aggregate=aggregate)


def test_keys_every_node_listed_are_summed_with_the_combined_interval() -> None:
    combined = combine(
        QUERY, (node("customs", 16.0, {"NLRTM": 100}), node("police", 9.0, {"NLRTM": 50}))
    )
    (group,) = combined.groups
    assert (group.value, group.missing_from) == (150, ())
    assert combined.variance == 25.0
    assert (group.ci_low, group.ci_high) == (150 - Z95 * 5, 150 + Z95 * 5)


def test_a_key_missing_from_a_node_is_summed_over_the_others_and_marked() -> None:
    combined = combine(
        QUERY,
        (
            node("customs", 16.0, {"NLRTM": 100, "BEANR": 40}, delta_femto=3),
            node("police", 9.0, {"NLRTM": 50}, delta_femto=4),
            node("intel", 9.0, {"NLRTM": 20, "DEHAM": 70}),
        ),
    )
    groups = {g.key: g for g in combined.groups}
    assert list(groups) == [("NLRTM",), ("BEANR",), ("DEHAM",)]
    assert (groups["NLRTM",].value, groups["NLRTM",].missing_from) == (170, ())
    beanr = groups["BEANR",]
    assert (beanr.value, beanr.missing_from) == (40, ("police", "intel"))
    # Only customs' noise is in that figure.
    assert (beanr.ci_low, beanr.ci_high) == (40 - Z95 * 4, 40 + Z95 * 4)
    assert groups["DEHAM",].missing_from == ("customs", "police")
    assert (combined.delta_charged_femto, combined.delta_charged) == (7, 7e-15)


def test_a_group_suppressed_anywhere_is_suppressed_in_the_sum() -> None:
    combined = combine(
        QUERY, (node("customs", 4.0, {"NLRTM": 100}), node("police", 4.0, {"NLRTM": None}))
    )
    assert combined.groups[0].suppressed and combined.groups[0].value is None


def test_a_node_listing_one_key_twice_is_refused() -> None:
    twice = node("customs", 4.0, {"NLRTM": 1})
    assert twice.aggregate is not None
    doubled = twice.aggregate.model_copy(update={"groups": twice.aggregate.groups * 2})
    with pytest.raises(BadRequest, match="twice"):
        combine(QUERY, (PeerStatus(agency="customs", status="ok", aggregate=doubled),))


def test_a_peer_answer_with_a_group_twice_or_a_key_of_the_wrong_width_is_an_error() -> None:
    good = node("police", 4.0, {"NLRTM": 1}).aggregate
    assert good is not None
    for groups in (good.groups * 2, (good.groups[0].model_copy(update={"key": ("A", "B")}),)):
        answer = {
            "responder": "police",
            "request_jti": "j",
            "aggregate": good.model_copy(update={"groups": groups}).model_dump(mode="json"),
        }
        status = _status(QUERY, PeerCall("police", "ok", 1.0, "j", answer))
        assert (status.status, status.detail) == ("error", "answer's groups are malformed")
    fine = {"responder": "police", "request_jti": "j", "aggregate": good.model_dump(mode="json")}
    assert _status(QUERY, PeerCall("police", "ok", 1.0, "j", fine)).status == "ok"


def rendered(answer: LocalAggregateAnswer) -> str:
    out = Console(record=True, width=120)
    print_tables(answer.model_dump(mode="json"), out)
    return out.export_text()


def test_printed_answer_shows_keys_below_a_nodes_threshold_and_the_delta_per_node() -> None:
    statuses = (
        node("customs", 16.0, {"NLRTM": 100, "BEANR": 40}, delta_femto=9_818_868),
        node("police", 9.0, {"NLRTM": 50}, delta_femto=9_818_868),
    )
    answer = LocalAggregateAnswer(
        query=QUERY, own=statuses[0], peers=statuses[1:], combined=combine(QUERY, statuses)
    )
    text = rendered(answer)
    beanr = next(line for line in text.splitlines() if "BEANR" in line)
    assert "below threshold" in beanr and "40 [" in beanr and "*" in beanr
    assert "keys chosen by DP threshold (delta)" in text
    assert text.count("9.82e-09") == 2 and "1.96e-08" in text
    public = (node("customs", 4.0, {"NLRTM": 1}),)
    plain = LocalAggregateAnswer(
        query=QUERY, own=public[0], peers=(), combined=combine(QUERY, public)
    )
    assert "delta" not in rendered(plain)


def test_printed_answer_says_why_a_node_did_not_answer_and_when_no_key_passed() -> None:
    empty = node("customs", 16.0, {}, delta_femto=5)
    refused = PeerStatus(agency="police", status="bad_request", detail="mechanism: not this one")
    answer = LocalAggregateAnswer(
        query=QUERY, own=empty, peers=(refused,), combined=combine(QUERY, (empty, refused))
    )
    text = rendered(answer)
    assert "no group passed any node's DP threshold" in text
    assert "police: bad_request: mechanism: not this one" in text
