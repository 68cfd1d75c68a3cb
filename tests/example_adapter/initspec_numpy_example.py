"""A third-party adapter, worked end to end: a numpy "framework" registered with initspec.

What a third party writes (the README's *Writing an adapter* points here):

1. a subclass of :class:`initspec.adapter.Adapter` (this file): ``name`` is the column,
   ``spec`` the framework the spec file describes; ``sample`` returns ``request.count``
   independent instances, shape ``(count, *request.shape)``, in the requested dtype;
2. a spec file (``numpy-example.yaml``): what each target should draw;
3. an entry point in the group ``initspec.adapters`` (here the ``.dist-info`` folder next to this
   file, which a ``pyproject.toml`` would generate from
   ``[project.entry-points."initspec.adapters"]``
   ``numpy-example = "initspec_numpy_example:NumpyExample"``).

Then ``initspec run --framework numpy-example --spec numpy-example.yaml``.

The request names the spec entry it serves (``request.entry``) and the cell (``request.cell_id``),
so the adapter dispatches on the target and need not guess which entry is meant.

For initspec's own mutation self-test (tests/test_mutation.py) the class also draws deliberately
broken initializers, selected by name (``NumpyExample(mutant=...)`` or the environment variable
``INITSPEC_EXAMPLE_MUTANT``); each mutant breaks one entry and the run must name the check that
catches it. A real adapter has none of this.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import ml_dtypes
import numpy as np

from initspec.adapter import Adapter, SampleRequest, TargetNotFound, Unsupported

DTYPES = {"float32": np.float32, "float64": np.float64, "bfloat16": ml_dtypes.bfloat16}
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) cut at ±2: the variance correction


# --------------------------------------------------------------------------- the "framework"


def _truncated(rng: np.random.Generator, std: float, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, std²) cut at ±2·std, by rejection (exact; scipy's truncnorm.rvs is ~50x slower)."""
    size = math.prod(shape)
    kept = np.empty(0)
    while kept.size < size:
        x = rng.standard_normal(size + size // 10 + 16)
        kept = np.concatenate((kept, x[np.abs(x) <= 2]))
    return std * kept[:size].reshape(shape)


def _dense(rng: np.random.Generator, request: SampleRequest, mutant: str | None) -> np.ndarray:
    out_features, in_features = request.kwargs["out_features"], request.kwargs["in_features"]
    if request.param == "bias":
        if mutant == "bias-not-zero":  # |x| <= 1e-3, not 0
            return rng.uniform(-1e-3, 1e-3, out_features)
        return np.zeros(out_features)
    fan = out_features if mutant == "fan-out" else in_features
    bound = 1 / math.sqrt(fan)
    return rng.uniform(-bound, bound, (out_features, in_features))


def _normal(rng: np.random.Generator, request: SampleRequest, mutant: str | None) -> np.ndarray:
    std = 0.05
    shape = request.shape
    scale = {"variance+2%": 1.02, "variance-2%": 0.98, "variance+1%": 1.01,
             "variance-1%": 0.99}.get(mutant or "", 1.0)
    std *= math.sqrt(scale)
    if mutant == "uniform-for-normal":  # the same variance, the wrong law
        half = std * math.sqrt(3)
        return rng.uniform(-half, half, shape)
    if mutant == "truncated-for-normal":  # a corrected truncated normal: the same variance
        return _truncated(rng, std / TRUNCATED_STD, shape)
    x = rng.normal(0, std, shape)
    if mutant == "outliers-1e-5-at-6sigma":  # 1 value in 10^5 replaced by ±6σ
        hit = rng.random(shape) < 1e-5
        x[hit] = 6 * std * np.sign(rng.standard_normal(int(hit.sum())))
    if mutant == "rows-copy-previous":  # each row repeats the previous one with probability 0.01
        for i in np.flatnonzero(rng.random(shape[0]) < 0.01):
            if i:
                x[i] = x[i - 1]
    return x


def _uniform(rng: np.random.Generator, request: SampleRequest, mutant: str | None) -> np.ndarray:
    if mutant == "normal-for-uniform":  # N(0, 0.05²/3): the variance of U(±0.05)
        return rng.normal(0, 0.05 / math.sqrt(3), request.shape)
    return rng.uniform(-0.05, 0.05, request.shape)


def _truncated_normal(rng: np.random.Generator, request: SampleRequest,
                      mutant: str | None) -> np.ndarray:
    std = math.sqrt(1 / request.shape[1])
    if mutant == "normal-for-truncated":  # a plain normal of the same variance: not cut
        return rng.normal(0, std, request.shape)
    if mutant != "truncation-uncorrected":
        std /= TRUNCATED_STD
    return _truncated(rng, std, request.shape)


def _orthogonal(rng: np.random.Generator, request: SampleRequest,
                mutant: str | None) -> np.ndarray:
    rows, cols = request.shape
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    if mutant != "orthogonal-no-sign-correction":  # Q·sign(diag R) is Haar; Q alone is not
        q = q * np.sign(np.diag(r))
    gain = 1.01 if mutant == "orthogonal-gain+1%" else 1.0
    return gain * (q.T if rows < cols else q)


TARGETS: dict[str, Callable[..., np.ndarray]] = {
    "npx.Dense": _dense, "npx.init.normal": _normal, "npx.init.uniform": _uniform,
    "npx.init.truncated_normal": _truncated_normal, "npx.init.orthogonal": _orthogonal,
}

# mutant -> the spec entry it breaks (the others are drawn correctly)
MUTANTS: dict[str, str] = {
    "variance+2%": "init.normal", "variance-2%": "init.normal",
    "variance+1%": "init.normal", "variance-1%": "init.normal",
    "uniform-for-normal": "init.normal", "normal-for-uniform": "init.uniform",
    "truncated-for-normal": "init.normal", "normal-for-truncated": "init.truncated_normal",
    "truncation-uncorrected": "init.truncated_normal", "fan-out": "Dense.weight",
    "bias-not-zero": "Dense.bias", "one-ulp-beyond-bound": "init.uniform",
    "outliers-1e-5-at-6sigma": "init.normal", "one-outlier-at-7.5sigma": "init.normal",
    "rows-copy-previous": "init.normal", "identical-instances": "init.normal",
    "orthogonal-gain+1%": "init.orthogonal", "orthogonal-no-sign-correction": "init.orthogonal",
}


class NumpyExample(Adapter):
    name = "numpy-example"
    spec = "numpy-example"

    def __init__(self, mutant: str | None = None) -> None:
        mutant = mutant or os.environ.get("INITSPEC_EXAMPLE_MUTANT") or None
        if mutant is not None and mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {mutant!r} (known: {', '.join(MUTANTS)})")
        self.mutant = mutant

    def version(self) -> str:
        return "0.1"

    def devices(self) -> list[str]:
        return ["cpu"]

    def sample(self, request: SampleRequest) -> np.ndarray:
        draw = TARGETS.get(request.target)
        if draw is None:
            raise TargetNotFound(f"{request.target} does not exist in npx")
        if request.dtype not in DTYPES:
            raise Unsupported(f"npx has no {request.dtype}")
        mutant = self.mutant if MUTANTS.get(self.mutant or "") == request.entry else None
        rng = np.random.default_rng(request.seed)
        if mutant == "identical-instances":  # a seed reused for every fresh instance
            one = draw(rng, request, None)
            out = np.stack([one] * request.count)
        else:
            out = np.stack([draw(rng, request, mutant) for _ in range(request.count)])
        out = out.astype(DTYPES[request.dtype])
        if mutant == "one-ulp-beyond-bound":  # one value of the whole sample past 0.05
            bound = np.asarray(0.05, dtype=out.dtype)
            out.flat[0] = np.nextafter(bound, np.asarray(1, dtype=out.dtype))
        if mutant == "one-outlier-at-7.5sigma":  # one value of the whole sample
            out.flat[0] = 7.5 * 0.05
        return out

    def reproducer(self, request: SampleRequest) -> str:
        return (f"rng = numpy.random.default_rng({request.seed})\n"
                f"{request.target}(rng, **{dict(request.kwargs)!r})  # {request.cell_id}")
