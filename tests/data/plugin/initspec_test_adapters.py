"""Third-party adapters for the CLI tests, registered by the dist-info folder next to this file
(tests/test_cli.py puts tests/data/plugin on PYTHONPATH): the numpy FakeAdapter of
tests/conftest.py as column ``fake``, and adapters that break the contract in one way each."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: its conftest.py

import numpy as np
from conftest import FakeAdapter


class FakeColumn(FakeAdapter):
    def __init__(self) -> None:
        super().__init__()


class SecondColumn(FakeColumn):
    """Another column of the same fake framework: a second CI job (tests/test_ci_matrix.py)."""

    name = "fake-second"


class ListAdapter(FakeColumn):
    name = "fake-list"

    def sample(self, request):
        return super().sample(request).tolist()  # a list, not a numpy array


class BadVersionAdapter(FakeColumn):
    name = "fake-badversion"

    def version(self) -> str:
        return "one point oh"


class RaisingAdapter(FakeColumn):
    name = "fake-raises"

    def __init__(self) -> None:
        raise RuntimeError("no licence server")


class HangingAdapter(FakeColumn):
    """Never returns from one target's sampling, as jaxlib 0.10.2 did in a batched Flax LSTMCell
    init (a deadlock in native code): the watchdog's test."""

    name = "fake-hangs"

    def sample(self, request):
        if request.target == "fake.Dense":
            threading.Event().wait()  # blocks forever, like a deadlocked native call
        return super().sample(request)


class CacheSensitiveAdapter(FakeColumn):
    """Draws one ulp higher when a compilation cache is configured: a fast path that does not
    draw what the plain one does, which ``initspec bench --check-cache`` must catch."""

    name = "fake-cache-sensitive"

    def sample(self, request):
        values = super().sample(request)
        if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
            values = np.nextafter(values, np.inf)
        return values


class NoPrimitiveAdapter(FakeColumn):
    """States no bulk primitive (the Adapter default): the bench says so instead of a ratio."""

    name = "fake-no-primitive"

    def primitive(self, count, dtype, device):
        from initspec.adapter import Adapter

        return Adapter.primitive(self, count, dtype, device)
