"""Benchmark: the full conformance run against merely generating the same samples.

All in one process: the full pytest conformance run of one column, then raw generation (every
cell's adapter request, no checks) of the same plan. Raw generation runs second, with every
import, allocator and cache already warm, so warm-up is charged to the conformance run and the
ratio errs high. Also prints the run's own split (sampling vs checks) and the process's peak RSS.
Given ``--results``, the run writes its results like ``initspec run`` (a bench is a full run).
"""

from __future__ import annotations

import contextlib
import resource
import time

from initspec import engine
from initspec.adapter import Adapter, load_adapter
from initspec.loader import framework_spec_path, load_framework


def generation_seconds(adapter: Adapter, plan: engine.Plan) -> float:
    """Time to draw every cell's samples through the adapter, with no checks."""
    start = time.perf_counter()
    for cell in plan.cells:
        if cell.skip_reason:
            continue
        # an unsupported or erroring cell costs its time on both sides alike
        with contextlib.suppress(Exception):
            adapter.sample(engine.request_for(plan, cell))
    return time.perf_counter() - start


def bench(framework: str, run_argv: list[str], *, seed: int, budget: float, resolution: float,
          devices: list[str] | None = None, dtypes: list[str] | None = None,
          match: str | None = None) -> int:
    import pytest

    from initspec.plugin import RUN

    adapter = load_adapter(framework)
    spec = load_framework(framework_spec_path(adapter.spec))
    plan = engine.build_plan(spec, adapter, seed=seed, budget=budget, resolution=resolution,
                             devices=devices, dtypes=dtypes, match=match)

    class Grab:  # keeps the run's results to split its time into sampling and checks
        run = None

        def pytest_sessionfinish(self, session: pytest.Session) -> None:
            Grab.run = session.config.stash.get(RUN, None)

    start = time.perf_counter()
    # the plugin module is already imported here, so pytest cannot assertion-rewrite it: harmless
    quiet = ["-q", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    code = pytest.main([*run_argv, *quiet], plugins=[Grab()])
    full = time.perf_counter() - start
    generate = generation_seconds(adapter, plan)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    results = Grab.run.results if Grab.run else []
    sampling = sum(r.seconds_sample for r in results)
    checking = sum(r.seconds_check for r in results)
    print(f"bench {framework}: {len(plan.cells)} cells; conformance run {full:.1f} s "
          f"(sampling {sampling:.1f} s, checks {checking:.1f} s, pytest and the rest "
          f"{full - sampling - checking:.1f} s); raw generation {generate:.1f} s; "
          f"ratio {full / generate:.2f} (target <= 1.5); peak RSS "
          f"{peak_gb:.2f} GB (target < 4 GB); resolution ±{100 * resolution:g}%, "
          f"budget {budget:g}, seed {seed}")
    return 0 if code in (0, 1) else int(code)
