"""``initspec`` command line: run, report, validate, bench, explain, list, audit, calibrate.

Exit codes: 0 every verdict as the spec expects; 1 a red cell (a verdict the spec does not
expect, or a known deviation that no longer reproduces); 2 bad input or usage (a spec file, an
option, a selection of no cell, a results directory that cannot be written); 3 an adapter or
environment error (an adapter that cannot be loaded, or that raised or broke its contract in a
cell); 130 interrupted. ``calibrate summary`` exits 1 when the ledger's observation is not
consistent with the design (conformance/calibration.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from initspec import budget, engine
from initspec.watchdog import DEFAULT_CELL_TIMEOUT

SUITE = Path(__file__).with_name("suite.py")

EXIT_OK, EXIT_RED, EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: Functions that each add one subcommand to the parser's subparsers (``sub.add_parser(...)``,
#: ``set_defaults(func=...)``, the function returning an exit code). Another module adds its
#: commands by appending its registrar here.
SUBCOMMANDS: list[Callable[[Any], None]] = []


def subcommand(register: Callable[[Any], None]) -> Callable[[Any], None]:
    SUBCOMMANDS.append(register)
    return register


def error(message: object, code: int = EXIT_BAD_INPUT) -> int:
    """Print one line on stderr and return ``code``."""
    text = str(message).strip().splitlines()
    print(f"initspec: error: {text[0] if text else message}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------- run


def _run_args(args: argparse.Namespace) -> list[str]:
    """pytest arguments of a run planned by the plugin itself (``initspec bench``)."""
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
    if getattr(args, "no_recipes", False):
        argv += ["--no-recipes"]
    argv += ["--cell-timeout", str(getattr(args, "cell_timeout", DEFAULT_CELL_TIMEOUT))]
    return argv


def _options(args: argparse.Namespace, results: str | None) -> SimpleNamespace:
    """The plugin's options, as ``pytest.Config.getoption`` would give them."""
    values = {"initspec_framework": args.framework, "initspec_spec": args.spec,
              "initspec_device": args.device, "initspec_dtype": args.dtype,
              "initspec_seed": args.seed, "initspec_budget": args.budget,
              "initspec_resolution": args.resolution, "initspec_match": args.match,
              "initspec_results": results,
              "initspec_name_version": getattr(args, "name_version", False),
              "initspec_recipes": not getattr(args, "no_recipes", False),
              "initspec_cell_timeout": getattr(args, "cell_timeout", DEFAULT_CELL_TIMEOUT)}
    return SimpleNamespace(getoption=values.__getitem__)


class _Session:
    """Hands the planned run to the plugin; in a terminal, replaces pytest's dots by a bar."""

    def __init__(self, run: Any, tty: bool):
        self.run, self.tty, self.bar = run, tty, None
        # pytest captures fds 1 and 2 while tests run: the bar writes to a copy of the terminal
        self.stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1) if tty else None

    def pytest_configure(self, config: Any) -> None:
        from initspec.plugin import RUN

        config.stash[RUN] = self.run
        if self.tty:
            from tqdm import tqdm

            try:
                width = os.get_terminal_size(self.stream.fileno()).columns
            except OSError:
                width = 0
            sized = width >= 40  # a terminal that reports no size (0 columns) gets 100
            self.bar = tqdm(total=len(self.run.cells), unit="cell", file=self.stream,
                            dynamic_ncols=sized, ncols=None if sized else 100, leave=True,
                            bar_format="{n_fmt}/{total_fmt} cells |{bar}| "
                                       "[{elapsed}<{remaining}] {desc}")
            self.run.on_cell = self._on_cell

    def _on_cell(self, cell: engine.Cell, result: engine.CellResult | None) -> None:
        if result is None:
            self.bar.set_description_str(cell.id, refresh=True)
        else:
            self.bar.update(1)

    def pytest_sessionfinish(self, session: Any) -> None:
        if self.bar is not None:
            self.bar.set_description_str("", refresh=False)
            self.bar.close()
            self.stream.close()
            self.bar = None


class _QuietLetters:
    """In a terminal the bar shows progress: pytest prints no letter per test."""

    def __init__(self) -> None:
        import pytest

        @pytest.hookimpl(wrapper=True)
        def pytest_report_teststatus(report: Any, config: Any) -> Any:
            status = yield
            if isinstance(status, tuple) and len(status) == 3:
                return status[0], "", ""
            return status

        self.pytest_report_teststatus = pytest_report_teststatus


def _exit_code(pytest_code: int, run: Any) -> int:
    import pytest

    if pytest_code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    if pytest_code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return EXIT_BAD_INPUT
    if pytest_code == pytest.ExitCode.INTERNAL_ERROR:
        return EXIT_ENVIRONMENT
    if any(r.spec_error for r in run.results):
        return EXIT_BAD_INPUT
    if any(r.verdict == "error" for r in run.results):
        return EXIT_ENVIRONMENT
    return EXIT_RED if pytest_code == pytest.ExitCode.TESTS_FAILED else EXIT_OK


def _check_writable(args: argparse.Namespace) -> str | None:
    from initspec.results import check_writable

    for directory, what in ((Path(args.results), "results directory"),
                            (Path(args.report).parent if args.report else None, "table's folder")):
        if directory is None:
            continue
        try:
            check_writable(directory)
        except OSError as exc:
            return f"{what} {directory} is not writable: {exc.strerror or exc}"
    return None


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from initspec import plugin
    from initspec.adapter import AdapterNotFound, AdapterUnavailable
    from initspec.loader import SpecError
    from initspec.plugin import BadInput, Run, header_lines, validate_ranges

    try:
        validate_ranges(args.budget, args.resolution)
    except BadInput as exc:
        return error(exc)
    selected = bool(args.match or args.device or args.dtype)
    if args.results and not selected and (why := _check_writable(args)):
        return error(why)
    try:
        run = Run(_options(args, None if selected else args.results or None))
    except (SpecError, BadInput, AdapterNotFound) as exc:
        return error(exc)
    except AdapterUnavailable as exc:
        return error(exc, EXIT_ENVIRONMENT)
    tty = sys.stdout.isatty() and not args.no_progress
    argv = [str(SUITE), "-p", "no:cacheprovider",
            "--rootdir", str(Path.cwd()), "-c", str(SUITE.with_name("pytest.ini")), "-rfEs"]
    plugins: list[Any] = [plugin, _Session(run, tty)]  # the module itself: imported already
    if tty:
        argv += ["-q", "-o", "console_output_style=classic"]
        plugins.append(_QuietLetters())
        for line in header_lines(run):
            print(line)
    code = _exit_code(int(pytest.main([*argv, *args.pytest_args], plugins=plugins)), run)
    for message in dict.fromkeys(r.message for r in run.results if r.spec_error):
        error(message)  # the spec's own mistakes, once each, after pytest's report
    report = None
    if run.written:
        from initspec.published import update_published
        from initspec.report import write_report

        try:
            # the verdicts copy shipped with the package follows every complete run, with or
            # without the table (`--report ""`), so the checkout never holds a stale copy
            update_published(Path(args.results))
            if args.report:
                report = write_report(Path(args.results), Path(args.report))
        except (ValueError, OSError) as exc:
            code = max(code, error(exc))
    _summary(run, report, selected)
    return code


def _summary(run: Any, report: Path | None, selected: bool) -> None:
    """Cells per verdict, the slowest cells, wall time, and what was written where."""
    import time

    wall = time.perf_counter() - run.started
    verdicts = Counter(r.verdict for r in run.results)
    shown = ", ".join(f"{n} {v}" for v, n in verdicts.most_common()) or "no cell evaluated"
    print(f"initspec: {len(run.results)} of {len(run.cells)} cells in {wall:.1f} s: {shown}")
    slow = sorted(run.results, key=lambda r: -(r.seconds_sample + r.seconds_check))[:3]
    if slow and len(run.results) > 1:
        print("initspec: slowest: " + "; ".join(
            f"{r.seconds_sample + r.seconds_check:.1f} s {r.cell.id}" for r in slow))
    if run.written:
        folders = sorted({str(p.parent) for p in run.written})
        print(f"initspec: results: {len(run.written)} file(s) written to {', '.join(folders)}")
    elif selected:
        print("initspec: partial run (--match/--device/--dtype): results not written")
    for why in run.unwritten.values():
        print(f"initspec: {why}")
    if report is not None:
        print(f"initspec: table: wrote {report}")


# --------------------------------------------------------------------------- other commands


def cmd_report(args: argparse.Namespace) -> int:
    from initspec.published import require_results, update_published
    from initspec.report import write_report

    try:
        require_results(Path(args.results))
        path = write_report(Path(args.results), Path(args.out), plots=not args.no_plots)
        copy = update_published(Path(args.results))
    except (ValueError, OSError) as exc:
        return error(exc)
    print(f"initspec: wrote {path}" + (f" and {copy}" if copy else ""))
    return EXIT_OK


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
        return EXIT_BAD_INPUT
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from initspec.bench import bench
    from initspec.plugin import BadInput, validate_ranges

    try:
        validate_ranges(args.budget, args.resolution)
    except BadInput as exc:
        return error(exc)
    if args.check_cache:
        from initspec.bench import check_cache

        return max(check_cache(f, seed=args.seed, budget=args.budget, resolution=args.resolution,
                               devices=args.device, dtypes=args.dtype, match=args.match,
                               spec=args.spec)
                   for f in args.framework)
    codes = []
    partial = bool(args.match or args.device or args.dtype)
    for framework in args.framework:  # one column at a time: each gets its own ratio
        column = argparse.Namespace(**{**vars(args), "framework": [framework]})
        codes.append(bench(framework, _run_args(column), seed=args.seed, budget=args.budget,
                           resolution=args.resolution, devices=args.device, dtypes=args.dtype,
                           match=args.match, results="" if partial else args.results,
                           spec=args.spec))
    if args.results and args.report and not partial:
        from initspec.report import write_report

        try:
            print(f"initspec: wrote {write_report(Path(args.results), Path(args.report))}")
        except (ValueError, OSError) as exc:  # no results, or some skipped (named above)
            codes.append(error(exc))
    return max(codes)


# --------------------------------------------------------------------------- the parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--framework", required=True, action="append",
                   help="adapter (column) name, e.g. torch; repeat to run several in one process")
    p.add_argument("--spec", help="framework spec file (default: the adapter's own)")
    p.add_argument("--no-recipes", action="store_true",
                   help="leave out the porting-recipe cells (ids containing 'recipe[')")
    p.add_argument("--device", action="append",
                   help="only this device (repeatable); one the framework does not report here "
                        "is shown as one skip")
    p.add_argument("--dtype", action="append", help="only this dtype (repeatable)")
    p.add_argument("--match", help="only cells whose id contains this text. A partial run "
                   "(--match, --device, --dtype, or a pytest selection) keeps the full plan's "
                   "alpha, sample sizes and seeds, so a re-checked cell reproduces its published "
                   "verdict and statistics exactly; it never writes results")
    p.add_argument("--seed", type=int, default=0, help="vary the draws (default 0: reproducible)")
    p.add_argument("--budget", type=float, default=engine.DEFAULT_BUDGET,
                   help="false-failure probability of the whole published run (every column of "
                        "`nox -s conformance`), in (0, 1) (default 1e-3); each published column "
                        f"plans with an even share (1e-3/{len(budget.PUBLISHED_COLUMNS)} by "
                        "default), another column with all of it")
    p.add_argument("--resolution", type=float, default=engine.DEFAULT_RESOLUTION,
                   help="relative variance error detected with 99%% power, in (0, 1) "
                        "(default 0.01); a run whose largest cell would not fit in memory is "
                        "refused")
    p.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, metavar="SECONDS",
                   help="stop the run (exit 3, naming the cell) when one cell takes longer: a "
                        f"framework hung in native code (default {DEFAULT_CELL_TIMEOUT:g}; 0: "
                        "never)")


@subcommand
def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="run the conformance suite for one framework",
        description="Run the conformance suite. Exit codes: 0 as expected, 1 a red cell, 2 bad "
                    "input or usage, 3 an adapter or environment error, 130 interrupted. Results "
                    "are written (atomically) only when every planned cell of a column ran.")
    _common(run)
    run.add_argument("--results", default="reports/results", help="results directory ('' = none)")
    run.add_argument("--report", default="reports/COMPATIBILITY.md", help="table to render")
    run.add_argument("--name-version", action="store_true",
                     help="name the results files <column>-<device>-<dtype>@<version>.json: "
                          "another release beside the published one (nox -s versions)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar (it is shown only when stdout is a terminal)")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    run.set_defaults(func=cmd_run)


@subcommand
def _add_report(sub: Any) -> None:
    report = sub.add_parser("report", help="render the table from results files")
    report.add_argument("--results", default="reports/results")
    report.add_argument("--out", default="reports/COMPATIBILITY.md")
    report.add_argument("--no-plots", action="store_true",
                        help="draw no detail-view pictures (their ~20 min on 2 cores); the site "
                             "says where a picture is missing")
    report.set_defaults(func=cmd_report)


@subcommand
def _add_validate(sub: Any) -> None:
    validate = sub.add_parser("validate", help="validate spec files")
    validate.add_argument("paths", nargs="*")
    validate.set_defaults(func=cmd_validate)


@subcommand
def _add_bench(sub: Any) -> None:
    bench = sub.add_parser("bench", help="time the run against raw sample generation")
    _common(bench)
    bench.add_argument("--results", default="", help="also write results here (default: none)")
    bench.add_argument("--check-cache", action="store_true",
                       help="instead of timing: hash every cell's sample without a compilation "
                            "cache, with a cold one and a warm one (three fresh processes); exit 1 "
                            "unless all agree bit for bit")
    bench.add_argument("--report", default="reports/COMPATIBILITY.md",
                       help="table to render when --results is given")
    bench.set_defaults(func=cmd_bench)


@subcommand
def _add_explain(sub: Any) -> None:
    from initspec.explain import register  # explain, list (conformance/explain.py)

    register(sub)


@subcommand
def _add_audit(sub: Any) -> None:
    from initspec.audit.cli import register  # audit, audit --compare (conformance/audit/)

    register(sub)


@subcommand
def _add_calibrate(sub: Any) -> None:
    from initspec.calibration import register  # calibrate add, calibrate summary

    register(sub)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="initspec", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for register in SUBCOMMANDS:
        register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return error("interrupted", EXIT_INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
