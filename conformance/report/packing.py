"""compat.json's shared tables: what every dtype of a cell repeats, stored once.

A cell's description (its neutral form, parameters, shape, fans, conditions, ...) is the same in
each dtype of its (column, entry, case), and a promise's text (who promised what, where) the same
in each dtype of its (column, entry). :func:`pack` moves a field into ``shared`` only when every
cell of its key holds the same value, so :func:`expand` (and site.js, on load) gives back exactly
what was packed; compat.json is written packed, the markdown is rendered from the whole cells.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

#: Fields of a compact cell decided by its (column, entry, case) alone
CASE_FIELDS = ("neutral", "params", "shape", "variance_formula", "expected_variance", "fans",
               "conditions", "scheme", "family", "target", "param", "concept", "select",
               "repeat")
#: A promise's text; its verdict and statistics stay in the cell
PROMISE_TEXT = ("kind", "by", "says", "url", "scheme", "distribution", "form", "variance", "note")
_ABSENT = "\0absent"


def case_key(cell: dict[str, Any]) -> str:
    return f"{cell['column']}|{cell['entry']}|{cell['case']}"


def promise_key(cell: dict[str, Any], promise: dict[str, Any]) -> str:
    return f"{cell['column']}|{cell['entry']}|{promise.get('id')}"


def _common(groups: dict[str, list[dict[str, Any]]], fields: tuple[str, ...]
            ) -> dict[str, dict[str, Any]]:
    """Per key, the fields every member holds with one value."""
    out: dict[str, dict[str, Any]] = {}
    for key, members in groups.items():
        same = {f: members[0][f] for f in fields if f in members[0] and all(
            json.dumps(m.get(f, _ABSENT), sort_keys=True) ==
            json.dumps(members[0][f], sort_keys=True) for m in members)}
        if same:
            out[key] = same
    return out


def pack(compat: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``compat`` with the repeated values in ``shared`` (``compat`` is not changed)."""
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_promise: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in compat["cells"]:
        by_case[case_key(cell)].append(cell)
        for promise in cell.get("promises") or []:
            by_promise[promise_key(cell, promise)].append(promise)
    cases, texts = _common(by_case, CASE_FIELDS), _common(by_promise, PROMISE_TEXT)
    cells = []
    for cell in compat["cells"]:
        shared = cases.get(case_key(cell), {})
        cell = {k: v for k, v in cell.items() if k not in shared}
        if cell.get("promises"):
            cell["promises"] = [{k: v for k, v in p.items()
                                 if k not in texts.get(promise_key(cell, p), {})}
                                for p in cell["promises"]]
        cells.append(cell)
    return {**compat, "shared": {"cases": cases, "promises": texts}, "cells": cells}


def expand(packed: dict[str, Any]) -> dict[str, Any]:
    """compat.json as read back: every cell whole again."""
    shared = packed.get("shared") or {}
    cases, texts = shared.get("cases", {}), shared.get("promises", {})
    cells = []
    for cell in packed["cells"]:
        cell = {**cases.get(case_key(cell), {}), **cell}
        if cell.get("promises"):
            cell["promises"] = [{**texts.get(promise_key(cell, p), {}), **p}
                                for p in cell["promises"]]
        cells.append(cell)
    return {k: v for k, v in packed.items() if k != "shared"} | {"cells": cells}
