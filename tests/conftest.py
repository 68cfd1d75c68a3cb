"""Shared fixtures for initspec's own tests (numpy/scipy only: no ML framework is imported)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy import stats

from initspec.adapter import Adapter, SampleRequest, TargetNotFound, Unsupported
from initspec.adapters._common import build_initializer, split_kwargs
from initspec.distributions import DTYPES
from initspec.loader import FrameworkSpec, load_framework, load_schemes

DATA = Path(__file__).parent / "data"
ML_FRAMEWORKS = {"torch", "tensorflow", "jax", "keras", "mlx", "paddle", "mindspore"}


@pytest.fixture(scope="session", autouse=True)
def _no_ml_framework_imported():
    """These tests exercise the engine with numpy alone: no framework may be imported."""
    yield
    leaked = sorted(ML_FRAMEWORKS & set(sys.modules))
    assert not leaked, f"the tests imported an ML framework: {leaked}"


@pytest.fixture(scope="session")
def schemes():
    """The canonical schemes of spec/schemes.yaml, loaded once."""
    return load_schemes()


@pytest.fixture(scope="session")
def fake_spec_path() -> Path:
    """tests/data/fake.yaml: one entry per family and per verdict, for the numpy fake adapter."""
    return DATA / "fake.yaml"


@pytest.fixture(scope="session")
def fake_spec(fake_spec_path: Path, schemes) -> FrameworkSpec:
    return load_framework(fake_spec_path, schemes)


@pytest.fixture(scope="session")
def fake_case(fake_spec: FrameworkSpec):
    """Look up a case of tests/data/fake.yaml by entry name (the entry's first case)."""

    def get(entry: str, index: int = 0):
        cases = [c for c in fake_spec.cases if c.entry.name == entry]
        if not cases:
            raise KeyError(f"no entry {entry!r} in {fake_spec.path}")
        return cases[index]

    return get


# --------------------------------------------------------------------------- a numpy "framework"


class FakeAdapter(Adapter):
    """Samples tests/data/fake.yaml with numpy, as a framework adapter would with its framework.

    Most targets draw what the spec says. On purpose: ``fake.Scaled`` and ``fake.Deviant`` forget
    the He gain (N(0, 1/fan_in) instead of N(0, 2/fan_in)); ``fake.Fixed`` draws correctly although
    the spec records a deviation; ``fake.Broken`` raises; ``fake.Half`` has no 16-bit kernels.
    """

    name = "fake"
    spec = "fake"
    #: The arguments a target takes, where the tests check them (others take anything).
    ACCEPTS: ClassVar[dict[str, set[str]]] = {"fake.Dense": {"in_features", "out_features", "bias"}}
    requests: ClassVar[list[SampleRequest]] = []  # what fake.Layer drew (porting recipes)

    def __init__(self, version: str = "1.0"):
        self._version = version

    def version(self) -> str:
        return self._version

    def devices(self) -> list[str]:
        return ["cpu"]

    def primitive(self, count: int, dtype: str, device: str) -> None:
        """numpy's bulk uniform: the fake framework's own primitive (the bench's limit)."""
        from initspec.adapters._common import in_chunks

        rng = np.random.default_rng(0)
        in_chunks(count, lambda k: rng.random(k, dtype=np.float64 if dtype == "float64"
                                              else np.float32))

    def sample(self, request: SampleRequest) -> np.ndarray:
        rng = np.random.default_rng(request.seed)
        kind = request.target.removeprefix("fake.").replace(".", "_")
        if kind != "BatchNorm" and not hasattr(self, f"_{kind}"):
            raise TargetNotFound(f"{request.target} does not exist")
        if request.target in self.ACCEPTS:
            split_kwargs(request.kwargs, self.ACCEPTS[request.target], request.symbols,
                         request.target)
        if kind == "BatchNorm":  # an integer buffer keeps its own dtype
            return np.zeros((request.count, *request.shape), dtype=np.int64)
        draw = getattr(self, f"_{kind}")
        out = np.stack([draw(rng, request) for _ in range(request.count)])
        return out.astype(DTYPES[request.dtype])

    def reproducer(self, request: SampleRequest) -> str:
        return f"fake.seed({request.seed})\n{request.target}(**{dict(request.kwargs)!r})"

    # one instance per call, in float64

    @staticmethod
    def _Dense(rng, request):
        if request.param == "bias":
            return np.zeros(request.shape)
        bound = 1 / math.sqrt(request.kwargs["in_features"])
        return rng.uniform(-bound, bound, request.shape)

    @staticmethod
    def _Embedding(rng, request):
        x = rng.normal(0, 1, request.shape)
        x[request.kwargs["padding_idx"]] = 0
        return x

    @staticmethod
    def _init_trunc_normal(rng, request):
        sd = math.sqrt(2 / request.shape[1]) / 0.87962566103423978
        return stats.truncnorm.rvs(-2, 2, scale=sd, size=request.shape, random_state=rng)

    @staticmethod
    def _init_orthogonal(rng, request):
        rows, cols = request.shape
        q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        return 1.5 * (q.T if rows < cols else q)

    @staticmethod
    def _init_eye(rng, request):
        return np.eye(*request.shape)

    @staticmethod
    def _init_dirac(rng, request):
        out, inp, *kernel = request.shape
        x = np.zeros(request.shape)
        groups = request.kwargs["groups"]
        per_group = out // groups
        for g in range(groups):
            for d in range(min(per_group, inp)):
                x[(g * per_group + d, d, *(k // 2 for k in kernel))] = 1
        return x

    @staticmethod
    def _init_sparse(rng, request, sparsity=0.1, std=0.01):
        rows, cols = request.shape
        x = rng.normal(0, std, request.shape)
        for c in range(cols):
            x[rng.permutation(rows)[: math.ceil(sparsity * rows)], c] = 0
        return x

    @staticmethod
    def _Shifted(rng, request):
        return rng.normal(0.5, 1, request.shape)

    @staticmethod
    def _Layer(rng, request):  # a layer taking its initializers as arguments (porting recipes)
        self = FakeAdapter
        self.requests.append(request)
        spec = request.init_args.get(f"{request.param}_init")
        if spec is None:  # no initializer given: the layer's own default, zeros
            return np.zeros(request.shape)
        return build_initializer(FAKE_INIT, spec)(rng, request.shape)

    @staticmethod
    def _Uniform(rng, request):
        return rng.uniform(-1, 1, request.shape)

    _Table = _Layer

    @staticmethod
    def _init(rng, request):  # a namespace without layers: the recipe's initializer on the shape
        FakeAdapter.requests.append(request)
        return build_initializer(FAKE_INIT, request.init_args["initializer"])(rng, request.shape)

    @staticmethod
    def _Legacy(rng, request):
        return np.ones(request.shape)

    @staticmethod
    def _Scaled(rng, request):  # the He gain forgotten: Var 1/fan_in, not 2/fan_in
        return rng.normal(0, math.sqrt(1 / request.kwargs["fan_in"]), request.shape)

    _Deviant = _Scaled

    @staticmethod
    def _Fixed(rng, request):
        return rng.normal(0, math.sqrt(2 / request.kwargs["fan_in"]), request.shape)

    @staticmethod
    def _Broken(rng, request):
        raise RuntimeError("kernel exploded\nsecond line of a long framework error")

    @staticmethod
    def _Half(rng, request):
        if request.dtype in ("float16", "bfloat16"):
            raise Unsupported(f"fake.Half has no {request.dtype} kernel")
        bound = math.sqrt(3 / request.kwargs["fan_in"])
        return rng.uniform(-bound, bound, request.shape)


class FAKE_INIT:
    """Initializers of the fake framework: each returns a function of (rng, shape)."""

    @staticmethod
    def variance_scaling(scale, mode, distribution):
        assert distribution == "uniform"

        def init(rng, shape):
            fan_in, fan_out = shape[-2], shape[-1]
            fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
            bound = math.sqrt(3 * scale / fan)
            return rng.uniform(-bound, bound, shape)
        return init

    @staticmethod
    def uniform(low, high):
        return lambda rng, shape: rng.uniform(low, high, shape)

    @staticmethod
    def normal(std):
        return lambda rng, shape: rng.normal(0, std, shape)

    @staticmethod
    def constant(value):
        return lambda rng, shape: np.full(shape, value)


@pytest.fixture
def fake_adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture(scope="session")
def fake_adapter_class() -> type[FakeAdapter]:
    return FakeAdapter


def read_run(path: Path) -> dict:
    """A results file as written (``.json.gz``) or by hand (``.json``)."""
    import json

    from initspec.results import read_text
    return json.loads(read_text(path))


def write_run(path: Path, run: dict) -> None:
    """Write an edited results file back in the format its name says."""
    import gzip
    import json
    data = json.dumps(run).encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
