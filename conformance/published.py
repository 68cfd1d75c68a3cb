"""A compact copy of the published verdicts, shipped with the package.

``reports/results/*.json`` hold every check of every cell (15 MB); ``initspec explain`` needs only
each cell's verdict. :func:`write_published` condenses them into ``published/verdicts.json``
(package data, so an installed ``initspec`` answers offline): per spec, entry, case and run
(column × device × dtype, with the framework version), the verdict, the observed / expected
variance ratio, the known deviation's id and the documented promises' verdicts. A test keeps the
copy in sync with ``reports/results``; ``initspec report`` rewrites it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).with_name("published") / "verdicts.json"
FORMAT = 1
RESULTS_HINT = ("results are <column>-<device>-<dtype>.json.gz files written by `initspec run` "
                "(in a checkout: reports/results/); pass --results DIR")


class NoResults(ValueError):
    """There are no results files where they were expected; the message is one line."""


def require_results(results_dir: Path) -> list[Path]:
    """The results files in ``results_dir``; :class:`NoResults` when there are none."""
    from initspec import results

    files = results.paths(results_dir)
    if not files:
        where = ("is not a directory" if not results_dir.is_dir()
                 else "holds no results files (*.json.gz, *.json)")
        raise NoResults(f"{results_dir} {where}: {RESULTS_HINT}")
    return files


def _ratio(cell: dict[str, Any]) -> float | None:
    check = next((c for c in cell.get("checks", []) if c.get("name") == "variance"), None)
    ratio = (check or {}).get("stats", {}).get("ratio")
    return round(ratio, 4) if isinstance(ratio, int | float) else None


def _row(run: int, cell: dict[str, Any]) -> list[Any]:
    """[run, verdict, variance ratio, deviation id, {promise id: verdict}] (trailing Nones cut)."""
    deviation = (cell.get("deviation") or {}).get("id")
    promises = {p["id"]: p["verdict"] for p in cell.get("promises") or []} or None
    row = [run, cell["verdict"], _ratio(cell), deviation, promises]
    while row[-1] is None:
        row.pop()
    return row


def build(results_dir: Path) -> dict[str, Any]:
    """The compact copy of every results file in ``results_dir``."""
    from initspec.results import load

    require_results(results_dir)
    runs: list[dict[str, Any]] = []
    cells: dict[str, dict[str, dict[str, list[list[Any]]]]] = {}
    for i, run in enumerate(load(results_dir)):
        try:
            spec = run.get("spec") or run["framework"]
            runs.append({"column": run["framework"], "spec": spec,
                         "version": run["framework_version"], "device": run["device"],
                         "dtype": run["dtype"], "timestamp": run.get("timestamp"),
                         "seed": run.get("seed")})
            for cell in run["cells"]:
                entry = cells.setdefault(spec, {}).setdefault(cell["entry"], {})
                entry.setdefault(cell["case"], []).append(_row(i, cell))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{results_dir}: run {i} is not a results file "
                             f"(missing {exc})") from None
    return {"format": FORMAT, "runs": runs, "cells": cells}


def dumps(data: dict[str, Any]) -> str:
    """Deterministic text, one line per entry: small, and diffs show what changed."""
    runs = ",\n  ".join(json.dumps(r, sort_keys=True) for r in data["runs"])
    specs = []
    for spec, entries in sorted(data["cells"].items()):
        lines = ",\n   ".join(f"{json.dumps(name)}: {json.dumps(cases, separators=(',', ':'))}"
                              for name, cases in sorted(entries.items()))
        specs.append(f"  {json.dumps(spec)}: {{\n   {lines}\n  }}")
    cells = ",\n".join(specs)
    return (f'{{\n "format": {data["format"]},\n "runs": [\n  {runs}\n ],\n'
            f' "cells": {{\n{cells}\n }}\n}}\n')


def write_published(results_dir: Path, out: Path | None = None) -> Path:
    """Condense ``results_dir`` into ``out`` (default: the copy beside the results' checkout,
    <checkout>/conformance/published/verdicts.json, else this package's own)."""
    out = out or checkout_copy(results_dir) or PUBLISHED
    text = dumps(build(results_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    # atomic, and a file of its own per writer: CI's parallel runs each rewrite the copy
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".verdicts-", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the copy private
    os.replace(tmp, out)
    return out


def update_published(results_dir: Path) -> Path | None:
    """Rewrite the checkout's copy from ``results_dir`` (``initspec report`` calls this); None,
    writing nothing, when the results are not in a checkout."""
    out = checkout_copy(results_dir)
    return write_published(results_dir, out) if out else None


def checkout_copy(results_dir: Path) -> Path | None:
    """<checkout>/conformance/published/verdicts.json for results in <checkout>/reports/results;
    None when ``results_dir`` is not inside a checkout (the package copy is not rewritten then)."""
    root = results_dir.resolve().parent.parent
    if (root / "conformance" / "published.py").is_file():
        return root / "conformance" / "published" / "verdicts.json"
    return None


def load_published(path: Path | None = None) -> dict[str, Any]:
    """The shipped copy (or ``path``); an empty one when there is none."""
    path = path or PUBLISHED
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"format": FORMAT, "runs": [], "cells": {}}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a published-verdicts file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a published-verdicts file (format {FORMAT} expected)")
    return data


def verdicts(data: dict[str, Any], spec: str, entry: str) -> dict[str, list[dict[str, Any]]]:
    """Published cells of one entry: {case label: [{column, version, device, dtype, verdict,
    ratio, deviation, promises}, ...]} in the order of the runs."""
    runs = data.get("runs", [])
    out: dict[str, list[dict[str, Any]]] = {}
    for case, rows in data.get("cells", {}).get(spec, {}).get(entry, {}).items():
        for row in rows:
            run, verdict, ratio, deviation, promises = [*row, None, None, None][:5]
            out.setdefault(case, []).append({**runs[run], "verdict": verdict, "ratio": ratio,
                                             "deviation": deviation, "promises": promises or {}})
    return out


def columns(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each published column: its spec, framework version(s), devices and dtypes."""
    out: dict[str, dict[str, Any]] = {}
    for run in data.get("runs", []):
        c = out.setdefault(run["column"], {"spec": run["spec"], "versions": [], "devices": [],
                                           "dtypes": []})
        for key, value in (("versions", run["version"]), ("devices", run["device"]),
                           ("dtypes", run["dtype"])):
            if value not in c[key]:
                c[key].append(value)
    return out
