"""Reference distributions: the continuous families, and their exact rounding to 16-bit dtypes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

from initspec.distributions import (
    DTYPES,
    QUANTILE_GRID,
    RoundedDistribution,
    continuous,
    quantile_grid,
    reference,
    representable,
    round_to,
    rounded,
)

SD = 0.02
DISTS = {
    "uniform": stats.uniform(-0.05, 0.1),
    "normal": stats.norm(0.0, SD),
    "truncnorm": stats.truncnorm(-2, 2, scale=SD / 0.87962566103423978),
    "normal-near-one": stats.norm(1.0, 0.01),  # few representable values per σ in bfloat16
    "uniform-offset": stats.uniform(0.5, 1.5),
}
SIXTEEN = ["float16", "bfloat16"]


@pytest.fixture(params=sorted(DISTS))
def dist(request):
    return DISTS[request.param]


# --------------------------------------------------------------------------- families


@pytest.mark.parametrize(
    ("family", "params", "mean", "var", "support"),
    [
        ("uniform", {"low": -3, "high": 1}, -1, 16 / 12, (-3, 1)),
        ("normal", {"mean": 1, "std": 2}, 1, 4, (-np.inf, np.inf)),
        ("truncnorm", {"mean": 1, "std": 2, "a": -1, "b": 3}, None, None, (-1, 7)),
        ("sparse", {"sparsity": 0.1, "std": 0.5}, 0, 0.25, (-np.inf, np.inf)),
    ],
)
def test_continuous_families(family, params, mean, var, support):
    dist = continuous(family, params)
    assert dist.support() == pytest.approx(support)
    if mean is not None:
        assert dist.mean() == pytest.approx(mean)
        assert dist.var() == pytest.approx(var)


@pytest.mark.parametrize("family", ["constant", "orthogonal", "identity"])
def test_exact_families_have_no_continuous_distribution(family):
    assert continuous(family, {}) is None


@pytest.mark.parametrize(
    ("family", "params"),
    [("uniform", {"low": 1, "high": 1}), ("normal", {"mean": 0, "std": 0}),
     ("normal", {"mean": 0, "std": -1}), ("truncnorm", {"mean": 0, "std": 1, "a": 2, "b": -2}),
     ("sparse", {"sparsity": 0.1, "std": 0})],
)
def test_degenerate_parameters_are_rejected(family, params):
    with pytest.raises(ValueError):
        continuous(family, params)


def test_reference_is_continuous_for_wide_dtypes_and_rounded_for_16_bit():
    dist = DISTS["normal"]
    assert reference(dist, "float32") is dist
    assert reference(dist, "float64") is dist
    for dtype in SIXTEEN:
        ref = reference(dist, dtype)
        assert isinstance(ref, RoundedDistribution)
        assert ref is rounded(dist, dtype)  # cached


# --------------------------------------------------------------------------- representable values


@pytest.mark.parametrize(("dtype", "count"), [("float16", 63487), ("bfloat16", 65279)])
def test_representable_values(dtype, count):
    grid = representable(dtype)
    # 2^16 patterns - NaNs - two infinities - the duplicate zero
    assert grid.size == count
    assert np.all(np.diff(grid) > 0)
    info = ml_dtypes.finfo(DTYPES[dtype])
    assert grid[-1] == float(info.max) and grid[0] == -float(info.max)
    assert np.array_equal(grid.astype(DTYPES[dtype]).astype(np.float64), grid)


# --------------------------------------------------------------------------- round_to


@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        # exact ties round half to even
        (1 + 2**-24, "float32", 1.0),
        (1 + 3 * 2**-24, "float32", 1 + 2**-22),
        (1 + 2**-24 + 2**-50, "float32", 1 + 2**-23),
        (1 + 2**-11, "float16", 1.0),
        (1 + 3 * 2**-11, "float16", 1 + 2**-9),
        (1 + 2**-11 + 2**-40, "float16", 1 + 2**-10),
        (1 + 2**-8, "bfloat16", 1.0),
        (1 + 3 * 2**-8, "bfloat16", 1 + 2**-6),
        (-(1 + 3 * 2**-8), "bfloat16", -(1 + 2**-6)),
        # subnormals: float16's smallest is 2^-24, so 2^-25 is a tie with 0
        (2**-25, "float16", 0.0),
        (3 * 2**-26, "float16", 2**-24),
        # representable values are fixed points
        (0.0, "bfloat16", 0.0),
        (0.75, "float16", 0.75),
        (65504.0, "float16", 65504.0),
        (np.inf, "bfloat16", np.inf),
        (-np.inf, "float16", -np.inf),
        # an ordinary value
        (0.1, "float64", 0.1),
        (0.1, "float32", float(np.float32(0.1))),
        (0.1, "float16", float(np.float16(0.1))),
    ],
)
def test_round_to(value, dtype, expected):
    assert round_to(value, dtype) == expected


def test_round_to_bfloat16_avoids_double_rounding():
    """float64 -> bfloat16 via float32 rounds twice: 1 + 2^-8 + 2^-30 first becomes the tie
    1 + 2^-8 in float32, which then goes to even (1.0). The nearest bfloat16 is 1 + 2^-7."""
    value = 1 + 2**-8 + 2**-30
    assert round_to(value, "bfloat16") == 1 + 2**-7
    assert round_to(-value, "bfloat16") == -(1 + 2**-7)


def test_round_to_agrees_with_casts_on_random_values():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(0, 1, 2000), rng.normal(0, 1e-3, 2000),
                             rng.uniform(-60000, 60000, 1000)])
    for dtype in ("float32", "float16"):  # numpy's casts round once, correctly
        cast = values.astype(DTYPES[dtype]).astype(np.float64)
        assert [round_to(v, dtype) for v in values] == cast.tolist()
    # bfloat16: through float32 the cast can be one ulp off; round_to must be the nearest value
    grid = representable("bfloat16")
    for v in values:
        r = round_to(v, "bfloat16")
        assert r in grid
        j = np.searchsorted(grid, r)
        neighbours = grid[max(j - 1, 0): j + 2]
        assert abs(v - r) <= np.abs(v - neighbours).min()


@pytest.mark.parametrize(("value", "dtype"), [(70000.0, "float16"), (-1e6, "float16"),
                                              (4e38, "bfloat16")])
def test_round_to_overflows_to_inf(value, dtype):
    assert round_to(value, dtype) == np.copysign(np.inf, value)


# --------------------------------------------------------------------------- RoundedDistribution


@pytest.mark.parametrize("dtype", SIXTEEN)
def test_rounded_is_a_distribution(dist, dtype):
    ref = RoundedDistribution(dist, dtype)
    assert np.all(ref.pk > 0)
    assert ref.pk.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(ref.xk) > 0)
    assert set(ref.xk) <= set(representable(dtype))
    assert ref.cdf(ref.xk[-1]) == pytest.approx(1.0, abs=1e-12)
    assert ref.sf(ref.xk[-1]) == 0.0
    assert ref.cdf(ref.xk[0] - 1) == 0.0 and ref.sf(ref.xk[0] - 1) == 1.0
    np.testing.assert_allclose(ref.cdf(ref.xk) + ref.sf(ref.xk), 1.0, atol=1e-12)
    np.testing.assert_allclose(ref.pmf(ref.xk), ref.pk)
    assert ref.pmf(ref.xk[0] - 1) == 0.0
    between = (ref.xk[:-1] + ref.xk[1:]) / 2
    assert np.all(ref.pmf(between) == 0.0)
    # the support is the bounds rounded
    lo, hi = dist.support()
    if np.isfinite(lo):
        assert ref.support() == (round_to(lo, dtype), round_to(hi, dtype))


@pytest.mark.parametrize(("dtype", "rel"), [("float16", 2e-3), ("bfloat16", 2e-2)])
@pytest.mark.parametrize("name", ["uniform", "normal", "truncnorm", "uniform-offset"])
def test_rounded_moments_are_close_to_continuous(name, dtype, rel):
    """For initializer-like scales rounding barely moves the moments (but see the next test)."""
    dist = DISTS[name]
    ref = RoundedDistribution(dist, dtype)
    sd = float(dist.std())
    assert abs(ref.mean() - float(dist.mean())) <= rel * sd
    assert ref.var() == pytest.approx(float(dist.var()), rel=rel)
    assert ref.std() == pytest.approx(sd, rel=rel)
    m, v, s, k = ref.stats("mvsk")
    assert (m, v) == (ref.mean(), ref.var())
    assert s == pytest.approx(float(dist.stats("s")), abs=20 * rel)
    assert k == pytest.approx(float(dist.stats("k")), abs=20 * rel)
    assert ref.stats("k") == k


def test_rounding_changes_the_distribution_measurably():
    """Why 16-bit samples need the rounded reference: N(1, 0.01²) in bfloat16 lives on a handful
    of values (spacing 2^-8 below 1, 2^-7 above), biasing mean and variance."""
    dist = DISTS["normal-near-one"]
    ref = RoundedDistribution(dist, "bfloat16")
    assert ref.xk[ref.pk > 1e-3].size < 16
    assert abs(ref.var() / dist.var() - 1) > 0.01


@pytest.mark.parametrize("dtype", SIXTEEN)
def test_rounded_agrees_with_a_rounded_sample(dist, dtype):
    n = 1_000_000
    rng = np.random.default_rng(11)
    x = dist.rvs(size=n, random_state=rng).astype(DTYPES[dtype]).astype(np.float64)
    values, counts = np.unique(x, return_counts=True)
    ref = rounded(dist, dtype)
    assert set(values) <= set(ref.xk)
    # pmf: each observed frequency within 6 binomial standard deviations (+ slack)
    pmf = ref.pmf(values)
    tolerance = 6 * np.sqrt(pmf * (1 - pmf) / n) + 3 / n
    assert np.all(np.abs(counts / n - pmf) <= tolerance)
    # cdf / sf against the empirical cdf: the DKW bound at 1e-6
    ecdf = np.cumsum(counts) / n
    dkw = np.sqrt(np.log(2 / 1e-6) / (2 * n))
    assert np.abs(ecdf - ref.cdf(values)).max() <= dkw
    assert np.abs((1 - ecdf) - ref.sf(values)).max() <= dkw
    # moments
    assert x.mean() == pytest.approx(ref.mean(), abs=6 * ref.std() / np.sqrt(n))
    assert x.var() == pytest.approx(ref.var(), rel=6 * np.sqrt(2 / n))


# --------------------------------------------------------------------------- quantile grid


def test_quantile_grid(dist):
    points, probs = quantile_grid(dist)
    assert points.shape == probs.shape == (QUANTILE_GRID - 1,)
    assert probs[0] == 1 / QUANTILE_GRID and probs[-1] == 1 - 1 / QUANTILE_GRID
    assert np.all(np.diff(points) > 0)
    np.testing.assert_allclose(dist.cdf(points), probs, rtol=0, atol=1e-12)
    lo, hi = dist.support()
    assert np.all((points > lo) & (points < hi))
    again, _ = quantile_grid(dist)
    assert again is points  # cached per distribution
