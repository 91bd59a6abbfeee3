"""Noise from OpenDP: discrete Gaussian (zCDP, the default) or discrete Laplace (pure DP,
converted to zCDP), sampled on integers. Only the ``contrib`` feature is enabled — never
``floating-point`` or ``honest-but-curious`` — so every sampler is OpenDP's exact discrete one.

A measurement is built once per shape (mechanism, sensitivity, nano-rho asked) and reused: its
privacy map, evaluated at the declared sensitivity and rounded up to whole nano-rho, is what
the ledger charges, and never more than was asked.

Group keys that no public list names are chosen by a DP threshold (``select_keys``: OpenDP's
``make_noise_threshold``, discrete Gaussian under approximate zCDP): every key's bounded count
gets noise and only keys whose noisy count reaches the threshold are released. A unit with at
most ``k`` rows touches at most ``k`` keys and moves each count by at most ``k``, so the map is
evaluated at (l0, l2, linf) = (k, k, k); it gives rho (as for the plain Gaussian) and delta,
the chance that a key only that unit holds passes the threshold. The threshold is the least
whole number whose delta fits the grant's per-query delta.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp
from opendp.accuracy import (
    discrete_gaussian_scale_to_accuracy,
    discrete_laplacian_scale_to_accuracy,
)

from gateway.aggregates.rho import as_delta, as_rho, femto_ceil, nano_ceil
from gateway.aggregates.schemas import MechanismName

dp.enable_features("contrib")

CONFIDENCE = 0.95


@dataclass(frozen=True)
class NoiseMechanism:
    """A calibrated measurement: ``rho_nano`` is OpenDP's privacy map at ``sensitivity`` in
    nano-rho rounded up (what the ledger charges, never more than asked), ``ci95`` the
    half-width that holds each released value's noise with 95% probability, and ``variance``
    an upper bound on the noise variance (for combining nodes' answers)."""

    name: MechanismName
    sensitivity: int
    scale: float
    rho_nano: int
    ci95: float
    variance: float
    measurement: Any

    @property
    def rho(self) -> float:
        return as_rho(self.rho_nano)

    def release(self, exact: list[int]) -> list[int]:
        return [int(v) for v in self.measurement(exact)]


@dataclass(frozen=True)
class KeySelectionMechanism:
    """A calibrated DP threshold over a map of bounded counts: ``release`` returns the keys
    whose noisy count reaches ``threshold``, with those noisy counts. ``rho_nano`` and
    ``delta_femto`` are OpenDP's map at (k, k, k), rounded up."""

    contributions: int
    scale: float
    threshold: int
    rho_nano: int
    delta_femto: int
    ci95: float
    variance: float
    measurement: Any

    @property
    def rho(self) -> float:
        return as_rho(self.rho_nano)

    @property
    def delta(self) -> float:
        return as_delta(self.delta_femto)

    def release(self, counts: dict[str, int]) -> dict[str, int]:
        positive = {key: count for key, count in counts.items() if count > 0}
        return {str(k): int(v) for k, v in self.measurement(positive).items()}


def _threshold_measurement(scale: float, threshold: int) -> Any:
    return dp.m.make_noise_threshold(
        dp.map_domain(dp.atom_domain(T=dp.String), dp.atom_domain(T=dp.i64)),
        dp.l02inf_distance(dp.absolute_distance(T=dp.i64)),
        dp.approximate(dp.zero_concentrated_divergence()),
        scale=scale,
        threshold=threshold,
    )


def _threshold_loss(measurement: Any, contributions: int) -> tuple[int, int]:
    rho, delta = measurement.map((contributions, contributions, contributions))
    return nano_ceil(rho), femto_ceil(delta)


@functools.lru_cache(maxsize=256)
def select_keys(
    contributions: int, rho_nano: int, delta_femto: int, least_threshold: int = 1
) -> KeySelectionMechanism:
    """The least-noise discrete Gaussian threshold whose loss at (k, k, k), rounded up, is at
    most ``rho_nano`` and ``delta_femto``, with the least threshold (at least
    ``least_threshold`` and never below k, as OpenDP requires) that achieves that delta.
    ``ValueError`` if no threshold gets delta that low (delta below what floats resolve)."""
    if contributions < 1 or rho_nano < 1 or delta_femto < 1:
        raise ValueError("select_keys needs positive contributions, nano-rho and femto-delta")
    # The same noise as the plain discrete Gaussian at this rho: its scale, interval, variance.
    gaussian = calibrate("discrete_gaussian", contributions, rho_nano)
    scale = gaussian.scale
    low = max(contributions, least_threshold)

    def fits(threshold: int) -> bool:
        return _threshold_loss(_threshold_measurement(scale, threshold), contributions)[1] <= (
            delta_femto
        )

    high = low
    while not fits(high):
        if high > low + 2**40:
            raise ValueError("no threshold reaches the delta asked")
        high = low + 2 * (high - low) + 1
    while low < high:  # the least fitting threshold: delta falls as the threshold rises
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    measurement = _threshold_measurement(scale, high)
    rho_charged, delta_charged = _threshold_loss(measurement, contributions)
    if rho_charged > rho_nano:  # pragma: no cover - the same scale as the calibrated Gaussian
        raise ValueError("could not calibrate the threshold to the rho asked")
    return KeySelectionMechanism(
        contributions,
        scale,
        high,
        rho_charged,
        delta_charged,
        gaussian.ci95,
        gaussian.variance,
        measurement,
    )


def _domain() -> Any:
    return dp.vector_domain(dp.atom_domain(T=dp.i64))


def gaussian(sensitivity: int, scale: float) -> Any:
    return dp.m.make_gaussian(_domain(), dp.l2_distance(T=dp.i64), scale)


def laplace_zcdp(sensitivity: int, scale: float) -> Any:
    return dp.c.make_pureDP_to_zCDP(dp.m.make_laplace(_domain(), dp.l1_distance(T=dp.i64), scale))


@functools.lru_cache(maxsize=256)
def calibrate(name: MechanismName, sensitivity: int, rho_nano: int) -> NoiseMechanism:
    """The least-noise measurement of ``name`` whose zCDP loss at ``sensitivity``, rounded up
    to nano-rho, is at most ``rho_nano``."""
    if sensitivity < 1 or rho_nano < 1:
        raise ValueError("calibrate needs a positive sensitivity and a positive nano-rho")
    rho = as_rho(rho_nano)
    make = gaussian if name == "discrete_gaussian" else laplace_zcdp
    # Closed forms: Gaussian rho = s^2 / (2 scale^2); Laplace eps = s / scale, rho = eps^2 / 2.
    scale = sensitivity / math.sqrt(2 * rho)
    measurement = make(sensitivity, scale)
    # OpenDP rounds its map up, and so does the ledger: widen the scale until it fits.
    for _ in range(64):
        if nano_ceil(measurement.map(sensitivity)) <= rho_nano:
            break
        scale = math.nextafter(scale, math.inf) * (1 + 1e-12)
        measurement = make(sensitivity, scale)
    charged = nano_ceil(measurement.map(sensitivity))
    if charged > rho_nano:  # pragma: no cover - the loop converges in a step or two
        raise ValueError("could not calibrate the noise to the rho asked")
    if name == "discrete_gaussian":
        ci95 = float(discrete_gaussian_scale_to_accuracy(scale, 1 - CONFIDENCE))
        variance = scale**2
    else:
        ci95 = float(discrete_laplacian_scale_to_accuracy(scale, 1 - CONFIDENCE))
        variance = 2 * scale**2
    return NoiseMechanism(name, sensitivity, scale, charged, ci95, variance, measurement)
