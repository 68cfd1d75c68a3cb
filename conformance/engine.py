"""Plan a conformance run (cells, error budget, sample sizes) and evaluate one cell.

A *cell* is one spec case on one device in one dtype. The false-failure budget (default 1e-3)
covers the whole published run (:mod:`initspec.budget`): each published column gets an even
share, split evenly (Bonferroni) over every stochastic check its plan will run; exact checks
cannot fail by chance and take none of it. Sample sizes follow from that per-check alpha
and the target resolution (default: variance certified to ±1 % with 99 % power).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from initspec import budget as _budget
from initspec import checks, evidence, power
from initspec import promises as _promises
from initspec.adapter import Adapter, SampleRequest, SpecMismatch, Unsupported
from initspec.distributions import DTYPES, continuous, reference
from initspec.loader import Case, FrameworkSpec, KnownDeviation, Raises
from initspec.recipes import RECIPE_DTYPE, Recipe

DEFAULT_BUDGET = 1e-3
DEFAULT_RESOLUTION = 0.01
#: What a verdict can be, as a number. Bump it in any commit that can change a verdict of the
#: published run at the same seed and versions: a check added, removed or changed, the alpha split
#: (conformance/budget.py: its columns, the even shares), sample sizes or instance counts, what an
#: adapter draws or how it builds a layer, a spec's expectations (entries, cases, formulas, known
#: deviations, skips). Results files record it (``verdict_epoch``), and the calibration ledger
#: (reports/calibration.json, conformance/calibration.py) counts a run only at the current
#: epoch: that is how "a run of an older suite commit counts only if no verdict-changing commit
#: came after it" is made mechanical. Epoch 1 starts at f6b3c50 (the Flax GroupNorm recipe fix);
#: epoch 2 at Paddle's publication (11 columns share the budget) with recipe cells on affordable
#: layers only (recipes.LAYER_VALUES_LIMIT);
#: files written before the field existed get their epoch from calibration.LEGACY_EPOCHS.
#: tests/test_calibration.py fails when a file that decides verdicts changes and this number
#: (or the fingerprint beside it there) was not revisited.
VERDICT_EPOCH = 2
EXACT_INSTANCES = {"constant": 2, "identity": 2, "orthogonal": 3, "delta_orthogonal": 3,
                   "raises": 1}
REPEAT_INSTANCES = 3
# A random cell draws at least this many fresh instances: correlation across instances and
# exact repeats (a seed reused per instance) cannot show in one.
MIN_RANDOM_INSTANCES = 2
# Orthogonal cells draw instances until this many diagonal signs are tested (haar-signs): a QR
# without the sign correction leaves ~22 % of them positive, which 256 signs reject at alpha 1e-9.
HAAR_SIGNS = 256
HAAR_FAMILIES = ("orthogonal", "delta_orthogonal")


@dataclass(frozen=True)
class Cell:
    case: Case
    column: str  # adapter name, e.g. "torch"
    version: str
    device: str
    dtype: str
    stochastic_checks: tuple[str, ...]
    deviation: KnownDeviation | None
    skip_reason: str | None
    recipe: Recipe | None = None  # a porting recipe cell (conformance/recipes.py)

    @property
    def id(self) -> str:
        return f"{self.column}-{self.version}/{self.device}/{self.dtype}/{self.case.name}"


@dataclass(frozen=True)
class Plan:
    cells: tuple[Cell, ...]
    budget: float  # this column's share of the run budget (initspec.budget)
    resolution: float
    seed: int
    alpha: float  # per stochastic check
    # cells of the full plan (every device the adapter reports, every dtype, no --match): a
    # partial plan keeps the full plan's alpha (and so its n), and a run writes results only
    # when it evaluated all of them
    planned: int = 0

    @property
    def partial(self) -> bool:
        return len(self.cells) < self.planned

    def seed_for(self, cell: Cell) -> int:
        digest = hashlib.sha256(f"{self.seed}:{cell.id}".encode()).digest()
        return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

    def num_samples(self, cell: Cell) -> int:
        """Values needed for the cell's distribution checks at the planned alpha."""
        dist = _distribution(cell.case)
        kurtosis = float(dist.stats(moments="k")) + 3
        return power.min_num_samples_variance(kurtosis, self.resolution, self.alpha)

    def count(self, cell: Cell) -> int:
        """Instances to draw: enough values for the resolution, or a few for exact checks."""
        case = cell.case
        if case.entry.repeat is not None:
            return REPEAT_INSTANCES
        if case.family in HAAR_FAMILIES:
            return max(EXACT_INSTANCES[case.family], math.ceil(HAAR_SIGNS / haar_signs(case)))
        if case.family in EXACT_INSTANCES:
            return EXACT_INSTANCES[case.family]
        per_instance = selected_size(case)
        if case.family == "sparse":
            rows = case.shape[0]
            per_instance = per_instance * (rows - math.ceil(case.params["sparsity"] * rows)) // rows
        return max(MIN_RANDOM_INSTANCES,
                   math.ceil(self.num_samples(cell) / max(per_instance, 1)))


@dataclass
class CellResult:
    cell: Cell
    status: str  # "pass" | "fail" | "skip" | "error"
    checks: list[checks.CheckResult] = field(default_factory=list)
    message: str = ""
    n: int = 0
    count: int = 0
    seconds_sample: float = 0.0
    seconds_check: float = 0.0
    reproducer: str = ""
    evidence: dict[str, Any] | None = None  # for plots (initspec.evidence); random cells only
    spec_error: bool = False  # the error is the spec's (a target or argument the framework lacks)
    promises: list[_promises.PromiseResult] = field(default_factory=list)  # never the verdict


    two_sample: dict[str, Any] | None = None  # recipe cells: B's draws against A's own

    @property
    def expected(self) -> str:
        return "deviation" if self.cell.deviation else "pass"

    @property
    def verdict(self) -> str:
        """The table's verdict: pass, fail, known-deviation, skip or error.

        A cell under a known deviation that passes is a pass: one cell may lack the power to see
        a small deviation. Whether the deviation still reproduces at all is judged per column
        (see :func:`deviation_outcomes`).
        """
        if self.cell.deviation and self.status == "fail":
            failing = {c.name for c in self.failures()}
            return "known-deviation" if self.cell.deviation.explains(failing) else "fail"
        return self.status

    @property
    def as_expected(self) -> bool:
        return self.verdict in ("pass", "known-deviation", "skip")

    def failures(self) -> list[checks.CheckResult]:
        return [c for c in self.checks if not c.passed]


def selected_size(case: Case) -> int:
    """Values one instance contributes to the checks (after the entry's ``select``)."""
    size = math.prod(case.shape)
    if case.select is None:
        return size
    sel = case.select
    along, width = case.shape[sel.axis], sel.stop - sel.start
    return size // along * (along - width if sel.complement else width)


def selected_shape(case: Case) -> tuple[int, ...]:
    """One instance's shape after the entry's ``select``."""
    if case.select is None:
        return tuple(case.shape)
    sel, shape = case.select, list(case.shape)
    width = sel.stop - sel.start
    shape[sel.axis] = shape[sel.axis] - width if sel.complement else width
    return tuple(shape)


def haar_signs(case: Case) -> int:
    """Diagonal signs one instance of an orthogonal case contributes (its matrices' short side)."""
    shape = tuple(case.shape)
    if case.family == "delta_orthogonal":
        return max(1, min(shape[-2:]))
    axis, blocks = int(case.params["axis"]), int(case.params["blocks"])
    columns = shape[axis]
    rows = math.prod(shape) // columns
    return max(1, blocks * min(rows, columns // blocks))


def independence_names(case: Case) -> tuple[str, ...]:
    """The lag-1 correlation checks of a random case: across instances, then along each axis of
    the parameter longer than 1 (after ``select``)."""
    if case.family == "sparse":  # its non-zero values are tested without their positions
        return ()
    return ("independence:instances", *(f"independence:axis{i}" for i, length
                                        in enumerate(selected_shape(case)) if length > 1))


def _distribution(case: Case):
    return continuous(case.family, case.params)


def stochastic_checks(case: Case) -> tuple[str, ...]:
    """The chance-governed checks a case will run (each takes a share of the error budget).

    The checks of its documented promises count too (named promise:<id>:<check>), so that the
    designed false-failure rate holds for the drift verdicts as well.
    """
    if case.entry.repeat is not None:
        return ()
    if case.family in HAAR_FAMILIES:
        return ("haar-signs",)
    if _distribution(case) is None:
        return ()
    return (_marginal_checks(case) + independence_names(case)
            + _promises.check_names(case, _marginal_checks))


def _marginal_checks(case: Case) -> tuple[str, ...]:
    """The chance-governed checks of the values' law (a promise re-runs only these)."""
    dist = _distribution(case)
    if dist is None or case.entry.repeat is not None:
        return ()
    names = ["ks", "mean", "variance", *(f"tail>{k}σ" for k in checks.tail_thresholds(dist))]
    lo, hi = dist.support()
    names += [f"at-{side}-bound" for side, b in (("lower", lo), ("upper", hi)) if np.isfinite(b)]
    if not (np.isfinite(lo) or np.isfinite(hi)):
        names.append("extreme")
    return tuple(names)


def build_plan(spec: FrameworkSpec, adapter: Adapter, *, devices: list[str] | None = None,
               dtypes: list[str] | None = None, budget: float = DEFAULT_BUDGET,
               resolution: float = DEFAULT_RESOLUTION, seed: int = 0,
               match: str | None = None,
               recipes: list[tuple[Case, Recipe]] | None = None,
               two_sample: frozenset[str] = frozenset()) -> Plan:
    """The column's cells: every case on every device the adapter reports, in every dtype, and
    the porting-recipe cells (``recipes``: float32 only; those whose source spec is in
    ``two_sample`` also run a two-sample test against that framework's own draws, one more
    stochastic check).

    ``budget`` is the whole published run's; the column plans with its share of it
    (:func:`initspec.budget.column_budget`).
    ``devices``, ``dtypes`` and ``match`` select a subset, but the error budget is always split
    over the FULL plan's stochastic checks: a partial run uses the same alpha, hence the same n
    and seeds, as the full run, and reproduces its verdicts and statistics exactly. A requested
    device the adapter does not report is not planned (the caller says so).
    """
    version = adapter.version()
    available = adapter.devices()
    cells = []
    for device in available:
        for dtype in spec.dtypes:
            for case in spec.cases:
                skip = None
                entry = case.entry
                if entry.versions is not None and not entry.versions.contains(
                        version, prereleases=True):
                    skip = f"spec entry applies to {adapter.spec} {entry.versions}, not {version}"
                elif entry.dtypes is not None and dtype not in entry.dtypes:
                    skip = f"spec entry is checked in {', '.join(sorted(entry.dtypes))} only"
                elif entry.columns is not None and adapter.name not in entry.columns:
                    skip = f"spec entry applies to {', '.join(sorted(entry.columns))} only"
                deviation = next((d for d in entry.known_deviations
                                  if d.applies(device, dtype, version, adapter.name)), None)
                cells.append(Cell(case, adapter.name, version, device, dtype,
                                  stochastic_checks(case) if skip is None else (), deviation,
                                  skip))
        if RECIPE_DTYPE in spec.dtypes:
            cells += [_recipe_cell(case, recipe, adapter, version, device, two_sample)
                      for case, recipe in recipes or ()]
    total = sum(len(c.stochastic_checks) for c in cells)
    share = _budget.column_budget(budget, adapter.name)
    alpha = share / max(total, 1)
    selected = tuple(c for c in cells if (devices is None or c.device in devices)
                     and (dtypes is None or c.dtype in dtypes)
                     and (match is None or match in c.id))
    return Plan(selected, share, resolution, seed, alpha, planned=len(cells))


def _recipe_cell(case: Case, recipe: Recipe, adapter: Adapter, version: str, device: str,
                 two_sample: frozenset[str]) -> Cell:
    entry = case.entry
    skip = None
    if entry.versions is not None and not entry.versions.contains(version, prereleases=True):
        skip = f"spec entry applies to {adapter.spec} {entry.versions}, not {version}"
    elif entry.columns is not None and adapter.name not in entry.columns:
        skip = f"spec entry applies to {', '.join(sorted(entry.columns))} only"
    deviation = next((d for d in entry.known_deviations
                      if d.applies(device, RECIPE_DTYPE, version, adapter.name)), None)
    checks_ = stochastic_checks(case) if skip is None else ()
    if skip is None and recipe.source_spec in two_sample and checks_:
        checks_ = (*checks_, TWO_SAMPLE)
    return Cell(case, adapter.name, version, device, RECIPE_DTYPE, checks_, deviation, skip,
                recipe)


TWO_SAMPLE = "two-sample"


def request_for(plan: Plan, cell: Cell) -> SampleRequest:
    case = cell.case
    recipe = cell.recipe
    return SampleRequest(case.entry.target, case.entry.param, dict(case.kwargs), case.shape,
                         plan.count(cell), cell.device, cell.dtype, plan.seed_for(cell),
                         input_shape=case.input_shape,
                         reuse=case.entry.repeat is not None and case.entry.repeat.reuse,
                         symbols=case.symbols,
                         init_args=recipe.init_args if recipe else {},
                         assign=recipe.assign if recipe else {},
                         entry=case.entry.name, cell_id=cell.id)


def evaluate(plan: Plan, cell: Cell, adapter: Adapter,
             sources: Mapping[str, Adapter] | None = None) -> CellResult:
    """Draw the cell's samples through the adapter and run every applicable check.

    ``sources`` (spec name -> adapter) are the other frameworks importable in this process: a
    recipe cell from one of them also compares its draws with that framework's own."""
    if cell.skip_reason:
        return CellResult(cell, "skip", message=cell.skip_reason)
    request = request_for(plan, cell)
    result = CellResult(cell, "pass", count=request.count)
    if cell.case.entry.expect == "raises":
        return _evaluate_raises(result, request, adapter)
    start = time.perf_counter()
    try:
        result.reproducer = adapter.reproducer(request)
        if cell.recipe is not None:  # the adapter's snippet shows the layer; the recipe its init
            result.reproducer = (f"{result.reproducer}\n# porting recipe (what ran):\n"
                                 f"{cell.recipe.call}").lstrip()
        x = adapter.sample(request)
    except Unsupported as exc:
        result.status, result.message = "skip", f"unsupported: {exc}"
        return result
    except SpecMismatch as exc:  # the spec's fault: point at its file:line:field
        return _spec_mismatch(result, exc)
    except Exception as exc:  # a failing adapter is a one-line error in the cell, not a crash
        first = str(exc).splitlines()[0] if str(exc) else ""
        result.status, result.message = "error", f"{type(exc).__name__}: {first}"
        return result
    if not isinstance(x, np.ndarray):  # the adapter contract: numpy out (not a dtype mismatch)
        result.status = "error"
        result.message = (f"adapter {adapter.name!r} returned {type(x).__name__}, not a "
                          "numpy.ndarray (Adapter.sample must return one)")
        return result
    result.seconds_sample = time.perf_counter() - start
    start = time.perf_counter()
    try:
        found: dict[str, Any] = {}
        result.checks = run_checks(cell.case, x, cell.dtype, plan.alpha, evidence_out=found)
        result.evidence = found or None
    except Exception as exc:  # a check that cannot digest these samples: show it, do not crash
        result.status, result.message = "error", f"checking failed: {type(exc).__name__}: {exc}"
        return result
    if TWO_SAMPLE in cell.stochastic_checks and sources and cell.recipe.source_spec in sources:
        try:
            check = two_sample_check(plan, cell, x, sources[cell.recipe.source_spec])
        except Exception as exc:  # the source framework failing is this cell's error too
            result.status = "error"
            result.message = f"two-sample draw failed: {type(exc).__name__}: {exc}"
            return result
        result.checks.append(check)
        result.two_sample = {"test": "ks_2samp", "p_value": check.p_value,
                             "alpha": check.alpha, "passed": check.passed}
    result.seconds_check = time.perf_counter() - start
    shape_ok = x.shape[1:] == cell.case.shape
    result.n = int(x.shape[0] * selected_size(cell.case) if shape_ok else x.size)
    failed = result.failures()
    result.promises = _test_promises(plan, cell, x, {c.name for c in failed})
    result.status = "fail" if failed else "pass"
    result.message = "; ".join(f"{c.name}: {c.message}" for c in failed)
    if cell.deviation and not failed:
        result.message = f"known deviation {cell.deviation.id} not detected in this cell"
    return result


def _test_promises(plan: Plan, cell: Cell, x: np.ndarray,
                   own_failures: set[str]) -> list[_promises.PromiseResult]:
    try:
        return _promises.check_all(cell.case, x, cell.dtype, plan.alpha, _marginal_run_checks,
                                   own_failures, cell.deviation)
    except Exception as exc:  # a promise that cannot be checked is untested, not a crash
        return _promises.untested(cell.case, f"checking failed: {type(exc).__name__}: {exc}")


def two_sample_check(plan: Plan, cell: Cell, x: np.ndarray,
                     source: Adapter) -> checks.CheckResult:
    """KS two-sample test of the recipe's draws ``x`` against A's own draws of A's case (same
    number of instances, the cell's device when A has it), at the plan's alpha."""
    a_case = cell.recipe.source
    device = cell.device if cell.device in source.devices() else "cpu"
    a_cell = Cell(a_case, source.name, source.version(), device, RECIPE_DTYPE, (), None, None)
    request = SampleRequest(a_case.entry.target, a_case.entry.param, dict(a_case.kwargs),
                            a_case.shape, x.shape[0], device, RECIPE_DTYPE,
                            plan.seed_for(a_cell), input_shape=a_case.input_shape,
                            symbols=a_case.symbols)
    y = np.asarray(source.sample(request))
    mine = (_select(x, cell.case) if cell.case.select else x).astype(np.float64).ravel()
    theirs = (_select(y, a_case) if a_case.select else y).astype(np.float64).ravel()
    test = stats.ks_2samp(mine, theirs)
    passed = bool(test.pvalue >= plan.alpha)
    return checks.CheckResult(TWO_SAMPLE, passed,
                              f"ks_2samp against {source.name}'s own draws: D = "
                              f"{test.statistic:.4g}, p = {test.pvalue:.3g} (alpha "
                              f"{plan.alpha:.3g}, {mine.size} vs {theirs.size} values)",
                              float(test.pvalue), plan.alpha)


def _spec_mismatch(result: CellResult, exc: SpecMismatch) -> CellResult:
    case = result.cell.case
    where = (case.locations or {}).get(exc.field, f"{case.entry.file}:{case.entry.line}")
    result.status, result.message, result.spec_error = "error", f"{where}: {exc}", True
    return result


def _evaluate_raises(result: CellResult, request: SampleRequest,
                     adapter: Adapter) -> CellResult:
    """``expect: raises``: the cell passes only when the adapter's call raises as stated."""
    start = time.perf_counter()
    try:
        result.reproducer = adapter.reproducer(request)
        x = adapter.sample(request)
    except Unsupported as exc:  # the dtype/device itself is unsupported: no statement either way
        result.status, result.message = "skip", f"unsupported: {exc}"
        return result
    except SpecMismatch as exc:  # a misspelt target or argument is not the expected raise
        return _spec_mismatch(result, exc)
    except Exception as exc:  # the expected outcome: judged by check_raises
        check = check_raises(exc, result.cell.case.entry.raises)
    else:
        check = checks.CheckResult("raises", False, _expected_raise(result.cell.case.entry.raises)
                                   + f", drew values (shape {np.shape(x)})")
    result.seconds_sample = time.perf_counter() - start
    result.checks = [check]
    result.status = "pass" if check.passed else "fail"
    result.message = "" if check.passed else f"raises: {check.message}"
    if result.cell.deviation and check.passed:
        result.message = f"known deviation {result.cell.deviation.id} not detected in this cell"
    return result


def _expected_raise(raises: Raises | None) -> str:
    what = raises.type if raises and raises.type else "an exception"
    return f"expected to raise {what}" + (f" matching {raises.match!r}"
                                          if raises and raises.match else "")


def check_raises(exc: BaseException, raises: Raises | None) -> checks.CheckResult:
    """An exact check: ``exc`` is of the stated class (or a subclass) and its message contains the
    stated fragment. No error budget: nothing about it is random."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    raised = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    names = {cls.__name__ for cls in type(exc).__mro__}
    type_ok = raises is None or raises.type is None or raises.type in names
    match_ok = raises is None or raises.match is None or raises.match in str(exc)
    ok = type_ok and match_ok
    message = f"raised {raised}" if ok else f"{_expected_raise(raises)}, raised {raised}"
    return checks.CheckResult("raises", ok, message, stats={"raised": type(exc).__name__})


def _marginal_run_checks(case: Case, x: np.ndarray, dtype: str,
                         alpha: float) -> list[checks.CheckResult]:
    return run_checks(case, x, dtype, alpha, independence=False)


def run_checks(case: Case, x: np.ndarray, dtype: str, alpha: float, *,
               evidence_out: dict[str, Any] | None = None,
               independence: bool = True) -> list[checks.CheckResult]:
    """Every check that applies to ``case``, on draws ``x`` of shape (count, *shape).

    ``independence``: also the checks of how values relate (lag-1 correlations, distinct
    instances, Haar signs); a documented promise re-tests only the values' law.
    A random family's plot evidence (:mod:`initspec.evidence`) goes into ``evidence_out``."""
    shape = checks.check_shape(x.shape[1:], case.shape)
    if not shape.passed:
        return [shape]
    results = [shape]
    if x.dtype.kind not in "iub":  # integer buffers (e.g. num_batches_tracked) keep their dtype
        ok = x.dtype == DTYPES[dtype]
        results.append(checks.CheckResult("dtype", ok, f"dtype {x.dtype}" + (
            "" if ok else f" != requested {dtype}")))
        if not ok:
            return results
    if case.select is not None:
        x = _select(x, case)
    p = case.params
    if case.entry.repeat is not None:
        results.append(checks.check_repeat(x, case.entry.repeat.expect))
    elif case.family == "constant":
        results.append(checks.check_constant(x, p["value"], dtype))
    elif case.family == "orthogonal":
        results.append(checks.check_orthogonal(x, p["gain"], dtype, int(p["axis"]),
                                               int(p["blocks"])))
        if independence:
            results.append(checks.check_haar_signs(x, alpha, int(p["axis"]), int(p["blocks"])))
    elif case.family == "delta_orthogonal":
        results.append(checks.check_delta_orthogonal(x, p["gain"], dtype))
        if independence:
            centre = tuple(k // 2 for k in x.shape[1:-2])
            results.append(checks.check_haar_signs(x[(slice(None), *centre)], alpha, axis=-1))
    elif case.family == "identity":
        results.append(checks.check_identity(x, p["gain"], int(p["groups"]), dtype))
    elif case.family == "sparse":
        zeros, rest = checks.check_sparse_zeros(x, p["sparsity"])
        results.append(zeros)
        results += distribution_checks(rest, _distribution(case), dtype, alpha, evidence_out)
    else:
        dist = _distribution(case)
        results += distribution_checks(x, dist, dtype, alpha, evidence_out)
        if independence:
            results += independence_checks(x, dist, dtype, alpha)
    return results


def independence_checks(x: np.ndarray, dist: Any, dtype: str,
                        alpha: float) -> list[checks.CheckResult]:
    """Lag-1 correlation across instances and along each axis longer than 1; no two instances
    equal, where chance collisions are bounded by ``checks.CHANCE_COLLISION``."""
    results = []
    if len(x) > 1:
        results.append(checks.check_serial_correlation(x, 0, "independence:instances", alpha))
    results += [checks.check_serial_correlation(x, axis + 1, f"independence:axis{axis}", alpha)
                for axis, length in enumerate(x.shape[1:]) if length > 1]
    q = checks.collision_probability(reference(dist, dtype), dtype)
    size = math.prod(x.shape[1:])
    if checks.distinct_instances_bound(len(x), size, q) <= checks.CHANCE_COLLISION:
        results.append(checks.check_distinct_instances(x))
    return results


def _select(x: np.ndarray, case: Case) -> np.ndarray:
    sel = case.select
    axis = sel.axis + 1  # axis 0 of x counts instances
    if sel.complement:
        return np.delete(x, slice(sel.start, sel.stop), axis=axis)
    return np.take(x, range(sel.start, sel.stop), axis=axis)


def distribution_checks(x: np.ndarray, dist: Any, dtype: str, alpha: float,
                        evidence_out: dict[str, Any] | None = None) -> list[checks.CheckResult]:
    sample = checks.Sample(x, dtype)
    ref = reference(dist, dtype)
    finite = checks.check_finite(sample)
    if not finite.passed:
        return [finite]
    lo, hi = (float(b) for b in dist.support())
    results = [
        finite,
        checks.check_bounds(sample, lo, hi),
        checks.check_ks(sample, dist, ref, alpha),
        checks.check_mean(sample, ref, alpha),
        checks.check_variance(sample, ref, alpha),
    ]
    results += [checks.check_tail(sample, ref, k, alpha) for k in checks.tail_thresholds(dist)]
    for side, bound in (("lower", lo), ("upper", hi)):
        if np.isfinite(bound):
            results.append(checks.check_bound_mass(sample, dist, ref, bound, side, alpha))
    if not (np.isfinite(lo) or np.isfinite(hi)):
        results.append(checks.check_extreme(sample, ref, alpha))
    if evidence_out is not None:  # from the same reduced sample: nothing is counted twice
        evidence_out.update(evidence.collect(sample, ref, results))
    return results


@dataclass
class DeviationOutcome:
    """How often one known deviation reproduced among the cells of one column it applies to."""

    deviation: KnownDeviation
    column: str  # e.g. "torch-2.13.0/cpu/float16"
    cells: int = 0  # evaluated (not skipped) cells it applies to
    reproduced: int = 0

    @property
    def still_reproduces(self) -> bool:
        return self.cells == 0 or self.reproduced > 0


def deviation_outcomes(results: list[CellResult]) -> list[DeviationOutcome]:
    outcomes: dict[tuple[str, str], DeviationOutcome] = {}
    for r in results:
        cell = r.cell
        if cell.deviation is None:
            continue
        column = f"{cell.column}-{cell.version}/{cell.device}/{cell.dtype}"
        outcome = outcomes.setdefault((cell.deviation.id, column),
                                      DeviationOutcome(cell.deviation, column))
        if r.status in ("pass", "fail"):
            outcome.cells += 1
            outcome.reproduced += r.verdict == "known-deviation"
    return sorted(outcomes.values(), key=lambda o: (o.column, o.deviation.id))
