"""Compact evidence for plots, stored with each random cell at check time (never re-drawn).

From the :class:`~initspec.checks.Sample` the checks already reduced, three small summaries:

- ``histogram``: observed counts in ``BINS`` equal-width bins over the reference's bulk, with the
  counts expected under the reference (for 16-bit dtypes the exact pmf of the distribution rounded
  to the dtype, :class:`~initspec.distributions.RoundedDistribution`), plus the counts below and
  above the binned range;
- ``quantiles``: sample vs reference quantiles at ``QUANTILES`` probabilities spread evenly in
  normal scores (so the tails are represented, not just the bulk), for a QQ plot, both in units
  of the reference's σ about its mean (``z = (q - mean) / std``: what the plot draws);
- ``tails``: the tail and bound-mass checks' observed vs expected counts (taken from the checks,
  not recounted).

Moments and ranges keep 6 significant digits, counts and σ-unit quantiles 4: a plot needs no
more, and 4000 cells stay small (about 2 KB each).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from initspec.checks import CheckResult, Sample
from initspec.distributions import RoundedDistribution

BINS = 50
QUANTILES = 49
SPAN_SIGMAS = 4.0  # an unbounded reference is binned over mean ± 4σ; the rest is under/over
DIGITS = 6
COUNT_DIGITS = 4


def _round(values: np.ndarray | list[float], digits: int = DIGITS) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64)]


def _one(value: float, digits: int = DIGITS) -> float:
    return float(f"{value:.{digits}g}")


def _p_below(ref: Any, x: np.ndarray) -> np.ndarray:
    """P(X < x) elementwise, for continuous and rounded references alike."""
    p = np.asarray(ref.cdf(x), dtype=np.float64)
    return p - np.asarray(ref.pmf(x)) if isinstance(ref, RoundedDistribution) else p


def _ppf(ref: Any, probs: np.ndarray) -> np.ndarray:
    if isinstance(ref, RoundedDistribution):  # smallest support point with cdf >= p
        index = np.searchsorted(np.cumsum(ref.pk), probs, side="left")
        return ref.xk[np.minimum(index, len(ref.xk) - 1)]
    return np.asarray(ref.ppf(probs), dtype=np.float64)


def _sample_quantiles(sample: Sample, probs: np.ndarray) -> np.ndarray:
    """The ceil(p·n)-th smallest value (the inverse of the empirical cdf)."""
    rank = np.maximum(np.ceil(probs * sample.n).astype(np.int64), 1)  # 1-based
    if sample.counts is None:
        return sample.values[rank - 1]
    cum = np.cumsum(sample.counts)
    return sample.values[np.searchsorted(cum, rank, side="left")]


def bin_edges(ref: Any) -> np.ndarray:
    """``BINS`` + 1 equal-width edges over the support, cut to mean ± SPAN_SIGMAS·σ."""
    lo, hi = (float(b) for b in ref.support())
    mu, sigma = float(ref.mean()), float(ref.std())
    lo, hi = max(lo, mu - SPAN_SIGMAS * sigma), min(hi, mu + SPAN_SIGMAS * sigma)
    if isinstance(ref, RoundedDistribution) and lo == hi:  # one support point
        lo, hi = lo - 0.5 * abs(lo or 1.0), hi + 0.5 * abs(hi or 1.0)
    return np.linspace(lo, hi, BINS + 1)


def histogram(sample: Sample, ref: Any) -> dict[str, Any]:
    """Observed vs expected counts per bin [e_i, e_i+1) of ``BINS`` equal bins over ``range``;
    the last bin also holds its right edge."""
    edges = bin_edges(ref)
    n = sample.n
    below = np.asarray(sample.count_lt(edges), dtype=np.int64)  # values < edge
    below[-1] = sample.count_le(edges[-1])
    p_below = _p_below(ref, edges)
    p_below[-1] = float(ref.cdf(edges[-1]))
    return {"range": [float(edges[0]), float(edges[-1])],
            "observed": [int(c) for c in np.diff(below)],
            "expected": _round(n * np.diff(p_below), COUNT_DIGITS),
            "under": int(below[0]), "under_expected": _one(n * p_below[0], COUNT_DIGITS),
            "over": int(n - below[-1]),
            "over_expected": _one(n * (1 - p_below[-1]), COUNT_DIGITS)}


def quantiles(sample: Sample, ref: Any) -> dict[str, Any]:
    probs = stats.norm.cdf(np.linspace(-3.5, 3.5, QUANTILES))
    probs = probs[probs * sample.n >= 1]  # a quantile below 1/n is just the minimum
    mu, sigma = float(ref.mean()), float(ref.std()) or 1.0
    return {"p": _round(probs, 3),
            "observed_z": _round((_sample_quantiles(sample, probs) - mu) / sigma, COUNT_DIGITS),
            "expected_z": _round((_ppf(ref, probs) - mu) / sigma, COUNT_DIGITS)}


def tails(checks: list[CheckResult]) -> list[dict[str, Any]]:
    """Observed vs expected counts of the tail (>kσ) and bound-mass checks, as they ran."""
    return [{"check": c.name, "observed": int(c.stats["observed"]),
             "expected": _one(c.stats["expected"], COUNT_DIGITS), "passed": c.passed}
            for c in checks
            if (c.name.startswith("tail>") or c.name.endswith("-bound")) and "observed" in c.stats]


def collect(sample: Sample, ref: Any, checks: list[CheckResult]) -> dict[str, Any]:
    """The evidence of one distribution check run: sample ``sample`` against ``ref``."""
    return {"n": sample.n, "dtype": sample.dtype,
            "reference": "rounded" if isinstance(ref, RoundedDistribution) else "continuous",
            "mean": _one(ref.mean()), "std": _one(ref.std()),
            "histogram": histogram(sample, ref), "quantiles": quantiles(sample, ref),
            "tails": tails(checks)}
