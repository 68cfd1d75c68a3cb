"""``initspec audit`` through the real CLI on real models (the audit sessions:
``nox -s "audit(env='transformers4')"``: transformers 4.57's torch and Flax classes, the Flax,
Equinox, Haiku and Keras (on JAX) hooks; ``audit(env='transformers5')``: transformers 5's torch
classes and the torch hook, at the same torch 2.13.0; each test skips where its framework is not
installed).

Each flag fires on a model built to have it and stays quiet on a correct one; each bad input is
one line and its exit code; the transformers models show what reports/audit/ reports.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from test_cli import error_line, initspec

ROOT = Path(__file__).parent.parent
MODELS = "tests.audit_models"
SESSION = "INITSPEC_AUDIT_ENV"  # the nox audit session's environment, set by the noxfile
XLA = {"XLA_FLAGS": "--xla_cpu_enable_concurrency_optimized_scheduler=false",
       "KERAS_BACKEND": "jax"}


def audit(framework: str, factory: str, tmp_path: Path, *extra: str) -> dict:
    return {p["name"]: p for p in audit_file(framework, factory, tmp_path, *extra)[1]
            ["parameters"]}


def audit_file(framework: str, factory: str, folder: Path, *extra: str) -> tuple[Path, dict]:
    out = folder / f"{factory}.json"
    proc = initspec("audit", framework, f"{MODELS}:{factory}", "--instances", "3", "--json",
                    str(out), *extra, cwd=ROOT, env=XLA)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(out.read_text())


def bad(framework: str, factory: str, *extra: str) -> str:
    """The one error line of a refused audit (exit 2)."""
    proc = initspec("audit", framework, f"{MODELS}:{factory}", *extra, cwd=ROOT, env=XLA)
    assert proc.returncode == 2, proc.stderr
    return error_line(proc)


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
    if os.environ.get(SESSION) == "transformers4":  # both sessions pin torch 2.13.0
        pytest.skip("torch's hook is tested in audit(env='transformers5'), at the same torch")


def test_torch_defaults_quiet(torch_installed, tmp_path) -> None:
    params = audit("torch", "linear", tmp_path, "--pictures", str(tmp_path / "pics"))
    assert all(not p["flags"] for p in params.values()), {n: p["flags"] for n, p in
                                                          params.items() if p["flags"]}
    assert params["0.weight"]["default"] == "nn.Linear.weight"
    assert params["0.weight"]["identified"]["form"] == "VarianceScaling(1/3, fan_in, uniform)"
    assert params["3.weight"]["default"].startswith("nn.Embedding.weight")  # padding row too
    assert params["4.running_var"]["identified"]["form"] == "Constant(1)"
    assert (tmp_path / "pics" / "0.weight.png").read_bytes()[:4] == b"\x89PNG"


def test_torch_flags_fire(torch_installed, tmp_path) -> None:
    params = audit("torch", "bugs", tmp_path)
    fired = {n: flags(p) for n, p in params.items() if p["flags"]}
    assert fired == {"reused.weight": ["identical"], "zeroed.weight": ["zeros"],
                     "huge.weight": ["far-std"]}
    assert params["zeroed.weight"]["reinit_by"].startswith("nn.init.zeros_()")
    assert params["fine.weight"]["default"] == "nn.Linear.weight"


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


def test_flax_nnx_defaults(flax_installed, tmp_path) -> None:
    params = audit("flax", "nnx_mlp", tmp_path)
    assert params["hidden/kernel"]["default"] == "nnx.Linear.kernel"
    assert params["norm/mean"]["kind"] == "buffer"
    assert params["norm/var"]["default"] == "nnx.BatchNorm.var"
    out = params["out/kernel"]
    assert out["default"] is None and out["identified"]["form"] == "N(0, 0.02)"
    assert all(not p["flags"] for p in params.values())


@pytest.mark.parametrize(("factory", "text"), [
    ("nnx_unseeded", "an nnx factory takes `rngs`"),
    ("not_a_module", "expected a flax.linen Module"),
    ("flax_bad_input", "module.init with an input of str raised"),
])
def test_flax_bad_input(flax_installed, factory, text) -> None:
    assert text in bad("flax", factory)


# --------------------------------------------------------------------------- Equinox, Haiku, Keras


@pytest.fixture(scope="module")
def equinox_installed() -> None:
    _require("equinox")


def test_equinox_defaults_and_reused_key(equinox_installed, tmp_path) -> None:
    params = audit("equinox", "eqx_mlp", tmp_path)
    assert {p["default"] for n, p in params.items() if n.startswith("mlp.")} == \
        {"nn.Linear.weight", "nn.Linear.bias"}
    assert params["mlp.layers.0.bias"]["identified"]["form"] == \
        "VarianceScaling(1/3, fan_in, uniform)"  # eqx's bias is random: no zeros flag
    fired = {n: flags(p) for n, p in params.items() if p["flags"]}
    assert fired == {"fixed.weight": ["identical"], "fixed.bias": ["identical"]}
    assert "takes `key`" in bad("equinox", "linear")


@pytest.fixture(scope="module")
def haiku_installed() -> None:
    _require("haiku")


def test_haiku_defaults_init_args_and_enclosing_layers(haiku_installed, tmp_path) -> None:
    params = audit("haiku", "haiku_mlp", tmp_path)
    assert params["mlp/~/linear_0/w"]["default"] == "Linear.w"
    assert params["mlp/~/linear_0/w"]["identified"]["form"] == \
        "TN(σ=1/√fan_in, ±2σ, uncorrected)"
    assert params["layer_norm/scale"]["default"] == "LayerNorm.scale"
    assert params["linear/w"]["reinit_by"] == "w_init=RandomNormal(stddev=0.02, mean=0.0)"
    assert all(not p["flags"] for p in params.values())
    bn = audit("haiku", "haiku_batchnorm", tmp_path)
    assert bn["batch_norm/~/mean_ema/counter"]["default"] == "BatchNorm.mean_ema.counter"
    assert bn["batch_norm/~/mean_ema/counter"]["kind"] == "buffer"
    assert "a Haiku factory returns (f, x)" in bad("haiku", "not_a_module")


@pytest.fixture(scope="module")
def keras_installed() -> None:
    _require("keras")


def test_keras_defaults_initializers_and_attention(keras_installed, tmp_path) -> None:
    params = audit("keras", "keras_mlp", tmp_path)
    assert params["dense/kernel"]["default"] == "layers.Dense.kernel"
    assert params["dense_1/kernel"]["reinit_by"] == \
        "kernel_initializer=RandomNormal(mean=0.0, stddev=0.02)"
    # the kernels inside MultiHeadAttention are its entries (Keras 3.15's), not EinsumDense's
    assert params["multi_head_attention/query/kernel"]["default"] == \
        "layers.MultiHeadAttention.query_kernel"
    assert all(not p["flags"] for p in params.values())
    assert "the model is not built" in bad("keras", "keras_unbuilt")


# --------------------------------------------------------------------------- transformers


@pytest.fixture(scope="module")
def hf(tmp_path_factory) -> dict:
    """Each transformers model audited once (2 instances) for the tests below."""
    _require("transformers")
    from importlib.metadata import version  # not `import transformers`: it imports torch

    folder = tmp_path_factory.mktemp("hf")
    made = {"major": int(version("transformers").split(".")[0]), "folder": folder}
    for name in ("bert_torch", "gpt2_torch"):
        made[name] = audit_file("torch", name, folder, "--instances", "2")
    if importlib.util.find_spec("flax") is not None and made["major"] < 5:
        for name in ("bert_flax", "gpt2_flax"):
            made[name] = audit_file("flax", name, folder, "--instances", "2")
    return made


def by_name(audit_data: dict) -> dict:
    return {p["name"]: p for p in audit_data["parameters"]}


def test_gpt2_torch_scales_its_residual_projections(hf) -> None:
    params = by_name(hf["gpt2_torch"][1])
    weights = {n: p["identified"]["form"] for n, p in params.items()
               if n.endswith(".weight") and ".ln_" not in n and not n.startswith("ln_")}
    scaled = {n for n, form in weights.items() if form == "N(0, 0.01)"}  # 0.02/√(2·n_layer)
    assert scaled == {f"h.{i}.{m}.c_proj.weight" for i in (0, 1) for m in ("attn", "mlp")}
    assert {weights[n] for n in weights if n not in scaled} == {"N(0, 0.02)"}
    call = params["h.0.attn.c_proj.weight"]["calls"][-1]
    # how it is written changed between the releases (reports/audit/README.md, 3.)
    assert call.startswith("nn.init.normal_(" if hf["major"] >= 5 else "Tensor.normal_(")
    assert "std=0.01" in call
    assert all(not p["flags"] for p in params.values())


def test_bert_torch_padding_row_is_zero_and_not_flagged(hf) -> None:
    words = by_name(hf["bert_torch"][1])["embeddings.word_embeddings.weight"]
    assert words["sample"]["zeros"] == 2 * 32  # row pad_token_id = 0 in each instance
    assert words["identified"]["form"] == "N(0, 0.02)" and not words["flags"]


def compare(hf: dict, a: str, b: str, *extra: str) -> dict:
    out = hf["folder"] / f"{a}-{b}.json"
    proc = initspec("audit", "--compare", str(hf[a][0]), str(hf[b][0]), "--json", str(out),
                    *extra, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def test_compare_gpt2_torch_and_flax(hf) -> None:
    if "gpt2_flax" not in hf:
        pytest.skip("no Flax classes here (transformers 5) or flax not installed")
    result = compare(hf, "gpt2_torch", "gpt2_flax")
    differ = {p["a"] for p in result["pairs"] if p["differs"]}
    assert differ == {f"h.{i}.{m}.c_proj.weight" for i in (0, 1) for m in ("attn", "mlp")}
    pairs = {p["a"]: p for p in result["pairs"]}
    assert pairs["h.0.attn.c_proj.weight"]["variance_ratio"] == pytest.approx(4, rel=0.25)
    assert pairs["h.0.mlp.c_fc.weight"]["b"] == "h/0/mlp/c_fc/kernel"
    assert pairs["h.0.mlp.c_fc.weight"]["layout"] == "transposed"
    assert "99% power" in pairs["h.0.mlp.c_fc.weight"]["detail"]
    assert len(result["pairs"]) == 28 and all("attn.bias" in n or "masked_bias" in n
                                              for n in result["unmatched_a"])


def test_compare_bert_torch_and_flax_sees_the_padding_row(hf) -> None:
    if "bert_flax" not in hf:
        pytest.skip("no Flax classes here (transformers 5) or flax not installed")
    result = compare(hf, "bert_torch", "bert_flax")
    (differs,) = [p for p in result["pairs"] if p["differs"]]
    assert differs["a"] == "embeddings.word_embeddings.weight"
    assert differs["b"] == "embeddings/word_embeddings/embedding"
    assert "exact zeros 64/" in differs["detail"]
    assert len(result["pairs"]) == 39


def test_compare_with_a_map(hf, tmp_path) -> None:
    """An explicit map pairs exactly the names it lists (here: A with itself, renamed)."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text("h.0.attn.c_proj.weight: h.1.attn.c_proj.weight\n"
                       "wte.weight: wpe.weight\n")
    result = compare(hf, "gpt2_torch", "gpt2_torch", "--map", str(mapping))
    assert [(p["a"], p["b"]) for p in result["pairs"]] == [
        ("h.0.attn.c_proj.weight", "h.1.attn.c_proj.weight"), ("wte.weight", "wpe.weight")]
    pairs = {p["a"]: p for p in result["pairs"]}
    assert not pairs["h.0.attn.c_proj.weight"]["differs"]
    assert pairs["wte.weight"]["layout"] == "shape differs"  # 99x32 vs 64x32
    proc = initspec("audit", "--compare", str(hf["gpt2_torch"][0]), str(hf["gpt2_torch"][0]),
                    "--map", str(mapping.with_name("none.yaml")), cwd=ROOT)
    assert proc.returncode == 2 and "cannot read" in error_line(proc)
