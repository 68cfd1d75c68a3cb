"""Spec features the Keras and JAX-family columns need: orthogonality along an axis and per block,
delta-orthogonal kernels, reproducibility (repeat) entries, input shapes, per-column entries and
deviations, and several columns in one run. Each check is shown to fail on the wrong input."""

from __future__ import annotations

import numpy as np
import pytest

from initspec import checks, engine, plugin
from initspec.loader import SpecError, load_framework

RNG = np.random.default_rng(20261129)


def semi_orthogonal(rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
    q, r = np.linalg.qr(RNG.normal(size=(max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return gain * (q.T if rows < cols else q)


# ------------------------------------------------------------------ orthogonal(axis, blocks)


def test_orthogonal_along_the_last_axis_of_a_kernel():
    """Keras/jax view a (kh, kw, in, out) kernel as (kh·kw·in, out); torch as (shape[0], rest)."""
    kh, kw, cin, cout = 3, 3, 4, 20
    kernel = semi_orthogonal(kh * kw * cin, cout).reshape(kh, kw, cin, cout)[None]
    assert checks.check_orthogonal(kernel, 1.0, "float64", axis=-1).passed
    assert checks.check_orthogonal(kernel, 1.0, "float64", axis=3).passed
    result = checks.check_orthogonal(kernel, 1.0, "float64", axis=0)
    assert not result.passed and "axis 0" in result.message


def test_per_gate_blocks_and_fused_matrices_are_told_apart():
    units = 16
    per_gate = np.concatenate([semi_orthogonal(units, units) for _ in range(4)], axis=1)[None]
    fused = semi_orthogonal(units, 4 * units)[None]
    assert checks.check_orthogonal(per_gate, 1.0, "float64", axis=-1, blocks=4).passed
    assert not checks.check_orthogonal(per_gate, 1.0, "float64", axis=-1, blocks=1).passed
    assert checks.check_orthogonal(fused, 1.0, "float64", axis=-1, blocks=1).passed
    assert not checks.check_orthogonal(fused, 1.0, "float64", axis=-1, blocks=4).passed


def test_orthogonal_blocks_must_divide_the_axis():
    x = semi_orthogonal(6, 10)[None]
    result = checks.check_orthogonal(x, 1.0, "float64", axis=-1, blocks=3)
    assert not result.passed and "does not split into 3 equal blocks" in result.message


# --------------------------------------------------------------------------- delta_orthogonal


def delta_orthogonal(spatial: tuple[int, ...], cin: int, cout: int, gain: float) -> np.ndarray:
    x = np.zeros((*spatial, cin, cout))
    x[tuple(k // 2 for k in spatial)] = semi_orthogonal(cin, cout, gain)
    return x


@pytest.mark.parametrize("spatial", [(3,), (3, 5), (3, 3, 3)])
def test_delta_orthogonal_passes(spatial):
    x = np.stack([delta_orthogonal(spatial, 8, 12, 1.5) for _ in range(3)])
    assert checks.check_delta_orthogonal(x, 1.5, "float64").passed
    assert checks.check_delta_orthogonal(x.astype(np.float32), 1.5, "float32").passed


def test_delta_orthogonal_fails_off_centre_values():
    x = delta_orthogonal((3, 3), 8, 12, 1.0)[None]
    x[0, 0, 0, 1, 1] = 1e-3
    result = checks.check_delta_orthogonal(x, 1.0, "float64")
    assert not result.passed and "off the centre tap" in result.message


def test_delta_orthogonal_fails_wrong_gain_and_random_centre():
    x = delta_orthogonal((3, 3), 8, 12, 1.0)[None]
    assert not checks.check_delta_orthogonal(x, 2.0, "float64").passed
    x[0, 1, 1] = RNG.normal(size=(8, 12)) / np.sqrt(12)
    assert not checks.check_delta_orthogonal(x, 1.0, "float64").passed


def test_delta_orthogonal_fails_an_orthogonal_matrix_off_centre():
    x = np.zeros((1, 3, 3, 8, 12))
    x[0, 0, 0] = semi_orthogonal(8, 12)  # right matrix, wrong tap
    assert not checks.check_delta_orthogonal(x, 1.0, "float64").passed


# --------------------------------------------------------------------------- repeat


def test_repeat_identical():
    one = RNG.normal(size=(5, 7)).astype(np.float32)
    assert checks.check_repeat(np.stack([one] * 3), "identical").passed
    other = one.copy()
    other[2, 3] = np.nextafter(other[2, 3], np.float32(np.inf))  # one ulp is enough
    result = checks.check_repeat(np.stack([one, one, other]), "identical")
    assert not result.passed and result.stats["identical_pairs"] == 1


def test_repeat_distinct():
    draws = RNG.normal(size=(3, 5, 7))
    assert checks.check_repeat(draws, "distinct").passed
    draws[2] = draws[0]
    result = checks.check_repeat(draws, "distinct")
    assert not result.passed and "1/3 pairs" in result.message


def test_repeat_compares_bits_so_nan_instances_are_identical():
    x = np.full((3, 4), np.nan, dtype=np.float16)
    assert checks.check_repeat(x, "identical").passed


# --------------------------------------------------------------------------- loader and plan

SPEC = """\
framework: multi
dtypes: [float32, float64]
entries:
  - name: Dense.kernel
    target: Dense
    param: kernel
    concept: dense.kernel
    cases: [{units: 30, in_dim: 20}]
    input: [2, in_dim]
    shape: [in_dim, units]
    fans: {fan_in: in_dim, fan_out: units}
    scheme: glorot_uniform
    with: {fan_in: fan_in, fan_out: fan_out}
    known_deviations:
      - {id: odd-backend, reason: draws differently, link: "https://example.invalid/1",
         columns: [fake-b]}
    docs: {claim: glorot, url: "https://example.invalid"}
    source: "x.py"
  - name: Normal(seed=7) twice
    target: Normal
    kwargs: {seed: 7}
    cases: [{rows: 40, cols: 50}]
    shape: [rows, cols]
    scheme: normal
    with: {mean: 0, std: 1}
    repeat: {reuse: true, expect: identical}
    docs: {claim: same values, url: "https://example.invalid"}
    source: "x.py"
  - name: Delta
    target: Delta
    cases: [{k: 3, cin: 4, cout: 6}]
    shape: [k, k, cin, cout]
    scheme: delta_orthogonal
    with: {gain: 1}
    columns: [fake-a]
    docs: {claim: delta, url: "https://example.invalid"}
    source: "x.py"
"""


class ColumnAdapter:
    """A minimal adapter for the multi-column spec: fake-a draws right, fake-b too except that
    nothing here differs (the deviation then does not reproduce)."""

    spec = "multi"

    def __init__(self, name: str):
        self.name = name
        self.requests = []

    def version(self) -> str:
        return "1.0"

    def devices(self) -> list[str]:
        return ["cpu"]

    def environment(self) -> dict[str, str]:
        return {"multi": "1.0", "backend": self.name}

    def reproducer(self, request) -> str:
        return ""

    def sample(self, request):
        self.requests.append(request)
        rng = np.random.default_rng(request.seed)
        dtype = np.dtype(request.dtype)
        if request.target == "Normal":  # seeded: the same draw every time
            one = np.random.default_rng(request.kwargs["seed"]).normal(size=request.shape)
            return np.stack([one] * request.count).astype(dtype)
        if request.target == "Delta":
            k, _, cin, cout = request.shape
            return np.stack([delta_orthogonal((k, k), cin, cout, 1.0)
                             for _ in range(request.count)]).astype(dtype)
        fan_in, fan_out = request.shape
        bound = np.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, (request.count, *request.shape)).astype(dtype)


@pytest.fixture
def multi_spec(tmp_path):
    path = tmp_path / "multi.yaml"
    path.write_text(SPEC)
    return load_framework(path)


def test_input_shape_repeat_columns_and_concept_are_loaded(multi_spec):
    dense, repeat, delta = multi_spec.cases
    assert dense.input_shape == (2, 20) and dense.entry.concept == "dense.kernel"
    assert dense.entry.known_deviations[0].columns == frozenset({"fake-b"})
    assert repeat.entry.repeat.reuse and repeat.entry.repeat.expect == "identical"
    assert repeat.input_shape is None
    assert delta.entry.columns == frozenset({"fake-a"}) and delta.family == "delta_orthogonal"


def test_plan_honours_columns_and_repeat(multi_spec):
    plan_a = engine.build_plan(multi_spec, ColumnAdapter("fake-a"))
    plan_b = engine.build_plan(multi_spec, ColumnAdapter("fake-b"))
    by_name = {(c.case.entry.name, c.dtype): c for c in plan_b.cells}
    assert by_name[("Delta", "float32")].skip_reason == "spec entry applies to fake-a only"
    assert by_name[("Dense.kernel", "float32")].deviation.id == "odd-backend"
    assert all(c.deviation is None for c in plan_a.cells)
    repeat = next(c for c in plan_a.cells if c.case.entry.repeat)
    assert repeat.stochastic_checks == () and plan_a.count(repeat) == engine.REPEAT_INSTANCES
    request = engine.request_for(plan_a, repeat)
    assert request.reuse and request.input_shape is None
    dense = next(c for c in plan_a.cells if c.case.entry.name == "Dense.kernel")
    assert engine.request_for(plan_a, dense).input_shape == (2, 20)
    assert not engine.request_for(plan_a, dense).reuse


def test_cells_of_the_new_kinds_evaluate(multi_spec):
    adapter = ColumnAdapter("fake-a")
    plan = engine.build_plan(multi_spec, adapter)
    verdicts = {(c.case.entry.name, c.dtype): engine.evaluate(plan, c, adapter) for c in plan.cells}
    for (name, _), result in verdicts.items():
        assert result.verdict == "pass", (name, result.message)
    repeat = verdicts[("Normal(seed=7) twice", "float32")]
    assert [c.name for c in repeat.checks] == ["shape", "dtype", "repeat-identical"]


def test_a_repeat_entry_fails_when_draws_differ(multi_spec):
    adapter = ColumnAdapter("fake-a")
    plan = engine.build_plan(multi_spec, adapter)
    cell = next(c for c in plan.cells if c.case.entry.repeat)
    adapter.sample = lambda request: np.random.default_rng(1).normal(
        size=(request.count, *request.shape)).astype(np.dtype(request.dtype))
    result = engine.evaluate(plan, cell, adapter)
    assert result.verdict == "fail" and "repeat-identical" in result.message


@pytest.mark.parametrize(("field", "value", "message"), [
    ("repeat", "{reuse: true, expect: same}", "is not one of"),
    ("input", "[2, nope]", "unknown symbol nope"),
    ("input", "[2, in_dim / 3]", "not a size"),
    ("columns", "[]", "should be non-empty"),
    ("concept", "Dense Kernel", "does not match"),
])
def test_bad_new_fields_are_one_line_errors(tmp_path, field, value, message):
    text = SPEC.replace("    concept: dense.kernel\n", "").replace(
        "    input: [2, in_dim]\n", "")
    lines = text.splitlines(keepends=True)
    at = lines.index("    param: kernel\n") + 1
    lines.insert(at, f"    {field}: {value}\n")
    path = tmp_path / "bad.yaml"
    path.write_text("".join(lines))
    with pytest.raises(SpecError) as info:
        load_framework(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"{path}:")


# ----------------------------------------------------------------- several columns, one run


def test_several_columns_in_one_run_are_planned_separately(multi_spec, tmp_path, monkeypatch):
    """Each column keeps its own plan (and alpha), as if it ran alone; results per column."""
    adapters = {name: ColumnAdapter(name) for name in ("fake-a", "fake-b")}
    monkeypatch.setattr(plugin, "load_adapter", adapters.__getitem__)
    monkeypatch.setattr(plugin, "framework_spec_path", lambda spec: tmp_path / "multi.yaml")
    (tmp_path / "multi.yaml").write_text(SPEC)
    options = {"initspec_framework": ["fake-a", "fake-b"], "initspec_spec": None,
               "initspec_device": None, "initspec_dtype": None, "initspec_budget": 1e-3,
               "initspec_resolution": 0.05, "initspec_seed": 0, "initspec_match": None,
               "initspec_results": str(tmp_path / "results"), "initspec_recipes": False,
               "initspec_name_version": False, "initspec_cell_timeout": 0}
    config = type("Config", (), {"getoption": staticmethod(options.__getitem__)})()
    run = plugin.Run(config)
    alone = engine.build_plan(multi_spec, ColumnAdapter("fake-a"), resolution=0.05)
    assert run.plans["fake-a"].alpha == alone.alpha
    assert {c.column for c in run.cells} == {"fake-a", "fake-b"}
    for cell in run.cells:
        run.evaluate(cell)
    assert {r.cell.column for r in run.results} == {"fake-a", "fake-b"}
    assert len(adapters["fake-b"].requests) > 0  # each cell went to its own column's adapter
    for column in ("fake-a", "fake-b"):  # each column's own wall time, for its results files
        start, end = run.spans[column]
        assert 0 < start <= end
    assert all(r.cell.column == "fake-a" for r in run.results
               if r.cell.case.entry.name == "Delta" and r.status != "skip")


def test_one_spec_file_for_several_columns_is_refused(monkeypatch):
    options = {"initspec_framework": ["a", "b"], "initspec_spec": "x.yaml"}
    config = type("Config", (), {"getoption": staticmethod(options.__getitem__)})()
    with pytest.raises(SpecError, match="single --framework"):
        plugin.Run(config)



def test_columns_sharing_a_spec_share_a_section_and_the_overview(multi_spec, tmp_path):
    from initspec import report, results

    for name in ("fake-a", "fake-b"):
        adapter = ColumnAdapter(name)
        plan = engine.build_plan(multi_spec, adapter, dtypes=["float32"])
        evaluated = [engine.evaluate(plan, c, adapter) for c in plan.cells]
        results.write(evaluated, plan, tmp_path, sha="0" * 40,
                      environment=adapter.environment())
    table = report.render(tmp_path)
    assert table.count("### multi 1.0") == 1
    section = table.split("### multi 1.0")[1]
    for name in ("fake-a", "fake-b"):
        run = next(x for x in section.splitlines() if x.startswith(f"| {name} 1.0 cpu float32 |"))
        assert run.endswith(f"| multi 1.0, backend {name} |")
    overview = table.split("## Overview: the same layer across frameworks")[1].split("## ")[0]
    assert "| Concept | fake-a | fake-b | " in overview
    dense = next(x for x in overview.splitlines() if x.startswith("| `dense.kernel` |"))
    assert dense.count("[✅](site/index.html#cell=") == 2
    compat, _, _ = report.build(tmp_path)
    for name in ("fake-a", "fake-b"):  # each column's own cell, in the neutral notation
        cell = next(c for c in compat["cells"] if c["column"] == name
                    and c["concept"] == "dense.kernel")
        assert f"#cell={name}-1.0%2Fcpu%2Ffloat32%2F" in dense
        assert f"`{report.markdown.neutral_text(cell)}`" in dense
    # fake-b records a deviation that its draws do not show: counted per column as not reproduced
    assert "reproduced in 0 of 1 cells 🆗" in section


def test_repeat_rows_say_what_was_expected_and_seen(multi_spec, tmp_path):
    from initspec import report, results

    adapter = ColumnAdapter("fake-a")
    plan = engine.build_plan(multi_spec, adapter, dtypes=["float32"])
    results.write([engine.evaluate(plan, c, adapter) for c in plan.cells], plan, tmp_path,
                  sha="0" * 40)
    compat, _, _ = report.build(tmp_path)
    cell = next(c for c in compat["cells"] if c["entry"].startswith("Normal(seed=7) twice"))
    assert cell["verdict"] == "pass"
    assert report.markdown.neutral_text(cell) == ("reproducibility (one object called again): "
                                                  "draws identical")


# --------------------------------------------------------------------------- select a range

GATES = """\
framework: gates
dtypes: [float32]
entries:
  - name: LSTM.bias[forget]
    target: LSTM
    param: bias
    cases: [{units: 50}]
    shape: ["4 * units"]
    scheme: constant
    with: {value: 1}
    select: {axis: 0, start: units, stop: 2 * units}
    docs: {claim: unit_forget_bias, url: "https://example.invalid"}
    source: "x.py"
  - name: LSTM.bias[other gates]
    target: LSTM
    param: bias
    cases: [{units: 50}]
    shape: ["4 * units"]
    scheme: constant
    with: {value: 0}
    select: {axis: 0, start: units, stop: 2 * units, complement: true}
    docs: {claim: unit_forget_bias, url: "https://example.invalid"}
    source: "x.py"
"""


def test_select_a_range_and_its_complement(tmp_path):
    path = tmp_path / "gates.yaml"
    path.write_text(GATES)
    forget, others = load_framework(path).cases
    assert (forget.select.start, forget.select.stop) == (50, 100)
    assert engine.selected_size(forget) == 50 and engine.selected_size(others) == 150
    bias = np.zeros((2, 200), dtype=np.float32)
    bias[:, 50:100] = 1
    for case in (forget, others):
        assert all(c.passed for c in engine.run_checks(case, bias, "float32", 1e-6))
    shifted = np.roll(bias, 1, axis=1)  # the forget block one place off: both entries see it
    for case in (forget, others):
        assert not all(c.passed for c in engine.run_checks(case, shifted, "float32", 1e-6))


@pytest.mark.parametrize(("select", "message"), [
    ("{axis: 0, start: units, stop: units}", "outside shape"),
    ("{axis: 0, start: 0, stop: 5 * units}", "outside shape"),
    ("{axis: 0, index: 1, start: 0, stop: 2}", "is not valid under any of the given schemas"),
    ("{axis: 0, start: 0}", "is not valid under any of the given schemas"),
])
def test_bad_ranges_are_one_line_errors(tmp_path, select, message):
    path = tmp_path / "gates.yaml"
    path.write_text(GATES.replace("{axis: 0, start: units, stop: 2 * units}", select, 1))
    with pytest.raises(SpecError) as info:
        load_framework(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_overview_names_an_entry_that_checks_part_of_a_tensor(tmp_path):
    from initspec import report, results

    path = tmp_path / "gates.yaml"
    path.write_text(GATES.replace("    select: {axis: 0, start: units, stop: 2 * units}\n",
                                  "    concept: lstm.bias\n"
                                  "    select: {axis: 0, start: units, stop: 2 * units}\n", 1))
    spec = load_framework(path)

    class Gates(ColumnAdapter):
        spec = "gates"

        def sample(self, request):
            bias = np.zeros((request.count, *request.shape), dtype=np.float32)
            bias[:, 50:100] = 1
            return bias

    adapter = Gates("gates")
    plan = engine.build_plan(spec, adapter)
    results.write([engine.evaluate(plan, c, adapter) for c in plan.cells], plan, tmp_path,
                  sha="0" * 40)
    table = report.render(tmp_path)
    row = next(x for x in table.splitlines() if x.startswith("| `lstm.bias` |"))
    assert "[✅](site/index.html#cell=" in row
    compat, _, _ = report.build(tmp_path)
    cell = next(c for c in compat["cells"] if c["concept"] == "lstm.bias")
    assert row.endswith(f"`{report.markdown.neutral_text(cell)}` (`LSTM.bias[forget]` only) | ")
