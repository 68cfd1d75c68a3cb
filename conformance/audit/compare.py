"""Compare two audits parameter by parameter: does the port initialise like the original?

Names are matched automatically — torch ``encoder.layer.0.attention.self.query.weight`` and Flax
``encoder/layer/0/attention/self/query/kernel`` are one parameter (``.``/``/`` separators; Flax's
``kernel``/``embedding``/``scale`` are torch's ``weight``; a leading ``params`` or a prefix only
one side has is dropped when that leaves one candidate) — or by an explicit YAML map ``{A: B}``.
Shapes must agree, or be each other's reverse (a kernel stored transposed).

Tests, each pair: ``scipy.stats.ks_2samp`` on the stored samples (up to
:data:`~initspec.audit.model.SAMPLE_VALUES` values each) and a variance-ratio z-test on every
value's moments (``ln(VarB/VarA)`` has variance ``(κA-1)/nA + (κB-1)/nB``, κ the kurtosis).
and Fisher's exact test on the counts of exact zeros (a zeroed padding row is 1/vocab of the
values: far below what KS sees in 4096 values, plain in the counts).
The family-wise budget is split evenly over those 3 tests of every pair (Bonferroni).
``scipy.stats.anderson_ksamp`` is reported beside them, but its p-value is floored at 0.001, so
it takes part in the decision only when the per-test alpha is at least that.
For pairs that agree the power is stated: the smallest variance ratio and KS distance each test
detects with 99 % probability at its sample sizes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from initspec import power
from initspec.audit.model import decode_values

LEAF_SYNONYMS = {"kernel": "weight", "embedding": "weight", "scale": "weight", "gamma": "weight",
                 "beta": "bias"}
TESTS_PER_PAIR = 3
AD_P_FLOOR = 1e-3


def canonical(name: str) -> tuple[str, ...]:
    tokens = [t for t in re.split(r"[./]", name) if t]
    if tokens and tokens[0] == "params":
        tokens = tokens[1:]
    if tokens:
        tokens[-1] = LEAF_SYNONYMS.get(tokens[-1], tokens[-1])
    return tuple(tokens)


def match_names(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (A name, B name): same canonical path, else the one B path that ends with A's
    (or A's with B's) once a prefix is dropped."""
    by_canon = {canonical(n): n for n in b}
    pairs, used = [], set()
    pending = []
    for name in a:
        hit = by_canon.get(canonical(name))
        if hit is not None and hit not in used:
            pairs.append((name, hit))
            used.add(hit)
        else:
            pending.append(name)
    for name in pending:
        ca = canonical(name)
        hits = [n for c, n in by_canon.items() if n not in used and c and ca and
                (c[-len(ca):] == ca or ca[-len(c):] == c)]
        if len(hits) == 1:
            pairs.append((name, hits[0]))
            used.add(hits[0])
    return pairs


def read_mapping(path: str) -> dict[str, str]:
    from initspec.audit.cli import Refusal

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise Refusal(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise Refusal(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in data.items()):
        raise Refusal(f"{path}: expected a mapping of A's parameter names to B's")
    return data


def compare(a: Mapping[str, Any], b: Mapping[str, Any], mapping: Mapping[str, str] | None,
            budget: float) -> dict[str, Any]:
    from initspec.audit.cli import Refusal

    pa = {p["name"]: p for p in a["parameters"]}
    pb = {p["name"]: p for p in b["parameters"]}
    if mapping is not None:
        unknown = [k for k in mapping if k not in pa] + [v for v in mapping.values()
                                                         if v not in pb]
        if unknown:
            raise Refusal(f"--map names {unknown[0]!r}, which is in neither audit's "
                          f"parameters where the map puts it")
        pairs = list(mapping.items())
    else:
        pairs = match_names(list(pa), list(pb))
    alpha = budget / max(TESTS_PER_PAIR * len(pairs), 1)
    out = [compare_pair(pa[x], pb[y], alpha) for x, y in pairs]
    matched_a, matched_b = {x for x, _ in pairs}, {y for _, y in pairs}
    return {
        "a": f"{a['framework']} {a['version']} {a['factory']}",
        "b": f"{b['framework']} {b['version']} {b['factory']}",
        "budget": {"family_wise": budget, "pairs": len(pairs), "per_test": alpha},
        "pairs": out,
        "unmatched_a": [n for n in pa if n not in matched_a],
        "unmatched_b": [n for n in pb if n not in matched_b],
    }


def _layout(sa: Sequence[int], sb: Sequence[int]) -> str | None:
    if list(sa) == list(sb):
        return "same"
    if list(sa) == list(reversed(sb)):
        return "transposed"
    return None


def compare_pair(pa: Mapping[str, Any], pb: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    """Two-sample tests of one matched pair at ``alpha`` per test."""
    layout = _layout(pa["shape"], pb["shape"])
    sa, sb = pa["sample"], pb["sample"]
    forms = f"A {_form(pa)} vs B {_form(pb)}"
    base = {"a": pa["name"], "b": pb["name"], "layout": layout or "shape differs",
            "a_form": pa["identified"]["form"], "b_form": pb["identified"]["form"],
            "alpha": alpha}
    if layout is None:
        return {**base, "differs": True, "variance_ratio": math.nan, "ks": {"D": math.nan},
                "detail": f"shapes {pa['shape']} vs {pb['shape']}: not comparable"}
    untestable = _untestable(sa, sb)
    if untestable is not None:
        same, why = untestable
        return {**base, "differs": not same, "variance_ratio": math.nan,
                "ks": {"D": math.nan}, "detail": f"not tested ({why}): {forms}"}
    xa, xb = decode_values(sa), decode_values(sb)
    ratio, var_p, var_power = variance_ratio_test(sa, sb, alpha)
    if sa["var"] == 0 or sb["var"] == 0:  # constants: compared exactly
        same = sa["var"] == sb["var"] and np.array_equal(np.unique(xa), np.unique(xb))
        return {**base, "differs": not same, "variance_ratio": ratio, "ks": {"D": 0.0 if same
                                                                          else 1.0},
                "detail": ("both the same constant" if same else f"constants differ: {forms}")}
    ks = stats.ks_2samp(xa, xb)
    n_eff = len(xa) * len(xb) / (len(xa) + len(xb))
    ks_power = power.min_discrepancy_ks(max(int(n_eff), 1), alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the p-value floor/cap warning: reported, not hidden
        try:
            ad = stats.anderson_ksamp([xa, xb])
            ad_stat, ad_p = float(ad.statistic), float(ad.pvalue)
        except ValueError:  # one distinct value in all (the KS and variance tests decide)
            ad_stat, ad_p = math.nan, 1.0
    ad_used = alpha >= AD_P_FLOOR and not math.isnan(ad_stat)
    failed = []
    zeros_p = zeros_test(sa, sb)
    if zeros_p < alpha:
        failed.append(f"exact zeros {sa['zeros']}/{sa['n']} vs {sb['zeros']}/{sb['n']} "
                      f"(Fisher p = {zeros_p:.3g})")
    if var_p < alpha:
        failed.append(f"variance ratio {ratio:.4g} (p = {var_p:.3g})")
    if float(ks.pvalue) < alpha:
        failed.append(f"KS D = {float(ks.statistic):.3g} (p = {float(ks.pvalue):.3g})")
    if ad_used and ad_p < alpha:
        failed.append(f"Anderson-Darling p = {ad_p:.3g}")
    ks_text = f"KS D >= {ks_power:.2g}" if ks_power < 1 else "no KS distance (too few values)"
    detail = ("; ".join(failed) + f": {forms}") if failed else (
        f"detects Var ratio outside [{1 / var_power:.3g}, {var_power:.3g}] and "
        f"{ks_text} with 99% power")
    return {**base, "differs": bool(failed), "variance_ratio": ratio,
            "variance_p": var_p, "ks": {"D": float(ks.statistic), "p": float(ks.pvalue),
                                        "n_a": len(xa), "n_b": len(xb)},
            "zeros": {"a": sa["zeros"], "b": sb["zeros"], "p": zeros_p},
            "anderson": {"statistic": ad_stat, "p": ad_p, "floor": AD_P_FLOOR,
                         "used": ad_used},
            "power": {"variance_ratio": var_power, "ks_D": ks_power}, "detail": detail}


def _form(param: Mapping[str, Any]) -> str:
    ident = param["identified"]
    return ident["form"] or str(ident.get("family", "?"))


def _untestable(sa: Mapping[str, Any], sb: Mapping[str, Any]) -> tuple[bool, str] | None:
    """(same, why) for a pair the two-sample tests cannot take: no values, or inf/nan among
    them (compared by their counts only); None for a testable pair."""
    bad_a, bad_b = int(sa.get("nonfinite", 0)), int(sb.get("nonfinite", 0))
    if sa["n"] == 0 or sb["n"] == 0:
        return sa["n"] == sb["n"], "no values" if sa["n"] == sb["n"] else \
            f"{sa['n']} vs {sb['n']} values"
    if bad_a or bad_b:
        return bad_a * sb["n"] == bad_b * sa["n"], \
            f"inf/nan values: {bad_a} of {sa['n']} vs {bad_b} of {sb['n']}"
    return None


def zeros_test(sa: Mapping[str, Any], sb: Mapping[str, Any]) -> float:
    """Fisher's exact test of equal rates of exact zeros (p = 1 when neither has any)."""
    za, zb = int(sa.get("zeros", 0)), int(sb.get("zeros", 0))
    if za == zb == 0:
        return 1.0
    table = [[za, sa["n"] - za], [zb, sb["n"] - zb]]
    return float(stats.fisher_exact(table).pvalue)


def variance_ratio_test(sa: Mapping[str, Any], sb: Mapping[str, Any],
                        alpha: float) -> tuple[float, float, float]:
    """(VarB/VarA, two-sided p, the ratio detected with 99 % power) from every value's moments.

    ``ln`` of a sample variance has standard error ``sqrt((κ - 1)/n)`` (κ = m4/var²), so
    ``z = ln(VarB/VarA) / sqrt((κA-1)/nA + (κB-1)/nB)``."""
    va, vb = sa["var"], sb["var"]
    if va == 0 or vb == 0:
        return (math.inf if va == 0 and vb > 0 else (1.0 if va == vb else 0.0)), \
            (1.0 if va == vb else 0.0), math.nan
    se = math.sqrt((sa["m4"] / va**2 - 1) / sa["n"] + (sb["m4"] / vb**2 - 1) / sb["n"])
    z = math.log(vb / va) / se
    p = float(2 * stats.norm.sf(abs(z)))
    detect = math.exp((float(stats.norm.isf(alpha / 2)) + float(stats.norm.ppf(power.POWER)))
                      * se)
    return vb / va, p, detect
