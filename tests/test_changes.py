"""The "changed in" view (report/changes.py): several releases of a column, diffed cell by cell.

Synthetic results envelopes for the diff's rules, then the real CLI on the fake column's results
written twice (one copy as an older release) with a difference planted, and without one."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from conftest import read_run
from test_cli import FAKE, initspec

from initspec import results
from initspec.report import changes

UPSTREAM = ({"spec": "lib", "entries": ["Dense.kernel"], "since": "2.0.0",
             "link": "https://example.org/pr/1", "summary": "fans from the equation"},)


def _cell(entry: str, case: str = "n=4", *, verdict: str = "pass", fans=None,
          variance: float = 0.5, message: str = "", failed: tuple[str, ...] = ()) -> dict:
    return {"id": f"x/{entry}[{case}]", "entry": entry, "case": case, "verdict": verdict,
            "message": message, "fans": fans, "scheme": "glorot_uniform",
            "expected_variance": variance, "bounds": None, "deviation": None,
            "checks": [{"name": "variance", "passed": "variance" not in failed},
                       *({"name": n, "passed": False} for n in failed if n != "variance")]}


def _run(version: str, cells: list[dict], dtype: str = "float32") -> dict:
    return {"framework": "lib-col", "spec": "lib", "framework_version": version,
            "device": "cpu", "dtype": dtype, "cells": cells}


def _base() -> list[dict]:
    return [_cell("Dense.kernel", fans={"fan_in": 4, "fan_out": 8}),
            _cell("Dense.bias", variance=0.0), _cell("Embedding", variance=1.0)]


def test_identical_releases_give_no_change_and_count_every_entry():
    view = changes.diff([_run("1.0", _base()), _run("2.0", _base())], known=UPSTREAM)
    assert view["changed"] == []
    assert view["releases"] == {"lib-col": ["1.0", "2.0"]}
    assert view["identical"] == [{"column": "lib-col", "spec": "lib", "from": "1.0", "to": "2.0",
                                  "entries": 3, "cells": 3, "changed": 0, "not_compared": 0}]


def test_a_planted_fan_change_is_found_with_its_first_release_and_upstream():
    new = _base()
    new[0] = _cell("Dense.kernel", fans={"fan_in": 4, "fan_out": 2}, variance=1 / 3)
    view = changes.diff([_run("2.0", new), _run("1.0", _base())], known=UPSTREAM)
    [row] = view["changed"]
    assert (row["entry"], row["from"], row["to"]) == ("Dense.kernel", "1.0", "2.0")
    assert row["what"] == ["distribution", "fan rule"]
    assert row["example"]["before"]["fans"] == {"fan_in": 4, "fan_out": 8}
    assert row["upstream"]["link"] == "https://example.org/pr/1"
    assert view["identical"][0]["entries"] == 2 and view["identical"][0]["changed"] == 1


def test_a_verdict_change_is_found_and_shows_the_failing_checks():
    new = _base()
    new[2] = _cell("Embedding", verdict="fail", variance=1.0, failed=("variance",))
    [row] = changes.diff([_run("1.0", _base()), _run("2.0", new)], known=())["changed"]
    assert row["entry"] == "Embedding" and row["what"] == ["verdict"]
    assert row["example"]["after"]["failed"] == ["variance"]
    assert row["upstream"] is None  # none recorded for this entry: no link is invented


def test_a_known_deviation_seen_in_one_release_only_is_not_a_change():
    """pass and known-deviation both conform: whether a 16-bit deviation's checks fire in one
    cell depends on its sample size (the plan's), not on the release."""
    old, new = _base(), _base()
    old[1]["deviation"] = new[1]["deviation"] = "grid"
    new[1] = {**new[1], "verdict": "known-deviation",
              "checks": [{"name": "at-upper-bound", "passed": False}]}
    view = changes.diff([_run("1.0", old), _run("2.0", new)], known=())
    assert view["changed"] == [] and view["identical"][0]["entries"] == 3
    new[1]["deviation"] = "another"  # a deviation the spec assigns differently is a change
    [row] = changes.diff([_run("1.0", old), _run("2.0", new)], known=())["changed"]
    assert row["what"] == ["known deviation"]


def test_the_upstream_change_must_fall_between_the_two_releases():
    new = _base()
    new[0] = _cell("Dense.kernel", fans={"fan_in": 4, "fan_out": 2})
    [row] = changes.diff([_run("2.1", _base()), _run("2.2", new)], known=UPSTREAM)["changed"]
    assert row["upstream"] is None  # UPSTREAM's change is in 2.0, before both


def test_version_qualified_entries_pair_and_out_of_range_twins_are_not_measured():
    skip = f"{changes.VERSION_SKIP}lib >=2, not 1.0"
    old = [_cell("Dense.kernel@<2", fans={"fan_in": 32, "fan_out": 64}),
           _cell("Dense.kernel", verdict="skip", message=skip, fans={"fan_in": 4})]
    new = [_cell("Dense.kernel@<2", verdict="skip", message=skip.replace(">=2", "<2")),
           _cell("Dense.kernel", fans={"fan_in": 4})]
    [row] = changes.diff([_run("1.0", old), _run("2.0", new)], known=UPSTREAM)["changed"]
    assert row["entries"] == {"from": "Dense.kernel@<2", "to": "Dense.kernel"}
    assert row["what"] == ["fan rule"] and row["upstream"]["since"] == "2.0.0"


def test_an_entry_measured_in_one_release_only_is_not_a_change():
    view = changes.diff([_run("1.0", _base()), _run("2.0", _base()[:2])], known=())
    assert view["changed"] == []
    assert view["identical"][0]["entries"] == 2 and view["identical"][0]["not_compared"] == 1


def test_three_releases_compare_consecutive_pairs():
    mid = _base()
    mid[1] = _cell("Dense.bias", variance=0.1)
    view = changes.diff([_run("1.0", _base()), _run("1.5", mid), _run("2.0", mid)], known=())
    assert [(r["from"], r["to"]) for r in view["changed"]] == [("1.0", "1.5")]
    assert [(i["from"], i["to"], i["entries"]) for i in view["identical"]] == [
        ("1.0", "1.5", 2), ("1.5", "2.0", 3)]


def test_the_qualifier_is_only_a_version_specifier():
    assert changes.entry_key("layers.EinsumDense.kernel(ab,bcd->acd)@<3.15") == \
        "layers.EinsumDense.kernel(ab,bcd->acd)"
    assert changes.entry_key("a@b") == "a@b"


def test_changes_yaml_is_well_formed_and_names_real_entries():
    from initspec.loader import SPEC_DIR, load_framework

    rows = changes.upstream_changes()
    assert rows, "spec/changes.yaml records the Keras 3.15 EinsumDense change"
    for row in rows:
        names = {changes.entry_key(c.entry.name)
                 for c in load_framework(SPEC_DIR / "frameworks" / f"{row['spec']}.yaml").cases}
        assert set(row["entries"]) <= names


def test_file_names_carry_the_version_only_when_asked():
    assert results.file_name("keras-jax", "cpu", "float32") == "keras-jax-cpu-float32.json.gz"
    named = results.file_name("keras-jax", "cpu", "float32", "3.14.1")
    assert named == "keras-jax-cpu-float32@3.14.1.json.gz"
    assert results.named_version(named) == "3.14.1"
    assert results.named_version("keras-jax-cpu-float32.json") is None


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> Path:
    """The fake column run twice through the CLI: once as published, once --name-version."""
    tmp = tmp_path_factory.mktemp("releases")
    for name, extra in (("published", ()), ("named", ("--name-version",))):
        run = initspec("run", "--framework", "fake", "--spec", str(FAKE), "--resolution", "0.2",
                       "--no-progress", "--results", str(tmp / name), "--report", "", *extra,
                       cwd=tmp)
        assert run.returncode in (1, 3), run.stdout + run.stderr  # red cells, by design
    return tmp


def _merged(tmp: Path, plant: bool) -> Path:
    """One results folder: the published files and the named ones relabelled as release 0.9,
    with one cell's fan rule changed when ``plant``."""
    folder = tmp / ("planted" if plant else "same")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(tmp / "published", folder)
    for path in sorted((tmp / "named").glob("*@*.json.gz")):
        run = read_run(path)
        run["framework_version"] = "0.9"
        if plant and run["dtype"] == "float32":
            cell = next(c for c in run["cells"] if c["verdict"] == "pass")
            cell["fans"] = {"fan_in": 123, "fan_out": 7}
        stem = path.name.split("@")[0]
        (folder / f"{stem}@0.9.json").write_text(json.dumps(copy.deepcopy(run)))
    return folder


def _report(folder: Path) -> tuple[dict, str]:
    out = folder.parent / f"{folder.name}-out" / "COMPATIBILITY.md"
    report = initspec("report", "--results", str(folder), "--out", str(out), cwd=folder.parent)
    assert report.returncode == 0, report.stdout + report.stderr
    return json.loads((out.parent / "compat.json").read_text()), out.read_text()


def folder_out(tmp: Path, name: str) -> Path:
    return tmp / f"{name}-out"


def test_the_cli_names_results_by_version(two_releases):
    named = sorted(p.name for p in (two_releases / "named").glob("*.json.gz"))
    assert named and all("@" in n for n in named)
    assert not any("@" in p.name for p in (two_releases / "published").glob("*.json.gz"))


def test_the_report_finds_a_planted_change_and_keeps_older_runs_out_of_the_table(two_releases):
    compat, markdown = _report(_merged(two_releases, plant=True))
    assert all("@" not in run["file"] for run in compat["runs"])
    assert {r["framework_version"] for r in compat["versions"]["runs"]} == {"0.9"}
    [row] = compat["versions"]["changed"]
    assert row["what"] == ["fan rule"] and (row["from"], row["to"]) == ("0.9", "1.0")
    assert row["example"]["before"]["fans"] == {"fan_in": 123, "fan_out": 7}
    assert "fan_in: 123" in markdown and "| fake | " in markdown
    site = (folder_out(two_releases, "planted") / "site" / "index.html").read_text()
    assert "1 entries differ" in site and "fan_in: 123" in site


def test_the_report_says_identical_when_nothing_differs(two_releases):
    compat, markdown = _report(_merged(two_releases, plant=False))
    assert compat["versions"]["changed"] == []
    [same] = compat["versions"]["identical"]
    assert same["entries"] > 0 and same["changed"] == 0
    assert f"fake: {same['entries']} entries identical across 0.9 and 1.0" in markdown
    site = (folder_out(two_releases, "same") / "site" / "index.html").read_text()
    assert "0 entries differ" in site and "entries identical across 0.9 and 1.0" in site
