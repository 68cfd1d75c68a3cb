"""Helpers shared by the framework adapters (no statistics, no framework imports)."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Collection, Mapping
from functools import reduce
from typing import Any

from initspec.adapter import TargetNotFound, UnknownArgument


def accepted_names(fn: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments ``fn`` names; None when it takes ``**kwargs`` (anything goes)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {name for name, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def split_kwargs(kwargs: Mapping[str, Any], accepted: Collection[str] | None,
                 symbols: Collection[str], target: str) -> dict[str, Any]:
    """The arguments ``target`` takes; the others must be the entry's shape symbols.

    A name that the target does not take and that the entry uses in no formula is a misspelt
    argument (``bais: false``): it raises :class:`UnknownArgument` instead of being dropped.
    ``accepted`` None means the target takes anything (``**kwargs``): every name is passed.
    """
    if accepted is None:
        return dict(kwargs)
    unknown = sorted(k for k in kwargs if k not in accepted and k not in symbols)
    if unknown:
        names = ", ".join(unknown)
        raise UnknownArgument(
            f"{target} takes no argument {names}, and the entry uses it in no formula "
            f"(takes: {', '.join(sorted(accepted)) or 'none'})", unknown[0])
    return {k: v for k, v in kwargs.items() if k in accepted}


def accepted_kwargs(fn: Callable[..., Any], kwargs: Mapping[str, Any],
                    fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The subset of ``kwargs`` that ``fn`` accepts (no checking: see :func:`split_kwargs`).

    A name in ``fixed`` (arguments the spec states outright) that ``fn`` rejects is an error.
    """
    names = accepted_names(fn)
    if names is None:
        return dict(kwargs)
    rejected = sorted(set(fixed or {}) - names)
    if rejected:
        raise TypeError(f"{getattr(fn, '__qualname__', fn)} takes no argument {rejected}")
    return {k: v for k, v in kwargs.items() if k in names}


def resolve_target(root: Any, dotted: str, root_name: str) -> Any:
    """``root.a.b.c`` for ``dotted = "a.b.c"``; a one-line :class:`TargetNotFound` otherwise."""
    try:
        return reduce(getattr, dotted.split("."), root)
    except AttributeError:
        raise TargetNotFound(f"{root_name}.{dotted} does not exist") from None


def call_repr(name: str, kwargs: Mapping[str, Any], *extra: str) -> str:
    """``name(k=v, ...)`` for reproducer snippets."""
    args = [*extra, *(f"{k}={v!r}" for k, v in kwargs.items())]
    return f"{name}({', '.join(args)})"


def is_unsupported_error(exc: BaseException) -> bool:
    """Framework errors that mean "this dtype/device has no kernel for that", not a bug."""
    text = str(exc)
    return isinstance(exc, NotImplementedError) or any(
        marker in text for marker in ("not implemented for", "not supported", "Unsupported dtype")
    )


def build_initializer(namespace: Any, spec: Mapping[str, Any], *first: Any) -> Any:
    """Call the initializer ``spec`` names in ``namespace``: ``{"call": "variance_scaling",
    "args": [...], "kwargs": {...}}`` (porting recipes, initspec/recipes.py).

    The name is looked up with getattr (dotted names walk sub-namespaces), never evaluated;
    a private or unknown name is an error. Lists become tuples (axes). ``first`` go before the
    spec's own arguments (torch's ``nn.init.uniform_(tensor, a, b)``)."""
    name = spec["call"]
    fn = namespace
    for part in name.split("."):
        if part.startswith("_") or not hasattr(fn, part):
            raise ValueError(f"{getattr(namespace, '__name__', namespace)} has no "
                             f"initializer {name!r}")
        fn = getattr(fn, part)
    args = [_tuples(a) for a in spec.get("args", ())]
    kwargs = {k: _tuples(v) for k, v in spec.get("kwargs", {}).items()}
    return fn(*first, *args, **kwargs)


def _tuples(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def param_terms(param: str) -> tuple[str, ...]:
    """The parameter paths a spec ``param`` names: ``"bias_ih_l0 + bias_hh_l0"`` -> both, a plain
    path -> itself. A sum names parameters the network only ever sees added."""
    terms = tuple(t.strip() for t in param.split("+"))
    if not all(terms):
        raise ValueError(f"param {param!r}: a sum needs a parameter path on each side of '+'")
    return terms


def read_param(param: str, get: Callable[[str], Any]) -> Any:
    """The value a spec ``param`` names, each path read with ``get``; a sum is added elementwise
    by the framework's own ``+`` on its own arrays, i.e. in the parameter dtype, as the network
    adds them (in 16-bit the sum is rounded to the dtype once more, not computed in float64)."""
    return reduce(operator.add, (get(t) for t in param_terms(param)))


def param_expr(param: str, prefix: str) -> str:
    """``m.a + m.b`` for reproducer snippets (``prefix`` = ``"m."``)."""
    return " + ".join(f"{prefix}{t}" for t in param_terms(param))


#: Values per call of a framework's bulk primitive in ``Adapter.primitive`` (64 MB of float32).
PRIMITIVE_CHUNK = 1 << 24


def in_chunks(count: int, draw: Callable[[int], Any]) -> None:
    """Call ``draw(k)`` for chunks of at most PRIMITIVE_CHUNK values, ``count`` in all."""
    while count > 0:
        k = min(count, PRIMITIVE_CHUNK)
        draw(k)
        count -= k
