"""``initspec audit``: the subcommand (registered by :mod:`initspec.cli`).

    initspec audit torch mymodels:build --instances 5 --json a.json --pictures pics/
    initspec audit flax mymodels:build_flax --input 2,16 --json b.json
    initspec audit --compare a.json b.json [--map mapping.yaml] [--json diff.json]

Bad input is one line and exit 2 (unknown framework or module, a factory that raises or returns
the wrong thing, a bad ``--input``, an unreadable audit file); a framework that is not installed
here is exit 3, like ``initspec run``'s environment errors.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

from initspec.audit.draws import DEFAULT_BUDGET, DEFAULT_INSTANCES, AuditInputError

EXIT_OK, EXIT_BAD_INPUT, EXIT_ENVIRONMENT = 0, 2, 3
#: framework name -> (adapter module, spec name, how to report its version)
HOOKS = {"torch": ("initspec.adapters.torch", "torch", "torch"),
         "flax": ("initspec.adapters.flax", "flax", "flax"),
         "equinox": ("initspec.adapters.equinox", "equinox", "equinox"),
         "haiku": ("initspec.adapters.haiku", "haiku", "dm-haiku"),
         "keras": ("initspec.adapters.keras", "keras", "keras")}


class Refusal(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code


def parse_shape(text: str) -> tuple[int, ...]:
    """``2,16`` / ``2x16`` / ``[2, 16]`` -> (2, 16); anything else is a one-line refusal."""
    inner = text.strip().removeprefix("[").removesuffix("]").removeprefix("(").removesuffix(")")
    if not re.fullmatch(r"\s*\d+(\s*[,x]\s*\d+)*\s*,?\s*", inner):
        raise Refusal(f"--input {text!r}: expected a shape of positive integers, e.g. 2,16")
    parts = [int(p) for p in re.findall(r"\d+", inner)]
    if not all(parts):
        raise Refusal(f"--input {text!r}: every size must be positive")
    return tuple(parts)


def load_factory(spec: str) -> Any:
    """``module:function`` (the module importable from the current directory)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise Refusal(f"factory {spec!r}: expected module:function, e.g. mymodels:build")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.split(".")[0] == exc.name.split(".")[0]:
            raise Refusal(f"factory {spec!r}: no module named {module_name!r}") from None
        raise Refusal(f"factory {spec!r}: importing {module_name} needs {exc.name!r}, which is "
                      f"not installed here", EXIT_ENVIRONMENT) from None
    except Exception as exc:
        raise Refusal(f"factory {spec!r}: importing {module_name} raised "
                      f"{type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise Refusal(f"factory {spec!r}: module {module_name} has no {attr!r}")
    if not callable(factory):
        raise Refusal(f"factory {spec!r}: {attr} is not callable")
    return factory


def load_hook(framework: str) -> tuple[Any, str]:
    if framework not in HOOKS:
        raise Refusal(f"unknown framework {framework!r} for audit (known: "
                      f"{', '.join(HOOKS)})")
    module_name, _, dist = HOOKS[framework]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Refusal(f"{framework} is not installed here ({exc})", EXIT_ENVIRONMENT) from None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return module.audit_draws, version(dist)
    except PackageNotFoundError:
        return module.audit_draws, "unknown"


def cmd_audit(args: argparse.Namespace) -> int:
    from initspec.cli import error

    try:
        if args.compare:
            if args.target:
                raise Refusal("--compare takes two audit files and no framework/factory")
            return _compare(args)
        if args.map:
            raise Refusal("--map needs --compare")
        if len(args.target) != 2:
            raise Refusal("expected FRAMEWORK MODULE:FACTORY (or --compare A.json B.json)")
        return _audit(args)
    except Refusal as exc:
        return error(exc, exc.code)
    except AuditInputError as exc:
        return error(exc, EXIT_BAD_INPUT)


def _audit(args: argparse.Namespace) -> int:
    from initspec.audit import model, render

    framework, factory_spec = args.target
    if args.instances < 2:
        raise Refusal(f"--instances {args.instances}: at least 2 (identical instances are a "
                      f"flag; one instance cannot show it)")
    if not 0 < args.budget < 1:
        raise Refusal(f"--budget {args.budget}: must be in (0, 1)")
    input_shape = parse_shape(args.input) if args.input else None
    _check_outputs(args.json, args.pictures)
    if framework not in HOOKS:
        raise Refusal(f"unknown framework {framework!r} for audit (known: "
                      f"{', '.join(HOOKS)})")
    # the user's module first: its mistakes are found without importing the framework
    factory = load_factory(factory_spec)
    hook, version = load_hook(framework)
    from initspec.loader import SPEC_DIR

    spec = SPEC_DIR / "frameworks" / f"{HOOKS[framework][1]}.yaml"
    if not spec.exists():  # else every parameter would read "no spec entry", silently
        raise Refusal(f"{framework}: its spec {spec} is missing (a broken install?)",
                      EXIT_ENVIRONMENT)
    started = time.perf_counter()
    seeds = [args.seed + i for i in range(args.instances)]
    draws = hook(factory, seeds, input_shape)
    if not draws:
        raise Refusal(f"factory {factory_spec!r}: the model has no parameters or buffers")
    audits = model.audit_model(HOOKS[framework][1], draws, args.budget, version)
    built = time.perf_counter() - started
    print(render.table(audits, framework, version, factory_spec, args.instances, args.budget))
    if args.json:
        data = model.to_json(framework, version, factory_spec, args.instances, args.budget,
                             audits)
        _write(args.json, data)
    if args.pictures:
        try:
            count = render.pictures(audits, Path(args.pictures))
        except OSError as exc:
            raise Refusal(f"--pictures {args.pictures}: cannot write "
                          f"({exc.strerror or exc})") from None
        print(f"initspec: audit: {count} picture(s) in {args.pictures}")
    print(f"initspec: audit: {len(audits)} parameters and buffers, {args.instances} instances, "
          f"{built:.1f} s")
    return EXIT_OK


def finite_json(value: Any) -> Any:
    """``value`` with every inf/nan float as None: strict JSON (``json.dumps`` would write the
    non-standard ``NaN``, which other readers refuse)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def _write(path: str, data: Any) -> None:
    text = json.dumps(finite_json(data), indent=1, allow_nan=False) + "\n"
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise Refusal(f"--json {path}: cannot write ({exc.strerror or exc})") from None
    print(f"initspec: audit: wrote {path}")


def _check_outputs(json_path: str | None, pictures: str | None = None) -> None:
    """Refuse, before the (slow) build, outputs that cannot be written: ``--json`` needs an
    existing folder and must not name one; ``--pictures`` is a folder (created if missing)."""
    if json_path:
        path = Path(json_path)
        if path.is_dir():
            raise Refusal(f"--json {json_path}: is a folder (give a file name)")
        if not path.parent.is_dir():
            raise Refusal(f"--json {json_path}: folder {path.parent} does not exist")
    if pictures and Path(pictures).exists() and not Path(pictures).is_dir():
        raise Refusal(f"--pictures {pictures}: exists and is not a folder")


def read_audit(path: str) -> dict[str, Any]:
    from initspec.audit.model import SCHEMA

    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise Refusal(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Refusal(f"{path}: not an audit JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or \
            not isinstance(data.get("parameters"), list):
        raise Refusal(f"{path}: not an initspec audit file (schema {SCHEMA} expected)")
    for key in ("framework", "version", "factory"):
        if not isinstance(data.get(key), str):
            raise Refusal(f"{path}: damaged audit file: {key!r} missing")
    names = set()
    for i, param in enumerate(data["parameters"]):
        problem = _param_problem(param)
        if problem:
            where = param.get("name") if isinstance(param, dict) and \
                isinstance(param.get("name"), str) else f"#{i}"
            raise Refusal(f"{path}: damaged audit file: parameter {where}: {problem}")
        if param["name"] in names:
            raise Refusal(f"{path}: damaged audit file: parameter {param['name']} twice")
        names.add(param["name"])
    return data


def _param_problem(param: Any) -> str | None:
    """What is wrong with one parameter entry of an audit file (None: nothing)."""
    import base64
    import binascii

    if not isinstance(param, dict):
        return "not a mapping"
    if not isinstance(param.get("name"), str):
        return "no name"
    shape = param.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        return "no shape"
    if not isinstance(param.get("identified"), dict) or \
            not isinstance(param["identified"].get("form"), str):
        return "no identified form"
    sample = param.get("sample")
    if not isinstance(sample, dict):
        return "no sample"
    for key in ("n", "zeros"):
        if not isinstance(sample.get(key), int) or isinstance(sample.get(key), bool):
            return f"sample {key} missing"
    for key in ("mean", "var", "m4"):
        if not isinstance(sample.get(key), int | float) or isinstance(sample.get(key), bool):
            return f"sample {key} missing"
    try:
        raw = base64.b64decode(sample.get("values", None), validate=True)
    except (binascii.Error, TypeError, ValueError):
        return "sample values are not base64"
    if len(raw) % 4:
        return "sample values are not float32"
    return None


def _compare(args: argparse.Namespace) -> int:
    from initspec.audit import compare, render

    a, b = (read_audit(p) for p in args.compare)
    mapping = compare.read_mapping(args.map) if args.map else None
    if not 0 < args.budget < 1:
        raise Refusal(f"--budget {args.budget}: must be in (0, 1)")
    _check_outputs(args.json)
    result = compare.compare(a, b, mapping, args.budget)
    print(render.comparison(result, *args.compare))
    if args.json:
        _write(args.json, result)
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser(
        "audit", help="what a model's parameters initialise to; --compare two audits",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="*", metavar="FRAMEWORK MODULE:FACTORY",
                   help=f"framework ({', '.join(HOOKS)}) and a function returning a fresh model")
    p.add_argument("--instances", type=int, default=DEFAULT_INSTANCES,
                   help=f"models built, one seed each (default {DEFAULT_INSTANCES})")
    p.add_argument("--input", help="input shape, batch included (torch: one forward pass for "
                                   "lazy modules; flax linen: the init input)")
    p.add_argument("--seed", type=int, default=0, help="first seed (instance i: seed + i)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                   help=f"family-wise false-alarm probability (default {DEFAULT_BUDGET})")
    p.add_argument("--json", help="write the audit (or the comparison) here")
    p.add_argument("--pictures", help="folder for one detail picture per random parameter")
    p.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                   help="compare two audits parameter by parameter")
    p.add_argument("--map", help="YAML mapping of A's names to B's (with --compare)")
    p.set_defaults(func=cmd_audit)


def signature_takes_seed(factory: Any) -> bool:
    """Whether the factory takes a ``seed`` argument (JAX-family models are seeded by key)."""
    try:
        return "seed" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
