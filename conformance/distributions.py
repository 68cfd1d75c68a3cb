"""Spec families as scipy.stats distributions, and what a parameter's dtype does to them.

A float16/bfloat16 parameter cannot hold a continuous distribution: at n ≈ 10^6 its samples are
visibly discrete. The reference for those dtypes is therefore the continuous distribution
*rounded to the dtype* (round to nearest), built exactly as a ``scipy.stats.rv_discrete`` over the
dtype's representable values, so the tests compare like with like instead of loosening α.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import ml_dtypes
import numpy as np
from scipy import stats

FAMILY_PARAMS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "truncnorm": ("mean", "std", "a", "b"),
    "triangular": ("low", "mode", "high"),
    "constant": ("value",),
    "orthogonal": ("gain", "axis", "blocks"),
    "delta_orthogonal": ("gain",),
    "sparse": ("sparsity", "std"),
    "identity": ("gain", "groups"),
}
DTYPES: dict[str, np.dtype] = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
# Dtypes whose samples are compared against the rounded (discrete) reference.
DISCRETE_DTYPES = frozenset({"float16", "bfloat16"})


def continuous(family: str, params: Mapping[str, float]):
    """The scipy.stats frozen distribution of a random family, or None for exact families."""
    p = dict(params)
    if family == "uniform":
        if not p["high"] > p["low"]:
            raise ValueError(f"uniform needs low < high, got {p['low']!r}, {p['high']!r}")
        return stats.uniform(loc=p["low"], scale=p["high"] - p["low"])
    if family == "normal":
        return stats.norm(loc=p["mean"], scale=_positive(p["std"]))
    if family == "truncnorm":
        if not p["b"] > p["a"]:
            raise ValueError(f"truncnorm needs a < b, got {p['a']!r}, {p['b']!r}")
        return stats.truncnorm(p["a"], p["b"], loc=p["mean"], scale=_positive(p["std"]))
    if family == "triangular":  # e.g. the sum of two independent uniforms of equal width
        low, mode, high = p["low"], p["mode"], p["high"]
        if not (high > low and low <= mode <= high):
            raise ValueError(f"triangular needs low <= mode <= high and low < high, got "
                             f"{low!r}, {mode!r}, {high!r}")
        return stats.triang((mode - low) / (high - low), loc=low, scale=high - low)
    if family == "sparse":  # the non-zero entries
        return stats.norm(loc=0.0, scale=_positive(p["std"]))
    return None


def _positive(std: float) -> float:
    if not std > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    return std


def frozen_key(dist) -> tuple:
    """A hashable identity for a frozen scipy distribution (for caches)."""
    return (dist.dist.name, tuple(dist.args), tuple(sorted(dist.kwds.items())))


def dtype_info(dtype: str):
    return ml_dtypes.finfo(DTYPES[dtype])


def round_to(value: float, dtype: str) -> float:
    """``value`` rounded to nearest in ``dtype`` (returned as a float64).

    16-bit dtypes go through their table of values: casting float64 -> bfloat16 rounds twice
    (via float32) and can land one ulp off.
    """
    grid = representable(dtype) if dtype in DISCRETE_DTYPES else None
    if grid is None or not abs(value) <= grid[-1]:  # the cast rounds once; overflows to inf
        with np.errstate(over="ignore"):
            return float(np.asarray(value, dtype=np.float64).astype(DTYPES[dtype])
                         .astype(np.float64))
    j = int(np.clip(np.searchsorted(grid, value), 1, len(grid) - 1))
    below, above = grid[j - 1], grid[j]
    if value - below != above - value:
        return float(below if value - below < above - value else above)
    # an exact tie: round half to even, i.e. to the value whose last mantissa bit is 0
    bits = np.asarray([below, above]).astype(DTYPES[dtype]).view(np.uint16)
    return float(below if bits[0] % 2 == 0 else above)


@cache
def representable(dtype: str) -> np.ndarray:
    """All finite values of a 16-bit float dtype, sorted, as float64 (one zero)."""
    with np.errstate(invalid="ignore"):  # NaN bit patterns
        bits = np.arange(1 << 16, dtype=np.uint16).view(DTYPES[dtype]).astype(np.float64)
    return np.unique(bits[np.isfinite(bits)])


class RoundedDistribution:
    """A continuous distribution rounded to nearest in a 16-bit dtype: exact and discrete.

    It speaks scipy.stats' vocabulary (``cdf``, ``sf``, ``pmf``, ``mean``, ``var``, ``std``,
    ``stats``, ``support``) over its support points ``xk`` with masses ``pk``. scipy's own
    ``rv_discrete(values=...)`` would do, but evaluates ``cdf``/``pmf`` in O(len(xk)) per point.
    """

    def __init__(self, dist, dtype: str):
        grid = representable(dtype)
        lo, hi = dist.support()
        # Cell of grid[j]: the reals that round to it (ties have probability zero).
        edges = np.clip(np.concatenate(([-np.inf], (grid[1:] + grid[:-1]) / 2, [np.inf])), lo, hi)
        # Masses from whichever tail is small, so 6-sigma cells keep their relative precision:
        # cdf differences for cells left of the median, sf differences from there on, each edge
        # evaluated once.
        k = int(np.searchsorted(edges[:-1], dist.median(), side="left"))
        mass = np.concatenate((np.diff(dist.cdf(edges[:k + 1])), -np.diff(dist.sf(edges[k:]))))
        keep = mass > 0
        self.xk, self.pk = grid[keep], mass[keep] / mass[keep].sum()
        self._cdf = np.cumsum(self.pk)
        self._sf = np.concatenate((np.cumsum(self.pk[::-1])[::-1][1:], [0.0]))
        self.dtype, self.name = dtype, f"{dist.dist.name} rounded to {dtype}"
        # the moments, once: every check asks for them
        mu = float(self.pk @ self.xk)
        c = self.xk - mu
        c2 = c * c  # products, not **: a float power over 2^16 points costs milliseconds
        self._moments = (mu, float(self.pk @ c2), float(self.pk @ (c2 * c)),
                         float(self.pk @ (c2 * c2)))

    def _index(self, x, side: str) -> np.ndarray:
        return np.searchsorted(self.xk, x, side=side)

    def cdf(self, x):
        """P(X <= x)."""
        i = self._index(x, "right")
        return np.where(i > 0, self._cdf[np.maximum(i - 1, 0)], 0.0)

    def sf(self, x):
        """P(X > x)."""
        i = self._index(x, "right")
        return np.where(i > 0, self._sf[np.maximum(i - 1, 0)], 1.0)

    def pmf(self, x):
        i = np.minimum(self._index(x, "left"), len(self.xk) - 1)
        return np.where(self.xk[i] == x, self.pk[i], 0.0)

    def support(self) -> tuple[float, float]:
        return float(self.xk[0]), float(self.xk[-1])

    def mean(self) -> float:
        return self._moments[0]

    def var(self) -> float:
        return self._moments[1]

    def std(self) -> float:
        return float(np.sqrt(self.var()))

    def stats(self, moments: str = "mv"):
        mu, var, m3, m4 = self._moments
        out = {"m": mu, "v": var, "s": m3 / var**1.5, "k": m4 / var**2 - 3}
        picked = tuple(out[m] for m in moments)
        return picked[0] if len(picked) == 1 else picked


_ROUNDED: dict[tuple, RoundedDistribution] = {}


def rounded(dist, dtype: str) -> RoundedDistribution:
    """``dist`` rounded to nearest in a 16-bit ``dtype`` (cached per distribution and dtype)."""
    key = (frozen_key(dist), dtype)
    if key not in _ROUNDED:
        _ROUNDED[key] = RoundedDistribution(dist, dtype)
    return _ROUNDED[key]


def reference(dist, dtype: str):
    """The distribution a sample of ``dtype`` is compared with (see module docstring)."""
    return rounded(dist, dtype) if dtype in DISCRETE_DTYPES else dist


QUANTILE_GRID = 1 << 16


_GRIDS: dict[tuple, np.ndarray] = {}


def quantile_grid(dist) -> tuple[np.ndarray, np.ndarray]:
    """Points x_j with cdf(x_j) = j / 2^16, j = 1 .. 2^16 - 1, and those probabilities."""
    probs = np.arange(1, QUANTILE_GRID) / QUANTILE_GRID
    key = frozen_key(dist)
    if key not in _GRIDS:
        _GRIDS[key] = dist.ppf(probs)
    return _GRIDS[key], probs
