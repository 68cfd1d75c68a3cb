"""Helpers shared by the framework adapters (no statistics, no framework imports)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any


def accepted_kwargs(fn: Callable[..., Any], kwargs: Mapping[str, Any],
                    fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The subset of ``kwargs`` that ``fn`` accepts: other case values are shape symbols.

    A name in ``fixed`` (arguments the spec states outright) that ``fn`` rejects is an error, so
    a misspelt argument can never be dropped silently.
    """
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    rejected = sorted(set(fixed or {}) - set(params))
    if rejected:
        raise TypeError(f"{getattr(fn, '__qualname__', fn)} takes no argument {rejected}")
    return {k: v for k, v in kwargs.items() if k in params}


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
