"""Why a concept has no porting recipe between two frameworks.

The recipe generator (initspec.recipes) records, for every (concept, A, B) it could not build,
the reason (``Coverage.missing``): B has no entry of the concept, an entry states no ``dims``, a
family is not ported (orthogonal), A's entry is a slice. The report runs the generator over the
spec files of the columns present, so an empty cell of the porting matrix says why it is empty.
A column whose spec is not shipped with initspec (a third party's) gets no reasons.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from initspec import loader, recipes


def unported(runs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """[{concept, from, to, why}] for every (concept, A spec, B spec) without a recipe cell."""
    found: dict[tuple[str, str, str], str] = {}
    for spec in sorted({run.get("spec") or run["framework"] for run in runs}):
        path = loader.framework_spec_path(spec)
        if not path.is_file():
            continue
        coverage = recipes.Coverage()
        try:
            recipes.generate(path, recipes.spec_paths(), coverage=coverage)
        except loader.SpecError:  # the run itself would have refused it; nothing to explain
            continue
        made = set(coverage.made)  # another entry of A's (linen beside nnx) may have made it
        for concept, source, target, why in coverage.missing:
            if (concept, source, target) not in made:
                found.setdefault((concept, source, target), why)
    return [{"concept": c, "from": a, "to": b, "why": why}
            for (c, a, b), why in sorted(found.items())]


def by_reason(rows: list[dict[str, str]]) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """(reason, pairs, [(concept, pairs)] most frequent first), the most frequent reason first."""
    grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        grouped[row["why"]][row["concept"]] += 1
    out = [(why, sum(c.values()), sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
           for why, c in grouped.items()]
    return sorted(out, key=lambda r: (-r[1], r[0]))
