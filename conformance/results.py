"""Cell results as JSON records, one file per framework column × device × dtype."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from initspec import __version__
from initspec.engine import CellResult, Plan, deviation_outcomes
from initspec.notation import numbers


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
        "conditions": [{"kind": c.kind, "text": c.text} for c in entry.conditions
                       if c.applies(cell.dtype, cell.column)],
        **({"expect": entry.expect,
            "raises": dataclasses.asdict(entry.raises) if entry.raises else None}
           if entry.expect else {}),
        "recipe": cell.recipe.record(result.two_sample) if cell.recipe else None,
    })


def suite_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path.cwd(), timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def write(results: Iterable[CellResult], plan: Plan, directory: Path, *,
          sha: str | None = None, environment: dict[str, str] | None = None) -> list[Path]:
    """Write one JSON file per (column, device, dtype); return their paths."""
    groups: dict[tuple[str, str, str], list[CellResult]] = defaultdict(list)
    for r in results:
        groups[(r.cell.column, r.cell.device, r.cell.dtype)].append(r)
    directory.mkdir(parents=True, exist_ok=True)
    sha = sha or suite_sha()
    written = []
    for (column, device, dtype), group in sorted(groups.items()):
        first = group[0].cell
        envelope = {
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
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "deviations": [
                {"id": o.deviation.id, "reason": o.deviation.reason, "link": o.deviation.link,
                 "cells": o.cells, "reproduced": o.reproduced}
                for o in deviation_outcomes(group)
            ],
            "cells": [record(r) for r in group],
        }
        path = directory / f"{column}-{device}-{dtype}.json"
        path.write_text(_dumps(_clean(envelope)))
        written.append(path)
    return written


def _dumps(envelope: dict[str, Any]) -> str:
    """Indented envelope, one compact line per cell: small files, readable diffs."""
    head = {k: v for k, v in envelope.items() if k != "cells"}
    cells = ",\n  ".join(json.dumps(c, ensure_ascii=False, separators=(",", ":"))
                         for c in envelope["cells"])
    head_text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]  # without the closing brace
    return f'{head_text},\n "cells": [\n  {cells}\n ]\n}}\n'


def load(directory: Path) -> list[dict[str, Any]]:
    """Every results file in ``directory``, sorted by framework, device, dtype."""
    runs = []
    for path in sorted(directory.glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a results file ({exc.msg} at line {exc.lineno})") \
                from None
    return runs
