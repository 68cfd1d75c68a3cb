"""``initspec audit`` on real models (the audit sessions: ``nox -s "audit(env='transformers4')"``:
transformers 4.57's torch and Flax classes, the Flax, Equinox, Haiku and Keras (on JAX) hooks;
``audit(env='transformers5')``: transformers 5's torch classes and the torch hook, at the same
torch 2.13.0; each test skips where its framework is not installed).

Each flag fires on a model built to have it and stays quiet on a correct one; each bad input is
one line and its exit code; the transformers models show what reports/audit/ reports. The
audits go through ``initspec.cli.main`` all in one process (tests/tools/cli_batch.py: the
frameworks are imported once, not once per audit); the torch hook's bad input goes through
``python -m initspec.cli`` itself, one process each.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from test_cli import PLUGIN, error_line, initspec

ROOT = Path(__file__).parent.parent
MODELS = "tests.audit_models"
SESSION = "INITSPEC_AUDIT_ENV"  # the nox audit session's environment, set by the noxfile
XLA = {"XLA_FLAGS": "--xla_cpu_enable_concurrency_optimized_scheduler=false",
       "KERAS_BACKEND": "jax"}


def installed(name: str) -> bool:
    """Without importing it (the engine's tests must never import an ML framework)."""
    return importlib.util.find_spec(name) is not None


def torch_here() -> bool:
    # both sessions pin torch 2.13.0: its hook is tested once, in transformers5
    return installed("torch") and os.environ.get(SESSION) != "transformers4"


def hf_major() -> int | None:
    return int(version("transformers").split(".")[0]) if installed("transformers") else None


def jobs(folder: Path) -> dict[str, list[str]]:
    """Every audit of these tests whose framework is here: name -> ``initspec`` arguments."""
    out: dict[str, list[str]] = {}

    def add(name: str, framework: str, factory: str, *extra: str, instances: str = "3") -> None:
        out[name] = ["audit", framework, f"{MODELS}:{factory}", "--instances", instances,
                     "--json", str(folder / f"{name}.json"), *extra]

    def refuse(name: str, framework: str, factory: str, *extra: str) -> None:
        out[name] = ["audit", framework, f"{MODELS}:{factory}", *extra]

    if torch_here():
        add("linear", "torch", "linear", "--pictures", str(folder / "pics"))
        for name in ("bugs", "vit", "vit_cut"):
            add(name, "torch", name)
        add("lazy", "torch", "lazy", "--input", "2,8")
        add("kept_1", "torch", "kept_init")  # two audits in one process (see kept_init)
        add("kept_2", "torch", "kept_init")
    if installed("flax"):
        add("flax_mlp", "flax", "flax_mlp")
        add("flax_seed_reused", "flax", "flax_seed_reused", "--input", "2,32")
        add("nnx_mlp", "flax", "nnx_mlp")
        refuse("flax_no_input", "flax", "flax_seed_reused")
        refuse("nnx_unseeded", "flax", "nnx_unseeded")
        refuse("flax_not_a_module", "flax", "not_a_module")
        refuse("flax_bad_input", "flax", "flax_bad_input")
    if installed("equinox"):
        add("eqx_mlp", "equinox", "eqx_mlp")
        refuse("eqx_no_key", "equinox", "linear")
    if installed("haiku"):
        add("haiku_mlp", "haiku", "haiku_mlp")
        add("haiku_batchnorm", "haiku", "haiku_batchnorm")
        refuse("haiku_not_a_pair", "haiku", "not_a_module")
    if installed("keras"):
        add("keras_mlp", "keras", "keras_mlp")
        refuse("keras_unbuilt", "keras", "keras_unbuilt")
    major = hf_major()
    if major is not None and installed("torch"):
        add("bert_torch", "torch", "bert_torch", instances="2")
        add("gpt2_torch", "torch", "gpt2_torch", instances="2")
        if major < 5 and installed("flax"):
            add("bert_flax", "flax", "bert_flax", instances="2")
            add("gpt2_flax", "flax", "gpt2_flax", instances="2")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Every job of :func:`jobs`, in one process; then the comparisons of the audits, in one."""
    folder = tmp_path_factory.mktemp("audits")
    todo = jobs(folder)
    need(bool(todo), "no ML framework is installed here: run the audit sessions")
    done = batch(todo, folder / "audits")
    compares = {}
    for a, b in (("bert_torch", "bert_flax"), ("gpt2_torch", "gpt2_flax")):
        if a in todo and b in todo:
            compares[f"{a}-{b}"] = ["audit", "--compare", str(folder / f"{a}.json"),
                                    str(folder / f"{b}.json"), "--json",
                                    str(folder / f"{a}-{b}.json")]
    if "gpt2_torch" in todo:
        mapping = folder / "map.yaml"
        mapping.write_text("h.0.attn.c_proj.weight: h.1.attn.c_proj.weight\n"
                           "wte.weight: wpe.weight\n")
        gpt2 = str(folder / "gpt2_torch.json")
        compares["map"] = ["audit", "--compare", gpt2, gpt2, "--map", str(mapping), "--json",
                           str(folder / "map.json")]
        compares["map_missing"] = ["audit", "--compare", gpt2, gpt2, "--map",
                                   str(folder / "none.yaml")]
    if compares:
        done.update(batch(compares, folder / "compares"))
    return {"folder": folder, "jobs": todo, "done": done}


def batch(todo: dict[str, list[str]], stem: Path) -> dict:
    stem.with_suffix(".jobs.json").write_text(json.dumps(todo))
    environ = {**os.environ, **XLA, "PYTHONPATH": os.pathsep.join(
        [str(PLUGIN), *filter(None, [os.environ.get("PYTHONPATH")]), *sys.path])}
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "cli_batch.py"),
                           str(stem.with_suffix(".jobs.json")),
                           str(stem.with_suffix(".out.json"))], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(stem.with_suffix(".out.json").read_text())


def audit(runs: dict, name: str) -> dict:
    """The parameters of one audit (by name), after checking it ran cleanly."""
    done = runs["done"][name]
    assert done["code"] == 0, done["stderr"]
    assert "Traceback" not in done["stderr"], done["stderr"]
    data = json.loads((runs["folder"] / f"{name}.json").read_text(), parse_constant=pytest.fail)
    return {p["name"]: p for p in data["parameters"]}


def refused(runs: dict, name: str) -> str:
    """The one error line of a refused audit (exit 2)."""
    done = runs["done"][name]
    assert done["code"] == 2, done
    return error_line(subprocess.CompletedProcess([], 2, done["stdout"], done["stderr"]))


def flags(param: dict) -> list[str]:
    return [f["kind"] for f in param["flags"]]


def need(condition: bool, why: str) -> None:
    if not condition:
        pytest.skip(why)


# --------------------------------------------------------------------------- torch


@pytest.fixture
def torch_hook() -> None:
    need(installed("torch"), "torch is not installed here: run the audit sessions")
    need(torch_here(), "torch's hook is tested in audit(env='transformers5'), at the same torch")


def test_torch_defaults_quiet(torch_hook, runs) -> None:
    params = audit(runs, "linear")
    assert all(not p["flags"] for p in params.values()), {n: p["flags"] for n, p in
                                                          params.items() if p["flags"]}
    assert params["0.weight"]["default"] == "nn.Linear.weight"
    assert params["0.weight"]["identified"]["form"] == "VarianceScaling(1/3, fan_in, uniform)"
    assert params["3.weight"]["default"].startswith("nn.Embedding.weight")  # padding row too
    assert params["4.running_var"]["identified"]["form"] == "Constant(1)"
    assert (runs["folder"] / "pics" / "0.weight.png").read_bytes()[:4] == b"\x89PNG"


def test_torch_flags_fire(torch_hook, runs) -> None:
    params = audit(runs, "bugs")
    fired = {n: flags(p) for n, p in params.items() if p["flags"]}
    assert fired == {"reused.weight": ["identical"], "zeroed.weight": ["zeros"],
                     "huge.weight": ["far-std"]}
    assert params["zeroed.weight"]["reinit_by"].startswith("nn.init.zeros_()")
    assert params["fine.weight"]["default"] == "nn.Linear.weight"


def test_torch_vit_untruncated_and_cut(torch_hook, runs) -> None:
    loose, cut = audit(runs, "vit"), audit(runs, "vit_cut")
    for name in ("pos_embed", "blocks.0.qkv.weight", "blocks.1.fc1.weight"):
        assert "untruncated" in flags(loose[name]), name
        assert loose[name]["identified"]["family"] == "normal"
        assert "untruncated" not in flags(cut[name]), name
        assert cut[name]["identified"]["form"] == "TN(σ=0.02, ±2σ)"
    assert loose["blocks.0.qkv.weight"]["reinit_by"].startswith("nn.init.trunc_normal_(")
    assert loose["blocks.0.norm1.weight"]["default"] == "nn.LayerNorm.weight"


def test_torch_lazy_module_needs_input(torch_hook, runs) -> None:
    params = audit(runs, "lazy")
    assert params["0.weight"]["shape"] == [7, 8]
    assert params["0.weight"]["default"] == "nn.Linear.weight"


def test_torch_records_init_functions_a_library_kept(torch_hook, runs) -> None:
    for job in ("kept_1", "kept_2"):
        weight = audit(runs, job)["weight"]
        assert weight["calls"][-1] == "nn.init.normal_(std=0.02)", job
        assert weight["identified"]["family"] == "normal"


@pytest.mark.parametrize(("args", "text"), [
    (["torch", "no_such_module:f"], "no module named 'no_such_module'"),
    (["torch", f"{MODELS}:nope"], "has no 'nope'"),
    (["torch", f"{MODELS}:raises"], "the factory raised RuntimeError: boom"),
    (["torch", f"{MODELS}:not_a_module"], "returned int, not a torch.nn.Module"),
    (["torch", f"{MODELS}:linear", "--input", "2,3"], "cannot take an input of shape (2, 3)"),
    (["torch", "nocolon"], "expected module:function"),
])
def test_torch_bad_input(torch_hook, args, text) -> None:
    proc = initspec("audit", *args, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert text in error_line(proc)


# --------------------------------------------------------------------------- flax


@pytest.fixture
def flax_hook() -> None:
    need(installed("flax"), "flax is not installed here: run the audit sessions")


def test_flax_linen_defaults_and_init_arg(flax_hook, runs) -> None:
    params = audit(runs, "flax_mlp")
    assert params["Dense_0/kernel"]["default"] == "linen.Dense.kernel"
    assert params["Dense_0/kernel"]["identified"]["form"] == \
        "VarianceScaling(1, fan_in, truncated_normal), cut ±2σ"
    assert params["Dense_1/kernel"]["reinit_by"] == "kernel_init=normal(stddev=0.02)"
    assert all(not p["flags"] for p in params.values())


def test_flax_flag_seed_reused(flax_hook, runs) -> None:
    assert "identical" in flags(audit(runs, "flax_seed_reused")["w"])


def test_flax_nnx_defaults(flax_hook, runs) -> None:
    params = audit(runs, "nnx_mlp")
    assert params["hidden/kernel"]["default"] == "nnx.Linear.kernel"
    assert params["norm/mean"]["kind"] == "buffer"
    assert params["norm/var"]["default"] == "nnx.BatchNorm.var"
    out = params["out/kernel"]
    assert out["default"] is None and out["identified"]["form"] == "N(0, 0.02)"
    assert all(not p["flags"] for p in params.values())


@pytest.mark.parametrize(("job", "text"), [
    ("flax_no_input", "give --input SHAPE"),
    ("nnx_unseeded", "an nnx factory takes `rngs`"),
    ("flax_not_a_module", "expected a flax.linen Module"),
    ("flax_bad_input", "module.init with an input of str raised"),
])
def test_flax_bad_input(flax_hook, runs, job, text) -> None:
    assert text in refused(runs, job)


# --------------------------------------------------------------------------- Equinox, Haiku, Keras


def test_equinox_defaults_and_reused_key(runs) -> None:
    need(installed("equinox"), "equinox is not installed here: run the audit sessions")
    params = audit(runs, "eqx_mlp")
    assert {p["default"] for n, p in params.items() if n.startswith("mlp.")} == \
        {"nn.Linear.weight", "nn.Linear.bias"}
    assert params["mlp.layers.0.bias"]["identified"]["form"] == \
        "VarianceScaling(1/3, fan_in, uniform)"  # eqx's bias is random: no zeros flag
    fired = {n: flags(p) for n, p in params.items() if p["flags"]}
    assert fired == {"fixed.weight": ["identical"], "fixed.bias": ["identical"]}
    assert "takes `key`" in refused(runs, "eqx_no_key")


def test_haiku_defaults_init_args_and_enclosing_layers(runs) -> None:
    need(installed("haiku"), "haiku is not installed here: run the audit sessions")
    params = audit(runs, "haiku_mlp")
    assert params["mlp/~/linear_0/w"]["default"] == "Linear.w"
    assert params["mlp/~/linear_0/w"]["identified"]["form"] == \
        "TN(σ=1/√fan_in, ±2σ, uncorrected)"
    assert params["layer_norm/scale"]["default"] == "LayerNorm.scale"
    assert params["linear/w"]["reinit_by"] == "w_init=RandomNormal(stddev=0.02, mean=0.0)"
    assert all(not p["flags"] for p in params.values())
    bn = audit(runs, "haiku_batchnorm")
    assert bn["batch_norm/~/mean_ema/counter"]["default"] == "BatchNorm.mean_ema.counter"
    assert bn["batch_norm/~/mean_ema/counter"]["kind"] == "buffer"
    assert "a Haiku factory returns (f, x)" in refused(runs, "haiku_not_a_pair")


def test_keras_defaults_initializers_and_attention(runs) -> None:
    need(installed("keras"), "keras is not installed here: run the audit sessions")
    params = audit(runs, "keras_mlp")
    assert params["dense/kernel"]["default"] == "layers.Dense.kernel"
    assert params["dense_1/kernel"]["reinit_by"] == \
        "kernel_initializer=RandomNormal(mean=0.0, stddev=0.02)"
    # the kernels inside MultiHeadAttention are its entries (Keras 3.15's), not EinsumDense's
    assert params["multi_head_attention/query/kernel"]["default"] == \
        "layers.MultiHeadAttention.query_kernel"
    assert all(not p["flags"] for p in params.values())
    assert "the model is not built" in refused(runs, "keras_unbuilt")


# --------------------------------------------------------------------------- transformers


@pytest.fixture
def hf(runs) -> dict:
    need(hf_major() is not None and installed("torch"),
         "transformers (with torch) is not installed here: run the audit sessions")
    return runs


def test_gpt2_torch_scales_its_residual_projections(hf) -> None:
    params = audit(hf, "gpt2_torch")
    weights = {n: p["identified"]["form"] for n, p in params.items()
               if n.endswith(".weight") and ".ln_" not in n and not n.startswith("ln_")}
    scaled = {n for n, form in weights.items() if form == "N(0, 0.01)"}  # 0.02/√(2·n_layer)
    assert scaled == {f"h.{i}.{m}.c_proj.weight" for i in (0, 1) for m in ("attn", "mlp")}
    assert {weights[n] for n in weights if n not in scaled} == {"N(0, 0.02)"}
    call = params["h.0.attn.c_proj.weight"]["calls"][-1]
    # how it is written changed between the releases (reports/audit/README.md, 3.)
    assert call.startswith("nn.init.normal_(" if hf_major() >= 5 else "Tensor.normal_(")
    assert "std=0.01" in call
    assert all(not p["flags"] for p in params.values())


def test_bert_torch_padding_row_is_zero_and_not_flagged(hf) -> None:
    words = audit(hf, "bert_torch")["embeddings.word_embeddings.weight"]
    assert words["sample"]["zeros"] == 2 * 32  # row pad_token_id = 0 in each instance
    assert words["identified"]["form"] == "N(0, 0.02)" and not words["flags"]


def compared(runs: dict, name: str) -> dict:
    need(name in runs["done"], "no Flax classes here (transformers 5) or flax not installed")
    done = runs["done"][name]
    assert done["code"] == 0 and "Traceback" not in done["stderr"], done["stderr"]
    return json.loads((runs["folder"] / f"{name}.json").read_text(), parse_constant=pytest.fail)


def test_compare_gpt2_torch_and_flax(hf) -> None:
    result = compared(hf, "gpt2_torch-gpt2_flax")
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
    result = compared(hf, "bert_torch-bert_flax")
    (differs,) = [p for p in result["pairs"] if p["differs"]]
    assert differs["a"] == "embeddings.word_embeddings.weight"
    assert differs["b"] == "embeddings/word_embeddings/embedding"
    assert "exact zeros 64/" in differs["detail"]
    assert len(result["pairs"]) == 39


def test_compare_with_a_map(hf) -> None:
    """An explicit map pairs exactly the names it lists (here: A with itself, renamed)."""
    result = compared(hf, "map")
    assert [(p["a"], p["b"]) for p in result["pairs"]] == [
        ("h.0.attn.c_proj.weight", "h.1.attn.c_proj.weight"), ("wte.weight", "wpe.weight")]
    pairs = {p["a"]: p for p in result["pairs"]}
    assert not pairs["h.0.attn.c_proj.weight"]["differs"]
    assert pairs["wte.weight"]["layout"] == "shape differs"  # 99x32 vs 64x32
    assert "cannot read" in refused(hf, "map_missing")
