"""Benchmark: one column's full conformance run against merely generating the same samples.

Each side runs in a fresh process of its own, so each pays the same imports and the same one-off
costs (a jax/XLA compilation, a Keras function cache) from cold; timing a second pass in a warm
process would charge those to one side only (keras-jax's cached compilations made a warm raw pass
14x faster than the same calls from cold). The ratio is wall time over wall time; the run's own
split (sampling vs checks) comes from its results records; the peak RSS is that of the larger of
the two processes.

The **physical limit** is what the run cannot go below in this framework: its own bulk primitive
(``Adapter.primitive``: ``torch.rand``, ``jax.random.uniform``, ...) drawing as many values as the
adapter returned for the run's cells (per device and dtype; timed after one warm-up call per chunk
size, in a fresh process), plus the checks' own cost (the records' ``seconds_check``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from initspec import engine
from initspec.adapter import load_adapter
from initspec.loader import framework_spec_path, load_framework
from initspec.results import paths as results_paths
from initspec.results import read_text


def generate(framework: str, *, seed: int, budget: float, resolution: float,
             devices: list[str] | None, dtypes: list[str] | None, match: str | None,
             digests: dict[str, str] | None = None, spec: str | None = None,
             values: dict[str, int] | None = None) -> float:
    """Draw every cell's samples through the adapter, no checks; returns the drawing seconds.

    ``digests``: filled with cell id -> sha256 of the sample (dtype, shape and bytes); ``spec``:
    another spec file than the adapter's own (a third-party column's); ``values``: filled with
    "device:dtype" -> the number of values the adapter returned."""
    adapter = load_adapter(framework)
    path = Path(spec) if spec else framework_spec_path(adapter.spec)
    plan = engine.build_plan(load_framework(path), adapter, seed=seed, budget=budget,
                             resolution=resolution, devices=devices, dtypes=dtypes, match=match)
    start = time.perf_counter()
    for cell in plan.cells:
        if cell.skip_reason:
            continue
        # an unsupported or erroring cell costs its time on both sides alike
        with contextlib.suppress(Exception):
            sample = adapter.sample(engine.request_for(plan, cell))
            if digests is not None:
                digests[cell.id] = _digest(sample)
            if values is not None:
                key = f"{cell.device}:{cell.dtype}"
                values[key] = values.get(key, 0) + int(np.size(sample))
    return time.perf_counter() - start


def _generation_options(seed: int, budget: float, resolution: float, devices: list[str] | None,
                        dtypes: list[str] | None, match: str | None,
                        spec: str | None) -> list[str]:
    """The arguments of ``python -m initspec.bench`` (the generation side) for one plan."""
    return ["--seed", str(seed), "--budget", str(budget), "--resolution", str(resolution),
            *(a for d in devices or [] for a in ("--device", d)),
            *(a for d in dtypes or [] for a in ("--dtype", d)),
            *(["--match", match] if match else []), *(["--spec", spec] if spec else [])]


def _digest(sample: Any) -> str:
    array = np.ascontiguousarray(sample)
    head = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(head + array.view(np.uint8).tobytes()).hexdigest()


def check_cache(framework: str, *, seed: int, budget: float, resolution: float,
                devices: list[str] | None = None, dtypes: list[str] | None = None,
                match: str | None = None, spec: str | None = None) -> int:
    """The persistent compilation cache (JAX's; the noxfile turns it on for the jax columns) must
    draw exactly what a plain run draws: every cell's sample hashed in three fresh processes, no
    cache, a cold cache and the same cache warm; 0 when all three agree bit for bit."""
    options = _generation_options(seed, budget, resolution, devices, dtypes, match, spec)
    plain = {k: v for k, v in os.environ.items() if not k.startswith("JAX_PERSISTENT_CACHE")
             and k != "JAX_COMPILATION_CACHE_DIR"}
    runs: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        cached = {**plain, "JAX_COMPILATION_CACHE_DIR": str(Path(scratch) / "cache"),
                  "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                  "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
        for name, environ in (("no cache", plain), ("cold cache", cached),
                              ("warm cache", cached)):
            out = Path(scratch) / "digests.json"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "initspec.bench", "--framework", framework,
                            *options, "--digests", str(out)], env=environ, check=True)
            runs[name] = json.loads(out.read_text())
            print(f"check-cache {framework}: {name}: {len(runs[name])} cells drawn in "
                  f"{time.perf_counter() - start:.1f} s (a fresh process)", flush=True)
    reference = runs["no cache"]
    if not reference:
        print(f"initspec: error: check-cache {framework}: the selection draws no cell "
              "(every one skipped, unsupported or matched out)", file=sys.stderr, flush=True)
        return 2
    differ = sorted({cid for run in runs.values() for cid in set(run) ^ set(reference)} |
                    {cid for run in runs.values() for cid in run
                     if cid in reference and run[cid] != reference[cid]})
    if differ:
        print(f"check-cache {framework}: {len(differ)} cell(s) drew differently with the cache "
              f"(first: {differ[0]})", flush=True)
        return 1
    print(f"check-cache {framework}: all {len(reference)} cells identical, bit for bit, without "
          "the cache, with it cold and with it warm", flush=True)
    return 0


def _timed(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    code = subprocess.call(argv)
    return time.perf_counter() - start, code


def bench(framework: str, pytest_argv: list[str], *, seed: int, budget: float,
          resolution: float, devices: list[str] | None = None, dtypes: list[str] | None = None,
          match: str | None = None, results: str = "", spec: str | None = None) -> int:
    """Time the conformance run (pytest with ``pytest_argv``, as ``initspec run`` builds it) and
    raw generation, each in its own process; ``results``: also keep the run's results there."""
    options = _generation_options(seed, budget, resolution, devices, dtypes, match, spec)
    with tempfile.TemporaryDirectory() as scratch:
        counts = Path(scratch) / "values.json"
        generation, _ = _timed([sys.executable, "-m", "initspec.bench", "--framework", framework,
                                *options, "--values", str(counts)])
        values = json.loads(counts.read_text()) if counts.exists() else {}
    with tempfile.TemporaryDirectory() as scratch:
        # the run's records give its sampling / checks split (a partial run writes none)
        out = results or scratch
        argv = [*pytest_argv, "-q", "--results", out]
        full, code = _timed([sys.executable, "-m", "pytest", *argv])
        sampling = checking = 0.0
        for path in results_paths(Path(out)):
            if not path.name.startswith(f"{framework}-"):
                continue
            for cell in json.loads(read_text(path))["cells"]:
                sampling += cell["seconds_sample"]
                checking += cell["seconds_check"]
    limit = physical_limit(framework, values, checking)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    split = (f" (sampling {sampling:.1f} s, checks {checking:.1f} s, start-up, pytest and the "
             f"rest {full - sampling - checking:.1f} s)" if sampling else "")
    print(f"bench {framework}: conformance run {full:.1f} s{split}; raw generation "
          f"{generation:.1f} s (both wall, each a fresh process); ratio {full / generation:.2f} "
          f"(target <= 1.5); peak RSS {peak_gb:.2f} GB (target < 4 GB); resolution "
          f"±{100 * resolution:g}%, budget {budget:g}, seed {seed}", flush=True)
    if isinstance(limit, str):
        print(f"bench {framework}: physical limit: {limit}", flush=True)
    else:
        primitive, count = limit
        floor = primitive + checking
        checks = (f"checks {checking:.1f} s" if sampling else
                  "checks not counted: a partial run writes no records")
        print(f"bench {framework}: physical limit {floor:.1f} s = bulk primitive {primitive:.1f} s "
              f"for {count:,} values + {checks}; ratio to it {full / floor:.2f} (target <= 2)",
              flush=True)
    return 0 if code in (0, 1) else int(code)


def physical_limit(framework: str, values: dict[str, int],
                   checking: float) -> tuple[float, int] | str:
    """(seconds of the framework's bulk primitive for ``values`` ("device:dtype" -> the values
    the generation side drew), values), timed in a fresh process; a one-line reason instead
    when there is nothing to time or no primitive."""
    if not values:
        return "no cell drew values (nothing to compare)"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "primitive.json"
        proc = subprocess.run([sys.executable, "-m", "initspec.bench", "--framework", framework,
                               "--primitive", json.dumps(values), "--out", str(out)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return f"not measured ({lines[-1] if lines else f'exit {proc.returncode}'})"
        timed = json.loads(out.read_text())
    if timed.get("unsupported"):
        return f"not measured ({timed['unsupported']})"
    for line in timed["left_out"]:  # e.g. MLX has no float64 uniform on the CPU
        print(f"bench {framework}: physical limit leaves out {line}", flush=True)
    return float(timed["seconds"]), int(timed["values"])


def time_primitive(framework: str, values: dict[str, int]) -> dict[str, Any]:
    """Time ``Adapter.primitive`` over ``values`` ("device:dtype" -> count), after one warm-up
    call per chunk size (a compilation is not a draw)."""
    from initspec.adapter import Unsupported
    from initspec.adapters._common import PRIMITIVE_CHUNK

    adapter = load_adapter(framework)
    seconds, timed, left_out = 0.0, 0, []
    for key, count in sorted(values.items()):
        device, dtype = key.split(":")
        try:
            for size in {min(count, PRIMITIVE_CHUNK), count % PRIMITIVE_CHUNK} - {0}:
                adapter.primitive(size, dtype, device)
            start = time.perf_counter()
            adapter.primitive(count, dtype, device)
            seconds += time.perf_counter() - start
            timed += count
        except Unsupported as exc:  # that dtype's values are left out of the limit, and said
            left_out.append(f"{key}: {exc}")
    if not timed:
        return {"unsupported": "; ".join(left_out)}
    return {"seconds": seconds, "values": timed, "left_out": left_out}


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
    parser.add_argument("--spec")
    parser.add_argument("--digests", help="write cell id -> sha256 of its sample here (JSON)")
    parser.add_argument("--values", help='write {"device:dtype": values drawn} here (JSON)')
    parser.add_argument("--primitive", help='time Adapter.primitive instead: JSON {"device:dtype": '
                        'count}; the timing goes to --out')
    parser.add_argument("--out", help="with --primitive: write the timing here (JSON)")
    args = parser.parse_args(argv)
    if args.primitive:
        timed = time_primitive(args.framework, json.loads(args.primitive))
        Path(args.out).write_text(json.dumps(timed))
        return 0
    digests: dict[str, str] | None = {} if args.digests else None
    values: dict[str, int] | None = {} if args.values else None
    seconds = generate(args.framework, seed=args.seed, budget=args.budget,
                       resolution=args.resolution, devices=args.device, dtypes=args.dtype,
                       match=args.match, digests=digests, spec=args.spec, values=values)
    if args.digests:
        Path(args.digests).write_text(json.dumps(digests))
    if args.values:
        Path(args.values).write_text(json.dumps(values))
    print(f"raw generation {args.framework}: drawing {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
