"""Flax adapter: samples ``flax.linen`` and ``flax.nnx`` layer parameters.

Targets are ``linen.<Module>`` or ``nnx.<Module>``. A linen module is built from the case kwargs and
initialised with ``module.init(key, x)``, ``x`` of the entry's ``input`` shape (recurrent cells:
``module.init(key, carry, x)``); ``param`` is a path into the variables, e.g. ``params.hi.kernel``
or ``batch_stats.mean``. An nnx module is constructed with ``rngs=nnx.Rngs(key)`` and ``param`` is
an attribute path (``dense_h.kernel``, ``mean``). Every instance of a cell comes from one compiled
``jit(vmap(...))`` over keys (adapters/_jax.py ``draw``). Flax modules hold no RNG state of their
own (the key is an argument), so ``reuse`` needs no separate path: each instance gets its own key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen, nnx

from initspec.adapter import SampleRequest, Unsupported
from initspec.adapters import _jax
from initspec.adapters._common import (
    accepted_kwargs,
    accepted_names,
    build_initializer,
    is_unsupported_error,
    resolve_target,
    split_kwargs,
)

_APIS = {"linen": linen, "nnx": nnx}


class FlaxAdapter(_jax.JaxFamilyAdapter):
    name = "flax"
    spec = "flax"

    def version(self) -> str:
        return flax.__version__

    @_jax.x64_in_float64_cells
    def sample(self, request: SampleRequest) -> np.ndarray:
        api, cls = _resolve(request.target)
        dtype = _jax.dtype(request.dtype)
        kwargs = _kwargs(cls, request, dtype)
        # porting recipes: initializer arguments, resolved in Flax's initializer namespace
        kwargs.update({arg: build_initializer(nnx.initializers, spec)
                       for arg, spec in request.init_args.items()})
        if api == "linen":
            fn, full = _linen_fns(cls(**kwargs), request, dtype)
        else:
            fn, full = _nnx_fns(cls, kwargs, request.param)
        try:
            # Lower the WHOLE initialisation once: jit would drop the parameters `fn` does not
            # return, and with them errors a user's init hits (no float16 QR for orthogonal()).
            with jax.default_device(jax.devices(request.device)[0]):
                jax.jit(full).lower(jax.random.key(0))
            return _jax.draw(fn, request.seed, request.count, request.device,
                             math.prod(request.shape))
        except (NotImplementedError, TypeError, ValueError, RuntimeError) as exc:
            if is_unsupported_error(exc):
                why = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else str(exc)
                raise Unsupported(f"{request.target} cannot be initialised in {request.dtype} on "
                                  f"{request.device}: {why.splitlines()[0]}") from None
            raise

    def reproducer(self, request: SampleRequest) -> str:
        api, cls = _resolve(request.target)
        kwargs = _kwargs(cls, request, _jax.dtype(request.dtype))
        shown = {k: (f"jnp.{request.dtype}" if k in ("dtype", "param_dtype") else v)
                 for k, v in kwargs.items()}
        args = ", ".join(f"{k}={v}" if k in ("dtype", "param_dtype") else f"{k}={v!r}"
                         for k, v in shown.items())
        lines = ["import jax, jax.numpy as jnp",
                 f"from flax import {api}",
                 *_jax.x64_line(request.dtype),
                 f"# instance 0 of {request.count}: the first of "
                 f"jax.random.split(jax.random.key({request.seed}), {request.count})",
                 f"key = jax.random.split(jax.random.key({request.seed}), {request.count})[0]"]
        if api == "linen":
            lines.append(f"m = {request.target}({args})")
            in_dtype = "jnp.int32" if issubclass(cls, linen.Embed) else f"jnp.{request.dtype}"
            lines.append(f"x = jnp.ones({tuple(request.input_shape or ())}, {in_dtype})")
            if issubclass(cls, linen.RNNCellBase):
                lines.append("v = m.init(key, m.initialize_carry(key, x.shape), x)")
            else:
                lines.append("v = m.init(key, x)")
            path = "".join(f"[{p!r}]" for p in (request.param or "").split("."))
            lines.append(f"w = v{path}")
        else:
            lines.append(f"m = {request.target}({args}{', ' if args else ''}rngs=nnx.Rngs(key))")
            lines.append(f"w = m.{request.param}[...]")
        return "\n".join(lines)


def _resolve(target: str) -> tuple[str, type]:
    api, _, rest = target.partition(".")
    if api not in _APIS:
        raise ValueError(f"flax target {target!r} must start with linen. or nnx.")
    return api, resolve_target(_APIS[api], rest, api)


def _kwargs(cls: type, request: SampleRequest, dtype: jnp.dtype) -> dict[str, Any]:
    # The spec's lists are the tuples of Flax's signatures (kernel_size, features, axis, ...).
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in request.kwargs.items()}
    # nnx modules are built through a metaclass __call__(*args, **kwargs): read __init__ instead.
    sig = cls if issubclass(cls, linen.Module) else cls.__init__
    kw = split_kwargs(kw, accepted_names(sig), request.symbols, request.target)
    kw.update(accepted_kwargs(sig, {"param_dtype": dtype, "dtype": dtype}))
    return kw


def _linen_fns(module: linen.Module, request: SampleRequest,
               dtype: jnp.dtype) -> tuple[Callable[[jax.Array], Any], Callable[[jax.Array], Any]]:
    """(one instance's parameter, all its variables), each as a function of the key."""
    if request.input_shape is None:
        raise ValueError(f"{request.target}: a linen entry needs an `input` shape")
    shape = tuple(request.input_shape)
    # Embed looks up integer indices; every other module takes values of the requested dtype.
    x = jnp.ones(shape, jnp.int32 if isinstance(module, linen.Embed) else dtype)
    path = (request.param or "").split(".")

    def full(key: jax.Array) -> Any:
        if isinstance(module, linen.RNNCellBase):  # cells are called as cell(carry, x)
            return module.init(key, module.initialize_carry(key, shape), x)
        return module.init(key, x)

    return (lambda key: reduce(lambda tree, k: tree[k], path, full(key))), full


def _nnx_fns(cls: type, kwargs: Mapping[str, Any],
             param: str | None) -> tuple[Callable[[jax.Array], Any], Callable[[jax.Array], Any]]:
    path = (param or "").split(".")

    def fn(key: jax.Array) -> jax.Array:
        return reduce(getattr, path, cls(**kwargs, rngs=nnx.Rngs(key)))[...]

    return fn, lambda key: nnx.state(cls(**kwargs, rngs=nnx.Rngs(key)))


# --------------------------------------------------------------------------- initspec audit

_INIT_ARGS = {"kernel": "kernel_init", "bias": "bias_init", "embedding": "embedding_init",
              "scale": "scale_init"}


def _init_text(fn: Any) -> str:
    """``normal(stddev=0.02)`` for a Flax/JAX initializer closure (its captured numbers)."""
    import inspect

    name = getattr(fn, "__qualname__", type(fn).__name__).split(".<locals>")[0]
    try:
        captured = inspect.getclosurevars(fn).nonlocals
    except (TypeError, ValueError):
        captured = {}
    shown = ", ".join(f"{k}={v!r}" for k, v in captured.items()
                      if isinstance(v, int | float | str) and not isinstance(v, bool))
    return f"{name}({shown})"


def _module_info(module: linen.Module) -> tuple[str, dict]:
    cls = type(module)
    layer = f"linen.{cls.__name__}" if cls.__module__.startswith("flax.linen") else \
        f"{cls.__module__}.{cls.__qualname__}"
    attrs = {}
    for key in getattr(module, "__dataclass_fields__", {}):
        value = getattr(module, key, None)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        sizes = isinstance(value, tuple) and value and all(isinstance(v, int) for v in value)
        if number or sizes:
            attrs[key] = value
    return layer, attrs


def _build_variables(factory, seed: int, input_shape) -> tuple[Any, dict]:
    """One instance's variables ({collection: tree}) and the modules seen, by path; for an nnx
    module, the module itself (and no modules)."""
    import inspect

    from initspec.audit.cli import signature_takes_seed
    from initspec.audit.draws import AuditInputError, user_call

    modules: dict[tuple[str, ...], linen.Module] = {}

    def interceptor(next_fun, args, kwargs, context):
        module = context.module
        if module.scope is not None:
            modules.setdefault(tuple(module.scope.path), module)
        return next_fun(*args, **kwargs)

    with linen.intercept_methods(interceptor):
        takes_rngs = user_call(lambda: "rngs" in inspect.signature(factory).parameters,
                               "the factory")
        made = user_call(lambda: factory(rngs=nnx.Rngs(seed)) if takes_rngs else
                         factory(seed=seed) if signature_takes_seed(factory) else factory(),
                         "the factory")
        if isinstance(made, nnx.Module):
            if not takes_rngs and not signature_takes_seed(factory):
                raise AuditInputError("an nnx factory takes `rngs` (an nnx.Rngs(seed)) or "
                                      "`seed`: else every instance is the same")
            return made, {}
        if hasattr(made, "params") and not isinstance(made, linen.Module):  # HF Flax models
            return {"params": made.params}, modules
        module, x = made if isinstance(made, tuple) else (made, None)
        if not isinstance(module, linen.Module):
            raise AuditInputError(f"the factory returned {type(module).__name__}: expected a "
                                  f"flax.linen Module, (module, input), an nnx Module, or a "
                                  f"model with .params")
        if x is None:
            if input_shape is None:
                raise AuditInputError("a linen module is initialised with an input: give "
                                      "--input SHAPE or return (module, x) from the factory")
            x = jnp.ones(tuple(input_shape), jnp.float32)
        try:
            variables = module.init(jax.random.key(seed), x)
        except Exception as exc:
            given = f"shape {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__
            raise AuditInputError(f"module.init with an input of {given} raised "
                                  f"{type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return dict(variables), modules


def audit_draws(factory, seeds, input_shape=None) -> list:
    """``initspec audit`` hook: initialise the model once per seed (a factory taking ``seed``
    gets it — a transformers Flax model is built as ``FlaxBertModel(config, seed=seed)``; a linen
    module is initialised with ``jax.random.key(seed)``) and return every variable as a
    :class:`initspec.audit.draws.ParamDraw`; each layer's class and initializer arguments are
    read from the modules seen while initialising (``linen.intercept_methods``)."""
    from flax.traverse_util import flatten_dict

    from initspec.audit.draws import ParamDraw

    builds = [_build_variables(factory, seed, input_shape) for seed in seeds]
    if isinstance(builds[0][0], nnx.Module):
        return _nnx_draws([b[0] for b in builds])
    modules = builds[0][1]
    flats = [{(c, *k): v for c, tree in b[0].items() for k, v in flatten_dict(tree).items()}
             for b in builds]
    draws = []
    for key in flats[0]:
        collection, *path = key
        module = modules.get(tuple(path[:-1]))
        layer, attrs = _module_info(module) if module is not None else (None, {})
        leaf = path[-1]
        init = getattr(module, _INIT_ARGS.get(leaf, ""), None) if module is not None else None
        values = np.stack([np.asarray(f[key]) for f in flats])
        draws.append(ParamDraw(
            "/".join(path) if collection == "params" else "/".join(key),
            "parameter" if collection == "params" else "buffer", values, str(values.dtype),
            layer, f"{collection}.{leaf}", attrs,
            init_arg=f"{_INIT_ARGS[leaf]}={_init_text(init)}" if callable(init) else None,
            layout="in_out"))
    return draws


def _nnx_draws(models: list) -> list:
    """Every Variable of nnx modules (one per seed): ``Param`` a parameter, others (BatchStat)
    buffers; the layer is the innermost nnx Module on the path (nnx keeps no initializer
    arguments on the module, so none is reported)."""
    from initspec.audit.draws import ParamDraw

    flats = [nnx.to_flat_state(nnx.state(m)) for m in models]
    draws = []
    for i, (path, variable) in enumerate(flats[0]):
        owner, local, node = models[0], list(path), models[0]
        for depth, part in enumerate(path[:-1]):
            node = node[part] if isinstance(part, int) else getattr(node, part)
            if isinstance(node, nnx.Module):
                owner, local = node, list(path[depth + 1:])
        cls = type(owner)
        layer = f"nnx.{cls.__name__}" if cls.__module__.startswith("flax.nnx") else \
            f"{cls.__module__}.{cls.__qualname__}"
        attrs = {k: v for k, v in vars(owner).items() if not k.startswith("_") and (
            isinstance(v, int | float | bool) or (isinstance(v, tuple) and v and all(
                isinstance(n, int) and not isinstance(n, bool) for n in v)))}
        values = np.stack([np.asarray(f[i][1].get_value()) for f in flats])
        draws.append(ParamDraw("/".join(map(str, path)),
                               "parameter" if isinstance(variable, nnx.Param) else "buffer",
                               values, str(values.dtype), layer, ".".join(map(str, local)),
                               attrs, layout="in_out"))
    return draws
