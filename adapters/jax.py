"""JAX adapter: samples the ``jax.nn.initializers`` functions (column ``jax``).

A target is a dotted path under ``jax`` (``nn.initializers.variance_scaling``). It is either an
initializer itself (``zeros(key, shape, dtype)``) or a factory that builds one from the case
kwargs it accepts (``variance_scaling(scale, mode, distribution, in_axis, ...)``); the initializer
is then called as ``init(key, shape, dtype)``, one PRNG key per instance (see ``_jax.draw``).

Porting recipes ("call" style, initspec/recipes.py) name a namespace as the target
(``nn.initializers``) and the initializer in ``init_args["initializer"]``: it is built there
(``build_initializer``) once per instance and called on the request's shape.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.nn.initializers  # makes jax.nn.initializers resolvable by getattr
import numpy as np

from initspec.adapter import SampleRequest, Unsupported
from initspec.adapters import _jax
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    is_unsupported_error,
    resolve_target,
    split_kwargs,
)

#: The init_args key of a porting recipe (initspec.recipes.CALL_SLOT).
_RECIPE = "initializer"
#: jax has no seed argument: a `seed` kwarg (reproducibility entries) means every call gets the
#: key ``jax.random.key(seed)`` instead of its own key split from the cell's seed.
_SEED = "seed"


class JaxAdapter(_jax.JaxFamilyAdapter):
    name = "jax"
    spec = "jax"

    def version(self) -> str:
        return _jax.version()

    @_jax.x64_in_float64_cells
    def sample(self, request: SampleRequest) -> np.ndarray:
        if request.init_args:
            return self._recipe(request)
        target = _resolve(request.target)
        kwargs = _kwargs(target, request)
        dtype = _jax.dtype(request.dtype)
        shape = tuple(request.shape)
        seed = request.kwargs.get(_SEED)
        built = target(**kwargs) if request.reuse and _is_factory(target) else None

        def one(key: jax.Array) -> jax.Array:
            if seed is not None:
                key = jax.random.key(seed)
            if not _is_factory(target):
                return target(key, shape, dtype)
            init = built if built is not None else target(**kwargs)  # fresh per instance
            return init(key, shape, dtype)

        try:
            return _jax.draw(one, request.seed, request.count, request.device,
                             int(np.prod(shape, dtype=np.int64)))
        except (NotImplementedError, TypeError, ValueError) as exc:
            if is_unsupported_error(exc):
                # jaxlib's LAPACK wraps the reason as (KeyError(...), 'Unsupported dtype float16.')
                text = next((a for a in reversed(exc.args) if isinstance(a, str)), str(exc))
                raise Unsupported(f"{text.splitlines()[0]} ({request.target} on "
                                  f"{request.device})") from None
            raise

    def _recipe(self, request: SampleRequest) -> np.ndarray:
        unknown = sorted(set(request.init_args) - {_RECIPE})
        if unknown or request.assign:
            raise ValueError(f"jax has no layers: a recipe passes only init_args[{_RECIPE!r}], "
                             f"not {', '.join(unknown) or 'assign'}")
        namespace = _resolve(request.target)
        spec = request.init_args[_RECIPE]
        build_initializer(namespace, spec)  # an unknown name fails here, before tracing
        shape, dtype = tuple(request.shape), _jax.dtype(request.dtype)

        def one(key: jax.Array) -> jax.Array:
            return build_initializer(namespace, spec)(key, shape, dtype)
        return _jax.draw(one, request.seed, request.count, request.device,
                         int(np.prod(shape, dtype=np.int64)))

    def reproducer(self, request: SampleRequest) -> str:
        if request.init_args:
            return "\n".join(["import jax, jax.numpy as jnp",
                              f"key = jax.random.split(jax.random.key({request.seed}), "
                              f"{request.count})[0]",
                              f"x = init(key, {tuple(request.shape)}, jnp.{request.dtype})"
                              f"  # init: the porting recipe below; 1 of {request.count}"])
        target = _resolve(request.target)
        kwargs = _kwargs(target, request)
        seed = request.kwargs.get(_SEED)
        first = (f"jax.random.key({seed})" if seed is not None else
                 f"jax.random.split(jax.random.key({request.seed}), {request.count})[0]")
        call = f"(key, {tuple(request.shape)}, jnp.{request.dtype})"
        lines = ["import jax, jax.numpy as jnp", *_jax.x64_line(request.dtype), f"key = {first}"]
        if _is_factory(target):
            lines.append("init = " + call_repr(f"jax.{request.target}", kwargs))
            lines.append(f"x = init{call}  # 1 of {request.count} instances")
        else:
            lines.append(f"x = jax.{request.target}{call}  # 1 of {request.count} instances")
        return "\n".join(lines)


def _resolve(target: str) -> Callable[..., Any]:
    return resolve_target(jax, target, "jax")


def _is_factory(fn: Callable[..., Any]) -> bool:
    """zeros/ones take (key, shape, dtype) themselves; every other target builds an initializer."""
    return "key" not in inspect.signature(fn).parameters


def _kwargs(target: Callable[..., Any], request: SampleRequest) -> dict[str, Any]:
    # YAML lists are axis tuples (in_axis: [0, 1]); jax's _compute_fans takes int or a sequence
    values = {k: tuple(v) if isinstance(v, list) else v
              for k, v in request.kwargs.items() if k != _SEED}
    accepted = accepted_names(target) if _is_factory(target) else set()  # zeros/ones take none
    return split_kwargs(values, accepted, request.symbols, f"jax.{request.target}")
