"""One framework-neutral notation for what a spec entry draws.

Every framework states its defaults in its own vocabulary (``kaiming_uniform_(a=√5)``,
``glorot_uniform``, ``truncated_normal(stddev)``). This module restates an entry — all of its shape
cases at once — in one form: the family, the variance as ``scale / fan`` with a neutral fan
(``fan_in``, ``fan_out`` or ``fan_avg``, see spec/concepts.yaml), and the cut of a truncated normal
in σ units, corrected or not:

    VarianceScaling(1/3, fan_in, uniform)             U(±1/√fan_in), Var 1/(3·fan_in)
    VarianceScaling(1, fan_in, truncated_normal)      corrected: Var 1/fan_in
    TN(σ=1/√fan_in, ±2σ, uncorrected)                 Var 0.774/fan_in

The mode is *derived* from the cases: the fan for which ``variance × fan`` is the same number in
every case (the spec's cases are chosen non-square, so a fan swap cannot hide). A variance that does
not change with the fans is stated absolutely (``N(0, 1)``, ``U(±0.05)``). Numbers are written as
people write them: ``1/3``, ``√(1/3)``, ``0.774``, never as 17-digit literals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from initspec.distributions import continuous

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_TOL = 1e-9
# σ of N(0, 1) cut at ±2: the correction of every variance-scaling truncated normal.
TRUNC2_STD = 0.87962566103423978


@dataclass(frozen=True)
class Neutral:
    """An entry restated framework-neutrally (see the module docstring)."""

    form: str  # VarianceScaling(1/3, fan_in, uniform), Constant(0), Orthogonal(gain=1), ...
    distribution: str  # U(±1/√fan_in)
    variance: str | None  # 1/(3·fan_in); None for exact families
    fan_note: str | None = None  # how the framework's own fan rule differs from the neutral one
    family: str | None = None  # uniform | normal | truncated_normal | constant | ...
    scale: float | None = None  # Var = scale / fan (fan-relative forms)
    mode: str | None = None  # fan_in | fan_out | fan_avg; None: absolute
    cut: float | None = None  # truncation, in σ units of the underlying normal
    corrected: bool | None = None  # truncated normal: σ rescaled so that Var = scale / fan

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- numbers


def number(x: float) -> str:
    """``x`` as a person writes it: 1, 1/3, √(1/3), 0.774, 3.26e-4."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    ax = abs(x)
    if math.isinf(ax):  # a cut-off or a `when` value of an untruncated form
        return f"{sign}∞"
    frac = _fraction(ax)
    if frac is not None:
        return sign + _frac_text(frac)
    root = _fraction(ax * ax)
    if root is not None and root.denominator <= 12 and root.numerator <= 12:
        return f"{sign}√{_paren(_frac_text(root))}"
    if 1e-2 <= ax < 1e4:
        return sign + f"{ax:.3g}"
    mantissa, exponent = f"{ax:.2e}".split("e")
    return f"{sign}{float(mantissa):g}e{int(exponent)}"


def _fraction(x: float, limit: int = 12) -> Fraction | None:
    f = Fraction(x).limit_denominator(limit)
    if f != 0 and math.isclose(float(f), x, rel_tol=_TOL) and f.numerator <= 10_000:
        return f
    return None


def _frac_text(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _paren(text: str) -> str:
    return f"({text})" if "/" in text or "+" in text or " " in text else text


def _fan_text(mode: str) -> str:
    return {"fan_avg": "(fan_in+fan_out)", "fan_geo_avg": "√(fan_in·fan_out)"}.get(mode, mode)


def _per_fan(k: float, mode: str) -> tuple[float, str]:
    """k / fan as K / F with F written out: fan_avg = (fan_in+fan_out)/2, so K = 2k."""
    return (2 * k, _fan_text(mode)) if mode == "fan_avg" else (k, _fan_text(mode))


def over_fan(k: float, mode: str) -> str:
    """``k / fan`` as text: 1/(3·fan_in), 2/(fan_in+fan_out), 0.774/fan_in."""
    k, fan = _per_fan(k, mode)
    f = _fraction(k)
    if f is not None and f.denominator != 1:
        return f"{f.numerator}/({f.denominator}·{fan})"
    return f"{number(k)}/{fan}"


def sqrt_over_fan(k: float, mode: str) -> str:
    """``√(k / fan)`` as text; ``1/√fan`` when k / fan = 1 / fan."""
    k_written, fan = _per_fan(k, mode)
    if math.isclose(k_written, 1, rel_tol=_TOL):
        return f"1/√{fan}"
    return f"√({over_fan(k, mode)})"


# --------------------------------------------------------------------------- entries


def neutral_of(cases: Sequence[Any] | Any) -> Neutral | None:
    """The neutral form of an entry from its cases (loader ``Case`` objects, or anything with
    ``family``, ``params``, ``entry`` and ``neutral_fans``); None for reproducibility entries."""
    if not isinstance(cases, Sequence):
        cases = [cases]
    first = cases[0]
    entry = first.entry
    if entry.repeat is not None or getattr(entry, "expect", None) == "raises":
        return None  # nothing drawn: a reproducibility entry, or a target that raises
    return from_params(first.family, [c.params for c in cases],
                       [c.neutral_fans for c in cases], entry.fan_note,
                       [_numeric(c.kwargs) for c in cases], entry.variance_text)


def _numeric(kwargs: Mapping[str, Any]) -> dict[str, float]:
    return {k: v for k, v in kwargs.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and v > 0}


def from_params(family: str, params: Sequence[Mapping[str, float]],
                fans: Sequence[Mapping[str, float] | None],
                fan_note: str | None = None,
                symbols: Sequence[Mapping[str, float]] | None = None,
                stated: str | None = None) -> Neutral:
    """The neutral form of one family over several cases' parameters and neutral fans.

    ``symbols`` (each case's numeric arguments) let a variance that scales with something other
    than a fan (an RNN's hidden_size, an embedding's features) be stated as ``scale / symbol``."""
    fans = [_with_symbols(f, q) for f, q in zip(fans, symbols or [{}] * len(fans), strict=True)]
    p = params[0]
    if family == "constant":
        return Neutral(f"Constant({number(p['value'])})", f"= {number(p['value'])}", "0",
                       fan_note, "constant")
    if family in ("orthogonal", "delta_orthogonal"):
        gain = number(p["gain"])
        blocks = int(p.get("blocks", 1))
        per = f", {blocks} blocks" if blocks > 1 else ""
        name = "Orthogonal" if family == "orthogonal" else "DeltaOrthogonal"
        return Neutral(f"{name}(gain={gain}{per})",
                       f"{'orthogonal' if family == 'orthogonal' else 'centre-tap orthogonal'}"
                       f" × {gain}" + (f", one per block of {blocks}" if blocks > 1 else ""),
                       None, fan_note, family)
    if family == "identity":
        return Neutral(f"Identity(gain={number(p['gain'])})", f"identity × {number(p['gain'])}",
                       None, fan_note, family)
    if family == "sparse":
        return Neutral(f"Sparse({number(p['sparsity'])}, σ={number(p['std'])})",
                       f"{number(p['sparsity'])} zeros per column, rest N(0, "
                       f"{number(p['std'])}²)", number(p["std"] ** 2), fan_note, family)
    variances = [float(continuous(family, q).var()) for q in params]
    if family == "uniform":
        return _uniform(params, variances, fans, fan_note, stated)
    if family == "normal":
        return _normal(params, variances, fans, fan_note, stated)
    if family == "truncnorm":
        return _truncnorm(params, variances, fans, fan_note, stated)
    if family == "triangular":
        return _triangular(params, variances, fans, fan_note)
    raise ValueError(f"no neutral notation for family {family!r}")


def _with_symbols(fans: Mapping[str, float] | None,
                  symbols: Mapping[str, float]) -> dict[str, float]:
    out = dict(fans or {})
    out.update({f"{k}": v for k, v in symbols.items() if k not in out})
    return out


def fan_mode(values: Sequence[float], fans: Sequence[Mapping[str, float]],
             stated: str | None = None) -> tuple[str, float] | None:
    """The fan (or, failing one, the case symbol) for which ``value × fan`` is one number in every
    case, and that number; several fit: the one the spec's variance formula names, then the
    simplest number, then fans before symbols.

    A value that does not change while the fans do is absolute (None). With a single case, or
    cases that do not vary the candidate, a candidate is taken only when it makes the scale a
    simple number and the spec's own variance formula (``stated``) names that fan."""
    if not values or not fans:
        return None
    fits: list[tuple[int, int, str, float]] = []
    has_fans = all("fan_in" in f and "fan_out" in f for f in fans)
    modes = [*(MODES if has_fans else ()),
             *sorted(set.intersection(*(set(f) for f in fans)) - {"fan_in", "fan_out"})]
    for rank, mode in enumerate(modes):
        sizes = [_fan(f, mode) for f in fans]
        if not all(size > 0 for size in sizes):
            continue
        scales = [v * size for v, size in zip(values, sizes, strict=True)]
        if not all(math.isclose(x, scales[0], rel_tol=1e-7) for x in scales):
            continue
        varies = len(set(sizes)) > 1
        if not varies and not (_simple(scales[0]) and _stated(mode, stated)):
            continue  # cases that never vary the candidate prove nothing by themselves
        fits.append((not _stated(mode, stated), _complexity(scales[0]), rank, mode, scales[0]))
    if not fits:
        return None
    *_, mode, scale = min(fits)
    same = [f for f in fits if f[3] in MODES and math.isclose(f[4], scale, rel_tol=1e-7)]
    if mode not in MODES and same:  # a fan that says the same as a symbol is the neutral word
        *_, mode, scale = min(same)
    return mode, scale


def _stated(mode: str, stated: str | None) -> bool:
    if not stated:
        return False
    text = stated.replace(" ", "")
    both = {"fan_avg": "fan_in+fan_out", "fan_geo_avg": "sqrt(fan_in*fan_out)"}
    if mode in both:
        return both[mode] in text
    return mode in text and not (mode in MODES and any(b in text for b in both.values()))


def _complexity(x: float) -> int:
    f = _fraction(x)
    return f.numerator + f.denominator if f is not None else 10_000


def _fan(f: Mapping[str, float], mode: str) -> float:
    if mode in ("fan_avg", "fan_geo_avg"):
        if "fan_in" not in f or "fan_out" not in f:
            return 0.0
        fi, fo = f["fan_in"], f["fan_out"]
        return (fi + fo) / 2 if mode == "fan_avg" else math.sqrt(fi * fo)
    return float(f.get(mode, 0.0))


def _simple(x: float) -> bool:
    f = _fraction(x)
    return f is not None and f.numerator <= 12


def _symmetric(low: float, high: float) -> bool:
    return math.isclose(-low, high, rel_tol=_TOL)


def _uniform(params, variances, fans, note, stated) -> Neutral:
    p = params[0]
    symmetric = all(_symmetric(q["low"], q["high"]) for q in params)
    found = fan_mode(variances, fans, stated) if symmetric else None
    if found:
        mode, s = found
        return Neutral(f"VarianceScaling({number(s)}, {mode}, uniform)",
                       f"U(±{sqrt_over_fan(3 * s, mode)})", over_fan(s, mode), note,
                       "uniform", s, mode)
    if symmetric:
        return Neutral(f"U(±{number(p['high'])})", f"U(±{number(p['high'])})",
                       number(variances[0]), note, "uniform")
    text = f"U({number(p['low'])}, {number(p['high'])})"
    return Neutral(text, text, number(variances[0]), note, "uniform")


def _triangular(params, variances, fans, note) -> Neutral:
    """A centred symmetric triangular is the sum of two independent equal uniforms (torch's
    b_ih + b_hh): stated as that sum of the uniform's own neutral form."""
    p = params[0]
    if all(_symmetric(q["low"], q["high"]) and q["mode"] == 0 for q in params):
        term = _uniform([{"low": q["low"] / 2, "high": q["high"] / 2} for q in params],
                        [v / 2 for v in variances], fans, note, None)
        variance = (over_fan(2 * term.scale, term.mode) if term.mode else
                    number(variances[0]))
        return Neutral(f"Sum of two {term.form}",
                       f"{term.distribution} + {term.distribution} (triangular)", variance, note,
                       "triangular", 2 * term.scale if term.scale else None, term.mode)
    text = f"Triangular({number(p['low'])}, {number(p['mode'])}, {number(p['high'])})"
    return Neutral(text, text, number(variances[0]), note, "triangular")


def _normal(params, variances, fans, note, stated) -> Neutral:
    p = params[0]
    centred = all(q["mean"] == 0 for q in params)
    found = fan_mode(variances, fans, stated) if centred else None
    if found:
        mode, s = found
        return Neutral(f"VarianceScaling({number(s)}, {mode}, normal)",
                       f"N(0, {over_fan(s, mode)})", over_fan(s, mode), note, "normal", s, mode)
    std = number(p["std"])
    text = f"N({number(p['mean'])}, {std if std == '1' else _paren(std) + '²'})"
    return Neutral(text, text, number(variances[0]), note, "normal")


def _truncnorm(params, variances, fans, note, stated) -> Neutral:
    p = params[0]
    symmetric = all(q["mean"] == 0 and _symmetric(q["a"], q["b"]) for q in params)
    cut = p["b"]
    same_cut = all(math.isclose(q["b"], cut, rel_tol=_TOL) for q in params)
    cut_text = f"±{number(cut)}σ" if symmetric and same_cut else \
        f"[{number(p['a'])}σ, {number(p['b'])}σ]"
    if symmetric and same_cut:
        sigma2 = [q["std"] ** 2 for q in params]
        corrected = fan_mode(variances, fans, stated)
        if corrected and math.isclose(cut, 2, rel_tol=_TOL) and _simple(corrected[1]):
            mode, s = corrected
            return Neutral(f"VarianceScaling({number(s)}, {mode}, truncated_normal)",
                           f"TN(σ={sqrt_over_fan(s, mode)}/0.880, ±2σ, corrected)",
                           over_fan(s, mode), note, "truncated_normal", s, mode, cut, True)
        plain = fan_mode(sigma2, fans, stated)
        if plain:
            mode, t = plain
            s = variances[0] * _fan(fans[0], mode)
            return Neutral(f"TN(σ={sqrt_over_fan(t, mode)}, {cut_text}, uncorrected)",
                           f"TN(σ={sqrt_over_fan(t, mode)}, {cut_text}) = Var "
                           f"{over_fan(s, mode)}", over_fan(s, mode), note,
                           "truncated_normal", s, mode, cut, False)
    text = f"TN({number(p['mean'])}, σ={number(p['std'])}, {cut_text})"
    return Neutral(text, text, number(variances[0]), note, "truncated_normal", cut=cut)


def numbers(case: Any) -> str:
    """The case's own numbers: ``U(±0.03125), Var 3.26e-4``."""
    p, family = case.params, case.family
    if family == "uniform":
        d = f"U(±{_num(p['high'])})" if _symmetric(p["low"], p["high"]) else \
            f"U({_num(p['low'])}, {_num(p['high'])})"
    elif family == "normal":
        d = f"N({_num(p['mean'])}, σ={_num(p['std'])})"
    elif family == "truncnorm":
        lo, hi = p["mean"] + p["a"] * p["std"], p["mean"] + p["b"] * p["std"]
        d = f"TN({_num(p['mean'])}, σ={_num(p['std'])}, [{_num(lo)}, {_num(hi)}])"
    elif family == "triangular":
        d = f"Tri({_num(p['low'])}, {_num(p['mode'])}, {_num(p['high'])})"
    elif family == "constant":
        return f"= {_num(p['value'])}"
    else:
        return ""
    return f"{d}, Var {_num(case.variance)}" if case.variance is not None else d


def _num(x: float) -> str:
    return f"{x:.4g}"
