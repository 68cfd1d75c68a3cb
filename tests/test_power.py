"""Power as an API: the sample-size and resolution formulas, and that the checks deliver them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from initspec import checks, power
from initspec.distributions import reference

KURTOSIS = {"uniform": 1.8, "normal": 3.0,
            "truncnorm": float(stats.truncnorm(-2, 2).stats(moments="k")) + 3}


@pytest.mark.parametrize("kurtosis", KURTOSIS.values(), ids=KURTOSIS.keys())
@pytest.mark.parametrize("resolution", [0.005, 0.01, 0.02, 0.1])
@pytest.mark.parametrize("alpha", [1e-3, 1e-6, 1e-8])
def test_variance_sample_size_and_resolution_are_inverses(kurtosis, resolution, alpha):
    n = power.min_num_samples_variance(kurtosis, resolution, alpha)
    assert power.min_discrepancy_variance(n, kurtosis, alpha) <= resolution
    assert power.min_discrepancy_variance(n - 1, kurtosis, alpha) > resolution
    back = power.min_num_samples_variance(
        kurtosis, power.min_discrepancy_variance(n, kurtosis, alpha), alpha)
    assert back in (n - 1, n, n + 1)  # up to rounding of the ceiling


def test_variance_sample_size_grows_as_expected():
    base = power.min_num_samples_variance(3.0, 0.01, 1e-6)
    assert power.min_num_samples_variance(3.0, 0.005, 1e-6) == pytest.approx(4 * base, rel=1e-4)
    assert power.min_num_samples_variance(3.0, 0.01, 1e-8) > base
    assert power.min_num_samples_variance(3.0, 0.01, 1e-6, power=0.999) > base
    assert power.min_num_samples_variance(1.8, 0.01, 1e-6) < base  # light tails need fewer
    # the closed form: n = ((z_{alpha/2} + z_power) * sqrt(kurtosis - 1) / resolution)^2
    z = stats.norm.isf(0.5e-6) + stats.norm.ppf(0.99)
    assert base == math.ceil((z * math.sqrt(2) / 0.01) ** 2)


def test_mean_and_ks_resolutions_shrink_like_one_over_root_n():
    for fn in (power.min_discrepancy_mean, power.min_discrepancy_ks):
        assert fn(400_000, 1e-6) == pytest.approx(fn(100_000, 1e-6) / 2)
        assert fn(100_000, 1e-8) > fn(100_000, 1e-6)
    assert power.min_discrepancy_ks(10**6, 1e-6, grid=2**-16) == pytest.approx(
        power.min_discrepancy_ks(10**6, 1e-6) + 2**-16)


# --------------------------------------------------------------------------- empirical power

RUNS, N, ALPHA = 40, 100_000, 1e-3
MIN_DETECTED = 37  # designed power 0.99: P(fewer than 37 of 40) ~ 1e-4


@pytest.mark.parametrize(
    ("name", "dist"),
    [("uniform", stats.uniform(-1, 2)), ("normal", stats.norm(0, 1)),
     ("truncnorm", stats.truncnorm(-2, 2))],
)
@pytest.mark.parametrize("direction", [1, -1])
def test_variance_off_by_the_min_detectable_amount_is_detected(name, dist, direction):
    kurtosis = float(dist.stats(moments="k")) + 3
    delta = power.min_discrepancy_variance(N, kurtosis, ALPHA)
    scale = math.sqrt(1 + direction * delta)
    ref = reference(dist, "float64")
    half = math.sqrt(1 + direction * delta / 2)
    detected = detected_half = 0
    for seed in range(RUNS):
        x = dist.rvs(size=N, random_state=np.random.default_rng([seed, 1]))
        result = checks.check_variance(checks.Sample(x * scale, "float64"), ref, ALPHA)
        assert result.min_detectable == f"±{100 * delta:.2g}%"
        detected += not result.passed
        detected_half += not checks.check_variance(checks.Sample(x * half, "float64"), ref,
                                                   ALPHA).passed
    assert detected >= MIN_DETECTED
    # and the claim is tight, not vacuous: half that error has power ~0.3, not ~1
    assert detected_half <= 30


def test_mean_off_by_the_min_detectable_amount_is_detected():
    shift = power.min_discrepancy_mean(N, ALPHA)
    ref = stats.norm(0, 1)
    detected = sum(
        not checks.check_mean(checks.Sample(ref.rvs(size=N, random_state=seed) + shift,
                                            "float64"), ref, ALPHA).passed
        for seed in range(RUNS))
    assert detected >= MIN_DETECTED


def test_ks_off_by_the_min_detectable_distance_is_detected():
    """A location shift s of N(0, 1) is at KS distance 2·Phi(s/2) - 1."""
    d = power.min_discrepancy_ks(N, ALPHA, grid=2**-16)
    shift = 2 * stats.norm.ppf((1 + d) / 2)
    ref = stats.norm(0, 1)
    detected = sum(
        not checks.check_ks(checks.Sample(ref.rvs(size=N, random_state=seed) + shift, "float64"),
                            ref, ref, ALPHA).passed
        for seed in range(RUNS))
    assert detected >= MIN_DETECTED


@pytest.mark.parametrize("k", [3, 4, 5])
def test_tail_excess_of_the_min_detectable_count_is_detected(k):
    ref = stats.norm(0, 1)
    p0 = 2 * stats.norm.sf(k)
    excess = power.min_excess_count(N, p0, ALPHA)
    eps = excess / N / (1 - p0)  # mixture weight that adds `excess` values beyond kσ on average
    detected = 0
    for seed in range(RUNS):
        rng = np.random.default_rng([seed, k])
        x = ref.rvs(size=N, random_state=rng)
        moved = rng.random(N) < eps
        x[moved] = (k + 1) * rng.choice([-1.0, 1.0], size=int(moved.sum()))
        detected += not checks.check_tail(checks.Sample(x, "float64"), ref, k, ALPHA).passed
    assert detected >= MIN_DETECTED


# --------------------------------------------------------------------------- min_excess_count


@pytest.mark.parametrize("n", [10**5, 10**6])
@pytest.mark.parametrize("p0", [1e-9, 1e-6, 6.3e-5, 2.7e-3, 0.1])
def test_min_excess_count(n, p0):
    excess = power.min_excess_count(n, p0, 1e-6)
    assert 0 < excess < n
    # what it means: at rate p0 + excess/n the level-alpha/2 critical count is reached with 99 %
    critical = stats.binom.isf(0.5e-6, n, p0) + 1
    assert stats.binom.sf(critical - 1, n, p0 + excess / n) == pytest.approx(0.99, abs=1e-6)
    assert stats.binom.sf(critical - 1, n, p0) <= 0.5e-6
    # monotone: stricter alpha, more power, or a larger expected count need a larger excess
    assert power.min_excess_count(n, p0, 1e-8) >= excess
    assert power.min_excess_count(n, p0, 1e-3) <= excess
    assert power.min_excess_count(n, p0, 1e-6, power=0.999) > excess
    if n * p0 >= 1 and p0 < 0.05:  # below one expected value the critical count is flat
        assert power.min_excess_count(n, 2 * p0, 1e-6) >= excess


def test_min_excess_count_for_a_rare_event_is_a_handful_of_values():
    # nothing expected (6σ at n = 10^6): a few values are enough
    assert power.min_excess_count(10**6, 2e-9, 1e-6) < 10


def test_min_excess_count_is_infinite_when_nothing_can_be_detected():
    assert power.min_excess_count(10, 0.9, 1e-6) == math.inf
