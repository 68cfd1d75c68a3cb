"""What an adapter hook hands the audit: one parameter or buffer, drawn once per instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_BUDGET = 1e-2  # family-wise, per audit or comparison
DEFAULT_INSTANCES = 5


@dataclass
class ParamDraw:
    """One parameter (or buffer) of a model, from ``K`` independently seeded builds.

    name: the framework's own path (torch ``encoder.layer.0.attention.self.query.weight``, Flax
        ``encoder/layer/0/attention/self/query/kernel``).
    values: shape ``(K, *shape)``, one row per instance, in the parameter's dtype.
    layer: the layer's spec target (``nn.Linear``, ``linen.Dense``), None when unknown.
    local: the parameter's path inside that layer, as the spec's ``param`` names it.
    attrs: the layer's numeric constructor arguments (``in_features``, ``kernel_size``, ...): the
        symbols of the spec's formulas for that layer.
    calls: initialisation calls recorded on this tensor while the model was built, in order
        (``nn.init.trunc_normal_(std=0.02)``, ``Tensor.normal_(mean=0.0, std=0.02)``), with their
        numeric arguments in ``call_args`` (same order); empty when the framework cannot record.
    init_arg: for frameworks whose layers take an initializer argument (Flax), its name.
    layout: ``out_in`` (torch: ``(out, in, *k)``) or ``in_out`` (Keras/JAX: ``(*k, in, out)``).
    outer: the enclosing layers, innermost first, as ``(layer, local, attrs)``: the audit
        takes the first of ``(layer, local, attrs)`` and these that has a spec entry (a Haiku
        ``BatchNorm``'s ``batch_norm/~/mean_ema.average``, whose own module is a moving
        average; a Keras ``MultiHeadAttention``'s ``_query_dense.kernel``).
    """

    name: str
    kind: str  # "parameter" | "buffer"
    values: np.ndarray
    dtype: str
    layer: str | None = None
    local: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    call_args: list[dict[str, float]] = field(default_factory=list)
    init_arg: str | None = None
    layout: str = "out_in"
    outer: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])


class AuditInputError(ValueError):
    """The model or its input cannot be built as asked (one line for the user, exit 2)."""


def user_call(fn: Callable[[], Any], what: str) -> Any:
    """``fn()``, the user's code (a factory, a first call): its failure becomes one line,
    ``<what> raised <Error>: <first line>``, for the adapters' audit hooks."""
    try:
        return fn()
    except Exception as exc:
        raise AuditInputError(f"{what} raised {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
