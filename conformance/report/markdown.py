"""The short reports/COMPATIBILITY.md: overview, recipes, docs drift, one summary per framework.

Everything cell by cell is on the site (reports/site/index.html); this file links into it and
stays small enough for a code host to render (well under 200 KB).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from initspec.report import unported

SYMBOL = {"pass": "✅", "fail": "❌", "known-deviation": "⚠️", "skip": "➖", "error": "💥"}
# The porting question the table must answer at a glance: these concepts, from this source.
KEY_CONCEPTS = ("dense.kernel", "dense.bias", "conv.kernel", "conv.bias", "lstm.kernel",
                "lstm.recurrent_kernel", "lstm.bias", "embedding")
KEY_SOURCE = "torch"
NO_VERSIONS = {"runs": [], "releases": {}, "changed": [], "identical": []}


def environment(html: bool = False) -> Environment:
    """The templates of initspec/report/templates; HTML ones are autoescaped."""
    env = Environment(loader=PackageLoader("initspec.report", "templates"),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, autoescape=html)
    env.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    env.globals["SYMBOL"] = SYMBOL
    return env


def neutral_text(cell: dict[str, Any]) -> str:
    """The cell's framework-neutral form when the notation provides one, else its own scheme."""
    neutral = cell.get("neutral") or {}
    if cell.get("repeat"):
        how = "one object called again" if cell["repeat"]["reuse"] else "fresh objects"
        return f"reproducibility ({how}): draws {cell['repeat']['expect']}"
    if neutral.get("form"):
        return neutral["form"]
    if cell.get("variance_formula"):
        return f"{cell['scheme']}, Var {cell['variance_formula']}"
    if cell.get("family") == "constant" and cell.get("params"):
        return f"{cell['scheme']} = {cell['params'].get('value')}"
    return cell.get("scheme") or ""


def reference_runs(compat: dict[str, Any]) -> dict[str, int]:
    """Column -> index of its reference run: cpu float32 where there is one."""
    order = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}
    best: dict[str, int] = {}
    for i, run in sorted(enumerate(compat["runs"]), key=lambda ir: (
            ir[1]["device"] != "cpu", order.get(ir[1]["dtype"], 9))):
        best.setdefault(run["framework"], i)
    return best


def overview(compat: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, dict[str, Any]]]]:
    """Columns and concept -> column -> the first cell of that concept in the reference run."""
    refs = reference_runs(compat)
    wanted = set(refs.values())
    table: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for cell in compat["cells"]:
        if cell.get("concept") and cell["run"] in wanted and not cell.get("recipe"):
            table[cell["concept"]].setdefault(cell["column"], cell)
    return sorted(refs), dict(sorted(table.items()))


def recipes(compat: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(source column, concept, target column) -> the recipe cell of the target's reference run
    (its first case: every case of a recipe is checked, the call is the same)."""
    wanted = set(reference_runs(compat).values())
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for cell in compat["cells"]:
        recipe = cell.get("recipe")
        if recipe and cell["run"] in wanted:
            for source in [recipe["from"], *recipe.get("also_from", [])]:
                found.setdefault((source["column"], recipe["concept"], cell["column"]), cell)
    return found


def verified(cell: dict[str, Any]) -> bool:
    """A recipe is shown as verified only when its run conforms (no unverified call is shown)."""
    recipe = cell.get("recipe") or {}
    two = recipe.get("two_sample")
    return (cell["verdict"] == "pass" and recipe.get("expressible", True)
            and (two is None or bool(two.get("passed"))))


def drift_rows(compat: dict[str, Any]) -> list[dict[str, Any]]:
    """Every promise proven wrong, once per (column, entry, promise), with the dtypes seen."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for cell in compat["cells"]:
        if not cell["drift"]:
            continue
        for promise in cell.get("promises") or []:
            if promise.get("verdict") != "drift":
                continue
            key = (cell["column"], cell["entry"], str(promise.get("id")))
            row = rows.setdefault(key, {"cell": cell, "promise": promise, "dtypes": []})
            if cell["dtype"] not in row["dtypes"]:
                row["dtypes"].append(cell["dtype"])
    return [rows[k] for k in sorted(rows)]


def framework_summaries(compat: dict[str, Any]) -> list[dict[str, Any]]:
    by_spec: dict[str, list[int]] = defaultdict(list)
    for i, run in enumerate(compat["runs"]):
        by_spec[run.get("spec") or run["framework"]].append(i)
    cells_by_run: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for cell in compat["cells"]:
        cells_by_run[cell["run"]].append(cell)
    out = []
    for spec, indices in sorted(by_spec.items()):
        runs = [compat["runs"][i] for i in indices]
        cells = [c for i in indices for c in cells_by_run[i]]
        deviations: dict[str, dict[str, Any]] = {}
        for run in runs:
            for dev in run.get("deviations", []):
                d = deviations.setdefault(dev["id"], {**dev, "cells": 0, "reproduced": 0})
                d["cells"] += dev["cells"]
                d["reproduced"] += dev["reproduced"]
        skips: dict[str, int] = defaultdict(int)
        for c in cells:
            if c["verdict"] == "skip":
                skips[c["message"]] += 1
        out.append({"spec": spec, "runs": runs,
                    "failing": [c for c in cells if c["verdict"] in ("fail", "error")],
                    "deviations": sorted(deviations.values(), key=lambda d: d["id"]),
                    "skips": sorted(skips.items(), key=lambda kv: -kv[1])})
    return out


def change_text(row: dict[str, Any]) -> str:
    """One changed entry's example cell: what each release showed, for the fields that differ."""
    ex = row["example"]
    before, after = ex["before"], ex["after"]
    parts = []
    for field in ("verdict", "deviation", "fans", "expected_variance"):
        if before.get(field) != after.get(field):
            parts.append(f"{field} {_short(before.get(field))} → {_short(after.get(field))}")
    return f"[{ex['case']}, {ex['dtype']}] " + "; ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return "none" if value is None else str(value)


def render(compat: dict[str, Any], site_link: str = "site/index.html") -> str:
    columns, table = overview(compat)
    found = recipes(compat)
    sources = sorted({s for s, _, _ in found})
    pairs: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (source, _, target), cell in found.items():
        pairs[(source, target)][1] += 1
        pairs[(source, target)][0] += verified(cell)
    key_source = KEY_SOURCE if KEY_SOURCE in sources else (sources[0] if sources else None)
    totals: dict[str, int] = defaultdict(int)
    for cell in compat["cells"]:
        totals[cell["verdict"]] += 1
    return environment().get_template("COMPATIBILITY.md.j2").render(
        compat=compat, columns=columns, table=table, site=site_link, neutral=neutral_text,
        link=lambda cell: f"{site_link}#cell={_quote(cell['id'])}",
        found=found, sources=sources, targets=sorted({t for _, _, t in found}), pairs=pairs,
        key_source=key_source, key_concepts=[c for c in KEY_CONCEPTS if c in table],
        verified=verified, drift=drift_rows(compat), summaries=framework_summaries(compat),
        totals=dict(totals), change_text=change_text,
        unported=unported.by_reason(compat.get("unported") or []),
        unported_total=len(compat.get("unported") or []),
        versions=compat.get("versions") or NO_VERSIONS)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def write(compat: dict[str, Any], path: Path, site_link: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(compat, site_link))
    return path
