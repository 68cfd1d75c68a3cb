"""``initspec explain`` and ``initspec list``: ask the spec and the published verdicts, offline.

Everything printed comes from the spec (spec/frameworks/*.yaml, spec/concepts.yaml) and the
compact copy of the published verdicts (:mod:`initspec.published`); no ML framework is imported.
The numbers for the asked shapes are the loader's own expansion of the entry at those values, and
every comparison (a documented promise against the draw, another framework's entry against this
one) is computed from the entries' variances and neutral forms, never typed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from initspec import published as pub
from initspec.formula import Formula, FormulaError
from initspec.loader import (
    SPEC_DIR,
    Case,
    Entry,
    FrameworkSpec,
    Scheme,
    SpecError,
    load_framework,
    load_schemes,
)
from initspec.notation import Neutral, from_params, number, numbers

SYMBOL = {"pass": "✅", "fail": "❌", "known-deviation": "⚠️", "skip": "➖", "error": "💥"}
DTYPE_ORDER = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}
# The layer kind of spec/concepts.yaml whose neutral fan rule applies, by concept prefix.
KIND_OF_CONCEPT = {"dense": "dense", "conv": "conv", "conv_transpose": "conv_transpose",
                   "rnn": "rnn", "lstm": "rnn", "gru": "rnn", "embedding": "embedding",
                   "attention": "attention", "init": "init"}
# ... and, for entries without a concept, by a word of the target (first match wins).
KIND_OF_TARGET = (("Transpose", "conv_transpose"), ("Conv", "conv"), ("LSTM", "rnn"),
                  ("GRU", "rnn"), ("RNN", "rnn"), ("Embed", "embedding"),
                  ("Attention", "attention"), ("init", "init"), ("Linear", "dense"),
                  ("Dense", "dense"), ("Bilinear", "dense"))


class Refusal(ValueError):
    """Bad input to explain / list: the message is one line."""


# --------------------------------------------------------------------------- spec access


@cache
def _schemes() -> dict[str, Scheme]:
    return load_schemes()


@cache
def _spec(path: str) -> FrameworkSpec:
    return load_framework(Path(path), _schemes())


def spec_names() -> list[str]:
    return sorted(p.stem for p in (SPEC_DIR / "frameworks").glob("*.yaml"))


def all_specs() -> dict[str, FrameworkSpec]:
    return {name: _spec(str(SPEC_DIR / "frameworks" / f"{name}.yaml")) for name in spec_names()}


def resolve_framework(name: str, data: Mapping[str, Any]) -> str:
    """The spec a framework or column name means: ``keras-jax`` → ``keras``."""
    names = spec_names()
    if name in names:
        return name
    columns = pub.columns(data)
    if name in columns:
        return columns[name]["spec"]
    prefixed = [s for s in names if name.startswith(f"{s}-")]
    if prefixed:
        return max(prefixed, key=len)
    known = ", ".join(names)
    cols = ", ".join(c for c in sorted(columns) if c not in names)
    raise Refusal(f"unknown framework {name!r} (specs: {known}"
                  + (f"; columns: {cols})" if cols else ")"))


def variants(spec: FrameworkSpec) -> list[tuple[Entry, list[Case]]]:
    """Each spec entry (one YAML mapping) with its cases; several may share a name."""
    out: dict[int, tuple[Entry, list[Case]]] = {}
    for case in spec.cases:
        out.setdefault(id(case.entry), (case.entry, []))[1].append(case)
    return list(out.values())


@cache
def _document(path: str) -> Any:
    from initspec.loader import _Located  # the loader's line-aware parse

    return _Located(Path(path))


def _raw_entry(entry: Entry) -> tuple[Any, int, dict[str, Any]]:
    """The YAML document, index and raw mapping (file defaults applied) of ``entry``."""
    doc = _document(entry.file)
    for i, raw in enumerate(doc.data["entries"]):
        if doc.line(["entries", i]) == entry.line:
            if doc.data.get("versions") is not None:
                raw = {"versions": doc.data["versions"], **raw}
            return doc, i, raw
    raise Refusal(f"{entry.file}:{entry.line}: entry {entry.name} not found again")  # edited?


def case_keys(raw: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for values in raw["cases"]:
        keys += [k for k in values if k not in keys]
    return keys


def expand_at(entry: Entry, given: Mapping[str, Any]) -> tuple[Case, dict[str, Any], dict]:
    """The entry at the shape values ``given`` (the rest from the spec's first case): the loader's
    own expansion of that one case, every formula evaluated and cross-checked like any case.
    Returns the case, the values taken from the first case, and the raw entry."""
    from initspec.loader import _expand

    doc, index, raw = _raw_entry(entry)
    first = raw["cases"][0]
    defaulted = {k: v for k, v in first.items() if k not in given}
    values = {**first, **given}
    try:
        case = _expand(doc, ["entries", index], {**raw, "cases": [values]}, doc.data["framework"],
                       _schemes())[0]
    except SpecError as exc:
        shown = ",".join(f"{k}={v}" for k, v in given.items())
        raise Refusal(f"{entry.name} cannot be evaluated at {shown}: "
                      f"{str(exc).rsplit(': ', 1)[-1]}") from None
    return case, defaulted, raw


def parse_values(items: Sequence[str]) -> dict[str, Any]:
    """``name=value`` arguments; values read as YAML scalars or lists (``3``, ``[3, 3]``)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier() or not text:
            raise Refusal(f"expected name=value, got {item!r}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise Refusal(f"{name}: cannot read value {text!r}") from None
        if not _shape_value(value):
            raise Refusal(f"{name}={text}: a shape argument is a number or a list of numbers")
        out[name] = value
    return out


def _shape_value(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_shape_value(v) and not isinstance(v, list) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- explain


@dataclass
class Asked:
    """One entry at the asked shapes, with what is needed to explain it."""

    framework: str
    entry: Entry
    cases: list[Case]  # the spec's cases (the neutral form is derived from all of them)
    case: Case  # at the asked shapes
    defaulted: dict[str, Any]
    raw: dict[str, Any]
    data: dict[str, Any]  # the published verdicts


def explain(asked: Asked) -> list[str]:
    e = asked.entry
    where = _where(e)
    what = f"{e.target}, parameter {e.param}" if e.param else e.target
    head = [f"{asked.framework} {e.name}: {what}"
            + (f" (concept {e.concept})" if e.concept else "") + f"  [{where}]"]
    return [*head, *_shapes(asked), *_draw(asked), *_fans(asked), *_source(asked),
            *_conditions(asked), *_docs(asked), *_promises(asked), *_history(asked),
            *_elsewhere(asked), *_published(asked), *_deviations(asked)]


def _where(e: Entry) -> str:
    path = Path(e.file).resolve()
    if path.is_relative_to(SPEC_DIR.resolve().parent):
        path = path.relative_to(SPEC_DIR.resolve().parent)
    return f"{path}:{e.line}"


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"{title}:", *(f"  {line}" for line in lines)] if lines else []


def _shapes(a: Asked) -> list[str]:
    given = [f"{k}={_show(v)}" for k, v in a.case.kwargs.items() if k not in a.defaulted
             and k in case_keys(a.raw)]
    lines = []
    if given:
        lines.append("given: " + ", ".join(given))
    if a.defaulted:
        lines.append(", ".join(f"{k}={_show(v)}" for k, v in a.defaulted.items())
                     + " (not given: taken from the spec's first case)")
    shape = f"shape {tuple(a.case.shape)}"
    if a.case.select:
        s = a.case.select
        part = "all but" if s.complement else "only"
        shape += f", checked on {part} indices {s.start}..{s.stop - 1} of axis {s.axis}"
    lines.append(shape)
    return _section("Shapes", lines)


def _show(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


def _draw(a: Asked) -> list[str]:
    case, neutral = a.case, a.cases[0].neutral
    if getattr(case.entry, "expect", None) == "raises":
        raises = getattr(case.entry, "raises", None)
        what = (raises.type if raises and raises.type else "an exception") + (
            f" ({raises.match!r})" if raises and raises.match else "")
        return _section("Draws", [f"nothing: the target raises {what} (expect: raises)"])
    if case.entry.repeat is not None:
        r = case.entry.repeat
        how = "one object called again" if r.reuse else "fresh objects"
        return _section("Draws", [f"reproducibility ({how}): repeated draws are {r.expect}"])
    params = ", ".join(f"{k}={_num(v)}" for k, v in case.params.items())
    lines = [f"family {case.family}({params})"]
    if neutral is not None:
        lines.append(f"neutral: {neutral.form}: {neutral.distribution}"
                     + (f", variance {neutral.variance}" if neutral.variance else ""))
    here = numbers(case)
    if here:
        lines.append(f"at these shapes: {here}")
    if case.bounds:
        lines.append(f"bounds [{_num(case.bounds[0])}, {_num(case.bounds[1])}]")
    if case.variance is not None:
        stated = f" = {case.entry.variance_text}" if case.entry.variance_text else ""
        lines.append(f"variance{stated} = {_num(case.variance)}")
    scheme = case.entry.scheme
    if scheme is not None:
        lines.append(f"spec scheme {scheme.name} ({scheme.summary}) with "
                     + ", ".join(f"{k} = {v}" for k, v in a.raw.get("with", {}).items()))
    lets = _lets(a)
    if lets:
        lines.append("where " + ", ".join(lets))
    return _section("Draws", lines)


def _lets(a: Asked) -> list[str]:
    """The entry's ``let`` values at these shapes (the gain of kaiming_uniform_(a=√5), ...)."""
    from initspec.loader import _symbols

    env = _symbols(a.case.kwargs)
    env.update(a.case.fans or {})
    out = []
    for k, text in (a.raw.get("let") or {}).items():
        try:
            env[k] = Formula.parse(text)(env)
        except (FormulaError, ZeroDivisionError):
            return out
        out.append(f"{k} = {text} = {number(env[k])}")
    return out


def _fans(a: Asked) -> list[str]:
    lines = []
    own = a.raw.get("fans") or {}
    for k, text in own.items():
        value = (a.case.fans or {}).get(k)
        lines.append(f"{a.framework}: {k} = {text}" + (f" = {_num(value)}" if value is not None
                                                      else ""))
    for k, text in (a.raw.get("neutral_fans") or {}).items():
        value = (a.case.neutral_fans or {}).get(k)
        lines.append(f"neutral: {k} = {text}" + (f" = {_num(value)}" if value is not None
                                                 else ""))
    if a.entry.fan_note:
        lines.append(f"note: {a.entry.fan_note}")
    kind = layer_kind(a.entry)
    rule = neutral_fan_rules().get(kind) if kind else None
    if rule and (own or (a.cases[0].neutral and a.cases[0].neutral.mode)):
        lines.append(f"neutral rule for {kind} (spec/concepts.yaml): {rule}")
    return _section("Fan rule", lines)


@cache
def neutral_fan_rules() -> dict[str, str]:
    try:
        return dict(yaml.safe_load((SPEC_DIR / "concepts.yaml").read_text()).get("fans", {}))
    except (OSError, yaml.YAMLError, AttributeError):
        return {}


def layer_kind(entry: Entry) -> str | None:
    if entry.concept:
        kind = KIND_OF_CONCEPT.get(entry.concept.split(".")[0])
        if kind:
            return kind
    return next((kind for word, kind in KIND_OF_TARGET if word in entry.target), None)


def _source(a: Asked) -> list[str]:
    chain = [part.strip() for part in a.entry.source.split("->")]
    return _section("Call chain (spec source)", [" -> ".join(chain)] if len(chain) < 4 else
                    [chain[0], *(f"-> {c}" for c in chain[1:])])


def _docs(a: Asked) -> list[str]:
    return _section("Documentation", [f'claims: "{a.entry.docs_claim}"', f"({a.entry.docs_url})"])


def _promises(a: Asked) -> list[str]:
    lines = [line for block in promise_comparisons(a) for line in block]
    return _section("What the docs and the references they cite promise (docs.promises)", lines)


def _who(by: str) -> str:
    """The short name of who states a promise: "He et al. 2015", "maintainers' reply"."""
    return by.split(",")[0].split(" (")[0].strip()


def promise_comparisons(a: Asked) -> list[list[str]]:
    """Each documented promise (docs.promises) against the draw: its distribution at these
    shapes, its neutral form over the spec's cases, and the ratio of its variance to the draw's;
    then which promises the draw matches and which it does not."""
    promises = getattr(a.entry, "promises", ()) or ()
    here = getattr(a.case, "promises", ()) or ()
    if not promises or len(here) != len(promises):
        return []
    out, matched, unmatched = [], [], []
    for j, (promise, pc) in enumerate(zip(promises, here, strict=True)):
        lines = [f"{promise.id} ({promise.kind}) by {promise.by}:", f'  says "{promise.says}"',
                 f"  ({promise.url})"]
        form = _promise_neutral(a, j)
        text = form.form if form else pc.family
        if form and form.variance:
            text += f", variance {form.variance}"
        ratio = _ratio(pc.variance, a.case.variance)
        verdicts = _promise_verdicts(a, promise.id)
        lines.append(f"  states {text}"
                     + (f" = {_num(pc.variance)} here" if pc.variance is not None else "")
                     + (f": {_times(ratio)} this draw's variance" if ratio is not None else ""))
        if verdicts:
            lines.append(f"  published: {verdicts}")
        same = _same_distribution(pc, a.case)
        (matched if same else unmatched).append((promise, ratio))
        if not same:
            lines += [f"  {line}" for line in _drawn_elsewhere(a, form)]
        out.append(lines)
    summary = []
    if matched:
        summary.append("the draw matches "
                       + ", ".join(f"{_who(p.by)} ({p.id})" for p, _ in matched))
    if unmatched:
        named = [f"{_who(p.by)} ({p.id}: "
                 + (f"{_times(r)} the variance)" if r is not None else "another distribution)")
                 for p, r in unmatched]
        if len(named) == 1:
            summary.append(f"it does not match {named[0]}")
        elif len(named) == 2:
            summary.append(f"it matches neither {named[0]} nor {named[1]}")
        else:
            summary.append(f"it matches none of {', '.join(named)}")
    return [*out, ["In short: " + "; ".join(summary) + "."]] if summary else out


def _promise_neutral(a: Asked, j: int) -> Neutral | None:
    try:
        pcs = [c.promises[j] for c in a.cases]
        stated = pcs[0].promise.variance.text if pcs[0].promise.variance else None
        return from_params(pcs[0].family, [p.params for p in pcs],
                           [c.neutral_fans for c in a.cases], None,
                           [_numeric(c.kwargs) for c in a.cases], stated)
    except (ValueError, IndexError, ZeroDivisionError, AttributeError):
        return None


def _numeric(kwargs: Mapping[str, Any]) -> dict[str, float]:
    return {k: v for k, v in kwargs.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and v > 0}


def _same_distribution(pc: Any, case: Case) -> bool:
    if pc.family != case.family or set(pc.params) != set(case.params):
        return False
    return all(math.isclose(pc.params[k], case.params[k], rel_tol=1e-9, abs_tol=1e-300)
               for k in case.params)


def _promise_verdicts(a: Asked, promise_id: str) -> str:
    cells = pub.verdicts(a.data, a.entry.framework, a.entry.name).get(a.case.label, [])
    found: dict[str, list[str]] = {}
    for cell in cells:
        verdict = cell["promises"].get(promise_id)
        if verdict:
            found.setdefault(verdict, []).append(cell["dtype"])
    return "; ".join(f"{v} in {', '.join(sorted(set(d), key=DTYPE_ORDER.get))}"
                     for v, d in found.items())


def _ratio(x: float | None, y: float | None) -> float | None:
    if x is None or y is None or y == 0:
        return None
    return x / y


def _times(ratio: float) -> str:
    if math.isclose(ratio, 1, rel_tol=1e-9):
        return "the same as"
    whole = round(ratio)
    return f"{whole}×" if whole and math.isclose(ratio, whole, rel_tol=1e-9) else f"{ratio:.3g}×"


def _drawn_elsewhere(a: Asked, form: Neutral | None) -> list[str]:
    """The entries of every spec (this one's other entries too) whose neutral form is a promise's
    (same family, fan and scale), compared with this draw: who draws what the promise states."""
    if form is None or form.scale is None or form.mode is None:
        return []
    lines: dict[str, str] = {}
    for framework, spec in all_specs().items():
        for entry, cases in variants(spec):
            other = cases[0].neutral
            key = f"{framework} {entry.name}"
            if (entry is a.entry or other is None or key in lines or other.mode != form.mode
                    or other.family != form.family or other.scale is None
                    or not math.isclose(other.scale, form.scale, rel_tol=1e-6)):
                continue
            ratio = _neutral_ratio(other, a)
            lines[key] = key + (f": {_times(ratio)} this draw's variance" if ratio else "")
    if not lines:
        return []
    return [f"{form.form} is drawn by:", *(f"  {text}" for text in lines.values())]


def _neutral_ratio(other: Neutral | None, a: Asked) -> float | None:
    """Variance of ``other`` (a neutral form) at these shapes' neutral fans over this draw's."""
    mine = a.cases[0].neutral
    if other is None or other.scale is None or other.mode is None or a.case.variance is None:
        return None
    if mine is not None and mine.mode == other.mode and mine.scale:
        return other.scale / mine.scale
    fans = a.case.neutral_fans or {}
    if other.mode == "fan_avg":
        fan = (fans["fan_in"] + fans["fan_out"]) / 2 if {"fan_in", "fan_out"} <= set(fans) else 0
    else:  # fan_in, fan_out; a symbol mode (hidden_size) only where this case has that symbol
        fan = fans.get(other.mode) or _numeric(a.case.kwargs).get(other.mode, 0)
    return _ratio(other.scale / fan, a.case.variance) if fan else None


def _conditions(a: Asked) -> list[str]:
    """What a reader must know before trusting the entry's cells (``conditions``)."""
    lines = []
    for c in getattr(a.entry, "conditions", ()) or ():
        scope = [f"{name} {', '.join(sorted(values))}" for name, values in
                 (("dtypes", c.dtypes), ("columns", c.columns)) if values]
        lines.append(f"{c.kind}" + (f" ({'; '.join(scope)})" if scope else "")
                     + f": {' '.join(c.text.split())}")
    return _section("Conditions", lines)


def _history(a: Asked) -> list[str]:
    text = getattr(a.entry, "history", None)
    return _section("History", [" ".join(text.split())]) if text else []


def _elsewhere(a: Asked) -> list[str]:
    """Entries of the same concept in the other frameworks, compared with this draw."""
    if not a.entry.concept:
        return []
    lines, seen = [], set()
    for framework, spec in all_specs().items():
        for entry, cases in variants(spec):
            key = (framework, entry.name)
            if entry.concept != a.entry.concept or entry is a.entry or key in seen:
                continue
            seen.add(key)
            neutral = cases[0].neutral
            if neutral is None:
                continue
            ratio = _neutral_ratio(neutral, a)
            mine = a.cases[0].neutral
            scope = "" if mine and mine.mode == neutral.mode else " at these shapes"
            lines.append(f"{framework} {entry.name}: {neutral.form}"
                         + (f": {_times(ratio)} this draw's variance{scope}" if ratio else ""))
    return _section(f"The same concept ({a.entry.concept}) elsewhere", lines)


def _published(a: Asked) -> list[str]:
    cells = pub.verdicts(a.data, a.entry.framework, a.entry.name)
    if not cells:
        return _section("Published verdicts", ["none published for this entry"])
    mine = cells.get(a.case.label)
    lines = []
    if mine is None:
        lines.append(f"no published cell at {a.case.label}; over the published cases "
                     f"({', '.join(cells)}):")
        rows = [c for group in cells.values() for c in group]
    else:
        rows = mine
    by_run: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for cell in rows:
        by_run.setdefault((cell["column"], cell["version"], cell["device"]), []).append(cell)
    for (column, version, device), group in by_run.items():
        per_dtype: dict[str, list[dict[str, Any]]] = {}
        for cell in group:
            per_dtype.setdefault(cell["dtype"], []).append(cell)
        lines.append(f"{column} {version}, {device}:")
        lines += [f"  {dtype}: {_verdicts(per_dtype[dtype])}"
                  for dtype in sorted(per_dtype, key=lambda d: DTYPE_ORDER.get(d, 9))]
    return _section("Published verdicts", lines)


def _verdicts(cells: list[dict[str, Any]]) -> str:
    if len(cells) == 1:
        c = cells[0]
        text = f"{SYMBOL.get(c['verdict'], '')} {c['verdict']}".strip()
        if c.get("ratio") is not None:
            text += f" (variance ratio {c['ratio']:.3f})"
        if c.get("deviation"):
            text += f" {c['deviation']}"
        return text
    counts: dict[str, int] = {}
    for c in cells:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    return ", ".join(f"{SYMBOL.get(v, '')} {v} {n}/{len(cells)}" for v, n in counts.items())


def _deviations(a: Asked) -> list[str]:
    lines = []
    for d in a.entry.known_deviations:
        scope = [f"{name} {', '.join(sorted(values))}" for name, values in
                 (("dtypes", d.dtypes), ("devices", d.devices), ("columns", d.columns),
                  ("checks", d.checks)) if values]
        if d.versions is not None:
            scope.append(f"versions {d.versions}")
        lines += [f"{d.id}" + (f" ({'; '.join(scope)})" if scope else "") + f": {d.reason}",
                  f"  ({d.link})"]
    return _section("Known deviations", lines)


def _num(x: float) -> str:
    return f"{x:.4g}"


# --------------------------------------------------------------------------- commands


def _published_data(path: str | None) -> dict[str, Any]:
    try:
        return pub.load_published(Path(path) if path else None)
    except ValueError as exc:
        raise Refusal(str(exc)) from None


def _load(framework: str, spec_path: str | None, data: Mapping[str, Any]) -> tuple[str,
                                                                                 FrameworkSpec]:
    if spec_path:
        try:
            spec = _spec(str(Path(spec_path).resolve()))
        except SpecError as exc:
            raise Refusal(f"spec error: {exc}") from None
        if framework != spec.framework:
            raise Refusal(f"{spec_path} is the spec of {spec.framework!r}, not {framework!r}")
        return spec.framework, spec
    name = resolve_framework(framework, data)
    return name, _spec(str(SPEC_DIR / "frameworks" / f"{name}.yaml"))


def cmd_explain(args: argparse.Namespace) -> int:
    given = parse_values(args.values)  # bad input is refused before any spec is loaded
    data = _published_data(args.published)
    framework, spec = _load(args.framework, args.spec, data)
    found = variants(spec)
    exact = [(e, cs) for e, cs in found if e.name == args.entry]
    if not exact:
        names = sorted({e.name for e, _ in found if args.entry.lower() in e.name.lower()})
        if not names:
            raise Refusal(f"{framework} has no entry matching {args.entry!r} "
                          f"(`initspec list {framework}` lists them)")
        if len(names) > 1:
            print(f"{len(names)} {framework} entries match {args.entry!r}:")
            print("\n".join(f"  {n}" for n in names))
            return 0
        print(f"(the only {framework} entry matching {args.entry!r})")
        exact = [(e, cs) for e, cs in found if e.name == names[0]]
    asked = []
    for entry, cases in exact:
        keys = case_keys(_raw_entry(entry)[2])
        if set(given) <= set(keys):
            asked.append((entry, cases))
    if not asked:
        takes = " or ".join(sorted({", ".join(case_keys(_raw_entry(e)[2])) for e, _ in exact}))
        unknown = ", ".join(sorted(given))
        raise Refusal(f"{framework} {exact[0][0].name} takes shape arguments {takes}, "
                      f"not {unknown}")
    blocks = []
    for entry, cases in asked:
        case, defaulted, raw = expand_at(entry, given)
        blocks.append(explain(Asked(framework, entry, cases, case, defaulted, raw, data)))
    print("\n\n".join("\n".join(b) for b in blocks))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    data = _published_data(args.published)
    specs = all_specs()
    if args.framework:
        name = resolve_framework(args.framework, data)
        specs = {name: specs[name]}
    rows = []
    for framework, spec in specs.items():
        seen = set()
        for entry, cases in variants(spec):
            if args.concept and not (entry.concept or "").startswith(args.concept):
                continue
            if entry.name in seen:
                continue
            seen.add(entry.name)
            neutral = cases[0].neutral
            rows.append(f"  {framework} {entry.name}"
                        + (f"  [{entry.concept}]" if entry.concept else "")
                        + (f"  {neutral.form}" if neutral else "  (raises)"
                           if getattr(entry, "expect", None) == "raises" else
                           "  (reproducibility)"))
    if args.concept and not rows:
        raise Refusal(f"no entry has a concept starting with {args.concept!r} "
                      f"(`initspec list` lists the concepts)")
    if args.framework or args.concept:
        print("\n".join(rows))
        return 0
    print("Frameworks (spec): entries")
    for framework, spec in specs.items():
        print(f"  {framework}: {len({e.name for e, _ in variants(spec)})} entries, "
              f"{len(spec.cases)} cases")
    print("Columns (published runs): spec, version, devices, dtypes")
    for column, c in sorted(pub.columns(data).items()):
        print(f"  {column}: {c['spec']} {', '.join(c['versions'])}; {', '.join(c['devices'])}; "
              f"{', '.join(c['dtypes'])}")
    concepts: dict[str, set[str]] = {}
    for framework, spec in specs.items():
        for entry, _ in variants(spec):
            if entry.concept:
                concepts.setdefault(entry.concept, set()).add(framework)
    print("Concepts: frameworks")
    for concept, frameworks in sorted(concepts.items()):
        print(f"  {concept}: {', '.join(sorted(frameworks))}")
    return 0


def _guard(func: Any) -> Any:
    """Refusals and spec errors are one line on stderr and exit 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (Refusal, SpecError) as exc:
            print(f"initspec: error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `initspec list | head`: the reader left, nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    return run


def register(sub: Any) -> None:
    """Add ``explain`` and ``list`` to the ``initspec`` subcommands (cli.py calls this)."""
    p = sub.add_parser("explain", help="what one spec entry draws, why, and its verdicts",
                       description="What a framework's default draws for one parameter or "
                       "initializer, at the shapes given (name=value; the rest from the spec's "
                       "first case): distribution, neutral form, fan rule, call chain, what the "
                       "docs claim, the published verdicts and known deviations. Offline.")
    p.add_argument("framework", help="spec (torch, keras, ...) or column (keras-jax, ...)")
    p.add_argument("entry", help="entry name (nn.Linear.weight); a part of one lists the matches")
    p.add_argument("values", nargs="*", metavar="name=value", help="shape arguments")
    p.add_argument("--spec", help="a framework spec file instead of the installed one")
    p.add_argument("--published", help="a published-verdicts file instead of the installed one")
    p.set_defaults(func=_guard(cmd_explain))
    q = sub.add_parser("list", help="list entries, concepts and columns")
    q.add_argument("framework", nargs="?", help="only this spec's (or column's) entries")
    q.add_argument("--concept", help="only entries whose concept starts with this (dense, init.)")
    q.add_argument("--published", help="a published-verdicts file instead of the installed one")
    q.set_defaults(func=_guard(cmd_list))

