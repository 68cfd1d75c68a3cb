"""Conditions, `expect: raises` and sums of parameters (the triangular family), end to end with a
numpy adapter: every check here is shown to fail on wrong input too."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, FakeAdapter

from initspec import engine, results
from initspec.adapters._common import param_expr, param_terms, read_param
from initspec.distributions import DTYPES, continuous, reference
from initspec.loader import CONDITION_KINDS, SPEC_DIR, SpecError, load_framework

ALPHA = 1e-6
SPEC = DATA / "conditions.yaml"


class ConditionsAdapter(FakeAdapter):
    """``fake.Strict`` raises like Haiku's MultiHeadAttention without w_init; ``fake.Loose`` draws
    although its entry says it raises; ``fake.Cell`` has two U(±1/√hidden) biases drawn in the
    dtype, and a spec ``param`` naming their sum is added in the dtype (adapters/_common)."""

    @staticmethod
    def _Strict(rng, request):
        raise ValueError("Please provide a weight initializer: `w_init`.\nsecond line")

    @staticmethod
    def _Loose(rng, request):
        return rng.normal(size=request.shape)

    @staticmethod
    def _Cell(rng, request):
        bound = 1 / math.sqrt(request.kwargs["hidden_size"])
        dtype = DTYPES[request.dtype]
        biases = {name: rng.uniform(-bound, bound, request.shape).astype(dtype)
                  for name in ("bias_a", "bias_b")}
        return read_param(request.param, biases.__getitem__)


@pytest.fixture(scope="module")
def spec(schemes):
    return load_framework(SPEC, schemes)


@pytest.fixture(scope="module")
def adapter():
    return ConditionsAdapter()


def _run(spec, adapter, name: str, dtype: str = "float32", resolution: float = 0.05):
    plan = engine.build_plan(spec, adapter, dtypes=[dtype], resolution=resolution)
    cells = [c for c in plan.cells if c.case.entry.name == name]
    assert cells, name
    return [engine.evaluate(plan, c, adapter) for c in cells]


# --------------------------------------------------------------------------- expect: raises


def test_raises_passes_when_the_target_raises_as_stated(spec, adapter):
    (r,) = _run(spec, adapter, "Strict.weight")
    assert r.verdict == "pass", r.message
    assert [c.name for c in r.checks] == ["raises"]
    assert r.checks[0].message == ("raised ValueError: Please provide a weight initializer: "
                                   "`w_init`.")
    assert r.checks[0].p_value is None  # exact: no share of the error budget
    (any_exc,) = _run(spec, adapter, "Strict.weight(any exception)")
    assert any_exc.verdict == "pass"


def test_raises_fails_when_the_target_draws_values(spec, adapter):
    (r,) = _run(spec, adapter, "Loose.weight")
    assert r.verdict == "fail"
    assert r.failures()[0].name == "raises"
    assert "expected to raise ValueError, drew values" in r.message


@pytest.mark.parametrize("name, why", [("Strict.weight(wrong type)", "expected to raise TypeError"),
                                       ("Strict.weight(wrong message)", "'no such message'")])
def test_raises_fails_on_another_exception(spec, adapter, name, why):
    (r,) = _run(spec, adapter, name)
    assert r.verdict == "fail"
    assert why in r.message and "raised ValueError: Please provide" in r.message


def test_raises_cells_take_no_error_budget_and_one_instance(spec, adapter):
    plan = engine.build_plan(spec, adapter, dtypes=["float32"])
    raising = [c for c in plan.cells if c.case.entry.expect == "raises"]
    assert raising and all(c.stochastic_checks == () for c in raising)
    assert {plan.count(c) for c in raising} == {1}
    full = engine.build_plan(spec, adapter)  # a partial plan keeps the full plan's alpha
    assert plan.alpha == pytest.approx(1e-3 / sum(len(c.stochastic_checks) for c in full.cells))


def test_check_raises_matches_subclasses_by_name():
    from initspec.loader import Raises
    assert engine.check_raises(FileNotFoundError("x"), Raises("OSError")).passed
    assert not engine.check_raises(OSError("x"), Raises("FileNotFoundError")).passed


def test_the_real_haiku_spec_states_that_multiheadattention_raises(schemes):
    haiku = load_framework(SPEC_DIR / "frameworks" / "haiku.yaml", schemes)
    raising = [c for c in haiku.cases if c.entry.expect == "raises"]
    assert {c.entry.concept for c in raising} == {"attention.query_kernel",
                                                 "attention.output_kernel"}
    for case in raising:
        assert case.entry.target == "MultiHeadAttention"
        assert case.entry.raises.type == "ValueError"
        assert "w_init_scale" not in case.kwargs and "w_init" not in case.kwargs
        assert [c.kind for c in case.entry.conditions] == ["no-default"]


# --------------------------------------------------------------------------- records


def test_records_carry_conditions_and_expect(spec, adapter, tmp_path: Path):
    (strict,) = _run(spec, adapter, "Strict.weight")
    rec = results.record(strict)
    assert rec["expect"] == "raises"
    assert rec["raises"] == {"type": "ValueError", "match": "Please provide a weight initializer"}
    assert rec["conditions"] == [{"kind": "no-default",
                                  "text": "Strict has no default weight initializer; it raises "
                                          "without one."}]
    summed = results.record(_run(spec, adapter, "Cell.bias_a+bias_b")[0])
    assert "expect" not in summed and "raises" not in summed
    assert summed["param"] == "bias_a + bias_b"
    assert [c["kind"] for c in summed["conditions"]] == ["sum"]  # the 16-bit one is not here
    half = results.record(_run(spec, adapter, "Cell.bias_a+bias_b", "bfloat16")[0])
    assert [c["kind"] for c in half["conditions"]] == ["sum", "runtime-change"]
    plan = engine.build_plan(spec, adapter, dtypes=["float32"], resolution=0.05)
    (path,) = results.write([strict], plan, tmp_path, sha="x")
    assert json.loads(results.read_text(path))["cells"][0]["expect"] == "raises"


# --------------------------------------------------------------------------- the schema


BASE = """framework: fake
dtypes: [float32]
entries:
  - name: Strict.weight
    target: fake.Strict
    param: weight
{extra}
    cases: [{{features: 4}}]
    shape: [features]
    docs: {{claim: c, url: u}}
    source: s
"""


@pytest.mark.parametrize("extra, needle", [
    ("    expect: raises\n    conditions: [{kind: bogus, text: t}]", "bogus"),
    ("    expect: raises\n    conditions: [{kind: sum}]", "'text' is a required property"),
    ("    expect: raises\n    scheme: constant\n    with: {value: 0}", "should not be valid"),
    ("    scheme: constant\n    with: {value: 0}\n    raises: {type: ValueError}", "'expect'"),
    ("    expect: raises\n    raises: {type: 'not a name'}", "does not match"),
    ("    expect: sometimes", "is not one of ['raises']"),
])
def test_schema_rejects(tmp_path: Path, schemes, extra, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.format(extra=extra))
    with pytest.raises(SpecError) as info:
        load_framework(path, schemes)
    assert str(path) in str(info.value) and needle in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_an_entry_without_expect_still_needs_a_scheme(tmp_path: Path, schemes):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.format(extra=""))
    with pytest.raises(SpecError, match="'scheme' is a required property"):
        load_framework(path, schemes)


def test_condition_kinds_match_the_schema():
    schema = json.loads((SPEC_DIR / "schema" / "framework.schema.json").read_text())
    kinds = schema["$defs"]["entry"]["properties"]["conditions"]["items"]["properties"]["kind"]
    assert tuple(kinds["enum"]) == CONDITION_KINDS


# --------------------------------------------------------------------------- parameter sums


def test_param_terms_and_read_param():
    assert param_terms("bias_ih_l0 + bias_hh_l0") == ("bias_ih_l0", "bias_hh_l0")
    assert param_terms("cell.bias") == ("cell.bias",)
    with pytest.raises(ValueError, match="each side"):
        param_terms("bias_ih_l0 +")
    assert param_expr("a + b", "m.") == "m.a + m.b"
    a, b = np.float16([0.1, 0.3]), np.float16([0.2, 1e-4])
    s = read_param("a + b", {"a": a, "b": b}.__getitem__)
    assert s.dtype == np.float16 and np.array_equal(s, a + b)  # added in the dtype


def test_triangular_family_variance_and_support(spec):
    case = next(c for c in spec.cases if c.entry.name == "Cell.bias_a+bias_b")
    k = 1 / case.kwargs["hidden_size"]
    assert case.family == "triangular"
    dist = continuous(case.family, case.params)
    assert dist.var() == pytest.approx(2 * k / 3, rel=1e-12)
    assert dist.support() == pytest.approx((-2 * math.sqrt(k), 2 * math.sqrt(k)))
    assert case.variance == pytest.approx(2 * k / 3)
    with pytest.raises(ValueError, match="triangular needs"):
        continuous("triangular", {"low": 1, "mode": 0, "high": 2})


def test_a_wrong_stated_variance_of_a_sum_is_a_load_error(tmp_path: Path, schemes):
    text = SPEC.read_text().replace("variance: 2 * k / 3", "variance: k / 3")
    path = tmp_path / "wrong.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match="has variance"):
        load_framework(path, schemes)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_correct_sums_pass(spec, adapter, dtype):
    for r in _run(spec, adapter, "Cell.bias_a+bias_b", dtype, resolution=0.02):
        assert r.verdict == "pass", r.message
        assert {"ks", "variance", "bounds"} <= {c.name for c in r.checks}


def _checks_on(spec, draw, n=400_000, dtype="float32"):
    case = next(c for c in spec.cases if c.entry.name == "Cell.bias_a+bias_b")
    k = 1 / case.kwargs["hidden_size"]
    rng = np.random.default_rng(5)
    x = draw(rng, math.sqrt(k), (n // case.shape[0], *case.shape)).astype(DTYPES[dtype])
    return {c.name: c for c in engine.run_checks(case, x, dtype, ALPHA)}


def test_one_uniform_of_twice_the_width_fails_ks(spec):
    """U(±2·b): the sum's support, the wrong shape (and twice the variance)."""
    checks = _checks_on(spec, lambda rng, b, shape: rng.uniform(-2 * b, 2 * b, shape))
    assert checks["bounds"].passed
    assert not checks["ks"].passed and not checks["variance"].passed


def test_a_uniform_of_the_same_variance_fails_ks_only(spec):
    """U(±√2·b) has the triangular's variance 2b²/3: only the shape can tell them apart."""
    checks = _checks_on(spec, lambda rng, b, shape: rng.uniform(-math.sqrt(2) * b,
                                                                math.sqrt(2) * b, shape))
    assert checks["variance"].passed and checks["mean"].passed and checks["bounds"].passed
    assert not checks["ks"].passed


def test_a_sum_in_float16_matches_the_rounded_triangular(spec):
    """float16 rounds each term and the sum (2^-11 relative): the once-rounded reference holds at
    this n; bfloat16's 2^-8 shows at n = 2e7 (torch.yaml keeps sums to float32/float64)."""
    checks = _checks_on(spec, lambda rng, b, shape: (
        rng.uniform(-b, b, shape).astype(np.float16) + rng.uniform(-b, b, shape)
        .astype(np.float16)), dtype="float16")
    assert all(c.passed for c in checks.values()), [c.message for c in checks.values()]
    ref = reference(continuous("triangular", {"low": -2, "mode": 0, "high": 2}), "float16")
    assert ref.var() == pytest.approx(2 / 3, rel=1e-3)


def test_neutral_notation_of_a_sum_and_of_a_raising_entry(spec):
    summed = next(c for c in spec.cases if c.entry.name == "Cell.bias_a+bias_b")
    assert summed.neutral.family == "triangular"
    assert summed.neutral.form == "Sum of two VarianceScaling(1/3, hidden_size, uniform)"
    assert summed.neutral.variance == "2/(3·hidden_size)"
    strict = next(c for c in spec.cases if c.entry.name == "Strict.weight")
    assert strict.neutral is None
