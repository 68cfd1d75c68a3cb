"""Every check can fail, for the right reason, and passes correct samples.

The wrong samples are the issue's list: variance off by 2 %, a uniform replaced by a normal of
equal variance, a normal replaced by a truncated normal of equal variance, truncation without the
variance correction, a bound exceeded by one ulp, 1 outlier in 10^5, values clamped to a bound.
Sizes and alpha are the suite's own (n = 10^6, alpha = 1e-6), so each power claim is exercised
where it is designed to hold; 16-bit samples are drawn in float64 and cast (round to nearest).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from initspec import checks, engine, power
from initspec.distributions import DTYPES, reference, representable, round_to

N = 1_000_000
ALPHA = 1e-6
ALL_DTYPES = ["float64", "float32", "float16", "bfloat16"]
TRUNC_SD = 0.87962566103423978  # sd of N(0, 1) cut at ±2

FAN_IN = 1000  # 1/sqrt(1000) is not representable: bounds really get rounded
BOUND = 1 / math.sqrt(FAN_IN)
UNIFORM = stats.uniform(-BOUND, 2 * BOUND)
SD = float(UNIFORM.std())
NORMAL = stats.norm(0, SD)
TRUNCNORM = stats.truncnorm(-2, 2, scale=SD / TRUNC_SD)  # variance-corrected: Var = SD²


def cast(x, dtype: str) -> np.ndarray:
    """float64 values to ``dtype``, rounding to nearest as a framework's cast does."""
    return np.asarray(x, dtype=np.float64).astype(DTYPES[dtype])


def draw(dist, dtype: str, seed: int, n: int = N) -> np.ndarray:
    return cast(dist.rvs(size=n, random_state=np.random.default_rng(seed)), dtype)


def failing(results) -> set[str]:
    return {r.name for r in results if not r.passed}


def next_after(value: float, dtype: str, direction: float) -> float:
    """The neighbour of the representable ``value`` in ``dtype`` towards ``direction``."""
    if dtype in ("float16", "bfloat16"):
        grid = representable(dtype)
        j = int(np.searchsorted(grid, value))
        assert grid[j] == value
        return float(grid[j + (1 if direction > value else -1)])
    np_dtype = DTYPES[dtype].type
    return float(np.nextafter(np_dtype(value), np_dtype(direction)))


def test_sizes_match_the_power_design():
    """n = 10^6 certifies a 2 % variance error at alpha = 1e-6 for every family used here."""
    for dist in (UNIFORM, NORMAL, TRUNCNORM):
        kurtosis = float(dist.stats(moments="k")) + 3
        assert power.min_num_samples_variance(kurtosis, 0.02, ALPHA) <= N
        assert power.min_discrepancy_variance(N, kurtosis, ALPHA) <= 0.02


# --------------------------------------------------------------------------- correct samples pass


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize(
    ("dist", "expected"),
    [
        (UNIFORM, ["finite", "bounds", "ks", "mean", "variance", "at-lower-bound",
                   "at-upper-bound"]),
        (NORMAL, ["finite", "bounds", "ks", "mean", "variance", "tail>3σ", "tail>4σ", "tail>5σ",
                  "tail>6σ", "extreme"]),
        (TRUNCNORM, ["finite", "bounds", "ks", "mean", "variance", "at-lower-bound",
                     "at-upper-bound"]),
    ],
    ids=["uniform", "normal", "truncnorm"],
)
def test_correct_samples_pass(dist, expected, dtype):
    results = engine.distribution_checks(draw(dist, dtype, seed=1), dist, dtype, ALPHA)
    assert [r.name for r in results] == expected
    assert failing(results) == set()
    for r in results:
        if r.p_value is not None:
            assert r.alpha == ALPHA and r.min_detectable


@pytest.mark.parametrize(
    ("dist", "dtype", "rejected_as_continuous"),
    [(stats.norm(1, 0.01), "float16", {"ks"}),
     (stats.norm(1, 0.01), "bfloat16", {"ks", "mean", "variance"}),
     (stats.uniform(0.98, 0.04), "float16", {"ks", "bounds"}),
     (stats.uniform(0.98, 0.04), "bfloat16", {"ks", "bounds"}),
     # 1/sqrt(1000) rounds up in bfloat16 (in float16 it rounds down, which a continuous
     # reference cannot see at this n)
     (UNIFORM, "bfloat16", {"bounds"})],
    ids=["normal-near-one-f16", "normal-near-one-bf16", "uniform-near-one-f16",
         "uniform-near-one-bf16", "uniform-bf16"],
)
def test_rounded_samples_pass_the_rounded_reference_not_the_continuous_one(
        dist, dtype, rejected_as_continuous):
    """The design point of RoundedDistribution: at n = 10^6 rounding to a 16-bit dtype is visible,
    so the same sample must pass as ``dtype`` and fail as if it were continuous float64."""
    x = draw(dist, dtype, seed=2)
    assert failing(engine.distribution_checks(x, dist, dtype, ALPHA)) == set()
    as_continuous = engine.distribution_checks(x.astype(np.float64), dist, "float64", ALPHA)
    assert rejected_as_continuous <= failing(as_continuous)


# --------------------------------------------------------------------------- the wrong samples


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("factor", [1.02, 0.98], ids=["+2%", "-2%"])
@pytest.mark.parametrize("family", ["uniform", "normal", "truncnorm"])
def test_variance_off_by_2_percent(family, factor, dtype):
    scale = math.sqrt(factor)
    wrong = {"uniform": stats.uniform(-BOUND * scale, 2 * BOUND * scale),
             "normal": stats.norm(0, SD * scale),
             "truncnorm": stats.truncnorm(-2, 2, scale=SD * scale / TRUNC_SD)}[family]
    right = {"uniform": UNIFORM, "normal": NORMAL, "truncnorm": TRUNCNORM}[family]
    results = engine.distribution_checks(draw(wrong, dtype, seed=3), right, dtype, ALPHA)
    assert "variance" in failing(results)
    variance = next(r for r in results if r.name == "variance")
    assert variance.stats["ratio"] == pytest.approx(factor, abs=0.005)
    assert "mean" not in failing(results)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_mean_off_by_one_percent_of_sigma(dtype):
    """A location error of 0.01σ, above the mean test's 99 %-power resolution at n = 10^6."""
    assert power.min_discrepancy_mean(N, ALPHA) < 0.01
    results = engine.distribution_checks(draw(stats.norm(0.01 * SD, SD), dtype, seed=13), NORMAL,
                                         dtype, ALPHA)
    assert "mean" in failing(results)
    assert not {"variance", "bounds", "tail>3σ"} & failing(results)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_uniform_replaced_by_normal_of_equal_variance(dtype):
    results = engine.distribution_checks(draw(NORMAL, dtype, seed=4), UNIFORM, dtype, ALPHA)
    assert {"ks", "bounds"} <= failing(results)
    # the mean agrees by construction (so does the variance, but its test assumes the uniform's
    # kurtosis, so under a normal it rejects at ~0.2 % rather than 1e-6: not asserted)
    assert "mean" not in failing(results)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_normal_replaced_by_truncated_normal_of_equal_variance(dtype):
    results = engine.distribution_checks(draw(TRUNCNORM, dtype, seed=5), NORMAL, dtype, ALPHA)
    assert {"ks", "tail>3σ"} <= failing(results)
    assert not {"mean", "variance", "bounds"} & failing(results)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_truncation_without_variance_correction(dtype):
    """N(0, σ²) cut at ±2σ where the spec rescales σ by 1/0.8796 to keep Var = σ²: the variance
    is 0.8796² ≈ 77 % of the specified one, and every value is inside the (wider) bounds."""
    uncorrected = stats.truncnorm(-2, 2, scale=SD)
    results = engine.distribution_checks(draw(uncorrected, dtype, seed=6), TRUNCNORM, dtype,
                                         ALPHA)
    assert {"variance", "ks"} <= failing(results)
    assert "bounds" not in failing(results)
    ratio = next(r for r in results if r.name == "variance").stats["ratio"]
    assert ratio == pytest.approx(TRUNC_SD**2, abs=0.01)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("side", ["upper", "lower"])
def test_bound_exceeded_by_one_ulp(dtype, side):
    x = draw(UNIFORM, dtype, seed=7)
    bound = round_to(BOUND if side == "upper" else -BOUND, dtype)
    outside = next_after(bound, dtype, math.copysign(math.inf, bound))
    x[12345] = cast(outside, dtype)
    results = engine.distribution_checks(x, UNIFORM, dtype, ALPHA)
    assert failing(results) == {"bounds"}
    bounds = next(r for r in results if r.name == "bounds")
    assert bounds.stats["above" if side == "upper" else "below"] == 1


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_value_at_the_rounded_bound_is_allowed(dtype):
    """The bound rounded to the dtype is attainable (in bfloat16 1/sqrt(1000) rounds *up*).

    In float64 a value exactly on the bound has probability ~1e-17, so the bound-mass checks
    rightly flag it; from float32 down the bound's cell is wide enough for it to pass."""
    x = draw(UNIFORM, dtype, seed=7)
    x[:3] = cast([round_to(BOUND, dtype), round_to(-BOUND, dtype), 0.0], dtype)
    failed = failing(engine.distribution_checks(x, UNIFORM, dtype, ALPHA))
    if dtype == "float64":
        assert failed == {"at-lower-bound", "at-upper-bound"}
    else:
        assert failed == set()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_one_outlier_in_1e5(dtype):
    """10 values at ±8σ among 10^6 normals: only the far tail counts see them; KS cannot."""
    rng = np.random.default_rng(8)
    x = NORMAL.rvs(size=N, random_state=rng)
    where = rng.choice(N, size=N // 100_000, replace=False)
    x[where] = 8 * SD * rng.choice([-1.0, 1.0], size=where.size)
    results = engine.distribution_checks(cast(x, dtype), NORMAL, dtype, ALPHA)
    assert "tail>6σ" in failing(results)
    assert not {"ks", "mean", "variance", "tail>3σ"} & failing(results)
    tail = next(r for r in results if r.name == "tail>6σ")
    assert tail.stats["observed"] >= where.size


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_values_clamped_to_the_bounds(dtype):
    """A uniform drawn 0.2 % too wide and clamped to [low, high] puts ~0.1 % of the values on
    each bound. KS is blind to it; the bound-mass counts are not."""
    widen = 2e-3
    rng = np.random.default_rng(9)
    x = np.clip(rng.uniform(-BOUND * (1 + widen), BOUND * (1 + widen), N), -BOUND, BOUND)
    results = engine.distribution_checks(cast(x, dtype), UNIFORM, dtype, ALPHA)
    assert {"at-lower-bound", "at-upper-bound"} <= failing(results)
    assert not {"ks", "bounds", "mean"} & failing(results)
    upper = next(r for r in results if r.name == "at-upper-bound")
    clamped = N * widen / (2 * (1 + widen))  # expected number clamped on each side
    assert clamped >= power.min_excess_count(N, upper.stats["expected"] / N, ALPHA)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rare_clamping_is_still_seen_in_wide_dtypes(dtype):
    """One value in 10^4 clamped on each side: at n = 10^6, ~50 values on a bound that a
    continuous distribution hits with probability ~0."""
    rng = np.random.default_rng(10)
    x = np.clip(rng.uniform(-BOUND * 1.0002, BOUND * 1.0002, N), -BOUND, BOUND)
    results = engine.distribution_checks(cast(x, dtype), UNIFORM, dtype, ALPHA)
    assert failing(results) == {"at-lower-bound", "at-upper-bound"}


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_normal_clamped_instead_of_truncated(dtype):
    """A truncated normal implemented as clip(normal): 2.3 % of the mass on each bound."""
    bound = 2 * SD / TRUNC_SD
    x = np.clip(draw(stats.norm(0, SD / TRUNC_SD), "float64", seed=11), -bound, bound)
    results = engine.distribution_checks(cast(x, dtype), TRUNCNORM, dtype, ALPHA)
    assert {"at-lower-bound", "at-upper-bound"} <= failing(results)
    assert "bounds" not in failing(results)


# --------------------------------------------------------------------------- non-finite values


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_nan_fails_finite_and_stops_the_distribution_checks(dtype):
    x = draw(NORMAL, dtype, seed=12, n=1000)
    x[10] = cast(np.nan, dtype)
    results = engine.distribution_checks(x, NORMAL, dtype, ALPHA)
    assert [(r.name, r.passed) for r in results] == [("finite", False)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_fails_finite(dtype, value):
    x = draw(NORMAL, dtype, seed=12, n=1000)
    x[10] = cast(value, dtype)
    assert not checks.check_finite(checks.Sample(x, dtype)).passed
    results = engine.distribution_checks(x, NORMAL, dtype, ALPHA)
    assert [(r.name, r.passed) for r in results] == [("finite", False)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_finite_counts_each_nan_once(dtype):
    x = cast([0.5, np.nan, 0.25], dtype)
    result = checks.check_finite(checks.Sample(x, dtype))
    assert result.stats["non_finite"] == 1


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_finite_passes_finite_values(dtype):
    x = cast([0.0, -0.0, 1.0, -65504.0, 65504.0], dtype)
    result = checks.check_finite(checks.Sample(x, dtype))
    assert result.passed and result.name == "finite"


# --------------------------------------------------------------------------- stochastic checks, one
# at a time: each can fail and can pass (small n, alpha 1e-3)


@pytest.fixture(params=["float32", "bfloat16"])
def dtype(request):
    return request.param


def sample_of(dist, dtype, seed, n=200_000):
    x = draw(dist, dtype, seed, n)
    return checks.Sample(x, dtype), reference(dist, dtype)


def test_check_ks(dtype):
    sample, ref = sample_of(NORMAL, dtype, 20)
    assert checks.check_ks(sample, NORMAL, ref, 1e-3).passed
    wrong, _ = sample_of(stats.logistic(0, SD * math.sqrt(3) / math.pi), dtype, 20)
    result = checks.check_ks(wrong, NORMAL, ref, 1e-3)
    assert result.name == "ks" and not result.passed and result.p_value < 1e-3


def test_check_mean(dtype):
    sample, ref = sample_of(NORMAL, dtype, 21)
    assert checks.check_mean(sample, ref, 1e-3).passed
    shift = 1.2 * power.min_discrepancy_mean(200_000, 1e-3) * SD
    wrong, _ = sample_of(stats.norm(shift, SD), dtype, 21)
    result = checks.check_mean(wrong, ref, 1e-3)
    assert result.name == "mean" and not result.passed


def test_check_variance(dtype):
    sample, ref = sample_of(UNIFORM, dtype, 22)
    assert checks.check_variance(sample, ref, 1e-3).passed
    wrong, _ = sample_of(stats.uniform(-0.98 * BOUND, 1.96 * BOUND), dtype, 22)
    result = checks.check_variance(wrong, ref, 1e-3)
    assert result.name == "variance" and not result.passed
    assert result.stats["ratio"] == pytest.approx(0.98**2, abs=0.005)


@pytest.mark.parametrize("k", checks.TAIL_SIGMAS)
def test_check_tail(dtype, k):
    sample, ref = sample_of(NORMAL, dtype, 23)
    result = checks.check_tail(sample, ref, k, 1e-3)
    assert result.passed
    # put 1.5x the smallest detectable excess beyond kσ
    extra = math.ceil(1.5 * power.min_excess_count(sample.n, result.stats["expected"] / sample.n,
                                                    1e-3))
    assert result.min_detectable.startswith("+")
    x = draw(NORMAL, dtype, 23, 200_000)
    x[:extra] = cast(np.full(extra, (k + 0.5) * SD), dtype)
    result = checks.check_tail(checks.Sample(x, dtype), ref, k, 1e-3)
    assert result.name == f"tail>{k}σ" and not result.passed


def test_check_tail_deficit_fails_too(dtype):
    """Two-sided: a missing tail is as wrong as a heavy one."""
    _, ref = sample_of(NORMAL, dtype, 24, n=10)
    short, _ = sample_of(stats.truncnorm(-3.5, 3.5, scale=SD), dtype, 24)
    assert not checks.check_tail(short, ref, 3, 1e-3).passed


@pytest.mark.parametrize("side", ["lower", "upper"])
def test_check_bound_mass(dtype, side):
    sample, ref = sample_of(UNIFORM, dtype, 25)
    bound = -BOUND if side == "lower" else BOUND
    assert checks.check_bound_mass(sample, UNIFORM, ref, bound, side, 1e-3).passed
    x = draw(UNIFORM, dtype, 25, 200_000)
    x[:300] = cast(np.full(300, bound), dtype)
    result = checks.check_bound_mass(checks.Sample(x, dtype), UNIFORM, ref, bound, side, 1e-3)
    assert result.name == f"at-{side}-bound" and not result.passed


def test_check_bounds(dtype):
    x = draw(UNIFORM, dtype, 26, 1000)
    sample = checks.Sample(x, dtype)
    assert checks.check_bounds(sample, -BOUND, BOUND).passed
    result = checks.check_bounds(sample, -BOUND / 2, BOUND / 2)
    assert result.name == "bounds" and not result.passed
    assert result.stats["below"] > 0 and result.stats["above"] > 0


# --------------------------------------------------------------------------- exact checks


def test_check_shape():
    assert checks.check_shape((3, 4), (3, 4)).passed
    assert checks.check_shape((), ()).passed
    for observed in [(4, 3), (3, 4, 1), (12,)]:
        result = checks.check_shape(observed, (3, 4))
        assert result.name == "shape" and not result.passed
        assert "fan or layout mismatch" in result.message


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("value", [0.0, 1.0, 0.1, -1 / math.sqrt(3), 1e-3])
def test_check_constant(dtype, value):
    x = cast(np.full((2, 5, 7), value), dtype)
    assert checks.check_constant(x, value, dtype).passed
    assert checks.check_constant(x, value, None).passed  # dtype taken from the array
    wrong = x.copy()
    wrong[1, 2, 3] = cast(value * 1.1 + 0.01, dtype)
    result = checks.check_constant(wrong, value, dtype)
    assert result.name == "constant" and not result.passed
    assert result.stats["mismatches"] == 1


@pytest.mark.parametrize("np_dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_check_constant_integer_buffers(np_dtype):
    x = np.zeros((2, 3), dtype=np_dtype)
    assert checks.check_constant(x, 0, "float32").passed
    assert checks.check_constant(np.zeros((2,), dtype=np_dtype), 0, None).passed
    x[1, 2] = 1
    result = checks.check_constant(x, 0, "float32")
    assert not result.passed and result.stats["mismatches"] == 1


def test_check_constant_integer_value_is_exact():
    x = np.full((2, 3), 7, dtype=np.int64)
    assert checks.check_constant(x, 7, None).passed
    assert not checks.check_constant(x, 7.5, None).passed


def test_check_constant_all_nan_fails():
    result = checks.check_constant(np.full((2, 3), np.nan, dtype=np.float32), 0.0, "float32")
    assert not result.passed and result.stats["mismatches"] == 6


def test_check_constant_some_nan_fails():
    x = np.zeros((2, 3), dtype=np.float32)
    x[0, 1] = np.nan
    result = checks.check_constant(x, 0.0, "float32")
    assert not result.passed and result.stats["mismatches"] == 1


def orthogonal(rows: int, rest: tuple[int, ...] = (), count: int = 3, gain: float = 1.0,
               seed: int = 0) -> np.ndarray:
    """``count`` (semi-)orthogonal matrices times ``gain``, reshaped to (rows, *rest)."""
    rng = np.random.default_rng(seed)
    cols = math.prod(rest) if rest else rows
    out = []
    for _ in range(count):
        q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        out.append(gain * (q.T if rows < cols else q))
    return np.stack(out).reshape(count, rows, *(rest or (rows,)))


ORTHO_SHAPES = [(64, ()), (32, (128,)), (128, (16,)), (16, (4, 3, 3))]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize(("rows", "rest"), ORTHO_SHAPES, ids=["square", "wide", "tall", "conv"])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_check_orthogonal_passes(rows, rest, gain, dtype):
    x = cast(orthogonal(rows, rest, gain=gain), dtype)
    result = checks.check_orthogonal(x, gain, dtype)
    assert result.name == "orthogonal" and result.passed, result.message


def test_check_orthogonal_passes_qr_computed_in_float32():
    rng = np.random.default_rng(1)
    x = np.stack([np.linalg.qr(rng.normal(size=(256, 256)).astype(np.float32))[0]
                  for _ in range(2)])
    assert x.dtype == np.float32
    assert checks.check_orthogonal(x, 1.0, "float32").passed


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("rows", "rest"), ORTHO_SHAPES, ids=["square", "wide", "tall", "conv"])
def test_check_orthogonal_fails_wrong_gain(rows, rest, dtype):
    x = cast(orthogonal(rows, rest, gain=1.0), dtype)
    for gain in (1.01, math.sqrt(2)):
        result = checks.check_orthogonal(x, gain, dtype)
        assert not result.passed, result.message


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_check_orthogonal_fails_wrong_gain_by_a_lot(dtype):
    x = cast(orthogonal(64), dtype)
    assert not checks.check_orthogonal(x, 2.0, dtype).passed


@pytest.mark.parametrize(
    ("dtype", "rows", "rest"),
    [("float64", 64, ()), ("float32", 64, ()), ("float32", 32, (128,)), ("float32", 128, (16,)),
     ("float16", 64, ())],
)
def test_check_orthogonal_fails_a_random_matrix(dtype, rows, rest):
    """A Gaussian matrix scaled so that its rows have unit norm on average is not orthogonal."""
    rng = np.random.default_rng(3)
    cols = math.prod(rest) if rest else rows
    x = rng.normal(size=(3, rows, *(rest or (rows,)))) / math.sqrt(max(rows, cols))
    assert not checks.check_orthogonal(cast(x, dtype), 1.0, dtype).passed


@pytest.mark.parametrize(
    ("dtype", "size", "drawn", "expected_gain"),
    [("bfloat16", 64, "random", 1.0), ("float16", 256, "random", 1.0),
     ("bfloat16", 64, 1.0, 2.0), ("bfloat16", 256, 2.0, 1.0)],
)
def test_check_orthogonal_16_bit_tolerance(dtype, size, drawn, expected_gain):
    rng = np.random.default_rng(3)
    if drawn == "random":
        x = rng.normal(size=(3, size, size)) / math.sqrt(size)
    else:
        x = orthogonal(size, gain=drawn)
    assert not checks.check_orthogonal(cast(x, dtype), expected_gain, dtype).passed


@pytest.mark.parametrize("where", ["all", "one-instance"])
def test_check_orthogonal_fails_nan(where):
    x = orthogonal(8).astype(np.float32)
    if where == "all":
        x[:] = np.nan
    else:
        x[1, 2, 3] = np.nan
    assert not checks.check_orthogonal(x, 1.0, "float32").passed


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_check_identity_2d(dtype, gain):
    x = cast(np.stack([gain * np.eye(6, 9)] * 2), dtype)
    assert checks.check_identity(x, gain, 1, dtype).passed
    assert not checks.check_identity(x, 1.5 * gain, 1, dtype).passed
    wrong = x.copy()
    wrong[1, 0, 1] = cast(1e-3, dtype)
    result = checks.check_identity(wrong, gain, 1, dtype)
    assert result.name == "identity" and not result.passed
    assert result.stats["mismatches"] == 1


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_check_identity_dirac(groups):
    out_channels, in_channels, k = 8, 3, 3
    x = np.zeros((2, out_channels, in_channels, k, k, k), dtype=np.float32)
    per_group = out_channels // groups
    for g in range(groups):
        for d in range(min(per_group, in_channels)):
            x[:, g * per_group + d, d, 1, 1, 1] = 1.0
    assert checks.check_identity(x, 1.0, groups, "float32").passed
    other = 2 if groups == 1 else 1
    assert not checks.check_identity(x, 1.0, other, "float32").passed
    off_centre = x.copy()
    off_centre[:, 0, 0, 1, 1, 1], off_centre[:, 0, 0, 0, 1, 1] = 0.0, 1.0
    assert not checks.check_identity(off_centre, 1.0, groups, "float32").passed


def sparse(rows: int, cols: int, sparsity: float, sd: float, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, sd, size=(count, rows, cols))
    zeros = math.ceil(sparsity * rows)
    for i in range(count):
        for c in range(cols):
            x[i, rng.choice(rows, zeros, replace=False), c] = 0.0
    return x


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_check_sparse_zeros(dtype):
    x = cast(sparse(20, 30, 0.1, 0.01, 3, seed=30), dtype)
    result, rest = checks.check_sparse_zeros(x, 0.1)
    assert result.name == "sparsity" and result.passed
    assert rest.size == 3 * 30 * (20 - 2) and rest.dtype == x.dtype
    # one column short of a zero, another with one extra: fails
    moved = x.copy()
    moved[2, np.flatnonzero(moved[2, :, 7] == 0)[0], 7] = cast(0.5, dtype)
    moved[2, np.flatnonzero(moved[2, :, 8] != 0)[0], 8] = 0
    result, rest = checks.check_sparse_zeros(moved, 0.1)
    assert not result.passed and result.stats["short_columns"] == 1
    # column 8's surplus zero stays in `rest` (zeros are only removed up to the pattern's count)
    assert rest.size == 3 * 30 * (20 - 2) + 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_check_sparse_zeros_fails_too_few_zeros(dtype):
    x = cast(sparse(20, 30, 0.1, 0.01, 3, seed=30), dtype)
    too_few = x.copy()
    too_few[2, np.flatnonzero(too_few[2, :, 7] == 0)[0], 7] = cast(0.5, dtype)
    result, _ = checks.check_sparse_zeros(too_few, 0.1)
    assert not result.passed and result.stats["short_columns"] == 1
    assert not checks.check_sparse_zeros(x, 0.2)[0].passed  # asks for 4 zeros per column, not 2


def test_sparse_rest_follows_the_nonzero_distribution():
    x = cast(sparse(100, 500, 0.3, 0.01, 20, seed=31), "float32")
    result, rest = checks.check_sparse_zeros(x, 0.3)
    assert result.passed
    dist = stats.norm(0, 0.01)
    assert failing(engine.distribution_checks(rest, dist, "float32", ALPHA)) == set()
    # forgetting to remove the structural zeros would be caught
    flat = x.reshape(-1)
    assert {"ks", "variance"} <= failing(engine.distribution_checks(flat, dist, "float32", ALPHA))


# --------------------------------------------------------------------------- KS against scipy


@pytest.mark.parametrize("dist", [UNIFORM, NORMAL, TRUNCNORM],
                         ids=["uniform", "normal", "truncnorm"])
@pytest.mark.parametrize("shift", [0.0, 0.02])
def test_grid_ks_statistic_brackets_scipy_kstest(dist, shift):
    """On float32/64 the engine's D (2^16 quantiles) is at most scipy's exact D, within 2^-16."""
    x = draw(dist, "float64", seed=40, n=200_000) + shift * SD
    exact = stats.kstest(x, dist.cdf).statistic
    result = checks.check_ks(checks.Sample(x, "float64"), dist, dist, ALPHA)
    assert exact - 2**-16 <= result.stats["D"] <= exact + 1e-12


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_discrete_ks_statistic_is_the_exact_sup_distance(dtype):
    """On 16-bit dtypes D is exact: compare with sup |F_n - F| over every representable value."""
    x = draw(NORMAL, dtype, seed=41, n=200_000)
    ref = reference(NORMAL, dtype)
    result = checks.check_ks(checks.Sample(x, dtype), NORMAL, ref, ALPHA)
    grid = representable(dtype)
    sorted_x = np.sort(x.astype(np.float64))
    ecdf = np.searchsorted(sorted_x, grid, side="right") / x.size
    ecdf_before = np.searchsorted(sorted_x, grid, side="left") / x.size
    brute = max(np.abs(ecdf - ref.cdf(grid)).max(),
                np.abs(ecdf_before - (ref.cdf(grid) - ref.pmf(grid))).max())
    assert result.stats["D"] == pytest.approx(brute, abs=1e-12)
