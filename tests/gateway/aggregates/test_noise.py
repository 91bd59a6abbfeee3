from __future__ import annotations

import math
import statistics

import pytest

from gateway.aggregates.noise import calibrate, gaussian, laplace_zcdp
from gateway.aggregates.rho import nano_ceil

NANO = 10**9


@pytest.mark.parametrize(
    ("sensitivity", "rho_nano"), [(1, NANO // 2), (4, NANO // 20), (4000, NANO // 4), (3, 7)]
)
def test_discrete_gaussian_charges_opendp_map_equal_to_s2_over_2scale2(
    sensitivity: int, rho_nano: int
) -> None:
    noise = calibrate("discrete_gaussian", sensitivity, rho_nano)
    opendp_map = gaussian(sensitivity, noise.scale).map(sensitivity)
    assert noise.rho_nano == nano_ceil(opendp_map) == rho_nano
    assert opendp_map == pytest.approx(sensitivity**2 / (2 * noise.scale**2), rel=1e-9)
    assert opendp_map <= rho_nano / NANO


@pytest.mark.parametrize(("sensitivity", "rho_nano"), [(1, NANO // 2), (4, NANO // 20)])
def test_discrete_laplace_is_charged_as_eps_squared_over_two(
    sensitivity: int, rho_nano: int
) -> None:
    noise = calibrate("discrete_laplace", sensitivity, rho_nano)
    epsilon = sensitivity / noise.scale
    opendp_map = laplace_zcdp(sensitivity, noise.scale).map(sensitivity)
    assert noise.rho_nano == nano_ceil(opendp_map) == rho_nano
    assert opendp_map == pytest.approx(epsilon**2 / 2, rel=1e-9)


def test_measurement_is_built_once_per_shape() -> None:
    assert calibrate("discrete_gaussian", 7, NANO // 8) is calibrate(
        "discrete_gaussian", 7, NANO // 8
    )


@pytest.mark.parametrize("bad", [0, -1])
def test_calibrate_refuses_a_rho_that_is_not_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        calibrate("discrete_gaussian", 1, bad)


def test_observed_gaussian_noise_matches_the_stated_scale_and_interval() -> None:
    # 20 000 draws with scale 8: the sample standard deviation has a relative standard error
    # of about 1/sqrt(2n) = 0.5%, so a 5% band fails by chance with probability < 1e-20; the
    # 95% interval should cover 95% +- 0.5% of the draws: 93% is a loose floor.
    noise = calibrate("discrete_gaussian", 4, NANO // 8)
    assert noise.scale == pytest.approx(8.0)
    draws = noise.release([0] * 20_000)
    assert all(isinstance(d, int) for d in draws)
    assert statistics.pstdev(draws) == pytest.approx(noise.scale, rel=0.05)
    assert abs(statistics.fmean(draws)) < 0.5
    covered = sum(abs(d) <= noise.ci95 for d in draws) / len(draws)
    assert covered >= 0.93


def test_observed_laplace_noise_matches_the_stated_scale() -> None:
    # Discrete Laplace with scale t has variance 2e^{-1/t}/(1-e^{-1/t})^2, close to 2t^2 for
    # t = 8; 10% band on the standard deviation (relative s.e. about 1% with 20 000 draws).
    noise = calibrate("discrete_laplace", 4, NANO // 8)
    draws = noise.release([0] * 20_000)
    q = math.exp(-1 / noise.scale)
    expected = math.sqrt(2 * q / (1 - q) ** 2)
    assert statistics.pstdev(draws) == pytest.approx(expected, rel=0.1)
    assert sum(abs(d) <= noise.ci95 for d in draws) / len(draws) >= 0.93
