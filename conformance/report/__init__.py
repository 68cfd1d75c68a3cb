"""`initspec report`: from every results file present, write reports/compat.json (merged, checked
against spec/schema/compat.schema.json), a short reports/COMPATIBILITY.md and the static site
reports/site/ (porting matrix, filters, one detail view per cell with its plot).

A results file that cannot be used is named in one line and skipped; the rest is still written,
then :class:`SkippedResults` (a ``ValueError``) says how many were skipped, so the command exits
non-zero. No usable results at all is an error before anything is written.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from initspec.calibration import calibration_record
from initspec.report import markdown, merge, packing, site, unported
from initspec.results import named_version


class SkippedResults(ValueError):
    """The report was written, without the results files named on stderr."""


def build(results_dir: Path) -> tuple[dict[str, Any], list[list[Any]], merge.Loaded]:
    if not results_dir.is_dir():
        raise ValueError(f"no results: {results_dir} is not a directory (run `initspec run` first)")
    loaded = merge.load_all(results_dir)
    if not loaded.runs and len(loaded.skipped) == 1:  # the one file's reason is the error
        path, why = loaded.skipped[0]
        raise ValueError(f"{path}: {why}")
    for path, why in loaded.skipped:
        print(f"initspec: skipped {path}: {why}", file=sys.stderr)
    if not loaded.runs:
        raise ValueError(f"no usable results files in {results_dir}"
                         + (f" ({len(loaded.skipped)} skipped, named above)"
                            if loaded.skipped else ""))
    compat, details = merge.merge(loaded)
    compat["unported"] = unported.unported(compat["runs"])
    return compat, details, loaded


def render(results_dir: Path, site_link: str = "site/index.html") -> str:
    """The markdown alone, for a results directory (no files written; plots not drawn)."""
    compat, _, _ = build(results_dir)
    return markdown.render(compat, site_link)


def write_report(results_dir: Path, out: Path, site_dir: Path | None = None,
                 ledger: Path | None = None, plots: bool = True) -> Path:
    """Write ``out`` (the markdown), compat.json and the site next to it; return ``out``.
    The calibration ledger beside ``out`` (``calibration.json``, or ``ledger``), when there is
    one, gives the headers their "designed p; observed k red runs in N" line. ``plots=False``
    draws no picture (thousands of them take ~20 min on 2 cores): the detail views say so."""
    compat, details, loaded = build(results_dir)
    record = calibration_record(ledger or out.parent / "calibration.json")  # before any write
    if record is not None:
        compat["calibration"] = record
    site_dir = site_dir or out.parent / "site"
    # plots for the table's cells only: another release's runs are diffed, not shown cell by cell
    evidence = {cell["id"]: cell["evidence"] for path, run in loaded.runs for cell in run["cells"]
                if cell.get("evidence") and not named_version(path.name)}
    drawn = site.draw_plots(site_dir, evidence) if plots else {}
    for cell in compat["cells"]:
        cell["plot"] = drawn.get(cell["id"])
    packed = packing.pack(compat)  # what every dtype repeats, once (readers: packing.expand)
    error = next(iter(merge.validator("compat.schema.json").iter_errors(packed)), None)
    if error is not None:  # our own output: a bug, but say it in one line
        raise ValueError(f"merged data does not match compat.schema.json: {error.message[:200]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "compat.json").write_text(
        json.dumps(packed, ensure_ascii=False, separators=(",", ":")) + "\n")
    index = site.write(packed, details, site_dir)
    markdown.write(compat, out, os.path.relpath(index, out.parent))
    if loaded.skipped:
        raise SkippedResults(f"{len(loaded.skipped)} results file(s) skipped (named above); "
                             f"{out}, compat.json and the site were written without them")
    return out


__all__ = ["SkippedResults", "build", "render", "write_report"]
