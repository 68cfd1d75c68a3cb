""""Changed in": what differs between the releases of one column that were measured.

Cells of two releases are paired by (entry, case, device, dtype). An entry whose behaviour
changed at a release is written twice in the spec, the older one named ``<name>@<specifier>``
(e.g. ``layers.EinsumDense.kernel(ab,bcd->acd)@<3.15``) with that ``versions:`` range; the
qualifier is dropped for pairing, so the two entries meet. A cell skipped because its entry does
not apply to the release (the engine's "spec entry applies to ..." skip) was not measured and is
left out; an entry measured in one release only is counted as not compared, never as a change.

Compared per cell: whether it conforms (pass and known-deviation both do: which of a known
deviation's checks fire in one cell is a matter of sampling power, not of the release), fails,
errs or is unsupported; the known deviation the spec assigns it; the fan rule (``fans``) and the
distribution the release was verified against (scheme, expected variance, bounds). Every one of
them comes from a run; the set of failing checks is shown in the example, never compared (it
moves with the sample size, which moves with the number of cells in the plan). A row is a change
only when a run of each release measured the cell; the upstream change behind it
(spec/changes.yaml) is attached only to a measured row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from initspec.loader import SPEC_DIR

# engine.py's skip of an entry outside its `versions:` range (not measured in that release)
VERSION_SKIP = "spec entry applies to "
_QUALIFIER = re.compile(r"@[<>=!~][^@]*$")
# what a cell says about its release, and the word a row uses for it
COMPARED = {"outcome": "verdict", "deviation": "known deviation", "fans": "fan rule",
            "scheme": "distribution", "expected_variance": "distribution",
            "bounds": "distribution"}
OUTCOME = {"pass": "conforms", "known-deviation": "conforms"}  # else the verdict itself
DTYPE_ORDER = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}
CHANGES_FILE = SPEC_DIR / "changes.yaml"


def entry_key(name: str) -> str:
    """The entry's name without a trailing version qualifier (``@<3.15``)."""
    return _QUALIFIER.sub("", name)


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def signature(cell: dict[str, Any]) -> dict[str, Any]:
    """What one cell shows about its release (the COMPARED fields)."""
    deviation = cell.get("deviation")
    if isinstance(deviation, dict):
        deviation = deviation.get("id")
    failed = cell.get("failed")
    if failed is None:  # a full results record: its checks
        failed = [c["name"] for c in cell.get("checks", []) if not c.get("passed")]
    return {"verdict": cell["verdict"], "outcome": OUTCOME.get(cell["verdict"], cell["verdict"]),
            "deviation": deviation, "failed": sorted(failed),
            "fans": cell.get("fans"), "scheme": cell.get("scheme"),
            "expected_variance": cell.get("expected_variance"), "bounds": cell.get("bounds")}


def measured(cell: dict[str, Any]) -> bool:
    return not (cell["verdict"] == "skip"
                and str(cell.get("message", "")).startswith(VERSION_SKIP))


def _by_release(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[tuple, dict]]]:
    """column -> version -> (entry key, case, device, dtype) -> cell, measured cells only."""
    out: dict[str, dict[str, dict[tuple, dict]]] = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        cells = out[run["framework"]][run["framework_version"]]
        for cell in run["cells"]:
            if measured(cell):
                cells[(entry_key(cell["entry"]), cell["case"], run["device"],
                       run["dtype"])] = cell
    return out


@cache
def upstream_changes(path: Path = CHANGES_FILE) -> tuple[dict[str, Any], ...]:
    """spec/changes.yaml: where a measured change came from (none when the file is absent)."""
    if not path.is_file():
        return ()
    data = yaml.safe_load(path.read_text()) or {}
    rows = data.get("changes", [])
    for i, row in enumerate(rows):
        missing = {"spec", "entries", "since", "link", "summary"} - set(row)
        if missing:
            raise ValueError(f"{path}: changes[{i}] lacks {', '.join(sorted(missing))}")
    return tuple(rows)


def _upstream(spec: str, key: str, before: str, after: str,
              known: tuple[dict[str, Any], ...]) -> dict[str, Any] | None:
    """The recorded upstream change of this entry that falls in (before, after]."""
    for row in known:
        if (row["spec"] == spec and key in row["entries"]
                and _version(before) < _version(str(row["since"])) <= _version(after)):
            return {k: row[k] for k in ("since", "link", "summary")}
    return None


def diff(runs: list[dict[str, Any]],
         known: tuple[dict[str, Any], ...] | None = None) -> dict[str, Any]:
    """The "changed in" view of full results envelopes (several releases of a column).

    ``changed``: one row per (column, entry, consecutive pair of releases) whose cells differ,
    with the first release showing the new behaviour (``to``), what differs, how many cells, and
    one example cell before and after. ``identical``: per (column, pair of releases), how many
    entries were compared and found the same in every cell."""
    known = upstream_changes() if known is None else known
    specs = {run["framework"]: run.get("spec") or run["framework"] for run in runs}
    releases: dict[str, list[str]] = {}
    changed: list[dict[str, Any]] = []
    identical: list[dict[str, Any]] = []
    for column, by_version in sorted(_by_release(runs).items()):
        versions = sorted(by_version, key=_version)
        releases[column] = versions
        for before, after in pairwise(versions):
            old, new = by_version[before], by_version[after]
            rows: dict[str, dict[str, Any]] = {}
            same: dict[str, int] = defaultdict(int)
            # float32 first: a row's example is its entry's float32 cell where it has one
            for key in sorted(old.keys() & new.keys(),
                              key=lambda k: (k[0], DTYPE_ORDER.get(k[3], 9), k[1], k[2])):
                a, b = signature(old[key]), signature(new[key])
                what = sorted({COMPARED[k] for k in COMPARED if a[k] != b[k]})
                entry = key[0]
                if not what:
                    same[entry] += 1
                    continue
                row = rows.setdefault(entry, {
                    "column": column, "spec": specs[column], "entry": entry,
                    "entries": {"from": old[key]["entry"], "to": new[key]["entry"]},
                    "from": before, "to": after, "what": [], "cells": 0, "dtypes": [],
                    "cases": [], "example": {"case": key[1], "device": key[2], "dtype": key[3],
                                             "before": a, "after": b,
                                             "id": new[key].get("id")},
                    "upstream": _upstream(specs[column], entry, before, after, known)})
                row["cells"] += 1
                row["what"] = sorted(set(row["what"]) | set(what))
                for field, value in (("dtypes", key[3]), ("cases", key[1])):
                    if value not in row[field]:
                        row[field].append(value)
            changed.extend(rows[e] for e in sorted(rows))
            compared = {k[0] for k in old.keys() & new.keys()}
            only = {k[0] for k in old.keys() ^ new.keys()} - compared
            identical.append({
                "column": column, "spec": specs[column], "from": before, "to": after,
                "entries": len(compared - rows.keys()), "cells": sum(
                    n for e, n in same.items() if e not in rows),
                "changed": len(rows), "not_compared": len(only)})
    return {"releases": releases, "changed": changed, "identical": identical}
