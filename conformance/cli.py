"""``initspec`` command line: run, report, validate, bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from initspec import engine

SUITE = Path(__file__).with_name("suite.py")


def _run_args(args: argparse.Namespace) -> list[str]:
    argv = [str(SUITE), "-p", "initspec.plugin", "-p", "no:cacheprovider",
            "--rootdir", str(Path.cwd()), "-c", str(SUITE.with_name("pytest.ini")),
            "--seed", str(args.seed),
            "--budget", str(args.budget), "--resolution", str(args.resolution), "-rfEs"]
    for framework in args.framework:
        argv += ["--framework", framework]
    for device in args.device or []:
        argv += ["--device", device]
    for dtype in args.dtype or []:
        argv += ["--dtype", dtype]
    if args.spec:
        argv += ["--spec", args.spec]
    if args.match:
        argv += ["--match", args.match]
    return argv


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    argv = _run_args(args)
    partial = bool(args.match or args.device or args.dtype)
    if args.results and not partial:
        argv += ["--results", args.results]
    argv += args.pytest_args
    code = int(pytest.main(argv))
    if partial:
        print("initspec: partial run (--match/--device/--dtype): results not written")
    elif args.results and args.report and code in (0, 1):
        code = max(code, _write_report(args.results, args.report))
    return code


def _write_report(results: str, out: str) -> int:
    from initspec.report import write_report

    try:
        path = write_report(Path(results), Path(out))
    except ValueError as exc:  # no results, or some skipped (named on stderr)
        print(f"initspec: error: {exc}", file=sys.stderr)
        return 2
    print(f"initspec: wrote {path}, compat.json and site/ next to it")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    return _write_report(args.results, args.out)


def cmd_validate(args: argparse.Namespace) -> int:
    from initspec.loader import SPEC_DIR, SpecError, load_framework, load_schemes

    paths = [Path(p) for p in args.paths] or sorted((SPEC_DIR / "frameworks").glob("*.yaml"))
    try:
        schemes = load_schemes()
        for path in paths:
            spec = load_framework(path, schemes)
            print(f"{path}: ok ({len(spec.cases)} cases)")
    except SpecError as exc:
        print(f"initspec: spec error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from initspec.bench import bench

    codes = []
    partial = bool(args.match or args.device or args.dtype)
    for framework in args.framework:  # one column at a time: each gets its own ratio
        column = argparse.Namespace(**{**vars(args), "framework": [framework]})
        codes.append(bench(framework, _run_args(column), seed=args.seed, budget=args.budget,
                           resolution=args.resolution, devices=args.device, dtypes=args.dtype,
                           match=args.match, results="" if partial else args.results))
    if args.results and args.report and not partial:
        codes.append(_write_report(args.results, args.report))
    return max(codes)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--framework", required=True, action="append",
                   help="adapter (column) name, e.g. torch; repeat to run several in one process")
    p.add_argument("--spec", help="framework spec file (default: the adapter's own)")
    p.add_argument("--device", action="append", help="only this device (repeatable)")
    p.add_argument("--dtype", action="append", help="only this dtype (repeatable)")
    p.add_argument("--match", help="only cells whose id contains this text")
    p.add_argument("--seed", type=int, default=0, help="vary the draws (default 0: reproducible)")
    p.add_argument("--budget", type=float, default=engine.DEFAULT_BUDGET,
                   help="false-failure probability of the whole run (default 1e-3)")
    p.add_argument("--resolution", type=float, default=engine.DEFAULT_RESOLUTION,
                   help="relative variance error detected with 99%% power (default 0.01)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="initspec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the conformance suite for one framework")
    _common(run)
    run.add_argument("--results", default="reports/results", help="results directory ('' = none)")
    run.add_argument("--report", default="reports/COMPATIBILITY.md", help="table to render")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="render the table from results files")
    report.add_argument("--results", default="reports/results")
    report.add_argument("--out", default="reports/COMPATIBILITY.md")
    report.set_defaults(func=cmd_report)
    validate = sub.add_parser("validate", help="validate spec files")
    validate.add_argument("paths", nargs="*")
    validate.set_defaults(func=cmd_validate)
    bench = sub.add_parser("bench", help="time the run against raw sample generation")
    _common(bench)
    bench.add_argument("--results", default="", help="also write results here (default: none)")
    bench.add_argument("--report", default="reports/COMPATIBILITY.md",
                       help="table to render when --results is given")
    bench.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
