"""The safe formula evaluator: what it computes, and what it refuses to parse."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from initspec import formula
from initspec.formula import Formula, FormulaError


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("1 + 2 * 3", {}, 7),
        ("(1 + 2) * 3", {}, 9),
        ("7 / 2", {}, 3.5),
        ("7 // 2", {}, 3),
        ("7 % 4", {}, 3),
        ("2 ** 10", {}, 1024),
        ("-fan_in + +3", {"fan_in": 5}, -2),
        ("1 / (3 * fan_in)", {"fan_in": 1024}, 1 / 3072),
        ("2 / (fan_in + fan_out)", {"fan_in": 100, "fan_out": 300}, 0.005),
        ("sqrt(6 / (fan_in + fan_out))", {"fan_in": 100, "fan_out": 200}, math.sqrt(0.02)),
        ("exp(log(3))", {}, 3.0),
        ("ceil(0.1 * rows)", {"rows": 25}, 3),
        ("floor(2.7)", {}, 2),
        ("abs(-2.5)", {}, 2.5),
        ("min(3, x, 7)", {"x": 1}, 1),
        ("max(3, x, 7)", {"x": 10}, 10),
        ("pi", {}, math.pi),
        ("e", {}, math.e),
        ("-inf", {}, -math.inf),
        ("phi(0)", {}, 1 / math.sqrt(2 * math.pi)),
        ("Phi(1.5)", {}, float(stats.norm.cdf(1.5))),
        ("3", {}, 3),
        ("1e-3", {}, 1e-3),
    ],
)
def test_evaluates(text, env, expected):
    assert Formula.parse(text)(env) == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize("number", [0, 3, -2, 0.5, 1e-300, 1e300])
def test_numbers_are_formulas(number):
    f = Formula.parse(number)
    assert f({}) == number
    assert f.symbols == frozenset()


def test_truncnorm_variance_formula_matches_scipy():
    """The formula language is rich enough for schemes.yaml's truncated-normal variance."""
    text = ("std**2 * (1 + (a*phi(a) - b*phi(b)) / (Phi(b) - Phi(a)) "
            "- ((phi(a) - phi(b)) / (Phi(b) - Phi(a)))**2)")
    env = {"std": 0.7, "a": -2.0, "b": 1.5}
    expected = stats.truncnorm(-2.0, 1.5, scale=0.7).var()
    assert Formula.parse(text)(env) == pytest.approx(expected, rel=1e-12)


def test_symbols_exclude_functions_and_include_constants_used():
    f = Formula.parse("sqrt(scale / fan) * pi")
    assert f.symbols == {"scale", "fan", "pi"}


def test_env_shadows_constants():
    assert Formula.parse("e * 2")({"e": 5}) == 10


def test_require_accepts_known_symbols_and_constants():
    Formula.parse("sqrt(3 * scale / fan) + pi + inf")({"scale": 1, "fan": 3})
    Formula.parse("sqrt(3 * scale / fan) + pi").require({"scale", "fan"})


def test_require_names_the_unknown_symbol():
    f = Formula.parse("1 / (3 * fan_inn) + gain")
    with pytest.raises(FormulaError, match=r"unknown symbol fan_inn") as info:
        f.require({"fan_in", "gain"})
    assert "fan_in" in str(info.value)  # lists what is known


def test_evaluating_an_unbound_symbol_is_a_formula_error():
    with pytest.raises(FormulaError, match="unknown symbol x"):
        Formula.parse("x + 1")({})


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("1 / fan", {"fan": 0}),
        ("1 // 0", {}),
        ("3 % 0", {}),
        ("sqrt(-1)", {}),
        ("log(0)", {}),
        ("exp(1000)", {}),
        ("2.0 ** 5000", {}),
        ("min()", {}),
        ("sqrt(1, 2)", {}),
    ],
)
def test_arithmetic_errors_are_formula_errors(text, env):
    f = Formula.parse(text)  # parses: these are legal formulas
    with pytest.raises(FormulaError, match="while evaluating"):
        f(env)


_SIDE_EFFECTS: list[str] = []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("math.pi", "unsupported construct"),  # attribute access
        ("x.__class__", "unsupported construct"),
        ("().__class__.__bases__[0].__subclasses__()", "unknown function"),
        ("__import__('os')", "unknown function __import__"),
        ("__import__('os').system('true')", "unknown function"),
        ("eval('1')", "unknown function eval"),
        ("open('/etc/passwd')", "unknown function open"),
        ("lambda: 1", "unsupported construct"),
        ("(lambda: 1)()", "unknown function"),
        ("fan_in < 3", "unsupported construct"),
        ("1 == 1", "unsupported construct"),
        ("a if b else c", "unsupported construct"),
        ("a and b", "unsupported construct"),
        ("not a", "unsupported construct"),
        ("~a", "unsupported construct"),
        ("a << 2", "unsupported construct"),
        ("a @ b", "unsupported construct"),
        ("shape[0]", "unsupported construct"),
        ("[1, 2]", "unsupported construct"),
        ("(1, 2)", "unsupported construct"),
        ("{1: 2}", "unsupported construct"),
        ("min(1, key=2)", "keyword arguments"),
        ("max(*xs)", "unsupported construct"),
        ("'abc'", "unsupported constant"),
        ("b'abc'", "unsupported constant"),
        ("True", "unsupported constant"),
        ("False + 1", "unsupported constant"),
        ("None", "unsupported constant"),
        ("1j", "unsupported constant"),
        ("...", "unsupported constant"),
        ("sqrt", "without a call"),
        ("f'{x}'", "unsupported construct"),
        ("(x := 3)", "unsupported construct"),
        ("[i for i in x]", "unsupported construct"),
        ("1 +", "cannot parse"),
        ("import os", "cannot parse"),
        ("x = 1", "cannot parse"),
        ("", "cannot parse"),
    ],
)
def test_rejected_constructs_raise_at_parse_time(text, message, monkeypatch):
    # If anything reached evaluation, this would record it: rejection must happen before.
    monkeypatch.setattr(formula, "_evaluate",
                        lambda *args: _SIDE_EFFECTS.append(text) or 0.0)
    with pytest.raises(FormulaError, match=message):
        Formula.parse(text)
    assert _SIDE_EFFECTS == []


@pytest.mark.parametrize("value", [True, False])
def test_yaml_booleans_are_not_formulas(value):
    with pytest.raises(FormulaError, match=f"not {value}"):
        Formula.parse(value)


def test_import_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"__import__('os').system('touch {marker}')"
    with pytest.raises(FormulaError):
        Formula.parse(text)({})
    assert not marker.exists()


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)
