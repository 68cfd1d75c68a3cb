"""Name the distribution of one parameter from its draws, and state it in the neutral notation.

Exact families first (they cannot be confused by chance): a constant (every value equal), an
orthogonal matrix times a gain (torch's ``(shape[0], rest)`` or JAX's ``(rest, shape[-1])``
flattening, :func:`initspec.checks.check_orthogonal`). Then the random families, each fitted to
the pooled draws and tested with the engine's one-sample KS (:func:`initspec.checks.check_ks`):

- uniform: ``[min, max]`` widened by one expected gap (the unbiased end-point estimate);
- normal: the sample mean and standard deviation;
- truncated normal, symmetric about the mean: the cut ``b`` is the largest deviation (widened
  the same way), and ``c = b/σ`` solves ``Var/b² = v(c)/c²`` (``v(c)`` the variance of N(0, 1)
  cut at ±c), which is monotone in c.

Estimating a location and a scale from the tested sample makes the KS test *conservative*
(Lilliefors 1967: the statistic is stochastically smaller than with known parameters), so ``alpha``
bounds the chance of rejecting the true family. Among the families KS does not reject, the
simplest wins (uniform, normal, truncated normal: a normal cut beyond ~4σ is not told from a
normal at these sample sizes and is reported as one); none left is "none of these", with the best
fit's statistics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import optimize, stats

from initspec import checks
from initspec.distributions import DTYPES, continuous, reference
from initspec.notation import number, over_fan, sqrt_over_fan

RANDOM_FAMILIES = ("uniform", "normal", "truncnorm")
# the KS test of each family, and the normal's test of a cut (see _bounded_p)
IDENTIFY_TESTS = len(RANDOM_FAMILIES) + 1
FAN_MODES = ("fan_in", "fan_out", "fan_avg")
# Scales that variance-scaling schemes use (Var = scale / fan): LeCun 1, He 2, torch's 1/3, ...
USUAL_SCALES = sorted({Fraction(p, q) for p in range(1, 7) for q in range(1, 7)})
# Absolute standard deviations models set outright (BERT/GPT-2's initializer_range, N(0, 1)).
USUAL_ABSOLUTE_STDS = (0.01, 0.02, 0.05 / math.sqrt(3), 1.0)
PRIMARY_SCALES = (Fraction(1, 3), Fraction(1), Fraction(2))  # torch, LeCun/Glorot, He


@dataclass
class Identification:
    """What one parameter's draws are: the family, its fitted parameters, the neutral form."""

    family: str  # constant | orthogonal | uniform | normal | truncnorm | none | non-finite
    params: dict[str, float] = field(default_factory=dict)
    form: str = ""  # VarianceScaling(1/3, fan_in, uniform), N(0, 0.02), Constant(0), ...
    mean: float | None = None
    variance: float | None = None
    variance_ci: float | None = None  # relative half-width of the variance's interval at alpha
    scale: float | None = None  # Var = scale / fan (fan-relative forms)
    mode: str | None = None
    corrected: bool | None = None  # truncated normals: is σ rescaled so that Var = scale/fan?
    ks: dict[str, dict[str, float]] = field(default_factory=dict)  # family -> {D, p}
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def random(self) -> bool:
        return self.family in (*RANDOM_FAMILIES, "none")


def identify(x: np.ndarray, dtype: str, alpha: float,
             fans: Mapping[str, float] | None = None,
             prefer_absolute: bool = False) -> Identification:
    """The distribution of ``x`` (shape ``(K, *shape)``, K instances), tested at ``alpha`` per
    KS test; ``fans`` (neutral ``fan_in``/``fan_out``) give the variance-scaling form.

    ``prefer_absolute``: the fans come from the bare layout rule, not from the layer's spec
    entry (a model's own ``nn.Parameter``): a round absolute std (0.02) is then named as such
    even where some fan also gives a primary scale by coincidence."""
    x = np.asarray(x)
    if x.size == 0:
        return Identification("empty", note="no values")
    if np.iscomplexobj(x):
        return Identification("unsupported", form=f"{x.dtype} values: not identified",
                              note="complex values are not audited")
    flat = x.astype(np.float64).ravel()
    if not np.isfinite(flat).all():
        bad = int((~np.isfinite(flat)).sum())
        return Identification("non-finite", note=f"{bad} of {flat.size} values are inf/nan")
    if np.all(flat == flat[0]):
        value = float(flat[0])
        return Identification("constant", {"value": value}, f"Constant({number(value)})",
                              mean=value, variance=0.0)
    if dtype not in DTYPES and x.dtype.kind not in "biu":  # float8, ...: no reference here
        return Identification("unsupported", form=f"{dtype} values in [{flat.min():g}, "
                                                   f"{flat.max():g}]: not identified",
                              note=f"no reference distribution for {dtype}")
    if dtype not in DTYPES:  # integer buffers: positions, counters
        per = x.reshape(len(x), -1)[0]
        if np.array_equal(per, np.arange(per.size) + per[0]):
            return Identification("integer", {"start": float(per[0])},
                                  f"arange({int(per[0])}, {int(per[0]) + per.size})")
        return Identification("integer", form=f"integers in [{flat.min():g}, {flat.max():g}]")
    if x.ndim >= 3 and min(x.shape[1], math.prod(x.shape[2:])) >= 2:
        ortho = _orthogonal(x, dtype)
        if ortho is not None:
            return ortho
    return _random(flat, dtype, alpha, fans or {}, prefer_absolute)


def _orthogonal(x: np.ndarray, dtype: str) -> Identification | None:
    """An orthogonal matrix times a gain in either flattening, or None (an exact check)."""
    dtype = dtype if dtype in DTYPES else "float32"
    for axis, layout in ((0, "torch (shape[0], rest)"), (-1, "JAX (rest, shape[-1])")):
        inst = np.moveaxis(x[0], axis, -1).reshape(-1, x.shape[1:][axis]).astype(np.float64)
        gram = inst @ inst.T if inst.shape[0] <= inst.shape[1] else inst.T @ inst
        gain = math.sqrt(max(float(np.mean(np.diag(gram))), 0.0))
        if gain == 0:
            return None
        result = checks.check_orthogonal(x, gain, dtype, axis=axis)
        if result.passed:
            return Identification("orthogonal", {"gain": gain, "axis": axis},
                                  f"Orthogonal(gain={number(round(gain, 4))})",
                                  mean=float(x.mean()), variance=float(x.var()),
                                  note=f"orthogonal in the {layout} flattening; "
                                       f"{result.message}")
    return None


# --------------------------------------------------------------------------- random families


def fit(family: str, flat: np.ndarray) -> dict[str, float]:
    """The family's parameters fitted to ``flat`` (see the module docstring)."""
    n = flat.size
    mean, std = float(flat.mean()), float(flat.std())
    if family == "uniform":
        lo, hi = float(flat.min()), float(flat.max())
        gap = (hi - lo) / max(n - 1, 1)
        return {"low": lo - gap, "high": hi + gap}
    if family == "normal":
        return {"mean": mean, "std": std}
    b = float(np.abs(flat - mean).max()) * (1 + 1 / n)
    ratio = std**2 / b**2
    c = _cut_for_ratio(ratio)
    sigma = b / c
    return {"mean": mean, "std": sigma, "a": -c, "b": c}


def _bounded_p(flat: np.ndarray, normal: Mapping[str, float]) -> float:
    """P(no value of n normal draws lies beyond the largest observed deviation): small when the
    draws are cut (a truncated normal), which KS sees only weakly at the cut's σ."""
    b = float(np.abs(flat - normal["mean"]).max())
    outside = 2 * float(stats.norm.sf(b / normal["std"]))
    return float(np.exp(flat.size * np.log1p(-outside))) if outside < 1 else 0.0


def _cut_for_ratio(ratio: float) -> float:
    """c with Var(N(0,1) | |Z| < c) / c² = ratio (1/3 as c → 0, → 0 as c → ∞)."""
    def gap(c: float) -> float:
        return float(stats.truncnorm(-c, c).var()) / c**2 - ratio

    lo, hi = 1e-3, 40.0
    if gap(lo) <= 0:
        return lo
    if gap(hi) >= 0:
        return hi
    return float(optimize.brentq(gap, lo, hi, xtol=1e-6))


def _random(flat: np.ndarray, dtype: str, alpha: float, fans: Mapping[str, float],
            prefer_absolute: bool) -> Identification:
    sample = checks.Sample(flat.astype(DTYPES[dtype]), dtype)
    fits: dict[str, dict[str, float]] = {}
    ks: dict[str, dict[str, float]] = {}
    for family in RANDOM_FAMILIES:
        try:
            params = fit(family, flat)
            dist = continuous(family, params)
        except ValueError:
            continue
        result = checks.check_ks(sample, dist, reference(dist, dtype), alpha)
        fits[family] = params
        ks[family] = {"D": result.stats["D"], "p": float(result.p_value)}
    bounded_p = _bounded_p(flat, fits["normal"])
    ks["normal"]["bounded_p"] = bounded_p
    accepted = [f for f in RANDOM_FAMILIES if f in ks and ks[f]["p"] >= alpha
                and (f != "normal" or bounded_p >= alpha)]
    best = accepted[0] if accepted else min(ks, key=lambda f: ks[f]["D"])
    params = fits[best]
    dist = continuous(best, params)
    mean, variance = float(flat.mean()), float(flat.var())
    kurtosis = float(dist.stats(moments="k")) + 3
    se = math.sqrt((kurtosis - 1) / flat.size)  # relative standard error of the variance
    ci = float(stats.norm.isf(alpha / 2)) * se
    ident = Identification(best if accepted else "none", params, mean=mean, variance=variance,
                           variance_ci=ci, ks=ks)
    round_std = _round_number(math.sqrt(variance), se) or (
        best == "truncnorm" and _round_number(params["std"], ci / 2))
    _neutral(ident, best, params, {} if prefer_absolute and round_std else fans, ci, se,
             flat.size)
    if not accepted:
        ident.form = f"none of these (best fit {ident.form})"
        ident.note = (f"no family fits: best {best} (KS D = {ks[best]['D']:.3g}, "
                      f"p = {ks[best]['p']:.3g} < alpha {alpha:.2g})"
                      + (f"; {ident.note}" if ident.note else ""))
    return ident


# --------------------------------------------------------------------------- neutral form


def simple_scale(k: float, ci: float) -> Fraction | None:
    """The simplest usual scale within the relative interval ``ci`` of ``k`` (None if none)."""
    near = [f for f in USUAL_SCALES if abs(k / float(f) - 1) <= max(ci, 1e-6)]
    return min(near, key=lambda f: (f not in PRIMARY_SCALES, max(f.numerator, f.denominator),
                                    abs(k / float(f) - 1)), default=None)


def fan_values(fans: Mapping[str, float]) -> dict[str, float]:
    if "fan_in" not in fans or "fan_out" not in fans:
        return {}
    return {"fan_in": float(fans["fan_in"]), "fan_out": float(fans["fan_out"]),
            "fan_avg": (float(fans["fan_in"]) + float(fans["fan_out"])) / 2}


def scale_and_mode(variance: float, fans: Mapping[str, float],
                   ci: float) -> tuple[Fraction, str, list[str]] | None:
    """(scale, mode, other modes that fit as well) with Var = scale / fan, or None.

    A single parameter has one pair of fans, and for many shapes several modes give a simple
    scale (fan_out = fan_in / 2 makes 1/fan_out = 2/fan_in): a primary scale (1/3, 1, 2) wins,
    then the simpler fraction, then fan_in, fan_out, fan_avg in that order; the others are
    listed so that the ambiguity is visible."""
    fits = [(s, mode) for mode, fan in fan_values(fans).items()
            if (s := simple_scale(variance * fan, ci)) is not None]
    if not fits:
        return None
    best = min(fits, key=lambda sm: _complexity(sm))  # min is stable: fan_in first
    return best[0], best[1], [m for _, m in fits if m != best[1]]


def _complexity(fitted: tuple[Fraction, ...] | None) -> tuple[int, int]:
    """Primary scales first (all alike), then the simpler fraction; no fit last."""
    if fitted is None:
        return (2, 0)
    if fitted[0] in PRIMARY_SCALES:
        return (0, 0)
    return (1, max(fitted[0].numerator, fitted[0].denominator))


def _round_number(x: float, ci: float) -> bool:
    """Whether ``x`` is a one-significant-digit number (0.02, 1) within ``ci``."""
    return x != 0 and abs(float(f"{x:.1g}") / x - 1) <= ci


def _absolute(x: float, ci: float) -> str:
    """``x`` rounded as a person writes a chosen number: 0.02, not 0.0201 (when within ci)."""
    if x == 0:
        return "0"
    for digits in (1, 2, 3):
        rounded = float(f"{x:.{digits}g}")
        if abs(rounded / x - 1) <= ci:
            return f"{rounded:g}" if digits > 1 or rounded >= 1e4 else number(rounded)
    return f"{x:.3g}"


def _neutral(ident: Identification, family: str, params: Mapping[str, float],
             fans: Mapping[str, float], ci: float, se: float, n: int) -> None:
    """Fill ``form``, ``scale``, ``mode``, ``corrected`` from the fit and the fans. A scale is
    named when within the test's interval ``ci``; an absolute number is rounded to the fewest
    digits within two standard errors (``se`` is the variance's, so the std's 2 SE = se)."""
    var = ident.variance or 0.0
    std_ci = se
    mean = ident.mean or 0.0
    # a mean within 5 standard errors of 0 is written as 0 (centred)
    centre = "" if abs(mean) <= 5 * math.sqrt(var / n) else f"{mean:.3g} "
    name = {"uniform": "uniform", "normal": "normal", "truncnorm": "truncated_normal"}[family]
    fitted = scale_and_mode(var, fans, ci) if not centre else None
    if family == "truncnorm":
        # the cut and σ are solved from the largest value and the variance: noisier than the
        # variance itself, so rounded within the test's interval rather than two SE
        tn_ci = ci / 2
        cut_text = _absolute(params["b"], tn_ci)
        under = scale_and_mode(params["std"] ** 2, fans, ci) if not centre else None
        # corrected (Var = scale/fan) or not (σ² = scale/fan): whichever reading is simpler
        if fitted is not None and _complexity(fitted) <= _complexity(under):
            ident.scale, ident.mode, ident.corrected = float(fitted[0]), fitted[1], True
            ident.form = (f"VarianceScaling({number(float(fitted[0]))}, {fitted[1]}, "
                          f"truncated_normal), cut ±{cut_text}σ")
        elif under is not None:
            ident.scale, ident.mode, ident.corrected = float(under[0]), under[1], False
            ident.form = (f"TN(σ={sqrt_over_fan(float(under[0]), under[1])}, ±{cut_text}σ, "
                          f"uncorrected)")
        else:
            ident.form = f"TN({centre}σ={_absolute(params['std'], tn_ci)}, ±{cut_text}σ)"
        _ambiguity(ident, fitted if ident.corrected else under)
        return
    if fitted is not None and fitted[0] not in PRIMARY_SCALES and _round_number(
            math.sqrt(var), std_ci):
        fitted = None  # N(0, 0.02) beats VarianceScaling(1/4, fan_avg, ...) at some fan
    if fitted is not None:
        ident.scale, ident.mode = float(fitted[0]), fitted[1]
        ident.form = f"VarianceScaling({number(float(fitted[0]))}, {fitted[1]}, {name})"
        _ambiguity(ident, fitted)
        return
    if family == "uniform":
        half = (params["high"] - params["low"]) / 2
        ident.form = f"U({centre}±{_absolute(half, std_ci)})"
    else:
        ident.form = f"N({centre.strip() or '0'}, {_absolute(math.sqrt(var), std_ci)})"


def _ambiguity(ident: Identification, fitted: tuple[Fraction, str, list[str]] | None) -> None:
    if fitted is not None and fitted[2]:
        ident.note = f"mode ambiguous at these fans: {', '.join(fitted[2])} fit too"
    if fitted is not None:
        ident.note = (ident.note + "; " if ident.note else "") + \
            f"Var = {over_fan(float(fitted[0]), fitted[1])}"


def usual_stds(fans: Mapping[str, float]) -> list[tuple[str, float]]:
    """(scheme, std) of the usual schemes for these fans, and the usual absolute stds."""
    out = [(f"{number(float(s))}/{mode}", math.sqrt(float(s) / fan))
           for mode, fan in fan_values(fans).items() for s in (Fraction(1, 3), 1, 2)]
    return out + [(f"std {number(s)}", s) for s in USUAL_ABSOLUTE_STDS]


def nearest_usual(std: float, fans: Mapping[str, float]) -> tuple[str, float]:
    """The usual scheme nearest ``std`` (in log ratio) and the ratio std / its std."""
    name, usual = min(usual_stds(fans), key=lambda ns: abs(math.log(std / ns[1])))
    return name, std / usual
