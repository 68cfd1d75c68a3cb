"""End to end without a framework: plan -> evaluate (numpy fake adapter) -> results -> table."""

from __future__ import annotations

import json

import pytest

from initspec import cli, engine, report, results

DTYPES = ["float32", "bfloat16"]
SHA = "0123456789abcdef0123456789abcdef01234567"

# entry -> verdict per dtype (float32, bfloat16)
EXPECTED = {
    "Dense.weight": ("pass", "pass"),
    "Dense.bias": ("pass", "pass"),
    "Embedding.weight": ("pass", "pass"),
    "Embedding.weight.padding_row": ("pass", "pass"),
    "init.trunc_normal": ("pass", "pass"),
    "init.orthogonal": ("pass", "pass"),
    "init.eye": ("pass", "pass"),
    "init.dirac": ("pass", "pass"),
    "init.sparse": ("pass", "pass"),
    "BatchNorm.num_batches_tracked": ("pass", "pass"),
    "Legacy.weight": ("skip", "skip"),
    "Scaled.weight": ("fail", "fail"),
    "Deviant.weight": ("known-deviation", "known-deviation"),
    "Fixed.weight": ("pass", "pass"),  # its deviation no longer reproduces: see below
    "Broken.weight": ("error", "error"),
    "Half.weight": ("pass", "skip"),
}


@pytest.fixture(scope="module")
def evaluated(fake_spec, fake_adapter_class):
    adapter = fake_adapter_class()
    plan = engine.build_plan(fake_spec, adapter, dtypes=DTYPES, resolution=0.05, seed=0)
    return plan, [engine.evaluate(plan, cell, adapter) for cell in plan.cells]


@pytest.fixture(scope="module")
def written(evaluated, tmp_path_factory):
    plan, cell_results = evaluated
    directory = tmp_path_factory.mktemp("results")
    paths = results.write(cell_results, plan, directory, sha=SHA)
    return directory, paths


@pytest.fixture(scope="module")
def table(written):
    directory, _ = written
    return report.render(results.load(directory))


def verdicts(cell_results) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for r in cell_results:
        out.setdefault(r.cell.case.entry.name, [None] * len(DTYPES))[
            DTYPES.index(r.cell.dtype)] = r.verdict
    return {k: tuple(v) for k, v in out.items()}


def row(table: str, entry: str) -> list[str]:
    """The cells of the table row whose parameter is ``entry[...]`` (or ``entry``)."""
    lines = [line for line in table.splitlines()
             if line.startswith(f"| `{entry}[") or line.startswith(f"| `{entry}`")]
    assert lines, f"no row for {entry}"
    return [c.strip() for c in lines[0].strip("|").split("|")]


# --------------------------------------------------------------------------- verdicts


def test_verdicts(evaluated):
    _, cell_results = evaluated
    # init.orthogonal has two cases: both pass
    assert verdicts(cell_results) == EXPECTED


def test_failure_names_the_failing_checks(evaluated):
    _, cell_results = evaluated
    for r in cell_results:
        if r.cell.case.entry.name in ("Scaled.weight", "Deviant.weight"):
            assert r.status == "fail"
            failed = {c.name for c in r.failures()}
            assert {"variance", "ks"} <= failed
            assert r.message.startswith(next(c.name for c in r.checks if not c.passed) + ": ")
            variance = next(c for c in r.checks if c.name == "variance")
            assert variance.stats["ratio"] == pytest.approx(0.5, abs=0.02)


def test_as_expected(evaluated):
    _, cell_results = evaluated
    unexpected = {r.cell.case.entry.name for r in cell_results if not r.as_expected}
    assert unexpected == {"Scaled.weight", "Broken.weight"}


def test_deviation_outcomes(evaluated):
    _, cell_results = evaluated
    outcomes = {(o.deviation.id, o.column.rsplit("/", 1)[1]): o
                for o in engine.deviation_outcomes(cell_results)}
    for dtype in DTYPES:
        reproducing = outcomes[("missing-gain", dtype)]
        assert reproducing.still_reproduces and reproducing.reproduced == reproducing.cells == 1
        gone = outcomes[("old-missing-gain", dtype)]
        assert not gone.still_reproduces and (gone.reproduced, gone.cells) == (0, 1)


def test_error_and_skip_messages(evaluated):
    _, cell_results = evaluated
    by = {(r.cell.case.entry.name, r.cell.dtype): r for r in cell_results}
    broken = by[("Broken.weight", "float32")]
    assert broken.message == "RuntimeError: kernel exploded"  # one line
    assert by[("Half.weight", "bfloat16")].message == ("unsupported: fake.Half has no bfloat16 "
                                                       "kernel")
    legacy = by[("Legacy.weight", "float32")]
    assert legacy.message == "spec entry applies to fake <1.0, not 1.0"
    assert legacy.checks == [] and legacy.n == 0


def test_fixed_deviation_no_longer_recorded_for_later_versions(fake_spec, fake_adapter_class):
    adapter = fake_adapter_class("2.0")
    plan = engine.build_plan(fake_spec, adapter, dtypes=["float32"], resolution=0.05,
                             match="Fixed.weight")
    (cell,) = plan.cells
    assert engine.evaluate(plan, cell, adapter).verdict == "pass"


# --------------------------------------------------------------------------- results files


def test_results_files(written, evaluated):
    directory, paths = written
    plan, cell_results = evaluated
    assert sorted(p.name for p in paths) == ["fake-cpu-bfloat16.json", "fake-cpu-float32.json"]
    runs = results.load(directory)
    assert [r["dtype"] for r in runs] == ["bfloat16", "float32"]
    for run in runs:
        assert run["framework"] == "fake" and run["spec"] == "fake"
        assert run["framework_version"] == "1.0" and run["device"] == "cpu"
        assert run["suite_sha"] == SHA and run["seed"] == 0
        assert run["alpha_per_check"] == pytest.approx(plan.alpha)
        assert len(run["cells"]) == len(cell_results) // 2
        for cell in run["cells"]:
            assert cell["verdict"] == EXPECTED[cell["entry"]][DTYPES.index(run["dtype"])]
    # strict JSON: infinite bounds of a normal are strings, not Infinity
    text = (directory / "fake-cpu-float32.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    cells = {c["entry"]: c for c in runs[1]["cells"]}
    assert cells["Scaled.weight"]["bounds"] == ["-inf", "inf"]
    assert cells["Deviant.weight"]["deviation"] == {
        "id": "missing-gain", "reason": "draws N(0, 1/fan_in): the gain is missing",
        "link": "https://example.invalid/issues/1"}


def test_load_rejects_a_broken_results_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json: not a results file"):
        results.load(tmp_path)


def test_report_cli(written, tmp_path, capsys):
    directory, _ = written
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(directory), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"initspec: wrote {out}\n"
    assert out.read_text() == report.render(results.load(directory))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.json").write_text("[")
    assert cli.main(["report", "--results", str(tmp_path / "broken"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("initspec: error: ") and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- the table


def test_table_header(table):
    assert table.startswith("# Compatibility table\n")
    assert report.LEGEND in table
    assert "## fake 1.0" in table
    assert "| Parameter | Spec | cpu float32 | cpu bfloat16 |" in table
    assert f"suite {SHA[:10]}" in table
    assert "Error budget 0.001 per run" in table
    assert "variance resolution ±5 %" in table


def test_table_cells(table):
    dense = row(table, "Dense.weight")
    assert dense[1].startswith("`uniform`: uniform(low=-0.05774, high=0.05774)")
    assert "Var = `1 / (3 * fan_in)`" in dense[1]
    for cell in dense[2:]:
        assert cell.startswith("✅ 0.9") or cell.startswith("✅ 1.0"), cell
    assert row(table, "Dense.bias")[2:] == ["✅ exact", "✅ exact"]
    assert row(table, "init.orthogonal")[2:] == ["✅ exact", "✅ exact"]
    for cell in row(table, "Scaled.weight")[2:]:
        assert cell.startswith("❌ ") and "variance" in cell and "ks" in cell
    for cell in row(table, "Deviant.weight")[2:]:
        assert cell.startswith("⚠️ ") and "variance" in cell
    assert [c[0] for c in row(table, "Fixed.weight")[2:]] == ["✅", "✅"]
    assert row(table, "Legacy.weight")[2:] == ["➖", "➖"]
    assert row(table, "Broken.weight")[2:] == ["💥", "💥"]
    half = row(table, "Half.weight")[2:]
    assert half[0].startswith("✅ ") and half[1] == "➖"


def test_verdict_counts(table):
    line = next(line for line in table.splitlines() if line.startswith("Verdicts: "))
    counts = {}
    for item in line.removeprefix("Verdicts: ").split(", "):
        _, verdict, count = item.split(" ")
        counts[verdict] = int(count)
    expected: dict[str, int] = {}
    for per_dtype in EXPECTED.values():
        for verdict in per_dtype:
            expected[verdict] = expected.get(verdict, 0) + 1
    expected["pass"] += 2  # init.orthogonal has two cases
    assert counts == expected


def test_findings(table):
    findings = table.split("### Findings (fake)")[1].split("###")[0]
    lines = [line for line in findings.splitlines() if line.startswith("- ")]
    # failures cell by cell; known deviations and skips grouped per deviation / reason
    failing = [line for line in lines if line.startswith("- **")]
    expected_failing = sum(v in ("fail", "error") for per in EXPECTED.values() for v in per)
    assert len(failing) == expected_failing
    assert not any("Dense.weight" in line for line in lines)
    scaled = next(line for line in lines if "/float32/Scaled.weight[fan_in=64]" in line)
    assert scaled.startswith("- **fake-1.0/cpu/float32/Scaled.weight[fan_in=64]** — ❌ fail: ")
    assert "variance: variance " in scaled and "(ratio 0.5" in scaled
    assert "💥 error: RuntimeError: kernel exploded" in findings
    deviant = [line for line in lines if "known deviation `missing-gain`" in line]
    assert len(deviant) == 1 and "in 2 cells, e.g. **fake-1.0/cpu/" in deviant[0]
    assert "variance: variance " in deviant[0]  # the evidence of one example cell
    assert any(line.startswith("- ➖ skip (unsupported: fake.Half has no bfloat16 kernel): 1 cells")
               for line in lines)
    assert any(line.startswith("- ➖ skip (spec entry applies to fake <1.0, not 1.0): 2 cells")
               for line in lines)
    deviations = table.split("### Known deviations (fake)")[1].split("###")[0]
    assert row(deviations, "old-missing-gain")[2:] == ["🆗 0/1", "🆗 0/1"]
    assert row(deviations, "missing-gain")[2:] == ["1/1", "1/1"]
    assert "draws N(0, 1/fan_in): the gain is missing ([upstream](https://example.invalid/" \
           "issues/1))" in deviations


def test_documentation_table(table):
    docs = table.split("### What fake's documentation claims, and where it happens")[1]
    assert "| `Dense.weight` | [U(-1/sqrt(in_features), 1/sqrt(in_features))]" \
           "(https://example.invalid/dense) | fake.py: Dense.reset |" in docs
    assert docs.count("| `init.orthogonal` |") == 1  # one row per entry, not per case


def test_all_pass_says_so(evaluated, tmp_path):
    plan, cell_results = evaluated
    passing = [r for r in cell_results if r.verdict == "pass"]
    results.write(passing, plan, tmp_path, sha=SHA)
    table = report.render(results.load(tmp_path))
    assert "Every cell conforms." in table
    assert "❌" not in table.split(report.LEGEND)[1]
