"""The independence, extreme-value and Haar checks: correct samples pass at their designed rate,
and each check fails for the reason it exists."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from initspec import checks, engine
from initspec.distributions import reference


def test_lag1_correlation_false_failure_rate():
    """iid draws of three laws and shapes: the lag-1 checks fail at most at alpha (union bound),
    allowed up to the 1 - 1e-6 quantile of the binomial."""
    alpha, runs, failures, tests = 1e-2, 0, 0, 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        for x in (rng.uniform(-1, 1, (50, 40, 30)), rng.standard_normal((200, 64, 8)),
                  rng.exponential(size=(3, 1000, 50))):  # a skewed law: the test is law-free
            for axis in range(x.ndim):
                r = checks.check_serial_correlation(x, axis, f"axis{axis}", alpha)
                failures += not r.passed
                tests += 1
        runs += 1
    assert tests == 9 * runs
    assert failures <= stats.binom.isf(1e-6, tests, alpha)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_lag1_correlation_sees_a_leaning_neighbour(axis):
    """x_{i+1} = 0.02·x_i + noise along one axis: caught along that axis, not along the others."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 100, 100))
    lead = np.take(x, range(x.shape[axis] - 1), axis=axis)
    index = [slice(None)] * 3
    index[axis] = slice(1, None)
    x[tuple(index)] += 0.02 * lead
    failing = {a for a in range(3) if not checks.check_serial_correlation(x, a, "", 1e-6).passed}
    assert failing == {axis}


def test_distinct_instances_is_exact_and_skipped_where_chance_collides():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((100, 8, 8)).astype(np.float32)
    assert checks.check_distinct_instances(x).passed
    x[57] = x[3]
    result = checks.check_distinct_instances(x)
    assert not result.passed and result.stats["repeats"] == 1
    # a one-value bfloat16 bias drawn 10^5 times: collisions are certain, the check is not run
    dist = stats.uniform(-0.1, 0.2)
    q = checks.collision_probability(reference(dist, "bfloat16"), "bfloat16")
    assert checks.distinct_instances_bound(100_000, 1, q) > checks.CHANCE_COLLISION
    names = {r.name for r in engine.independence_checks(
        rng.uniform(-0.1, 0.1, (100_000, 1)), dist, "bfloat16", 1e-6)}
    assert names == {"independence:instances"}
    # a 64-value float32 instance: the bound is negligible, the check runs
    assert checks.distinct_instances_bound(10_000, 64, 2.0 ** -20) < 1e-300


def test_extreme_value_judges_one_outlier_where_it_lies():
    """One value at 7.5σ among 10^6 normal draws: the 6σ tail count (one value, expected 0.002)
    cannot reject at alpha 1e-6, the extreme-value check does; one at 5σ passes both."""
    rng = np.random.default_rng(3)
    dist = stats.norm(0, 2)
    for at, caught in ((7.5, True), (5.0, False)):  # alpha 1e-6 at n = 10^6: beyond 7.13σ
        x = dist.rvs(size=1_000_000, random_state=rng).astype(np.float32)
        x[0] = at * 2
        sample = checks.Sample(x, "float32")
        extreme = checks.check_extreme(sample, dist, 1e-6)
        assert extreme.passed is not caught, (at, extreme.message)
        assert checks.check_tail(sample, dist, 6, 1e-6).passed


def test_extreme_value_false_failure_rate_in_16_bit():
    """Against the exact rounded reference, bfloat16 normal draws pass at the designed rate."""
    dist = stats.norm(0, 0.05)
    ref = reference(dist, "bfloat16")
    fails = 0
    for seed in range(100):
        x = dist.rvs(size=20_000, random_state=seed).astype(checks.DTYPES["bfloat16"])
        fails += not checks.check_extreme(checks.Sample(x, "bfloat16"), ref, 0.05).passed
    assert fails <= stats.binom.isf(1e-6, 100, 0.05)


def _haar(rng, rows: int, cols: int, corrected: bool = True) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    if corrected:
        q = q * np.sign(np.diag(r))
    return q.T if rows < cols else q


@pytest.mark.parametrize(("rows", "cols", "axis"), [(16, 16, 0), (5, 40, 0), (40, 5, -1)])
def test_haar_signs_pass_haar_and_fail_without_the_sign_correction(rows, cols, axis):
    rng = np.random.default_rng(4)
    count = max(3, -(-engine.HAAR_SIGNS // min(rows, cols)))
    fails = 0
    for _ in range(200):  # the exact binomial test has its size: at most alpha
        x = np.stack([_haar(rng, rows, cols) for _ in range(count)])
        fails += not checks.check_haar_signs(x, 0.01, axis=axis).passed
    assert fails <= stats.binom.isf(1e-6, 200, 0.01)
    x = np.stack([_haar(rng, rows, cols, corrected=False) for _ in range(count)])
    result = checks.check_haar_signs(x, 1e-9, axis=axis)
    assert not result.passed and result.stats["positive"] < 0.3 * result.stats["total"]
