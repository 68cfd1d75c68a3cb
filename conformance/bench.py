"""Benchmark: the full conformance run against merely generating the same samples.

Both are timed in one process, generation first (so the framework's one-off start-up costs land
on the generation side, not on the harness). Prints the ratio and the process's peak RSS.
"""

from __future__ import annotations

import resource
import time

from initspec import engine
from initspec.adapter import Unsupported, load_adapter
from initspec.loader import framework_spec_path, load_framework


def generation_seconds(framework: str, *, seed: int, budget: float, resolution: float) -> float:
    """Time to draw every cell's samples through the adapter, with no checks."""
    adapter = load_adapter(framework)
    spec = load_framework(framework_spec_path(adapter.spec))
    plan = engine.build_plan(spec, adapter, seed=seed, budget=budget, resolution=resolution)
    start = time.perf_counter()
    for cell in plan.cells:
        if cell.skip_reason:
            continue
        try:
            adapter.sample(engine.request_for(plan, cell))
        except Unsupported:
            pass
        except Exception:  # an erroring cell costs its time on both sides alike
            pass
    return time.perf_counter() - start


def bench(framework: str, run_argv: list[str], *, seed: int, budget: float,
          resolution: float) -> int:
    import pytest

    generate = generation_seconds(framework, seed=seed, budget=budget, resolution=resolution)
    start = time.perf_counter()
    code = pytest.main([*run_argv, "-q"])
    full = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    ratio = full / generate
    line = (f"bench {framework}: conformance run {full:.1f} s, raw generation {generate:.1f} s, "
            f"ratio {ratio:.2f} (target <= 1.5); peak RSS {peak_gb:.2f} GB (target < 4 GB); "
            f"resolution ±{100 * resolution:g}%, budget {budget:g}, seed {seed}")
    print(line)
    return 0 if code in (0, 1) else int(code)
