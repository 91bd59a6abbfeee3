"""The peer-side aggregate answerer: policy, declaration, cache, ledger, exact SQL, noise —
in that order, so that nothing noisy is computed before its rho is charged, and a repeated
question on unchanged data costs nothing.

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

from dataclasses import dataclass

from connectors.mapping_types import SqlSource
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets, CheckedQuery
from gateway.aggregates.ledger import Budget, Charge, PrivacyLedger
from gateway.aggregates.noise import NoiseMechanism, calibrate
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.rho import as_rho, check_rho, nano_floor
from gateway.aggregates.schemas import AggregateQuery, GroupValue, MechanismName, NodeAggregate
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
        generation = self._cache.generation(query.dataset)
        question = query.fingerprint()
        cached = self._cache.get(account, query.dataset, generation, question)
        if cached is not None:
            left = self._ledger.budget_left(budget)
            aggregate = NodeAggregate.model_validate(cached).model_copy(
                update={
                    "cached": True,
                    "rho_charged": 0.0,
                    "rho_charged_nano": 0,
                    "budget_left": as_rho(left),
                    "budget_left_nano": left,
                }
            )
            return AggregateOutcome(aggregate, decision, 0)
        value_noise, count_noise = _mechanisms(checked, mechanism, asked)
        rho = value_noise.rho_nano + (count_noise.rho_nano if count_noise is not None else 0)
        charge = self._ledger.reserve(budget, rho, reference)
        aggregate = self._measure(checked, obligations, value_noise, count_noise, charge)
        kept = self._cache.put(
            account,
            query.dataset,
            generation,
            question,
            aggregate.model_dump(mode="json"),
            also=lambda connection: self._ledger.release(charge, connection),
        )
        if kept != aggregate.model_dump(mode="json"):
            # An identical question raced this one and its answer was kept first: release
            # that one, so the partner can never hold two noisy draws of one question.
            aggregate = NodeAggregate.model_validate(kept).model_copy(
                update={
                    "cached": True,
                    "rho_charged": charge.rho,
                    "rho_charged_nano": charge.rho_nano,
                    "budget_left": charge.budget_left,
                    "budget_left_nano": charge.budget_left_nano,
                }
            )
        return AggregateOutcome(aggregate, decision, rho)

    def _measure(
        self,
        checked: CheckedQuery,
        obligations: AggregateObligations,
        value_noise: NoiseMechanism,
        count_noise: NoiseMechanism | None,
        charge: Charge,
    ) -> NodeAggregate:
        exact, rows = self._sources.exact_with_counts(checked)
        noisy = value_noise.release(exact)
        counts = noisy if count_noise is None else count_noise.release(rows)
        half = round(value_noise.ci95)
        groups = tuple(
            GroupValue(key=key, value=None, ci_low=None, ci_high=None, suppressed=True)
            if count < obligations.min_group_size
            else GroupValue(key=key, value=value, ci_low=value - half, ci_high=value + half)
            for key, value, count in zip(checked.keys, noisy, counts, strict=True)
        )
        return NodeAggregate(
            responder=self._agency,
            dataset=checked.query.dataset,
            template=checked.query.template,
            mechanism=value_noise.name,
            scale=value_noise.scale,
            variance=value_noise.variance,
            ci95_half_width=value_noise.ci95,
            rho_charged=charge.rho,
            budget_left=charge.budget_left,
            rho_charged_nano=charge.rho_nano,
            budget_left_nano=charge.budget_left_nano,
            cached=False,
            min_group_size=obligations.min_group_size,
            groups=groups,
        )


def _mechanism(obligations: AggregateObligations) -> MechanismName:
    if obligations.mechanism == "discrete_laplace":
        return "discrete_laplace"
    return "discrete_gaussian"


def _mechanisms(
    checked: CheckedQuery, mechanism: MechanismName, rho_nano: int
) -> tuple[NoiseMechanism, NoiseMechanism | None]:
    """The value's measurement and, for a sum, the suppression count's: rho split in half."""
    if checked.query.template == "count":
        return calibrate(mechanism, checked.sensitivity, rho_nano), None
    if rho_nano < 2:
        raise BadRequest("rho: a sum needs at least 2e-9 (it is split with its count)")
    count_sensitivity = checked.declaration.max_rows_per_unit
    return (
        calibrate(mechanism, checked.sensitivity, rho_nano // 2),
        calibrate(mechanism, count_sensitivity, rho_nano - rho_nano // 2),
    )


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
    )
