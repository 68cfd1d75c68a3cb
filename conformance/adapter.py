"""The adapter interface: how initspec asks a framework for samples. Public API.

An adapter turns a :class:`SampleRequest` into a numpy array of shape ``(count, *shape)``: ``count``
independent draws of one parameter (a fresh layer instance, or a fresh call of an initializer,
each). It does no statistics. Third-party adapters register a subclass of :class:`Adapter` under
the entry-point group ``initspec.adapters``; the entry-point name is the column name.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

import numpy as np

ENTRY_POINT_GROUP = "initspec.adapters"


@dataclass(frozen=True)
class SampleRequest:
    """One draw request, framework-neutral.

    target: what to call, as the spec names it (``"nn.Linear"``, ``"nn.init.orthogonal_"``).
    param: dotted path of the parameter inside the constructed layer; None for initializers.
    kwargs: the spec's arguments for this case (fixed ones and the case's own; case values
        the target does not accept are shape symbols and may be ignored).
    shape: the expected parameter shape; initializers fill a tensor of this shape.
    count: how many independent instances to draw.
    device, dtype: where and in which dtype ("float32", "float64", "float16", "bfloat16").
    seed: seed the framework's generator with this once, then draw all instances.
    input_shape: the input (batch dimension included) a layer is built / initialised with, for
        frameworks that create parameters from an input; None when the spec gives none.
    reuse: draw every instance from ONE constructed object (an initializer called ``count``
        times: reproducibility entries); otherwise each instance comes from a fresh object.
    init_args: layer argument -> initializer, as structured data ``{"call": name, "args": [...],
        "kwargs": {...}}``: the adapter resolves ``name`` in its framework's initializer namespace
        (``adapters._common.build_initializer``) and passes a fresh object per instance (porting
        recipes, conformance/recipes.py).
    assign: parameter path -> initializer (same structure), applied to the parameter after the
        layer is constructed, for frameworks whose layers take no initializer (torch, Equinox).
    """

    target: str
    param: str | None
    kwargs: Mapping[str, Any]
    shape: tuple[int, ...]
    count: int
    device: str
    dtype: str
    seed: int
    input_shape: tuple[int, ...] | None = None
    reuse: bool = False
    init_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    assign: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class Unsupported(Exception):
    """The framework cannot produce this cell (dtype, device or target); it is skipped, visibly."""


class AdapterUnavailable(Exception):
    """The adapter or its framework cannot be loaded; the message is one line."""


class Adapter(abc.ABC):
    """Base class of framework adapters."""

    #: Column name in the table, e.g. "torch" or "keras-jax".
    name: ClassVar[str]
    #: Which spec file describes it: spec/frameworks/<spec>.yaml.
    spec: ClassVar[str]

    @abc.abstractmethod
    def version(self) -> str:
        """The framework's version (PEP 440, no local part)."""

    @abc.abstractmethod
    def devices(self) -> list[str]:
        """Every device the framework reports as usable here, e.g. ["cpu", "cuda"]."""

    @abc.abstractmethod
    def sample(self, request: SampleRequest) -> np.ndarray:
        """Return ``request.count`` independent draws, shape ``(count, *param_shape)``.

        float16/bfloat16 come back in that dtype (``ml_dtypes.bfloat16`` for bfloat16); integer
        buffers in their own dtype. Raise :class:`Unsupported` for what the framework can't do.
        """

    def reproducer(self, request: SampleRequest) -> str:
        """A few lines of framework code that reproduce the first draw of ``request``."""
        return ""

    def environment(self) -> dict[str, str]:
        """Versions of everything that decides the draws (framework, backend, ...), for the
        results envelope; by default just the framework's."""
        return {self.spec: self.version()}


def available_adapters() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def load_adapter(name: str) -> Adapter:
    """Instantiate the adapter registered as ``name``; one-line AdapterUnavailable otherwise."""
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_adapters()) or "none"
        raise AdapterUnavailable(f"no adapter named {name!r} is installed (installed: {known})")
    try:
        cls = matches[0].load()
        return cls()
    except ImportError as exc:
        raise AdapterUnavailable(
            f"adapter {name!r} cannot import its framework: {exc} "
            f"(install it, e.g. `pip install 'initspec[{name}]'`)"
        ) from None
