"""Power as an API: sample sizes and the smallest deviations each test detects.

In the spirit of TensorFlow Probability's ``statistical_testing``: for every test there is a
``min_num_samples_*`` (how many draws certify a resolution) and a ``min_discrepancy_*`` (what a
given n resolves), both at a false-failure rate ``alpha`` and a false-pass rate ``1 - power``.
All are two-sided, normal-approximation formulas, accurate at the n ≈ 10^5–10^7 used here.
"""

from __future__ import annotations

import math

from scipy import optimize, special, stats

POWER = 0.99


def _z(alpha: float, power: float) -> float:
    return float(stats.norm.isf(alpha / 2) + stats.norm.ppf(power))


def min_num_samples_variance(kurtosis: float, resolution: float, alpha: float,
                             power: float = POWER) -> int:
    """Draws needed so the variance test detects a relative variance error of ``resolution``.

    The statistic ``mean((x - mu)^2)`` has standard deviation ``sigma^2 * sqrt((kurtosis - 1)/n)``
    (kurtosis = mu4 / sigma^4, not excess), so ``n = (z * sqrt(kurtosis - 1) / resolution)^2``.
    """
    return math.ceil((_z(alpha, power) * math.sqrt(kurtosis - 1) / resolution) ** 2)


def min_discrepancy_variance(n: int, kurtosis: float, alpha: float, power: float = POWER) -> float:
    """Smallest relative variance error the variance test detects at ``n`` draws."""
    return _z(alpha, power) * math.sqrt((kurtosis - 1) / n)


def min_discrepancy_mean(n: int, alpha: float, power: float = POWER) -> float:
    """Smallest mean shift, in units of sigma, the mean test detects at ``n`` draws."""
    return _z(alpha, power) / math.sqrt(n)


def min_discrepancy_ks(n: int, alpha: float, power: float = POWER, grid: float = 0.0) -> float:
    """Smallest sup |F - G| the KS test detects at ``n`` draws.

    Under an alternative G at distance d, D_n >= d - |F_n(x*) - G(x*)|, and that last term has
    standard deviation at most 1/(2 sqrt(n)). ``grid`` is the resolution lost by evaluating the
    statistic on a grid of points (at most the largest probability between two grid points).
    """
    return (float(stats.kstwobign.isf(alpha)) + stats.norm.ppf(power) / 2) / math.sqrt(n) + grid


def min_excess_count(n: int, p0: float, alpha: float, power: float = POWER) -> float:
    """Smallest excess of a tail count (in values, over the n·p0 expected) detected by binomtest.

    Finds the critical count of a one-sided level-alpha/2 binomial test, then the rate p1 at which
    that count is reached with probability ``power``.
    """
    critical = float(stats.binom.isf(alpha / 2, n, p0)) + 1
    if critical > n:
        return math.inf

    def shortfall(p1: float) -> float:
        # binom.sf(k, n, p) is special.bdtrc(k, n, p); calling it directly skips the frozen
        # distribution's argument handling, ~50x faster inside the root search
        return float(special.bdtrc(critical - 1, n, p1)) - power

    p1 = optimize.brentq(shortfall, p0, 1.0, xtol=1e-15) if shortfall(p0) < 0 else p0
    return n * (p1 - p0)
