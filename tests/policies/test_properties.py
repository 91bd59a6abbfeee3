"""Properties over random policies and requests: nothing is allowed that no grant covers,
everything covered is allowed, the first covering rule decides, and errors deny.

Coverage is computed here from the raw documents, independently of ``policies.evaluate``.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import policies.evaluate
from policies import (
    EVALUATION_FAILED,
    AggregateRequest,
    MatchRequest,
    Policy,
    decide_aggregate,
    decide_match,
    decide_match_per_type,
    explain,
    load_policy,
)
from tests.policies.builders import dump

PARTNERS = ["police", "intel", "customs", "fiu"]
PURPOSES = ["organised-crime", "smuggling", "strategic-analysis"]
TYPES = ["phone", "iban", "vessel", "person", "container"]
DATASETS = ["shipments", "seizures"]
COLUMNS = ["port", "month", "commodity"]
RHOS = [0.01, 0.05, 0.1, 1.0]


def subset(pool: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), unique=True, max_size=len(pool))


match_grants = st.fixed_dictionaries(
    {
        "identifier_types": subset(TYPES),
        "subject_categories": st.just(["suspect"]),
        "handling_codes": st.just(["H0"]),
    },
    optional={"datasets": subset(DATASETS), "quota_per_day": st.integers(0, 10)},
)
aggregate_datasets = st.fixed_dictionaries(
    {
        "columns": subset(COLUMNS),
        "group_by": st.lists(subset(COLUMNS), max_size=3),
        "rho_per_query": st.sampled_from(RHOS),
        "rho_per_period": st.just(5.0),
    }
)
aggregate_grants = st.fixed_dictionaries(
    {"datasets": st.dictionaries(st.sampled_from(DATASETS), aggregate_datasets, max_size=2)}
)
rules = st.fixed_dictionaries(
    {"partners": subset(PARTNERS), "purposes": subset(PURPOSES)},
    optional={"match": match_grants, "aggregate": aggregate_grants},
)
documents = st.builds(
    lambda rs: {
        "policy": 1,
        "node": "customs",
        "purposes": {p: {"legal_basis": "law"} for p in PURPOSES},
        "rules": [dict(rule, id=f"rule-{i}") for i, rule in enumerate(rs)],
    },
    st.lists(rules, max_size=5),
)
match_requests = st.builds(
    MatchRequest,
    partner=st.sampled_from([*PARTNERS, "stranger"]),
    purpose=st.sampled_from([*PURPOSES, "curiosity"]),
    identifier_types=st.lists(st.sampled_from([*TYPES, "email"]), max_size=4).map(tuple),
    dataset=st.none() | st.sampled_from([*DATASETS, "other"]),
)
aggregate_requests = st.builds(
    AggregateRequest,
    partner=st.sampled_from([*PARTNERS, "stranger"]),
    purpose=st.sampled_from(PURPOSES),
    dataset=st.sampled_from([*DATASETS, "other"]),
    columns=subset([*COLUMNS, "secret"]).map(tuple),
    group_by=subset(COLUMNS).map(tuple),
    rho=st.sampled_from([*RHOS, 0.0, -1.0, math.nan, math.inf]),
)


def as_policy(document: dict[str, Any]) -> Policy:
    """Random documents may contradict themselves (empty lists...): evaluation must still be
    safe on them, so they are built without the load-time checks."""
    return Policy.model_validate(_tuples(document))


def _tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def match_cover(document: dict[str, Any], request: MatchRequest) -> dict[str, str]:
    """For each requested type some rule covers, the id of the first covering rule."""
    cover: dict[str, str] = {}
    for rule in document["rules"]:
        grant = rule.get("match")
        if grant is None or request.partner not in rule["partners"]:
            continue
        if request.purpose not in rule["purposes"]:
            continue
        datasets = grant.get("datasets")
        if request.dataset is not None and datasets is not None and request.dataset not in datasets:
            continue
        for id_type in request.identifier_types:
            if id_type in grant["identifier_types"] and id_type not in cover:
                cover[id_type] = rule["id"]
    return cover


def aggregate_cover(document: dict[str, Any], request: AggregateRequest) -> list[str]:
    """Ids of the rules covering ``request``, in document order."""
    covering = []
    for rule in document["rules"]:
        datasets = (rule.get("aggregate") or {}).get("datasets", {})
        grant = datasets.get(request.dataset)
        if grant is None or request.partner not in rule["partners"]:
            continue
        if request.purpose not in rule["purposes"]:
            continue
        if not set(request.columns) <= set(grant["columns"]):
            continue
        groups = [set(group) for group in grant["group_by"]]
        if request.group_by and set(request.group_by) not in groups:
            continue
        if not (0 < request.rho <= grant["rho_per_query"]):  # NaN compares false: not covered
            continue
        covering.append(rule["id"])
    return covering


@settings(max_examples=300)
@given(documents, match_requests)
def test_match_allows_exactly_what_a_grant_covers(
    document: dict[str, Any], request: MatchRequest
) -> None:
    policy = as_policy(document)
    cover = match_cover(document, request)
    decision = decide_match(policy, request)
    assert decision.allowed == bool(cover)
    assert decision.allowed_types == frozenset(cover)
    if cover:
        in_document_order = [r["id"] for r in document["rules"] if r["id"] in cover.values()]
        assert decision.rule_ids == tuple(in_document_order)
        assert decision.rule_id == in_document_order[0]
        assert decision.match is not None
    else:
        assert decision.rule_id is None and decision.match is None
    for id_type, per_type in decide_match_per_type(policy, request).items():
        assert per_type.allowed == (id_type in cover)
        assert per_type.rule_id == cover.get(id_type)


@settings(max_examples=300)
@given(documents, aggregate_requests)
def test_aggregate_allows_exactly_what_a_grant_covers(
    document: dict[str, Any], request: AggregateRequest
) -> None:
    policy = as_policy(document)
    covering = aggregate_cover(document, request)
    decision = decide_aggregate(policy, request)
    assert decision.allowed == bool(covering)
    assert decision.rule_id == (covering[0] if covering else None)
    if decision.aggregate is not None:
        assert request.rho <= decision.aggregate.rho_per_query
        assert set(request.columns) <= decision.aggregate.columns


@settings(max_examples=100)
@given(documents, match_requests | aggregate_requests)
def test_explanation_agrees_with_the_decision(
    document: dict[str, Any], request: MatchRequest | AggregateRequest
) -> None:
    policy = as_policy(document)
    explanation = explain(policy, request)
    if isinstance(request, MatchRequest):
        assert explanation.decision == decide_match(policy, request)
    else:
        assert explanation.decision == decide_aggregate(policy, request)
    applied = {o.rule_id for o in explanation.outcomes if o.applied}
    assert applied == set(explanation.decision.rule_ids)
    assert len(explanation.outcomes) == len(policy.rules)


@settings(max_examples=100)
@given(documents, match_requests, aggregate_requests)
def test_any_error_in_a_rule_matcher_denies(
    document: dict[str, Any], match: MatchRequest, aggregate: AggregateRequest
) -> None:
    # The matchers run whenever there is a rule to read and a well-formed request.
    assume(document["rules"] and match.identifier_types and math.isfinite(aggregate.rho))
    assume(aggregate.rho > 0)
    policy = as_policy(document)

    def explode(*args: object) -> object:
        raise RuntimeError("bug")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(policies.evaluate, "check_match_rule", explode)
        patch.setattr(policies.evaluate, "check_aggregate_rule", explode)
        for decision in (decide_match(policy, match), decide_aggregate(policy, aggregate)):
            assert not decision.allowed
            assert decision.reason == EVALUATION_FAILED
        assert not any(d.allowed for d in decide_match_per_type(policy, match).values())


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same document with mapping keys and unordered lists in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        items = [_shuffled(v, rng) for v in value]
        if all(isinstance(v, str | list) for v in items):
            rng.shuffle(items)
        return items
    return value


@settings(max_examples=100)
@given(documents, st.randoms(use_true_random=False), st.booleans())
def test_version_hash_ignores_key_order_list_order_and_layout(
    document: dict[str, Any], rng: random.Random, flow: bool
) -> None:
    original = as_policy(document).version_hash
    text = "# a comment\n" + dump(_shuffled(document, rng))
    if flow:
        text = yaml.safe_dump(_shuffled(document, rng), default_flow_style=True, width=60)
    reloaded = Policy.model_validate(_tuples(_shuffled(document, rng)))
    assert reloaded.version_hash == original
    assert Policy.model_validate(_tuples(yaml.safe_load(text))).version_hash == original


def test_loaded_random_documents_agree_with_unchecked_ones() -> None:
    document = {
        "policy": 1,
        "node": "customs",
        "purposes": {"smuggling": {"legal_basis": "law"}},
        "rules": [{"id": "r", "partners": ["police"], "purposes": ["smuggling"],
                   "match": {"identifier_types": ["phone"], "subject_categories": ["suspect"],
                             "handling_codes": ["H0"]}}],
    }  # fmt: skip
    assert load_policy(dump(document)).version_hash == as_policy(document).version_hash
