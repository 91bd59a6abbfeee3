"""The wire forms of aggregate questions and answers, on the peer and the local API.

A question is a fixed template (``count`` or a bounded ``sum`` of an integer column), optional
equality / in-list filters on categorical columns, an optional grouping by one or two
categorical columns (keys from the public value list, or chosen by a DP threshold where there
is none), and the privacy loss (zCDP rho) the asker will spend.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Template = Literal["count", "sum"]
MechanismName = Literal["discrete_gaussian", "discrete_laplace"]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AggregateQuery(_Strict):
    dataset: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    template: Template
    column: str | None = Field(default=None, pattern=NAME_PATTERN)
    group_by: tuple[str, ...] = Field(default=(), max_length=2)
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict, max_length=8)
    # Any float is accepted here so that the service can refuse NaN, infinities, zero and
    # negatives with one clear error (and an audit entry) instead of a schema error.
    rho: float = Field(allow_inf_nan=True)
    mechanism: MechanismName | None = None

    def columns(self) -> tuple[str, ...]:
        used = [*self.filters, *self.group_by]
        if self.column is not None:
            used.append(self.column)
        return tuple(dict.fromkeys(used))

    def fingerprint(self) -> str:
        """A digest of the question, the same for equal questions however they were written."""
        canonical = {
            "dataset": self.dataset,
            "template": self.template,
            "column": self.column,
            "group_by": list(self.group_by),
            "filters": {k: sorted(set(v)) for k, v in sorted(self.filters.items())},
            "rho": repr(float(self.rho)),
            "mechanism": self.mechanism,
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GroupValue(_Strict):
    """One released figure. ``key`` is empty for an overall total; ``value`` is ``None`` when
    the group is suppressed for being below the policy's minimum group size."""

    key: tuple[str, ...]
    value: int | None
    ci_low: int | None
    ci_high: int | None
    suppressed: bool = False


class KeySelection(_Strict):
    """How the keys of a grouping without public values were chosen: a group is listed only
    if its noisy count reached ``threshold`` (so listed counts lean high, and groups that are
    absent may still hold a few records). The delta spent is charged beside rho."""

    threshold: int
    scale: float
    delta_charged: float
    delta_charged_femto: int = Field(ge=0)
    delta_left: float
    delta_left_femto: int = Field(ge=0)


class NodeAggregate(_Strict):
    """One node's noisy answer: its values and how they were made (``key_selection`` when its
    group keys were chosen by a DP threshold)."""

    responder: str
    dataset: str
    template: Template
    mechanism: MechanismName
    scale: float
    variance: float
    ci95_half_width: float
    rho_charged: float
    budget_left: float
    rho_charged_nano: int = Field(ge=0)
    budget_left_nano: int = Field(ge=0)
    cached: bool
    min_group_size: int
    groups: tuple[GroupValue, ...]
    key_selection: KeySelection | None = None


class PeerAggregateAnswer(_Strict):
    responder: str
    request_jti: str
    aggregate: NodeAggregate


class LocalAggregateRequest(_Strict):
    query: AggregateQuery
    purpose: str = Field(min_length=1, max_length=128)
    case_reference: str = Field(min_length=1, max_length=256)
    peers: tuple[str, ...] | None = None


class PeerStatus(_Strict):
    agency: str
    status: str
    detail: str | None = None
    aggregate: NodeAggregate | None = None


class CombinedGroup(_Strict):
    """The sum over the peers that answered the group; ``None`` if any of them suppressed it
    (a partial sum would be misread as a total). ``missing_from`` names responders that did
    not list the key at all (below their DP threshold, or outside their public values): the
    sum and its interval cover only the others."""

    key: tuple[str, ...]
    value: int | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool
    missing_from: tuple[str, ...] = ()


class CombinedAggregate(_Strict):
    """The sum of every node's noisy answer (the asking node's own included when it holds the
    dataset). ``rho_charged`` is the total charged across the nodes' ledgers (each node's own
    loss is its own figure); ``budget_left_min`` the smallest budget any responder has left."""

    responders: tuple[str, ...]
    variance: float
    ci95_half_width: float
    rho_charged: float
    rho_charged_nano: int
    budget_left_min: float | None
    groups: tuple[CombinedGroup, ...]
    delta_charged: float = 0.0
    delta_charged_femto: int = 0


class LocalAggregateAnswer(_Strict):
    query: AggregateQuery
    own: PeerStatus | None
    peers: tuple[PeerStatus, ...]
    combined: CombinedAggregate
