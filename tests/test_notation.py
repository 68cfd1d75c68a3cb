"""The neutral notation: derived from the cases' numbers, never from a framework's names."""

from __future__ import annotations

import math

import pytest

from initspec.notation import TRUNC2_STD, from_params, number

FANS = [{"fan_in": 1024, "fan_out": 512}, {"fan_in": 3, "fan_out": 70}]


def _uniform(var_of):
    out = []
    for f in FANS:
        b = math.sqrt(3 * var_of(f))
        out.append({"low": -b, "high": b})
    return out


@pytest.mark.parametrize(("x", "text"), [
    (1 / 3, "1/3"), (2.0, "2"), (math.sqrt(1 / 3), "√(1/3)"), (0.7737413, "0.774"),
    (-0.05, "-0.05"), (3.2552e-4, "3.26e-4"), (0, "0"), (math.inf, "∞"), (-math.inf, "-∞")])
def test_numbers_are_written_as_people_write_them(x, text):
    assert number(x) == text


def test_torch_linear_is_a_third_of_lecun_over_fan_in():
    n = from_params("uniform", _uniform(lambda f: 1 / (3 * f["fan_in"])), FANS)
    assert (n.form, n.distribution, n.variance) == (
        "VarianceScaling(1/3, fan_in, uniform)", "U(±1/√fan_in)", "1/(3·fan_in)")


def test_a_fan_swap_changes_the_mode():
    n = from_params("uniform", _uniform(lambda f: 1 / (3 * f["fan_out"])), FANS)
    assert n.mode == "fan_out" and n.form == "VarianceScaling(1/3, fan_out, uniform)"


def test_glorot_is_fan_avg():
    n = from_params("uniform", _uniform(lambda f: 2 / (f["fan_in"] + f["fan_out"])), FANS)
    assert n.form == "VarianceScaling(1, fan_avg, uniform)"
    assert n.variance == "2/(fan_in+fan_out)"


def test_a_variance_that_ignores_the_fans_is_absolute():
    n = from_params("uniform", [{"low": -0.05, "high": 0.05}] * 2, FANS)
    assert n.mode is None and n.form == "U(±0.05)"


def test_a_variance_that_fits_no_fan_is_absolute():
    params = _uniform(lambda f: 1 / (3 * f["fan_in"]))
    params[1] = {"low": -0.1, "high": 0.1}  # the second case breaks the 1/(3·fan_in) law
    assert from_params("uniform", params, FANS).mode is None


def test_corrected_and_uncorrected_truncated_normals_are_told_apart():
    corrected = [{"mean": 0, "std": math.sqrt(1 / f["fan_in"]) / TRUNC2_STD, "a": -2, "b": 2}
                 for f in FANS]
    n = from_params("truncnorm", corrected, FANS)
    assert n.corrected is True and n.form == "VarianceScaling(1, fan_in, truncated_normal)"
    plain = [{"mean": 0, "std": math.sqrt(1 / f["fan_in"]), "a": -2, "b": 2} for f in FANS]
    n = from_params("truncnorm", plain, FANS)
    assert n.corrected is False
    assert n.form == "TN(σ=1/√fan_in, ±2σ, uncorrected)" and n.variance == "0.774/fan_in"


def test_a_symbol_that_scales_the_variance_is_named():
    symbols = [{"hidden_size": 128}, {"hidden_size": 20}]
    params = [{"low": -1 / math.sqrt(s["hidden_size"]), "high": 1 / math.sqrt(s["hidden_size"])}
              for s in symbols]
    n = from_params("uniform", params, [{}, {}], symbols=symbols)
    assert n.form == "VarianceScaling(1/3, hidden_size, uniform)"


def test_exact_families():
    assert from_params("constant", [{"value": 0.0}], [None]).form == "Constant(0)"
    n = from_params("orthogonal", [{"gain": 1.0, "axis": -1, "blocks": 4}], [None])
    assert n.form == "Orthogonal(gain=1, 4 blocks)"


def test_the_geometric_fan_is_told_from_fan_in_by_the_stated_formula():
    """Both cases have fan_out = 4·fan_in, so 2/√(fi·fo) = 1/fi numerically; the spec's stated
    variance names the geometric mean, and the notation must not call it fan_in."""
    fans = [{"fan_in": 240, "fan_out": 960}, {"fan_in": 10, "fan_out": 40}]
    params = [{"low": -math.sqrt(6 / math.sqrt(f["fan_in"] * f["fan_out"])),
               "high": math.sqrt(6 / math.sqrt(f["fan_in"] * f["fan_out"]))} for f in fans]
    n = from_params("uniform", params, fans, stated="scale / sqrt(fan_in * fan_out)")
    assert n.form == "VarianceScaling(2, fan_geo_avg, uniform)"
    assert n.variance == "2/√(fan_in·fan_out)"
