"""Cordon's policy language: the access policy a node's data-protection officer owns.

Read a policy with :func:`load_policy`, check it against the federation with
:func:`check_policy`, decide requests with :func:`decide_match` / :func:`decide_aggregate`
(deny by default; the first rule that allows a request decides; never raises) and say why with
:func:`explain`. The package is pure: it reads only the text it is handed and imports neither
``gateway`` nor ``connectors`` nor ``crypto`` (the identifier vocabulary and the partner list
are passed in).
"""

from policies.checks import check_policy
from policies.decisions import (
    AggregateObligations,
    AggregateRequest,
    MatchObligations,
    MatchRequest,
    PolicyDecision,
)
from policies.diff import diff_policies
from policies.errors import PolicyError, PolicyIssue
from policies.evaluate import (
    EVALUATION_FAILED,
    decide_aggregate,
    decide_match,
    decide_match_per_type,
)
from policies.explain import Explanation, RuleOutcome, explain
from policies.loader import load_policy
from policies.model import (
    DISCLOSURES,
    HANDLING_CODES,
    PERIODS,
    SUBJECT_CATEGORIES,
    AggregateDataset,
    AggregateGrant,
    FollowUp,
    GlobalCap,
    MatchGrant,
    Policy,
    Probing,
    Purpose,
    Retention,
    Rule,
)
from policies.schema import policy_schema

__all__ = [
    "DISCLOSURES",
    "EVALUATION_FAILED",
    "HANDLING_CODES",
    "PERIODS",
    "SUBJECT_CATEGORIES",
    "AggregateDataset",
    "AggregateGrant",
    "AggregateObligations",
    "AggregateRequest",
    "Explanation",
    "FollowUp",
    "GlobalCap",
    "MatchGrant",
    "MatchObligations",
    "MatchRequest",
    "Policy",
    "PolicyDecision",
    "PolicyError",
    "PolicyIssue",
    "Probing",
    "Purpose",
    "Retention",
    "Rule",
    "RuleOutcome",
    "check_policy",
    "decide_aggregate",
    "decide_match",
    "decide_match_per_type",
    "diff_policies",
    "explain",
    "load_policy",
    "policy_schema",
]
