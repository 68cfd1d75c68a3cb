"""pytest plugin: generates one test per cell (spec × adapter × device × dtype).

Loaded with ``-p initspec.plugin`` (``initspec run`` does this) on ``initspec/suite.py``.
Several columns may run in one process (``--framework jax --framework flax``: a heavy framework
import paid once); each column is planned on its own, with its own error budget, exactly as if it
ran alone, so its verdicts do not depend on what else shares the process. A test passes when the
verdict is what the spec expects: a pass, or a recorded known deviation that still reproduces
(shown as xfail). Unsupported cells are skipped with their reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from initspec import engine, recipes, results
from initspec.adapter import AdapterUnavailable, load_adapter
from initspec.loader import SpecError, framework_spec_path, load_framework


class Run:
    """State of one conformance run (one or more columns), shared by every generated test."""

    def __init__(self, config: pytest.Config):
        opt = config.getoption
        names = opt("initspec_framework")
        if opt("initspec_spec") and len(names) > 1:
            raise SpecError("--spec names one spec file: give it with a single --framework")
        self.adapters = {name: load_adapter(name) for name in names}
        specs = {}
        self.plans: dict[str, engine.Plan] = {}
        # A recipe cell of one column may compare its draws with another column's framework in
        # this process (the JAX family; keras-torch with torch): spec name -> adapter.
        self.sources = {a.spec: a for a in self.adapters.values()}
        for name, adapter in self.adapters.items():
            path = Path(opt("initspec_spec") or framework_spec_path(adapter.spec))
            if path not in specs:
                specs[path] = load_framework(path)
            ported = []
            if opt("initspec_recipes") and not opt("initspec_spec"):
                ported = recipes.generate(path, recipes.spec_paths())
            self.plans[name] = engine.build_plan(
                specs[path], adapter,
                devices=opt("initspec_device") or None, dtypes=opt("initspec_dtype") or None,
                budget=opt("initspec_budget"), resolution=opt("initspec_resolution"),
                seed=opt("initspec_seed"), match=opt("initspec_match"),
                recipes=ported, two_sample=frozenset(self.sources) - {adapter.spec},
            )
        self.cells = [cell for plan in self.plans.values() for cell in plan.cells]
        self.results_dir = opt("initspec_results")
        self.results: list[engine.CellResult] = []

    def evaluate(self, cell: engine.Cell) -> engine.CellResult:
        result = engine.evaluate(self.plans[cell.column], cell, self.adapters[cell.column],
                                 self.sources)
        self.results.append(result)
        return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("initspec")
    group.addoption("--framework", dest="initspec_framework", action="append",
                    help="adapter (column) to run; repeat to run several in one process")
    group.addoption("--spec", dest="initspec_spec", help="framework spec file (default: its own)")
    group.addoption("--device", dest="initspec_device", action="append", help="only this device")
    group.addoption("--dtype", dest="initspec_dtype", action="append", help="only this dtype")
    group.addoption("--seed", dest="initspec_seed", type=int, default=0)
    group.addoption("--budget", dest="initspec_budget", type=float, default=engine.DEFAULT_BUDGET,
                    help="suite-wide false-failure probability, split over all checks")
    group.addoption("--resolution", dest="initspec_resolution", type=float,
                    default=engine.DEFAULT_RESOLUTION,
                    help="relative variance error detected with 99%% power")
    group.addoption("--match", dest="initspec_match", help="only cells whose id contains this")
    group.addoption("--results", dest="initspec_results", help="write results JSON here")
    group.addoption("--no-recipes", dest="initspec_recipes", action="store_false", default=True,
                    help="do not generate the porting-recipe cells (conformance/recipes.py)")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("initspec_framework"):
        return
    try:
        config.stash[RUN] = Run(config)
    except (SpecError, AdapterUnavailable) as exc:
        raise pytest.UsageError(str(exc)) from None


RUN = pytest.StashKey[Run]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(RUN, None)
    if run is None:
        return []
    lines = []
    for name, plan in run.plans.items():
        adapter = run.adapters[name]
        checks = sum(len(c.stochastic_checks) for c in plan.cells)
        lines.append(f"initspec: {name} {adapter.version()} on {', '.join(adapter.devices())}; "
                     f"{len(plan.cells)} cells, {checks} stochastic checks, budget "
                     f"{plan.budget:g} -> alpha {plan.alpha:.3g} per check; seed {plan.seed}; "
                     f"variance resolution ±{100 * plan.resolution:g}%")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not {"cell", "deviation_column"} & set(metafunc.fixturenames):
        return
    run = metafunc.config.stash.get(RUN, None)
    if run is None:
        raise pytest.UsageError("the initspec suite needs --framework NAME")
    cells = run.cells
    if "cell" in metafunc.fixturenames:
        metafunc.parametrize("cell", cells, ids=[c.id for c in cells])
    else:  # one test per known deviation and column, run after the cells
        columns = sorted({(c.deviation.id, f"{c.column}-{c.version}/{c.device}/{c.dtype}")
                          for c in cells if c.deviation and not c.skip_reason})
        metafunc.parametrize("deviation_column", columns,
                             ids=[f"{col}/known-deviation:{dev}" for dev, col in columns])


@pytest.fixture(scope="session")
def initspec_run(request: pytest.FixtureRequest) -> Run:
    return request.config.stash[RUN]


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or not run.results_dir or not run.results:
        return
    if session.config.getoption("initspec_match"):
        return  # a partial run must not overwrite the published results
    for name, plan in run.plans.items():
        mine = [r for r in run.results if r.cell.column == name]
        if not mine:
            continue
        adapter = run.adapters[name]
        for path in results.write(mine, plan, Path(run.results_dir),
                                  environment=adapter.environment()):
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
