"""The checks: plain named functions from a sample and its reference to a :class:`CheckResult`.

Stochastic checks (KS, mean, variance, tail and bound-mass counts) take their false-failure rate
``alpha`` as an argument and report their p-value and the smallest deviation they detect with 99 %
power (see :mod:`initspec.power`). Exact checks (shape, bounds, constants, orthogonality,
sparsity and identity patterns) compare after rounding to the parameter's dtype and cannot fail by
chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from initspec import power
from initspec.distributions import (
    DISCRETE_DTYPES,
    DTYPES,
    QUANTILE_GRID,
    RoundedDistribution,
    dtype_info,
    quantile_grid,
    round_to,
)

TAIL_SIGMAS = (3, 4, 5, 6)  # where KS is blind: 1-in-10^3 down to 1-in-10^9 events


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str
    p_value: float | None = None
    alpha: float | None = None
    min_detectable: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


class Sample:
    """A sample reduced once for every check: sorted values and cumulative counts.

    16-bit dtypes are counted by bit pattern (no sort); wider ones are sorted. Values are float64.
    """

    def __init__(self, x: np.ndarray, dtype: str):
        x = np.asarray(x).ravel()
        self.dtype = dtype
        self.n = int(x.size)
        if dtype in DISCRETE_DTYPES:
            counts = np.bincount(x.view(np.uint16), minlength=1 << 16)
            patterns = np.flatnonzero(counts).astype(np.uint16)
            values = patterns.view(DTYPES[dtype]).astype(np.float64)
            order = np.argsort(values, kind="stable")
            self.values, self.counts = values[order], counts[patterns][order]
            self._cum = np.concatenate(([0], np.cumsum(self.counts)))
        else:
            self.values = np.sort(x).astype(np.float64)
            self.counts = None
            self._cum = None

    def _cum_at(self, index: np.ndarray | int):
        return index if self._cum is None else self._cum[index]

    def count_le(self, t):
        return self._cum_at(np.searchsorted(self.values, t, side="right"))

    def count_lt(self, t):
        return self._cum_at(np.searchsorted(self.values, t, side="left"))

    def count_eq(self, t: float) -> int:
        return int(self.count_le(t) - self.count_lt(t))

    def moment_about(self, center: float, order: int) -> float:
        dev = (self.values - center) ** order
        return float((dev if self.counts is None else dev * self.counts).sum() / self.n)

    @property
    def mean(self) -> float:
        return self.moment_about(0.0, 1)

    @property
    def min(self) -> float:
        return float(self.values[0])

    @property
    def max(self) -> float:
        return float(self.values[-1])

    def unique(self) -> np.ndarray:
        return self.values if self.counts is not None else np.unique(self.values)


def _is_discrete(ref) -> bool:
    return isinstance(ref, RoundedDistribution)


def _p_below(ref, x: float) -> float:
    """P(X < x) for continuous and (rounded) discrete references alike."""
    p = float(ref.cdf(x))
    return p - float(ref.pmf(x)) if _is_discrete(ref) else p


def _fmt_p(p: float) -> str:
    return f"{p:.3g}"


# --------------------------------------------------------------------------- exact checks


def check_shape(shape: tuple[int, ...], expected: tuple[int, ...]) -> CheckResult:
    ok = tuple(shape) == tuple(expected)
    return CheckResult("shape", ok, f"shape {tuple(shape)}" + ("" if ok else
                       f" != expected {tuple(expected)} (fan or layout mismatch)"),
                       stats={"observed": list(shape), "expected": list(expected)})


def check_finite(sample: Sample) -> CheckResult:
    # values are sorted with NaN last: -inf at the front, then finite, then +inf and NaN
    bad = int(sample.count_le(-np.inf) + sample.n - sample.count_lt(np.inf))
    return CheckResult("finite", bad == 0, "all values finite" if bad == 0 else
                       f"{bad} non-finite values (inf/nan)", stats={"non_finite": bad})


def check_bounds(sample: Sample, low: float, high: float) -> CheckResult:
    """min ≥ low and max ≤ high, both bounds rounded to the sample's dtype first."""
    lo, hi = round_to(low, sample.dtype), round_to(high, sample.dtype)
    below, above = int(sample.count_lt(lo)), int(sample.n - sample.count_le(hi))
    ok = below == 0 and above == 0
    msg = (f"min {sample.min:.9g} >= {lo:.9g}, max {sample.max:.9g} <= {hi:.9g}" if ok else
           f"{below} values below {lo:.9g} (min {sample.min:.9g}), {above} above {hi:.9g} "
           f"(max {sample.max:.9g}); bounds [{low:.9g}, {high:.9g}] rounded to {sample.dtype}")
    return CheckResult("bounds", ok, msg, stats={"min": sample.min, "max": sample.max,
                                                 "low": lo, "high": hi, "below": below,
                                                 "above": above})


def check_constant(x: np.ndarray, value: float, dtype: str | None) -> CheckResult:
    """Every element equals ``value`` rounded to the dtype (within 2 ulp of float formula order)."""
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        expected, tol = float(value), 0.0
    else:
        dtype = dtype if dtype in DTYPES else x.dtype.name
        expected = round_to(value, dtype) if dtype in DTYPES else float(value)
        tol = 2 * float(dtype_info(dtype).eps) * abs(expected)
    dev = np.abs(x.astype(np.float64) - expected)
    dev[np.isnan(dev)] = np.inf
    bad = int((~(dev <= tol)).sum())
    worst = float(x.ravel()[int(np.argmax(dev))]) if dev.size and bad else expected
    msg = (f"all {x.size} values == {expected:.9g}" if bad == 0 else
           f"{bad}/{x.size} values differ from {expected:.9g} (e.g. {worst:.9g})")
    return CheckResult("constant", bad == 0, msg, stats={"expected": expected, "mismatches": bad})


def check_orthogonal(x: np.ndarray, gain: float, dtype: str, axis: int = 0,
                     blocks: int = 1) -> CheckResult:
    """Each instance, as a matrix whose columns run along ``axis``, split into ``blocks`` equal
    column groups, has orthonormal rows or columns (whichever are fewer) in every group, times gain.

    torch flattens to (shape[0], rest) (axis 0); Keras and jax to (rest, shape[-1]) (axis -1). A
    matrix and its transpose pass alike, so only which axis stays whole matters.

    Tolerance: rounding a gain-scaled orthonormal matrix to ``dtype`` (unit roundoff u) moves each
    Gram entry by at most gain²·(2u + u²) (Cauchy–Schwarz); a Householder QR computed in float32
    (16-bit dtypes) or in the dtype itself adds about m·u_compute. We allow
    gain²·(2u + u² + 4·m·u_compute): a wrong gain or a non-orthogonal matrix is off by O(gain²).
    """
    x = np.asarray(x)
    columns = x.shape[1:][axis]
    if blocks < 1 or columns % blocks:
        return CheckResult("orthogonal", False, f"axis {axis} of length {columns} does not split "
                           f"into {blocks} equal blocks")
    worst = 0.0
    m = 1
    for instance in x:
        full = np.moveaxis(instance, axis, -1).reshape(-1, columns).astype(np.float64)
        for mat in np.split(full, blocks, axis=1):
            m = max(m, *mat.shape)
            gram = mat @ mat.T if mat.shape[0] <= mat.shape[1] else mat.T @ mat
            err = float(np.abs(gram - gain**2 * np.eye(gram.shape[0])).max())
            worst = max(worst, err if np.isfinite(err) else np.inf)
    u = float(dtype_info(dtype).eps) / 2
    u_compute = float(dtype_info("float32").eps) / 2 if dtype in DISCRETE_DTYPES else u
    tol = gain**2 * (2 * u + u * u + 4 * m * u_compute)
    ok = worst <= tol
    where = f"axis {axis}" + (f", {blocks} blocks" if blocks > 1 else "")
    return CheckResult("orthogonal", ok, f"max |QᵀQ - gain²·I| = {worst:.3g} "
                       f"{'<=' if ok else '>'} {tol:.3g} (gain {gain:.6g}, {where}, {dtype})",
                       stats={"max_error": worst, "tolerance": tol, "gain": gain})


def check_delta_orthogonal(x: np.ndarray, gain: float, dtype: str) -> CheckResult:
    """(*spatial, in, out) kernels: exact zeros off the centre tap, an orthogonal (in, out) matrix
    times gain on it (checked as :func:`check_orthogonal`)."""
    x = np.asarray(x)
    centre = tuple(k // 2 for k in x.shape[1:-2])
    mask = np.ones(x.shape[1:-2], dtype=bool)
    mask[centre] = False
    off = int(np.count_nonzero(x[:, mask]))
    if off:
        return CheckResult("delta-orthogonal", False, f"{off} values off the centre tap "
                           f"{centre} are not zero", stats={"off_centre_nonzero": off})
    inner = check_orthogonal(x[(slice(None), *centre)], gain, dtype, axis=-1)
    return CheckResult("delta-orthogonal", inner.passed, f"zero off the centre tap {centre}; "
                       f"centre: {inner.message}", stats=inner.stats)


def check_repeat(x: np.ndarray, expect: str) -> CheckResult:
    """Reproducibility: instances all bitwise identical (``identical``) or pairwise different
    (``distinct``). Two independent continuous draws coincide with probability ~0."""
    x = np.asarray(x)
    flat = np.ascontiguousarray(x).reshape(len(x), -1).view(np.uint8)  # NaN == NaN bitwise
    same = [(i, j) for i in range(len(x)) for j in range(i + 1, len(x))
            if np.array_equal(flat[i], flat[j])]
    pairs = len(x) * (len(x) - 1) // 2
    if expect == "identical":
        ok = len(same) == pairs
        msg = f"{len(same)}/{pairs} pairs of instances bitwise identical"
    else:
        ok = not same
        msg = f"{len(same)}/{pairs} pairs of instances bitwise identical (expected none)"
    return CheckResult(f"repeat-{expect}", ok, msg, stats={"identical_pairs": len(same),
                                                         "pairs": pairs})


def identity_pattern(shape: tuple[int, ...], gain: float, groups: int) -> np.ndarray:
    """gain·I for 2-D shapes; for (out, in, *kernel) a Dirac at the kernel centre per group."""
    expected = np.zeros(shape)
    out_per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, shape[1])):
            expected[(g * out_per_group + d, d, *centre)] = gain
    return expected


def check_identity(x: np.ndarray, gain: float, groups: int, dtype: str) -> CheckResult:
    x = np.asarray(x)
    expected = identity_pattern(x.shape[1:], round_to(gain, dtype), groups)
    bad = int((x.astype(np.float64) != expected[None]).sum())
    return CheckResult("identity", bad == 0, f"{bad}/{x.size} elements differ from the "
                       f"identity/Dirac pattern (gain {gain:.6g}, groups {groups})",
                       stats={"mismatches": bad})


def check_sparse_zeros(x: np.ndarray, sparsity: float) -> tuple[CheckResult, np.ndarray]:
    """Each column of each instance has at least ceil(sparsity·rows) zeros.

    Returns the check and the values left once exactly that many zeros per column are removed:
    those must follow the non-zero distribution (which, rounded to float16, includes some zeros).
    """
    x = np.asarray(x)
    rows = x.shape[1]
    want = math.ceil(sparsity * rows)
    zeros = (x == 0).sum(axis=1)  # per instance, per column
    short = int((zeros < want).sum())
    ok = short == 0
    msg = (f"every column has >= {want} of {rows} zeros" if ok else
           f"{short} columns have fewer than ceil({sparsity}·{rows}) = {want} zeros "
           f"(min {int(zeros.min())})")
    flat = x.reshape(-1)
    extra = int(np.maximum(zeros - want, 0).sum())  # zeros beyond the pattern: rounding of draws
    rest = np.concatenate([flat[flat != 0], np.zeros(extra, dtype=x.dtype)])
    return CheckResult("sparsity", ok, msg, stats={"zeros_per_column": want,
                                                   "short_columns": short}), rest


# --------------------------------------------------------------------------- stochastic checks


def check_ks(sample: Sample, dist, ref, alpha: float) -> CheckResult:
    """One-sample Kolmogorov–Smirnov test against the exact reference.

    The statistic sup|F_n - F| is evaluated where it can be attained: for a rounded (discrete)
    reference at each observed value and just below it, which is exact; for float32/float64 at the
    2^16 - 1 quantiles of ``dist``, a lower bound on the exact D within 2^-16 (so the test is
    conservative). That keeps the cost O(2^16 log n) instead of an O(n) cdf evaluation. The p-value
    is scipy's Kolmogorov distribution, ``kstwobign.sf(D·sqrt(n))``; for a discrete reference it
    is conservative.
    """
    n = sample.n
    if _is_discrete(ref):
        values = sample.unique()
        cdf_at = ref.cdf(values)
        cdf_before = cdf_at - ref.pmf(values)
        d = max(np.abs(sample.count_le(values) / n - cdf_at).max(),
                np.abs(sample.count_lt(values) / n - cdf_before).max())
        grid = 0.0
    else:
        points, probs = quantile_grid(dist)
        d = float(np.abs(sample.count_le(points) / n - probs).max())
        grid = 1 / QUANTILE_GRID
    p = float(stats.kstwobign.sf(d * math.sqrt(n)))
    resolution = power.min_discrepancy_ks(n, alpha, grid=grid)
    ok = p >= alpha
    return CheckResult("ks", ok, f"KS D = {d:.3g}, p = {_fmt_p(p)} "
                       f"({'>=' if ok else '<'} alpha {alpha:.2g}; n = {n})",
                       p_value=p, alpha=alpha, min_detectable=f"D >= {resolution:.2g}",
                       stats={"D": float(d), "n": n})


def check_mean(sample: Sample, ref, alpha: float) -> CheckResult:
    mu, sigma = float(ref.mean()), float(ref.std())
    mean = sample.mean
    z = (mean - mu) / (sigma / math.sqrt(sample.n))
    p = float(2 * stats.norm.sf(abs(z)))
    ok = p >= alpha
    resolution = power.min_discrepancy_mean(sample.n, alpha)
    return CheckResult("mean", ok, f"mean {mean:.4g} vs expected {mu:.4g} "
                       f"(z = {z:.2f}, p = {_fmt_p(p)})", p_value=p, alpha=alpha,
                       min_detectable=f"±{resolution:.2g}σ",
                       stats={"observed": mean, "expected": mu, "z": z})


def check_variance(sample: Sample, ref, alpha: float) -> CheckResult:
    """Test Var = σ² with the statistic mean((x - μ)²), μ known.

    Its exact variance is (μ4 - σ⁴)/n, with μ4 the null distribution's fourth central moment, so
    the z-test has the designed size (CLT at n ≈ 10^6) — no ad-hoc tolerance.
    """
    mu, var = float(ref.mean()), float(ref.var())
    kurtosis = float(ref.stats(moments="k")) + 3
    observed = sample.moment_about(mu, 2)
    se = var * math.sqrt((kurtosis - 1) / sample.n)
    z = (observed - var) / se
    p = float(2 * stats.norm.sf(abs(z)))
    ok = p >= alpha
    resolution = power.min_discrepancy_variance(sample.n, kurtosis, alpha)
    ratio = observed / var
    return CheckResult("variance", ok, f"variance {observed:.6g} vs expected {var:.6g} "
                       f"(ratio {ratio:.4f}, z = {z:.2f}, p = {_fmt_p(p)})", p_value=p,
                       alpha=alpha, min_detectable=f"±{100 * resolution:.2g}%",
                       stats={"observed": observed, "expected": var, "ratio": ratio, "z": z})


def tail_thresholds(dist) -> list[float]:
    """The k·σ (k in TAIL_SIGMAS) whose two-sided tail has positive probability under dist."""
    mu, sigma = float(dist.mean()), float(dist.std())
    return [k for k in TAIL_SIGMAS
            if float(dist.cdf(mu - k * sigma)) + float(dist.sf(mu + k * sigma)) > 0]


def check_tail(sample: Sample, ref, k: float, alpha: float) -> CheckResult:
    """Count of |x - μ| > k·σ against its exact binomial law (two-sided binomtest)."""
    mu, sigma = float(ref.mean()), float(ref.std())
    lo, hi = mu - k * sigma, mu + k * sigma
    p0 = _p_below(ref, lo) + float(ref.sf(hi))
    count = int(sample.count_lt(lo) + sample.n - sample.count_le(hi))
    p = float(stats.binomtest(count, sample.n, p0).pvalue)
    ok = p >= alpha
    excess = power.min_excess_count(sample.n, p0, alpha)
    return CheckResult(f"tail>{k}σ", ok, f"{count} values beyond ±{k}σ, expected "
                       f"{sample.n * p0:.3g} (p = {_fmt_p(p)})", p_value=p, alpha=alpha,
                       min_detectable=f"+{excess:.3g} values",
                       stats={"observed": count, "expected": sample.n * p0})


def cell_probability(dist, ref, value: float, dtype: str) -> float:
    """P(a draw, rounded to dtype, equals ``value``).

    Exact for 16-bit dtypes. For float32/float64 the cell is widened to at least eps·σ on each
    side: a generator cannot resolve a distribution finer than its dtype's precision at the
    distribution's scale (torch draws U(0, 1) on a 2^-24 grid, so 0 itself has mass 2^-24 where
    the float32 cell of 0 has almost none), while clamping puts orders of magnitude more there.
    """
    if _is_discrete(ref):
        return float(ref.pmf(value))
    np_dtype = DTYPES[dtype]
    v = np.asarray(value, dtype=np_dtype)
    below = float(np.nextafter(v, np.asarray(-np.inf, dtype=np_dtype)))
    above = float(np.nextafter(v, np.asarray(np.inf, dtype=np_dtype)))
    resolution = float(dtype_info(dtype).eps) * float(dist.std())
    low, high = min((value + below) / 2, value - resolution), max((value + above) / 2,
                                                                   value + resolution)
    return float(dist.cdf(high) - dist.cdf(low))


def check_bound_mass(sample: Sample, dist, ref, bound: float, side: str,
                     alpha: float) -> CheckResult:
    """Count of values equal to a finite bound (rounded): catches clamping, which KS misses."""
    value = round_to(bound, sample.dtype)
    p0 = cell_probability(dist, ref, value, sample.dtype)
    count = sample.count_eq(value)
    p = float(stats.binomtest(count, sample.n, p0).pvalue) if p0 > 0 else float(count == 0)
    ok = p >= alpha
    excess = power.min_excess_count(sample.n, p0, alpha) if p0 > 0 else 1.0
    return CheckResult(f"at-{side}-bound", ok, f"{count} values equal to the {side} bound "
                       f"{value:.9g}, expected {sample.n * p0:.3g} (p = {_fmt_p(p)})",
                       p_value=p, alpha=alpha, min_detectable=f"+{excess:.3g} values",
                       stats={"observed": count, "expected": sample.n * p0})


# --------------------------------------------------------------------------- independence


def check_serial_correlation(x: np.ndarray, axis: int, name: str,
                             alpha: float) -> CheckResult:
    """Lag-1 correlation of neighbours along ``axis`` of ``x`` (axis 0 counts instances).

    Statistic: z = Σ (x_i - x̄)(x_{i+1} - x̄) / (s² √N) over the N neighbour pairs. Under
    independence each centred product has mean 0 and variance σ⁴, and the products of
    different pairs are uncorrelated (E[x₁x₂²x₃] = 0), so z → N(0, 1) whatever the marginal law
    (it is centred and scaled by the sample's own moments: a marginal deviation does not move it).
    A row that copies its predecessor with probability p shows as a correlation ≈ p.
    """
    y = np.asarray(x, dtype=np.float64)
    y = y - y.mean()
    length = y.shape[axis]
    head = np.take(y, range(length - 1), axis=axis)
    tail = np.take(y, range(1, length), axis=axis)
    pairs = int(head.size)
    s2 = float(np.mean(y * y))
    r = float(np.vdot(head, tail) / pairs / s2) if s2 > 0 else 0.0
    z = r * math.sqrt(pairs)
    p = float(2 * stats.norm.sf(abs(z))) if s2 > 0 else 1.0
    ok = p >= alpha
    resolution = power.min_discrepancy_mean(pairs, alpha)
    return CheckResult(name, ok, f"lag-1 correlation {r:.3g} over {pairs} neighbour pairs "
                       f"(z = {z:.2f}, p = {_fmt_p(p)})", p_value=p, alpha=alpha,
                       min_detectable=f"|ρ| >= {resolution:.2g}",
                       stats={"correlation": r, "z": z, "pairs": pairs})


# An exact check may fail by chance at most this often: a collision bound above it runs no check.
CHANCE_COLLISION = 1e-9
# A float32/float64 generator resolves each value to at least this many random bits.
MIN_RANDOM_BITS = 20


def collision_probability(ref, dtype: str) -> float:
    """P(two independent draws are equal), bounded: Σ pmf² for a 16-bit reference (exact), and
    2^-MIN_RANDOM_BITS for wider dtypes (no generator here resolves a value more coarsely)."""
    if _is_discrete(ref):
        return float(ref.pk @ ref.pk)
    return 2.0 ** -MIN_RANDOM_BITS


def distinct_instances_bound(count: int, size: int, q: float) -> float:
    """Union bound on P(some two of ``count`` independent instances of ``size`` values are
    equal), each value colliding with probability ``q``."""
    return count * (count - 1) / 2 * math.exp(size * math.log(q)) if q > 0 else 0.0


def check_distinct_instances(x: np.ndarray) -> CheckResult:
    """No two fresh instances bitwise equal (a seed reused across instances, a cached layer).

    Exact: the caller runs it only where chance collisions are bounded by CHANCE_COLLISION.
    """
    flat = np.ascontiguousarray(x).reshape(len(x), -1)
    rows = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    distinct = len(np.unique(rows))
    same = len(rows) - distinct
    return CheckResult("instances-distinct", same == 0,
                       f"{distinct} distinct of {len(rows)} fresh instances" +
                       ("" if same == 0 else f" ({same} repeat an earlier one)"),
                       stats={"instances": len(rows), "repeats": same})


# --------------------------------------------------------------------------- extremes


def check_extreme(sample: Sample, ref, alpha: float) -> CheckResult:
    """The largest |x - μ| against its exact null law for n independent draws from ``ref``.

    P(max ≥ m) = 1 - (1 - t(m))^n with t(m) = P(|X - μ| ≥ m): one outlier is judged where it
    lies, not in the 3/4/5/6σ bin that contains it. One-sided (too extreme): too-short tails are
    the tail counts' job. Run only for unbounded families: at a finite bound the bounds checks
    decide.
    """
    mu, sigma = float(ref.mean()), float(ref.std())
    m = max(mu - sample.min, sample.max - mu)
    if _is_discrete(ref):
        t = float(ref.cdf(mu - m)) + float(ref.sf(mu + m)) + float(ref.pmf(mu + m))
    else:
        t = float(ref.cdf(mu - m)) + float(ref.sf(mu + m))
    t = min(t, 1.0)
    p = 1.0 if t >= 1 else float(-math.expm1(sample.n * math.log1p(-t)))
    ok = p >= alpha
    # the largest excursion that still passes: t* with 1 - (1 - t*)^n = alpha
    t_crit = -math.expm1(math.log1p(-alpha) / sample.n)
    k_crit = float(stats.norm.isf(t_crit / 2))
    return CheckResult("extreme", ok, f"max |x - mean| = {m / sigma:.3f}σ over n = {sample.n} "
                       f"(P(max >= it) = {_fmt_p(p)})", p_value=p, alpha=alpha,
                       min_detectable=f"one value beyond {k_crit:.2f}σ (normal tails)",
                       stats={"max_sigmas": m / sigma, "n": sample.n})


# --------------------------------------------------------------------------- Haar measure


def orthogonal_matrices(x: np.ndarray, axis: int = 0, blocks: int = 1):
    """Each instance's matrices as :func:`check_orthogonal` sees them, made tall (rows ≥
    columns), so that their columns are the orthonormal vectors."""
    columns = x.shape[1:][axis]
    for instance in x:
        full = np.moveaxis(instance, axis, -1).reshape(-1, columns).astype(np.float64)
        for mat in np.split(full, blocks, axis=1):
            yield mat if mat.shape[0] >= mat.shape[1] else mat.T


def check_haar_signs(x: np.ndarray, alpha: float, axis: int = 0, blocks: int = 1) -> CheckResult:
    """The diagonal signs of a Haar (uniform on the Stiefel manifold) Q are fair coins.

    Q·D with D = diag(±1) has Q's law, so sign(Q_ii) are independent fair coins whatever the
    magnitudes: an exact two-sided binomial test. A QR factor without the sign correction
    (Q·sign(diag R)) is not Haar: LAPACK's Householder QR makes Q_11 < 0 always and about 78 % of
    the diagonal negative.
    """
    positive = negative = 0
    for mat in orthogonal_matrices(np.asarray(x), axis, blocks):
        d = np.diagonal(mat)
        positive += int((d > 0).sum())
        negative += int((d < 0).sum())
    total = positive + negative
    p = float(stats.binomtest(positive, total, 0.5).pvalue) if total else 1.0
    ok = p >= alpha
    # a fair coin has standard deviation 1/2: |P(+) - 1/2| detected with 99 % power
    shift = power.min_discrepancy_mean(total, alpha) / 2 if total else math.inf
    return CheckResult("haar-signs", ok, f"{positive} of {total} diagonal entries positive, "
                       f"expected {total / 2:g} (p = {_fmt_p(p)})", p_value=p, alpha=alpha,
                       min_detectable=f"|P(+) - 1/2| >= {shift:.2g}",
                       stats={"positive": positive, "total": total})
