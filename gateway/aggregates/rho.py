"""Privacy loss as the ledger counts it: whole nano-rho (10^-9 rho, zCDP), so that budgets add
up exactly and the edge of a budget never depends on float rounding.

Conversions round in the safe direction: a limit or an amount asked is rounded *down* (a
partner never gets more than the policy wrote), a loss measured by OpenDP is rounded *up*
(the ledger never charges less than the mechanism spends). Conversions use the float's exact
binary value, so a limit of ``0.05`` is 50,000,000 nano-rho and a measured loss of the float
``0.05`` (a hair above 0.05) is 50,000,001: the calibration widens the noise until it fits.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from gateway.errors import BadRequest

NANO_PER_RHO = 10**9
# Far above any sane budget, far below BIGINT: sums of many charges cannot overflow.
MAX_NANO = 10**15


def nano_floor(rho: float) -> int:
    """``rho`` in whole nano-rho, rounded down (for limits and amounts asked)."""
    return _nano(rho, ROUND_FLOOR)


def nano_ceil(rho: float) -> int:
    """``rho`` in whole nano-rho, rounded up (for losses measured by OpenDP)."""
    return _nano(rho, ROUND_CEILING)


def as_rho(nano: int) -> float:
    """Nano-rho as a float for display; the ledger never computes with it."""
    return nano / NANO_PER_RHO


def check_rho(rho: float, per_query_nano: int | None = None) -> int:
    """The amount asked in nano-rho, or ``BadRequest`` if ``rho`` is not a finite number of
    at least one nano-rho within the per-query cap."""
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not math.isfinite(rho):
        raise BadRequest(f"rho must be a finite number, got {rho!r}")
    if rho <= 0:
        raise BadRequest(f"rho must be more than 0, got {rho!r}")
    if rho > as_rho(MAX_NANO):
        raise BadRequest(f"rho {rho!r} is absurdly large")
    nano = nano_floor(rho)
    if nano < 1:
        raise BadRequest(f"rho {rho!r} is below the ledger's unit of 1e-9")
    if per_query_nano is not None and nano > per_query_nano:
        raise BadRequest(f"rho {rho!r} exceeds the per-query cap {as_rho(per_query_nano)!r}")
    return nano


def _nano(rho: float, rounding: str) -> int:
    return _scaled(rho, NANO_PER_RHO, rounding)


def _scaled(loss: float, units: int, rounding: str) -> int:
    if not math.isfinite(loss) or loss < 0:
        raise ValueError(f"not a privacy loss: {loss!r}")
    scaled = Decimal(float(loss)) * units
    return min(MAX_NANO, int(scaled.to_integral_value(rounding=rounding)))


# Delta (the chance that a key selection fails to protect a unit) is counted the same way, in
# whole femto-delta (10^-15): a policy's 1e-6 per month is 10^9 of them, and OpenDP's measured
# delta is rounded up.
FEMTO_PER_DELTA = 10**15


def femto_floor(delta: float) -> int:
    """``delta`` in whole femto-delta, rounded down (for limits)."""
    return _scaled(delta, FEMTO_PER_DELTA, ROUND_FLOOR)


def femto_ceil(delta: float) -> int:
    """``delta`` in whole femto-delta, rounded up (for losses measured by OpenDP)."""
    return _scaled(delta, FEMTO_PER_DELTA, ROUND_CEILING)


def as_delta(femto: int) -> float:
    """Femto-delta as a float for display."""
    return femto / FEMTO_PER_DELTA
