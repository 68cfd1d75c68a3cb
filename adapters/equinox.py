"""Equinox adapter: samples the parameters (and State buffers) of ``equinox.nn`` layers.

Every instance is a fresh layer built from its own PRNG key; all instances of a cell go through
one compiled function (``_jax.draw``: ``jit(vmap(build))`` over keys split from the cell's seed).
"""

from __future__ import annotations

import inspect
from typing import Any

import equinox as eqx
import jax
import numpy as np

from initspec.adapter import SampleRequest, Unsupported
from initspec.adapters import _jax
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    resolve_target,
    split_kwargs,
)

#: A ``param`` path starting with this reads the layer's State (eqx.nn.make_with_state), e.g.
#: ``state.batch_state_index.1`` = ``state.get(layer.batch_state_index)[1]``.
_STATE = "state"
#: A `seed` kwarg (reproducibility entries) builds every instance from the key
#: ``jax.random.key(seed)`` instead of its own key split from the cell's seed.
_SEED = "seed"


class EquinoxAdapter(_jax.JaxFamilyAdapter):
    name = "equinox"
    spec = "equinox"

    def version(self) -> str:
        return eqx.__version__

    @_jax.x64_in_float64_cells
    def sample(self, request: SampleRequest) -> np.ndarray:
        if request.param is None:
            raise Unsupported(f"{request.target}: equinox entries are layer parameters")
        if request.reuse:
            raise Unsupported("equinox layers have no reusable initializer object to call again")
        cls = _resolve(request.target)
        kwargs = _constructor_kwargs(cls, request)
        takes_key = "key" in inspect.signature(cls).parameters
        path = request.param.split(".")
        seed = request.kwargs.get(_SEED)

        def build(key: jax.Array) -> jax.Array:
            if seed is not None:
                key = jax.random.key(seed)
            if request.assign:  # porting recipes: construct, then overwrite with eqx.tree_at
                key, init_key = jax.random.split(key)
            extra = {"key": key} if takes_key else {}
            if path[0] == _STATE:  # State buffers exist only once make_with_state splits them off
                layer, state = eqx.nn.make_with_state(cls)(**kwargs, **extra)
                return _walk(state.get(getattr(layer, path[1])), path[2:])
            layer = cls(**kwargs, **extra)
            for where, spec in request.assign.items():
                steps = where.split(".")
                old = _walk(layer, steps)
                init_key, sub = jax.random.split(init_key)
                new = build_initializer(jax.nn.initializers, spec)(sub, old.shape, old.dtype)
                layer = eqx.tree_at(lambda m, steps=steps: _walk(m, steps), layer, new)
            return _walk(layer, path)

        size = int(np.prod(request.shape, dtype=np.int64))
        return _jax.draw(build, request.seed, request.count, request.device, size)

    def reproducer(self, request: SampleRequest) -> str:
        cls = _resolve(request.target)
        try:
            kwargs = _constructor_kwargs(cls, request)
        except Unsupported:
            return ""
        kwargs.pop("dtype", None)
        extra = [f"dtype=jnp.{request.dtype}"]
        seed = request.kwargs.get(_SEED)
        if "key" in inspect.signature(cls).parameters:
            extra.append(f"key=jax.random.key({seed})" if seed is not None else "key=keys[0]")
        lines = ["import equinox as eqx", "import jax", "import jax.numpy as jnp",
                 *_jax.x64_line(request.dtype)]
        if request.device != "cpu":
            device = f"jax.devices({request.device!r})[0]"
            lines.append(f'jax.config.update("jax_default_device", {device})')
        lines.append(f"keys = jax.random.split(jax.random.key({request.seed}), {request.count})")
        path = (request.param or "").split(".")
        ctor = call_repr(f"eqx.{request.target}", kwargs, *extra)
        if path[0] == _STATE:
            ctor = call_repr(f"eqx.nn.make_with_state(eqx.{request.target})", kwargs, *extra)
            lines.append(f"m, state = {ctor}")
            rest = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path[2:])
            lines.append(f"x = state.get(m.{path[1]}){rest}  # 1 of {request.count} instances")
        else:
            lines.append(f"m = {ctor}")
            lines.append(f"x = m.{request.param}  # 1 of {request.count} instances")
        return "\n".join(lines)


def _resolve(target: str) -> Any:
    return resolve_target(eqx, target, "eqx")


def _constructor_kwargs(cls: Any, request: SampleRequest) -> dict[str, Any]:
    """The case kwargs the constructor accepts, plus the requested dtype."""
    case = {k: v for k, v in request.kwargs.items() if k != _SEED}  # the adapter's, not eqx's
    kwargs = split_kwargs(case, accepted_names(cls), request.symbols, f"eqx.{request.target}")
    if "dtype" not in inspect.signature(cls).parameters:
        raise Unsupported(f"eqx.{request.target} takes no dtype argument")
    kwargs["dtype"] = _jax.dtype(request.dtype)
    return kwargs


def _walk(obj: Any, path: list[str]) -> Any:
    """Follow a dotted path: attribute names, or integer indices into tuples (State values)."""
    for part in path:
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


# --------------------------------------------------------------------------- initspec audit


def audit_draws(factory, seeds, input_shape=None) -> list:
    """``initspec audit`` hook: build the model once per seed (the factory takes ``key``, a
    ``jax.random.key(seed)``, or ``seed``) and return every array leaf of the module, and of
    its State when the factory returns ``(model, state)`` (``eqx.nn.make_with_state``), as a
    :class:`initspec.audit.draws.ParamDraw`. The layer of a leaf is the innermost
    ``eqx.Module`` on its path; its numeric fields are the spec's symbols. No statistics."""
    from initspec.audit.draws import AuditInputError, ParamDraw, user_call

    takes = inspect.signature(factory).parameters
    builds = []
    for seed in seeds:
        arg = {"key": jax.random.key(seed)} if "key" in takes else \
            {"seed": seed} if "seed" in takes else None
        if arg is None:
            raise AuditInputError("an Equinox factory takes `key` (a jax.random.key) or `seed`")
        made = user_call(lambda arg=arg: factory(**arg), "the factory")
        model, state = made if isinstance(made, tuple) and len(made) == 2 else (made, None)
        if not isinstance(model, eqx.Module):
            raise AuditInputError(f"the factory returned {type(model).__name__}, not an "
                                  f"eqx.Module (or (module, state))")
        leaves = [("parameter", model, p, v) for p, v in _leaves(model)]
        leaves += [("buffer", None, ("state", *p), v) for p, v in _leaves(state)]
        builds.append(leaves)
    draws = []
    for i, (kind, model, path, _) in enumerate(builds[0]):
        owner, local, node = model, list(path), model
        for depth, part in enumerate(path[:-1] if model is not None else []):
            node = node[part] if isinstance(part, int) or isinstance(node, dict) else \
                getattr(node, part)  # the innermost module on the path owns the leaf
            if isinstance(node, eqx.Module):
                owner, local = node, list(path[depth + 1:])
        cls = type(owner) if owner is not None else None
        layer = None if cls is None else f"nn.{cls.__name__}" if cls.__module__.startswith(
            "equinox.nn") else f"{cls.__module__}.{cls.__qualname__}"
        attrs = {k: getattr(owner, k) for k in getattr(owner, "__dataclass_fields__", {})
                 if _number_or_sizes(getattr(owner, k, None))} if owner is not None else {}
        values = np.stack([np.asarray(b[i][3]) for b in builds])
        draws.append(ParamDraw(".".join(map(str, path)), kind, values, str(values.dtype),
                               layer, ".".join(map(str, local)), attrs))
    return draws


def _leaves(tree: Any) -> list[tuple[tuple, Any]]:
    if tree is None:
        return []
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(tuple(getattr(k, "name", getattr(k, "idx", getattr(k, "key", k))) for k in path),
             leaf) for path, leaf in flat if eqx.is_array(leaf)]


def _number_or_sizes(value: Any) -> bool:
    """A numeric (or boolean: ``use_bias``) field, or a tuple of sizes."""
    if isinstance(value, bool):
        return True
    return isinstance(value, int | float) or (isinstance(value, tuple) and bool(value) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value))
