"""Contradictions in a policy: those inside the document (found whenever it is loaded) and
those against the federation it serves (partners, identifier vocabulary, datasets).

Every check fails closed: an empty list of partners, purposes or identifier types is an
error, never "everyone" or "everything".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator

from policies.errors import PolicyIssue, did_you_mean, sort_issues, sub_path
from policies.model import MAX_DELTA, PERIOD_DAYS, AggregateDataset, MatchGrant, Policy, Rule


def check_policy(
    policy: Policy,
    *,
    partners: Collection[str],
    identifier_types: Collection[str],
    datasets: Collection[str] | None = None,
) -> list[PolicyIssue]:
    """Every problem in ``policy`` for a node whose federation manifest lists ``partners``,
    whose vocabulary knows ``identifier_types`` and (when given) which holds ``datasets``.
    An empty list means the policy is consistent."""
    issues = consistency_issues(policy)
    issues.extend(_context_issues(policy, partners, identifier_types, datasets))
    return sort_issues(issues)


def consistency_issues(policy: Policy) -> list[PolicyIssue]:
    """Contradictions inside the policy itself; :func:`policies.load_policy` refuses a text
    that has any."""
    return sort_issues(_Checker(policy).run())


class _Checker:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.issues: list[PolicyIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(PolicyIssue(self.policy.line_of(path), path, message))

    def names(
        self, path: str, values: Collection[str], what: str, *, empty: str | None = None
    ) -> None:
        if not values and empty is not None:
            self.add(path, f"{path} is empty; {empty}")
        for value, count in Counter(values).items():
            if count > 1:
                self.add(path, f"{path} lists {what} {value!r} {count} times; list it once")

    def run(self) -> list[PolicyIssue]:
        policy = self.policy
        if not policy.node.strip():
            self.add("node", "node must name this agency, got empty text")
        for name, purpose in policy.purposes.items():
            if not purpose.legal_basis.strip():
                self.add(
                    sub_path(sub_path("purposes", name), "legal_basis"),
                    f"purpose {name!r} must state its legal basis (the law or agreement)",
                )
        first_index: dict[str, int] = {}
        for index, rule in enumerate(policy.rules):
            if rule.id in first_index:
                earlier = first_index[rule.id]
                line = policy.line_of(f"rules[{earlier}].id")
                self.add(
                    f"rules[{index}].id",
                    f"duplicate rule id {rule.id!r} (also rules"
                    f"[{earlier}], line {line}); rule ids must be unique",
                )
            first_index.setdefault(rule.id, index)
            self.rule(f"rules[{index}]", rule)
        self.budgets()
        for dataset, cap in policy.global_caps.items():
            if cap.rho <= 0:
                self.add(
                    sub_path(sub_path("global_caps", dataset), "rho"),
                    f"global cap rho for {dataset!r} must be more than 0, got {cap.rho}",
                )
            if cap.delta is not None:
                self.delta(sub_path(sub_path("global_caps", dataset), "delta"), cap.delta)
        follow_up = policy.follow_up
        if follow_up is not None:
            for key in ("contact_point", "answered_by"):
                if not getattr(follow_up, key).strip():
                    self.add(f"follow_up.{key}", f"follow_up.{key} must not be empty")
        if not 0 < policy.probing.miss_ratio <= 1:
            self.add(
                "probing.miss_ratio",
                "probing.miss_ratio is a share of the identifiers checked: more than 0 and at "
                f"most 1 (0.95 means 95 %), got {policy.probing.miss_ratio}",
            )
        return self.issues

    def rule(self, path: str, rule: Rule) -> None:
        self.names(
            f"{path}.partners",
            rule.partners,
            "partner",
            empty="list the partner agencies this rule is for (empty never means everyone)",
        )
        self.names(
            f"{path}.purposes",
            rule.purposes,
            "purpose",
            empty="list the purposes this rule allows (declared under purposes)",
        )
        declared = sorted(self.policy.purposes)
        for index, purpose in enumerate(rule.purposes):
            if purpose not in self.policy.purposes:
                self.add(
                    f"{path}.purposes[{index}]",
                    f"purpose {purpose!r} is not declared under purposes (declared: "
                    f"{', '.join(declared) or 'none'}){did_you_mean(purpose, declared)}",
                )
        if rule.match is None and rule.aggregate is None:
            self.add(
                path, f"rule {rule.id!r} grants nothing; give it a match or an aggregate section"
            )
        if rule.match is not None:
            self.match(f"{path}.match", rule.match)
        if rule.aggregate is not None:
            if not rule.aggregate.datasets:
                self.add(
                    f"{path}.aggregate.datasets",
                    f"{path}.aggregate.datasets is empty; name the datasets it grants",
                )
            for name, grant in rule.aggregate.datasets.items():
                self.aggregate(sub_path(f"{path}.aggregate.datasets", name), name, grant)

    def match(self, path: str, grant: MatchGrant) -> None:
        self.names(
            f"{path}.identifier_types",
            grant.identifier_types,
            "identifier type",
            empty="list the identifier types partners may match on",
        )
        if grant.datasets is not None:
            self.names(
                f"{path}.datasets",
                grant.datasets,
                "dataset",
                empty="name datasets, or leave the key out to mean all datasets",
            )
        self.names(
            f"{path}.subject_categories",
            grant.subject_categories,
            "category",
            empty="list the subject categories whose records may hit",
        )
        self.names(
            f"{path}.handling_codes",
            grant.handling_codes,
            "handling code",
            empty="list the handling codes whose records may hit",
        )
        self.names(f"{path}.disclose", grant.disclose, "field")
        follow_up = self.policy.follow_up
        if "contact_point" in grant.disclose and (follow_up is None or not follow_up.contact_point):
            self.add(
                f"{path}.disclose",
                "disclose lists contact_point but the policy has no "
                "follow_up.contact_point to disclose",
            )

    def aggregate(self, path: str, dataset: str, grant: AggregateDataset) -> None:
        self.names(
            f"{path}.columns", grant.columns, "column", empty="list the columns partners may use"
        )
        for index, group in enumerate(grant.group_by):
            for column in group:
                if column not in grant.columns:
                    self.add(
                        f"{path}.group_by[{index}]",
                        f"group_by column {column!r} is not among the columns "
                        f"({', '.join(grant.columns)})",
                    )
        if grant.min_group_size < 1:
            self.add(
                f"{path}.min_group_size",
                f"min_group_size must be 1 or more, got {grant.min_group_size}",
            )
        for key in ("rho_per_query", "rho_per_period"):
            if getattr(grant, key) <= 0:
                self.add(f"{path}.{key}", f"{key} must be more than 0, got {getattr(grant, key)}")
        if grant.rho_per_query > grant.rho_per_period:
            self.add(
                f"{path}.rho_per_query",
                f"rho_per_query {grant.rho_per_query} exceeds rho_per_period "
                f"{grant.rho_per_period}: not even one query would fit in the budget",
            )
        self.grant_delta(path, dataset, grant)
        cap = self.policy.global_caps.get(dataset)
        if (
            cap is not None
            and grant.rho_per_period > cap.rho
            and PERIOD_DAYS[grant.period] <= PERIOD_DAYS[cap.period]
        ):
            self.add(
                f"{path}.rho_per_period",
                f"rho_per_period {grant.rho_per_period} per {grant.period} exceeds the "
                f"global cap for {dataset!r} ({cap.rho} per {cap.period})",
            )

    def delta(self, path: str, value: float) -> None:
        if not 0 < value <= MAX_DELTA:
            self.add(
                path,
                f"delta must be more than 0 and at most {MAX_DELTA} (it is the chance that a "
                f"query's key selection fails to protect a unit), got {value}",
            )

    def grant_delta(self, path: str, dataset: str, grant: AggregateDataset) -> None:
        """Key selection by a DP threshold spends delta: the grant names both limits or
        neither, and one query's delta must fit the period's."""
        per_query, per_period = grant.delta_per_query, grant.delta_per_period
        if (per_query is None) != (per_period is None):
            missing = "delta_per_period" if per_period is None else "delta_per_query"
            self.add(
                f"{path}.{missing}",
                f"{missing} is missing: name both delta_per_query and delta_per_period, or "
                "neither (groupings then need public values)",
            )
            return
        if per_query is None or per_period is None:
            return
        self.delta(f"{path}.delta_per_query", per_query)
        self.delta(f"{path}.delta_per_period", per_period)
        if per_query > per_period:
            self.add(
                f"{path}.delta_per_query",
                f"delta_per_query {per_query} exceeds delta_per_period {per_period}: not "
                "even one query would fit in the budget",
            )
        cap = self.policy.global_caps.get(dataset)
        if (
            cap is not None
            and cap.delta is not None
            and per_period > cap.delta
            and PERIOD_DAYS[grant.period] <= PERIOD_DAYS[cap.period]
        ):
            self.add(
                f"{path}.delta_per_period",
                f"delta_per_period {per_period} per {grant.period} exceeds the global delta "
                f"cap for {dataset!r} ({cap.delta} per {cap.period})",
            )

    def budgets(self) -> None:
        # The ledger keeps one budget per partner, dataset and period: two rules granting the
        # same partner the same dataset with different budgets cannot both hold.
        seen: dict[tuple[str, str], tuple[int, AggregateDataset]] = {}
        for index, rule in enumerate(self.policy.rules):
            datasets = rule.aggregate.datasets if rule.aggregate is not None else {}
            for dataset, grant in datasets.items():
                for partner in rule.partners:
                    earlier = seen.setdefault((partner, dataset), (index, grant))
                    budget = _budget_terms(earlier[1])
                    if budget != _budget_terms(grant):
                        self.add(
                            sub_path(
                                sub_path(f"rules[{index}].aggregate.datasets", dataset),
                                "rho_per_period",
                            ),
                            f"partner {partner!r} already has a budget of {budget[0]} per "
                            f"{budget[1]}"
                            + ("" if budget[2] is None else f" (delta {budget[2]})")
                            + f" on {dataset!r} from rules[{earlier[0]}]; give both rules "
                            "the same rho_per_period, delta_per_period and period",
                        )


def _budget_terms(grant: AggregateDataset) -> tuple[float, str, float | None]:
    return (grant.rho_per_period, grant.period, grant.delta_per_period)


def _context_issues(
    policy: Policy,
    partners: Collection[str],
    identifier_types: Collection[str],
    datasets: Collection[str] | None,
) -> Iterator[PolicyIssue]:
    def issue(path: str, message: str) -> PolicyIssue:
        return PolicyIssue(policy.line_of(path), path, message)

    members, vocabulary = sorted(partners), sorted(identifier_types)
    known = sorted(datasets) if datasets is not None else None
    for r, rule in enumerate(policy.rules):
        for i, partner in enumerate(rule.partners):
            if partner not in partners:
                yield issue(
                    f"rules[{r}].partners[{i}]",
                    f"partner {partner!r} is not a member of the federation (members: "
                    f"{', '.join(members) or 'none'}){did_you_mean(partner, members)}",
                )
        if rule.match is not None:
            for i, id_type in enumerate(rule.match.identifier_types):
                if id_type not in identifier_types:
                    yield issue(
                        f"rules[{r}].match.identifier_types[{i}]",
                        f"identifier type {id_type!r} is not in the vocabulary (known: "
                        f"{', '.join(vocabulary)}){did_you_mean(id_type, vocabulary)}",
                    )
        if known is None:
            continue
        if rule.match is not None and rule.match.datasets is not None:
            for i, dataset in enumerate(rule.match.datasets):
                if dataset not in known:
                    yield issue(f"rules[{r}].match.datasets[{i}]", _unknown_dataset(dataset, known))
        for dataset in rule.aggregate.datasets if rule.aggregate is not None else {}:
            if dataset not in known:
                yield issue(
                    sub_path(f"rules[{r}].aggregate.datasets", dataset),
                    _unknown_dataset(dataset, known),
                )
    if known is not None:
        for section, names in (
            ("retention", policy.retention),
            ("global_caps", policy.global_caps),
        ):
            for dataset in names:
                if dataset not in known:
                    yield issue(sub_path(section, dataset), _unknown_dataset(dataset, known))


def _unknown_dataset(dataset: str, known: list[str]) -> str:
    return (
        f"dataset {dataset!r} is not a dataset of this node (datasets: "
        f"{', '.join(known) or 'none'}){did_you_mean(dataset, known)}"
    )
