"""MLX adapter: samples ``mlx.nn`` layer parameters and ``mlx.nn.init`` initializers.

``mlx.nn.init.X(...)`` is a factory: its own arguments (mean, std, low, high, value, gain of
orthogonal) and the dtype build an initializer, which is then called on an array of the
requested shape with ITS arguments (mode and gain of glorot_* / he_*). MLX layers take no dtype:
they always draw in float32, and a user converts them with ``Module.set_dtype`` (the adapter does
the same for float16 and bfloat16, so those cells are the float32 draws rounded; float64 layer
cells are skips: a cast keeps float32's grid and float32-rounded bounds).
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

import ml_dtypes
import mlx.core as mx
import mlx.nn
import numpy as np

from initspec.adapter import Adapter, SampleRequest, Unsupported
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    in_chunks,
    is_unsupported_error,
    param_expr,
    read_param,
    resolve_target,
    split_kwargs,
)

_INIT_PREFIX = "nn.init."
#: mlx's own wording when a kernel lacks a dtype ("[uniform] Unsupported type.")
_MLX_UNSUPPORTED = "Unsupported type"
#: Casting a float32 layer to float64 keeps the float32-rounded bounds, which lie outside the
#: float64 ones (Bilinear.bias: min -0.100000001 < -0.1, 2 of 10 seeds): not a float64 draw.
_NO_FLOAT64_LAYERS = ("mlx.nn layers draw in float32 only (no dtype argument); Module.set_dtype("
                      "float64) would cast the float32 draw, not draw in float64")


class MlxAdapter(Adapter):
    name = "mlx"
    spec = "mlx"

    def version(self) -> str:
        return mx.__version__

    def devices(self) -> list[str]:
        return [kind for kind in ("cpu", "gpu") if mx.is_available(getattr(mx, kind))]

    def primitive(self, count: int, dtype: str, device: str) -> None:
        dt = getattr(mx, dtype)
        mx.set_default_device(getattr(mx, device))
        try:
            in_chunks(count, lambda k: mx.eval(mx.random.uniform(shape=(k,), dtype=dt)))
        except (ValueError, RuntimeError) as exc:  # float64 has no CPU kernel for some ops
            raise Unsupported(f"mlx.random.uniform in {dtype}: {exc}") from None

    def sample(self, request: SampleRequest) -> np.ndarray:
        dtype = getattr(mx, request.dtype)
        mx.set_default_device(getattr(mx, request.device))
        mx.random.seed(request.seed)
        if request.target.startswith(_INIT_PREFIX):
            draw = self._initializer_draw(request, dtype)
        else:
            cls = _resolve(request.target)
            kwargs = _kwargs(cls, request)
            draw = lambda: self._layer(cls, kwargs, request, dtype)  # noqa: E731
        try:
            first = draw()
            out = np.empty((request.count, *first.shape), dtype=first.dtype)
            out[0] = first
            for i in range(1, request.count):
                out[i] = draw()
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if _MLX_UNSUPPORTED in text or is_unsupported_error(exc):
                raise Unsupported(f"mlx.{request.target} in {request.dtype} on "
                                  f"{request.device}: {text}") from None
            raise
        return out

    def _initializer_draw(self, request: SampleRequest,
                          dtype: mx.Dtype) -> Callable[[], np.ndarray]:
        """One draw per call: a fresh initializer each time, or one reused (``reuse``)."""
        factory = _resolve(request.target)
        build_kwargs, call_kwargs = _init_kwargs(factory, request)
        built = factory(**build_kwargs, dtype=dtype) if request.reuse else None
        template = mx.zeros(tuple(request.shape), dtype=dtype)

        def draw() -> np.ndarray:
            init = built if built is not None else factory(**build_kwargs, dtype=dtype)
            return _to_numpy(init(template, **call_kwargs))

        return draw

    def _layer(self, cls: type, kwargs: dict[str, Any], request: SampleRequest,
               dtype: mx.Dtype) -> np.ndarray:
        if dtype == mx.float64:
            raise Unsupported(_NO_FLOAT64_LAYERS)
        module = cls(**kwargs)
        for path, spec in request.assign.items():  # porting recipes: construct, then overwrite
            parent, _, leaf = path.rpartition(".")
            owner = operator.attrgetter(parent)(module) if parent else module
            init = build_initializer(mlx.nn.init, spec)
            setattr(owner, leaf, init(getattr(owner, leaf)))
        if dtype != mx.float32:
            module.set_dtype(dtype)
        value = read_param(request.param, lambda path: operator.attrgetter(path)(module))
        if not mx.issubdtype(value.dtype, mx.floating):
            raise Unsupported(f"mlx.{request.target}.{request.param} is stored as {value.dtype} "
                              "(packed, not a floating parameter): no distribution to sample")
        return _to_numpy(value)

    def reproducer(self, request: SampleRequest) -> str:
        dtype = f"mx.{request.dtype}"
        lines = ["import mlx.core as mx", "import mlx.nn as nn", f"mx.random.seed({request.seed})"]
        if request.target.startswith(_INIT_PREFIX):
            factory = _resolve(request.target)
            build_kwargs, call_kwargs = _init_kwargs(factory, request)
            lines.append("init = " + call_repr(f"nn.{request.target[3:]}", build_kwargs,
                                               f"dtype={dtype}"))
            lines.append(call_repr("x = init", call_kwargs,
                                   f"mx.zeros({tuple(request.shape)}, dtype={dtype})"))
        else:
            cls = _resolve(request.target)
            lines.append("m = " + call_repr(f"nn.{request.target[3:]}", _kwargs(cls, request)))
            if request.dtype != "float32":
                lines.append(f"m.set_dtype({dtype})  # mlx layers draw in float32")
            lines.append(f"x = {param_expr(request.param, 'm.')}  "
                         f"# 1 of {request.count} instances")
        return "\n".join(lines)


def _resolve(target: str) -> Any:
    return resolve_target(mlx, target, "mlx")


def _kwargs(fn: Callable[..., Any], request: SampleRequest) -> dict[str, Any]:
    """The arguments ``fn`` takes; other names must be the entry's shape symbols."""
    return split_kwargs(request.kwargs, accepted_names(fn), request.symbols,
                        f"mlx.{request.target}")


def _init_kwargs(factory: Callable[..., Any],
                 request: SampleRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case kwargs split into the factory's (mean, std, ...) and the initializer's (mode,
    gain of he_*/glorot_*); a name neither takes must be a shape symbol."""
    build = (accepted_names(factory) or set()) - {"dtype"}
    init = factory(**{k: v for k, v in request.kwargs.items() if k in build})
    call = set(list(inspect.signature(init).parameters)[1:])  # after the array
    kwargs = split_kwargs(request.kwargs, build | call, request.symbols, f"mlx.{request.target}")
    return ({k: v for k, v in kwargs.items() if k in build},
            {k: v for k, v in kwargs.items() if k in call})


def _to_numpy(array: mx.array) -> np.ndarray:
    if array.dtype == mx.bfloat16:  # numpy has no bfloat16: keep the bits, type them
        return np.array(array.view(mx.uint16)).view(ml_dtypes.bfloat16)
    return np.array(array)
