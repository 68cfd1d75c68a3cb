"""Haiku adapter: samples the parameters (and state) of ``haiku`` modules and initializers.

A Haiku module creates its parameters when it is first called, from the shape and dtype of its
input, inside ``hk.transform``. An instance is ``hk.transform_with_state(f).init(key, x)`` with
``f = lambda x: Module(**kwargs)(x, ...)`` and ``x`` of the entry's ``input`` shape (all ones);
the parameter is read by its path ``module/path.name`` in the params (or state) tree, e.g.
``linear.w``, ``lstm/linear.b``, ``batch_norm/~/mean_ema.average``. Initializer entries
(``initializers.X``) call ``X(**kwargs)(shape, dtype)`` inside a transform. Every instance of a
cell goes through one compiled function (``_jax.draw``: ``jit(vmap(init))`` over keys).

Dtype: float32 is Haiku's default and needs nothing. For another dtype the input has that dtype
(most modules create parameters in ``inputs.dtype``) and the module class gets a mixed-precision
policy ``jmp.Policy(param_dtype=compute_dtype=output_dtype=dtype)``: its creator passes
``param_dtype`` to the initializer, the only route for modules whose parameters do not follow
their input (``Embed``: float32 otherwise). For the others both routes give the same bits.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

import haiku as hk
import jax
import jax.numpy as jnp
import jmp
import numpy as np

from initspec.adapter import SampleRequest, Unsupported
from initspec.adapters import _jax
from initspec.adapters._common import (
    accepted_kwargs,
    accepted_names,
    build_initializer,
    call_repr,
    is_unsupported_error,
    param_terms,
    read_param,
    resolve_target,
    split_kwargs,
)

_INIT_PREFIX = "initializers."


class HaikuAdapter(_jax.JaxFamilyAdapter):
    name = "haiku"
    spec = "haiku"

    def version(self) -> str:
        return hk.__version__

    @_jax.x64_in_float64_cells
    def sample(self, request: SampleRequest) -> np.ndarray:
        dtype = _jax.dtype(request.dtype)
        target = _resolve(request.target)
        if request.target.startswith(_INIT_PREFIX):
            if request.reuse:  # one initializer object, called for every instance
                shared = target(**_init_kwargs(target, request))
                make = lambda: shared  # noqa: E731
            else:
                make = lambda: target(**_init_kwargs(target, request))  # noqa: E731
            # the draw is the transformed function's output: apply (init would return params)
            apply = hk.transform(lambda: make()(request.shape, dtype)).apply

            def fn(key: jax.Array) -> jax.Array:
                return apply({}, key)
        else:
            if request.param is None or request.input_shape is None:
                raise Unsupported(f"{request.target}: a module entry needs `param` and `input`")
            forward = _forward(target, request)
            init = hk.transform_with_state(forward).init
            x_dtype = _input_dtype(target, dtype)
            shape = request.input_shape

            def fn(key: jax.Array) -> jax.Array:
                params, state = init(key, jnp.ones(shape, x_dtype))

                def read(path: str) -> jax.Array:  # `module/path.name` in params, else state
                    module, name = path.rsplit(".", 1)
                    tree = params if module in params and name in params[module] else state
                    return tree[module][name]

                return read_param(request.param, read)  # a sum is added in the dtype

        size = int(np.prod(request.shape, dtype=np.int64))
        try:
            with _policy(target, dtype):  # the policy must be active while draw() traces fn
                return _jax.draw(fn, request.seed, request.count, request.device, size)
        except (NotImplementedError, TypeError, ValueError) as exc:
            if is_unsupported_error(exc):  # e.g. no float16/bfloat16 QR on CPU (Orthogonal)
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise Unsupported(f"hk.{request.target} in {request.dtype}: {first}") from None
            raise

    def reproducer(self, request: SampleRequest) -> str:
        dt = f"jnp.{request.dtype}"
        lines = ["import haiku as hk", "import jax", "import jax.numpy as jnp",
                 *_jax.x64_line(request.dtype)]
        lines.append(f"key = jax.random.split(jax.random.key({request.seed}), "
                     f"{request.count})[0]  # 1 of {request.count} instances")
        target = _resolve(request.target)
        if request.target.startswith(_INIT_PREFIX):
            init = call_repr(f"hk.{request.target}", _init_kwargs(target, request))
            lines.append(f"f = hk.transform(lambda: {init}({request.shape}, {dt}))")
            lines.append("x = f.apply({}, key)")
            return "\n".join(lines)
        if request.param is None or request.input_shape is None:
            return ""
        ctor, call = _split_kwargs(target, request)
        module = call_repr(f"hk.{request.target}", ctor)
        x_dtype = "jnp.int32" if _input_dtype(target, np.float32) == jnp.int32 else dt
        if _policy_needed(target, _jax.dtype(request.dtype)):
            lines.insert(0, "import jmp")
            lines.append(f"hk.mixed_precision.set_policy(hk.{request.target}, jmp.Policy("
                         f"param_dtype={dt}, compute_dtype={dt}, output_dtype={dt}))")
        lines.append("def f(x):")
        lines.append(f"    m = {module}")
        if issubclass(target, hk.RNNCore):
            lines.append("    state = jax.tree.map(lambda s: s.astype(x.dtype), "
                         "m.initial_state(x.shape[0]))")
            lines.append("    return m(x, state)")
        else:
            args = ["x"] * _array_args(target, call) + [f"{k}={v!r}" for k, v in call.items()]
            lines.append(f"    return m({', '.join(args)})")
        lines.append(f"params, state = hk.transform_with_state(f).init("
                     f"key, jnp.ones({request.input_shape}, {x_dtype}))")
        terms = [t.rsplit(".", 1) for t in param_terms(request.param)]
        value = " + ".join(f"{{**params, **state}}[{path!r}][{name!r}]" for path, name in terms)
        lines.append(f"x = {value}  # (jax.device {request.device})")
        return "\n".join(lines)


def _resolve(target: str) -> Any:
    return resolve_target(hk, target, "hk")


def _init_kwargs(target: Any, request: SampleRequest) -> dict[str, Any]:
    return split_kwargs(request.kwargs, accepted_names(target), request.symbols,
                        f"hk.{request.target}")


def _split_kwargs(cls: type, request: SampleRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Constructor and call arguments: a module takes some settings at call time
    (``BatchNorm(...)(x, is_training=...)``); other case values must be shape symbols."""
    init, call = accepted_names(cls.__init__), accepted_names(cls.__call__)
    both = None if init is None or call is None else init | call
    kwargs = split_kwargs(request.kwargs, both, request.symbols, f"hk.{request.target}")
    ctor = accepted_kwargs(cls.__init__, kwargs)
    call = {k: v for k, v in accepted_kwargs(cls.__call__, kwargs).items() if k not in ctor}
    return ctor, call


def _array_args(cls: type, call: Mapping[str, Any]) -> int:
    """How many required positional inputs ``__call__`` takes (attention: query, key, value);
    each receives the input."""
    params = list(inspect.signature(cls.__call__).parameters.values())[1:]  # skip self
    return sum(1 for p in params
               if p.default is inspect.Parameter.empty and p.name not in call
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _forward(cls: type, request: SampleRequest) -> Any:
    ctor, call = _split_kwargs(cls, request)
    n_inputs = _array_args(cls, call)

    def forward(x: jax.Array) -> Any:
        # porting recipes: initializer arguments (w_init, b_init) from hk.initializers
        inits = {arg: build_initializer(hk.initializers, spec)
                 for arg, spec in request.init_args.items()}
        module = cls(**ctor, **inits)
        if isinstance(module, hk.RNNCore):  # a core's second input is its state: start from zeros
            # initial_state is a dtype-less jnp.zeros (float32; float64 under jax_enable_x64):
            # start in the input's dtype, as a model run in that dtype does
            state = jax.tree.map(lambda s: s.astype(x.dtype), module.initial_state(x.shape[0]))
            return module(x, state)
        return module(*[x] * n_inputs, **call)

    return forward


def _input_dtype(cls: type, dtype: Any) -> Any:
    # Embed looks up integer ids; every other module takes floating inputs.
    return jnp.int32 if isinstance(cls, type) and issubclass(cls, hk.Embed) else dtype


def _policy_needed(cls: Any, dtype: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, hk.Module) and dtype != jnp.float32


@contextlib.contextmanager
def _policy(cls: Any, dtype: Any) -> Iterator[None]:
    """Parameters in ``dtype`` for every module class, including those that ignore the input's."""
    if not _policy_needed(cls, dtype):
        yield
        return
    policy = jmp.Policy(param_dtype=dtype, compute_dtype=dtype, output_dtype=dtype)
    with hk.mixed_precision.push_policy(cls, policy):
        yield


# --------------------------------------------------------------------------- initspec audit


def audit_draws(factory, seeds, input_shape=None) -> list:
    """``initspec audit`` hook: the factory returns ``(f, x)`` (or ``f`` with ``--input``), a
    forward function (or its ``hk.transform``), initialised once per seed with
    ``jax.random.key(seed)``; every parameter is a :class:`~initspec.audit.draws.ParamDraw`,
    state a buffer. The modules seen while initialising (``hk.intercept_methods``) give each
    parameter's layer (innermost first, enclosing ones in ``outer``), named as the spec names
    its parameters (``linear.w``, ``batch_norm/~/mean_ema.average``). No statistics."""
    import re

    from initspec.audit.draws import AuditInputError, ParamDraw, user_call

    made = user_call(factory, "the factory")
    f, x = made if isinstance(made, tuple) and len(made) == 2 else (made, None)
    if x is None and input_shape is not None:
        x = jnp.ones(tuple(input_shape), jnp.float32)
    if not callable(f) or x is None:
        raise AuditInputError("a Haiku factory returns (f, x): a forward function (or its "
                              "hk.transform) and its input; or give --input SHAPE")
    init = f.init if hasattr(f, "init") else hk.transform_with_state(f).init
    seen: dict[str, Any] = {}

    def interceptor(method, args, kwargs, context):
        out = method(*args, **kwargs)
        name = getattr(context.module, "module_name", None)  # unset inside __init__
        if name:
            seen.setdefault(name, context.module)
        return out

    builds = []
    for seed in seeds:
        with hk.intercept_methods(interceptor):
            out = user_call(lambda seed=seed: init(jax.random.key(seed), x), "init")
        params, state = out if isinstance(out, tuple) else (out, {})
        builds.append([(kind, module, name, v) for kind, tree in (("parameter", params),
                                                                  ("buffer", state))
                       for module, leaves in tree.items() for name, v in leaves.items()])
    draws = []
    for i, (kind, module, name, _) in enumerate(builds[0]):
        chain = []  # (layer, local, attrs), the innermost module first
        parts = module.split("/")
        for cut in range(len(parts), 0, -1):
            owner = seen.get("/".join(parts[:cut]))
            if owner is not None:
                cls = type(owner)
                snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
                rest = "/".join(parts[cut:])
                chain.append((cls.__name__ if cls.__module__.startswith("haiku") else
                              f"{cls.__module__}.{cls.__qualname__}",
                              f"{snake}{'/' + rest if rest else ''}.{name}",
                              {k: v for k, v in vars(owner).items() if not k.startswith("_")
                               and isinstance(v, int | float | bool)}))
        layer, local, attrs = chain[0] if chain else (None, name, {})
        owner = seen.get(module)
        given = getattr(owner, f"{name}_init", None)
        values = np.stack([np.asarray(b[i][3]) for b in builds])
        draws.append(ParamDraw(f"{module}/{name}", kind, values, str(values.dtype), layer,
                               local, attrs, init_arg=None if given is None else
                               f"{name}_init={_init_text(given)}", layout="in_out",
                               outer=chain[1:]))
    return draws


def _init_text(init: Any) -> str:
    """``TruncatedNormal(stddev=0.02, mean=0.0)``: an initializer (object or function) and its
    numbers."""
    if inspect.isfunction(init):
        name = init.__qualname__.split(".<locals>")[0]
        numbers = inspect.getclosurevars(init).nonlocals
    else:
        name, numbers = type(init).__name__, vars(init)
    shown = ", ".join(f"{k}={v!r}" for k, v in numbers.items()
                      if isinstance(v, int | float | str) and not isinstance(v, bool))
    return f"{name}({shown})"
