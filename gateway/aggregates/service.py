"""The peer-side aggregate answerer: policy, declaration, cache, ledger, exact SQL, noise —
in that order, so that nothing noisy is computed before its rho (and, for keys chosen by a DP
threshold, its delta) is charged, and a repeated question on unchanged data costs nothing. An
identical question racing one that holds the charge computes under that charge: only one of
their answers is ever kept and released (``cache``).

Groups below the policy's minimum size are suppressed on a *noisy* count (deciding on the
exact count would itself leak). For a count that is the released figure; for a sum, a
separate noisy count is measured with half of the rho and never released.

The node's own analysts asking a federated aggregate get the node's own figure noised like a
partner's (``answer_own``), so that the combined figure is differentially private for every
agency's data and may leave the room. Its terms are those the policy grants partners for the
same dataset and purpose (the first rule that covers the question), charged to the node's own
ledger account (``partner`` = its agency) and to the dataset's global cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection

from connectors.mapping_types import SqlSource
from gateway.aggregates.cache import AnswerCache, Question
from gateway.aggregates.declarations import AggregateDatasets, CheckedQuery
from gateway.aggregates.ledger import Budget, Charge, PrivacyLedger
from gateway.aggregates.noise import (
    KeySelectionMechanism,
    NoiseMechanism,
    calibrate,
    select_keys,
)
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.rho import as_delta, as_rho, check_rho, nano_floor
from gateway.aggregates.schemas import (
    AggregateQuery,
    GroupValue,
    KeySelection,
    MechanismName,
    NodeAggregate,
)
from gateway.aggregates.staging import StagingReport, stage
from gateway.errors import BadRequest, Forbidden
from policies import (
    AggregateObligations,
    AggregateRequest,
    Policy,
    PolicyDecision,
    decide_aggregate,
)


@dataclass(frozen=True)
class AggregateOutcome:
    aggregate: NodeAggregate
    decision: PolicyDecision
    rho_charged_nano: int

    @property
    def rho_charged(self) -> float:
        return as_rho(self.rho_charged_nano)


class AggregateRefused(Forbidden):
    """The policy does not allow the question (same answer whatever the reason)."""


class AggregateAnswerer:
    def __init__(
        self,
        agency: str,
        datasets: AggregateDatasets,
        sources: SourceDatabases,
        ledger: PrivacyLedger,
        cache: AnswerCache,
    ) -> None:
        self._agency = agency
        self._datasets = datasets
        self._sources = sources
        self._ledger = ledger
        self._cache = cache

    @property
    def datasets(self) -> AggregateDatasets:
        return self._datasets

    @property
    def ledger(self) -> PrivacyLedger:
        return self._ledger

    @property
    def cache(self) -> AnswerCache:
        return self._cache

    def close(self) -> None:
        self._sources.close()

    def holds(self, dataset: str) -> bool:
        return dataset in self._datasets.names()

    def refresh(self, datasets: list[str] | None = None) -> list[StagingReport]:
        """Restage the file sources among ``datasets`` (all when ``None``) and start a new
        cache generation for each: answers released before describe the old data."""
        reports = []
        for name in self._datasets.names() if datasets is None else datasets:
            declaration = self._datasets.get(name)
            read = staged = orphans = 0
            in_place = isinstance(declaration.source, SqlSource)
            if not in_place:
                read, staged, orphans = stage(self._sources.node_engine, declaration)
            generation = self._cache.refresh(name)
            reports.append(StagingReport(name, not in_place, read, staged, orphans, generation))
        return reports

    def decide(
        self, policy: Policy, partner: str, purpose: str, query: AggregateQuery
    ) -> PolicyDecision:
        return decide_aggregate(
            policy,
            AggregateRequest(
                partner=partner,
                purpose=purpose,
                dataset=query.dataset,
                columns=query.columns(),
                group_by=query.group_by,
                rho=query.rho,
            ),
        )

    def answer(
        self,
        policy: Policy,
        partner: str,
        purpose: str,
        reference: str,
        query: AggregateQuery,
    ) -> AggregateOutcome:
        """Answer a partner's question, charging the partner's budget first."""
        check_rho(query.rho)
        decision = self.decide(policy, partner, purpose, query)
        obligations = decision.aggregate
        if not decision.allowed or obligations is None:
            # Say so plainly when only the rho is over the grant's per-query cap.
            within = self.decide(policy, partner, purpose, query.model_copy(update={"rho": 1e-9}))
            if within.allowed and within.aggregate is not None:
                check_rho(query.rho, nano_floor(within.aggregate.rho_per_query))
            raise AggregateRefused(decision.reason)
        return self._answer(partner, decision, obligations, reference, query)

    def answer_own(
        self, policy: Policy, purpose: str, reference: str, query: AggregateQuery
    ) -> AggregateOutcome:
        """The node's own noisy figure for its own analysts' federated aggregate, under the
        terms its policy grants partners for this dataset and purpose (see the module)."""
        check_rho(query.rho)
        for rule in policy.rules:
            grant = rule.aggregate
            if grant is None or query.dataset not in grant.datasets:
                continue
            for partner in rule.partners:
                decision = self.decide(policy, partner, purpose, query)
                terms = decision.aggregate
                if decision.allowed and terms is not None:
                    return self._answer(self._agency, decision, terms, reference, query)
        raise AggregateRefused(
            f"the policy grants no partner this aggregate on {query.dataset!r} for {purpose!r}"
        )

    def _answer(
        self,
        account: str,
        decision: PolicyDecision,
        obligations: AggregateObligations,
        reference: str,
        query: AggregateQuery,
    ) -> AggregateOutcome:
        asked = check_rho(query.rho, nano_floor(obligations.rho_per_query))
        checked = self._datasets.check(query)
        mechanism: MechanismName = query.mechanism or _mechanism(obligations)
        budget = _budget(account, obligations)
        plan = _plan(checked, obligations, mechanism, asked, budget)
        question = Question(
            account, query.dataset, self._cache.generation(query.dataset), query.fingerprint()
        )
        cached = self._cache.get(question)
        if cached is not None:
            return AggregateOutcome(self._from_cache(cached, budget), decision, 0)
        charges: list[Charge] = []

        def charge(connection: Connection) -> int:
            taken = self._ledger.reserve(
                budget, plan.rho_nano, reference, plan.delta_femto, connection
            )
            charges.append(taken)
            return taken.id

        claim = self._cache.claim(question, charge)
        if claim.answered:
            kept = self._cache.get(question)
            if kept is None:  # pragma: no cover - kept answers are never deleted
                raise RuntimeError("an answer kept for this question has gone")
            return AggregateOutcome(self._from_cache(kept, budget), decision, 0)
        taken = charges[0] if charges else None
        aggregate = self._measure(checked, obligations, plan, taken, budget)
        mine = aggregate.model_dump(mode="json")
        kept = self._cache.put(
            question,
            mine,
            lambda connection, charge_id: self._ledger.release(charge_id, connection),
        )
        if kept != mine:
            # An identical question raced this one and its answer was kept first: release
            # that one, so the partner can never hold two noisy draws of one question.
            aggregate = _with_charge(
                NodeAggregate.model_validate(kept), taken, budget, self._ledger, cached=True
            )
        return AggregateOutcome(aggregate, decision, taken.rho_nano if taken else 0)

    def _from_cache(self, cached: dict[str, object], budget: Budget) -> NodeAggregate:
        return _with_charge(
            NodeAggregate.model_validate(cached), None, budget, self._ledger, cached=True
        )

    def _measure(
        self,
        checked: CheckedQuery,
        obligations: AggregateObligations,
        plan: NoisePlan,
        taken: Charge | None,
        budget: Budget,
    ) -> NodeAggregate:
        value_noise = plan.values
        if plan.selection is not None:
            groups = self._selected_groups(checked, plan.selection, value_noise, plan.ci95)
        else:
            if value_noise is None:  # pragma: no cover - _plan always noises public keys
                raise RuntimeError("a question over public keys needs a value measurement")
            exact, rows = self._sources.exact_with_counts(checked)
            noisy = value_noise.release(exact)
            counts = noisy if plan.counts is None else plan.counts.release(rows)
            half = round(value_noise.ci95)
            groups = tuple(
                GroupValue(key=key, value=None, ci_low=None, ci_high=None, suppressed=True)
                if count < obligations.min_group_size
                else GroupValue(key=key, value=value, ci_low=value - half, ci_high=value + half)
                for key, value, count in zip(checked.keys, noisy, counts, strict=True)
            )
        aggregate = NodeAggregate(
            responder=self._agency,
            dataset=checked.query.dataset,
            template=checked.query.template,
            mechanism=value_noise.name if value_noise is not None else "discrete_gaussian",
            scale=plan.scale,
            variance=plan.variance,
            ci95_half_width=plan.ci95,
            rho_charged=0.0,
            budget_left=0.0,
            rho_charged_nano=0,
            budget_left_nano=0,
            cached=False,
            min_group_size=obligations.min_group_size,
            groups=groups,
            key_selection=None
            if plan.selection is None
            else KeySelection(
                threshold=plan.selection.threshold,
                scale=plan.selection.scale,
                delta_charged=0.0,
                delta_charged_femto=0,
                delta_left=0.0,
                delta_left_femto=0,
            ),
        )
        return _with_charge(aggregate, taken, budget, self._ledger, cached=False)

    def _selected_groups(
        self,
        checked: CheckedQuery,
        selection: KeySelectionMechanism,
        value_noise: NoiseMechanism | None,
        ci95: float,
    ) -> tuple[GroupValue, ...]:
        """Keys chosen by the DP threshold over bounded row counts; for a count those noisy
        counts are the values, for a sum the chosen keys' sums get their own noise."""
        found = self._sources.exact_groups(checked)
        candidates = {_key_text(key): rows for key, (_, rows) in found.items()}
        chosen = selection.release(candidates)
        keys = sorted(_key_tuple(text) for text in chosen)
        if value_noise is None:
            values = [chosen[_key_text(key)] for key in keys]
        else:
            values = value_noise.release([found[key][0] for key in keys])
        half = round(ci95)
        return tuple(
            GroupValue(key=key, value=value, ci_low=value - half, ci_high=value + half)
            for key, value in zip(keys, values, strict=True)
        )


@dataclass(frozen=True)
class NoisePlan:
    """The measurements one question needs, and what they cost together: ``values`` noises
    the released figures (absent for a count whose keys are chosen by ``selection``: the
    threshold's noisy counts are the figures), ``counts`` the suppression counts of a sum
    over public keys, ``selection`` the DP threshold choosing keys without a public list."""

    values: NoiseMechanism | None
    counts: NoiseMechanism | None
    selection: KeySelectionMechanism | None

    @property
    def rho_nano(self) -> int:
        parts = (self.values, self.counts, self.selection)
        return sum(part.rho_nano for part in parts if part is not None)

    @property
    def delta_femto(self) -> int:
        return self.selection.delta_femto if self.selection is not None else 0

    @property
    def _figures(self) -> NoiseMechanism | KeySelectionMechanism:
        if self.values is not None:
            return self.values
        if self.selection is not None:
            return self.selection
        raise RuntimeError("a plan noises its figures one way or the other")  # pragma: no cover

    @property
    def scale(self) -> float:
        return self._figures.scale

    @property
    def variance(self) -> float:
        return self._figures.variance

    @property
    def ci95(self) -> float:
        return self._figures.ci95


def _plan(
    checked: CheckedQuery,
    obligations: AggregateObligations,
    mechanism: MechanismName,
    rho_nano: int,
    budget: Budget,
) -> NoisePlan:
    """Split the rho asked between the measurements the question needs (half each for a sum:
    its figures, and its counts — for suppression, or for choosing keys)."""
    contributions = checked.declaration.max_rows_per_unit
    if checked.selects_keys:
        if budget.delta_per_query_femto < 1:
            raise AggregateRefused(
                f"grouping by {', '.join(checked.query.group_by)} needs its keys chosen by a DP "
                f"threshold, and the policy grants no delta for that on {checked.query.dataset!r}; "
                "group by columns with public values, or filter the column to a list of values"
            )
        if checked.query.template == "count":
            if mechanism != "discrete_gaussian":
                raise BadRequest(
                    "mechanism: keys chosen by a DP threshold come with discrete Gaussian "
                    "counts; ask for discrete_gaussian, or group by columns with public values"
                )
            selection = select_keys(
                contributions, rho_nano, budget.delta_per_query_femto, obligations.min_group_size
            )
            return NoisePlan(None, None, selection)
        _need_two(rho_nano)
        selection = select_keys(
            contributions,
            rho_nano - rho_nano // 2,
            budget.delta_per_query_femto,
            obligations.min_group_size,
        )
        return NoisePlan(calibrate(mechanism, checked.sensitivity, rho_nano // 2), None, selection)
    if checked.query.template == "count":
        return NoisePlan(calibrate(mechanism, checked.sensitivity, rho_nano), None, None)
    _need_two(rho_nano)
    return NoisePlan(
        calibrate(mechanism, checked.sensitivity, rho_nano // 2),
        calibrate(mechanism, contributions, rho_nano - rho_nano // 2),
        None,
    )


def _need_two(rho_nano: int) -> None:
    if rho_nano < 2:
        raise BadRequest("rho: a sum needs at least 2e-9 (it is split with its count)")


def _with_charge(
    aggregate: NodeAggregate,
    taken: Charge | None,
    budget: Budget,
    ledger: PrivacyLedger,
    cached: bool,
) -> NodeAggregate:
    """``aggregate`` stating this request's charge (none when cached, or when an identical
    question's charge covers it) and what is left, in rho and, for keys chosen by a DP
    threshold, in delta."""
    if taken is not None:
        rho, left, delta, delta_left = (
            taken.rho_nano,
            taken.budget_left_nano,
            taken.delta_femto,
            taken.delta_left_femto,
        )
    else:
        (left, delta_left), rho, delta = ledger.left(budget), 0, 0
    fields: dict[str, object] = {
        "cached": cached,
        "rho_charged": as_rho(rho),
        "rho_charged_nano": rho,
        "budget_left": as_rho(left),
        "budget_left_nano": left,
    }
    if aggregate.key_selection is not None:
        fields["key_selection"] = aggregate.key_selection.model_copy(
            update={
                "delta_charged": as_delta(delta),
                "delta_charged_femto": delta,
                "delta_left": as_delta(delta_left),
                "delta_left_femto": delta_left,
            }
        )
    return aggregate.model_copy(update=fields)


def _key_text(key: tuple[str, ...]) -> str:
    return json.dumps(list(key), ensure_ascii=False)


def _key_tuple(text: str) -> tuple[str, ...]:
    return tuple(str(part) for part in json.loads(text))


def _mechanism(obligations: AggregateObligations) -> MechanismName:
    if obligations.mechanism == "discrete_laplace":
        return "discrete_laplace"
    return "discrete_gaussian"


def _budget(partner: str, obligations: AggregateObligations) -> Budget:
    if obligations.rho_per_period <= 0:
        raise BadRequest("the policy's rho_per_period is not positive")
    return Budget.in_rho(
        partner,
        obligations.dataset,
        obligations.rho_per_query,
        obligations.rho_per_period,
        obligations.period,
        obligations.global_cap_rho,
        obligations.global_cap_period,
        obligations.delta_per_query,
        obligations.delta_per_period,
        obligations.global_cap_delta,
    )
