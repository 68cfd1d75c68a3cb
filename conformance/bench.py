"""Benchmark: one column's full conformance run against merely generating the same samples.

Each side runs in a fresh process of its own, so each pays the same imports and the same one-off
costs (a jax/XLA compilation, a Keras function cache) from cold; timing a second pass in a warm
process would charge those to one side only (keras-jax's cached compilations made a warm raw pass
14x faster than the same calls from cold). The ratio is wall time over wall time; the run's own
split (sampling vs checks) comes from its results records; the peak RSS is that of the larger of
the two processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from initspec import engine
from initspec.adapter import load_adapter
from initspec.loader import framework_spec_path, load_framework


def generate(framework: str, *, seed: int, budget: float, resolution: float,
             devices: list[str] | None, dtypes: list[str] | None, match: str | None) -> float:
    """Draw every cell's samples through the adapter, no checks; returns the drawing seconds."""
    adapter = load_adapter(framework)
    spec = load_framework(framework_spec_path(adapter.spec))
    plan = engine.build_plan(spec, adapter, seed=seed, budget=budget, resolution=resolution,
                             devices=devices, dtypes=dtypes, match=match)
    start = time.perf_counter()
    for cell in plan.cells:
        if cell.skip_reason:
            continue
        # an unsupported or erroring cell costs its time on both sides alike
        with contextlib.suppress(Exception):
            adapter.sample(engine.request_for(plan, cell))
    return time.perf_counter() - start


def _timed(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    code = subprocess.call(argv)
    return time.perf_counter() - start, code


def bench(framework: str, pytest_argv: list[str], *, seed: int, budget: float,
          resolution: float, devices: list[str] | None = None, dtypes: list[str] | None = None,
          match: str | None = None, results: str = "") -> int:
    """Time the conformance run (pytest with ``pytest_argv``, as ``initspec run`` builds it) and
    raw generation, each in its own process; ``results``: also keep the run's results there."""
    options = ["--seed", str(seed), "--budget", str(budget), "--resolution", str(resolution),
               *(a for d in devices or [] for a in ("--device", d)),
               *(a for d in dtypes or [] for a in ("--dtype", d)),
               *(["--match", match] if match else [])]
    generation, _ = _timed([sys.executable, "-m", "initspec.bench", "--framework", framework,
                            *options])
    with tempfile.TemporaryDirectory() as scratch:
        # the run's records give its sampling / checks split (a partial run writes none)
        out = results or scratch
        argv = [*pytest_argv, "-q", "--results", out]
        full, code = _timed([sys.executable, "-m", "pytest", *argv])
        sampling = checking = 0.0
        for path in Path(out).glob(f"{framework}-*.json"):
            for cell in json.loads(path.read_text())["cells"]:
                sampling += cell["seconds_sample"]
                checking += cell["seconds_check"]
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    split = (f" (sampling {sampling:.1f} s, checks {checking:.1f} s, start-up, pytest and the "
             f"rest {full - sampling - checking:.1f} s)" if sampling else "")
    print(f"bench {framework}: conformance run {full:.1f} s{split}; raw generation "
          f"{generation:.1f} s (both wall, each a fresh process); ratio {full / generation:.2f} "
          f"(target <= 1.5); peak RSS {peak_gb:.2f} GB (target < 4 GB); resolution "
          f"±{100 * resolution:g}%, budget {budget:g}, seed {seed}", flush=True)
    return 0 if code in (0, 1) else int(code)


def main(argv: list[str] | None = None) -> int:
    """``python -m initspec.bench``: the raw-generation side, in a process of its own."""
    parser = argparse.ArgumentParser(prog="python -m initspec.bench", description=__doc__)
    parser.add_argument("--framework", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=engine.DEFAULT_BUDGET)
    parser.add_argument("--resolution", type=float, default=engine.DEFAULT_RESOLUTION)
    parser.add_argument("--device", action="append")
    parser.add_argument("--dtype", action="append")
    parser.add_argument("--match")
    args = parser.parse_args(argv)
    seconds = generate(args.framework, seed=args.seed, budget=args.budget,
                       resolution=args.resolution, devices=args.device, dtypes=args.dtype,
                       match=args.match)
    print(f"raw generation {args.framework}: drawing {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
