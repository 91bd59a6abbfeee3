"""The policy language, version 1, as immutable typed objects with every default spelled out.

A node's access policy is owned by its data-protection officer. Everything not granted by a
rule is denied. The field descriptions below are also the descriptions in the JSON Schema
(``policy.schema.json``) that editors use to help a DPO write the YAML.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints

SubjectCategory = Literal["suspect", "associate", "witness", "victim", "minor", "other"]
HandlingCode = Literal["H0", "H1", "H2", "H3"]
Disclosure = Literal["hit_reference", "contact_point", "record_category", "date_range"]
MinorsHandling = Literal["hit_only", "disclose"]
Period = Literal["day", "week", "month"]
Mechanism = Literal["discrete_gaussian", "discrete_laplace"]

SUBJECT_CATEGORIES: tuple[str, ...] = get_args(SubjectCategory)
HANDLING_CODES: tuple[str, ...] = get_args(HandlingCode)
DISCLOSURES: tuple[str, ...] = get_args(Disclosure)
PERIODS: tuple[str, ...] = get_args(Period)
# Longest possible length of a period in days, to compare a partner's period with a cap's.
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 31}

RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
Rho = float
Delta = float
Names = tuple[str, ...]

# Constraints a DPO's editor shows; the checks in ``checks.py`` enforce them with lines.
_NON_EMPTY: dict[str, Any] = {"minItems": 1}
_POSITIVE: dict[str, Any] = {"exclusiveMinimum": 0}
MAX_DELTA = 1e-4
_DELTA: dict[str, Any] = {"exclusiveMinimum": 0, "maximum": MAX_DELTA}


class PolicySection(BaseModel):
    """Common configuration: unknown keys refused, no silent type conversion, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Purpose(PolicySection):
    """A purpose a partner may invoke, with the law or agreement that allows it."""

    legal_basis: str = Field(description="The law, treaty or agreement that allows sharing.")
    description: str = Field(default="", description="What the purpose covers, in plain words.")


class MatchGrant(PolicySection):
    """What a rule allows for hit/no-hit matching."""

    identifier_types: Names = Field(
        json_schema_extra=_NON_EMPTY,
        description="Identifier types the partner may match on (from the federation vocabulary).",
    )
    datasets: Names | None = Field(
        default=None, description="Datasets searched; left out means all of this node's datasets."
    )
    subject_categories: tuple[SubjectCategory, ...] = Field(
        json_schema_extra=_NON_EMPTY,
        description="Records about subjects in other categories never produce a hit.",
    )
    handling_codes: tuple[HandlingCode, ...] = Field(
        json_schema_extra=_NON_EMPTY,
        description="Records with other handling codes never produce a hit.",
    )
    disclose: tuple[Disclosure, ...] = Field(
        default=(), description="What a hit reveals besides 'hit'; left out means nothing."
    )
    minors: MinorsHandling = Field(
        default="hit_only",
        description="hit_only: a hit on a minor reveals nothing but the hit. "
        "disclose: the same fields as for other subjects.",
    )
    notify_owner: bool = Field(
        default=True, description="Tell this agency's record owner when a partner hits."
    )
    quota_per_day: Count | None = Field(
        default=None,
        description="Identifiers the partner may check per day; left out means no daily quota.",
    )
    rate_limit_per_minute: Count | None = Field(
        default=None, description="Requests per minute from the partner; left out means no limit."
    )


class AggregateDataset(PolicySection):
    """What a rule allows on one dataset for differentially private aggregates."""

    columns: Names = Field(
        json_schema_extra=_NON_EMPTY, description="Columns usable in filters, sums and groupings."
    )
    group_by: tuple[Names, ...] = Field(
        default=(),
        description="Allowed sets of group-by columns. Overall totals (no grouping) are always "
        "allowed; left out means totals only.",
    )
    min_group_size: int = Field(
        default=10,
        json_schema_extra={"minimum": 1},
        description="Groups with fewer records than this are suppressed.",
    )
    mechanism: Mechanism = Field(
        default="discrete_gaussian", description="The noise the node adds."
    )
    rho_per_query: Rho = Field(
        json_schema_extra=_POSITIVE, description="Most privacy loss (zCDP rho) one query may spend."
    )
    rho_per_period: Rho = Field(
        json_schema_extra=_POSITIVE,
        description="Most privacy loss (zCDP rho) the partner may spend on the dataset per period.",
    )
    period: Period = Field(default="month", description="When the per-period budget renews.")
    delta_per_query: Delta | None = Field(
        default=None,
        json_schema_extra=_DELTA,
        description="Most delta (chance of a privacy failure) one query may spend choosing its "
        "group keys by a DP threshold, for columns without a public value list; left out means "
        "groupings need public values.",
    )
    delta_per_period: Delta | None = Field(
        default=None,
        json_schema_extra=_DELTA,
        description="Most delta the partner may spend on the dataset per period (with "
        "delta_per_query).",
    )


class AggregateGrant(PolicySection):
    """What a rule allows for aggregates, per dataset."""

    datasets: dict[str, AggregateDataset] = Field(
        json_schema_extra={"minProperties": 1}, description="Datasets by name."
    )


class Rule(PolicySection):
    """One grant: which partners, for which purposes, may do what."""

    id: RuleId = Field(description="Unique name; shown in explanations and the audit log.")
    description: str = Field(default="", description="What the rule is for, in plain words.")
    partners: Names = Field(
        json_schema_extra=_NON_EMPTY, description="Partner agency ids (never 'everyone')."
    )
    purposes: Names = Field(
        json_schema_extra=_NON_EMPTY, description="Purposes (declared under 'purposes')."
    )
    match: MatchGrant | None = Field(default=None, description="Hit/no-hit matching grant.")
    aggregate: AggregateGrant | None = Field(default=None, description="Aggregate grant.")


class Retention(PolicySection):
    """How long records of a dataset stay searchable."""

    max_age_days: PositiveCount = Field(description="Older records leave the index.")


class GlobalCap(PolicySection):
    """Privacy loss all partners together may spend on one dataset per period."""

    rho: Rho = Field(
        json_schema_extra=_POSITIVE, description="Total zCDP rho per period, across all partners."
    )
    period: Period = Field(default="month", description="When the cap renews.")
    delta: Delta | None = Field(
        default=None,
        json_schema_extra=_DELTA,
        description="Total delta per period across all partners, for group keys chosen by a DP "
        "threshold; left out means no global delta cap.",
    )


class FollowUp(PolicySection):
    """Who answers follow-up requests after a hit, and how fast."""

    contact_point: str = Field(description="Unit, phone and mail partners contact after a hit.")
    answered_by: str = Field(description="Role or unit that answers follow-up requests.")
    deadline_hours: PositiveCount = Field(
        default=48, description="Hours within which a follow-up request is answered (Prüm II: 48)."
    )


class Probing(PolicySection):
    """When a partner's questions look like enumeration, and what the node does about it.

    Identifiers arrive as tokens, so the node cannot see that a partner walks through
    neighbouring values; it sees counts: identifiers checked and identifiers that missed, per
    partner per window. Many misses at a high miss ratio is the pattern it can see."""

    window_minutes: PositiveCount = Field(
        default=60, description="Length of the window in which a partner's misses are counted."
    )
    min_misses: PositiveCount = Field(
        default=500,
        description="Raise an alert when a partner has at least this many identifiers answered "
        "'no hit' in one window...",
    )
    miss_ratio: float = Field(
        default=0.95,
        json_schema_extra={"exclusiveMinimum": 0, "maximum": 1},
        description="...and at least this share of the identifiers it checked in the window "
        "missed (0.95 means 95 %).",
    )
    block_minutes: Count = Field(
        default=0,
        description="After an alert, refuse the partner's requests for this many minutes; "
        "0 raises the alert only.",
    )


class Policy(PolicySection):
    """A node's access policy. Deny by default; rules are read top to bottom and, for each
    identifier type or aggregate request, the first rule that allows it decides."""

    policy: Literal[1] = Field(description="Language version; always 1.")
    node: str = Field(description="This node's agency id.")
    purposes: dict[str, Purpose] = Field(
        default_factory=dict, description="Purposes partners may invoke, by name."
    )
    rules: tuple[Rule, ...] = Field(default=(), description="Grants, read top to bottom.")
    retention: dict[str, Retention] = Field(
        default_factory=dict, description="Per dataset: how long records stay searchable."
    )
    global_caps: dict[str, GlobalCap] = Field(
        default_factory=dict, description="Per dataset: privacy loss cap across all partners."
    )
    follow_up: FollowUp | None = Field(default=None, description="Follow-up after a hit.")
    probing: Probing = Field(
        default_factory=Probing,
        description="Alerts on, and optional temporary blocks of, partners whose questions look "
        "like enumeration.",
    )

    _source: str = PrivateAttr(default="<policy>")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_data(
        cls, data: Any, *, source: str = "<policy>", lines: Mapping[str, int] | None = None
    ) -> Policy:
        """Validate plain data (as read from YAML) into a policy that remembers where it came
        from and the line of each path. Raises pydantic's ``ValidationError``;
        :func:`policies.load_policy` turns that into a :class:`PolicyError`."""
        policy = cls.model_validate(data)
        policy._source = source
        policy._lines = dict(lines or {})
        return policy

    @property
    def source(self) -> str:
        """Where the text came from (a file name), for messages."""
        return self._source

    def line_of(self, path: str) -> int | None:
        """The line of ``path`` (``rules[0].partners``) in the text, or of its closest parent."""
        while path:
            if path in self._lines:
                return self._lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self._lines.get("")

    def canonical(self) -> dict[str, Any]:
        """The parsed policy with every default filled in and unordered lists sorted: two
        texts that mean the same thing have the same canonical form."""
        return _canonical(self.model_dump(mode="json"))  # type: ignore[no-any-return]

    @cached_property
    def version_hash(self) -> str:
        """SHA-256 (hex) of the canonical form as sorted-keys JSON."""
        text = json.dumps(
            self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` its version hash is computed afresh, never inherited."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("version_hash", None)
        return copied

    def rule(self, rule_id: str) -> Rule | None:
        """The first rule named ``rule_id``."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def retention_days(self, dataset: str) -> int | None:
        """Days records of ``dataset`` stay searchable, or ``None`` when the policy sets none."""
        entry = self.retention.get(dataset)
        return entry.max_age_days if entry is not None else None

    def global_cap(self, dataset: str) -> GlobalCap | None:
        """The privacy loss cap across all partners for ``dataset``, if any."""
        return self.global_caps.get(dataset)


def _canonical(value: Any) -> Any:
    # Lists of names and of name sets are unordered in the language; lists of mappings (rules)
    # are ordered, because the first rule that allows a request decides.
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if all(isinstance(item, str) for item in items):
            return sorted(items)
        if all(isinstance(item, list) for item in items):
            return sorted(items)
        return items
    return value
