"""``initspec explain`` / ``initspec list`` / the published copy, through the real command line.

Every command runs in a subprocess from an empty directory (no reports/, no spec/ in sight), so
what it prints comes from the installed package alone, and the tests venv has no ML framework.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import read_run, write_run

from initspec import published

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "explain.yaml"
FIXTURE_PUBLISHED = DATA / "explain-published.json"


def initspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The ``initspec`` console script of this interpreter (``-m initspec.cli`` without one)."""
    script = Path(sys.executable).with_name("initspec")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "initspec.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)


def ok(*args: str, cwd: Path) -> str:
    out = initspec(*args, cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return out.stdout


def refused(*args: str, cwd: Path) -> str:
    """Bad input: exit 2, nothing on stdout, one line on stderr; that line."""
    out = initspec(*args, cwd=cwd)
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


@pytest.fixture(scope="module")
def linear(tmp_path_factory) -> str:
    return ok("explain", "torch", "nn.Linear.weight", cwd=tmp_path_factory.mktemp("plain"))


def test_linear_answer_the_question_the_project_was_born_from(linear):
    # the draw, in the neutral notation and at the spec's first case (not given: said so)
    assert "VarianceScaling(1/3, fan_in, uniform): U(±1/√fan_in), variance 1/(3·fan_in)" in linear
    assert "in_features=1024, out_features=512 (not given: taken from the spec's first case)" \
        in linear
    assert f"U(±{1 / math.sqrt(1024):.4g}), Var {1 / (3 * 1024):.4g}" in linear
    # made by kaiming_uniform_(a=√5), whose gain is √(1/3)
    assert "init.kaiming_uniform_(self.weight, a=math.sqrt(5))" in linear
    assert "a = sqrt(5) = √5, gain = sqrt(2 / (1 + a**2)) = √(1/3)" in linear
    # neither reference: the ratios are computed from the promises' variances
    assert ("it matches neither He et al. 2015 (he-2015: 6× the variance) nor maintainers' reply "
            "(lecun-1998: 3× the variance)") in linear
    assert "variance 2/fan_in = 0.001953 here: 6× this draw's variance" in linear
    assert "variance 1/fan_in = 0.0009766 here: 3× this draw's variance" in linear
    # the Lua origin (the spec's history)
    assert "stdv = 1/math.sqrt(fan_in)" in linear and "Lua torch" in linear
    # Keras's and JAX's lecun_uniform draw three times torch's variance (computed, per entry)
    assert "keras initializers.LecunUniform: 3× this draw's variance" in linear
    assert "jax nn.initializers.lecun_uniform: 3× this draw's variance" in linear
    # the fan rule, the docs' claim, the published verdicts and the known deviation
    assert "torch: fan_in = in_features = 1024" in linear
    assert "neutral rule for dense (spec/concepts.yaml): fan_in = input features" in linear
    assert 'claims: "U(-sqrt(k), sqrt(k)), k = 1/in_features"' in linear
    assert "torch 2.13.0, cpu:" in linear and "float32: ✅ pass (variance ratio" in linear
    assert "uniform-16bit-wraps-upper-bound (dtypes bfloat16, float16" in linear


def test_comparisons_are_computed_from_the_spec_not_typed(tmp_path):
    """A fixture whose promise states 4/fan_in: the command must say 12×, and the fixture's own
    history and published verdicts (not the real spec's) must show."""
    out = ok("explain", "--spec", str(FIXTURE), "--published", str(FIXTURE_PUBLISHED),
             "fake", "Dense.weight", cwd=tmp_path)
    assert "variance 4/fan_in = 0.1 here: 12× this draw's variance" in out
    assert ("the draw matches Dense docs (dense-docs); it does not match Someone et al. 2020 "
            "(quadruple: 12× the variance)") in out
    assert "FIXTURE-HISTORY" in out
    assert "float64: ❌ fail (variance ratio 1.500)" in out
    assert "published: drift in float64" in out
    # the same concept in the real specs, compared with the fixture's draw
    assert "torch nn.Linear.weight: VarianceScaling(1/3, fan_in, uniform): the same as" in out
    assert "flax nnx.Linear.kernel: VarianceScaling(1, fan_in, truncated_normal): 3×" in out
    # at in_features=40, out_features=300: keras's 2/(40+300) over 1/(3·40)
    assert f"keras layers.Dense.kernel: VarianceScaling(1, fan_avg, uniform): " \
           f"{(2 / 340) / (1 / 120):.3g}× this draw's variance at these shapes" in out


def test_shape_arguments_give_the_numbers_for_those_shapes(tmp_path):
    out = ok("explain", "torch", "nn.Linear.weight", "in_features=3", "out_features=64",
             cwd=tmp_path)
    bound, var = 1 / math.sqrt(3), 1 / (3 * 3)  # by hand: U(±1/√3), variance 1/9
    assert f"at these shapes: U(±{bound:.4g}), Var {var:.4g}" in out
    assert f"bounds [{-bound:.4g}, {bound:.4g}]" in out
    assert "shape (64, 3)" in out and "not given" not in out
    assert "no published cell at in_features=3,out_features=64" in out
    # Keras Dense at 3 → 64 (a column name maps to its spec): Glorot uniform, √(6/67), 2/67
    out = ok("explain", "keras-jax", "layers.Dense.kernel", "units=64", "in_features=3",
             cwd=tmp_path)
    limit, var = math.sqrt(6 / 67), 2 / 67
    assert f"at these shapes: U(±{limit:.4g}), Var {var:.4g}" in out
    assert "keras: fan_in = in_features = 3" in out and "shape (3, 64)" in out
    # only some given: the rest is the spec's first case (in_features=512), and it says so
    out = ok("explain", "torch", "nn.Linear.weight", "out_features=7", cwd=tmp_path)
    assert "in_features=1024 (not given: taken from the spec's first case)" in out
    assert "shape (7, 1024)" in out


def test_partial_name_lists_the_matches(tmp_path):
    out = ok("explain", "torch", "Linear", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0].endswith("torch entries match 'Linear':")
    assert "  nn.Linear.weight" in lines and "  nn.Linear.bias" in lines
    assert int(lines[0].split()[0]) == len(lines) - 1


@pytest.mark.parametrize(("args", "says"), [
    (["tourch", "nn.Linear.weight"], "unknown framework 'tourch'"),
    (["torch", "nn.Linearr"], "torch has no entry matching 'nn.Linearr'"),
    (["torch", "nn.Linear.weight", "in_features"], "expected name=value, got 'in_features'"),
    (["torch", "nn.Linear.weight", "in_features=abc"], "a shape argument is a number"),
    (["torch", "nn.Linear.weight", "bais=3"],
     "takes shape arguments in_features, out_features, not bais"),
    (["torch", "nn.Linear.weight", "in_features=0"], "cannot be evaluated at in_features=0"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, says):
    line = refused("explain", *args, cwd=tmp_path)
    assert line.startswith("initspec: error: ") and says in line, line


def test_list(tmp_path):
    everything = ok("list", cwd=tmp_path)
    assert "  torch: " in everything and " entries, " in everything
    assert "  keras-jax: keras 3.15.1; cpu; " in everything
    assert ("  dense.kernel: equinox, flax, haiku, keras, mlx, paddle, tf-compat-v1, tinygrad, "
            "torch") in everything
    torch = ok("list", "torch", cwd=tmp_path)
    assert "  torch nn.Linear.weight  [dense.kernel]  VarianceScaling(1/3, fan_in, uniform)" \
        in torch.splitlines()
    assert all(line.startswith("  torch ") for line in torch.splitlines())
    lecun = ok("list", "--concept", "init.lecun_uniform", cwd=tmp_path).splitlines()
    assert {line.split()[0] for line in lecun} == {"keras", "jax", "tf-compat-v1"}
    assert all("VarianceScaling(1, fan_in, uniform)" in line for line in lecun)
    assert "no entry has a concept starting with 'nosuch'" in \
        refused("list", "--concept", "nosuch", cwd=tmp_path)
    assert "unknown framework 'tourch'" in refused("list", "tourch", cwd=tmp_path)


def test_report_without_results_says_where_they_are_expected(tmp_path):
    line = refused("report", cwd=tmp_path)
    assert "reports/results is not a directory" in line and "initspec run" in line
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- the published copy


def test_published_copy_is_in_sync_with_reports_results():
    """conformance/published/verdicts.json is what `initspec report` writes from reports/results;
    stale (a results file changed and the copy not rewritten): fails. Fix: `initspec report`."""
    committed = (REPO / "conformance" / "published" / "verdicts.json").read_text()
    assert committed == published.dumps(published.build(REPO / "reports" / "results")), \
        "stale: run `initspec report` to rewrite conformance/published/verdicts.json"
    assert published.PUBLISHED.read_text() == committed, "the installed copy is not the repo's"


def test_sync_check_can_fail(tmp_path):
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    source = REPO / "reports" / "results" / "torch-cpu-float32.json.gz"
    shutil.copy(source, results / source.name)
    before = published.dumps(published.build(results))
    run = read_run(source)
    cell = next(c for c in run["cells"] if c["entry"] == "nn.Linear.weight")
    cell["verdict"] = "fail"
    write_run(results / source.name, run)
    after = published.dumps(published.build(results))
    assert before != after
    row = published.verdicts(json.loads(after), "torch", "nn.Linear.weight")[cell["case"]][0]
    assert (row["verdict"], row["column"], row["dtype"]) == ("fail", "torch", "float32")


def test_report_rewrites_the_checkout_copy(tmp_path):
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    source = REPO / "reports" / "results" / "torch-cpu-float32.json.gz"
    shutil.copy(source, results / source.name)
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "published.py").write_text("")  # marks a checkout
    ok("report", cwd=tmp_path)
    copy = tmp_path / "conformance" / "published" / "verdicts.json"
    assert copy.read_text() == published.dumps(published.build(results))
    assert (tmp_path / "reports" / "COMPATIBILITY.md").is_file()


def test_no_results_and_bad_copies_are_errors(tmp_path):
    with pytest.raises(published.NoResults, match="holds no"):
        published.build(tmp_path)
    bad = tmp_path / "verdicts.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="not a published-verdicts file"):
        published.load_published(bad)


def test_every_entry_of_every_spec_explains(capsys):
    """In-process (one spec load): each entry's default explanation renders without an error.
    It caught neighbours whose variance scales with a symbol (hidden_size) and have no fan."""
    import argparse

    from initspec import explain

    failures = []
    for framework, spec in explain.all_specs().items():
        for name in sorted({e.name for e, _ in explain.variants(spec)}):
            args = argparse.Namespace(framework=framework, entry=name, values=[], spec=None,
                                      published=None)
            try:
                assert explain.cmd_explain(args) == 0
            except Exception as exc:  # collect them all: one run names every broken entry
                failures.append(f"{framework} {name}: {type(exc).__name__}: {exc}")
            out = capsys.readouterr().out
            if name not in out:
                failures.append(f"{framework} {name}: not in its own explanation")
    assert not failures, "\n".join(failures)
