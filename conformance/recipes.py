"""Porting recipes: B's public-API call that reproduces A's default, generated and then verified.

Nothing here is written per pair of frameworks. Each framework's spec file states once
(a top-level ``writes:`` block) how that framework writes each neutral form (``conformance/
notation.py``) with its initializer calls, and each concept entry states its neutral dimensions
(``dims``, e.g. dense: ``{in: in_features, out: units}``) and the layer argument that takes the
parameter's initializer (``init_arg``). From A's case (its family, parameters and neutral fans)
and B's entry of the same concept this module builds a *recipe case*: B's entry on A's shapes,
claiming A's distribution, with the structured initializer call B's adapter must run. The engine
checks it like any cell; what users read (``Recipe.call``) is rendered from the same structured
data the adapter received.

A form's ``when`` states the parameter values the call can express (jax's ``normal(stddev)`` has
no mean: ``when: {mean: 0}``); when no form of the needed kind holds, the first one is still run
as the *nearest call*, and the recipe carries the ``gap`` that says why. Its cell is expected to
fail (a known deviation whose reason is the gap), and the run shows by how much.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from initspec import loader
from initspec.distributions import continuous
from initspec.formula import Formula, FormulaError
from initspec.loader import Case, KnownDeviation, Scheme, SpecError
from initspec.notation import MODES, number

#: Parameter families the generator restates (others: orthogonal blocks, sparse, ... are not
#: ported: their axis conventions differ per framework and no writes table states them yet).
BASE_SCHEMES = {"uniform": "uniform", "normal": "normal", "truncnorm": "truncated_normal",
                "constant": "constant"}
#: The value a neutral dimension has when an entry does not name it (a conv without groups).
DIM_DEFAULTS = {"groups": 1}
#: Name prefix of generated entries (so ``--match recipe`` selects them).
PREFIX = "recipe"
#: A recipe is checked on those of A's cases whose B layer holds at most this many values (the
#: smallest one when none does). A bias case at hidden 4096 builds Keras ``SimpleRNN(4096)``: a
#: 4096-wide orthogonal recurrent kernel, one QR per instance, over 15 min for one bias cell, while
#: A's other case of the same entry checks the same call on a layer 1000x cheaper.
LAYER_VALUES_LIMIT = 4_000_000
RECIPE_DTYPE = "float32"
#: The ``init_args`` key of a "call"-style recipe: the adapter builds this initializer in the
#: namespace its target names and calls it on the request's shape (jax.nn.initializers).
CALL_SLOT = "initializer"


@dataclass(frozen=True)
class Recipe:
    """What a recipe cell runs and shows (the ``recipe`` field of its results record)."""

    concept: str
    source_spec: str  # A's spec (framework) name, e.g. "torch"
    source_entry: str
    source_case: str
    source: Case  # A's case: the claimed distribution, and what a two-sample test draws
    style: str  # "argument": a layer argument takes it; "assign": overwrite after construction;
    # "call": the initializer itself, called on the parameter's shape (a namespace without layers)
    slot: str  # the layer argument, the parameter path, or CALL_SLOT
    init: Mapping[str, Any]  # {"call": name, "args": [...], "kwargs": {...}}
    call: str  # paste-ready, rendered from ``init``
    needs: str | None
    gap: str | None
    #: other sources with the same default on the same shapes: the one cell answers for them too
    also_from: list[dict[str, str]] = field(default_factory=list)

    @property
    def expressible(self) -> bool:
        return self.gap is None

    @property
    def init_args(self) -> dict[str, Mapping[str, Any]]:
        # no slot: B's layer takes no initializer, and its default is the nearest call
        return {self.slot: self.init} if self.slot and self.style in ("argument", "call") else {}

    @property
    def assign(self) -> dict[str, Mapping[str, Any]]:
        return {self.slot: self.init} if self.style == "assign" else {}

    def record(self, two_sample: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"concept": self.concept,
                "from": {"column": self.source_spec, "entry": self.source_entry,
                         "case": self.source_case},
                "also_from": list(self.also_from),
                "call": self.call, "needs": self.needs, "expressible": self.expressible,
                "gap": self.gap, "two_sample": dict(two_sample) if two_sample else None}


@dataclass
class Coverage:
    """Which (A entry, B entry) pairs of a concept got a recipe, and why the others did not."""

    made: list[tuple[str, str, str]] = field(default_factory=list)  # (concept, A spec, B spec)
    missing: list[tuple[str, str, str, str]] = field(default_factory=list)  # ... + why


# --------------------------------------------------------------------------- generation


def spec_paths() -> list[Path]:
    """Every framework spec shipped with initspec: the sources A of every column's recipes."""
    return sorted((loader.SPEC_DIR / "frameworks").glob("*.yaml"))


def generate(target_path: Path | str, source_paths: Iterable[Path | str],
             schemes: Mapping[str, Scheme] | None = None,
             coverage: Coverage | None = None) -> list[tuple[Case, Recipe]]:
    """Every recipe case of framework B (``target_path``) from every source spec A.

    One case per distinct (B entry, call, shape): two sources with the same default on the same
    shapes give one cell."""
    schemes = schemes if schemes is not None else loader.load_schemes()
    doc = loader._Located(Path(target_path))
    loader._validate(doc, "framework.schema.json")
    b_raw = doc.data
    writes = b_raw.get("writes")
    b_entries = target_entries(b_raw)
    out: list[tuple[Case, Recipe]] = []
    seen: dict[str, Recipe] = {}
    coverage = coverage if coverage is not None else Coverage()
    for source in source_paths:
        a_spec = loader.load_framework(source, schemes)
        if a_spec.framework == b_raw["framework"]:
            continue
        a_raw = {e["name"]: e for e in loader._Located(Path(source)).data["entries"]}
        by_entry: dict[str, list[Case]] = {}
        for case in a_spec.cases:
            by_entry.setdefault(case.entry.name, []).append(case)
        for name, cases in by_entry.items():
            entry = cases[0].entry
            if entry.concept is None or entry.repeat is not None:
                continue
            pair = (entry.concept, a_spec.framework, b_raw["framework"])
            why = _unported(entry.concept, cases[0], writes, b_entries, a_raw[name])
            if why:
                coverage.missing.append((*pair, why))
                continue
            keys, b_entry = b_entries[entry.concept]
            made = 0
            candidates = [built for case in cases
                          if (built := _recipe_case(doc, keys, b_entry, a_raw[name], case, writes,
                                                    schemes, a_spec.framework)) is not None]
            for built in affordable(b_raw, b_entry, candidates):
                case = built[1].source
                key = json.dumps([b_entry["name"], built[1].init, built[0].label])
                made += 1
                if key not in seen:
                    seen[key] = built[1]
                    out.append(built)
                elif seen[key].source_spec != a_spec.framework and a_spec.framework not in {
                        f["column"] for f in seen[key].also_from}:
                    seen[key].also_from.append({"column": a_spec.framework,
                                                "entry": case.entry.name, "case": case.label})
            if made:
                coverage.made.append(pair)
            else:
                coverage.missing.append((*pair, "no case of A maps onto B's dimensions"))
    return out


def layer_values(b_raw: Mapping[str, Any], b_entry: Mapping[str, Any], case: Case) -> int:
    """How many values B's layer holds at the case's shapes: the sum over B's entries of the same
    target (what building one instance draws); the parameter's own size when B states no other."""
    env = loader._symbols(case.kwargs)
    total = 0
    for e in b_raw["entries"]:
        if e.get("target") is None or e.get("target") != b_entry.get("target") or "select" in e:
            continue
        try:
            total += math.prod(int(Formula.parse(d)({**loader._symbols(e.get("kwargs") or {}),
                                                     **env})) for d in e["shape"])
        except (FormulaError, KeyError):  # an entry of other options (its own symbols)
            continue
    return max(total, math.prod(case.shape))


def affordable(b_raw: Mapping[str, Any], b_entry: Mapping[str, Any],
               built: list[tuple[Case, Recipe]]) -> list[tuple[Case, Recipe]]:
    """The recipe cases whose B layer is within ``LAYER_VALUES_LIMIT`` (else the smallest)."""
    if not built:
        return []
    sizes = [layer_values(b_raw, b_entry, case) for case, _ in built]
    kept = [b for b, size in zip(built, sizes, strict=True) if size <= LAYER_VALUES_LIMIT]
    return kept or [built[sizes.index(min(sizes))]]


def target_entries(b_raw: Mapping[str, Any]) -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """B's entry per concept (concept -> (its path in B's spec, the raw entry)).

    A framework without layers (jax.nn.initializers) has no entry of a layer's concept: its
    ``writes.targets`` state, per concept, the array a user's own layer would hold (shape, dims,
    cases), used only as recipe targets. An entry of the concept takes precedence."""
    found: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    for i, target in enumerate((b_raw.get("writes") or {}).get("targets", [])):
        found[target["concept"]] = (["writes", "targets", i], target)
    for i, e in enumerate(b_raw["entries"]):
        if e.get("concept") and "repeat" not in e:
            found[e["concept"]] = (["entries", i], e)
    return found


def _unported(concept: str, case: Case, writes: Any, b_entries: Mapping[str, Any],
              a_raw: Mapping[str, Any]) -> str | None:
    if not writes:
        return "B's spec has no `writes` table"
    if concept not in b_entries:
        return "B has no entry of this concept"
    b_entry = b_entries[concept][1]
    if "dims" not in a_raw or "dims" not in b_entry:
        return "an entry of the pair states no `dims`"
    if writes["style"] == "argument" and "init_arg" not in b_entry \
            and "no_init_arg" not in b_entry:
        return "B's entry states no `init_arg`"
    if "select" in a_raw:  # a slice (Keras's forget gate) is not the parameter's default
        return "A's entry states a slice of its parameter, not the whole default"
    if "select" in b_entry and "recipe_kwargs" not in b_entry:  # it would check one block of
        # B's parameter, and a layer built per handful of values (Keras's LSTM forget block:
        # 40 000 LSTM layers for one cell). With its recipe_kwargs (unit_forget_bias=False) the
        # initializer writes the whole parameter, and the recipe checks all of it.
        return "B's entry checks only a slice of its parameter, not the whole default"
    if case.family not in BASE_SCHEMES:
        return f"family {case.family} is not ported"
    return None


def _read_dim(kwargs: Mapping[str, Any], key: str) -> Any:
    name, _, index = key.partition("[")
    value = kwargs.get(name)
    if index and isinstance(value, list):
        return value[int(index.rstrip("]"))]
    return value


def _keys(spec: str | Sequence[str]) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def mapped_values(a_dims: Mapping[str, Any], a_kwargs: Mapping[str, Any],
                  b_dims: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any] | None:
    """B's case values for A's shapes: B's first case with every neutral dimension set to A's.

    None when A uses a dimension B cannot state (grouped convolution into a layer without
    groups)."""
    values = copy.deepcopy(dict(template))
    for dim, keys in a_dims.items():
        value = _read_dim(a_kwargs, _keys(keys)[0])
        if value is None:
            continue
        if dim not in b_dims:  # B's entry does not depend on it (a bias on the kernel size)
            if dim in DIM_DEFAULTS and value != DIM_DEFAULTS[dim]:
                return None  # ... unless it changes B's shape: a grouped conv into one without
            continue
        for key in _keys(b_dims[dim]):
            name, _, index = key.partition("[")
            if index:
                values[name] = list(values.get(name) or [])
                values[name][int(index.rstrip("]"))] = value
            else:
                values[name] = value
    for dim, keys in b_dims.items():  # B states a dimension A leaves at its default
        if dim not in a_dims and dim in DIM_DEFAULTS:
            for key in _keys(keys):
                values[key.partition("[")[0]] = DIM_DEFAULTS[dim]
    return values


def _recipe_case(doc: Any, keys: list[Any], b_entry: Mapping[str, Any], a_entry: Mapping[str, Any],
                 a_case: Case, writes: Mapping[str, Any], schemes: Mapping[str, Scheme],
                 a_framework: str) -> tuple[Case, Recipe] | None:
    values = mapped_values(a_entry["dims"], a_case.kwargs, b_entry["dims"], b_entry["cases"][0])
    if values is None:
        return None
    extra = dict(b_entry.get("recipe_kwargs", {}))  # layer arguments the recipe needs too
    values.update(extra)
    # B's own claims about its default (variance, bounds, deviations, promises, "raises") are
    # not the recipe's: it claims A's distribution
    raw = {k: v for k, v in b_entry.items()
           if k not in ("variance", "bounds", "known_deviations", "cases", "scheme", "with",
                        "expect", "raises", "history")}
    raw["docs"] = {"claim": b_entry["docs"]["claim"], "url": b_entry["docs"]["url"]}
    b_name = b_entry["name"]
    if raw.pop("select", None) is not None:  # the recipe's kwargs give the initializer all of it
        raw["conditions"] = [c for c in raw.get("conditions", []) if c["kind"] != "part"]
        b_name = b_name.split("[")[0]  # the whole parameter, not "cell.bias[forget gate]"
    raw.update(name=f"{PREFIX}[{a_framework}:{a_case.entry.name}]/{b_name}",
               cases=[values], dtypes=[RECIPE_DTYPE], scheme=BASE_SCHEMES[a_case.family],
               **{"with": {k: float(v) for k, v in a_case.params.items()}})
    raw.pop("repeat", None)
    try:
        (case,) = loader._expand(doc, keys, raw, doc.data["framework"], schemes)
    except SpecError as exc:
        raise SpecError(f"recipe from {a_framework} {a_case.name}: {exc}") from None
    style = writes["style"]
    slot = {"argument": b_entry.get("init_arg"), "assign": b_entry.get("param"),
            "call": CALL_SLOT}[style]
    if style == "argument" and slot is None:  # B's layer takes no initializer (hk.LSTM)
        return _default_as_nearest(doc, keys, b_entry, values, writes, case, a_case, a_framework,
                                   schemes)
    init, needs, gap, form = choose(writes, a_case, case.shape)
    if extra:
        args = ", ".join(f"{k}={v!r}" for k, v in extra.items())
        needs = "; ".join(filter(None, [f"also pass {args}", needs]))
    recipe = Recipe(a_case.entry.concept, a_framework, a_case.entry.name, a_case.label, a_case,
                    style, slot, init, render(writes, b_entry, slot, init, extra), needs, gap)
    deviations = [_deviation(d) for d in form.get("known_deviations", [])]
    if gap:  # the nearest call is expected to fail its checks: that is the evidence of the gap
        deviations.insert(0, KnownDeviation(f"recipe-gap-{a_framework}-"
                                            f"{a_case.entry.concept.replace('.', '-')}", gap,
                                            a_case.entry.docs_url))
    entry = dataclasses.replace(case.entry, known_deviations=tuple(deviations))
    # the cell claims A's default: state it in A's neutral form (all of A's cases), not in the
    # absolute numbers one case would give
    return dataclasses.replace(case, entry=entry, neutral=a_case.neutral), recipe


def _default_as_nearest(doc: Any, keys: list[Any], b_entry: Mapping[str, Any],
                        values: Mapping[str, Any], writes: Mapping[str, Any], case: Case,
                        a_case: Case, a_framework: str, schemes: Mapping[str, Scheme]
                        ) -> tuple[Case, Recipe]:
    """B's layer takes no initializer argument (``no_init_arg`` says why): its default, on A's
    shapes, is the nearest call. It is the recipe when it already draws A's distribution (same
    family and parameters); otherwise the recipe states the gap and its cell, claiming A's
    distribution, is expected to fail: the evidence shows by how much the default differs."""
    own = {k: v for k, v in b_entry.items() if k not in ("cases", "known_deviations", "history")}
    (b_case,) = loader._expand(doc, keys, {**own, "cases": [dict(values)]}, doc.data["framework"],
                               schemes)
    same = b_case.family == a_case.family and set(b_case.params) == set(a_case.params) and all(
        math.isclose(float(b_case.params[k]), float(v), rel_tol=1e-9, abs_tol=1e-12)
        for k, v in a_case.params.items())
    layer = f"{writes.get('layer_prefix', '')}{b_entry['target']}(...)"
    nearest = b_case.neutral.form if b_case.neutral is not None else b_case.family
    gap = None if same else (
        f"{b_entry['no_init_arg']}; nearest: its default, {nearest}, where "
        f"{a_case.entry.framework} {a_case.entry.name} draws "
        f"{a_case.neutral.form if a_case.neutral is not None else a_case.family}")
    needs = f"no initializer argument ({b_entry['no_init_arg']}): its default already draws " \
        "this" if same else None
    recipe = Recipe(a_case.entry.concept, a_framework, a_case.entry.name, a_case.label, a_case,
                    "argument", "", {}, layer, needs, gap)
    deviations = () if same else (KnownDeviation(
        f"recipe-gap-{a_framework}-{a_case.entry.concept.replace('.', '-')}", gap,
        a_case.entry.docs_url),)
    entry = dataclasses.replace(case.entry, known_deviations=deviations)
    return dataclasses.replace(case, entry=entry, neutral=a_case.neutral), recipe


def _deviation(raw: Mapping[str, Any]) -> KnownDeviation:
    """A known deviation a writes form carries (B's framework does not draw what the call says)."""
    return KnownDeviation(raw["id"], raw["reason"], raw["link"],
                          frozenset(raw["dtypes"]) if "dtypes" in raw else None,
                          frozenset(raw["devices"]) if "devices" in raw else None,
                          SpecifierSet(raw["versions"]) if "versions" in raw else None,
                          frozenset(raw["checks"]) if "checks" in raw else None,
                          frozenset(raw["columns"]) if "columns" in raw else None)


# --------------------------------------------------------------------------- forms


def form_params(case: Case, shape: Sequence[int]) -> dict[str, Any]:
    """The numbers a writes template may use (``$name``), from A's case."""
    p, family = dict(case.params), case.family
    out: dict[str, Any] = {"rest_axes": list(range(1, len(shape)))}
    if family == "uniform":
        out.update(low=p["low"], high=p["high"], bound=p["high"],
                   symmetric=int(math.isclose(-p["low"], p["high"], rel_tol=1e-12)),
                   bound_variance=p["high"] ** 2 / 3)
    elif family == "normal":
        out.update(mean=p["mean"], std=p["std"])
    elif family == "truncnorm":
        out.update(mean=p["mean"], std=p["std"], a=p["a"], b=p["b"],
                   lower=p["mean"] + p["a"] * p["std"], upper=p["mean"] + p["b"] * p["std"])
    elif family == "constant":
        out.update(value=p["value"])
    return out


_VS_FAMILY = {"uniform": "uniform", "normal": "normal", "truncnorm": "truncated_normal"}
_ABSOLUTE = {"uniform": "uniform", "normal": "normal", "truncnorm": "truncated_normal",
             "constant": "constant"}


def framework_fans(rule: str, shape: Sequence[int]) -> dict[str, float] | None:
    """The fans B's own variance-scaling initializer computes for ``shape``: ``last_two`` reads
    (*receptive, in, out) (jax, Keras, Haiku), ``first_two`` (out, in, *receptive) (torch)."""
    if len(shape) < 2:
        return None
    if rule == "last_two":
        receptive = math.prod(shape[:-2])
        return {"fan_in": shape[-2] * receptive, "fan_out": shape[-1] * receptive}
    if rule == "first_two":
        receptive = math.prod(shape[2:])
        return {"fan_in": shape[1] * receptive, "fan_out": shape[0] * receptive}
    raise ValueError(f"unknown fan rule {rule!r}")


def _fan(fans: Mapping[str, float], mode: str) -> float:
    return (fans["fan_in"] + fans["fan_out"]) / 2 if mode == "fan_avg" else fans[mode]


def choose(writes: Mapping[str, Any], case: Case, shape: Sequence[int]
           ) -> tuple[dict[str, Any], str | None, str | None, Mapping[str, Any]]:
    """(structured call, needs, gap, the writes form used): A's ``case`` in B's vocabulary, on
    B's ``shape``.

    Fan-relative (a variance-scaling call) when A's neutral form is one and B's initializer,
    applied to B's parameter, sees the same fan as A's neutral one; otherwise the absolute
    numbers of A's case (which the recipe then states only for that shape)."""
    forms = writes["forms"]
    params = form_params(case, shape)
    neutral, fans = case.neutral, case.neutral_fans
    b_fans = framework_fans(writes.get("fans", "last_two"), shape)
    needs = [writes["needs"]] if writes.get("needs") else []
    if (neutral is not None and neutral.mode in MODES and fans and b_fans
            and "fan_in" in fans and "fan_out" in fans
            and math.isclose(_fan(fans, neutral.mode), _fan(b_fans, neutral.mode))
            and f"variance_scaling_{_VS_FAMILY.get(case.family)}" in forms):
        variance = float(continuous(case.family, case.params).var())
        vs = {**params, "scale": variance * _fan(fans, neutral.mode), "mode": neutral.mode}
        form = _first_holding(forms[f"variance_scaling_{_VS_FAMILY[case.family]}"], vs)
        if form is not None:
            return _instantiate(form, vs), _join(needs, form), None, form
    kind = _ABSOLUTE[case.family]
    if kind not in forms:
        raise SpecError(f"the writes table has no form {kind!r}")
    candidates = _as_list(forms[kind])
    form = _first_holding(candidates, params)
    gap = None
    if form is None:
        form = candidates[0]
        unmet = ", ".join(f"{k} = {number(v) if isinstance(v, float) else v}"
                          for k, v in form.get("when", {}).items()
                          if not _holds(params.get(k), v))
        got = ", ".join(f"{k} = {number(params[k])}" for k in form.get("when", {})
                        if k in params and not _holds(params[k], form["when"][k]))
        gap = (form.get("why") or f"{form['call']} only writes {unmet}") + \
            f"; {case.entry.framework} {case.entry.name} draws {got}"
    elif _shape_specific(case):
        needs.append(f"the numbers are {case.entry.framework}'s for {case.label} "
                     "(the initializer does not see the layer's sizes): recompute them for "
                     "other sizes")
    return _instantiate(form, params), _join(needs, form), gap, form


def _shape_specific(case: Case) -> bool:
    neutral = case.neutral
    return neutral is not None and neutral.mode is not None


def _join(needs: list[str], form: Mapping[str, Any]) -> str | None:
    parts = [*needs, *([form["note"]] if form.get("note") else [])]
    return "; ".join(parts) or None


def _as_list(forms: Any) -> list[Mapping[str, Any]]:
    return list(forms) if isinstance(forms, list) else [forms]


def _holds(value: Any, want: Any) -> bool:
    return value is not None and math.isclose(float(value), float(want), abs_tol=1e-12)


def _first_holding(forms: Any, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for form in _as_list(forms):
        if all(_holds(params.get(k), v) for k, v in form.get("when", {}).items()):
            return form
    return None


def _value(template: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(template, str) and template.startswith("$"):
        name = template[1:]
        if name not in params:
            raise SpecError(f"writes template names ${name}, not a parameter of this form "
                            f"(known: {', '.join(sorted(params))})")
        return params[name]
    return template


def readable(x: Any) -> Any:
    """A computed float as people write it, without changing what it draws: the simple fraction
    it is within rounding (1/3, not 0.33333333333333326), else 12 significant digits."""
    if not isinstance(x, float) or x == 0 or not math.isfinite(x):
        return x
    f = Fraction(x).limit_denominator(10_000)
    if f.denominator <= 10_000 and abs(f.numerator) <= 10_000 and \
            math.isclose(float(f), x, rel_tol=1e-12):
        return float(f)
    return float(f"{x:.12g}")


def _instantiate(form: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    return {"call": form["call"],
            "args": [readable(_value(a, params)) for a in form.get("args", [])],
            "kwargs": {k: readable(_value(v, params)) for k, v in form.get("kwargs", {}).items()}}


# --------------------------------------------------------------------------- rendering


def literal(value: Any) -> str:
    """A Python literal for ``value`` that evaluates to exactly what the adapter received."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        items = [literal(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, float) and math.isfinite(value):
        f = Fraction(value).limit_denominator(10_000)
        if f.numerator / f.denominator == value and abs(f.numerator) <= 10_000:
            return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return repr(value)


def call_text(namespace: str, init: Mapping[str, Any], *first: str) -> str:
    args = [*first, *(literal(a) for a in init["args"]),
            *(f"{k}={literal(v)}" for k, v in init["kwargs"].items())]
    return f"{namespace}.{init['call']}({', '.join(args)})"


def render(writes: Mapping[str, Any], b_entry: Mapping[str, Any], slot: str,
           init: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """The paste-ready code: the layer call with the initializer argument, or the construction
    followed by the framework's way of overwriting the parameter (``writes.assign``)."""
    layer = f"{writes.get('layer_prefix', '')}{b_entry['target']}"
    args = "".join(f"{k}={literal(v)}, " for k, v in (extra or {}).items())
    if writes["style"] == "call":  # the initializer on the array a user's own layer holds
        shape = [str(s) for s in b_entry["shape"]]
        text = f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(shape)})"
        return writes["apply"].format(call=call_text(writes["namespace"], init), shape=text)
    if writes["style"] == "argument":
        return f"{layer}(..., {args}{slot}={call_text(writes['namespace'], init)})"
    first = [text.format(param=slot) for text in writes.get("assign_first", [])]
    value = call_text(writes["namespace"], init, *first)
    return f"m = {layer}(...)\n" + writes["assign"].format(param=slot, call=value)
