"""Helpers shared by the JAX-family adapters (jax, flax, equinox, haiku): devices, dtypes, keys and
batched draws. No statistics.

Initialising a module costs a trace, so every instance of a cell is drawn through one compiled
function: ``jax.jit(jax.vmap(init))`` over ``count`` keys split from the cell's seed, in chunks of
equal size (one compilation per cell, bounded memory).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

from initspec.adapter import Adapter
from initspec.adapters._common import in_chunks

_Sample = TypeVar("_Sample", bound=Callable[..., np.ndarray])

#: Values drawn per compiled call at most (keeps a chunk's output around 0.5 GB in float64).
MAX_VALUES_PER_CALL = 1 << 26


class JaxFamilyAdapter(Adapter):
    """Base of the adapters built on jax: jax's devices, and jax's versions in the results."""

    def devices(self) -> list[str]:
        return devices()

    def environment(self) -> dict[str, str]:
        return {self.spec: self.version(), "jax": jax.__version__, "jaxlib": jaxlib.__version__}

    def primitive(self, count: int, dtype: str, device: str) -> None:
        primitive(count, dtype, device)


def x64_in_float64_cells(sample: _Sample) -> _Sample:
    """Decorates an adapter's ``sample``: 64-bit types are enabled in float64 cells only.

    Not globally: ``jax_enable_x64`` changes framework defaults (a dtype-less ``jnp.zeros`` becomes
    float64: Haiku's LSTM state, and with it its parameters), so every other cell runs with
    jax's defaults, as users do.
    """

    @functools.wraps(sample)
    def wrapper(self: Any, request: Any) -> np.ndarray:
        with jax.enable_x64(request.dtype == "float64"):
            return sample(self, request)

    return wrapper  # type: ignore[return-value]


def x64_line(dtype: str) -> list[str]:
    """The reproducer line a float64 cell needs (64-bit types are off by default)."""
    return ['jax.config.update("jax_enable_x64", True)'] if dtype == "float64" else []


def version() -> str:
    return jax.__version__


def devices() -> list[str]:
    """Every platform jax can use here: cpu always, then gpu/tpu when present."""
    found = ["cpu"]
    for platform in ("gpu", "tpu"):
        try:
            if jax.devices(platform):
                found.append(platform)
        except RuntimeError:  # no such backend
            pass
    return found


def dtype(name: str) -> jnp.dtype:
    return jnp.dtype(name)


def draw(fn: Callable[[jax.Array], Any], seed: int, count: int, device: str,
         size: int) -> np.ndarray:
    """``count`` independent outputs of ``fn(key)`` (one array each), stacked: (count, ...).

    ``fn`` maps one PRNG key to one instance's parameter; ``size`` is its number of elements
    (to size the chunks). Keys: ``jax.random.split(jax.random.key(seed), count)``.
    """
    target = jax.devices(device)[0]
    keys = jax.random.split(jax.random.key(seed), count)
    per_call = max(1, min(count, MAX_VALUES_PER_CALL // max(size, 1)))
    batched = jax.jit(jax.vmap(fn))
    parts = []
    with jax.default_device(target):
        keys = jax.device_put(keys, target)
        for start in range(0, count, per_call):
            chunk = keys[start:start + per_call]
            if chunk.shape[0] < per_call:  # pad the last chunk: same shape, no recompilation
                pad = jax.random.split(jax.random.key(seed ^ 0x5EED), per_call - chunk.shape[0])
                chunk = jnp.concatenate([chunk, jax.device_put(pad, target)])
            parts.append(np.asarray(batched(chunk)))
    return np.concatenate(parts)[:count]


def primitive(count: int, dtype: str, device: str) -> None:
    """``jax.random.uniform`` in chunks, each one compiled call (compiled once per size); shared
    with keras on the jax backend."""
    with jax.enable_x64(dtype == "float64"), jax.default_device(jax.devices(device)[0]):
        key = jax.random.key(0)
        draw = jax.jit(jax.random.uniform, static_argnums=(1, 2))
        in_chunks(count, lambda k: draw(key, (k,), jnp.dtype(dtype)).block_until_ready())


def to_numpy(x: Any) -> np.ndarray:
    """A jax array as numpy; bfloat16 stays ``ml_dtypes.bfloat16`` (jax's own numpy type)."""
    return np.asarray(x)
