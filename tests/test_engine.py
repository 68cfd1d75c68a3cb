"""engine: the plan (cells, alpha split, sample sizes, seeds) and run_checks on every family."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from initspec import engine
from initspec.adapter import SampleRequest
from initspec.distributions import DTYPES

ALPHA = 1e-6


def failing(results) -> set[str]:
    return {r.name for r in results if not r.passed}


def names(results) -> list[str]:
    return [r.name for r in results]


# --------------------------------------------------------------------------- run_checks


def test_uniform_case(fake_case):
    case = fake_case("Dense.weight")
    bound = 1 / math.sqrt(300)
    x = np.random.default_rng(0).uniform(-bound, bound, (200, *case.shape)).astype(np.float32)
    results = engine.run_checks(case, x, "float32", ALPHA)
    assert names(results) == ["shape", "dtype", "finite", "bounds", "ks", "mean", "variance",
                              "at-lower-bound", "at-upper-bound", "independence:instances",
                              "independence:axis0", "independence:axis1", "instances-distinct"]
    assert failing(results) == set()
    # the layout transposed (fan_in and fan_out swapped): only the shape is reported
    results = engine.run_checks(case, x.transpose(0, 2, 1), "float32", ALPHA)
    assert [(r.name, r.passed) for r in results] == [("shape", False)]
    # the wrong dtype: reported, and nothing is checked on values of the wrong precision
    results = engine.run_checks(case, x.astype(np.float64), "float32", ALPHA)
    assert [(r.name, r.passed) for r in results] == [("shape", True), ("dtype", False)]
    # a variance scaled for fan_out instead of fan_in
    wrong = x * np.float32(math.sqrt(300 / 20))
    assert {"variance", "bounds"} <= failing(engine.run_checks(case, wrong, "float32", ALPHA))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_truncated_normal_case(fake_case, dtype):
    case = fake_case("init.trunc_normal")
    p = case.params
    dist = stats.truncnorm(p["a"], p["b"], loc=p["mean"], scale=p["std"])
    x = dist.rvs(size=(1000, *case.shape), random_state=1).astype(DTYPES[dtype])
    assert failing(engine.run_checks(case, x, dtype, ALPHA)) == set()
    assert case.variance == pytest.approx(dist.var(), rel=1e-9)


def test_constant_case(fake_case):
    case = fake_case("Dense.bias")
    x = np.zeros((2, *case.shape), dtype=np.float32)
    assert names(engine.run_checks(case, x, "float32", ALPHA)) == ["shape", "dtype", "constant"]
    assert failing(engine.run_checks(case, x, "float32", ALPHA)) == set()
    assert failing(engine.run_checks(case, x + np.float32(1e-3), "float32", ALPHA)) == {"constant"}


def test_integer_buffer_keeps_its_dtype(fake_case):
    case = fake_case("BatchNorm.num_batches_tracked")
    x = np.zeros(2, dtype=np.int64)  # two instances of a 0-d buffer
    results = engine.run_checks(case, x, "bfloat16", ALPHA)
    assert names(results) == ["shape", "constant"]  # no dtype check for integer buffers
    assert failing(results) == set()
    assert failing(engine.run_checks(case, x + 1, "bfloat16", ALPHA)) == {"constant"}


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_select_complement_and_select(fake_case, dtype):
    rest, row = fake_case("Embedding.weight"), fake_case("Embedding.weight.padding_row")
    assert rest.select.complement and not row.select.complement
    x = np.random.default_rng(2).normal(0, 1, (5000, *rest.shape))
    x[:, 3] = 0.0  # padding_idx
    x = x.astype(DTYPES[dtype])
    assert failing(engine.run_checks(rest, x, dtype, ALPHA)) == set()
    assert failing(engine.run_checks(row, x, dtype, ALPHA)) == set()
    # padding row left random: the selected row is not constant
    y = x.copy()
    y[:, 3] = y[:, 4]
    assert failing(engine.run_checks(row, y, dtype, ALPHA)) == {"constant"}
    # the wrong row zeroed: the complement holds a zero row, so too little variance
    z = x.copy()
    z[:, 3], z[:, 10] = z[:, 10], 0.0
    assert "variance" in failing(engine.run_checks(rest, z, dtype, ALPHA))


def test_orthogonal_case(fake_case):
    for index in (0, 1):  # wide and tall
        case = fake_case("init.orthogonal", index)
        rows, cols = case.shape
        rng = np.random.default_rng(index)
        qs = []
        for _ in range(3):
            q, _ = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
            qs.append(q.T if rows < cols else q)
        x = np.stack(qs)
        assert failing(engine.run_checks(case, 1.5 * x, "float64", ALPHA)) == set()
        assert failing(engine.run_checks(case, x, "float64", ALPHA)) == {"orthogonal"}


def test_identity_cases(fake_case):
    eye, dirac = fake_case("init.eye"), fake_case("init.dirac")
    x = np.stack([np.eye(*eye.shape)] * 2).astype(np.float32)
    assert failing(engine.run_checks(eye, x, "float32", ALPHA)) == set()
    assert failing(engine.run_checks(eye, 2 * x, "float32", ALPHA)) == {"identity"}
    d = np.zeros((2, *dirac.shape), dtype=np.float32)
    for g in range(2):
        for i in range(3):
            d[:, 4 * g + i, i, 1, 1] = 1
    assert failing(engine.run_checks(dirac, d, "float32", ALPHA)) == set()
    d[:, 4:, :, 1, 1] = 0  # only the first group's Dirac
    assert failing(engine.run_checks(dirac, d, "float32", ALPHA)) == {"identity"}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_sparse_case(fake_case, fake_adapter, dtype):
    case = fake_case("init.sparse")
    request = SampleRequest(case.entry.target, None, case.kwargs, case.shape, 2000, "cpu", dtype,
                            seed=3)
    x = fake_adapter.sample(request)
    results = engine.run_checks(case, x, dtype, ALPHA)
    assert names(results)[:4] == ["shape", "dtype", "sparsity", "finite"]
    assert failing(results) == set()
    # ceil(0.1 * 20) = 2 zeros per column (the positions are not part of the spec)
    y = np.random.default_rng(4).normal(0, 0.01, x.shape).astype(DTYPES[dtype])
    y[:, :2] = 0
    assert failing(engine.run_checks(case, y, dtype, ALPHA)) == set()
    # 3 zeros per column: the sparsity count is met, the extra zeros distort the rest
    y[:, 2] = 0
    assert {"ks", "variance"} <= failing(engine.run_checks(case, y, dtype, ALPHA))


def test_stochastic_checks_are_exactly_the_checks_run(fake_spec, fake_adapter):
    """The alpha split counts what will run: the planned names equal the p-valued results."""
    plan = engine.build_plan(fake_spec, fake_adapter, dtypes=["float32"], resolution=0.2)
    random_cells = [c for c in plan.cells if c.stochastic_checks]
    assert {c.case.family for c in random_cells} == {"uniform", "normal", "truncnorm", "sparse",
                                                     "orthogonal"}
    for cell in random_cells:
        if cell.skip_reason:
            continue
        x = fake_adapter.sample(engine.request_for(plan, cell))
        results = engine.run_checks(cell.case, x, cell.dtype, plan.alpha)
        assert tuple(r.name for r in results if r.p_value is not None) == cell.stochastic_checks


# --------------------------------------------------------------------------- the plan


def test_plan_cells_and_alpha_split(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter, budget=1e-3)
    assert len(plan.cells) == len(fake_spec.cases) * len(fake_spec.dtypes)
    total = sum(len(c.stochastic_checks) for c in plan.cells)
    assert plan.alpha == pytest.approx(1e-3 / total)
    assert not any(c.stochastic_checks for c in plan.cells if c.skip_reason)
    by_entry = {c.case.entry.name: c for c in plan.cells if c.dtype == "float32"}
    assert by_entry["Legacy.weight"].skip_reason == "spec entry applies to fake <1.0, not 1.0"
    assert by_entry["Deviant.weight"].deviation is not None
    assert by_entry["Fixed.weight"].deviation is not None
    assert by_entry["Dense.weight"].deviation is None
    assert by_entry["Dense.bias"].stochastic_checks == ()
    assert by_entry["Dense.weight"].id == ("fake-1.0/cpu/float32/"
                                           "Dense.weight[in_features=300,out_features=20]")


def test_plan_filters(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter, dtypes=["bfloat16", "int8"],
                             match="Dense")
    assert {c.dtype for c in plan.cells} == {"bfloat16"}
    assert {c.case.entry.name for c in plan.cells} == {"Dense.weight", "Dense.bias"}
    # a partial plan keeps the full plan's alpha (and so its n): a re-check of one cell
    # reproduces the published statistics
    full = engine.build_plan(fake_spec, fake_adapter)
    assert plan.alpha == full.alpha
    assert plan.partial and not full.partial and plan.planned == len(full.cells)
    assert [plan.count(c) for c in plan.cells] == [
        full.count(c) for c in full.cells if c in plan.cells]


def test_deviation_versions(fake_spec, fake_adapter_class):
    plan = engine.build_plan(fake_spec, fake_adapter_class("2.0"), dtypes=["float32"])
    by_entry = {c.case.entry.name: c for c in plan.cells}
    assert by_entry["Fixed.weight"].deviation is None  # recorded only for versions <2
    assert by_entry["Deviant.weight"].deviation is not None


def test_seeds_are_deterministic_and_distinct(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter)
    again = engine.build_plan(fake_spec, fake_adapter)
    seeds = [plan.seed_for(c) for c in plan.cells]
    assert seeds == [again.seed_for(c) for c in again.cells]
    assert len(set(seeds)) == len(seeds)
    other = engine.build_plan(fake_spec, fake_adapter, seed=1)
    assert all(plan.seed_for(c) != other.seed_for(c) for c in plan.cells)
    assert all(0 <= s < 2**31 for s in seeds)


def test_sample_sizes_follow_the_resolution(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter, resolution=0.01)
    coarse = engine.build_plan(fake_spec, fake_adapter, resolution=0.02)
    for cell, cell2 in zip(plan.cells, coarse.cells, strict=True):
        case = cell.case
        if case.family in engine.HAAR_FAMILIES:  # enough instances for the Haar sign test
            assert plan.count(cell) == max(3, math.ceil(engine.HAAR_SIGNS
                                                        / engine.haar_signs(case)))
            continue
        if case.family in engine.EXACT_INSTANCES:
            assert plan.count(cell) == engine.EXACT_INSTANCES[case.family]
            continue
        if not cell.stochastic_checks:
            continue
        n = plan.num_samples(cell)
        assert n == pytest.approx(4 * coarse.num_samples(cell2), rel=1e-3)
        per_instance = math.prod(case.shape)
        if case.select is not None:
            per_instance -= per_instance // case.shape[case.select.axis]
        if case.family == "sparse":
            per_instance -= math.ceil(0.1 * case.shape[0]) * case.shape[1]
        assert plan.count(cell) * per_instance >= n
        # at least two instances: correlation across instances needs a pair
        assert plan.count(cell) == max(2, math.ceil(n / per_instance))


def test_evaluate_is_reproducible(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter, dtypes=["bfloat16"], match="Dense.weight",
                             resolution=0.05)
    (cell,) = plan.cells
    first, second = engine.evaluate(plan, cell, fake_adapter), engine.evaluate(plan, cell,
                                                                              fake_adapter)
    assert first.status == second.status == "pass"
    assert [c.stats for c in first.checks] == [c.stats for c in second.checks]
    assert first.n == first.count * 20 * 300
    assert f"fake.seed({plan.seed_for(cell)})" in first.reproducer
