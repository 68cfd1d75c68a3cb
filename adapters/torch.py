"""PyTorch adapter: samples ``torch.nn`` layer parameters and ``torch.nn.init`` functions."""

from __future__ import annotations

import operator

import ml_dtypes
import numpy as np
import torch

from initspec.adapter import Adapter, SampleRequest, Unsupported
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    is_unsupported_error,
    param_expr,
    read_param,
    resolve_target,
    split_kwargs,
)

_INIT_PREFIX = "nn.init."


class TorchAdapter(Adapter):
    name = "torch"
    spec = "torch"

    def version(self) -> str:
        return torch.__version__.split("+")[0]

    def devices(self) -> list[str]:
        return torch_devices()

    def sample(self, request: SampleRequest) -> np.ndarray:
        dtype = getattr(torch, request.dtype)
        torch.manual_seed(request.seed)  # seeds every device's generator
        draw = self._initializer if request.target.startswith(_INIT_PREFIX) else self._layer
        try:
            with torch.no_grad():
                first = draw(request, dtype)
                out = np.empty((request.count, *np.shape(first)), dtype=first.dtype)
                out[0] = first
                for i in range(1, request.count):
                    out[i] = draw(request, dtype)
        except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
            if is_unsupported_error(exc):
                raise Unsupported(str(exc).splitlines()[0]) from None
            raise
        return out

    def _initializer(self, request: SampleRequest, dtype: torch.dtype) -> np.ndarray:
        fn = _resolve(request.target)
        if request.target == "nn.init.calculate_gain":
            return np.asarray(fn(**_kwargs(fn, request)), dtype=np.float64)
        tensor = torch.empty(request.shape, dtype=dtype, device=request.device)
        result = fn(tensor, **_kwargs(fn, request))
        return _to_numpy(result if isinstance(result, torch.Tensor) else tensor)

    def _layer(self, request: SampleRequest, dtype: torch.dtype) -> np.ndarray:
        cls = _resolve(request.target)
        module = cls(**_kwargs(cls, request), device=request.device, dtype=dtype)
        for path, spec in request.assign.items():  # porting recipes: construct, then init
            build_initializer(torch.nn.init, spec, operator.attrgetter(path)(module))
        # a sum (bias_ih_l0 + bias_hh_l0) is added by torch in the parameter dtype
        return _to_numpy(read_param(request.param,
                                    lambda path: operator.attrgetter(path)(module)))

    def reproducer(self, request: SampleRequest) -> str:
        dtype = f"torch.{request.dtype}"
        lines = ["import torch", f"torch.manual_seed({request.seed})"]
        if request.target == "nn.init.calculate_gain":
            kwargs = _kwargs(torch.nn.init.calculate_gain, request)
            lines.append("x = " + call_repr("torch.nn.init.calculate_gain", kwargs))
        elif request.target.startswith(_INIT_PREFIX):
            fn = _resolve(request.target)
            lines.append(f"x = torch.empty({request.shape}, dtype={dtype}, "
                         f"device={request.device!r})")
            lines.append(call_repr(f"torch.{request.target}",
                                   _kwargs(fn, request), "x"))
        else:
            cls = _resolve(request.target)
            lines.append("m = " + call_repr(f"torch.{request.target}",
                                            _kwargs(cls, request),
                                            f"device={request.device!r}", f"dtype={dtype}"))
            lines.append(f"x = {param_expr(request.param, 'm.')}  "
                         f"# 1 of {request.count} instances")
        return "\n".join(lines)


def torch_devices() -> list[str]:
    """Every device torch can use here (shared with keras on the torch backend)."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def _resolve(target: str):
    return resolve_target(torch, target, "torch")


def _kwargs(fn, request: SampleRequest) -> dict:
    """The arguments ``fn`` takes; other names must be the entry's shape symbols."""
    return split_kwargs(request.kwargs, accepted_names(fn), request.symbols,
                        f"torch.{request.target}")


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: keep the bits, type them
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()
