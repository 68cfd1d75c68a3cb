"""The calibration ledger (conformance/calibration.py, reports/calibration.json) and
``initspec calibrate``: what is recorded (every unexpected cell with its statistics), what is
counted (the current verdict epoch, the design's settings, complete sets of columns), the exact
binomial statement, and one clear line with exit 2 for each bad input, through the real CLI.

Results folders are the numpy fake column's (tests/conftest.py), written by the engine itself
at --resolution 0.2, or by a real ``initspec run`` subprocess once."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import FakeAdapter, read_run
from conftest import write_run as write_file
from test_cli import FAKE, error_line, initspec

from initspec import calibration, cli, engine, results
from initspec.budget import PUBLISHED_COLUMNS
from initspec.loader import load_framework

ROOT = Path(__file__).resolve().parents[1]
SHA = "0123456789abcdef0123456789abcdef01234567"
RES = 0.2  # the fake runs' resolution: small samples; the summary is asked about this design
DESIGN = ["--columns", "fake", "--resolution", str(RES)]
DESIGN2 = ["--columns", "fake", "fake-second", "--resolution", str(RES)]


def _without(text: str, start: str, stop: str) -> str:
    """fake.yaml without the entries from ``start`` up to (not including) ``stop``."""
    i, j = text.index(f"  - name: {start}\n"), text.index(f"  - name: {stop}\n")
    return text[:i] + text[j:]


@pytest.fixture(scope="module")
def specs(tmp_path_factory, schemes):
    """clean: every verdict as expected (no Scaled, Fixed, Broken entry); red: clean plus the
    Scaled entry, whose adapter forgets the He gain (a fail, variance and ks, in every dtype);
    full: fake.yaml itself (also an adapter error and a deviation that no longer reproduces)."""
    folder = tmp_path_factory.mktemp("specs")
    text = FAKE.read_text()
    clean = _without(_without(text, "Scaled.weight", "Deviant.weight"),
                     "Fixed.weight", "Half.weight")
    red = _without(text, "Fixed.weight", "Half.weight")
    out = {}
    for name, body in (("clean", clean), ("red", red)):
        (folder / f"{name}.yaml").write_text(body)
        out[name] = load_framework(folder / f"{name}.yaml", schemes)
    out["full"] = load_framework(FAKE, schemes)
    return out


class SecondFake(FakeAdapter):
    name = "fake-second"


def write_run(directory: Path, spec, *, seed: int, column: str = "fake", sha: str = SHA) -> Path:
    """One complete column run, as `initspec run --seed S --results DIR` writes it."""
    adapter = SecondFake() if column == "fake-second" else FakeAdapter()
    plan = engine.build_plan(spec, adapter, seed=seed, resolution=RES)
    cell_results = [engine.evaluate(plan, cell, adapter) for cell in plan.cells]
    results.write(cell_results, plan, directory, sha=sha, wall_seconds=1.5)
    return directory


@pytest.fixture(scope="module")
def runs(tmp_path_factory, specs):
    """The results folders the tests copy from (each evaluated once)."""
    made = {}
    for key, spec, seed, column in (("clean1", "clean", 1, "fake"), ("clean2", "clean", 2, "fake"),
                                    ("second1", "clean", 1, "fake-second"),
                                    ("red3", "red", 3, "fake"), ("full0", "full", 0, "fake")):
        made[key] = write_run(tmp_path_factory.mktemp(key), specs[spec], seed=seed,
                              column=column)
    return made


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def add(folder: Path, ledger: Path, capsys) -> str:
    assert cli.main(["calibrate", "add", "--results", str(folder), "--ledger", str(ledger)]) == 0
    return capsys.readouterr().out


def summary(ledger: Path, capsys, *design: str) -> tuple[int, str]:
    code = cli.main(["calibrate", "summary", "--ledger", str(ledger), *design])
    return code, capsys.readouterr().out


def edit_files(folder: Path, change) -> None:
    for path in results.paths(folder):
        run = read_run(path)
        change(run)
        write_file(path, run)


# --------------------------------------------------------------------------- what is recorded


def test_a_planted_red_cell_is_recorded_with_its_statistics(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    out = add(runs["full0"], ledger, capsys)
    assert "added fake 1.0 seed 0" in out and "12 unexpected" in out
    data = calibration.load_ledger(ledger)
    (entry,) = data["runs"]
    assert entry["seed"] == 0 and entry["column"] == "fake" and entry["suite_sha"] == SHA
    assert entry["verdict_epoch"] == engine.VERDICT_EPOCH and entry["epoch_from"] == "file"
    assert entry["cells"] == entry["planned_cells"] == 68 and entry["wall_seconds"] == 1.5
    assert entry["dtypes"] == ["float32", "float64", "float16", "bfloat16"]
    assert entry["environment"] == {} and entry["framework_version"] == "1.0"
    scaled = [r for r in entry["red"] if r.get("cell", "").endswith("/Scaled.weight[fan_in=64]")]
    assert len(scaled) == 4 and {r["verdict"] for r in scaled} == {"fail"}
    for item in scaled:
        variance = next(c for c in item["checks"] if c["name"] == "variance")
        assert variance["p_value"] < variance["alpha"] < 1e-3  # the check's own statistics
        assert variance["stats"]["ratio"] == pytest.approx(0.5, abs=0.1)  # the missing gain
        assert abs(variance["stats"]["z"]) > 5
    errors = [r for r in entry["red"] if r.get("verdict") == "error"]
    assert len(errors) == 4 and all("Broken.weight" in r["cell"] for r in errors)
    assert "kernel exploded" in errors[0]["message"]
    gone = [r for r in entry["red"] if r["kind"] == "deviation"]
    assert {r["deviation"] for r in gone} == {"old-missing-gain"} and len(gone) == 4
    # an adapter error is a bug to fix, not a chance failure: recorded, never counted
    code, text = summary(ledger, capsys, *DESIGN)
    assert code == 0 and "0 red full runs in 0" in text
    assert "not counted: 1 column run: an adapter error in a cell" in text


def test_a_red_run_counts_and_prints_its_cells(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["red3"], ledger, capsys)
    code, text = summary(ledger, capsys, *DESIGN)
    assert "observed 1 red full runs in 1" in text and "red full runs at seeds 3" in text
    assert "red: seed 3 fake-1.0/cpu/float32/Scaled.weight[fan_in=64]: fail: " in text
    assert "variance p = " in text and ", z = " in text
    # 1 red run in 1 against p <= 1e-3: P(X >= 1) = 1e-3 < 0.05
    assert "NOT consistent with the design" in text and code == cli.EXIT_RED


def test_readding_a_run_adds_nothing(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    out = add(runs["clean1"], ledger, capsys)
    assert "is in the ledger already" in out and "0 column run(s) added" in out
    assert len(calibration.load_ledger(ledger)["runs"]) == 1


def test_other_releases_files_are_left_out(runs, tmp_path, capsys):
    folder = copy(runs["clean1"], tmp_path / "r")
    shutil.copy(folder / "fake-cpu-float32.json.gz", folder / "fake-cpu-float32@0.9.json.gz")
    out = add(folder, tmp_path / "l.json", capsys)
    assert "left out 1 file(s) of other releases (fake-cpu-float32@0.9.json.gz)" in out
    (entry,) = calibration.load_ledger(tmp_path / "l.json")["runs"]
    assert entry["files"] == [p.name for p in results.paths(runs["clean1"])]


# --------------------------------------------------------------------------- what is counted


def test_a_clean_run_counts_at_the_current_epoch(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    add(runs["clean2"], ledger, capsys)
    code, text = summary(ledger, capsys, *DESIGN)
    assert code == 0
    assert "observed 0 red full runs in 2" in text
    assert ("consistent with the design: exact binomial P(X >= 0) = 1 >= 0.05 for X ~ "
            "Bin(N = 2, p = 0.001)") in text
    assert "fake: 2 runs, 0 red" in text


def test_an_old_epoch_run_is_kept_but_not_counted(runs, tmp_path, capsys):
    folder = copy(runs["clean1"], tmp_path / "old")
    edit_files(folder, lambda run: run.update(verdict_epoch=engine.VERDICT_EPOCH - 1))
    ledger = tmp_path / "calibration.json"
    out = add(folder, ledger, capsys)
    assert f"not counted: verdict epoch {engine.VERDICT_EPOCH - 1} (current " in out
    code, text = summary(ledger, capsys, *DESIGN)
    assert code == 0
    assert "observed 0 red full runs in 0" in text and "no statement yet (N = 0)" in text
    assert f"1 column run: verdict epoch {engine.VERDICT_EPOCH - 1}" in text
    assert len(calibration.load_ledger(ledger)["runs"]) == 1  # kept


@pytest.mark.parametrize("sha, epoch, source", [
    ("4d317f8fb991bb92e64bda95958988755450a34d", 1, "LEGACY_EPOCHS"),
    ("5c4272bf40882dd5ad7aa2f0f460addbe718dcbd", 0, "before epochs"),
    ("unknown", 0, "before epochs"),
])
def test_files_without_the_field_take_their_epoch_from_their_commit(sha, epoch, source):
    got, where = calibration.epoch_of({"suite_sha": sha})
    assert got == epoch and where.startswith(source)
    assert calibration.epoch_of({"suite_sha": sha, "verdict_epoch": 7}) == (7, "file")


def test_a_run_at_other_settings_is_not_counted(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    _, text = summary(ledger, capsys, "--columns", "fake")  # the published resolution 0.01
    assert "observed 0 red full runs in 0" in text
    assert "1 column run: resolution 0.2, not 0.01" in text
    _, text = summary(ledger, capsys, *DESIGN, "--budget", "0.01")
    assert "budget 0.001, not the design's share 0.01" in text


def test_an_incomplete_set_of_columns_is_not_a_full_run(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    add(runs["clean2"], ledger, capsys)
    _, text = summary(ledger, capsys, *DESIGN2)
    assert "observed 0 red full runs in 0" in text  # fake-second has no run yet
    assert "fake: 2 runs, 0 red" in text and "fake-second: 0 runs" in text
    add(runs["second1"], ledger, capsys)  # seed 1 is now complete; seed 2 is not
    _, text = summary(ledger, capsys, *DESIGN2)
    assert "observed 0 red full runs in 1" in text
    assert "p <= 0.002" in text  # two columns outside the published run: the whole budget each


def test_a_full_run_is_red_when_one_of_its_columns_is(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["second1"], ledger, capsys)
    red1 = copy(runs["red3"], tmp_path / "red1")  # the red column run, relabelled seed 1
    edit_files(red1, lambda run: run.update(seed=1))
    add(red1, ledger, capsys)
    code, text = summary(ledger, capsys, *DESIGN2)
    assert "observed 1 red full runs in 1" in text and code == cli.EXIT_RED


def test_the_same_column_and_seed_twice_is_one_measurement(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    again = copy(runs["clean1"], tmp_path / "again")
    edit_files(again, lambda run: run.update(suite_sha="f" * 40))  # a later commit, same epoch
    add(again, ledger, capsys)
    _, text = summary(ledger, capsys, *DESIGN)
    assert "observed 0 red full runs in 1" in text and "fake: 1 runs" in text


def test_the_published_design_is_the_default():
    design = calibration.Design.published()
    assert design.columns == PUBLISHED_COLUMNS and design.epoch == engine.VERDICT_EPOCH
    assert design.p == pytest.approx(engine.DEFAULT_BUDGET)
    assert design.column_p("torch") == pytest.approx(engine.DEFAULT_BUDGET / len(PUBLISHED_COLUMNS))


# --------------------------------------------------------------------------- the statement


def test_the_binomial_statement_flips_when_k_is_too_large():
    p = 1e-3
    ok = [calibration.Statement(k, 100, p, 0.05) for k in (0, 1)]
    assert all(s.consistent for s in ok)  # P(X >= 1) = 1 - 0.999^100 = 0.095
    assert ok[1].p_value == pytest.approx(1 - 0.999 ** 100)
    too_many = calibration.Statement(2, 100, p, 0.05)  # P(X >= 2) = 0.0046
    assert too_many.consistent is False and too_many.p_value == pytest.approx(0.00465, rel=0.01)
    assert "NOT consistent" in too_many.text() and "NOT" not in ok[0].text()
    # Clopper–Pearson, one-sided 95 %: 0 in 100 bounds the rate by 1 - 0.05^(1/100)
    assert ok[0].upper == pytest.approx(1 - 0.05 ** (1 / 100))
    assert calibration.Statement(0, 0, p, 0.05).consistent is None


def test_the_table_line_states_design_and_observation(runs, tmp_path, capsys):
    ledger = tmp_path / "calibration.json"
    add(runs["clean1"], ledger, capsys)
    record = calibration.calibration_record(ledger)  # the published design: nothing counts
    assert record["designed"] == pytest.approx(engine.DEFAULT_BUDGET)
    assert record["full_runs"] == 0 and record["consistent"] is None
    assert record["line"].startswith(
        f"Calibration (calibration.json, verdict epoch {engine.VERDICT_EPOCH}): designed "
        "false-failure probability p ≤ 0.001 (whole published run, "
        f"{len(PUBLISHED_COLUMNS)} columns); observed 0 red full runs in 0 (column runs at "
        "this epoch: torch 0,")
    assert record["line"].endswith("No statement yet (N = 0).")
    assert calibration.calibration_record(tmp_path / "none.json") is None


# --------------------------------------------------------------------------- through the CLI


def test_a_real_run_is_added_through_the_cli(tmp_path):
    """`initspec run --seed S --results DIR` then `initspec calibrate add --results DIR`."""
    run = initspec("run", "--framework", "fake", "--spec", str(FAKE), "--resolution", str(RES),
                   "--seed", "5", "--no-progress", "--results", str(tmp_path / "r"),
                   "--report", "", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr  # fake.Broken raises, by design
    ledger = tmp_path / "calibration.json"
    proc = initspec("calibrate", "add", "--results", str(tmp_path / "r"), "--ledger",
                    str(ledger), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "added fake 1.0 seed 5" in proc.stdout
    (entry,) = json.loads(ledger.read_text())["runs"]
    assert entry["verdict_epoch"] == engine.VERDICT_EPOCH and entry["wall_seconds"] > 0
    assert entry["cells"] == entry["planned_cells"]
    assert any(r.get("cell", "").endswith("Scaled.weight[fan_in=64]") for r in entry["red"])
    proc = initspec("calibrate", "summary", "--ledger", str(ledger), *DESIGN, cwd=tmp_path)
    assert proc.returncode == 0 and "0 red full runs in 0" in proc.stdout


def _bad(tmp_path: Path, *args: str) -> str:
    proc = initspec("calibrate", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return error_line(proc)


def test_a_broken_ledger_is_one_line(runs, tmp_path):
    ledger = tmp_path / "calibration.json"
    ledger.write_text("{not json")
    for results_dir in (runs["clean1"], tmp_path / "nowhere"):  # the ledger is said first
        line = _bad(tmp_path, "add", "--results", str(results_dir), "--ledger", str(ledger))
        assert line == (f"initspec: error: {ledger}: not a calibration ledger (Expecting "
                        "property name enclosed in double quotes at line 1)")
    assert ledger.read_text() == "{not json"  # left as it was
    ledger.write_text(json.dumps({"schema_version": 1, "notes": [], "runs": [{"seed": 1}]}))
    line = _bad(tmp_path, "summary", "--ledger", str(ledger))
    assert line.startswith(f"initspec: error: {ledger}: not a calibration ledger (at runs/0: ")
    line = _bad(tmp_path, "summary", "--ledger", str(tmp_path / "absent.json"))
    assert line.startswith(f"initspec: error: no calibration ledger at {tmp_path}/absent.json")


def test_a_results_folder_without_files_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    line = _bad(tmp_path, "add", "--results", str(tmp_path / "empty"), "--ledger",
                str(tmp_path / "l.json"))
    assert line.startswith(
        f"initspec: error: {tmp_path}/empty holds no results files (*.json.gz, *.json)")
    line = _bad(tmp_path, "add", "--results", str(tmp_path / "nowhere"), "--ledger",
                str(tmp_path / "l.json"))
    assert line.startswith(f"initspec: error: {tmp_path}/nowhere is not a directory")
    (tmp_path / "empty" / "x.json").write_text("[1]")
    line = _bad(tmp_path, "add", "--results", str(tmp_path / "empty"), "--ledger",
                str(tmp_path / "l.json"))
    assert line.startswith(f"initspec: error: {tmp_path}/empty/x.json: not a results file")
    assert not (tmp_path / "l.json").exists()


def test_a_partial_runs_results_are_one_line(runs, tmp_path):
    folder = copy(runs["clean1"], tmp_path / "partial")
    (folder / "fake-cpu-float16.json.gz").unlink()
    line = _bad(tmp_path, "add", "--results", str(folder), "--ledger", str(tmp_path / "l.json"))
    assert "fake's files hold 42 of its 56 planned cells" in line and "a partial set" in line
    # files written before planned_cells: every device must still have every dtype
    edit_files(folder, lambda run: run.pop("planned_cells"))
    line = _bad(tmp_path, "add", "--results", str(folder), "--ledger", str(tmp_path / "l.json"))
    assert line.endswith("fake on cpu has no results for float16: a partial set, not a "
                         "column run")


def test_mixed_seeds_are_one_line(runs, tmp_path):
    folder = copy(runs["clean1"], tmp_path / "mixed")
    shutil.copy(runs["clean2"] / "fake-cpu-float32.json.gz", folder / "fake-cpu-float32.json.gz")
    line = _bad(tmp_path, "add", "--results", str(folder), "--ledger", str(tmp_path / "l.json"))
    assert line == (f"initspec: error: {folder} mixes results of 2 seeds (seed 1: "
                    "fake-cpu-bfloat16.json.gz, fake-cpu-float16.json.gz ...; seed 2: "
                    "fake-cpu-float32.json.gz): add each seed's results folder on its own")


def test_files_of_two_runs_of_one_column_are_one_line(runs, tmp_path):
    folder = copy(runs["clean1"], tmp_path / "two")
    path = folder / "fake-cpu-float64.json.gz"
    run = read_run(path)
    run["suite_sha"] = "f" * 40
    write_file(path, run)
    line = _bad(tmp_path, "add", "--results", str(folder), "--ledger", str(tmp_path / "l.json"))
    assert "fake's files are not one run: suite_sha" in line and "fake-cpu-float64.json.gz" in line


def test_bad_summary_options_are_one_line(tmp_path):
    ledger = tmp_path / "l.json"
    ledger.write_text(calibration.dumps(calibration.empty_ledger()))
    assert _bad(tmp_path, "summary", "--ledger", str(ledger), "--level", "2") == (
        "initspec: error: --level 2: give a probability in (0, 1)")



# --------------------------------------------------------------------------- nox -s calibrate


@pytest.fixture(scope="module")
def noxfile():
    if importlib.util.find_spec("nox") is None:
        pytest.skip("nox is not installed in this environment")
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    return noxfile


def test_the_calibrate_session_reads_columns_and_seeds(noxfile):
    assert noxfile.calibrate_args(["torch", "mlx", "--seeds", "3:5"]) == (["torch", "mlx"],
                                                                          [3, 4, 5])
    columns, seeds = noxfile.calibrate_args(["--seeds=7"])
    assert seeds == [7] and columns == list(noxfile.COLUMNS)  # every published column
    assert set(noxfile.COLUMNS) == set(PUBLISHED_COLUMNS)
    for bad, message in ((["torch"], "give the seeds"), (["--seeds", "5:3"], "0 <= A <= B"),
                         (["--seeds", "a:b"], "give A:B"), (["tinygrad", "--seeds", "1"],
                                                            "not a published column"),
                         (["--seed", "1"], "takes COLUMNS... --seeds A:B")):
        with pytest.raises(ValueError, match=message):
            noxfile.calibrate_args(bad)


# --------------------------------------------------------------------------- the committed ledger


def test_the_committed_ledger_is_valid_and_says_what_counts():
    ledger = calibration.load_ledger(ROOT / "reports" / "calibration.json")
    assert ledger["notes"], "the historical seed-11 torch run is recorded as a note"
    summary_ = calibration.summarize(ledger, calibration.Design.published())
    counted = sum(len(v) for v in summary_.per_column.values())
    assert counted + sum(summary_.not_counted.values()) == len(ledger["runs"])


# Files whose content decides verdicts: the checks, the plan (budget split, sample sizes), the
# specs and the adapters. When they change, someone must decide whether a verdict can change
# (bump initspec.engine.VERDICT_EPOCH) or not, and record the new fingerprint either way.
VERDICT_FILES = ("conformance/budget.py", "conformance/checks.py", "conformance/distributions.py",
                 "conformance/engine.py", "conformance/formula.py", "conformance/loader.py",
                 "conformance/power.py", "conformance/recipes.py", "spec/*.yaml",
                 "spec/frameworks/*.yaml", "adapters/*.py")
# the audit hooks (audit_draws) and the bench's primitive (Adapter.primitive) in adapters/*.py draw
# nothing a conformance cell samples: FINGERPRINT moved without an epoch bump
FINGERPRINT = (2, "a74aeb0c08fe5a15fe5fc962da502c44fcb44ecd93793c70ebfc1834673b01cf")


def verdict_fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for pattern in VERDICT_FILES:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def test_the_verdict_epoch_is_revisited_when_what_decides_verdicts_changes():
    now = verdict_fingerprint()
    assert (engine.VERDICT_EPOCH, now) == FINGERPRINT, (
        "a file that decides verdicts changed (checks, plan, budget split, specs, adapters): "
        "if it can change any verdict of the published run, bump initspec.engine.VERDICT_EPOCH "
        "(older ledger runs stop counting); either way set FINGERPRINT in "
        f"tests/test_calibration.py to ({engine.VERDICT_EPOCH}, {now!r})")


def test_the_fingerprint_sees_a_changed_expectation(tmp_path):
    for pattern in VERDICT_FILES:
        for path in ROOT.glob(pattern):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    assert verdict_fingerprint(tmp_path) == verdict_fingerprint()
    spec = tmp_path / "spec" / "frameworks" / "torch.yaml"
    spec.write_text(spec.read_text().replace("1 / (3 * fan_in)", "1 / (3 * fan_out)", 1))
    assert verdict_fingerprint(tmp_path) != verdict_fingerprint()
