"""End to end without a framework: plan -> evaluate (numpy fake adapter) -> results -> report
(compat.json, the short COMPATIBILITY.md, the site's files). The site in a browser:
tests/test_site_browser.py; the evidence for plots: tests/test_site_evidence.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_run, write_run

from initspec import budget, cli, engine, report, results
from initspec.report import packing

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
def reported(written, tmp_path_factory):
    """`initspec report` on the fake results: (output directory, compat document, markdown)."""
    directory, _ = written
    out = tmp_path_factory.mktemp("reports")
    assert cli.main(["report", "--results", str(directory),
                     "--out", str(out / "COMPATIBILITY.md")]) == 0
    # compat.json stores what the dtypes repeat once: a reader expands it (report.packing)
    return out, packing.expand(json.loads((out / "compat.json").read_text())), \
        (out / "COMPATIBILITY.md").read_text()


@pytest.fixture(scope="module")
def table(reported):
    return reported[2]


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
    assert sorted(p.name for p in paths) == ["fake-cpu-bfloat16.json.gz",
                                             "fake-cpu-float32.json.gz"]
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
    text = results.read_text(directory / "fake-cpu-float32.json.gz")
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


def test_report_cli_writes_everything(written, tmp_path, capsys):
    directory, _ = written
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(directory), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"initspec: wrote {out}\n"
    assert captured.err == ""
    for name in ("compat.json", "site/index.html", "site/data.js", "site/site.js",
                 "site/site.css"):
        assert (tmp_path / name).is_file(), name
    # one plot per cell with evidence, none for the rest
    compat = json.loads((tmp_path / "compat.json").read_text())
    with_evidence = [c for c in compat["cells"] if c["has_evidence"]]
    assert with_evidence and all(c["plot"] for c in with_evidence)
    assert all(c["plot"] is None for c in compat["cells"] if not c["has_evidence"])
    assert len(list((tmp_path / "site" / "plots").glob("*.png"))) == len(
        {c["plot"] for c in with_evidence})


def test_report_cli_without_plots_draws_none_and_the_site_says_so(written, tmp_path, capsys):
    directory, _ = written
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(directory), "--out", str(out), "--no-plots"]) == 0
    compat = json.loads((tmp_path / "compat.json").read_text())
    assert any(c["has_evidence"] for c in compat["cells"])
    assert all(c["plot"] is None for c in compat["cells"])
    assert not list((tmp_path / "site").glob("plots/*.png"))
    assert "initspec report --no-plots" in (tmp_path / "site" / "site.js").read_text()


def test_compat_is_valid_and_merged(reported, written):
    out, compat, _ = reported
    report.merge.validator("compat.schema.json").validate(
        json.loads((out / "compat.json").read_text()))  # the file as written, packed
    runs = results.load(written[0])
    assert [(r["framework"], r["dtype"]) for r in compat["runs"]] == [
        ("fake", "float32"), ("fake", "bfloat16")]  # framework, device, float32 first
    assert len(compat["cells"]) == sum(len(r["cells"]) for r in runs)
    by = {(c["entry"], c["dtype"]): c for c in compat["cells"]}
    scaled = by[("Scaled.weight", "float32")]
    assert scaled["verdict"] == "fail" and {"variance", "ks"} <= set(scaled["failed"])
    assert by[("Deviant.weight", "bfloat16")]["deviation"] == "missing-gain"
    assert compat["deviations"]["missing-gain"]["link"] == "https://example.invalid/issues/1"
    assert compat["entries"]["fake|Dense.weight"]["docs_url"] == "https://example.invalid/dense"
    assert 0.9 < by[("Dense.weight", "float32")]["ratio"] < 1.1
    # fields other parts of the suite add are copied as the results state them, never invented
    raw = {c["id"]: c for r in runs for c in r["cells"]}
    for cell in compat["cells"]:
        for name in report.merge.OPTIONAL_FIELDS:
            if raw[cell["id"]].get(name) is None:
                assert name not in cell
            else:
                assert cell[name] == raw[cell["id"]][name]
        assert "recipe" not in cell and "promises" not in cell
        assert cell["drift"] is False


def test_results_file_validates_against_its_schema(written):
    for path in written[1]:
        run = json.loads(results.read_text(path))
        assert run["schema_version"] == results.SCHEMA_VERSION
        report.merge.validator("results.schema.json").validate(run)


def test_markdown_is_short_and_links_into_the_site(reported):
    _, compat, table = reported
    assert table.startswith("# Compatibility table\n")
    assert len(table.encode()) < 200_000
    assert "(site/index.html)" in table
    assert f"{len(compat['cells'])} cells in 2 runs" in table
    assert "## Porting recipes" in table and "No run in these results contains porting" in table
    assert "No documented promise is contradicted" in table
    assert "### fake 1.0" in table


def test_markdown_verdict_counts(table):
    rows = [line for line in table.splitlines() if line.startswith("| fake 1.0 cpu ")]
    assert len(rows) == 2
    counts: dict[str, int] = {}
    for line in rows:
        items = line.split("|")[2].split()  # "✅ 12 ❌ 2 ..."
        for symbol, count in zip(items[::2], items[1::2], strict=True):
            counts[symbol] = counts.get(symbol, 0) + int(count)
    expected: dict[str, int] = {}
    for per_dtype in EXPECTED.values():
        for verdict in per_dtype:
            expected[report.markdown.SYMBOL[verdict]] = expected.get(
                report.markdown.SYMBOL[verdict], 0) + 1
    expected["✅"] += 2  # init.orthogonal has two cases
    assert counts == expected


def test_markdown_findings(table):
    section = table.split("### fake 1.0")[1]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    failing = [line for line in lines if "— ❌ fail" in line or "— 💥 error" in line]
    assert len(failing) == sum(v in ("fail", "error") for per in EXPECTED.values() for v in per)
    scaled = next(line for line in failing if "/float32/Scaled.weight[fan_in=64]" in line)
    assert "variance: variance " in scaled
    ratio = float(scaled.split("(ratio ")[1].split(",")[0])  # the He gain forgotten: half
    assert ratio == pytest.approx(0.5, abs=0.005)
    assert "site/index.html#cell=fake-1.0%2Fcpu%2Ffloat32%2FScaled.weight" in scaled
    assert "💥 error: RuntimeError: kernel exploded" in section
    gone = next(line for line in lines if "`old-missing-gain`" in line)
    assert "reproduced in 0 of 2 cells 🆗" in gone
    kept = next(line for line in lines if "`missing-gain`" in line)
    assert "reproduced in 2 of 2 cells." in kept and "([upstream](https://example.invalid/" in kept
    assert "- ➖ skip (unsupported: fake.Half has no bfloat16 kernel): 1 cells" in lines
    assert "- ➖ skip (spec entry applies to fake <1.0, not 1.0): 2 cells" in lines


# --------------------------------------------------------------------------- bad results files


@pytest.fixture
def no_plots(monkeypatch):
    """Skipping is about files, not pictures: drawing the fake run's plots again per case would
    only cost time (the plots are tested in test_report_cli_writes_everything)."""
    monkeypatch.setattr(report.site, "draw_plots", lambda out, evidence: {})


def _copy_good(written, directory):
    for path in written[1]:
        (directory / f"{results.stem(path.name)}.json").write_text(results.read_text(path))


@pytest.mark.parametrize("name, content, reason", [
    ("truncated.json", lambda good: good[: len(good) // 2], "not a results file ("),
    ("version.json", lambda good: good.replace('"schema_version": 1', '"schema_version": 99'),
     "schema version 99, this initspec reads 1"),
    ("structure.json", lambda good: good.replace('"cells": [', '"cells": {"x": [', 1)
     .replace("\n ]\n}", "\n ]}\n}"), "not a results file (no list field 'cells')"),
    ("array.json", lambda good: "[1, 2]", "not a results file (a JSON list"),
    ("verdict.json", lambda good: good.replace('"verdict":"pass"', '"verdict":"green"', 1),
     "wrong structure at cells/"),
])
def test_a_bad_results_file_is_named_and_skipped(written, tmp_path, capsys, no_plots, name,
                                                 content, reason):
    directory = tmp_path / "results"
    directory.mkdir()
    _copy_good(written, directory)
    good = results.read_text(written[1][0])
    bad = content(good)
    assert bad != good
    (directory / name).write_text(bad)
    out = tmp_path / "out" / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(directory), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # the skipped file, then the error: one line each
    assert err[0].startswith(f"initspec: skipped {directory / name}: {reason}"), err[0]
    assert err[1].startswith("initspec: error: 1 results file(s) skipped")
    # the rest is still rendered
    compat = json.loads((tmp_path / "out" / "compat.json").read_text())
    assert len(compat["runs"]) == 2 and compat["skipped"][0]["file"] == name
    assert f"`{name}`" in out.read_text()


def test_a_missing_results_file_is_named_and_skipped(written, tmp_path, capsys, no_plots):
    directory = tmp_path / "results"
    directory.mkdir()
    _copy_good(written, directory)
    (directory / "gone.json").symlink_to(tmp_path / "nowhere.json")
    assert cli.main(["report", "--results", str(directory),
                     "--out", str(tmp_path / "o" / "C.md")]) == 2
    err = capsys.readouterr().err
    assert f"initspec: skipped {directory / 'gone.json'}: missing" in err


@pytest.mark.parametrize("setup", ["absent", "empty", "one-bad", "all-bad"])
def test_no_results_is_an_error(tmp_path, capsys, setup):
    directory = tmp_path / "results"
    if setup != "absent":
        directory.mkdir()
    for name in {"one-bad": ["x.json"], "all-bad": ["x.json", "y.json"]}.get(setup, []):
        (directory / name).write_text("[]")
    out = tmp_path / "out" / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(directory), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    if setup == "one-bad":  # the file's own reason is the one line
        assert err == [f"initspec: error: {directory / 'x.json'}: not a results file "
                       "(a JSON list, not an object)"]
    elif setup == "all-bad":  # each named, then the error
        assert [line.split()[1] for line in err] == ["skipped", "skipped", "error:"]
        assert err[-1].startswith("initspec: error: no usable results files in ")
    else:  # says what is missing and where results are expected
        missing = ("is not a directory" if setup == "absent"
                   else "holds no results files (*.json.gz, *.json)")
        assert err == [err[-1]] and missing in err[-1] and "--results DIR" in err[-1]
    assert not out.exists() and not (tmp_path / "out" / "compat.json").exists()


def test_a_truncated_compressed_results_file_is_named_and_skipped(written, tmp_path, capsys,
                                                                   no_plots):
    directory = tmp_path / "results"
    directory.mkdir()
    _copy_good(written, directory)
    data = written[1][0].read_bytes()
    (directory / "cut.json.gz").write_bytes(data[: len(data) // 2])
    assert cli.main(["report", "--results", str(directory),
                     "--out", str(tmp_path / "out" / "t.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (f"initspec: skipped {directory / 'cut.json.gz'}: not a results file "
                      "(truncated or not gzip data)")


def test_merge_copies_other_helpers_fields_and_derives_drift(written):
    run = json.loads(results.read_text(written[1][0]))
    cell = next(c for c in run["cells"] if c["verdict"] == "pass")
    cell["neutral"] = {"form": "VarianceScaling(1/3, fan_in, uniform)"}
    cell["promises"] = [{"id": "doc", "verdict": "drift"}]
    compact = report.merge.compact_cell(cell, 0, run)
    assert compact["neutral"] == cell["neutral"] and compact["drift"] is True
    cell["verdict"] = "fail"  # a failing cell is a failure, not docs drift
    assert report.merge.compact_cell(cell, 0, run)["drift"] is False
    cell["verdict"], cell["promises"][0]["verdict"] = "pass", "holds"
    assert report.merge.compact_cell(cell, 0, run)["drift"] is False


def test_markdown_shows_verified_recipes_and_docs_drift(written, tmp_path, no_plots):
    """With the fields the recipes and drift parts write: the pair counts, the verified call of the
    key concepts, and the drift row with its upstream link."""
    from site_data import CALL, annotate, recipe, second_column

    directory = tmp_path / "results"
    directory.mkdir()
    for path in written[1]:
        run = json.loads(results.read_text(path))
        other = second_column(run)
        for r in (run, other):
            annotate(r)
        recipe(other)
        write_run(directory / path.name, run)
        write_run(directory / path.name.replace("fake-", "fake2-"), other)
    text = report.render(directory)
    recipes = text.split("## Porting recipes")[1].split("## Docs drift")[0]
    assert "| fake | 1/1 | " in recipes  # fake -> fake2: one generated, one verified
    assert f"| `dense.kernel` | fake2 | `{CALL}` | one initializer per layer |" in recipes
    drift = text.split("## Docs drift")[1].split("## Frameworks")[0]
    rows = [line for line in drift.splitlines() if line.startswith("| fake |")]
    assert len(rows) == 1  # once per column, entry and promise, with the dtypes it was seen in
    assert "[He et al. 2015](https://example.invalid/he) (provenance)" in rows[0]
    assert rows[0].endswith("| 1e-30 | float32, bfloat16 |")
    # a recipe whose run fails is not shown as a call
    for path in directory.glob("fake2-*.json.gz"):
        run = read_run(path)
        for cell in run["cells"]:
            if cell.get("recipe"):
                cell["verdict"] = "fail"
        write_run(path, run)
    recipes = report.render(directory).split("## Porting recipes")[1].split("## Docs drift")[0]
    assert CALL not in recipes and "| fake | 0/1 | " in recipes and "not verified" in recipes


# --------------------------------------------------------------------------- the calibration line


def _ledger(path, red_seeds=(), seeds=(1,)):
    """A ledger of clean column runs of every published column at ``seeds`` (the current verdict
    epoch, published settings), each red at ``red_seeds`` (a variance fail)."""
    from initspec import budget, calibration

    ledger = calibration.empty_ledger()
    for seed in seeds:
        for column in budget.PUBLISHED_COLUMNS:
            red = [{"kind": "cell", "cell": f"{column}-1.0/cpu/float32/x", "file": "x.json",
                    "verdict": "fail", "expected": "pass", "deviation": None, "message": "m",
                    "checks": [{"name": "variance", "p_value": 1e-9, "alpha": 1e-8,
                                "stats": {"z": 6.1}, "message": "m"}]}
                   ] if seed in red_seeds and column == "torch" else []
            ledger["runs"].append({
                "seed": seed, "column": column, "framework_version": "1.0", "environment": {},
                "suite_sha": SHA, "verdict_epoch": engine.VERDICT_EPOCH, "epoch_from": "file",
                "budget": budget.column_budget(engine.DEFAULT_BUDGET, column),
                "alpha_per_check": 1e-8, "resolution": engine.DEFAULT_RESOLUTION,
                "devices": ["cpu"], "dtypes": ["float32"], "files": [f"{column}.json"],
                "cells": 1, "planned_cells": 1, "verdicts": {"fail" if red else "pass": 1},
                "cell_seconds": 1.0, "wall_seconds": 1.0, "timestamp": "2026-12-01T00:00:00",
                "added": "2026-12-01T00:00:00", "red": red})
    calibration.write_ledger(path, ledger)


def test_the_headers_state_the_calibration_ledger(written, tmp_path, no_plots):
    _ledger(tmp_path / "calibration.json", seeds=(1, 2))
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(written[0]), "--out", str(out)]) == 0
    line = (f"Calibration (calibration.json, verdict epoch {engine.VERDICT_EPOCH}): designed "
            f"false-failure probability p ≤ 0.001 (whole published run, "
            f"{len(budget.PUBLISHED_COLUMNS)} columns); observed 0 "
            "red full runs in 2 (column runs at this epoch: torch 2, keras-tensorflow 2,")
    table = out.read_text()
    assert f"**{line}" in table
    assert ("Consistent with the design: exact binomial P(X >= 0) = 1 >= 0.05 for X ~ "
            "Bin(N = 2, p = 0.001)") in table
    compat = json.loads((tmp_path / "compat.json").read_text())
    assert compat["calibration"]["full_runs"] == 2 and compat["calibration"]["consistent"]
    html = (tmp_path / "site" / "index.html").read_text()
    assert f'<p class="calibration" id="calibration">{line}' in html
    assert "P(X &gt;= 0) = 1 &gt;= 0.05 for X ~ Bin(N = 2" in html  # escaped, not raw


def test_the_headers_say_when_the_observation_contradicts_the_design(written, tmp_path,
                                                                      no_plots):
    _ledger(tmp_path / "calibration.json", seeds=(1, 2), red_seeds=(2,))
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(written[0]), "--out", str(out)]) == 0
    table = out.read_text()
    assert "observed 1 red full runs in 2" in table
    assert "NOT consistent with the design" in table
    assert "P(X >= 1) = 0.002 < 0.05 for X ~ Bin(N = 2, p = 0.001)" in table
    assert "NOT consistent with the design" in (tmp_path / "site" / "index.html").read_text()


def test_no_ledger_no_line_and_a_broken_one_is_an_error(written, tmp_path, no_plots, capsys):
    out = tmp_path / "COMPATIBILITY.md"
    assert cli.main(["report", "--results", str(written[0]), "--out", str(out)]) == 0
    assert "Calibration (" not in out.read_text()
    assert "calibration" not in json.loads((tmp_path / "compat.json").read_text())
    assert 'id="calibration"' not in (tmp_path / "site" / "index.html").read_text()
    capsys.readouterr()
    (tmp_path / "calibration.json").write_text("{")
    out.unlink()
    assert cli.main(["report", "--results", str(written[0]), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        f"initspec: error: {tmp_path / 'calibration.json'}: not a calibration ledger (")
    assert not out.exists()  # checked before anything is written


def test_an_empty_porting_cell_says_why_it_is_empty():
    from initspec.report import unported

    rows = unported.unported([{"framework": "equinox", "spec": "equinox"}])
    keyed = {(r["concept"], r["from"], r["to"]): r["why"] for r in rows}
    # Equinox has no plain RNN layer; Flax's orthogonal recurrent kernels are not ported
    assert keyed[("rnn.kernel", "haiku", "equinox")] == "B has no entry of this concept"
    assert keyed[("lstm.recurrent_kernel", "flax", "equinox")] == \
        "family orthogonal is not ported"
    assert ("dense.kernel", "torch", "equinox") not in keyed  # it has a recipe cell
    assert {r["to"] for r in rows} == {"equinox"}
    assert unported.unported([{"framework": "mine", "spec": "not-shipped"}]) == []
    reasons = unported.by_reason(rows)
    assert sum(n for _, n, _ in reasons) == len(rows)
    assert [n for _, n, _ in reasons] == sorted((n for _, n, _ in reasons), reverse=True)


def test_the_committed_reports_fit_their_size_budget():
    """Issue 8: the committed reports/ (results, compat.json, table, site with its plots, audits)
    stay under 40 MB in all, so a clone stays small as columns and versions are added."""
    root = Path(__file__).resolve().parents[1] / "reports"
    sizes = {p: p.stat().st_size for p in root.rglob("*") if p.is_file()}
    total = sum(sizes.values())
    biggest = sorted(sizes, key=sizes.get, reverse=True)[:3]
    assert total < 40_000_000, (f"reports/ holds {total / 1e6:.1f} MB (budget 40 MB); largest: "
                                + ", ".join(f"{p.relative_to(root)} {sizes[p] / 1e6:.1f} MB"
                                            for p in biggest))


def test_compat_json_stores_repeated_values_once_and_reads_back_whole():
    from initspec.report import packing

    def cell(dtype, form, says, **more):
        return {"column": "c", "entry": "e", "case": "k", "dtype": dtype, "shape": [3, 2],
                "neutral": {"form": form}, **more,
                "promises": [{"id": "p", "by": "docs", "says": says, "verdict": "holds"}]}

    compat = {"runs": [], "cells": [cell("float32", "U(0, 1)", "uniform", fans={"fan_in": 2}),
                                    cell("float16", "U(0, 1)", "uniform"),
                                    cell("bfloat16", "N(0, 1)", "uniform")]}
    packed = packing.pack(compat)
    # only what every cell of the key holds alike is shared: the shape and the promise's text,
    # not the neutral form (bfloat16's differs) nor the fans (two cells lack them)
    assert packed["shared"] == {"cases": {"c|e|k": {"shape": [3, 2]}},
                                "promises": {"c|e|p": {"by": "docs", "says": "uniform"}}}
    assert all("shape" not in c and c["promises"] == [{"id": "p", "verdict": "holds"}]
               for c in packed["cells"])
    assert packing.expand(packed) == compat
    assert compat["cells"][0]["shape"] == [3, 2]  # pack copies, never edits
