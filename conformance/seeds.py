"""Measure the suite's false-failure rate: the whole plan under seeds 1..N in one process.

A run is red when any cell's verdict differs from the spec's expectation. With the default budget
of 1e-3 per run, red runs should be rare; every unexpected cell is printed so a real finding
(reproducible under every seed) can be told from chance (one seed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from initspec import engine
from initspec.adapter import load_adapter
from initspec.loader import framework_spec_path, load_framework


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m initspec.seeds", description=__doc__)
    parser.add_argument("--framework", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=engine.DEFAULT_BUDGET)
    args = parser.parse_args(argv)
    adapter = load_adapter(args.framework)
    spec = load_framework(framework_spec_path(adapter.spec))
    red_runs, unexpected, evaluated = 0, Counter(), 0
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.runs):
        plan = engine.build_plan(spec, adapter, seed=seed, budget=args.budget)
        bad = []
        results = [engine.evaluate(plan, cell, adapter) for cell in plan.cells]
        evaluated += len(results)
        for result in results:
            if not result.as_expected:
                bad.append(f"{result.cell.id}: {result.verdict}: {result.message}")
                unexpected[result.cell.id] += 1
        for outcome in engine.deviation_outcomes(results):
            if not outcome.still_reproduces:
                name = f"{outcome.column}/known-deviation:{outcome.deviation.id}"
                bad.append(f"{name}: reproduced in none of {outcome.cells} cells")
                unexpected[name] += 1
        red_runs += bool(bad)
        print(f"seed {seed}: {len(plan.cells)} cells, {len(bad)} unexpected", flush=True)
        for line in bad:
            print(f"  {line}")
    print(f"{args.framework}: {red_runs} of {args.runs} runs red "
          f"({sum(unexpected.values())} unexpected verdicts in {evaluated} cell evaluations; "
          f"budget {args.budget:g} per run) in {time.perf_counter() - start:.0f} s")
    for cell_id, n in unexpected.most_common():
        print(f"  {n}/{args.runs} seeds: {cell_id}")
    return 0 if red_runs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
