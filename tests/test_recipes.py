"""Porting recipes (initspec.recipes): generated from two fixture specs, run through the engine with
the numpy FakeAdapter, and failing when the call draws the wrong distribution."""

from __future__ import annotations

import ast
import dataclasses

import pytest
from conftest import DATA, FAKE_INIT, FakeAdapter

from initspec import engine, recipes, results

A, B = DATA / "recipe_a.yaml", DATA / "recipe_b.yaml"


@pytest.fixture(scope="module")
def generated(schemes):
    coverage = recipes.Coverage()
    return recipes.generate(B, [A, B], schemes, coverage), coverage


def _by_source(generated, entry: str):
    return [(c, r) for c, r in generated[0] if r.source_entry == entry]


def _evaluate(pairs, sources=None):
    adapter = FakeAdapter()
    spec = engine.FrameworkSpec("fake-b", ("float32",), (), str(B))
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
