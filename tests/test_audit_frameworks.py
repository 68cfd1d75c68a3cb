"""``initspec audit`` through the real CLI on real torch / Flax models (the audit sessions:
``nox -s "audit(env='transformers4')"``; skipped where the framework is not installed).

Each flag fires on a model built to have it and stays quiet on a correct one; each bad input is
one line and its exit code.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from test_cli import error_line, initspec

ROOT = Path(__file__).parent.parent
MODELS = "tests.audit_models"
XLA = {"XLA_FLAGS": "--xla_cpu_enable_concurrency_optimized_scheduler=false"}


def audit(framework: str, factory: str, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"{factory}.json"
    proc = initspec("audit", framework, f"{MODELS}:{factory}", "--instances", "3", "--json",
                    str(out), *extra, cwd=ROOT, env=XLA)
    assert proc.returncode == 0, proc.stderr
    return {p["name"]: p for p in json.loads(out.read_text())["parameters"]}


def flags(param: dict) -> list[str]:
    return [f["kind"] for f in param["flags"]]


# --------------------------------------------------------------------------- torch


def _require(name: str) -> None:
    """Skip without importing it (the engine's tests must never import an ML framework)."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed here: run the audit sessions")


@pytest.fixture(scope="module")
def torch_installed() -> None:
    _require("torch")


def test_torch_defaults_quiet(torch_installed, tmp_path) -> None:
    params = audit("torch", "linear", tmp_path, "--pictures", str(tmp_path / "pics"))
    assert all(not p["flags"] for p in params.values()), {n: p["flags"] for n, p in
                                                          params.items() if p["flags"]}
    assert params["0.weight"]["default"] == "nn.Linear.weight"
    assert params["0.weight"]["identified"]["form"] == "VarianceScaling(1/3, fan_in, uniform)"
    assert params["3.weight"]["default"].startswith("nn.Embedding.weight")  # padding row too
    assert params["4.running_var"]["identified"]["form"] == "Constant(1)"
    assert (tmp_path / "pics" / "0.weight.png").read_bytes()[:4] == b"\x89PNG"


def test_torch_flag_seed_reused(torch_installed, tmp_path) -> None:
    assert "identical" in flags(audit("torch", "seed_reused", tmp_path)["weight"])


def test_torch_flag_zero_weight(torch_installed, tmp_path) -> None:
    weight = audit("torch", "zero_weight", tmp_path)["weight"]
    assert "zeros" in flags(weight) and weight["reinit_by"].startswith("nn.init.zeros_()")


def test_torch_flag_huge_std(torch_installed, tmp_path) -> None:
    assert "far-std" in flags(audit("torch", "huge_std", tmp_path)["weight"])


def test_torch_vit_untruncated_and_cut(torch_installed, tmp_path) -> None:
    loose = audit("torch", "vit", tmp_path)
    cut = audit("torch", "vit_cut", tmp_path)
    for name in ("pos_embed", "blocks.0.qkv.weight", "blocks.1.fc1.weight"):
        assert "untruncated" in flags(loose[name]), name
        assert loose[name]["identified"]["family"] == "normal"
        assert "untruncated" not in flags(cut[name]), name
        assert cut[name]["identified"]["form"] == "TN(σ=0.02, ±2σ)"
    assert loose["blocks.0.qkv.weight"]["reinit_by"].startswith("nn.init.trunc_normal_(")
    assert loose["blocks.0.norm1.weight"]["default"] == "nn.LayerNorm.weight"


def test_torch_lazy_module_needs_input(torch_installed, tmp_path) -> None:
    params = audit("torch", "lazy", tmp_path, "--input", "2,8")
    assert params["0.weight"]["shape"] == [7, 8]
    assert params["0.weight"]["default"] == "nn.Linear.weight"


@pytest.mark.parametrize(("args", "text"), [
    (["torch", "no_such_module:f"], "no module named 'no_such_module'"),
    (["torch", f"{MODELS}:nope"], "has no 'nope'"),
    (["torch", f"{MODELS}:raises"], "the factory raised RuntimeError: boom"),
    (["torch", f"{MODELS}:not_a_module"], "returned int, not a torch.nn.Module"),
    (["torch", f"{MODELS}:linear", "--input", "2,3"], "cannot take an input of shape (2, 3)"),
    (["torch", "nocolon"], "expected module:function"),
])
def test_torch_bad_input(torch_installed, args, text) -> None:
    proc = initspec("audit", *args, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert text in error_line(proc)


# --------------------------------------------------------------------------- flax


@pytest.fixture(scope="module")
def flax_installed() -> None:
    _require("flax")


def test_flax_linen_defaults_and_init_arg(flax_installed, tmp_path) -> None:
    params = audit("flax", "flax_mlp", tmp_path)
    assert params["Dense_0/kernel"]["default"] == "linen.Dense.kernel"
    assert params["Dense_0/kernel"]["identified"]["form"] == \
        "VarianceScaling(1, fan_in, truncated_normal), cut ±2σ"
    assert params["Dense_1/kernel"]["reinit_by"] == "kernel_init=normal(stddev=0.02)"
    assert all(not p["flags"] for p in params.values())


def test_flax_flag_seed_reused(flax_installed, tmp_path) -> None:
    params = audit("flax", "flax_seed_reused", tmp_path, "--input", "2,32")
    assert "identical" in flags(params["w"])


def test_flax_module_without_input(flax_installed) -> None:
    proc = initspec("audit", "flax", f"{MODELS}:flax_seed_reused", cwd=ROOT, env=XLA)
    assert proc.returncode == 2
    assert "give --input SHAPE" in error_line(proc)
