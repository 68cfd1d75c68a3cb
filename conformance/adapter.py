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
from packaging.version import InvalidVersion, Version

ENTRY_POINT_GROUP = "initspec.adapters"


@dataclass(frozen=True)
class SampleRequest:
    """One draw request, framework-neutral.

    target: what to call, as the spec names it (``"nn.Linear"``, ``"nn.init.orthogonal_"``).
    param: dotted path of the parameter inside the constructed layer; None for initializers.
    kwargs: the spec's arguments for this case (fixed ones and the case's own).
    symbols: the names in ``kwargs`` that the entry uses as shape symbols in its formulas; the
        adapter may drop those the target does not take. Any other name the target does not take
        is a misspelt argument: raise :class:`UnknownArgument` (``adapters._common.split_kwargs``
        does this).
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
    entry: the spec entry this request serves (its ``name``, e.g. ``"nn.Linear.weight"``), so an
        adapter need not work out which entry it is drawing for.
    cell_id: the cell's id (``column-version/device/dtype/entry[case]``), for logs and errors.
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
    symbols: frozenset[str] = frozenset()
    init_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    assign: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    entry: str = ""
    cell_id: str = ""


class Unsupported(Exception):
    """The framework cannot produce this cell (dtype, device or target); it is skipped, visibly."""


class AdapterUnavailable(Exception):
    """The adapter or its framework cannot be loaded; the message is one line."""


class AdapterNotFound(AdapterUnavailable):
    """No adapter is registered under that name (a usage error, not the environment's)."""


class SpecMismatch(Exception):
    """The spec asks for something the framework does not have (the spec's fault, bad input).

    ``field`` names what is wrong: ``"target"``, or the argument's name in ``kwargs``; the engine
    turns it into the spec's file:line:field.
    """

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class TargetNotFound(SpecMismatch):
    """The spec's ``target`` does not exist in the framework (``nn.Linearr``)."""

    def __init__(self, message: str):
        super().__init__(message, "target")


class UnknownArgument(SpecMismatch):
    """A case or fixed argument the target does not take and the entry uses in no formula."""


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

    def primitive(self, count: int, dtype: str, device: str) -> None:
        """Draw ``count`` uniform values of ``dtype`` on ``device`` with the framework's own bulk
        primitive (``torch.rand``, ``jax.random.uniform``, ...) and wait until they exist: the
        bench's physical limit, what drawing the suite's values costs at least in this framework.
        Optional: raise :class:`Unsupported` (the default) and the bench says there is none."""
        raise Unsupported(f"{self.name} states no bulk primitive (Adapter.primitive)")

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
        raise AdapterNotFound(f"no adapter named {name!r} is installed (installed: {known})")
    ep = matches[0]
    where = f"adapter {name!r} ({ep.value})"
    try:
        cls = ep.load()
    except ImportError as exc:
        raise AdapterUnavailable(f"{where} cannot import its framework: {exc} ({_hint(ep)})") \
            from None
    except AttributeError as exc:  # the module imports but names no such class
        raise AdapterUnavailable(f"{where} cannot be loaded: {exc}") from None
    except Exception as exc:  # a third party's module failing at import: one line, not a crash
        raise AdapterUnavailable(f"{where} failed to import: {type(exc).__name__}: "
                                 f"{_first_line(exc)}") from None
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise AdapterUnavailable(f"{where} is not a subclass of initspec.adapter.Adapter")
    try:
        adapter = cls()
    except ImportError as exc:
        raise AdapterUnavailable(f"{where} cannot import its framework: {exc} ({_hint(ep)})") \
            from None
    except Exception as exc:
        raise AdapterUnavailable(f"{where} raised on construction: {type(exc).__name__}: "
                                 f"{_first_line(exc)}") from None
    try:
        version = adapter.version()
        if not isinstance(version, str):
            raise InvalidVersion
        Version(version)
    except InvalidVersion:
        raise AdapterUnavailable(f"{where}: version() returned {version!r}, "
                                 "not a PEP 440 version") from None
    except Exception as exc:
        raise AdapterUnavailable(f"{where}: version() raised {type(exc).__name__}: "
                                 f"{_first_line(exc)}") from None
    return adapter


# The project's own adapters and the extra that installs each one's framework (pyproject.toml).
_EXTRAS = {"torch": "torch", "keras-tensorflow": "tensorflow", "tf-compat-v1": "tensorflow",
           "keras-jax": "keras-jax", "keras-torch": "keras-torch", "jax": "jax", "flax": "jax",
           "equinox": "jax", "haiku": "jax", "mlx": "mlx", "tinygrad": "tinygrad",
           "paddle": "paddle"}


def _hint(ep: Any) -> str:
    """How to install what is missing: the project's extra for its own adapters only."""
    if ep.value.startswith("initspec.adapters.") and ep.name in _EXTRAS:
        return f"install it: `pip install 'initspec[{_EXTRAS[ep.name]}]'`"
    dist = getattr(getattr(ep, "dist", None), "name", None)
    return f"install what {dist or 'the package providing it'} needs"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
