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
    in_chunks,
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

    def primitive(self, count: int, dtype: str, device: str) -> None:
        torch_primitive(count, dtype, device)

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


def torch_primitive(count: int, dtype: str, device: str) -> None:
    """``torch.rand`` in chunks, waited for (shared with keras on the torch backend)."""
    dt = getattr(torch, dtype)
    in_chunks(count, lambda k: torch.rand(k, dtype=dt, device=device))
    if device == "cuda":
        torch.cuda.synchronize()


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


# --------------------------------------------------------------------------- initspec audit

_RECORDED_TENSOR_METHODS = ("normal_", "uniform_", "zero_", "fill_", "copy_", "log_normal_",
                            "exponential_", "cauchy_", "geometric_", "random_", "bernoulli_")


#: The recorder of the build in progress. A patched function reads it when called, not when
#: it was made: a library imported during one build keeps the patched functions it looked up
#: (transformers 5 keeps ``torch.nn.init``'s), and they must record into later builds too.
_ACTIVE: list[_InitRecorder] = []


class _InitRecorder:
    """Records every ``torch.nn.init`` function and in-place filling ``Tensor`` method applied
    to a tensor while a model is built (the outermost call only: ``kaiming_uniform_`` is one
    call, not also its inner ``uniform_``), keyed by the tensor's storage. No statistics."""

    def __init__(self) -> None:
        self.calls: dict[int, list[tuple[str, dict[str, float]]]] = {}
        self._depth = 0
        self._saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> _InitRecorder:
        _ACTIVE.append(self)
        import inspect

        for name in dir(torch.nn.init):
            fn = getattr(torch.nn.init, name)
            if name.endswith("_") and not name.startswith("_") and inspect.isfunction(fn):
                self._patch(torch.nn.init, name, fn, f"nn.init.{name}")
        for name in _RECORDED_TENSOR_METHODS:
            self._patch(torch.Tensor, name, getattr(torch.Tensor, name), f"Tensor.{name}")
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()
        _ACTIVE.remove(self)

    def _patch(self, owner: object, name: str, original, shown: str) -> None:
        import inspect

        try:
            signature = inspect.signature(original)
        except (TypeError, ValueError):
            signature = None
        def recorded(*args, **kwargs):
            if not _ACTIVE:  # kept by a library after its build: a plain call now
                return original(*args, **kwargs)
            recorder = _ACTIVE[-1]
            if recorder._depth == 0 and args and isinstance(args[0], torch.Tensor):
                recorder._record(shown, signature, args, kwargs)
            recorder._depth += 1
            try:
                return original(*args, **kwargs)
            finally:
                recorder._depth -= 1

        self._saved.append((owner, name, original))
        setattr(owner, name, recorded)

    def _record(self, shown: str, signature, args: tuple, kwargs: dict) -> None:
        tensor = args[0]
        bound: dict[str, object] = dict(kwargs)
        if signature is not None:
            try:
                b = signature.bind(*args, **kwargs)
                bound = {k: v for k, v in b.arguments.items() if k not in ("tensor", "self")}
            except TypeError:
                pass
        else:
            bound.update({f"arg{i}": v for i, v in enumerate(args[1:], 1)})
        numeric = {k: float(v) for k, v in bound.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        text = ", ".join(("" if k.startswith("arg") else f"{k}=")
                         + (f"{v:g}" if isinstance(v, float) else repr(v))
                         for k, v in bound.items() if not isinstance(v, torch.Tensor))
        storage = tensor.untyped_storage()
        part = "" if tensor.numel() * tensor.element_size() == storage.nbytes() else \
            " on a slice"
        self.calls.setdefault(storage.data_ptr(), []).append((f"{shown}({text}){part}",
                                                              numeric))


def _layer_name(module: torch.nn.Module) -> str:
    cls = type(module)
    if cls.__module__.startswith("torch.nn."):
        return f"nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _layer_attrs(module: torch.nn.Module) -> dict:
    """The layer's numeric constructor arguments (the spec's shape symbols)."""
    out = {}
    for key, value in vars(module).items():
        if key.startswith("_") or isinstance(value, bool):
            continue
        if isinstance(value, int | float) or (isinstance(value, tuple) and value and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value)):
            out[key] = value
    return out


def _build(factory, seed: int, input_shape):
    from initspec.audit.draws import AuditInputError

    torch.manual_seed(seed)
    with _InitRecorder() as recorder:
        try:
            model = factory()
        except Exception as exc:  # the user's code: any failure is theirs, said in one line
            raise AuditInputError(f"the factory raised {type(exc).__name__}: {exc}") from None
        if not isinstance(model, torch.nn.Module):
            raise AuditInputError(f"the factory returned {type(model).__name__}, not a "
                                  f"torch.nn.Module")
        if input_shape is not None:  # lazy modules create their parameters on the first call
            try:
                with torch.no_grad():
                    model(torch.zeros(tuple(input_shape)))
            except Exception as exc:
                raise AuditInputError(f"the model cannot take an input of shape "
                                      f"{tuple(input_shape)}: {type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return model, recorder.calls


def audit_draws(factory, seeds, input_shape=None) -> list:
    """``initspec audit`` hook: build the model once per seed (``torch.manual_seed`` before the
    factory runs), and return every parameter and buffer (:class:`initspec.audit.draws.ParamDraw`),
    with the init calls recorded on it during construction (those of the first build)."""
    from initspec.audit.draws import ParamDraw

    builds = [_build(factory, seed, input_shape) for seed in seeds]
    model, calls = builds[0]
    draws = []
    named = [("parameter", n, t) for n, t in model.named_parameters()] + \
            [("buffer", n, t) for n, t in model.named_buffers()]
    for kind, name, tensor in named:
        path, _, local = name.rpartition(".")
        module = model.get_submodule(path) if path else model
        values = []
        for other, _ in builds:
            t = other.get_parameter(name) if kind == "parameter" else other.get_buffer(name)
            values.append(_to_numpy(t))
        recorded = calls.get(tensor.untyped_storage().data_ptr(), [])
        dtype = str(tensor.dtype).removeprefix("torch.")
        draws.append(ParamDraw(name, kind, np.stack(values), dtype, _layer_name(module), local,
                               _layer_attrs(module), [c for c, _ in recorded],
                               [a for _, a in recorded]))
    return draws
