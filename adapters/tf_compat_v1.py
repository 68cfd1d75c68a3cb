"""TensorFlow 1-style API adapter: ``tf.compat.v1`` initializers, get_variable, legacy layers.

Targets are dotted paths below ``tf`` (``compat.v1.random_uniform_initializer``). Three kinds:

* initializer factories (classes such as ``compat.v1.variance_scaling_initializer`` or
  functions such as ``compat.v1.initializers.he_normal``): constructed with the case kwargs they
  accept, then called as ``init(shape, dtype=dtype)``, the TF2 way of passing the dtype;
* variable creators (``compat.v1.get_variable``: a callable taking ``shape``): called with the
  kwargs it accepts, ``shape=`` and ``dtype=``, and no initializer;
* legacy layers (``compat.v1.layers.Dense``, an entry with a ``param``): constructed with the
  kwargs they name, built on ``request.input_shape``, the parameter read by ``param``. Porting
  recipes add initializer arguments (``request.init_args``), built in ``tf.compat.v1`` afresh
  for every layer.

Everything runs eagerly, as TF2 does; the global generator is seeded once per cell with
``tf.random.set_seed``.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

# Under Keras 3, tf.compat.v1.layers raises "`dense` is not available with Keras 3". With
# TF_USE_LEGACY_KERAS=1 it is this module (tensorflow/_api/v2/compat/v1/__init__.py points
# `layers` at tf_keras.api._v1.keras.__internal__.legacy.layers). Importing it directly needs no
# environment variable, which would switch the keras-tensorflow column to tf_keras as well.
from tf_keras.api._v1.keras.__internal__.legacy import layers as _legacy_layers

from initspec.adapter import Adapter, SampleRequest, Unsupported
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    call_repr,
    in_chunks,
    resolve_target,
    split_kwargs,
)

_LAYERS_PREFIX = "compat.v1.layers."
_DEVICE_TYPES = {"CPU": "cpu", "GPU": "gpu", "TPU": "tpu"}
# TF's wording when a kernel is not registered for a dtype (e.g. Qr for bfloat16).
_UNSUPPORTED_MARKERS = ("is not in the list of allowed values", "No registered",
                        "Could not find device for node")

tf.get_logger().setLevel("ERROR")  # the compat.v1 deprecation warnings, once per target


class TFCompatV1Adapter(Adapter):
    name = "tf-compat-v1"
    spec = "tf-compat-v1"

    def version(self) -> str:
        return tf.__version__.split("+")[0]

    def devices(self) -> list[str]:
        found = []
        for dev in tf.config.list_logical_devices():
            name = _DEVICE_TYPES.get(dev.device_type, dev.device_type.lower())
            if name not in found:
                found.append(name)
        return found

    def primitive(self, count: int, dtype: str, device: str) -> None:
        with tf.device(_tf_device(device)):
            in_chunks(count, lambda k: tf.random.uniform((k,), dtype=dtype).numpy())

    def sample(self, request: SampleRequest) -> np.ndarray:
        dtype = tf.as_dtype(request.dtype)
        tf.random.set_seed(request.seed)
        try:
            with tf.device(_tf_device(request.device)):
                draw = self._draw_fn(request, dtype)
                first = _to_numpy(draw())
                out = np.empty((request.count, *first.shape), dtype=first.dtype)
                out[0] = first
                for i in range(1, request.count):
                    out[i] = _to_numpy(draw())
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            text = str(exc)
            if any(marker in text for marker in _UNSUPPORTED_MARKERS):
                raise Unsupported(text.splitlines()[0][:200]) from None
            raise
        return out

    def _draw_fn(self, request: SampleRequest, dtype: tf.DType) -> Callable[[], Any]:
        """A no-argument function returning one fresh instance."""
        target = _resolve(request.target)
        kwargs = _call_kwargs(target, request)
        if request.param is not None:
            input_shape = request.input_shape
            if input_shape is None:
                raise ValueError(f"{request.target}: a layer entry needs `input`")

            def layer() -> Any:
                inits = {arg: build_initializer(tf.compat.v1, spec)  # one per layer
                         for arg, spec in request.init_args.items()}
                module = target(**kwargs, **inits, dtype=dtype)
                module.build(input_shape)
                return operator.attrgetter(request.param)(module)
            return layer
        if "shape" in inspect.signature(target).parameters:  # a variable creator (get_variable)
            return lambda: target(**kwargs, shape=request.shape, dtype=dtype)
        if request.reuse:
            init = target(**kwargs)
            return lambda: init(request.shape, dtype=dtype)
        return lambda: target(**kwargs)(request.shape, dtype=dtype)

    def reproducer(self, request: SampleRequest) -> str:
        target = _resolve(request.target)
        kwargs = _call_kwargs(target, request)
        dtype = f"tf.{request.dtype}"
        lines = ["import tensorflow as tf", f"tf.random.set_seed({request.seed})",
                 f"with tf.device({_tf_device(request.device)!r}):"]
        if request.param is not None:
            lines[1:1] = ["from tf_keras.api._v1.keras.__internal__.legacy import layers"
                          "  # = tf.compat.v1.layers under TF_USE_LEGACY_KERAS=1"]
            name = "layers." + request.target.removeprefix(_LAYERS_PREFIX)
            lines.append("    m = " + call_repr(name, kwargs, f"dtype={dtype}"))
            lines.append(f"    m.build({request.input_shape})")
            lines.append(f"    x = m.{request.param}  # 1 of {request.count} instances")
        elif "shape" in inspect.signature(target).parameters:
            lines.append("    x = " + call_repr(f"tf.{request.target}", kwargs,
                                                 f"shape={list(request.shape)}", f"dtype={dtype}"))
        else:
            lines.append("    init = " + call_repr(f"tf.{request.target}", kwargs))
            how = "the same object" if request.reuse else "a fresh object"
            lines.append(f"    x = init({list(request.shape)}, dtype={dtype})"
                         f"  # 1 of {request.count} instances, each from {how}")
        return "\n".join(lines)


def _resolve(target: str) -> Any:
    if target.startswith(_LAYERS_PREFIX):
        return resolve_target(_legacy_layers, target.removeprefix(_LAYERS_PREFIX),
                              "tf." + _LAYERS_PREFIX.rstrip("."))
    return resolve_target(tf, target, "tf")


def _call_kwargs(target: Any, request: SampleRequest) -> dict[str, Any]:
    name = f"tf.{request.target}"
    if request.param is None:
        return split_kwargs(request.kwargs, accepted_names(target), request.symbols, name)
    # Keras layers take **kwargs (base-Layer options) and reject unknown names, so only the
    # arguments the constructor names are passed; the other case values are shape symbols.
    named = {n for n, p in inspect.signature(target).parameters.items()
             if p.kind is not inspect.Parameter.VAR_KEYWORD}
    return split_kwargs(request.kwargs, named, request.symbols, name)


def _tf_device(device: str) -> str:
    return f"/{device.upper()}:0"


def _to_numpy(value: Any) -> np.ndarray:
    # bfloat16 tensors come back as ml_dtypes.bfloat16 arrays already (TF uses ml_dtypes).
    return np.asarray(tf.convert_to_tensor(value).numpy())
