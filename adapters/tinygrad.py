"""tinygrad adapter: samples ``tinygrad.nn`` layer parameters and the ``Tensor`` init helpers.

A target ``Tensor.X`` is a creation classmethod called as ``Tensor.X(*shape, dtype=..., **case)``
(kaiming_uniform, glorot_uniform, scaled_uniform, uniform, normal, randn). tinygrad layers take
no dtype: they create their parameters in ``dtypes.default_float``, which a user sets with
``DEFAULT_FLOAT`` (environment or ``Context``); the adapter sets it for a layer cell's dtype, so a
layer's 16-bit draws are tinygrad's own 16-bit draws, not a cast. Helper cells pass ``dtype=``
and leave DEFAULT_FLOAT at its float32 default.

Each realize of a fresh lazy graph costs tinygrad a schedule (~0.2 s here), so every cell runs
through one ``TinyJit``: its first two calls build the object and realize the parameter, and it
then replays the captured kernels, whose RNG counter advances on the device exactly as a fresh
object's would (the draws equal the un-jitted ones, draw for draw).
"""

from __future__ import annotations

import functools
import inspect
import operator
import subprocess
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import tinygrad
from tinygrad import Device, Tensor, TinyJit, dtypes
from tinygrad.engine.jit import JitError
from tinygrad.helpers import Context

from initspec.adapter import Adapter, SampleRequest, Unsupported
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    in_chunks,
    param_expr,
    read_param,
    resolve_target,
    split_kwargs,
)

_TENSOR_PREFIX = "Tensor."
_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16",
           "bfloat16": "bfloat16"}


class TinygradAdapter(Adapter):
    name = "tinygrad"
    spec = "tinygrad"

    def version(self) -> str:
        from importlib.metadata import version

        return version("tinygrad")

    def devices(self) -> list[str]:
        return [Device.DEFAULT.lower()]

    def primitive(self, count: int, dtype: str, device: str) -> None:
        dt = getattr(dtypes, _DTYPES[dtype])
        in_chunks(count, lambda k: Tensor.rand(k, dtype=dt, device=device.upper()).realize())

    def sample(self, request: SampleRequest) -> np.ndarray:
        dtype = getattr(dtypes, _DTYPES[request.dtype])
        device = request.device.upper()
        helper = request.target.startswith(_TENSOR_PREFIX)
        build = _helper(request, dtype, device) if helper else _layer(request, device)
        Tensor.manual_seed(request.seed)
        # layers create in default_float; a helper takes dtype= and keeps the default (float32)
        default_float = "float32" if helper else _DTYPES[request.dtype]
        with Context(DEFAULT_FLOAT=default_float):
            try:
                return _draw(build, request.count)
            except subprocess.CalledProcessError as exc:  # the CPU device's C compiler failed
                raise Unsupported(f"tinygrad {request.target} in {request.dtype} on {device}: "
                                  f"{_compiler(exc.cmd)} rejects its kernel (clang < 15 has no "
                                  "__bf16 arithmetic on x86-64)") from None
            except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if "not supported" in text or "unsupported" in text.lower():
                    raise Unsupported(f"tinygrad {request.target} in {request.dtype} on "
                                      f"{device}: {text}") from None
                raise

    def reproducer(self, request: SampleRequest) -> str:
        lines = ["from tinygrad import Tensor, dtypes, nn", f"Tensor.manual_seed({request.seed})"]
        if request.target.startswith(_TENSOR_PREFIX):
            fn = _resolve(request.target)
            lines.append("x = " + call_repr(request.target, _kwargs(fn, request),
                                            *map(str, request.shape),
                                            f"dtype=dtypes.{request.dtype}"))
        else:
            cls = _resolve(request.target)
            lines.insert(0, f"# run with DEFAULT_FLOAT={request.dtype} (layers take no dtype)")
            lines.append("m = " + call_repr(request.target, _kwargs(cls, request)))
            lines.append(f"x = {param_expr(request.param, 'm.')}  "
                         f"# 1 of {request.count} instances")
        return "\n".join(lines)


def _helper(request: SampleRequest, dtype: Any, device: str) -> Callable[[], Tensor]:
    fn = _resolve(request.target)
    kwargs = _kwargs(fn, request)
    shape = tuple(request.shape)
    return lambda: fn(*shape, dtype=dtype, device=device, **kwargs)


def _layer(request: SampleRequest, device: str) -> Callable[[], Tensor]:
    cls = _resolve(request.target)
    kwargs = _kwargs(cls, request)
    if device != Device.DEFAULT:
        raise Unsupported(f"tinygrad layers create on Device.DEFAULT ({Device.DEFAULT}) only")

    def build() -> Tensor:
        module = cls(**kwargs)
        for path, spec in request.assign.items():  # porting recipes: construct, then overwrite
            parent, _, leaf = path.rpartition(".")
            owner = operator.attrgetter(parent)(module) if parent else module
            old = getattr(owner, leaf)
            # Tensor.uniform(*shape) also takes the shape as one tuple (argfix), as Tensor.full
            setattr(owner, leaf, build_initializer(Tensor, spec, tuple(old.shape)))
        return read_param(request.param, lambda path: operator.attrgetter(path)(module))

    return build


def _draw(build: Callable[[], Tensor], count: int) -> np.ndarray:
    """``count`` draws of ``build()``: through one TinyJit, or plainly when it compiles nothing
    (a constant parameter has no kernel to capture)."""
    jitted = TinyJit(lambda: build().contiguous().realize())
    first = _to_numpy(jitted())
    out = np.empty((count, *first.shape), dtype=first.dtype)
    out[0] = first
    step: Callable[[], Tensor] = jitted
    for i in range(1, count):
        try:
            out[i] = _to_numpy(step())
        except JitError:  # nothing to capture: realize each draw without the JIT
            step = lambda: build().contiguous().realize()  # noqa: E731
            out[i] = _to_numpy(step())
    return out


@functools.cache
def _compiler_version(name: str) -> str:
    try:
        out = subprocess.run([name, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return name


def _compiler(cmd: Any) -> str:
    name = cmd[0] if isinstance(cmd, list | tuple) and cmd else str(cmd)
    return _compiler_version(str(name))


def _resolve(target: str) -> Any:
    root = Tensor if target.startswith(_TENSOR_PREFIX) else tinygrad
    dotted = target[len(_TENSOR_PREFIX):] if target.startswith(_TENSOR_PREFIX) else target
    return resolve_target(root, dotted, "tinygrad" if root is tinygrad else "tinygrad.Tensor")


def _kwargs(fn: Callable[..., Any], request: SampleRequest) -> dict[str, Any]:
    """The arguments ``fn`` takes; other names must be the entry's shape symbols. The helpers
    take ``**kwargs`` (forwarded to Tensor.uniform / randn): only their named ones pass."""
    names = {name for name, p in inspect.signature(fn).parameters.items()
             if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    accepted = names if request.target.startswith(_TENSOR_PREFIX) else accepted_names(fn)
    return split_kwargs(request.kwargs, accepted, request.symbols, f"tinygrad.{request.target}")


def _to_numpy(tensor: Tensor) -> np.ndarray:
    if tensor.dtype == dtypes.bfloat16:  # .numpy() widens bfloat16 to float32: keep the bits
        return tensor.bitcast(dtypes.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()
