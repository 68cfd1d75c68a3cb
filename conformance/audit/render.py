"""The audit's terminal tables and detail pictures (the site's plotting, initspec.report.plots)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from initspec.audit.model import NO_ENTRY, ParamAudit, safe_name


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def table(audits: Sequence[ParamAudit], framework: str, version: str, factory: str,
          instances: int, budget: float) -> str:
    """One row per parameter: shape, identified distribution, default or re-initialised, flags;
    then every flag in full."""
    rows = []
    for a in audits:
        d = a.draw
        if a.default:
            status = f"default ({a.default})"
        elif a.default_checked:  # the spec has this layer's entry, and the draws are not it
            status = f"re-init: {a.reinit_by}"
        else:
            status = f"no spec entry; {a.reinit_by}" if a.reinit_by != NO_ENTRY else NO_ENTRY
        rows.append([_cut(d.name, 48) + (" [buffer]" if d.kind == "buffer" else ""),
                     "x".join(map(str, d.shape)) or "()", _cut(a.ident.form or a.ident.family, 58),
                     f"{a.ident.variance:.3g}" if a.ident.variance is not None else "-",
                     _cut(status, 60), ", ".join(f.kind for f in a.flags) or "-"])
    per = budget / max(len(audits), 1)
    lines = [f"initspec audit: {framework} {version}, {factory}, {instances} instances; "
             f"family-wise budget {budget:g} ({per:.3g} per parameter)", ""]
    lines += _rows(["parameter", "shape", "identified", "variance", "initialised by", "flags"],
                   rows)
    flagged = [(a, f) for a in audits for f in a.flags]
    if flagged:
        lines += ["", f"{len(flagged)} flag(s):"]
        lines += [f"  {a.draw.name}: [{f.kind}] {f.message}" for a, f in flagged]
    else:
        lines += ["", "no flags"]
    return "\n".join(lines)


FAMILY_NAMES = {"uniform": "uniform", "normal": "normal", "truncnorm": "truncated normal"}


def caption(a: ParamAudit) -> str:
    """The picture's own caption (3 lines): which parameter, what it was identified as and
    against which reference it is drawn, what initialised it, its flags."""
    d = a.draw
    ident = a.ident
    family = FAMILY_NAMES.get((a.evidence or {}).get("family", ""), "?")
    fitted = ", ".join(f"{k}={v:.4g}" for k, v in ident.params.items())
    status = f"default ({a.default})" if a.default else (
        f"re-initialised: {a.reinit_by}" if a.default_checked else
        (a.reinit_by if a.reinit_by != NO_ENTRY else NO_ENTRY))
    flags = ", ".join(f.kind for f in a.flags) or "none"
    return "\n".join([
        _cut(f"{d.name}  {'x'.join(map(str, d.shape)) or '()'} {d.dtype}: "
             f"{ident.form or ident.family}", 130),
        _cut(f"blue: observed ({d.values.size} values, {len(d.values)} instances); orange: "
             f"the fitted {family} ({fitted}), expected counts ±2√E", 130),
        _cut(f"{status}; flags: {flags}", 130)])


def pictures(audits: Sequence[ParamAudit], folder: Path) -> int:
    """One PNG per random parameter, the site's detail picture (histogram against the fitted
    distribution, QQ, tail counts) with a caption of its own."""
    from initspec.report.plots import Painter

    folder.mkdir(parents=True, exist_ok=True)
    painter = Painter(caption_lines=3)
    count = 0
    try:
        for a in audits:
            if a.evidence is None:
                continue
            (folder / f"{safe_name(a.draw.name)}.png").write_bytes(
                painter.png(a.evidence, caption(a)))
            count += 1
    finally:
        painter.close()
    return count


def comparison(result: dict[str, Any], a_path: str, b_path: str) -> str:
    budget = result["budget"]
    lines = [f"initspec audit --compare: A = {a_path} ({result['a']}), B = {b_path} "
             f"({result['b']})",
             f"{len(result['pairs'])} matched pairs; family-wise budget "
             f"{budget['family_wise']:g}, {budget['per_test']:.3g} per test", ""]
    rows = []
    for p in result["pairs"]:
        verdict = "DIFFERS" if p["differs"] else "agrees"
        rows.append([_cut(p["a"], 44), _cut(p["b"], 44), p["layout"], verdict,
                     f"{p['variance_ratio']:.4g}", f"{p['ks']['D']:.3g}",
                     _cut(p["detail"], 70)])
    lines += _rows(["A", "B", "layout", "verdict", "Var B/A", "KS D", "detail"], rows)
    for side in ("a", "b"):
        if result[f"unmatched_{side}"]:
            lines += ["", f"only in {side.upper()} ({len(result[f'unmatched_{side}'])}): " +
                      ", ".join(result[f"unmatched_{side}"][:20]) +
                      (" ..." if len(result[f"unmatched_{side}"]) > 20 else "")]
    differs = sum(p["differs"] for p in result["pairs"])
    lines += ["", f"{differs} of {len(result['pairs'])} matched parameters differ"]
    return "\n".join(lines)
