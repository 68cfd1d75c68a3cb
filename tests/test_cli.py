"""The command line, through its real entry point (``python -m initspec.cli`` in a subprocess).

Every bad input gets one clear line and its exit code: 0 as expected, 1 a red cell, 2 bad input
or usage, 3 an adapter or environment error. The column is the numpy FakeAdapter of conftest.py,
registered as a third-party adapter by the test-only dist-info in tests/data/plugin (with
adapters that break the contract one way each); no ML framework is imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from initspec.loader import SPEC_DIR

TESTS = Path(__file__).parent
PLUGIN = TESTS / "data" / "plugin"
FAKE = TESTS / "data" / "fake.yaml"
FAST = ["--resolution", "0.2"]  # small samples: these tests are about the CLI, not statistics
DENSE = ["--match", "Dense.weight", "--dtype", "float32"]


def initspec(*args: str, cwd: Path, env: dict[str, str] | None = None,
             stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(PLUGIN), *filter(None, [environ.get("PYTHONPATH")]), *sys.path])
    return subprocess.run([sys.executable, "-m", "initspec.cli", *args], cwd=cwd, env=environ,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300,
                          check=False)


def run_fake(*args: str, cwd: Path, spec: Path = FAKE) -> subprocess.CompletedProcess:
    return initspec("run", "--framework", "fake", "--spec", str(spec), "--results",
                    str(cwd / "results"), "--report", str(cwd / "table.md"), *args, cwd=cwd)


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line: stderr holds exactly one line starting with "initspec: error:"."""
    assert "Traceback" not in proc.stderr + (proc.stdout or ""), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("initspec: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def mutated(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = FAKE.read_text()
    assert old in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new, count))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def written(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "results").glob("*")) \
        if (tmp_path / "results").exists() else []


# --------------------------------------------------------------------------- exit codes


def test_as_expected_is_0_and_partial_runs_write_nothing(tmp_path):
    proc = run_fake(*DENSE, *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 cells" in proc.stdout and "1 pass" in proc.stdout
    assert "results not written" in proc.stdout
    assert "got empty parameter set" not in proc.stdout  # no placeholder skip on partial runs
    assert written(tmp_path) == [] and not (tmp_path / "table.md").exists()


def test_red_cell_is_1(tmp_path):
    proc = run_fake("--match", "Scaled.weight", "--dtype", "float32", *FAST, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL variance" in proc.stdout and "1 fail" in proc.stdout


def test_adapter_error_in_a_cell_is_3(tmp_path):
    proc = run_fake("--match", "Broken.weight", "--dtype", "float32", *FAST, cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "RuntimeError: kernel exploded" in proc.stdout and "1 error" in proc.stdout


# --------------------------------------------------------------------------- spec files


def test_binary_spec_file(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    proc = run_fake(*FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2
    assert error_line(proc) == f"initspec: error: {path}: not a YAML text file (binary content)"
    proc = initspec("validate", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and f"{path}: not a YAML text file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_complex_power_in_a_formula(tmp_path):
    path = mutated(tmp_path, "variance: 1 / (3 * fan_in)", "variance: (-8)**0.5")
    proc = run_fake(*FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2
    assert error_line(proc).startswith(
        f"initspec: error: {path}:{line_of(path, '(-8)**0.5')}: entries.0.variance: "
        "(-8)**0.5 is not a real number")


def test_duplicate_yaml_key(tmp_path):
    path = mutated(tmp_path, "    param: weight\n", "    param: weight\n    param: bias\n")
    proc = run_fake(*FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2
    assert error_line(proc) == (
        f"initspec: error: {path}:{line_of(path, 'param: bias')}: entries.0.param: duplicate "
        f"key 'param' (first at line {line_of(path, 'param: weight')})")


def test_misspelt_case_argument_is_an_error_at_its_line(tmp_path):
    path = mutated(tmp_path, "- {in_features: 300, out_features: 20}",
                   "- {in_features: 300, out_features: 20, bais: false}")
    proc = run_fake(*DENSE, *FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert error_line(proc) == (
        f"initspec: error: {path}:{line_of(path, 'bais')}: entries.0.cases.0.bais: fake.Dense "
        "takes no argument bais, and the entry uses it in no formula "
        "(takes: bias, in_features, out_features)")


def test_an_argument_the_target_takes_passes(tmp_path):
    """The control of the test above: the correctly spelt argument is passed and the cell passes."""
    path = mutated(tmp_path, "- {in_features: 300, out_features: 20}",
                   "- {in_features: 300, out_features: 20, bias: false}")
    proc = run_fake(*DENSE, *FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_string_where_a_number_belongs(tmp_path):
    path = mutated(tmp_path, "- {in_features: 300, out_features: 20}",
                   "- {in_features: '300', out_features: 20}")
    proc = run_fake(*FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2
    line = error_line(proc)
    assert line.startswith(f"initspec: error: {path}:{line_of(path, chr(39) + '300')}: "
                           "entries.0.cases.0.in_features: '300' is a string"), line
    assert "unknown symbol" not in line


def test_spec_of_another_framework_is_refused(tmp_path):
    torch_spec = SPEC_DIR / "frameworks" / "torch.yaml"
    proc = run_fake(*FAST, cwd=tmp_path, spec=torch_spec)
    assert proc.returncode == 2
    assert error_line(proc) == (
        f"initspec: error: {torch_spec}: describes framework 'torch', but adapter 'fake' "
        "samples 'fake': give its own spec (spec/frameworks/fake.yaml)")


def test_target_that_does_not_exist(tmp_path):
    path = mutated(tmp_path, "target: fake.Dense", "target: fake.Denze")
    proc = run_fake(*DENSE, *FAST, cwd=tmp_path, spec=path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert error_line(proc) == (f"initspec: error: {path}:{line_of(path, 'fake.Denze')}: "
                                "entries.0.target: fake.Denze does not exist")
    assert len(proc.stdout.splitlines()) < 40


# --------------------------------------------------------------------------- options


def test_unknown_dtype(tmp_path):
    proc = run_fake("--dtype", "float8", cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc) == ("initspec: error: --dtype float8: unknown dtype "
                                "(known: float64, float32, float16, bfloat16)")


def test_absent_device_is_one_visible_skip(tmp_path):
    proc = run_fake("--device", "cuda", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reason = "fake reports no cuda device here (it has cpu): its cells were not run"
    assert f"initspec: skipped device cuda: {reason}" in proc.stdout
    assert re.search(r"\b1 skipped\b", proc.stdout) and "passed" not in proc.stdout
    assert "on cpu" not in proc.stdout  # the header does not claim the device it does not plan
    assert written(tmp_path) == []


def test_match_selecting_nothing(tmp_path):
    proc = run_fake("--match", "nn.Linearr", cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc) == ("initspec: error: --match nn.Linearr selects no cell of fake "
                                "(68 cells in the full plan)")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--resolution", "0", "--resolution 0: the relative variance error must lie strictly"),
    ("--resolution", "-0.01", "--resolution -0.01: the relative variance error must lie"),
    ("--resolution", "1.5", "--resolution 1.5: the relative variance error must lie"),
    ("--budget", "5", "--budget 5: the run's false-failure probability must lie strictly"),
    ("--budget", "0", "--budget 0: the run's false-failure probability must lie strictly"),
])
def test_out_of_range(tmp_path, option, value, message):
    proc = run_fake(option, value, cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc).startswith(f"initspec: error: {message}")


def test_run_that_would_not_fit_in_memory_is_refused(tmp_path):
    proc = run_fake("--resolution", "1e-5", cwd=tmp_path)
    assert proc.returncode == 2
    line = error_line(proc)
    assert re.match(r"initspec: error: --resolution 1e-05 needs about [\d.]+ TiB for one cell "
                    r"\(fake-1\.0/cpu/\w+/.+\), more than this machine's [\d.]+ GiB", line), line


def test_results_directory_not_writable_is_checked_before_running(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = initspec("run", "--framework", "fake", "--spec", str(FAKE), "--results",
                    str(blocker / "results"), *FAST, cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc).startswith(
        f"initspec: error: results directory {blocker / 'results'} is not writable")
    assert "cells" not in proc.stdout  # nothing ran


# --------------------------------------------------------------------------- report


def test_report_on_json_of_the_wrong_structure(tmp_path):
    (tmp_path / "results").mkdir()
    bad = tmp_path / "results" / "torch-cpu-float32.json"
    bad.write_text(json.dumps({"framework": "torch", "cells": []}))
    proc = initspec("report", "--results", str(tmp_path / "results"), "--out",
                    str(tmp_path / "t.md"), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc) == (f"initspec: error: {bad}: not a results file (no str field "
                                "'framework_version')")


def test_report_on_a_binary_file(tmp_path):
    (tmp_path / "results").mkdir()
    bad = tmp_path / "results" / "x.json"
    bad.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    proc = initspec("report", "--results", str(tmp_path / "results"), "--out",
                    str(tmp_path / "t.md"), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc) == (f"initspec: error: {bad}: not a results file (binary content, "
                                "not JSON text)")


# --------------------------------------------------------------------------- third-party adapters


@pytest.mark.parametrize(("name", "message"), [
    ("fake-missing-class", "initspec: error: adapter 'fake-missing-class' "
     "(initspec_test_adapters:NoSuchAdapter) cannot be loaded: module 'initspec_test_adapters' "
     "has no attribute 'NoSuchAdapter'"),
    ("fake-raises", "initspec: error: adapter 'fake-raises' (initspec_test_adapters:"
     "RaisingAdapter) raised on construction: RuntimeError: no licence server"),
    ("fake-no-framework", "initspec: error: adapter 'fake-no-framework' "
     "(initspec_test_missing_framework:Adapter) cannot import its framework: No module named "
     "'initspec_no_such_framework' (install what initspec-test-adapters needs)"),
    ("fake-badversion", "initspec: error: adapter 'fake-badversion' (initspec_test_adapters:"
     "BadVersionAdapter): version() returned 'one point oh', not a PEP 440 version"),
])
def test_broken_third_party_adapter(tmp_path, name, message):
    proc = initspec("run", "--framework", name, "--spec", str(FAKE), *FAST, cwd=tmp_path)
    assert proc.returncode == 3
    assert error_line(proc) == message
    assert "initspec[" not in proc.stderr  # the project's extras are not a third party's


def test_unknown_adapter_name_is_a_usage_error(tmp_path):
    proc = initspec("run", "--framework", "fakee", "--spec", str(FAKE), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_line(proc).startswith("initspec: error: no adapter named 'fakee' is installed")


def test_adapter_returning_a_list(tmp_path):
    proc = initspec("run", "--framework", "fake-list", "--spec", str(FAKE), *DENSE, *FAST,
                    cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "adapter 'fake-list' returned list, not a numpy.ndarray" in proc.stdout
    assert "dtype" not in proc.stdout.split("FAILURES")[-1].split("short test summary")[0]


# --------------------------------------------------------------------------- partial runs


@pytest.mark.parametrize("selection", [
    ["--", "-k", "Dense"],
    ["--", "-x"],  # stops at the first red cell
    ["--match", "Dense"],
    ["--dtype", "float32"],
    ["--device", "cpu"],
])
def test_a_partial_run_never_writes_results(tmp_path, selection):
    (tmp_path / "results").mkdir()
    published = tmp_path / "results" / "fake-cpu-float32.json.gz"
    published.write_text("published")
    proc = run_fake(*FAST, *selection, cwd=tmp_path)
    assert proc.returncode in (0, 1, 3), proc.stdout + proc.stderr
    assert "results not written" in proc.stdout
    assert published.read_text() == "published"
    assert written(tmp_path) == ["fake-cpu-float32.json.gz"]
    assert not (tmp_path / "table.md").exists()


def test_a_complete_run_writes_results_and_the_table(tmp_path):
    proc = run_fake(*FAST, cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # fake.Broken raises, by design
    assert written(tmp_path) == [f"fake-cpu-{d}.json.gz"
                                 for d in ("bfloat16", "float16", "float32", "float64")]
    assert f"results: 4 file(s) written to {tmp_path / 'results'}" in proc.stdout
    assert f"table: wrote {tmp_path / 'table.md'}" in proc.stdout
    assert re.search(r"68 of 68 cells in [\d.]+ s: .*\d+ pass", proc.stdout)
    assert "slowest:" in proc.stdout
    assert not list((tmp_path / "results").glob(".*"))  # no temporary file left


def test_a_complete_run_without_the_table_still_rewrites_the_published_copy(tmp_path):
    """nox's conformance sessions pass `--report ""`: the checkout's verdicts copy must still
    follow the results, or the sync test fails after every CI run (it did: stop 14)."""
    from initspec import published

    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "published.py").write_text("")  # marks a checkout
    results = tmp_path / "reports" / "results"
    proc = initspec("run", "--framework", "fake", "--spec", str(FAKE), "--results", str(results),
                    "--report", "", *FAST, cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # fake.Broken raises, by design
    copy = tmp_path / "conformance" / "published" / "verdicts.json"
    assert copy.read_text() == published.dumps(published.build(results))
    assert copy.stat().st_mode & 0o777 == 0o644
    assert not list(copy.parent.glob(".*")) and "table: wrote" not in proc.stdout


def _failure_block(stdout: str, cell: str) -> str:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{cell}: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    return "\n".join(lines[start:end])


def test_match_reproduces_the_full_runs_statistics_exactly(tmp_path):
    """A one-cell re-check keeps the full plan's alpha and n: the same numbers, bit for bit."""
    cell = "fake-1.0/cpu/float32/Scaled.weight[fan_in=64]"
    full = run_fake(*FAST, "--seed", "3", cwd=tmp_path)
    one = run_fake(*FAST, "--seed", "3", "--match", "float32/Scaled.weight", cwd=tmp_path)
    block = _failure_block(full.stdout, cell)
    assert "FAIL variance" in block and "n = " in block
    assert _failure_block(one.stdout, cell) == block
    alpha = re.search(r"alpha (\S+) per check", full.stdout).group(1)
    assert f"alpha {alpha} per check" in one.stdout


def test_help_says_a_partial_run_keeps_the_full_plan(tmp_path):
    proc = initspec("run", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "keeps the full plan's alpha, sample sizes and seeds" in text
    assert "1 a red cell, 2 bad input or usage, 3 an adapter or environment error" in text


# --------------------------------------------------------------------------- progress


def test_progress_bar_in_a_terminal_only(tmp_path):
    import pty

    master, slave = pty.openpty()
    environ = {**os.environ, "COLUMNS": "120", "PYTHONPATH": os.pathsep.join(
        [str(PLUGIN), *filter(None, [os.environ.get("PYTHONPATH")]), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-m", "initspec.cli", "run", "--framework", "fake",
                             "--spec", str(FAKE), "--results", "", *FAST, "--dtype", "float32"],
                            cwd=tmp_path, env=environ, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert re.search(r"17/17 cells \|.*\| \[\d\d:\d\d<\d\d:\d\d\]", shown), shown[-2000:]
    assert "fake-1.0/cpu/float32/" in shown  # the current cell
    piped = run_fake(*FAST, "--dtype", "float32", cwd=tmp_path)
    assert "cells |" not in piped.stdout + piped.stderr  # quiet when not a terminal
    assert "17 of 17 cells" in piped.stdout  # the summary is printed either way


def test_results_are_written_atomically(tmp_path, fake_spec, fake_adapter, monkeypatch):
    """A crash while writing leaves the old file intact and no temporary file behind."""
    from initspec import engine, results

    plan = engine.build_plan(fake_spec, fake_adapter, dtypes=["float32"], match="Dense.bias")
    done = [engine.evaluate(plan, cell, fake_adapter) for cell in plan.cells]
    (path,) = results.write(done, plan, tmp_path)
    before = path.read_bytes()

    def crash(envelope):
        raise OSError("disk full")

    monkeypatch.setattr(results, "_dumps", crash)
    with pytest.raises(OSError, match="disk full"):
        results.write(done, plan, tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# --------------------------------------------------------------------------- adapters' kwargs


def test_split_kwargs_drops_shape_symbols_and_rejects_the_rest():
    from initspec.adapter import UnknownArgument
    from initspec.adapters._common import accepted_names, split_kwargs

    def linear(in_features, out_features, bias=True):
        pass

    kwargs = {"in_features": 3, "out_features": 4, "kernel": 5}
    accepted = accepted_names(linear)
    assert split_kwargs(kwargs, accepted, {"kernel"}, "Linear") == {"in_features": 3,
                                                                  "out_features": 4}
    with pytest.raises(UnknownArgument, match="Linear takes no argument kernel") as info:
        split_kwargs(kwargs, accepted, set(), "Linear")
    assert info.value.field == "kernel"
    assert split_kwargs(kwargs, accepted_names(lambda **kw: None), set(), "f") == kwargs


# --------------------------------------------------------------------------- torch, by hand or here

TORCH_PYTHON = os.environ.get("INITSPEC_TORCH_PYTHON") or (
    sys.executable if importlib.util.find_spec("torch") else None)
needs_torch = pytest.mark.skipif(
    TORCH_PYTHON is None, reason="torch is not installed here (set INITSPEC_TORCH_PYTHON to a "
    "python that has torch and initspec to run the torch column's bad inputs)")


def torch_run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if os.environ.get("PYTHONPATH"):  # an overlay with this tree's initspec, not the tests' venv
        environ["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run([TORCH_PYTHON, "-m", "initspec.cli", "run", "--framework", "torch",
                           "--results", "", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=600, check=False)


@needs_torch
def test_torch_target_that_does_not_exist(tmp_path):
    text = (SPEC_DIR / "frameworks" / "torch.yaml").read_text()
    path = tmp_path / "torch.yaml"
    path.write_text(text.replace("target: nn.Linear\n", "target: nn.Linearr\n", 1))
    proc = torch_run("--spec", str(path), "--match", "nn.Linear.weight", "--dtype", "float32",
                     *FAST, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.fullmatch(rf"initspec: error: {re.escape(str(path))}:\d+: entries\.\d+\.target: "
                        r"torch\.nn\.Linearr does not exist", error_line(proc))


@needs_torch
def test_torch_absent_cuda_is_one_visible_skip(tmp_path):
    proc = torch_run("--device", "cuda", cwd=tmp_path)
    if "cuda device here" not in proc.stdout:
        pytest.skip("this machine has CUDA")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "initspec: skipped device cuda: torch reports no cuda device here" in proc.stdout
    assert "on cpu" not in proc.stdout and re.search(r"\b1 skipped\b", proc.stdout)


@needs_torch
def test_torch_with_the_keras_spec_is_refused(tmp_path):
    proc = torch_run("--spec", str(SPEC_DIR / "frameworks" / "keras.yaml"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "describes framework 'keras', but adapter 'torch' samples 'torch'" in error_line(proc)


def test_an_interrupted_run_writes_nothing(tmp_path):
    import signal
    import time

    (tmp_path / "results").mkdir()
    published = tmp_path / "results" / "fake-hangs-cpu-float32.json.gz"
    published.write_text("published")
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
        [str(PLUGIN), *filter(None, [os.environ.get("PYTHONPATH")]), *sys.path])}
    # fake-hangs blocks in its first cell, so the signal always lands mid-run (the plain fake
    # column could finish within the wait on a busy machine: a stop-16 flake)
    proc = subprocess.Popen([sys.executable, "-m", "initspec.cli", "run", "--framework",
                             "fake-hangs", "--spec", str(FAKE), "--cell-timeout", "0",
                             "--results", str(tmp_path / "results"),
                             "--report", str(tmp_path / "table.md")], cwd=tmp_path, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stdout:  # wait until the cells are being evaluated
        seen.append(line)
        if line.startswith("collected"):
            break
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    out = "".join(seen) + out
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert published.read_text() == "published" and not (tmp_path / "table.md").exists()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [published.name]


def test_a_hung_cell_stops_the_run_naming_it(tmp_path):
    """A framework deadlocked in native code (jaxlib under jit + vmap, issue 10): the watchdog
    ends the run with exit 3 and one line naming the cell; nothing is written."""
    (tmp_path / "results").mkdir()
    proc = initspec("run", "--framework", "fake-hangs", "--spec", str(FAKE), *FAST,
                    "--cell-timeout", "3", "--results", str(tmp_path / "results"),
                    "--report", str(tmp_path / "table.md"), cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = error_line(proc)
    assert "ran past --cell-timeout 3 s" in line, line
    assert "/cpu/" in line and "Dense.weight[" in line, line  # the cell's id
    assert "Traceback" not in proc.stderr
    assert list((tmp_path / "results").iterdir()) == [] and not (tmp_path / "table.md").exists()


def test_a_cell_timeout_below_zero_is_bad_input(tmp_path):
    proc = run_fake(*DENSE, *FAST, "--cell-timeout", "-1", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--cell-timeout -1: give seconds >= 0" in error_line(proc)


@pytest.mark.parametrize(("column", "code", "text"), [
    ("fake", 0, "all 1 cells identical, bit for bit"),
    ("fake-cache-sensitive", 1, "1 cell(s) drew differently with the cache"),
])
def test_check_cache_compares_the_draws_bit_for_bit(tmp_path, column, code, text):
    proc = initspec("bench", "--framework", column, "--spec", str(FAKE), "--check-cache", *DENSE,
                    *FAST, cwd=tmp_path)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert text in proc.stdout, proc.stdout


def test_check_cache_on_a_selection_that_draws_nothing(tmp_path):
    proc = initspec("bench", "--framework", "fake", "--spec", str(FAKE), "--check-cache",
                    "--match", "Broken.weight", "--dtype", "float32", *FAST, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the selection draws no cell" in error_line(proc)


@pytest.mark.parametrize(("column", "text"), [
    ("fake", r"physical limit [\d.]+ s = bulk primitive [\d.]+ s for [\d,]+ values \+ checks "
             r"not counted: a partial run writes no records; ratio to it [\d.]+ \(target <= 2\)"),
    ("fake-no-primitive", r"physical limit: not measured \(cpu:float32: fake-no-primitive states "
                          r"no bulk primitive \(Adapter.primitive\)\)"),
])
def test_bench_states_the_physical_limit(tmp_path, column, text):
    """The ratio to the framework's own bulk primitive drawing as many values as the adapter
    returned, plus the checks' cost; or, for an adapter without a primitive, why there is none."""
    import re

    proc = initspec("bench", "--framework", column, "--spec", str(FAKE), *DENSE, *FAST,
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(text, proc.stdout), proc.stdout
