"""Noise from OpenDP: discrete Gaussian (zCDP, the default) or discrete Laplace (pure DP,
converted to zCDP), sampled on integers. Only the ``contrib`` feature is enabled — never
``floating-point`` or ``honest-but-curious`` — so every sampler is OpenDP's exact discrete one.

A measurement is built once per shape (mechanism, sensitivity, nano-rho asked) and reused: its
privacy map, evaluated at the declared sensitivity and rounded up to whole nano-rho, is what
the ledger charges, and never more than was asked.
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

from gateway.aggregates.rho import as_rho, nano_ceil
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
