"""PaddlePaddle adapter: samples ``paddle.nn`` layer parameters and ``paddle.nn.initializer``.

``paddle.nn.initializer.X(...)`` is an object built from its own arguments (mean, std, low, high,
gain, mode, ...); it fills a parameter when the parameter is created with it, so an initializer
cell creates ``paddle.create_parameter(shape, dtype, default_initializer=X(...))`` per instance
(the documented route; a fresh object per instance, or one object for every instance when the
request says ``reuse``). Paddle layers take no dtype argument (a few accept one): they create
their parameters in ``paddle.get_default_dtype()``, which a user sets with
``paddle.set_default_dtype``; the adapter sets it for a layer cell's dtype and restores it, so a
layer's 16-bit draws are Paddle's own 16-bit draws, not a cast of float32 ones.

Paddle's CPU build has no kernel for some ops in some dtypes (``truncated_gaussian_random`` in
float16, ``qr`` in 16 bits, ``coalesce_tensor`` in 16 bits, used by the RNN layers'
``flatten_parameters``); those cells raise :class:`Unsupported` with Paddle's own message.
"""

from __future__ import annotations

import operator
import os
import warnings
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

# Paddle's glog chatter (type-promotion notices) would fill a run's log; errors still show.
os.environ.setdefault("GLOG_minloglevel", "2")
with warnings.catch_warnings():  # "No ccache found" from paddle.utils.cpp_extension at import
    warnings.simplefilter("ignore")
    import paddle
    import paddle.nn.initializer

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

_INIT_PREFIX = "nn.initializer."
#: Paddle's wording when its build registers no kernel for an op in a dtype.
_PADDLE_UNSUPPORTED = ("is not registered", "There are no kernels which are registered")


class PaddleAdapter(Adapter):
    name = "paddle"
    spec = "paddle"

    def version(self) -> str:
        return paddle.__version__.split("+")[0]

    def devices(self) -> list[str]:
        devices = ["cpu"]
        if paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
            devices.append("gpu")
        return devices

    def primitive(self, count: int, dtype: str, device: str) -> None:
        paddle.set_device(device)
        try:
            in_chunks(count, lambda k: paddle.rand([k], dtype=dtype).numpy())
        except (ValueError, RuntimeError, NotImplementedError) as exc:  # no CPU kernel for it
            raise Unsupported(f"paddle.rand in {dtype}: {str(exc).splitlines()[0]}") from None

    def sample(self, request: SampleRequest) -> np.ndarray:
        paddle.set_device(request.device)
        paddle.seed(request.seed)  # the global generator every initializer draws from (seed 0)
        if request.target.startswith(_INIT_PREFIX):
            draw = _initializer_draw(request)
        else:
            cls = _resolve(request.target)
            kwargs = _kwargs(cls, request)
            draw = lambda: _layer(cls, kwargs, request)  # noqa: E731
        try:
            with paddle.no_grad():
                first = draw()
                out = np.empty((request.count, *first.shape), dtype=first.dtype)
                out[0] = first
                for i in range(1, request.count):
                    out[i] = draw()
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            text = _first_line(exc)
            if any(m in text for m in _PADDLE_UNSUPPORTED) or is_unsupported_error(exc):
                raise Unsupported(f"paddle.{request.target} in {request.dtype} on "
                                  f"{request.device}: {text}") from None
            raise
        return out

    def reproducer(self, request: SampleRequest) -> str:
        lines = ["import paddle", f"paddle.set_device({request.device!r})",
                 f"paddle.seed({request.seed})"]
        if request.target.startswith(_INIT_PREFIX):
            init = _resolve(request.target)
            lines.append("init = " + call_repr(f"paddle.{request.target}", _kwargs(init, request)))
            lines.append(f"x = paddle.create_parameter({list(request.shape)}, "
                         f"dtype={request.dtype!r}, default_initializer=init)")
        else:
            cls = _resolve(request.target)
            lines.append(f"paddle.set_default_dtype({request.dtype!r})  "
                         "# paddle layers create their parameters in the default dtype")
            extra = [f"{arg}={_call_text(spec)}" for arg, spec in request.init_args.items()]
            lines.append("m = " + call_repr(f"paddle.{request.target}",
                                            _kwargs(cls, request), *extra))
            lines.extend(f"m.{path}.set_value(paddle.create_parameter(m.{path}.shape, "
                         f"m.{path}.dtype, default_initializer={_call_text(spec)}))"
                         for path, spec in request.assign.items())
            lines.append(f"x = {param_expr(request.param, 'm.')}  "
                         f"# 1 of {request.count} instances")
        return "\n".join(lines)


def _initializer_draw(request: SampleRequest) -> Callable[[], np.ndarray]:
    """One draw per call: a fresh initializer each time, or one reused (``reuse``)."""
    cls = _resolve(request.target)
    kwargs = _kwargs(cls, request)
    built = cls(**kwargs) if request.reuse else None
    shape = list(request.shape)

    def draw() -> np.ndarray:
        init = built if built is not None else cls(**kwargs)
        return _to_numpy(paddle.create_parameter(shape, dtype=request.dtype,
                                                 default_initializer=init))

    return draw


def _layer(cls: type, kwargs: dict[str, Any], request: SampleRequest) -> np.ndarray:
    previous = paddle.get_default_dtype()
    paddle.set_default_dtype(request.dtype)
    try:
        init_args = {arg: build_initializer(paddle.nn.initializer, spec)
                     for arg, spec in request.init_args.items()}
        module = cls(**kwargs, **init_args)
        for path, spec in request.assign.items():  # construct, then overwrite with an initializer
            param = operator.attrgetter(path)(module)
            fresh = paddle.create_parameter(param.shape, dtype=param.dtype,
                                            default_initializer=build_initializer(
                                                paddle.nn.initializer, spec))
            param.set_value(fresh)
    finally:
        paddle.set_default_dtype(previous)
    # a sum (bias_ih_l0 + bias_hh_l0) is added by paddle in the parameter dtype
    return _to_numpy(read_param(request.param, lambda path: operator.attrgetter(path)(module)))


def _resolve(target: str) -> Any:
    return resolve_target(paddle, target, "paddle")


def _kwargs(fn: Callable[..., Any], request: SampleRequest) -> dict[str, Any]:
    """The arguments ``fn`` takes; other names must be the entry's shape symbols."""
    return split_kwargs(request.kwargs, accepted_names(fn), request.symbols,
                        f"paddle.{request.target}")


def _call_text(spec: Any) -> str:
    args = [repr(a) for a in spec.get("args", ())]
    args += [f"{k}={v!r}" for k, v in spec.get("kwargs", {}).items()]
    return f"paddle.nn.initializer.{spec['call']}({', '.join(args)})"


def _to_numpy(tensor: paddle.Tensor) -> np.ndarray:
    array = tensor.detach().cpu().numpy()
    if tensor.dtype == paddle.bfloat16:  # numpy has no bfloat16: paddle hands out the bits
        return array.view(ml_dtypes.bfloat16)
    return array


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
