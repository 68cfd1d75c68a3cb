"""Audit a whole model: every parameter identified, matched with its layer's spec entry, flagged.

Error budget. A model of P parameters gets a family-wise false-alarm budget ``budget`` (default
1e-2): each parameter ``budget / P``, split evenly over that parameter's stochastic tests — the
three KS fits and the normal's cut test of :mod:`initspec.audit.identify`, the exact-zeros count,
and every stochastic check
of its default spec entry (:func:`initspec.engine.stochastic_checks`). By Bonferroni the chance
that any parameter of a correct model is misidentified, falsely flagged or falsely called
re-initialised is at most ``budget``. Exact checks (constants, orthogonality, instances that
are bitwise identical) cannot fail by chance and take none of it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np
from scipy import stats

from initspec import checks, engine
from initspec.audit.draws import DEFAULT_BUDGET, ParamDraw
from initspec.audit.identify import (
    IDENTIFY_TESTS,
    RANDOM_FAMILIES,
    Identification,
    fit,
    identify,
    nearest_usual,
)
from initspec.distributions import DTYPES, continuous, reference

SAMPLE_VALUES = 4096  # values kept per parameter for `--compare` (moments use every value)
UNTRUNCATED_CUT = 4.0  # a truncnorm call cutting beyond 4σ removes < 6.4e-5 of the mass
RANDOM_LEAVES = ("weight", "kernel", "embedding")
BIAS_LEAVES = ("bias", "beta", "offset", "b")  # zero by design, whatever their shape
SCHEMA = "initspec-audit/1"
NO_ENTRY = "no spec entry for this layer"


@dataclass
class Flag:
    kind: str  # identical | zeros | far-std | untruncated
    message: str


@dataclass
class ParamAudit:
    draw: ParamDraw
    alpha: float  # per test of this parameter
    ident: Identification
    fans: dict[str, float] | None
    fan_source: str
    default: str | None  # the spec entry it conforms to
    default_checked: list[str] = field(default_factory=list)  # entries tested, with the verdict
    reinit_by: str | None = None
    flags: list[Flag] = field(default_factory=list)
    evidence: dict[str, Any] | None = None


# --------------------------------------------------------------------------- spec entries


def spec_cases(framework: str, draw: ParamDraw, version: str | None = None) -> list[Any]:
    """The spec's cases for the draw's layer and parameter, evaluated at its own arguments
    (the layer's numeric attributes, and shape symbols read off the parameter's shape).

    ``version``: the framework's installed release; of entries stated for release ranges
    (Keras' ``...@<3.15``) only those that include it count (all of them when none does:
    a release the spec has not measured is checked against what it has)."""
    if draw.layer is None:
        return []
    from initspec.explain import Refusal, _raw_entry, case_keys, expand_at

    found: list[tuple[int, Any]] = []
    entries = _entries(framework).get((draw.layer, draw.local), [])
    if version is not None:
        entries = [e for e in entries if _applies(e, version)] or entries
    for entry in entries:
        _, _, raw = _raw_entry(entry)
        fixed = raw.get("kwargs", {})
        if any(k in draw.attrs and _plain(draw.attrs[k]) != v for k, v in fixed.items()):
            continue  # a variant for other arguments (padding_idx, bias=False, ...)
        keys = case_keys(raw)
        first = raw["cases"][0]
        given = {k: _like(draw.attrs[k], first.get(k)) for k in keys if k in draw.attrs}
        specific = sum(draw.attrs[k] is not None for k in given)
        for symbol, size in zip(raw["shape"], draw.shape, strict=False):
            if isinstance(symbol, str) and symbol.isidentifier() and symbol in keys:
                given.setdefault(symbol, size)
        try:
            case, _, _ = expand_at(entry, given)
        except Refusal:
            continue
        if tuple(case.shape) == draw.shape:
            found.append((sum(k in draw.attrs for k in fixed) + specific, case))
    # the most specific entries only: for an Embedding with padding_idx, its two entries (the
    # padding row, and the other rows) and not the plain one; together they cover the parameter
    top = max((n for n, _ in found), default=0)
    return [case for n, case in found if n == top]


def _applies(entry: Any, version: str) -> bool:
    try:
        return entry.versions is None or entry.versions.contains(version, prereleases=True)
    except ValueError:  # not a version number ("unknown")
        return True


@cache
def _entries(framework: str) -> dict[tuple[str, str | None], list[Any]]:
    """The framework's spec entries by (target, param); loads that one spec file only."""
    from initspec.explain import _spec, variants
    from initspec.loader import SPEC_DIR

    path = SPEC_DIR / "frameworks" / f"{framework}.yaml"
    out: dict[tuple[str, str | None], list[Any]] = {}
    if not path.exists():
        return out
    for entry, _ in variants(_spec(str(path))):
        if entry.repeat is None and entry.expect != "raises":
            out.setdefault((entry.target, entry.param), []).append(entry)
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _like(value: Any, spec_value: Any) -> Any:
    """The layer's attribute in the spec's form: torch keeps ``normalized_shape=(64,)`` where
    the spec writes ``64``, and ``kernel_size=(3, 3)`` where it writes ``[3, 3]``."""
    if isinstance(value, tuple) and len(value) == 1 and not isinstance(spec_value, list):
        return value[0]
    return _plain(value)


def layout_fans(shape: Sequence[int], layout: str) -> dict[str, float] | None:
    """The neutral fans from the layout alone (spec/concepts.yaml, ``init``): torch
    ``(out, in, *k)``, Keras/JAX ``(*k, in, out)``; None below 2 dimensions."""
    if len(shape) < 2:
        return None
    if layout == "in_out":
        rf = math.prod(shape[:-2])
        return {"fan_in": float(shape[-2] * rf), "fan_out": float(shape[-1] * rf)}
    rf = math.prod(shape[2:])
    return {"fan_in": float(shape[1] * rf), "fan_out": float(shape[0] * rf)}


# --------------------------------------------------------------------------- one model


def audit_model(framework: str, draws: Sequence[ParamDraw], budget: float = DEFAULT_BUDGET,
                version: str | None = None) -> list[ParamAudit]:
    """Audit every draw at the family-wise ``budget`` (see the module docstring); ``version``
    is the framework's installed release (see :func:`spec_cases`)."""
    per_param = budget / max(len(draws), 1)
    return [audit_param(framework, d, per_param, version) for d in draws]


def audit_param(framework: str, draw: ParamDraw, alpha_param: float,
                version: str | None = None) -> ParamAudit:
    # the outermost enclosing layer with a spec entry for this parameter, else the layer's own:
    # the spec states a layer as its user builds it (a Keras MultiHeadAttention, not the
    # EinsumDense inside it)
    cases = []
    for layer, local, attrs in reversed(draw.outer):
        outer = replace(draw, layer=layer, local=local, attrs=attrs, outer=[])
        cases = spec_cases(framework, outer, version)
        if cases:
            draw = outer
            break
    else:
        cases = spec_cases(framework, draw, version)
    tests = IDENTIFY_TESTS + 1 + sum(len(engine.stochastic_checks(c)) for c in cases)
    alpha = alpha_param / tests
    if cases and (cases[0].neutral_fans or cases[0].fans):
        fans = dict(cases[0].neutral_fans or cases[0].fans)
        fan_source = f"spec entry {cases[0].entry.name} ({cases[0].entry.file.rsplit('/', 1)[-1]})"
    else:
        fans = layout_fans(draw.shape, draw.layout)
        fan_source = f"{draw.layout} layout rule" if fans else "no fan (fewer than 2 dimensions)"
    x = draw.values
    ident = identify(x, draw.dtype, alpha, fans, prefer_absolute=not cases)
    result = ParamAudit(draw, alpha, ident, fans, fan_source, None)
    conforms = []
    for case in cases:
        checked = engine.run_checks(case, _as_dtype(x, draw.dtype), draw.dtype, alpha)
        failed = [c.name for c in checked if not c.passed]
        result.default_checked.append(f"{case.entry.name}: " + (
            "conforms" if not failed else f"rejected ({', '.join(failed)})"))
        conforms.append(not failed)
    if cases and all(conforms):  # every part of the parameter the spec states
        result.default = " + ".join(c.entry.name for c in cases)
    if result.default is None:
        result.reinit_by = _reinit_by(draw, bool(cases))
    # a weight whose default is random (a bias zeroed on purpose is common practice; a weight
    # left at zero is the bug); without a spec entry, a >= 2-D weight/kernel/embedding. Sizes
    # of 1 do not count: a (1, C) BatchNorm offset or (1, 1, C) token is a vector
    matrix = sum(n > 1 for n in draw.shape) >= 2
    leaf = re.split(r"[./]", draw.local or draw.name)[-1]
    weight_like = matrix or leaf in RANDOM_LEAVES
    expected_random = weight_like and draw.dtype in DTYPES and (
        any(c.family in ("uniform", "normal", "truncnorm", "triangular", "orthogonal")
            for c in cases)
        or (not cases and matrix and draw.kind == "parameter" and leaf not in BIAS_LEAVES))
    result.flags = flags(draw, ident, fans, alpha, expected_random)
    result.evidence = _evidence(x, draw.dtype, ident, alpha)
    return result


def _as_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    return x.astype(DTYPES[dtype]) if dtype in DTYPES and x.dtype != DTYPES[dtype] else x


def _reinit_by(draw: ParamDraw, has_default: bool) -> str:
    if draw.calls:
        whole = [c for c in draw.calls if not c.endswith(" on a slice")]
        last = whole[-1] if whole else draw.calls[-1]
        later = draw.calls[draw.calls.index(last) + 1:] if whole else []
        earlier = draw.calls.index(last)
        return last + "".join(f", then {c}" for c in later) + (
            f" (after {earlier} earlier call(s))" if earlier else "")
    if draw.init_arg:
        return draw.init_arg
    return "the model's own code (no init call recorded)" if has_default else NO_ENTRY


def _evidence(x: np.ndarray, dtype: str, ident: Identification,
              alpha: float) -> dict[str, Any] | None:
    """The site's plot evidence of the identified (fitted) distribution: for the pictures only."""
    if ident.family not in (*RANDOM_FAMILIES, "none") or dtype not in DTYPES:
        return None
    family = ident.family if ident.family in RANDOM_FAMILIES else \
        min(ident.ks, key=lambda f: ident.ks[f]["D"])
    dist = continuous(family, fit(family, x.astype(np.float64).ravel()))
    out: dict[str, Any] = {}
    engine.distribution_checks(_as_dtype(x, dtype), dist, dtype, alpha, out)
    out["family"] = family
    return out


# --------------------------------------------------------------------------- flags


def flags(draw: ParamDraw, ident: Identification, fans: Mapping[str, float] | None,
          alpha: float, expected_random: bool) -> list[Flag]:
    """The things people get bitten by (see README, "initspec audit")."""
    out: list[Flag] = []
    x = draw.values
    random = (ident.random or ident.family == "orthogonal") and draw.dtype in DTYPES
    if random and len(x) >= 2:
        repeat = checks.check_repeat(x, "distinct")
        if not repeat.passed:
            out.append(Flag("identical", f"identical across instances: {repeat.message}; "
                                         f"a seed is reused (a manual_seed/PRNGKey inside "
                                         f"the model's code?)"))
    if expected_random:
        zeros = zero_flag(draw, ident, alpha)
        if zeros:
            out.append(zeros)
    if ident.random and ident.variance:
        name, ratio = nearest_usual(math.sqrt(ident.variance), fans or {})
        if not 1 / FAR_FACTOR_STD <= ratio <= FAR_FACTOR_STD:
            out.append(Flag("far-std", f"std {math.sqrt(ident.variance):.4g} is {ratio:.3g}x "
                                       f"the nearest usual scheme ({name}, fans "
                                       f"{_fans_text(fans)})"))
    untrunc = untruncated_flag(draw, ident)
    if untrunc:
        out.append(untrunc)
    return out


FAR_FACTOR_STD = 10.0


def _fans_text(fans: Mapping[str, float] | None) -> str:
    if not fans:
        return "none"
    return ", ".join(f"{k}={v:g}" for k, v in fans.items())


def zero_flag(draw: ParamDraw, ident: Identification, alpha: float) -> Flag | None:
    """Exact zeros beyond what the identified draw puts at 0 (binomial test at ``alpha``).

    The padding row of an embedding (``padding_idx``) is zero by design and left out."""
    x = draw.values
    padding = draw.attrs.get("padding_idx")
    if isinstance(padding, int) and len(draw.shape) == 2 and -draw.shape[0] <= padding \
            < draw.shape[0]:
        x = np.delete(x, padding, axis=1)
    flat = x.astype(np.float64).ravel()
    count = int((flat == 0).sum())
    if count == 0:
        return None
    if ident.family == "constant":
        return Flag("zeros", f"all {flat.size} values are exactly 0 where a random draw was "
                             f"expected (zero-initialised)")
    if ident.family not in RANDOM_FAMILIES or draw.dtype not in DTYPES:
        p0 = 0.0
    else:
        dist = continuous(ident.family, ident.params)
        p0 = checks.cell_probability(dist, reference(dist, draw.dtype), 0.0, draw.dtype)
    p = float(stats.binomtest(count, flat.size, p0, alternative="greater").pvalue) \
        if p0 > 0 else 0.0
    if p >= alpha:
        return None
    return Flag("zeros", f"{count} of {flat.size} values are exactly 0 where a random draw was "
                         f"expected ({flat.size * p0:.3g} expected; p = {p:.3g})")


def untruncated_flag(draw: ParamDraw, ident: Identification) -> Flag | None:
    """A truncated-normal call (the last recorded) whose cuts lie beyond ``UNTRUNCATED_CUT``σ:
    torch's ``trunc_normal_(std=0.02)`` keeps its absolute default cuts ±2, i.e. ±100σ."""
    calls = [(c, a) for c, a in zip(draw.calls, draw.call_args, strict=False)]
    if not calls or "trunc" not in calls[-1][0]:
        return None
    call, args = calls[-1]
    std, mean = args.get("std", 1.0), args.get("mean", 0.0)
    a, b = args.get("a", -2.0), args.get("b", 2.0)
    cut = min(abs(a - mean), abs(b - mean)) / std if std > 0 else math.inf
    if cut <= UNTRUNCATED_CUT:
        return None
    flat = draw.values.astype(np.float64).ravel()
    beyond = int((np.abs(flat - mean) > 2 * std).sum())
    expected = flat.size * 2 * float(stats.norm.sf(2))
    return Flag("untruncated", f"{call} cuts at ±{cut:.3g}σ (absolute a={a:g}, b={b:g}): "
                               f"not truncated; {beyond} of {flat.size} values lie beyond ±2σ "
                               f"({expected:.3g} expected for a plain normal, 0 for a ±2σ cut); "
                               f"identified as {ident.form or ident.family}")


# --------------------------------------------------------------------------- JSON


def encode_sample(x: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Every value's moments, and up to ``SAMPLE_VALUES`` values (float32, base64) for the
    two-sample tests of ``--compare``."""
    x = np.asarray(x)
    if np.iscomplexobj(x):  # real and imaginary parts, pooled
        x = np.stack([x.real, x.imag], axis=-1)
    flat = x.astype(np.float64).ravel()
    n = flat.size
    finite = np.isfinite(flat)
    nonfinite = int(n - finite.sum())
    flat = flat[finite] if nonfinite else flat  # moments and values of the finite ones
    keep = flat if flat.size <= SAMPLE_VALUES else \
        flat[np.random.default_rng(seed).choice(flat.size, SAMPLE_VALUES, replace=False)]
    mean = float(flat.mean()) if flat.size else 0.0
    centred = flat - mean
    c2 = centred * centred
    out = {"n": n, "mean": mean, "var": float(c2.mean()) if flat.size else 0.0,
           "m4": float((c2 * c2).mean()) if flat.size else 0.0,
           "zeros": int((flat == 0).sum()),
           "values": base64.b64encode(keep.astype("<f4").tobytes()).decode("ascii")}
    if nonfinite:
        out["nonfinite"] = nonfinite
    return out


def decode_values(sample: Mapping[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(sample["values"]), dtype="<f4").astype(np.float64)


def to_json(framework: str, version: str, factory: str, instances: int, budget: float,
            audits: Sequence[ParamAudit]) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "framework": framework, "version": version, "factory": factory,
        "instances": instances,
        "budget": {"family_wise": budget, "parameters": len(audits),
                   "per_parameter": budget / max(len(audits), 1)},
        "parameters": [param_json(a) for a in audits],
    }


def param_json(a: ParamAudit) -> dict[str, Any]:
    d = a.draw
    return {
        "name": d.name, "kind": d.kind, "shape": list(d.shape), "dtype": d.dtype,
        "layout": d.layout, "layer": d.layer, "local": d.local,
        "fans": a.fans, "fan_source": a.fan_source, "alpha": a.alpha,
        "identified": a.ident.as_dict(), "default": a.default,
        "default_checked": a.default_checked, "reinit_by": a.reinit_by,
        "calls": d.calls, "flags": [{"kind": f.kind, "message": f.message} for f in a.flags],
        "sample": encode_sample(d.values), "evidence": a.evidence,
    }


def safe_name(name: str) -> str:
    """A file name for a parameter path (pictures)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "param"
