"""pytest plugin: generates one test per cell (spec × adapter × device × dtype).

Loaded with ``-p initspec.plugin`` (``initspec run`` does this) on ``initspec/suite.py``.
Several columns may run in one process (``--framework jax --framework flax``: a heavy framework
import paid once); each column is planned on its own, with its own error budget, exactly as if it
ran alone, so its verdicts do not depend on what else shares the process. A test passes when the
verdict is what the spec expects: a pass, or a recorded known deviation that still reproduces
(shown as xfail). Unsupported cells are skipped with their reason.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from initspec import budget, engine, recipes, results
from initspec.adapter import AdapterUnavailable, load_adapter
from initspec.distributions import DTYPES
from initspec.loader import SpecError, framework_spec_path, load_framework
from initspec.watchdog import DEFAULT_CELL_TIMEOUT, CellWatchdog

# Bytes one sampled value costs at its peak: the adapter's array and the framework's tensor
# (dtype-sized each), the sorted float64 copy and the checks' float64 temporaries.
_CHECK_BYTES_PER_VALUE = 24


class BadInput(ValueError):
    """A run that cannot mean what was asked (no cell selected, a range, memory); one line."""


def validate_ranges(budget: float, resolution: float) -> None:
    """Refuse a budget or resolution outside (0, 1) before anything is planned."""
    if not 0 < budget < 1:
        raise BadInput(f"--budget {budget:g}: the run's false-failure probability must lie "
                       "strictly between 0 and 1 (default 1e-3)")
    if not 0 < resolution < 1:
        raise BadInput(f"--resolution {resolution:g}: the relative variance error must lie "
                       "strictly between 0 and 1 (default 0.01)")


def machine_memory() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def peak_bytes(plan: engine.Plan) -> tuple[int, engine.Cell | None]:
    """The largest cell's memory, roughly, and that cell (exact cells are small)."""
    worst, at = 0, None
    for cell in plan.cells:
        if cell.skip_reason or not cell.stochastic_checks:
            continue
        values = plan.count(cell) * math.prod(cell.case.shape)
        size = values * (2 * DTYPES[cell.dtype].itemsize + _CHECK_BYTES_PER_VALUE)
        if size > worst:
            worst, at = size, cell
    return worst, at


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


class Run:
    """State of one conformance run (one or more columns), shared by every generated test."""

    def __init__(self, config: pytest.Config):
        opt = config.getoption
        names = opt("initspec_framework")
        if opt("initspec_spec") and len(names) > 1:
            raise SpecError("--spec names one spec file: give it with a single --framework")
        validate_ranges(opt("initspec_budget"), opt("initspec_resolution"))
        if not opt("initspec_cell_timeout") >= 0:
            raise BadInput(f"--cell-timeout {opt('initspec_cell_timeout'):g}: give seconds >= 0 "
                           "(0: no limit)")
        dtypes = opt("initspec_dtype") or None
        unknown = sorted(set(dtypes or ()) - set(DTYPES))
        if unknown:
            raise BadInput(f"--dtype {', '.join(unknown)}: unknown dtype "
                           f"(known: {', '.join(DTYPES)})")
        self.adapters = {name: load_adapter(name) for name in names}
        specs = {}
        self.plans: dict[str, engine.Plan] = {}
        # A recipe cell of one column may compare its draws with another column's framework in
        # this process (the JAX family; keras-torch with torch): spec name -> adapter.
        self.sources = {a.spec: a for a in self.adapters.values()}
        self.absent: list[tuple[str, str, str]] = []  # (column, device, why): one skip each
        devices = opt("initspec_device") or None
        for name, adapter in self.adapters.items():
            path = Path(opt("initspec_spec") or framework_spec_path(adapter.spec))
            if path not in specs:
                specs[path] = load_framework(path)
            spec = specs[path]
            if spec.framework != adapter.spec:
                raise SpecError(f"{path}: describes framework {spec.framework!r}, but adapter "
                                f"{name!r} samples {adapter.spec!r}: give its own spec "
                                f"(spec/frameworks/{adapter.spec}.yaml)")
            missing = sorted(set(dtypes or ()) - set(spec.dtypes))
            if missing:
                raise BadInput(f"--dtype {', '.join(missing)}: {path} checks only "
                               f"{', '.join(spec.dtypes)}")
            available = adapter.devices()
            self.absent += [(name, d, f"{name} reports no {d} device here (it has "
                             f"{', '.join(available) or 'none'}): its cells were not run")
                            for d in devices or () if d not in available]
            ported = []
            if opt("initspec_recipes") and not opt("initspec_spec"):
                ported = recipes.generate(path, recipes.spec_paths())
            self.plans[name] = engine.build_plan(
                spec, adapter, devices=devices, dtypes=dtypes,
                budget=opt("initspec_budget"), resolution=opt("initspec_resolution"),
                seed=opt("initspec_seed"), match=opt("initspec_match"),
                recipes=ported, two_sample=frozenset(self.sources) - {adapter.spec},
            )
        self.cells = [cell for plan in self.plans.values() for cell in plan.cells]
        if not self.cells and not self.absent:
            planned = sum(p.planned for p in self.plans.values())
            chosen = " ".join(f"--{k} {v}" for k, v in (
                ("match", opt("initspec_match")), ("device", ",".join(devices or ())),
                ("dtype", ",".join(dtypes or ()))) if v)
            raise BadInput(f"{chosen or 'the spec'} selects no cell of "
                           f"{', '.join(names)} ({planned} cells in the full plan)")
        memory = machine_memory()
        for plan in self.plans.values():
            need, cell = peak_bytes(plan)
            if need > memory:
                raise BadInput(f"--resolution {plan.resolution:g} needs about {_bytes(need)} "
                               f"for one cell ({cell.id}), more than this machine's "
                               f"{_bytes(memory)}: use a coarser resolution")
        self.budget = opt("initspec_budget")  # the whole run's (initspec.budget)
        self.results_dir = opt("initspec_results")
        self.name_version = bool(opt("initspec_name_version"))
        self.results: list[engine.CellResult] = []
        self.written: list[Path] = []
        self.unwritten: dict[str, str] = {}  # column -> why its results were not written
        self.on_cell: Callable[[engine.Cell, engine.CellResult | None], None] | None = None
        self.watchdog = CellWatchdog(opt("initspec_cell_timeout"))
        # per column: first cell started, last cell done (the results files' wall_seconds)
        self.spans: dict[str, list[float]] = {}
        self.started = time.perf_counter()

    def evaluate(self, cell: engine.Cell) -> engine.CellResult:
        if self.on_cell is not None:
            self.on_cell(cell, None)
        started = time.perf_counter()
        with self.watchdog.watch(cell.id):
            result = engine.evaluate(self.plans[cell.column], cell, self.adapters[cell.column],
                                     self.sources)
        span = self.spans.setdefault(cell.column, [started, started])
        span[1] = time.perf_counter()
        self.results.append(result)
        if self.on_cell is not None:
            self.on_cell(cell, result)
        return result

    def complete(self, column: str) -> bool:
        """Every planned cell of ``column`` ran: only then may its results be written."""
        plan = self.plans[column]
        ran = {r.cell.id for r in self.results if r.cell.column == column}
        return not plan.partial and ran >= {c.id for c in plan.cells}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("initspec")
    group.addoption("--framework", dest="initspec_framework", action="append",
                    help="adapter (column) to run; repeat to run several in one process")
    group.addoption("--spec", dest="initspec_spec", help="framework spec file (default: its own)")
    group.addoption("--device", dest="initspec_device", action="append", help="only this device")
    group.addoption("--dtype", dest="initspec_dtype", action="append", help="only this dtype")
    group.addoption("--seed", dest="initspec_seed", type=int, default=0)
    group.addoption("--budget", dest="initspec_budget", type=float, default=engine.DEFAULT_BUDGET,
                    help="false-failure probability of the whole published run, split evenly "
                    "over its columns, then over each column's checks")
    group.addoption("--resolution", dest="initspec_resolution", type=float,
                    default=engine.DEFAULT_RESOLUTION,
                    help="relative variance error detected with 99%% power")
    group.addoption("--match", dest="initspec_match", help="only cells whose id contains this")
    group.addoption("--results", dest="initspec_results", help="write results JSON here")
    group.addoption("--name-version", dest="initspec_name_version", action="store_true",
                    default=False, help="results file names carry the framework version")
    group.addoption("--cell-timeout", dest="initspec_cell_timeout", type=float,
                    default=DEFAULT_CELL_TIMEOUT,
                    help="seconds one cell may take before the run is stopped as hung (0: never)")
    group.addoption("--no-recipes", dest="initspec_recipes", action="store_false", default=True,
                    help="do not generate the porting-recipe cells (conformance/recipes.py)")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if RUN in config.stash or not config.getoption("initspec_framework"):
        return  # `initspec run` planned the run itself (and reported bad input as such)
    try:
        config.stash[RUN] = Run(config)
    except (SpecError, AdapterUnavailable, BadInput) as exc:
        raise pytest.UsageError(str(exc)) from None


RUN = pytest.StashKey[Run]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(RUN, None)
    return [] if run is None else header_lines(run)


def header_lines(run: Run) -> list[str]:
    """What each column plans: version, devices, cells, alpha; then each absent device."""
    lines = []
    for name, plan in run.plans.items():
        adapter = run.adapters[name]
        devices = sorted({c.device for c in plan.cells}) or ["no device"]
        part = f" of {plan.planned} (partial: the full plan's alpha)" if plan.partial else ""
        lines.append(f"initspec: {name} {adapter.version()} on {', '.join(devices)}; "
                     f"{len(plan.cells)} cells{part}, "
                     f"{budget.split_text(run.budget, name)} -> alpha "
                     f"{plan.alpha:.3g} per check; seed {plan.seed}; "
                     f"variance resolution ±{100 * plan.resolution:g}%")
    lines += [f"initspec: skipped device {device}: {why}" for _, device, why in run.absent]
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not {"cell", "deviation_column", "absent_device"} & set(metafunc.fixturenames):
        return
    run = metafunc.config.stash.get(RUN, None)
    if run is None:
        raise pytest.UsageError("the initspec suite needs --framework NAME")
    cells = run.cells
    if "cell" in metafunc.fixturenames:
        metafunc.parametrize("cell", cells, ids=[c.id for c in cells])
    elif "absent_device" in metafunc.fixturenames:  # one visible skip per device not here
        metafunc.parametrize("absent_device", run.absent,
                             ids=[f"{column}/{device}" for column, device, _ in run.absent])
    else:  # one test per known deviation and column, run after the cells
        columns = sorted({(c.deviation.id, f"{c.column}-{c.version}/{c.device}/{c.dtype}")
                          for c in cells if c.deviation and not c.skip_reason})
        metafunc.parametrize("deviation_column", columns,
                             ids=[f"{col}/known-deviation:{dev}" for dev, col in columns])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Drop the placeholder pytest makes for an empty parametrisation (no known deviation or no
    absent device in this run): it is not a test, only a "got empty parameter set" skip."""
    def placeholder(item: pytest.Item) -> bool:
        mark = item.get_closest_marker("skip")
        reason = str(mark.kwargs.get("reason", "")) if mark else ""
        return reason.startswith("got empty parameter set") and bool(
            {"cell", "deviation_column", "absent_device"}
            & set(getattr(item, "fixturenames", ())))

    items[:] = [item for item in items if not placeholder(item)]


@pytest.fixture(scope="session")
def initspec_run(request: pytest.FixtureRequest) -> Run:
    return request.config.stash[RUN]


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or not run.results_dir:
        return
    for name, plan in run.plans.items():
        if not run.complete(name):  # a partial run must never overwrite published results
            ran = len({r.cell.id for r in run.results if r.cell.column == name})
            run.unwritten[name] = (f"partial run ({ran} of {plan.planned} cells of {name}): "
                                   "results not written")
            continue
        mine = [r for r in run.results if r.cell.column == name]
        adapter = run.adapters[name]
        start, end = run.spans.get(name, (0.0, 0.0))
        for path in results.write(mine, plan, Path(run.results_dir),
                                  environment=adapter.environment(),
                                  name_version=run.name_version, wall_seconds=end - start):
            run.written.append(path)
            session.config.get_terminal_writer().line(f"initspec: wrote {path}")


def failure_text(result: engine.CellResult) -> str:
    """What a red cell shows: the numbers, every check, and code that reproduces the draw."""
    cell, case = result.cell, result.cell.case
    params = ", ".join(f"{k}={v:.6g}" for k, v in case.params.items())
    lines = [f"{cell.id}: {result.verdict}",
             f"  spec: {case.entry.scheme.name} -> {case.family}({params})"
             + (f"; variance {case.entry.variance_text} = {case.variance:.6g}"
                if case.variance is not None and case.entry.variance_text else "")
             + (f"; bounds [{case.bounds[0]:.6g}, {case.bounds[1]:.6g}]" if case.bounds else "")]
    if result.status == "error" or not result.checks:
        lines.append(f"  {result.message}")
    else:
        lines.append(f"  n = {result.n} values from {result.count} instance(s)")
        for c in result.checks:
            power = f"  [detects {c.min_detectable}]" if c.min_detectable else ""
            lines.append(f"  {'ok  ' if c.passed else 'FAIL'} {c.name}: {c.message}{power}")
    if cell.deviation:
        lines.append(f"  known deviation: {cell.deviation.reason} ({cell.deviation.link})")
    if result.reproducer:
        lines.append("  reproduce:")
        lines += [f"    {line}" for line in result.reproducer.splitlines()]
    return "\n".join(lines)
