"""Load and cross-check the YAML spec: canonical schemes and per-framework entries.

Loading validates each file against its JSON Schema, parses every formula with the safe
evaluator, evaluates every entry for every shape case, and cross-checks the stated variance and
bounds against scipy.stats' own variance and support of the distribution. Any problem is a
:class:`SpecError` naming the file, the line and the field.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from initspec.distributions import FAMILY_PARAMS, continuous
from initspec.formula import Formula, FormulaError
from initspec.notation import Neutral, neutral_of

SPEC_DIR = Path(__file__).parent / "spec"  # not resolve(): a symlinked dev tree keeps working
_YAMLLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
FAMILY_KEY = "family"


class SpecError(ValueError):
    """A spec file that is malformed or inconsistent; the message is one line."""


@dataclass(frozen=True)
class Scheme:
    name: str
    summary: str
    params: tuple[str, ...]
    family: str  # resolved through aliases
    distribution: Mapping[str, Formula] | None  # only on a base scheme
    base: str | None
    bindings: Mapping[str, Formula]  # values of the base scheme's params (alias only)
    variance: Formula | None
    bounds: tuple[Formula, Formula] | None


@dataclass(frozen=True)
class KnownDeviation:
    """A recorded finding: the framework does not do what the spec (its docs) says, and why.

    It is one finding however many entries share it: each cell whose failing checks it explains
    shows it; if it reproduces in no cell of a column, the run reports it as no longer reproducing.
    """

    id: str
    reason: str
    link: str
    dtypes: frozenset[str] | None = None
    devices: frozenset[str] | None = None
    versions: SpecifierSet | None = None
    checks: frozenset[str] | None = None  # the failing checks it explains; None: any
    columns: frozenset[str] | None = None  # e.g. {"keras-torch"}: one backend only

    def explains(self, failing: set[str]) -> bool:
        return self.checks is None or failing <= self.checks

    def applies(self, device: str, dtype: str, version: str, column: str | None = None) -> bool:
        return (
            (self.dtypes is None or dtype in self.dtypes)
            and (self.devices is None or device in self.devices)
            and (self.versions is None or self.versions.contains(version, prereleases=True))
            and (self.columns is None or column is None or column in self.columns)
        )


@dataclass(frozen=True)
class Repeat:
    """A reproducibility entry: are repeated draws identical or distinct?

    reuse: every instance comes from one constructed object (an initializer called again);
    otherwise each instance from a fresh object, as for every other entry.
    """

    reuse: bool
    expect: str  # "identical" | "distinct"


@dataclass(frozen=True)
class Condition:
    """What a reader must know before trusting a cell (a value set from data, changed at run time,
    an option off by default, no default at all, two parameters the network only sees added)."""

    kind: str  # one of CONDITION_KINDS
    text: str
    dtypes: frozenset[str] | None = None  # only cells of these dtypes carry it
    columns: frozenset[str] | None = None  # only these columns (one Keras backend)

    def applies(self, dtype: str, column: str) -> bool:
        return ((self.dtypes is None or dtype in self.dtypes)
                and (self.columns is None or column in self.columns))


CONDITION_KINDS = ("data-dependent", "no-default", "off-by-default", "runtime-change", "sum",
                   "part")


@dataclass(frozen=True)
class Raises:
    """``expect: raises``: the target raises; optionally of a type (matched against the exception's
    class and its bases by name) and with a message fragment."""

    type: str | None = None
    match: str | None = None


# An entry that states ``expect: raises`` draws nothing: it has no scheme of its own.
RAISES_SCHEME = Scheme("raises", "the target raises instead of drawing values", (), "raises", {},
                       None, {}, None, None)


@dataclass(frozen=True)
class Entry:
    """One spec entry: a parameter or initializer, before expansion into shape cases."""

    framework: str
    name: str
    target: str
    param: str | None
    scheme: Scheme
    variance_text: str | None
    docs_claim: str
    docs_url: str
    source: str
    versions: SpecifierSet | None
    dtypes: frozenset[str] | None
    known_deviations: tuple[KnownDeviation, ...]
    file: str
    line: int
    columns: frozenset[str] | None = None  # only these columns (adapters) run it
    repeat: Repeat | None = None
    concept: str | None = None  # cross-framework row of the overview table
    fan_note: str | None = None  # how the framework's fan rule differs from the neutral one
    conditions: tuple[Condition, ...] = ()
    expect: str | None = None  # "raises": the target must raise (see Raises)
    raises: Raises | None = None


@dataclass(frozen=True)
class Select:
    """Indices ``start`` .. ``stop - 1`` along ``axis`` (or all the others, ``complement``)."""

    axis: int
    start: int
    stop: int
    complement: bool


@dataclass(frozen=True)
class Case:
    """An entry at one shape case, every formula evaluated."""

    entry: Entry
    label: str  # e.g. "in_features=1024,out_features=512"
    kwargs: Mapping[str, Any]  # passed to the adapter
    shape: tuple[int, ...]
    family: str
    params: Mapping[str, float]  # the family's parameters
    variance: float | None
    bounds: tuple[float, float] | None
    select: Select | None = None
    input_shape: tuple[int, ...] | None = None  # what the layer is built / initialised with
    fans: Mapping[str, float] | None = None  # the framework's own fan rule, evaluated
    neutral_fans: Mapping[str, float] | None = None  # the neutral fans (concepts.yaml)
    neutral: Neutral | None = None  # the entry in the neutral notation (all its cases)
    # kwargs names the entry's formulas use as shape symbols: the adapter may drop those the
    # target does not take; any other name it does not take is an error (a misspelt argument)
    symbols: frozenset[str] = frozenset()
    # "file:line: field" of the target and of every kwarg, for errors found while sampling
    locations: Mapping[str, str] | None = None

    @property
    def name(self) -> str:
        return f"{self.entry.name}[{self.label}]" if self.label else self.entry.name


@dataclass(frozen=True)
class FrameworkSpec:
    framework: str
    dtypes: tuple[str, ...]
    cases: tuple[Case, ...]
    path: str


# --------------------------------------------------------------------------- YAML with lines


class _Located:
    """Maps a JSON path (keys and indices) to the line it came from in a YAML file."""

    def __init__(self, path: Path):
        self.path = path
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\0" in text:
            raise SpecError(f"{path}: not a YAML text file (binary content)")
        loader = _YAMLLoader(text)
        try:  # parse once: keep the node tree for line numbers, build the data from it
            self.node = loader.get_single_node()
            if self.node is not None:
                self._reject_duplicate_keys(self.node, [])
            self.data = loader.construct_document(self.node) if self.node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(f"{path}{where}: YAML syntax error: {problem}") from None

    def _reject_duplicate_keys(self, node: yaml.Node, keys: list[Any]) -> None:
        """YAML keeps the last of two equal keys silently; a spec must not."""
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for k, v in node.value:
                if k.value in first:
                    where = ".".join(str(p) for p in (*keys, k.value))
                    raise SpecError(f"{self.path}:{k.start_mark.line + 1}: {where}: duplicate key "
                                    f"{k.value!r} (first at line {first[k.value]})")
                first[k.value] = k.start_mark.line + 1
                self._reject_duplicate_keys(v, [*keys, k.value])
        elif isinstance(node, yaml.SequenceNode):
            for j, item in enumerate(node.value):
                self._reject_duplicate_keys(item, [*keys, j])

    def where(self, keys: list[Any] | tuple[Any, ...]) -> str:
        """``file:line: field`` of a field, as errors print it."""
        return f"{self.path}:{self.line(keys)}: {'.'.join(str(k) for k in keys) or '<document>'}"

    def line(self, keys: list[Any] | tuple[Any, ...]) -> int:
        node = self.node
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                match = [v for k, v in node.value if k.value == key]
                if not match:
                    break
                node = match[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
            else:
                break
        return node.start_mark.line + 1 if node is not None else 1


    def error(self, keys: list[Any] | tuple[Any, ...], message: str) -> SpecError:
        fieldname = ".".join(str(k) for k in keys) or "<document>"
        return SpecError(f"{self.path}:{self.line(keys)}: {fieldname}: {message}")


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SPEC_DIR / "schema" / schema_name).read_text())
    return jsonschema.Draft202012Validator(schema)


def _validate(doc: _Located, schema_name: str) -> None:
    if not isinstance(doc.data, dict):
        raise doc.error([], "expected a mapping at the top level")
    errors = sorted(_validator(schema_name).iter_errors(doc.data), key=lambda e: list(e.path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise doc.error(list(best.absolute_path), best.message)


def _formula(doc: _Located, keys: list[Any], value: Any) -> Formula:
    try:
        return Formula.parse(value)
    except FormulaError as exc:
        raise doc.error(keys, str(exc)) from None


def _specifier(doc: _Located, keys: list[Any], value: str | None) -> SpecifierSet | None:
    if value is None:
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        raise doc.error(keys, f"not a PEP 440 version specifier: {value!r}") from None


# --------------------------------------------------------------------------- schemes


def load_schemes(path: Path | None = None) -> dict[str, Scheme]:
    doc = _Located(path or SPEC_DIR / "schemes.yaml")
    _validate(doc, "schemes.schema.json")
    raw: dict[str, dict[str, Any]] = doc.data["schemes"]
    schemes: dict[str, Scheme] = {}

    def build(name: str, chain: tuple[str, ...]) -> Scheme:
        if name in schemes:
            return schemes[name]
        keys = ["schemes", name]
        if name in chain:
            raise doc.error(keys, f"scheme alias cycle: {' -> '.join((*chain, name))}")
        spec = raw[name]
        params = tuple(spec["params"])
        distribution = bindings = None
        if "distribution" in spec:
            family = spec["distribution"][FAMILY_KEY]
            expected = set(FAMILY_PARAMS[family])
            given = set(spec["distribution"]) - {FAMILY_KEY}
            if given != expected:
                raise doc.error(
                    [*keys, "distribution"],
                    f"family {family} takes {sorted(expected)}, got {sorted(given)}",
                )
            distribution = {
                k: _formula(doc, [*keys, "distribution", k], v)
                for k, v in spec["distribution"].items()
                if k != FAMILY_KEY
            }
            known = set(params)
            for k, f in distribution.items():
                _require(doc, [*keys, "distribution", k], f, known)
            base = None
        else:
            base = spec["base"]
            if base not in raw:
                raise doc.error([*keys, "base"], f"unknown scheme {base!r}")
            parent = build(base, (*chain, name))
            family = parent.family
            bindings = {k: _formula(doc, [*keys, "with", k], v) for k, v in spec["with"].items()}
            if set(bindings) != set(parent.params):
                raise doc.error(
                    [*keys, "with"],
                    f"must bind exactly the parameters of {base}: {list(parent.params)}",
                )
            for k, f in bindings.items():
                _require(doc, [*keys, "with", k], f, set(params))
        variance = (_formula(doc, [*keys, "variance"], spec["variance"])
                    if "variance" in spec else None)
        bounds = None
        if "bounds" in spec:
            lo, hi = (_formula(doc, [*keys, "bounds", i], v) for i, v in enumerate(spec["bounds"]))
            bounds = (lo, hi)
        stated = [("variance", variance), *(("bounds", b) for b in bounds or ())]
        for k, f in stated:
            if f is not None:
                _require(doc, [*keys, k], f, set(params))
        scheme = Scheme(name, spec["summary"], params, family, distribution, base, bindings or {},
                        variance, bounds)
        schemes[name] = scheme
        return scheme

    for name in raw:
        build(name, ())
    return schemes


def _require(doc: _Located, keys: list[Any], formula: Formula, known: set[str]) -> None:
    try:
        formula.require(known)
    except FormulaError as exc:
        raise doc.error(keys, str(exc)) from None


def resolve(schemes: Mapping[str, Scheme], scheme: Scheme, env: Mapping[str, float]):
    """Evaluate ``scheme`` (whose params are bound in ``env``) down to its base distribution.

    Returns the family parameters and every (where, stated variance, stated bounds) on the way,
    so that the caller can cross-check each statement.
    """
    statements = []
    while True:
        scope = {p: env[p] for p in scheme.params}
        variance = scheme.variance(scope) if scheme.variance else None
        bounds = tuple(b(scope) for b in scheme.bounds) if scheme.bounds else None
        statements.append((f"scheme {scheme.name}", variance, bounds))
        if scheme.distribution is not None:
            return {k: f(scope) for k, f in scheme.distribution.items()}, statements
        env = {k: f(scope) for k, f in scheme.bindings.items()}
        scheme = schemes[scheme.base]


# --------------------------------------------------------------------------- frameworks


def load_framework(path: Path | str, schemes: Mapping[str, Scheme] | None = None) -> FrameworkSpec:
    schemes = schemes if schemes is not None else load_schemes()
    doc = _Located(Path(path))
    _validate(doc, "framework.schema.json")
    data = doc.data
    framework = data["framework"]
    cases: list[Case] = []
    seen: set[str] = set()
    default_versions = data.get("versions")
    for i, raw in enumerate(data["entries"]):
        if default_versions is not None:
            raw = {"versions": default_versions, **raw}
        for case in _expand(doc, ["entries", i], raw, framework, schemes):
            if case.name in seen:
                raise doc.error(["entries", i, "name"], f"duplicate case {case.name}")
            seen.add(case.name)
            cases.append(case)
    return FrameworkSpec(framework, tuple(data["dtypes"]), tuple(cases), str(path))


def _expand(doc: _Located, keys: list[Any], raw: dict[str, Any], framework: str,
            schemes: Mapping[str, Scheme]) -> list[Case]:
    expect = raw.get("expect")
    if expect == "raises":  # the schema forbids scheme/with here: nothing is drawn
        raw = {**raw, "with": {}}
        scheme = RAISES_SCHEME
    elif raw["scheme"] not in schemes:
        raise doc.error([*keys, "scheme"], f"unknown scheme {raw['scheme']!r} "
                        f"(known: {', '.join(sorted(schemes))})")
    else:
        scheme = schemes[raw["scheme"]]
    raises = Raises(raw["raises"].get("type"), raw["raises"].get("match")) \
        if "raises" in raw else (Raises() if expect == "raises" else None)
    conditions = tuple(
        Condition(c["kind"], c["text"], frozenset(c["dtypes"]) if "dtypes" in c else None,
                  frozenset(c["columns"]) if "columns" in c else None)
        for c in raw.get("conditions", []))
    deviations = tuple(
        KnownDeviation(
            d["id"], d["reason"], d["link"],
            frozenset(d["dtypes"]) if "dtypes" in d else None,
            frozenset(d["devices"]) if "devices" in d else None,
            _specifier(doc, [*keys, "known_deviations", j, "versions"], d.get("versions")),
            frozenset(d["checks"]) if "checks" in d else None,
            frozenset(d["columns"]) if "columns" in d else None,
        )
        for j, d in enumerate(raw.get("known_deviations", []))
    )
    entry = Entry(
        framework=framework, name=raw["name"], target=raw["target"], param=raw.get("param"),
        scheme=scheme, variance_text=str(raw["variance"]) if "variance" in raw else None,
        docs_claim=raw["docs"]["claim"], docs_url=raw["docs"]["url"], source=raw["source"],
        versions=_specifier(doc, [*keys, "versions"], raw.get("versions")),
        dtypes=frozenset(raw["dtypes"]) if "dtypes" in raw else None,
        known_deviations=deviations, file=str(doc.path), line=doc.line(keys),
        columns=frozenset(raw["columns"]) if "columns" in raw else None,
        repeat=Repeat(raw["repeat"]["reuse"], raw["repeat"]["expect"]) if "repeat" in raw else None,
        concept=raw.get("concept"),
        fan_note=raw.get("fan_note"),
        conditions=conditions, expect=expect, raises=raises,
    )
    fixed = raw.get("kwargs", {})
    formulas = {
        "shape": [_formula(doc, [*keys, "shape", j], v) for j, v in enumerate(raw["shape"])],
        "input": [_formula(doc, [*keys, "input", j], v)
                  for j, v in enumerate(raw.get("input", []))],
        "fans": {k: _formula(doc, [*keys, "fans", k], v) for k, v in raw.get("fans", {}).items()},
        "let": {k: _formula(doc, [*keys, "let", k], v) for k, v in raw.get("let", {}).items()},
        "neutral_fans": {k: _formula(doc, [*keys, "neutral_fans", k], v)
                         for k, v in raw.get("neutral_fans", {}).items()},
        "with": {k: _formula(doc, [*keys, "with", k], v) for k, v in raw["with"].items()},
    }
    if set(formulas["with"]) != set(scheme.params):
        raise doc.error([*keys, "with"],
                        f"scheme {scheme.name} takes exactly {list(scheme.params)}")
    variance = _formula(doc, [*keys, "variance"], raw["variance"]) if "variance" in raw else None
    bounds = ([_formula(doc, [*keys, "bounds", j], v) for j, v in enumerate(raw["bounds"])]
              if "bounds" in raw else None)
    select = raw.get("select")
    select_formulas = {k: _formula(doc, [*keys, "select", k], select[k])
                        for k in ("index", "start", "stop") if select and k in select}

    used = _used_symbols(formulas, variance, bounds, select_formulas)
    out = []
    for c, values in enumerate(raw["cases"]):
        ckeys = [*keys, "cases", c]
        _reject_text_numbers(doc, keys, ckeys, fixed, values, used)
        env = _symbols({**fixed, **values})
        evaluating = ckeys  # the field being evaluated: an error points at its line
        try:
            for group in ("fans", "let"):
                for k, f in formulas[group].items():
                    evaluating = [*keys, group, k]
                    _require(doc, evaluating, f, set(env))
                    env[k] = f(env)
            fans = {k: env[k] for k in formulas["fans"]} or None
            neutral_fans = fans
            if formulas["neutral_fans"]:
                for k, f in formulas["neutral_fans"].items():
                    _require(doc, [*keys, "neutral_fans", k], f, set(env))
                neutral_fans = {k: f(env) for k, f in formulas["neutral_fans"].items()}
            for k, f in formulas["with"].items():
                _require(doc, [*keys, "with", k], f, set(env))
            scope = {}
            for k, f in formulas["with"].items():
                evaluating = [*keys, "with", k]
                scope[k] = f(env)
            # entry formulas see case values, fans and let first, then the scheme's parameters
            env = {**scope, **env}
            shape = [_size(doc, ckeys, "shape", j, f, env)
                     for j, f in enumerate(formulas["shape"])]
            input_shape = None
            if "input" in raw:
                input_shape = tuple(_size(doc, ckeys, "input", j, f, env)
                                    for j, f in enumerate(formulas["input"]))
            evaluating = [*keys, "scheme"]
            params, statements = resolve(schemes, scheme, scope)
            evaluating = ckeys
            if variance is not None:
                _require(doc, [*keys, "variance"], variance, set(env))
            if bounds is not None:
                for j, f in enumerate(bounds):
                    _require(doc, [*keys, "bounds", j], f, set(env))
            evaluating = [*keys, "variance"]
            stated_variance = variance(env) if variance else None
            evaluating = [*keys, "bounds"]
            stated_bounds = tuple(b(env) for b in bounds) if bounds else None
            evaluating = ckeys
            statements.append((f"entry {entry.name}", stated_variance, stated_bounds))
            evaluating = [*keys, "with"]  # the distribution's parameters come from `with`
            _cross_check(doc, ckeys, scheme.family, params, statements, keys)
            evaluating = ckeys
            sel = None
            if select:
                at = {k: _size(doc, ckeys, "select", k, f, env)
                      for k, f in select_formulas.items()}
                start = at.get("index", at.get("start"))
                stop = start + 1 if "index" in at else at["stop"]
                sel = Select(select["axis"], start, stop, bool(select.get("complement")))
                if sel.axis >= len(shape) or not 0 <= start < stop <= shape[sel.axis]:
                    raise doc.error([*keys, "select"], f"indices {start}..{stop - 1} along axis "
                                    f"{sel.axis} outside shape {shape}")
        except (FormulaError, ValueError, ZeroDivisionError, TypeError) as exc:
            if isinstance(exc, SpecError):
                raise
            raise doc.error(evaluating, f"{exc} (case {_label(values)}, line {doc.line(ckeys)})") \
                from None
        dist_variance = next((v for _, v, _ in statements if v is not None), None)
        dist_bounds = next((b for _, _, b in statements if b is not None), None)
        label = _label(values)
        locations = {"target": doc.where([*keys, "target"]),
                     **{k: doc.where([*keys, "kwargs", k]) for k in fixed},
                     **{k: doc.where([*ckeys, k]) for k in values}}
        out.append(Case(entry, label, {**fixed, **values}, tuple(shape), scheme.family, params,
                        dist_variance, dist_bounds, sel, input_shape, fans, neutral_fans,
                        symbols=frozenset(k for k in {**fixed, **values} if _is_symbol(k, used)),
                        locations=locations))
    try:
        neutral = neutral_of(out)
    except (ValueError, ZeroDivisionError) as exc:
        raise doc.error(keys, f"no neutral notation: {exc}") from None
    return [dataclasses.replace(c, neutral=neutral) for c in out]


def _label(values: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={_show(v)}" for k, v in values.items())


def _used_symbols(formulas: Mapping[str, Any], *more: Any) -> set[str]:
    """Every symbol any of the entry's formulas reads."""
    used: set[str] = set()

    def add(item: Any) -> None:
        if isinstance(item, Formula):
            used.update(item.symbols)
        elif isinstance(item, Mapping):
            for v in item.values():
                add(v)
        elif isinstance(item, list | tuple):
            for v in item:
                add(v)

    add(formulas)
    add(list(more))
    return used


def _is_symbol(name: str, used: set[str]) -> bool:
    """A kwarg is a shape symbol when a formula reads it, or one of its items (``k_0``)."""
    return name in used or any(s.startswith(f"{name}_") and s[len(name) + 1:].isdigit()
                               for s in used)


def _reject_text_numbers(doc: _Located, keys: list[Any], ckeys: list[Any],
                         fixed: Mapping[str, Any], values: Mapping[str, Any],
                         used: set[str]) -> None:
    """A quoted number (``in_features: "64"``) read by a formula: say so, at its own line."""
    for where, group in (([*keys, "kwargs"], fixed), (ckeys, values)):
        for k, v in group.items():
            if isinstance(v, str) and _is_symbol(k, used):
                raise doc.error([*where, k], f"{v!r} is a string, but the entry's formulas use "
                                f"{k} as a number (write it without quotes)")


def _size(doc: _Located, ckeys: list[Any], field: str, j: int | str, f: Formula,
          env: Mapping[str, float]) -> int:
    at = [*ckeys[:-2], field, j]
    _require(doc, at, f, set(env))
    try:
        size = f(env)
    except FormulaError as exc:
        raise doc.error(at, f"{exc} (case line {doc.line(ckeys)})") from None
    if not math.isfinite(size) or size != int(size) or size < 0:
        raise doc.error(at, f"{f.text} = {size:g}, not a size (case line {doc.line(ckeys)})")
    return int(size)


def _symbols(values: Mapping[str, Any]) -> dict[str, float]:
    """Numeric case values are formula symbols; a list value v also gives v_0, v_1, ..."""
    env: dict[str, float] = {}
    for k, v in values.items():
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, int | float):
            env[k] = v
        elif isinstance(v, list):
            for j, item in enumerate(v):
                if isinstance(item, int | float) and not isinstance(item, bool):
                    env[f"{k}_{j}"] = item
    return env


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(map(str, value))
    return str(value)


def _cross_check(doc: _Located, keys: list[Any], family: str, params: Mapping[str, float],
                 statements: list, entry_keys: list[Any] | None = None) -> None:
    """Every stated variance and bound must match the distribution scipy builds from params.

    An entry's own statement is reported at its field (``variance``, ``bounds``), naming the
    case's line; a scheme's at the case (the scheme file is another file).
    """
    case_line = doc.line(keys)

    def at(where: str, name: str) -> tuple[list[Any], str]:
        if entry_keys is not None and where.startswith("entry "):
            return [*entry_keys, name], f" (case line {case_line})"
        return keys, ""

    dist = continuous(family, params)
    if dist is None:
        if family == "constant":
            true_var, true_bounds = 0.0, (params["value"], params["value"])
        else:
            return  # orthogonal, sparse, identity: no variance / bounds claims to check
    else:
        true_var, true_bounds = float(dist.var()), tuple(float(b) for b in dist.support())
    if not math.isfinite(true_var) or true_var < 0:
        raise doc.error(keys, f"{family}{dict(params)} has no finite variance")
    for where, var, bounds in statements:
        if var is not None and not math.isclose(var, true_var, rel_tol=1e-9, abs_tol=1e-300):
            field_keys, note = at(where, "variance")
            raise doc.error(field_keys, f"{where} states variance {var:.12g} but {family}"
                            f"{_fmt(params)} has variance {true_var:.12g}{note}")
        if bounds is not None and not all(
            math.isclose(b, t, rel_tol=1e-9, abs_tol=1e-300) or b == t
            for b, t in zip(bounds, true_bounds, strict=True)
        ):
            field_keys, note = at(where, "bounds")
            raise doc.error(field_keys, f"{where} states bounds {bounds} but {family}"
                            f"{_fmt(params)} has support {true_bounds}{note}")


def _fmt(params: Mapping[str, float]) -> str:
    return "(" + ", ".join(f"{k}={v:.6g}" for k, v in params.items()) + ")"


def framework_spec_path(name: str) -> Path:
    return SPEC_DIR / "frameworks" / f"{name}.yaml"
