"""Documented promises: tested on the cell's samples, counted in the budget, never the verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from initspec import engine, promises, results
from initspec.loader import SpecError, load_framework

DATA = Path(__file__).parent / "data"
RECORD_KEYS = {"id", "kind", "by", "says", "url", "distribution", "verdict", "p_value",
               "failed_checks"}


@pytest.fixture(scope="module")
def spec(schemes):
    return load_framework(DATA / "promises.yaml", schemes)


def run(spec, adapter, entry: str, dtype: str = "float32"):
    plan = engine.build_plan(spec, adapter, dtypes=[dtype], match=f"/{dtype}/{entry}")
    (cell,) = plan.cells
    return engine.evaluate(plan, cell, adapter)


def by_id(result) -> dict[str, promises.PromiseResult]:
    return {p.promised.promise.id: p for p in result.promises}


def test_loader_evaluates_promises_per_case(spec):
    case = next(c for c in spec.cases if c.entry.name == "Dense.weight")
    promised = {p.promise.id: p for p in case.promises}
    assert promised["dense-docs"].params["high"] == pytest.approx(40 ** -0.5)
    assert promised["he-2015"].variance == pytest.approx(2 / 40)
    assert promised["wrong-fan"].bounds == pytest.approx((-300 ** -0.5, 300 ** -0.5))
    assert case.entry.history.startswith("Lua torch")
    # documented defaults stand for arguments the case does not pass, never for the case's own
    assert promised["documented-default"].params["high"] == pytest.approx(2 / 40 ** 0.5)


def test_promise_the_samples_satisfy_holds(spec, fake_adapter):
    result = run(spec, fake_adapter, "Dense.weight")
    held = by_id(result)["dense-docs"]
    assert held.verdict == "holds" and held.failed == []
    assert held.p_value is not None and held.p_value > 1e-3


def test_wrong_promises_are_drift_with_the_checks_that_reject_them(spec, fake_adapter):
    """He's 2/fan_in on a U(±1/sqrt(fan_in)) sample: drift, named by the checks that fail."""
    result = run(spec, fake_adapter, "Dense.weight")
    assert result.verdict == "pass"  # the cell's own verdict ignores its promises
    got = by_id(result)
    he, fans = got["he-2015"], got["wrong-fan"]
    assert he.verdict == "drift" and {"ks", "variance"} <= set(he.failed)
    assert he.p_value < engine.build_plan(spec, fake_adapter, dtypes=["float32"]).alpha
    # a promise with the wrong fan (300, not 40) is too narrow: samples land outside its bounds
    assert fans.verdict == "drift" and {"bounds", "variance"} <= set(fans.failed)
    assert "dense-docs" not in {k for k, p in got.items() if p.verdict != "holds"}
    wrong_default = got["documented-default"]  # gain 2: four times the variance
    assert wrong_default.verdict == "drift" and "variance" in wrong_default.failed


def test_promise_rejected_where_the_spec_is_too_names_the_deviation(spec, fake_adapter):
    """Under a known deviation a promise equal to the spec is rejected by the same checks: the
    samples conform to neither, so it is no docs drift; the deviation is named instead."""
    result = run(spec, fake_adapter, "Deviant.weight")
    assert result.verdict == "known-deviation"
    got = by_id(result)
    own = {c.name for c in result.failures()}
    assert got["as-spec"].verdict == "untested" and set(got["as-spec"].failed) == own
    assert "measured spec is too" in got["as-spec"].note
    assert got["as-spec"].explained_by == "missing-gain"
    assert got["lecun"].verdict == "holds"  # what the sampler really draws
    assert results.record(result)["promises"][0]["explained_by"] == "missing-gain"
    # a promise rejected by a check the spec passes is drift even under the deviation
    uniform = got["uniform"]
    assert uniform.verdict == "drift" and "bounds" in uniform.failed and "bounds" not in own
    assert uniform.explained_by is None


def test_a_drift_of_its_own_names_no_deviation(spec, fake_adapter):
    he = by_id(run(spec, fake_adapter, "Dense.weight"))["he-2015"]
    assert he.verdict == "drift" and he.explained_by is None


def test_the_budget_counts_promise_checks(spec, fake_adapter):
    plan = engine.build_plan(spec, fake_adapter, budget=1e-3)  # every cell: the full plan's alpha
    dense = next(c for c in plan.cells
                 if c.case.entry.name == "Dense.weight" and c.dtype == "float32")
    # a promise re-tests the values' law, not how the values relate (independence)
    own = [n for n in dense.stochastic_checks if not n.startswith(promises.PREFIX + ":")
           and not n.startswith("independence:")]
    promised = [n for n in dense.stochastic_checks if n.startswith(promises.PREFIX + ":")]
    # each of the 4 uniform promises runs the same stochastic checks as the uniform spec
    assert len(promised) == 4 * len(own)
    assert "promise:he-2015:variance" in promised
    # the budget is split over the FULL plan (every dtype), whatever the selection
    full = engine.build_plan(spec, fake_adapter, budget=1e-3)
    total = sum(len(c.stochastic_checks) for c in full.cells)
    assert plan.alpha == pytest.approx(1e-3 / total)
    # the planned promise checks are exactly the p-valued checks the promises run
    result = engine.evaluate(plan, dense, fake_adapter)
    ran = [f"promise:{p.promised.promise.id}:{c.name}" for p in result.promises
           for c in p.checks if c.p_value is not None]
    assert ran == promised


def test_record_has_the_contract_fields(spec, fake_adapter):
    rec = results.record(run(spec, fake_adapter, "Dense.weight"))
    assert [p["id"] for p in rec["promises"]] == ["dense-docs", "he-2015", "wrong-fan",
                                                  "documented-default"]
    assert all(set(p) >= RECORD_KEYS for p in rec["promises"])
    he = rec["promises"][1]
    assert he["kind"] == "provenance" and he["verdict"] == "drift"
    assert "variance" in he["failed_checks"] and he["url"].startswith("https://arxiv.org")


def test_a_cell_that_drew_nothing_leaves_its_promises_untested(spec, fake_adapter):
    result = run(spec, fake_adapter, "Broken.weight")
    assert result.status == "error"
    (rec,) = results.record(result)["promises"]
    assert rec["verdict"] == "untested" and rec["p_value"] is None
    assert "kernel exploded" in rec["note"]


def test_entries_without_promises_record_none(fake_spec, fake_adapter):
    plan = engine.build_plan(fake_spec, fake_adapter, dtypes=["float32"], match="Dense.weight")
    rec = results.record(engine.evaluate(plan, plan.cells[0], fake_adapter))
    assert "promises" not in rec


# --------------------------------------------------------------------------- loader errors

BAD = """\
framework: fake
dtypes: [float32]
entries:
  - name: Dense.weight
    target: fake.Dense
    param: weight
    cases:
      - {in_features: 30, out_features: 4}
    shape: [out_features, in_features]
    fans: {fan_in: in_features}
    scheme: uniform
    with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}
    docs:
      claim: "U(-sqrt(k), sqrt(k))"
      url: https://example.invalid/dense
      promises:
        - id: p
          kind: formula
          by: Dense docs
          says: "U(-sqrt(k), sqrt(k))"
          url: https://example.invalid/dense
          scheme: uniform
          with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}
    source: "fake.py: Dense.reset"
"""
GOOD_WITH = "with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}\n    source"


@pytest.mark.parametrize("old,new,line,field,message", [
    ("scheme: uniform\n          with", "scheme: he_uniformm\n          with", 22,
     "entries.0.docs.promises.0.scheme", "unknown scheme 'he_uniformm'"),
    ("high: 1 / sqrt(fan_in)}\n    source", "high: 1 / sqrt(fan_inn)}\n    source", 23,
     "entries.0.docs.promises.0.with.high", "fan_inn"),
    ("with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}\n    source",
     "with: {low: -1 / sqrt(fan_in)}\n    source", 23,
     "entries.0.docs.promises.0.with", "takes exactly ['low', 'high']"),
    ("kind: formula", "kind: rumour", 18, "entries.0.docs.promises.0.kind", "rumour"),
    ("          by: Dense docs\n", "", 17, "entries.0.docs.promises.0", "'by' is a required"),
    ("high: 1 / sqrt(fan_in)}\n    source",
     "high: 1 / sqrt(fan_in)}\n          variance: 1 / fan_in\n    source", 24,
     "entries.0.docs.promises.0.variance", "states variance"),
    ("high: 1 / sqrt(fan_in)}\n    source", "high: 1 / sqrt(fan_in)}\n"
     "        - {id: p, kind: formula, by: b, says: s, url: u, scheme: uniform,\n"
     "           with: {low: 0, high: 1}}\n    source", 24,
     "entries.0.docs.promises.1.id", "duplicate promise id 'p'"),
    ("    source:", "    history: 3\n    source:", 24, "entries.0.history", "not of type 'string'"),
])
def test_bad_promise_names_file_line_field(tmp_path, schemes, old, new, line, field, message):
    assert old in BAD
    path = tmp_path / "bad.yaml"
    path.write_text(BAD.replace(old, new, 1))
    with pytest.raises(SpecError) as err:
        load_framework(path, schemes)
    text = str(err.value)
    assert re.match(rf"{re.escape(str(path))}:{line}: {re.escape(field)}: ", text), text
    assert message in text and "\n" not in text


def test_bad_base_loads(tmp_path, schemes):
    path = tmp_path / "good.yaml"
    path.write_text(BAD)
    (case,) = load_framework(path, schemes).cases
    assert [p.promise.id for p in case.promises] == ["p"]


def test_samples_of_the_wrong_shape_leave_promises_untested(spec):
    """A shape or dtype failure says nothing about the promise: untested, not drift."""
    import numpy as np

    case = next(c for c in spec.cases if c.entry.name == "Dense.weight")
    x = np.zeros((2, 3, 3), dtype=np.float32)
    own = {c.name for c in engine.run_checks(case, x, "float32", 1e-6) if not c.passed}
    assert own == {"shape"}
    got = promises.check_all(case, x, "float32", 1e-6, engine.run_checks, own)
    assert [p.verdict for p in got] == ["untested"] * 4
    assert all(p.failed == ["shape"] for p in got)


def duplicate_keys(text: str) -> list[str]:
    """Keys stated twice in one mapping (SafeLoader silently keeps the last), as key@line."""
    found: list[str] = []

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [k.value for k, _ in node.value if k.value != "<<"]
        found.extend(f"{k}@{node.start_mark.line + 1}" for k in sorted(set(keys))
                     if keys.count(k) > 1)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load(text, Loader)
    return found


def test_duplicate_keys_are_found():
    assert duplicate_keys("docs:\n  promises: []\n  url: u\n  promises: []\n") == ["promises@2"]


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "spec"
                                         / "frameworks").glob("*.yaml")), ids=lambda p: p.stem)
def test_no_docs_block_states_promises_twice(path):
    """A second `promises:` key would silently drop the first list of promises."""
    twice = duplicate_keys(path.read_text())
    assert not [k for k in twice if k.startswith(("promises@", "history@"))]
