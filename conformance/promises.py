"""What the documentation (or an origin it cites) promises, stated as data and tested.

An entry's ``docs.promises`` lists structured statements: a scheme of spec/schemes.yaml with its
parameters as formulas over the case symbols, exactly like the entry's own ``scheme``/``with``. The
loader evaluates each promise for every shape case (a :class:`PromiseCase`); the engine runs the
same checks on the cell's samples against each promise's distribution as against the measured
spec, at the run's alpha (each promise check takes its share of the error budget). A promise the
samples reject while the cell conforms to its measured spec is *docs drift*; the cell's own
verdict never depends on it.

kind ``formula``: the documentation states the formula itself. kind ``provenance``: the
documentation (or the maintainers) cite an origin, and the origin's prescription is the promise
(torch's ``kaiming_uniform_`` docstring cites He et al. 2015: 2/fan_in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from initspec.formula import Formula, FormulaError

KINDS = ("formula", "provenance")
STRUCTURAL = frozenset({"shape", "dtype"})  # the samples, not the promise, are wrong
PREFIX = "promise"  # check names in a cell's stochastic_checks: promise:<id>:<check>


@dataclass(frozen=True)
class Promise:
    """One documented (or cited) statement of what an entry draws, before its cases."""

    id: str
    kind: str  # formula | provenance
    by: str  # who states it: "kaiming_uniform_ docstring", "He et al. 2015", ...
    says: str  # the quote
    url: str
    scheme: Any  # loader.Scheme
    bindings: Mapping[str, Formula]
    variance: Formula | None = None  # optional restatement, cross-checked like an entry's
    defaults: Mapping[str, float] = dataclasses.field(default_factory=dict)  # documented defaults


@dataclass(frozen=True)
class PromiseCase:
    """A promise at one shape case: the distribution it states for those shapes."""

    promise: Promise
    family: str
    params: Mapping[str, float]
    variance: float | None
    bounds: tuple[float, float] | None
    neutral: Any = None  # notation.Neutral of the promise over the entry's cases


def parse(doc: Any, keys: list[Any], raw: list[dict[str, Any]],
          schemes: Mapping[str, Any]) -> tuple[Promise, ...]:
    """The promises of one entry's ``docs`` block (``keys`` locates the entry)."""
    out, seen = [], set()
    for j, p in enumerate(raw):
        pkeys = [*keys, "docs", "promises", j]
        if p["id"] in seen:
            raise doc.error([*pkeys, "id"], f"duplicate promise id {p['id']!r}")
        seen.add(p["id"])
        if p["scheme"] not in schemes:
            raise doc.error([*pkeys, "scheme"], f"unknown scheme {p['scheme']!r} "
                            f"(known: {', '.join(sorted(schemes))})")
        scheme = schemes[p["scheme"]]
        bindings = {k: _formula(doc, [*pkeys, "with", k], v) for k, v in p["with"].items()}
        if set(bindings) != set(scheme.params):
            raise doc.error([*pkeys, "with"],
                            f"scheme {scheme.name} takes exactly {list(scheme.params)}")
        variance = (_formula(doc, [*pkeys, "variance"], p["variance"])
                    if "variance" in p else None)
        out.append(Promise(p["id"], p["kind"], p["by"], p["says"], p["url"], scheme, bindings,
                           variance, dict(p.get("defaults", {}))))
    return tuple(out)


def evaluate(doc: Any, keys: list[Any], promises: tuple[Promise, ...], scope: Mapping[str, float],
             case_env: Mapping[str, float], schemes: Mapping[str, Any]) -> tuple[PromiseCase, ...]:
    """Each promise at one case.

    A promise sees the entry's scheme parameters (``scope``), then the defaults the docs state
    (``defaults``: they stand for an argument the case does not pass, and win over the measured
    spec's parameters of the same name), then the case's own values, fans and let.
    """
    from initspec import loader  # loader imports this module; resolve at call time

    out = []
    for j, p in enumerate(promises):
        pkeys = [*keys, "docs", "promises", j]
        env = {**scope, **p.defaults, **case_env}
        try:
            for k, f in p.bindings.items():
                _require(doc, [*pkeys, "with", k], f, env)
            scope = {k: f(env) for k, f in p.bindings.items()}
            params, statements = loader.resolve(schemes, p.scheme, scope)
            if p.variance is not None:
                _require(doc, [*pkeys, "variance"], p.variance, env)
                statements.append((f"promise {p.id}", p.variance(env), None))
            where = [*pkeys, "variance"] if p.variance is not None else pkeys
            loader._cross_check(doc, where, p.scheme.family, params, statements)
        except (FormulaError, ZeroDivisionError) as exc:
            raise doc.error(pkeys, str(exc)) from None
        variance = next((v for _, v, _ in statements if v is not None), None)
        bounds = next((b for _, _, b in statements if b is not None), None)
        out.append(PromiseCase(p, p.scheme.family, params, variance, bounds))
    return tuple(out)


def with_neutral(cases: list[Any]) -> list[Any]:
    """Each case's promises with their neutral notation, derived over all the entry's cases."""
    from initspec.notation import _numeric, from_params

    if not cases or not cases[0].promises:
        return cases
    neutrals = []
    for j in range(len(cases[0].promises)):
        promised = [c.promises[j] for c in cases]
        try:
            neutrals.append(from_params(promised[0].family, [p.params for p in promised],
                                        [c.neutral_fans for c in cases], None,
                                        [_numeric(c.kwargs) for c in cases]))
        except (ValueError, ZeroDivisionError, KeyError):
            neutrals.append(None)  # the record then falls back to the case's numbers
    return [dataclasses.replace(c, promises=tuple(
        dataclasses.replace(p, neutral=n) for p, n in zip(c.promises, neutrals, strict=True)))
        for c in cases]


def as_case(case: Any, promised: PromiseCase) -> Any:
    """The cell's case with the promise's distribution in place of the measured spec's."""
    return dataclasses.replace(case, family=promised.family, params=promised.params,
                               variance=promised.variance, bounds=promised.bounds, promises=())


def check_names(case: Any, stochastic_checks: Any) -> tuple[str, ...]:
    """The chance-governed promise checks of ``case``, named promise:<id>:<check>."""
    return tuple(f"{PREFIX}:{p.promise.id}:{name}" for p in case.promises
                 for name in stochastic_checks(as_case(case, p)))


@dataclass
class PromiseResult:
    """A promise tested on one cell's samples."""

    promised: PromiseCase
    verdict: str  # holds | drift | untested
    checks: list[Any]  # checks.CheckResult
    note: str = ""
    explained_by: str | None = None  # the cell's known deviation, when it is the whole rejection

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    @property
    def p_value(self) -> float | None:
        """The evidence: the smallest p-value of the failing checks (each tested at alpha).

        An exact check that fails (a value outside the promised support) has probability 0 under
        the promise. A promise that holds reports its smallest p-value over all its checks.
        """
        failed = [c for c in self.checks if not c.passed]
        if failed and self.verdict == "drift":
            ps = [c.p_value for c in failed if c.p_value is not None]
            return min(ps) if ps else 0.0
        ps = [c.p_value for c in self.checks if c.p_value is not None]
        return min(ps) if ps else None

    def record(self) -> dict[str, Any]:
        p = self.promised.promise
        return {"id": p.id, "kind": p.kind, "by": p.by, "says": p.says, "url": p.url,
                "scheme": p.scheme.name, **_neutral_text(self.promised),
                "verdict": self.verdict, "p_value": self.p_value,
                "failed_checks": self.failed, "note": self.note or None,
                "explained_by": self.explained_by}


def check_all(case: Any, x: Any, dtype: str, alpha: float, run_checks: Any,
              own_failures: set[str], deviation: Any = None) -> list[PromiseResult]:
    """Test every promise of ``case`` on the samples ``x`` with the cell's own checks.

    Docs drift is a promise the samples reject (a check fails at alpha) where they conform to
    the measured spec. Where every check that rejects the promise also rejects the spec under the
    cell's known deviation (a 16-bit sampler grid, a leaky truncation), the samples conform to
    neither, so the promise is untested here: the deviation, recorded with its reason, is the
    finding, and ``explained_by`` names it.
    """
    out = []
    for promised in case.promises:
        results = run_checks(as_case(case, promised), x, dtype, alpha)
        failed = {c.name for c in results if not c.passed}
        if not failed:
            out.append(PromiseResult(promised, "holds", results))
        elif failed <= STRUCTURAL:
            out.append(PromiseResult(promised, "untested", results,
                                     "the samples' " + ", ".join(sorted(failed)) + " is wrong"))
        elif deviation is not None and failed <= own_failures:
            out.append(PromiseResult(promised, "untested", results,
                                     f"rejected only where the measured spec is too (known "
                                     f"deviation {deviation.id})", explained_by=deviation.id))
        else:
            out.append(PromiseResult(promised, "drift", results))
    return out


def untested(case: Any, why: str) -> list[PromiseResult]:
    return [PromiseResult(p, "untested", [], why) for p in case.promises]


def _neutral_text(promised: PromiseCase) -> dict[str, Any]:
    n = promised.neutral
    numbers = describe(promised)
    if n is None:
        return {"distribution": numbers, "form": None, "variance": None, "numbers": numbers}
    return {"distribution": n.distribution, "form": n.form, "variance": n.variance,
            "numbers": numbers}


def describe(promised: PromiseCase) -> str:
    """Short text of the promised distribution with this case's numbers."""
    params = ", ".join(f"{k}={_num(v)}" for k, v in promised.params.items())
    text = f"{promised.family}({params})"
    if promised.variance is not None:
        text += f", Var {_num(promised.variance)}"
    return text


def _num(x: float) -> str:
    return f"{x:.4g}"


def _formula(doc: Any, keys: list[Any], value: Any) -> Formula:
    try:
        return Formula.parse(value)
    except FormulaError as exc:
        raise doc.error(keys, str(exc)) from None


def _require(doc: Any, keys: list[Any], formula: Formula, env: Mapping[str, float]) -> None:
    try:
        formula.require(set(env))
    except FormulaError as exc:
        raise doc.error(keys, str(exc)) from None
