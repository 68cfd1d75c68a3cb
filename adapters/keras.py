"""Keras 3 adapters: ``keras.initializers`` and ``keras.layers`` parameters, one column per backend.

Keras samples the same initializer with different code on each backend
(keras/src/backend/{tensorflow,jax,torch}/random.py), hence three columns sharing one spec. The
backend is fixed when keras is first imported (``KERAS_BACKEND``), so keras is imported when an
adapter is instantiated, not at module import: the module cannot know the backend before that.

Spec conventions the adapter implements (stated in spec/frameworks/keras.yaml's header):
* ``initializers.X`` targets are called as ``X(**kwargs)(shape, dtype=dtype)``; ``layers.X``
  targets are constructed with ``dtype=`` (a dtype policy name), built with ``layer.build(input)``
  and the parameter is reached by its attribute path.
* A kwarg ``seed: generator`` becomes ``keras.random.SeedGenerator(request.seed)``.
* Every cell calls ``keras.utils.set_random_seed(request.seed)`` once, then constructs a fresh
  object per instance (``reuse``: one object called ``count`` times).
"""

from __future__ import annotations

import importlib
import inspect
import operator
import os
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import ml_dtypes
import numpy as np

from initspec.adapter import Adapter, AdapterUnavailable, SampleRequest, Unsupported
from initspec.adapters._common import (
    accepted_names,
    build_initializer,
    in_chunks,
    is_unsupported_error,
    resolve_target,
    split_kwargs,
)

_GENERATOR = "generator"  # spec value of `seed` meaning keras.random.SeedGenerator(request.seed)


def _import_keras(backend: str) -> Any:
    """keras on ``backend``: sets KERAS_BACKEND unless keras is already imported (then checks)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
    keras = importlib.import_module("keras")
    if keras.backend.backend() != backend:
        raise AdapterUnavailable(
            f"keras is already imported with backend {keras.backend.backend()!r}, not "
            f"{backend!r}: run this column in its own process (KERAS_BACKEND={backend})")
    return keras


class _KerasAdapter(Adapter):
    """Shared logic; a subclass names its backend and how it lists devices."""

    spec = "keras"
    backend: ClassVar[str]
    #: Further error texts of this backend meaning "no kernel for this dtype".
    _unsupported: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.keras = _import_keras(self.backend)

    def version(self) -> str:
        return self.keras.__version__

    def environment(self) -> dict[str, str]:
        backend = importlib.import_module(self.backend)  # already imported by keras
        return {"keras": self.version(), self.backend: backend.__version__.split("+")[0]}

    def sample(self, request: SampleRequest) -> np.ndarray:
        keras = self.keras
        keras.utils.set_random_seed(request.seed)  # python, numpy and the backend's generators
        draw = self._layer if request.target.startswith("layers.") else self._initializer
        try:
            with keras.device(request.device):
                make = draw(request)
                obj = make()
                first = self._to_numpy(obj[1]())
                out = np.empty((request.count, *first.shape), dtype=first.dtype)
                out[0] = first
                for i in range(1, request.count):
                    if not request.reuse:
                        obj = make()
                    out[i] = self._to_numpy(obj[1]())
        except Exception as exc:  # tf raises its own OpError types for missing dtype kernels
            if is_unsupported_error(exc) or any(m in str(exc) for m in self._unsupported):
                raise Unsupported(str(exc).splitlines()[0]) from None
            raise
        return out

    # Each `draw` returns make(); make() -> (object, call) where call() yields one parameter.
    # With reuse, `call` is invoked again on the same object (an initializer called twice; a
    # layer's initializer is only called once per build, so layers are never reused).

    def _seed(self, kwargs: dict[str, Any], request: SampleRequest) -> dict[str, Any]:
        if kwargs.get("seed") == _GENERATOR:
            return {**kwargs, "seed": self.keras.random.SeedGenerator(request.seed)}
        return kwargs

    def _initializer(self, request: SampleRequest) -> Callable[[], tuple[Any, Callable]]:
        cls = _resolve(self.keras, request.target)
        kwargs = _init_kwargs(cls, request)

        def make() -> tuple[Any, Callable]:
            init = cls(**self._seed(kwargs, request))
            return init, lambda: init(request.shape, dtype=request.dtype)
        return make

    def _layer(self, request: SampleRequest) -> Callable[[], tuple[Any, Callable]]:
        if request.reuse:
            raise ValueError("a layer cannot be re-initialised: reuse applies to initializers")
        cls = _resolve(self.keras, request.target)
        kwargs = _layer_kwargs(cls, request)
        # build(query_shape, value_shape) of attention layers: self-attention on the one input
        nargs = sum(p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
                    for p in inspect.signature(cls.build).parameters.values()) - 1
        shapes = [request.input_shape] * max(nargs, 1)

        def make() -> tuple[Any, Callable]:
            # porting recipes: one initializer object per layer (a shared one repeats its draws)
            inits = {arg: build_initializer(self.keras.initializers, spec)
                     for arg, spec in request.init_args.items()}
            layer = cls(**self._seed(kwargs, request), **inits, dtype=request.dtype)
            layer.build(*shapes)
            return layer, lambda: operator.attrgetter(request.param)(layer)
        return make

    def _to_numpy(self, x: Any) -> np.ndarray:
        keras = self.keras
        dtype = keras.backend.standardize_dtype(x.dtype)
        if hasattr(x, "value"):  # a keras.Variable
            x = x.value
        arr = keras.ops.convert_to_numpy(x)
        if dtype == "bfloat16" and arr.dtype != ml_dtypes.bfloat16:
            arr = arr.astype(ml_dtypes.bfloat16)  # torch's converter widens to float32: exact
        return arr

    def reproducer(self, request: SampleRequest) -> str:
        cls = _resolve(self.keras, request.target)
        is_layer = request.target.startswith("layers.")
        kwargs = (_layer_kwargs if is_layer else _init_kwargs)(cls, request)
        if kwargs.get("seed") == _GENERATOR:
            kwargs["seed"] = f"keras.random.SeedGenerator({request.seed})"
        args = ", ".join(f"{k}={v if k == 'seed' else repr(v)}" for k, v in kwargs.items())
        lines = ["import os", f"os.environ['KERAS_BACKEND'] = {self.backend!r}", "import keras",
                 f"keras.utils.set_random_seed({request.seed})",
                 f"with keras.device({request.device!r}):"]
        if is_layer:
            lines.append(f"    m = keras.{request.target}({args}{', ' if args else ''}"
                         f"dtype={request.dtype!r})")
            lines.append(f"    m.build({request.input_shape})")
            lines.append(f"    x = m.{request.param}  # 1 of {request.count} instances")
        else:
            lines.append(f"    init = keras.{request.target}({args})")
            lines.append(f"    x = init({request.shape}, dtype={request.dtype!r})"
                         + ("  # called again for the next instances" if request.reuse else ""))
        return "\n".join(lines)


def _resolve(keras: Any, target: str) -> Any:
    return resolve_target(keras, target, "keras")


def _init_kwargs(cls: type, request: SampleRequest) -> dict[str, Any]:
    """The arguments an initializer takes; other names must be the entry's shape symbols."""
    return split_kwargs(request.kwargs, accepted_names(cls), request.symbols,
                        f"keras.{request.target}")


def _layer_kwargs(cls: type, request: SampleRequest) -> dict[str, Any]:
    """The kwargs a layer class names along its ``**kwargs`` chain of ``__init__``s.

    Every keras layer takes ``**kwargs`` (forwarded to its base classes and finally rejected by
    ``Layer.__init__``), so ``accepted_kwargs`` would pass every shape symbol; the named parameters
    of the chain are what the layer accepts. ``dtype`` is the adapter's (the request's dtype).
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    names -= {"self", "dtype"}
    return split_kwargs(request.kwargs, names, request.symbols, f"keras.{request.target}")


class KerasTensorflowAdapter(_KerasAdapter):
    name = "keras-tensorflow"
    backend = "tensorflow"
    _unsupported = ("is not in the list of allowed values",)  # e.g. Qr has no bfloat16 kernel

    def devices(self) -> list[str]:
        import tensorflow as tf  # already imported by keras
        kinds = {d.device_type.lower() for d in tf.config.list_logical_devices()}
        return ["cpu", *sorted(kinds - {"cpu"})]

    def primitive(self, count: int, dtype: str, device: str) -> None:
        """The backend's own primitive, ``tf.random.uniform`` (Keras's layers sit on it)."""
        import tensorflow as tf
        with tf.device(device.upper()):
            in_chunks(count, lambda k: tf.random.uniform((k,), dtype=dtype).numpy())


class KerasJaxAdapter(_KerasAdapter):
    name = "keras-jax"
    backend = "jax"

    def __init__(self) -> None:
        super().__init__()
        from initspec.adapters import _jax  # imports jax, which only this column needs
        self._jax = _jax

    def sample(self, request: SampleRequest) -> np.ndarray:
        # 64-bit types in float64 cells only, as for the other JAX adapters (without them jax
        # silently returns float32 for a float64 request)
        return self._jax.x64_in_float64_cells(_KerasAdapter.sample)(self, request)

    def reproducer(self, request: SampleRequest) -> str:
        code = super().reproducer(request)
        if request.dtype != "float64":
            return code
        x64 = "\n".join(["import jax", *self._jax.x64_line(request.dtype), ""])
        return code.replace("import keras\n", "import keras\n" + x64, 1)

    def devices(self) -> list[str]:
        return self._jax.devices()

    def primitive(self, count: int, dtype: str, device: str) -> None:
        self._jax.primitive(count, dtype, device)


class KerasTorchAdapter(_KerasAdapter):
    name = "keras-torch"
    backend = "torch"

    def devices(self) -> list[str]:
        from initspec.adapters.torch import torch_devices  # torch is imported by keras already

        return torch_devices()

    def primitive(self, count: int, dtype: str, device: str) -> None:
        from initspec.adapters.torch import torch_primitive

        torch_primitive(count, dtype, device)



# --------------------------------------------------------------------------- initspec audit


def audit_draws(factory, seeds, input_shape=None) -> list:
    """``initspec audit`` hook (the backend is ``KERAS_BACKEND``'s): before each build,
    ``keras.utils.clear_session()`` (the same layer names every time) and
    ``keras.utils.set_random_seed(seed)``; the factory returns a built model, or ``(model, x)``
    (or a model and ``--input``) to build it by one call. Every variable of every layer is a
    :class:`~initspec.audit.draws.ParamDraw` (non-trainable ones: buffers); its layer and the
    enclosing ones (``outer``: a MultiHeadAttention's ``_query_dense.kernel``) with their
    numeric config, and the layer's ``<name>_initializer``. No statistics."""
    import keras

    from initspec.audit.draws import AuditInputError, ParamDraw, user_call

    builds = []
    for seed in seeds:
        keras.utils.clear_session()
        keras.utils.set_random_seed(seed)
        made = user_call(factory, "the factory")
        model, x = made if isinstance(made, tuple) and len(made) == 2 else (made, None)
        if not isinstance(model, keras.layers.Layer):
            raise AuditInputError(f"the factory returned {type(model).__name__}, not a keras "
                                  f"Layer or Model (or (model, x))")
        if x is None and input_shape is not None:
            x = np.ones(tuple(input_shape), np.float32)
        if x is not None:
            user_call(lambda model=model, x=x: model(x), f"the model on an input of shape "
                                                    f"{np.shape(x)}")
        if not getattr(model, "built", True):
            raise AuditInputError("the model is not built (its variables do not exist yet): "
                                  "return (model, x) from the factory or give --input SHAPE")
        builds.append(list(_keras_variables(model, [])))
    draws = []
    for i, (v, chain, init) in enumerate(builds[0]):
        values = np.stack([keras.ops.convert_to_numpy(b[i][0].value) for b in builds])
        layer, local, attrs = chain[0]
        draws.append(ParamDraw(v.path, "parameter" if v.trainable else "buffer", values,
                               str(values.dtype), layer, local, attrs, init_arg=init,
                               layout="in_out", outer=chain[1:]))
    return draws


def _keras_variables(layer: Any, outer: list) -> Any:
    """(variable, [(layer, local, attrs), innermost first], initializer text) for ``layer``'s
    own variables, then its sublayers' (depth first). ``outer``: the enclosing layers, each
    with the attribute path from it down to ``layer`` (a sublayer kept in a list has none:
    the chain stops there)."""
    cls = type(layer)
    name = f"layers.{cls.__name__}" if cls.__module__.startswith("keras.") else \
        f"{cls.__module__}.{cls.__qualname__}"
    attrs = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.get_config().items()
             if isinstance(v, int | float | bool) or (isinstance(v, list | tuple) and v and all(
                 isinstance(n, int) and not isinstance(n, bool) for n in v))}
    for v in [*layer._trainable_variables, *layer._non_trainable_variables]:
        init = getattr(layer, f"{v.name}_initializer", None)
        shown = None if init is None else f"{v.name}_initializer={type(init).__name__}(" + \
            ", ".join(f"{k}={c!r}" for k, c in init.get_config().items()
                      if isinstance(c, int | float) and not isinstance(c, bool)) + ")"
        yield v, [(name, v.name, attrs)] + [(n, f"{path}.{v.name}", at)
                                            for n, path, at in outer], shown
    for child in layer._flatten_layers(include_self=False, recursive=False):
        attr = next((k for k, c in vars(layer).items() if c is child), None)
        yield from _keras_variables(child, [] if attr is None else [
            (name, attr, attrs), *((n, f"{path}.{attr}", at) for n, path, at in outer)])
