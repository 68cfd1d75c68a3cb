"""Porting recipes (initspec.recipes): generated from two fixture specs, run through the engine with
the numpy FakeAdapter, and failing when the call draws the wrong distribution."""

from __future__ import annotations

import ast
import dataclasses
import math

import pytest
from conftest import DATA, FAKE_INIT, FakeAdapter

from initspec import engine, recipes, results
from initspec.report import markdown

A, B, C = DATA / "recipe_a.yaml", DATA / "recipe_b.yaml", DATA / "recipe_c.yaml"


@pytest.fixture(scope="module")
def generated(schemes):
    coverage = recipes.Coverage()
    return recipes.generate(B, [A, B], schemes, coverage), coverage


def _by_source(generated, entry: str):
    return [(c, r) for c, r in generated[0] if r.source_entry == entry]


def _evaluate(pairs, sources=None, target=B):
    adapter = FakeAdapter()
    spec = engine.FrameworkSpec(f"fake-{target.stem[-1]}", ("float32",), (), str(target))
    plan = engine.build_plan(spec, adapter, recipes=pairs,
                             two_sample=frozenset(sources or ()))
    return plan, [engine.evaluate(plan, cell, adapter, sources) for cell in plan.cells]


def test_recipes_are_generated_from_the_neutral_forms(generated):
    kernel = _by_source(generated, "Dense.weight")
    assert len(kernel) == 2  # one per source case
    case, recipe = kernel[0]
    # A's shapes in B's layout: A's (out=20, in=300) weight is B's (n_in=300, n_out=20) kernel
    assert case.shape == (300, 20) and case.kwargs["n_in"] == 300
    assert case.family == "uniform" and case.params["high"] == pytest.approx(300 ** -0.5)
    assert recipe.init == {"call": "variance_scaling", "args": [1 / 3, "fan_in", "uniform"],
                           "kwargs": {}}
    assert recipe.call == 'fake.Layer(..., kernel_init=fake.init.variance_scaling(1/3, "fan_in", ' \
        '"uniform"))'
    assert recipe.expressible and recipe.needs == "one initializer per layer"
    assert case.entry.dtypes == frozenset({"float32"}) and "recipe" in case.name


def test_list_dims_are_written_to_every_key(generated):
    ((case, _),) = _by_source(generated, "Shifted.weight")
    assert case.kwargs["width"] == 16 and case.kwargs["sizes"] == [3, 16]
    assert case.shape == (50, 16)


def test_an_entry_without_dims_is_reported_not_ported(generated):
    _, coverage = generated
    assert ("attention.query_kernel", "fake-a", "fake-b",
            "B has no entry of this concept") in coverage.missing
    assert ("dense.kernel", "fake-a", "fake-b") in coverage.made
    assert not _by_source(generated, "Unported.weight")


def test_recipe_cells_pass_and_are_recorded(generated):
    pairs = _by_source(generated, "Dense.weight") + _by_source(generated, "Dense.bias")
    plan, out = _evaluate(pairs)
    assert [r.verdict for r in out] == ["pass"] * 3
    record = results.record(out[0])
    assert record["recipe"]["from"] == {"column": "fake-a", "entry": "Dense.weight",
                                        "case": "in_features=300,out_features=20"}
    assert record["recipe"]["expressible"] is True and record["recipe"]["gap"] is None
    assert all(c.stochastic_checks for c in plan.cells[:2])  # they take part of the budget


def test_a_recipe_drawing_the_wrong_distribution_fails(generated):
    case, recipe = _by_source(generated, "Dense.weight")[0]
    wrong = dataclasses.replace(recipe, init={**recipe.init, "args": [2 / 3, "fan_in", "uniform"]})
    _, (result,) = _evaluate([(case, wrong)])
    assert result.verdict == "fail"
    assert {"variance", "bounds"} <= {c.name for c in result.failures()}


def test_the_rendered_call_is_what_the_adapter_ran(generated):
    FakeAdapter.requests.clear()
    pairs = _by_source(generated, "Dense.weight")
    _evaluate(pairs)
    # one request per cell (fake.Layer sees it once per instance drawn)
    ran = list({r.seed: r.init_args["kernel_init"] for r in FakeAdapter.requests}.values())
    for (_, recipe), asked in zip(pairs, ran, strict=True):
        call = ast.parse(recipe.call, mode="eval").body.keywords[0].value
        assert ast.unparse(call.func) == "fake.init." + asked["call"]
        shown = [eval(compile(ast.Expression(a), "<call>", "eval"), {"__builtins__": {}})
                 for a in call.args]
        assert shown == asked["args"]  # exactly the numbers that ran, not a rounded display
        assert getattr(FAKE_INIT, asked["call"])


def test_a_non_expressible_pair_carries_its_gap_and_its_error(generated):
    ((case, recipe),) = _by_source(generated, "Shifted.weight")
    assert not recipe.expressible
    assert "fake.init.normal has no mean" in recipe.gap and "mean = 1/2" in recipe.gap
    assert recipe.init["call"] == "normal"  # the nearest call still runs
    _, (result,) = _evaluate([(case, recipe)])
    assert result.verdict == "known-deviation"  # its checks show the missing mean
    assert "mean" in {c.name for c in result.failures()}
    assert results.record(result)["recipe"]["gap"] == recipe.gap


def test_two_sample_against_the_source_framework(generated):
    pairs = _by_source(generated, "Dense.weight")[:1]
    plan, (result,) = _evaluate(pairs, {"fake-a": FakeAdapter()})
    assert engine.TWO_SAMPLE in plan.cells[0].stochastic_checks
    assert result.verdict == "pass" and result.two_sample["passed"]
    assert result.two_sample["alpha"] == plan.alpha
    # the same test rejects a source that draws something else (fake.Shifted: N(0.5, 1))
    case, recipe = pairs[0]
    other = dataclasses.replace(recipe.source, entry=dataclasses.replace(
        recipe.source.entry, target="fake.Shifted"))
    _, (bad,) = _evaluate([(case, dataclasses.replace(recipe, source=other))],
                          {"fake-a": FakeAdapter()})
    assert bad.two_sample["passed"] is False and bad.verdict == "fail"


def test_readable_numbers_keep_what_they_draw():
    assert recipes.readable(0.33333333333333326) == 1 / 3
    assert recipes.literal(1 / 768) == "1/768"
    assert recipes.literal(0.7737413035499232) == "0.7737413035499232"
    assert recipes.literal([1]) == "(1,)" and recipes.literal("fan_in") == '"fan_in"'


def test_mapped_values_refuse_a_grouped_conv_into_a_layer_without_groups():
    a_dims = {"in": "c_in", "groups": "groups"}
    assert recipes.mapped_values(a_dims, {"c_in": 8, "groups": 4}, {"in": "n"}, {"n": 1}) is None
    assert recipes.mapped_values(a_dims, {"c_in": 8, "groups": 1}, {"in": "n"}, {"n": 1}) == \
        {"n": 8}


def test_a_writes_form_carries_its_known_deviations_to_the_columns_they_name(generated):
    ((case, recipe),) = _by_source(generated, "Dense.bias")
    assert [d.id for d in case.entry.known_deviations] == ["fake-constant-off-by-one"]
    plan, (result,) = _evaluate([(case, recipe)])
    assert plan.cells[0].deviation is None and result.verdict == "pass"  # not this column
    other = type("Other", (FakeAdapter,), {"name": "other-column"})()
    plan = engine.build_plan(engine.FrameworkSpec("fake-b", ("float32",), (), str(B)), other,
                             recipes=[(case, recipe)])
    assert plan.cells[0].deviation.id == "fake-constant-off-by-one"


def test_the_two_sample_draw_tells_the_source_adapter_its_shape_symbols(generated):
    """A source case key that only names a shape symbol (Haiku's in_features: hk.Linear takes no
    such argument) must reach the source's adapter as a symbol, not as an argument to pass on."""
    case, recipe = _by_source(generated, "Dense.weight")[0]
    source = recipe.source
    widened = dataclasses.replace(source, kwargs={**source.kwargs, "width": 7},
                                  symbols=frozenset({*source.symbols, "width"}))
    _, (result,) = _evaluate([(case, dataclasses.replace(recipe, source=widened))],
                             {"fake-a": FakeAdapter()})
    assert result.status != "error", result.message
    assert result.two_sample["passed"]


def test_a_namespace_without_layers_gets_the_initializer_called_on_its_targets_shape(schemes):
    """"call" style (jax.nn.initializers): the writes table's `targets` state the array a user's
    own layer holds; the recipe is the initializer on that shape, built by the adapter."""
    coverage = recipes.Coverage()
    pairs = recipes.generate(C, [A], schemes, coverage)
    kernel = [(c, r) for c, r in pairs if r.source_entry == "Dense.weight"]
    case, recipe = kernel[0]
    assert case.shape == (300, 20) and recipe.style == "call"  # A's (out, in) as C's (in, out)
    assert recipe.init_args == {"initializer": {"call": "variance_scaling",
                                                "args": [1 / 3, "fan_in", "uniform"],
                                                "kwargs": {}}}
    assert recipe.call == 'fake.init.variance_scaling(1/3, "fan_in", "uniform")(rng, (n_in, n_out))'
    ((bias_case, bias),) = [(c, r) for c, r in pairs if r.source_entry == "Dense.bias"]
    assert bias.call == "fake.init.constant(0)(rng, (n_out,))" and bias_case.shape == (20,)
    assert ("embedding", "fake-a", "fake-c", "B has no entry of this concept") in coverage.missing
    FakeAdapter.requests.clear()
    _, out = _evaluate([*kernel, (bias_case, bias)], target=C)
    assert [r.verdict for r in out] == ["pass"] * 3
    assert FakeAdapter.requests and all(r.target == "fake.init" for r in FakeAdapter.requests)
    wrong = dataclasses.replace(recipe, init={**recipe.init, "args": [1, "fan_in", "uniform"]})
    _, (result,) = _evaluate([(case, wrong)], target=C)
    assert result.verdict == "fail" and "variance" in {c.name for c in result.failures()}


def test_one_cell_answers_for_every_source_with_the_same_default_on_the_same_shapes(
        schemes, tmp_path):
    twin = tmp_path / "recipe_a2.yaml"
    twin.write_text(A.read_text().replace("framework: fake-a", "framework: fake-a2"))
    pairs = recipes.generate(B, [A, twin], schemes)
    kernels = [r for _, r in pairs if r.source_entry == "Dense.weight"]
    assert len(kernels) == 2  # the twin's two cases are the same calls on the same shapes
    twin_source = [{"column": "fake-a2", "entry": "Dense.weight"}]
    assert [[{k: f[k] for k in ("column", "entry")} for f in r.also_from] for r in kernels] == \
        [twin_source, twin_source]
    _, out = _evaluate([p for p in pairs if p[1].source_entry == "Dense.weight"][:1])
    record = results.record(out[0])
    compat = {"runs": [{"framework": "fake-b", "device": "cpu", "dtype": "float32"}],
              "cells": [{"run": 0, "column": "fake-b", "recipe": record["recipe"]}]}
    found = markdown.recipes(compat)
    assert set(found) == {("fake-a", "dense.kernel", "fake-b"),
                          ("fake-a2", "dense.kernel", "fake-b")}


def test_a_layer_without_initializer_argument_has_its_default_as_the_nearest_call(generated):
    """hk.LSTM takes no initializer: B's default on A's shapes is the recipe when it draws A's
    distribution, else the nearest call, whose gap says why and whose cell shows the error."""
    ((same_case, same),) = _by_source(generated, "Norm.offset")
    assert same.expressible and same.init_args == {} and same.call == "fake.Layer(...)"
    assert "its default already draws this" in same.needs
    ((gap_case, gap),) = _by_source(generated, "Norm.gain")
    assert not gap.expressible and gap.init_args == {}
    assert "fake.Layer builds this inside" in gap.gap
    assert "nearest: its default, Constant(0)" in gap.gap and "U(±1)" in gap.gap
    _, (ok, bad) = _evaluate([(same_case, same), (gap_case, gap)])
    assert ok.verdict == "pass"
    assert bad.verdict == "known-deviation" and {"variance", "ks"} <= {
        c.name for c in bad.failures()}


def test_recipe_kwargs_give_the_initializer_the_whole_of_a_sliced_parameter(generated):
    """Keras's LSTM forget block: unit_forget_bias=False makes bias_initializer write all of it,
    so the recipe checks the whole bias (no slice, no `part` condition)."""
    ((case, recipe),) = _by_source(generated, "Cell.b")
    assert case.select is None and not [c for c in case.entry.conditions if c.kind == "part"]
    assert case.shape == (2000,) and "gate=False" in recipe.call
    assert case.entry.name.endswith("/Gated.bias")  # not "Gated.bias[gate block]"
    _, (result,) = _evaluate([(case, recipe)])
    assert result.verdict == "pass"


def test_a_recipe_is_checked_on_the_affordable_cases_of_its_source(schemes):
    """MLX's RNN bias has cases at hidden 4096 and 100: into Keras the 4096 one would build
    SimpleRNN(4096) (a 4096-wide orthogonal recurrent kernel per instance), so only the 100 one
    is a cell; into jax.nn.initializers (no layer: the bias alone) both are."""
    from initspec import loader
    specs = loader.SPEC_DIR / "frameworks"
    keras = [c for c, r in recipes.generate(specs / "keras.yaml", [specs / "mlx.yaml"], schemes)
             if r.source_entry == "nn.LSTM.bias"]
    assert [c.kwargs["units"] for c in keras] == [100]
    keras_raw = loader._Located(specs / "keras.yaml").data
    entry = recipes.target_entries(keras_raw)["lstm.bias"][1]
    # the layer: kernel (in, 4u) + recurrent kernel (u, 4u) + bias (4u)
    assert recipes.layer_values(keras_raw, entry, keras[0]) == 64 * 400 + 100 * 400 + 400
    jax = [c for c, r in recipes.generate(specs / "jax.yaml", [specs / "mlx.yaml"], schemes)
           if r.source_entry == "nn.LSTM.bias"]
    assert sorted(c.shape for c in jax) == [(400,), (16384,)]


def test_when_every_case_is_too_big_the_smallest_is_kept(generated, monkeypatch):
    kernel = _by_source(generated, "Dense.weight")
    assert len(kernel) == 2
    monkeypatch.setattr(recipes, "LAYER_VALUES_LIMIT", 0)
    kept = recipes.affordable({"entries": []}, {}, kernel)
    sizes = [c.shape for c, _ in kernel]
    assert [c.shape for c, _ in kept] == [min(sizes, key=math.prod)]
