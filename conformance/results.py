"""Cell results as JSON records, one file per framework column × device × dtype."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import math
import os
import platform
import subprocess
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from initspec import __version__, promises
from initspec.engine import VERDICT_EPOCH, CellResult, Plan, deviation_outcomes
from initspec.notation import numbers

# The results file's layout. Bump it when a field changes meaning or is removed (adding an
# optional field keeps it): `initspec report` skips files of another version, with a line.
SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become strings, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def record(result: CellResult) -> dict[str, Any]:
    cell = result.cell
    case, entry = cell.case, cell.case.entry
    return _clean({
        "id": cell.id,
        "entry": entry.name,
        "case": case.label,
        "target": entry.target,
        "param": entry.param,
        "scheme": entry.scheme.name,
        "concept": entry.concept,
        "repeat": dataclasses.asdict(entry.repeat) if entry.repeat else None,
        "scheme_summary": entry.scheme.summary,
        "family": case.family,
        "params": dict(case.params),
        "shape": list(case.shape),
        "select": dataclasses.asdict(case.select) if case.select else None,
        "variance_formula": entry.variance_text,
        "fans": dict(case.fans) if case.fans else None,
        "neutral": ({**case.neutral.as_dict(), "numbers": numbers(case)}
                    if case.neutral else None),
        "expected_variance": case.variance,
        "bounds": list(case.bounds) if case.bounds else None,
        "docs_claim": entry.docs_claim,
        "docs_url": entry.docs_url,
        "source": entry.source,
        "verdict": result.verdict,
        "status": result.status,
        "expected": result.expected,
        "deviation": ({"id": cell.deviation.id, "reason": cell.deviation.reason,
                       "link": cell.deviation.link}
                      if cell.deviation else None),
        "message": result.message,
        "n": result.n,
        "instances": result.count,
        "seconds_sample": round(result.seconds_sample, 4),
        "seconds_check": round(result.seconds_check, 4),
        "checks": [dataclasses.asdict(c) for c in result.checks],
        "reproducer": result.reproducer,
        "evidence": result.evidence,
        "conditions": [{"kind": c.kind, "text": c.text} for c in entry.conditions
                       if c.applies(cell.dtype, cell.column)],
        **({"expect": entry.expect,
            "raises": dataclasses.asdict(entry.raises) if entry.raises else None}
           if entry.expect else {}),
        **({"promises": _promise_records(result)} if case.promises else {}),
        "recipe": cell.recipe.record(result.two_sample) if cell.recipe else None,
    })


def _promise_records(result: CellResult) -> list[dict[str, Any]]:
    """Each documented promise's verdict in this cell; untested where the cell drew nothing."""
    tested = result.promises or promises.untested(
        result.cell.case, f"cell {result.status}: {result.message}".rstrip(": "))
    return [p.record() for p in tested]


def suite_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path.cwd(), timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


#: Results files are gzip-compressed JSON (about 10x smaller: the committed results must fit the
#: reports' size budget); a plain ``.json`` file (a third party's, an older one) reads the same.
SUFFIX = ".json.gz"
SUFFIXES = (SUFFIX, ".json")


def file_name(column: str, device: str, dtype: str, version: str | None = None) -> str:
    """``<column>-<device>-<dtype>.json.gz``: the release CI runs (pyproject's pins); another
    release of the same column sits beside it as ``<column>-<device>-<dtype>@<version>.json.gz``."""
    return f"{column}-{device}-{dtype}{f'@{version}' if version else ''}{SUFFIX}"


def stem(file_name: str) -> str:
    """The file name without its results suffix (``.json.gz`` or ``.json``)."""
    for suffix in SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[:-len(suffix)]
    return file_name


def named_version(file_name: str) -> str | None:
    """The version in a file name written with ``name_version`` (None for the published one)."""
    name = stem(file_name)
    return name.rsplit("@", 1)[1] if "@" in name else None


def paths(directory: Path) -> list[Path]:
    """The results files in ``directory`` (``*.json.gz`` and ``*.json``), sorted by name."""
    return sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIXES)
                  and not p.name.startswith(".")) if directory.is_dir() else []


def write(results: Iterable[CellResult], plan: Plan, directory: Path, *,
          sha: str | None = None, environment: dict[str, str] | None = None,
          name_version: bool = False, wall_seconds: float | None = None) -> list[Path]:
    """Write one JSON file per (column, device, dtype); return their paths. ``name_version``:
    the file names carry the framework version (an older release beside the published one).
    ``wall_seconds``: the column's wall time, first cell started to last cell done.

    Each file also states what the calibration ledger needs to judge the column run it belongs
    to: ``verdict_epoch`` (engine.VERDICT_EPOCH), ``planned_cells`` (cells of the column's full
    plan, over all its files: fewer cells in the files is a partial set) and the wall time."""
    groups: dict[tuple[str, str, str], list[CellResult]] = defaultdict(list)
    for r in results:
        groups[(r.cell.column, r.cell.device, r.cell.dtype)].append(r)
    directory.mkdir(parents=True, exist_ok=True)
    sha = sha or suite_sha()
    written = []
    for (column, device, dtype), group in sorted(groups.items()):
        first = group[0].cell
        envelope = {
            "schema_version": SCHEMA_VERSION,
            "initspec": __version__,
            "framework": column,
            "spec": first.case.entry.framework,
            "framework_version": first.version,
            "environment": environment or {},
            "device": device,
            "dtype": dtype,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "suite_sha": sha,
            "seed": plan.seed,
            "budget": plan.budget,
            "alpha_per_check": plan.alpha,
            "resolution": plan.resolution,
            "verdict_epoch": VERDICT_EPOCH,
            "planned_cells": plan.planned,
            **({"wall_seconds": round(wall_seconds, 1)} if wall_seconds is not None else {}),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "deviations": [
                {"id": o.deviation.id, "reason": o.deviation.reason, "link": o.deviation.link,
                 "cells": o.cells, "reproduced": o.reproduced}
                for o in deviation_outcomes(group)
            ],
            "cells": [record(r) for r in group],
        }
        path = directory / file_name(column, device, dtype,
                                     first.version if name_version else None)
        _write_atomically(path, _dumps(_clean(envelope)))
        written.append(path)
    return written


def _write_atomically(path: Path, text: str) -> None:
    """A crash mid-write leaves the old file intact: write a temporary file, then rename."""
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):  # mtime 0: the same results give the same bytes
        data = gzip.compress(data, compresslevel=9, mtime=0)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_writable(directory: Path) -> None:
    """Raise OSError (one line) unless results can be written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".initspec-write-test.", dir=directory)
    os.close(fd)
    os.unlink(tmp)


def _dumps(envelope: dict[str, Any]) -> str:
    """Indented envelope, one compact line per cell: small files, readable diffs."""
    head = {k: v for k, v in envelope.items() if k != "cells"}
    cells = ",\n  ".join(json.dumps(c, ensure_ascii=False, separators=(",", ":"))
                         for c in envelope["cells"])
    head_text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]  # without the closing brace
    return f'{head_text},\n "cells": [\n  {cells}\n ]\n}}\n'


# What a consumer may rely on in a results file (older files lack newer fields: see CONTRACT).
_ENVELOPE = {"framework": str, "framework_version": str, "device": str, "dtype": str,
             "cells": list}
_CELL = {"id": str, "entry": str, "case": str, "verdict": str, "checks": list, "message": str}


def load_file(path: Path) -> dict[str, Any]:
    """One results file, checked for the structure every consumer reads; ValueError naming the
    file (one line) otherwise."""
    try:
        text = read_text(path)
    except (gzip.BadGzipFile, EOFError, zlib.error):  # BadGzipFile is an OSError: first
        raise ValueError(f"{path}: not a results file (truncated or not gzip data)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a results file (binary content, not JSON text)") \
            from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a results file ({exc.msg} at line {exc.lineno})") \
            from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a results file (a JSON {type(data).__name__}, "
                         "not an object)")
    for key, kind in _ENVELOPE.items():
        if not isinstance(data.get(key), kind):
            raise ValueError(f"{path}: not a results file (no {kind.__name__} field {key!r})")
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict):
            raise ValueError(f"{path}: not a results file (cells[{i}] is not an object)")
        for key, kind in _CELL.items():
            if not isinstance(cell.get(key), kind):
                raise ValueError(f"{path}: not a results file (cells[{i}] has no "
                                 f"{kind.__name__} field {key!r})")
    return data


def read_text(path: Path) -> str:
    """A results file's JSON text (gunzipped when its name ends in ``.gz``)."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def load(directory: Path) -> list[dict[str, Any]]:
    """Every results file in ``directory``, sorted by file name (framework, device, dtype)."""
    return [load_file(path) for path in paths(directory)]
