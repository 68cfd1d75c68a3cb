"""A small, safe evaluator for the arithmetic formulas written in the spec.

Spec text is never passed to ``eval``: it is parsed with :mod:`ast` and only numbers, named
symbols, ``+ - * / // % **``, unary ``-``/``+`` and calls of the whitelisted functions below are
accepted. Everything else is a :class:`FormulaError` at load time.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from scipy import stats

FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "ceil": math.ceil,
    "floor": math.floor,
    "abs": abs,
    "min": min,
    "max": max,
    "phi": lambda x: float(stats.norm.pdf(x)),  # standard normal density
    "Phi": lambda x: float(stats.norm.cdf(x)),  # standard normal distribution function
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "inf": math.inf}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: lambda a, b: _real_power(float(a), float(b)),  # floats: 9**9**9 overflows, not hangs
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _real_power(base: float, exponent: float) -> float:
    result = base**exponent
    if isinstance(result, complex):  # (-8)**0.5: Python answers with a complex number
        raise ValueError(f"({base:g})**{exponent:g} is not a real number")
    return result


class FormulaError(ValueError):
    """A formula that cannot be parsed, uses an unsupported construct or an unknown symbol."""


@dataclass(frozen=True)
class Formula:
    """A parsed spec formula such as ``"sqrt(6 / (fan_in + fan_out))"``."""

    text: str
    symbols: frozenset[str]
    _tree: ast.expr = field(repr=False, compare=False)

    @classmethod
    def parse(cls, source: str | int | float) -> Formula:
        if isinstance(source, bool):
            raise FormulaError(f"a formula must be a number or an expression, not {source!r}")
        if isinstance(source, int | float):
            source = repr(source)
        try:
            tree = ast.parse(str(source).strip(), mode="eval").body
        except SyntaxError as exc:
            raise FormulaError(f"cannot parse formula {source!r}: {exc.msg}") from None
        symbols: set[str] = set()
        _validate(tree, str(source), symbols)
        return cls(str(source), frozenset(symbols), tree)

    def require(self, known: set[str] | frozenset[str]) -> None:
        """Raise :class:`FormulaError` if the formula uses a symbol outside ``known``."""
        unknown = sorted(self.symbols - set(known) - set(CONSTANTS))
        if unknown:
            raise FormulaError(
                f"unknown symbol {', '.join(unknown)} in {self.text!r} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )

    def __call__(self, env: Mapping[str, float]) -> float:
        return _evaluate(self._tree, env, self.text)


def _validate(node: ast.expr, text: str, symbols: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"unsupported constant {node.value!r} in {text!r}")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FormulaError(f"function {node.id} used without a call in {text!r}")
        symbols.add(node.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _validate(node.left, text, symbols)
        _validate(node.right, text, symbols)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _validate(node.operand, text, symbols)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            raise FormulaError(
                f"unknown function {name} in {text!r} (allowed: {', '.join(sorted(FUNCTIONS))})"
            )
        if node.keywords:
            raise FormulaError(f"keyword arguments are not supported in {text!r}")
        for arg in node.args:
            _validate(arg, text, symbols)
    else:
        raise FormulaError(f"unsupported construct {ast.unparse(node)!r} in {text!r}")


def _evaluate(node: ast.expr, env: Mapping[str, float], text: str) -> float:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise FormulaError(f"unknown symbol {node.id} in {text!r}")
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, env, text)
        right = _evaluate(node.right, env, text)
        try:
            return _BINARY[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            raise FormulaError(f"{exc} while evaluating {text!r}") from None
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env, text))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    args = [_evaluate(arg, env, text) for arg in node.args]
    try:
        return FUNCTIONS[node.func.id](*args)
    except (ValueError, TypeError, OverflowError) as exc:
        raise FormulaError(f"{exc} while evaluating {text!r}") from None
