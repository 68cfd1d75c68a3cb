"""Read every results file, skip (with one line each) the ones that cannot be used, merge the rest.

The merged document is ``reports/compat.json`` (schema: spec/schema/compat.schema.json). Its cells
are compact: identity, verdict, the names of the failing checks and the fields other parts of the
suite add (``neutral``, ``fans``, ``conditions``, ``expect``, ``promises``, ``recipe``: copied when
present, never invented). What repeats across a column's dtypes is stated once: ``entries``
(documentation claim, link and source per column and entry) and ``deviations`` (reason and link
per id). Each check's message, the reproducer and the plot evidence stay in the results files
(each run names its file); the site carries the messages and reproducers as its cell details.

Results of another release (``<column>-<device>-<dtype>@<version>.json.gz``, `nox -s versions`)
are not table columns: ``versions`` lists their runs and what differs between the releases
measured (report/changes.py, "changed in").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from initspec import results
from initspec.loader import SPEC_DIR
from initspec.report import changes

COMPAT_VERSION = 1
RESULTS_VERSION = results.SCHEMA_VERSION  # files without the field predate it: version 1
OPTIONAL_FIELDS = ("neutral", "fans", "conditions", "expect", "promises", "recipe")
RUN_FIELDS = ("framework", "spec", "framework_version", "environment", "device", "dtype",
              "python", "platform", "suite_sha", "seed", "budget", "alpha_per_check",
              "resolution", "timestamp", "initspec")
VERDICTS = ("pass", "fail", "known-deviation", "skip", "error")


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SPEC_DIR / "schema" / name).read_text()))


@dataclass
class Loaded:
    runs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def problem(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The run in ``path``, or why it cannot be used (one line)."""
    if not path.is_file():
        return None, "missing (not a readable file)"
    try:  # the structure every consumer reads (one line naming the file), then the full schema
        run = results.load_file(path)
    except ValueError as exc:
        return None, str(exc).removeprefix(f"{path}: ")
    version = run.get("schema_version", RESULTS_VERSION)
    if version != RESULTS_VERSION:
        return None, (f"schema version {version!r}, this initspec reads {RESULTS_VERSION} "
                      "(re-run the column)")
    error = jsonschema.exceptions.best_match(validator("results.schema.json").iter_errors(run))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        return None, f"wrong structure at {where}: {error.message[:160]}"
    return run, None


def load_all(directory: Path) -> Loaded:
    """Every results file in ``directory`` (sorted), the usable ones and the skipped ones."""
    loaded = Loaded()
    for path in results.paths(directory):
        run, why = problem(path)
        if run is None:
            loaded.skipped.append((path, why or "unusable"))
        else:
            loaded.runs.append((path, run))
    return loaded


def docs_drift(cell: dict[str, Any]) -> bool:
    """CONTRACT: a promise the samples reject while the cell itself conforms."""
    return cell["verdict"] in ("pass", "known-deviation") and any(
        p.get("verdict") == "drift" for p in cell.get("promises") or [])


def _ratio(cell: dict[str, Any]) -> float | None:
    var = next((c for c in cell["checks"] if c["name"] == "variance"), None)
    ratio = var and var.get("stats", {}).get("ratio")
    return ratio if isinstance(ratio, int | float) else None


def compact_cell(cell: dict[str, Any], run_index: int, run: dict[str, Any]) -> dict[str, Any]:
    deviation = cell.get("deviation")
    out = {
        "id": cell["id"], "run": run_index, "column": run["framework"],
        "device": run["device"], "dtype": run["dtype"],
        **{k: cell.get(k) for k in ("entry", "case", "concept", "target", "param", "scheme",
                                    "family", "params", "shape", "variance_formula",
                                    "expected_variance", "select", "repeat",
                                    "verdict", "expected", "message", "n")},
        "deviation": deviation["id"] if deviation else None,
        "ratio": _ratio(cell),
        "failed": [c["name"] for c in cell["checks"] if not c["passed"]],
        "drift": docs_drift(cell),
        "has_evidence": bool(cell.get("evidence")),
    }
    out.update({k: cell[k] for k in OPTIONAL_FIELDS if cell.get(k) is not None})
    return out


def details(cell: dict[str, Any]) -> list[Any]:
    """What the site's detail view adds: [[name, passed, message] per check, reproducer]."""
    return [[[c["name"], c["passed"], c["message"]] for c in cell["checks"]],
            cell.get("reproducer") or ""]


def merge(loaded: Loaded) -> tuple[dict[str, Any], list[list[Any]]]:
    """The compat document (runs without their cells, skipped files, entries, deviations,
    compact cells) and the site's details of each cell, in the same order."""
    runs, cells, extra = [], [], []
    entries: dict[str, dict[str, Any]] = {}
    deviations: dict[str, dict[str, Any]] = {}
    order = sorted((pr for pr in loaded.runs if not results.named_version(pr[0].name)),
                   key=_run_order)
    others = sorted((pr for pr in loaded.runs if results.named_version(pr[0].name)),
                    key=_run_order)
    for index, (path, run) in enumerate(order):
        counts = {v: 0 for v in VERDICTS}
        for cell in run["cells"]:
            counts[cell["verdict"]] += 1
            cells.append(compact_cell(cell, index, run))
            extra.append(details(cell))
            entries.setdefault(f"{run['framework']}|{cell['entry']}", {
                k: cell.get(k) for k in ("docs_claim", "docs_url", "source")})
            if cell.get("deviation"):
                deviations.setdefault(cell["deviation"]["id"], {
                    k: cell["deviation"].get(k) for k in ("reason", "link")})
        runs.append(run_summary(path, run, counts))
    return {"schema_version": COMPAT_VERSION, "runs": runs,
            "skipped": [{"file": p.name, "reason": why} for p, why in loaded.skipped],
            "entries": entries, "deviations": deviations, "cells": cells,
            "versions": versions(order, others)}, extra


def _run_order(path_run: tuple[Path, dict[str, Any]]) -> tuple[Any, ...]:
    run = path_run[1]
    return (run["framework"], run["device"], DTYPE_ORDER.get(run["dtype"], 9),
            run["framework_version"])


def run_summary(path: Path, run: dict[str, Any], counts: dict[str, int] | None = None
                ) -> dict[str, Any]:
    """A run without its cells: where it came from, what it measured, its verdict counts."""
    if counts is None:
        counts = {v: 0 for v in VERDICTS}
        for cell in run["cells"]:
            counts[cell["verdict"]] += 1
    return {"file": path.name, **{k: run.get(k) for k in RUN_FIELDS},
            "deviations": run.get("deviations", []), "counts": counts}


def versions(published: list[tuple[Path, dict[str, Any]]],
             others: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """The other releases' runs and what differs between every release measured per column."""
    view = changes.diff([run for _, run in published + others])
    # a row links to its newer cell on the site when that cell is in the table
    shown = {cell["id"] for _, run in published for cell in run["cells"]}
    for row in view["changed"]:
        if row["example"]["id"] not in shown:
            row["example"]["id"] = None
    return {"runs": [run_summary(path, run) for path, run in others], **view}


DTYPE_ORDER = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}
