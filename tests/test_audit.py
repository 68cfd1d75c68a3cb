"""``initspec audit`` on numpy arrays: identification, flags, default matching, --compare, CLI.

No ML framework: the draws are built here as :class:`ParamDraw` (what an adapter hook returns).
Each flag has a case that makes it fire and one that keeps it quiet; each identification is fed
the wrong distributions too, and must not name them as the right one.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from test_cli import error_line, initspec

from initspec.audit import compare as cmp
from initspec.audit import model
from initspec.audit.cli import Refusal
from initspec.audit.draws import ParamDraw
from initspec.audit.identify import identify

K, OUT, IN = 5, 32, 64
FANS = {"fan_in": IN, "fan_out": OUT}
ALPHA = 1e-5
TRUNC2 = 0.87962566103423978  # std of N(0, 1) cut at ±2


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def draws(name: str, seed: int = 0, shape: tuple[int, ...] = (OUT, IN)) -> np.ndarray:
    """K instances of a named distribution, float32."""
    r = rng(seed)
    size = (K, *shape)
    b = 1 / math.sqrt(IN)
    made = {
        "torch_linear": lambda: r.uniform(-b, b, size),
        "normal_002": lambda: r.normal(0, 0.02, size),
        "he_normal": lambda: r.normal(0, math.sqrt(2 / IN), size),
        "lecun_tn": lambda: stats.truncnorm(-2, 2, scale=b / TRUNC2).rvs(size, random_state=r),
        "haiku_tn": lambda: stats.truncnorm(-2, 2, scale=b).rvs(size, random_state=r),
        "laplace": lambda: r.laplace(0, 0.05, size),
        "huge": lambda: r.normal(0, 58_100, size),
        "tn_002": lambda: stats.truncnorm(-2, 2, scale=0.02).rvs(size, random_state=r),
    }[name]()
    return made.astype(np.float32)


# --------------------------------------------------------------------------- identification


@pytest.mark.parametrize(("name", "family", "form"), [
    ("torch_linear", "uniform", "VarianceScaling(1/3, fan_in, uniform)"),
    ("normal_002", "normal", "N(0, 0.02)"),
    ("he_normal", "normal", "VarianceScaling(2, fan_in, normal)"),
    ("lecun_tn", "truncnorm", "VarianceScaling(1, fan_in, truncated_normal), cut ±2σ"),
    ("haiku_tn", "truncnorm", "TN(σ=1/√fan_in, ±2σ, uncorrected)"),
    ("tn_002", "truncnorm", "TN(σ=0.02, ±2σ)"),
])
def test_identifies_family_and_neutral_form(name: str, family: str, form: str) -> None:
    ident = identify(draws(name), "float32", ALPHA, FANS)
    assert (ident.family, ident.form) == (family, form)


def test_none_of_these_with_best_fit() -> None:
    ident = identify(draws("laplace"), "float32", ALPHA, FANS)
    assert ident.family == "none"
    assert ident.form.startswith("none of these (best fit")
    assert "no family fits" in ident.note and all(v["p"] < ALPHA for v in ident.ks.values())


def test_exact_families() -> None:
    zeros = identify(np.zeros((K, OUT, IN), np.float32), "float32", ALPHA, FANS)
    assert (zeros.family, zeros.form) == ("constant", "Constant(0)")
    q = np.stack([np.linalg.qr(rng(i).normal(size=(IN, OUT)))[0].T * 2 for i in range(K)])
    ortho = identify(q.astype(np.float32), "float32", ALPHA, FANS)
    assert (ortho.family, ortho.form) == ("orthogonal", "Orthogonal(gain=2)")
    # a normal matrix is not orthogonal: identified as a random family instead
    assert identify(draws("normal_002"), "float32", ALPHA, FANS).family == "normal"


def test_truncation_is_seen_and_a_normal_is_not_called_truncated() -> None:
    """The normal's cut test (not KS alone) tells a ±2σ truncated normal from a normal."""
    for seed in range(5):
        assert identify(draws("tn_002", seed), "float32", ALPHA, FANS).family == "truncnorm"
        assert identify(draws("normal_002", seed), "float32", ALPHA, FANS).family == "normal"
        assert identify(draws("torch_linear", seed), "float32", ALPHA, FANS).family == "uniform"


# --------------------------------------------------------------------------- one parameter


def linear_weight(values: np.ndarray, **extra) -> ParamDraw:
    return ParamDraw("fc.weight", "parameter", values, "float32", "nn.Linear", "weight",
                     {"in_features": IN, "out_features": OUT}, **extra)


def audited(draw: ParamDraw) -> model.ParamAudit:
    return model.audit_param("torch", draw, 1e-3)


def kinds(a: model.ParamAudit) -> list[str]:
    return [f.kind for f in a.flags]


def test_default_entry_matched_from_the_spec() -> None:
    a = audited(linear_weight(draws("torch_linear")))
    assert a.default == "nn.Linear.weight" and a.reinit_by is None and a.flags == []
    assert a.fans == {"fan_in": IN, "fan_out": OUT} and "spec entry" in a.fan_source


def test_reinitialised_names_the_recorded_call() -> None:
    call = "Tensor.normal_(mean=0, std=0.02)"
    a = audited(linear_weight(draws("normal_002"), calls=[call], call_args=[{"std": 0.02}]))
    assert a.default is None and a.reinit_by == call
    assert any("rejected" in c for c in a.default_checked)


def test_flag_identical_instances() -> None:
    same = np.repeat(draws("torch_linear")[:1], K, axis=0)
    assert "identical" in kinds(audited(linear_weight(same)))
    assert "identical" not in kinds(audited(linear_weight(draws("torch_linear"))))


def test_flag_zeros_where_random_was_expected() -> None:
    assert "zeros" in kinds(audited(linear_weight(np.zeros((K, OUT, IN), np.float32))))
    part = draws("torch_linear")
    part[:, 0, :] = 0  # one zeroed row: far more zeros than a continuous draw gives
    assert "zeros" in kinds(audited(linear_weight(part)))
    assert "zeros" not in kinds(audited(linear_weight(draws("torch_linear"))))
    # a bias zeroed on purpose is not flagged (nn.Linear.bias' default is random)
    bias = ParamDraw("fc.bias", "parameter", np.zeros((K, OUT), np.float32), "float32",
                     "nn.Linear", "bias", {"in_features": IN, "out_features": OUT})
    assert "zeros" not in kinds(audited(bias))


def test_zeros_of_a_padding_row_are_not_flagged() -> None:
    values = rng().normal(size=(K, 100, 16)).astype(np.float32)
    values[:, 0] = 0
    emb = ParamDraw("emb.weight", "parameter", values, "float32", "nn.Embedding", "weight",
                    {"num_embeddings": 100, "embedding_dim": 16, "padding_idx": 0})
    assert "zeros" not in kinds(audited(emb))
    emb.attrs["padding_idx"] = None
    assert "zeros" in kinds(audited(emb))


def test_flag_std_far_from_usual() -> None:
    huge = audited(linear_weight(draws("huge")))
    assert "far-std" in kinds(huge)
    assert "5.8" in next(f.message for f in huge.flags if f.kind == "far-std")
    assert "far-std" not in kinds(audited(linear_weight(draws("normal_002"))))
    assert "far-std" not in kinds(audited(linear_weight(draws("he_normal"))))


def test_flag_untruncated_trunc_normal() -> None:
    loose = linear_weight(draws("normal_002"), calls=["nn.init.trunc_normal_(std=0.02)"],
                          call_args=[{"std": 0.02}])
    flagged = audited(loose)
    assert "untruncated" in kinds(flagged)
    assert "±100σ" in next(f.message for f in flagged.flags if f.kind == "untruncated")
    cut = linear_weight(draws("tn_002"), calls=["nn.init.trunc_normal_(std=0.02, a=-0.04, "
                                                "b=0.04)"],
                        call_args=[{"std": 0.02, "a": -0.04, "b": 0.04}])
    quiet = audited(cut)
    assert "untruncated" not in kinds(quiet) and quiet.ident.family == "truncnorm"


def test_budget_is_split_over_parameters_and_tests() -> None:
    audits = model.audit_model("torch", [linear_weight(draws("torch_linear"))] * 4, 1e-2)
    per_param = 1e-2 / 4
    a = audits[0]
    # the 4 identification tests, the zeros test and the default entry's stochastic checks
    from initspec import engine

    (case,) = model.spec_cases("torch", a.draw)
    assert a.alpha == pytest.approx(per_param / (4 + 1 + len(engine.stochastic_checks(case))))


# --------------------------------------------------------------------------- compare


def audit_json(framework: str, params: list[ParamDraw]) -> dict:
    return model.to_json(framework, "0", "f:g", K, 1e-2, model.audit_model(framework, params))


def flax_kernel(values: np.ndarray, name: str = "fc/kernel") -> ParamDraw:
    return ParamDraw(name, "parameter", values, "float32", None, "params.kernel", layout="in_out")


def test_compare_matches_torch_and_flax_names_transposed() -> None:
    a = audit_json("torch", [linear_weight(draws("torch_linear"),),
                             ParamDraw("encoder.layer.0.attention.self.query.weight",
                                       "parameter", draws("normal_002", 1), "float32")])
    b = audit_json("flax", [flax_kernel(np.swapaxes(draws("torch_linear", 2), 1, 2)),
                            flax_kernel(np.swapaxes(draws("lecun_tn", 3), 1, 2),
                                        "encoder/layer/0/attention/self/query/kernel")])
    result = cmp.compare(a, b, None, 1e-2)
    pairs = {p["a"]: p for p in result["pairs"]}
    assert pairs["fc.weight"]["b"] == "fc/kernel"
    assert pairs["fc.weight"]["layout"] == "transposed" and not pairs["fc.weight"]["differs"]
    assert "99% power" in pairs["fc.weight"]["detail"]
    query = pairs["encoder.layer.0.attention.self.query.weight"]
    assert query["b"] == "encoder/layer/0/attention/self/query/kernel" and query["differs"]
    assert query["variance_ratio"] == pytest.approx(1 / IN / 0.02**2, rel=0.1)


def test_compare_detects_a_shape_change_of_equal_variance() -> None:
    """Same variance, different family: KS sees it, the variance ratio does not."""
    a = audit_json("torch", [linear_weight(draws("torch_linear"))])
    normal = rng(5).normal(0, 1 / math.sqrt(3 * IN), (K, OUT, IN)).astype(np.float32)
    b = audit_json("torch", [linear_weight(normal)])
    (pair,) = cmp.compare(a, b, None, 1e-2)["pairs"]
    assert pair["differs"] and "KS" in pair["detail"] and "variance" not in pair["detail"]


def test_compare_false_alarms_stay_within_budget() -> None:
    """10 comparisons of two independent draws of one distribution: none may differ (the
    expected count is at most 10 x the budget 1e-2 = 0.1)."""
    differing = 0
    for seed in range(10):
        a = audit_json("torch", [linear_weight(draws("normal_002", 2 * seed))])
        b = audit_json("torch", [linear_weight(draws("normal_002", 2 * seed + 1))])
        differing += cmp.compare(a, b, None, 1e-2)["pairs"][0]["differs"]
    assert differing == 0


def test_compare_with_explicit_map_and_unknown_names() -> None:
    a = audit_json("torch", [linear_weight(draws("torch_linear"))])
    b = audit_json("flax", [flax_kernel(np.swapaxes(draws("torch_linear", 2), 1, 2),
                                        "totally/other")])
    assert cmp.compare(a, b, None, 1e-2)["pairs"] == []
    (pair,) = cmp.compare(a, b, {"fc.weight": "totally/other"}, 1e-2)["pairs"]
    assert not pair["differs"]
    with pytest.raises(Refusal, match="nope"):
        cmp.compare(a, b, {"fc.weight": "nope"}, 1e-2)


# --------------------------------------------------------------------------- CLI


def test_cli_compare_and_bad_input(tmp_path) -> None:
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(audit_json("torch", [linear_weight(draws("torch_linear"))])))
    b.write_text(json.dumps(audit_json("torch", [linear_weight(draws("huge"))])))
    ok = initspec("audit", "--compare", str(a), str(b), "--json", str(tmp_path / "d.json"),
                  cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "1 of 1 matched parameters differ" in ok.stdout
    assert json.loads((tmp_path / "d.json").read_text())["pairs"][0]["differs"]
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "map.yaml").write_text("[1, 2]")
    cases = [
        (["--compare", str(a), str(tmp_path / "missing.json")], 2, "cannot read"),
        (["--compare", str(a), str(tmp_path / "bad.json")], 2, "not an audit JSON"),
        (["--compare", str(a), str(tmp_path / "map.yaml")], 2, "not an initspec audit file"),
        (["--compare", str(a), str(b), "--map", str(tmp_path / "map.yaml")], 2,
         "expected a mapping"),
        (["mxnet", "m:f"], 2, "unknown framework 'mxnet'"),
        (["torch", "m:f", "--input", "2,x"], 2, "--input '2,x'"),
        (["torch", "m:f", "--instances", "1"], 2, "at least 2"),
        (["torch"], 2, "expected FRAMEWORK MODULE:FACTORY"),
    ]
    for args, code, text in cases:
        proc = initspec("audit", *args, cwd=tmp_path)
        assert proc.returncode == code, (args, proc.stderr)
        assert text in error_line(proc), (args, proc.stderr)


def test_cli_framework_not_installed(tmp_path) -> None:
    """The engine's test environment has no torch: that is an environment error (exit 3)."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here: the audit sessions test the real hook")
    (tmp_path / "m.py").write_text("def f():\n    pass\n")
    proc = initspec("audit", "torch", "m:f", cwd=tmp_path)
    assert proc.returncode == 3
    assert "torch is not installed here" in error_line(proc)


# --------------------------------------------------------------------------- spec matching


def test_an_enclosing_layers_entry_is_taken() -> None:
    """Haiku's BatchNorm keeps its moving averages in modules of their own: the spec states
    them under BatchNorm (``batch_norm/~/mean_ema.counter``), the enclosing layer."""
    counter = ParamDraw("bn/~/mean_ema/counter", "buffer", np.zeros((K,), np.int32), "int32",
                        "ExponentialMovingAverage", "exponential_moving_average.counter",
                        {"decay": 0.9},
                        outer=[("BatchNorm", "batch_norm/~/mean_ema.counter", {"eps": 1e-5})])
    a = model.audit_param("haiku", counter, 1e-3)
    assert a.default == "BatchNorm.mean_ema.counter" and a.draw.layer == "BatchNorm"
    alone = model.audit_param("haiku", ParamDraw(**{**vars(counter), "outer": []}), 1e-3)
    assert alone.default is None and alone.reinit_by == model.NO_ENTRY


def test_entries_of_other_releases_are_left_out() -> None:
    """Keras 3.15 changed MultiHeadAttention's fans: its '@<3.15' entries state the older
    releases, and only the installed release's entries are the default."""
    draw = ParamDraw("mha/query/kernel", "parameter", np.zeros((K, 128, 8, 64), np.float32),
                     "float32", "layers.MultiHeadAttention", "_query_dense.kernel",
                     {"num_heads": 8, "key_dim": 64}, layout="in_out")
    names = {v: sorted(c.entry.name for c in model.spec_cases("keras", draw, v))
             for v in ("3.15.1", "3.14.1", None)}
    assert names["3.15.1"] == ["layers.MultiHeadAttention.query_kernel"]
    assert names["3.14.1"] == ["layers.MultiHeadAttention.query_kernel@<3.15"]
    assert len(names[None]) == 2


def test_zeros_flag_quiet_on_biases_buffers_and_vectors_without_an_entry() -> None:
    def own(name: str, shape: tuple[int, ...], kind: str = "parameter") -> list[str]:
        return kinds(model.audit_param("torch", ParamDraw(
            name, kind, np.zeros((K, *shape), np.float32), "float32", None, name), 1e-3))

    assert "zeros" in own("w", (16, 32))  # a model's own matrix left at zero
    assert "zeros" not in own("b", (2, 16))  # a 2-D bias (a head's), zero by design
    assert "zeros" not in own("offset", (1, 16))
    assert "zeros" not in own("cls_token", (1, 1, 16))  # a vector, whatever its rank
    assert "zeros" not in own("cache", (16, 32), "buffer")


def test_unsupported_values_are_named_not_misread() -> None:
    c = (rng().normal(size=(K, 8)) + 1j * rng(1).normal(size=(K, 8))).astype(np.complex64)
    assert identify(c, "complex64", ALPHA).family == "unsupported"
    f8 = rng().normal(size=(K, 8)).astype(np.float32)  # a float8 stand-in: no reference
    ident = identify(f8, "float8_e4m3fn", ALPHA)
    assert ident.family == "unsupported" and "not identified" in ident.form
    assert identify(np.tile(np.arange(6), (K, 1)), "int64", ALPHA).form == "arange(0, 6)"


# --------------------------------------------------------------------------- compare: edge cases


def test_compare_pairs_without_testable_values() -> None:
    def one(values: np.ndarray) -> dict:
        return audit_json("torch", [ParamDraw("x", "buffer", values, "float32")])

    nan = np.full((K, 3), np.nan, np.float32)
    half = np.array([[1.0, np.inf]] * K, np.float32)
    empty = np.zeros((K, 0), np.float32)
    same = cmp.compare(one(nan), one(nan), None, 1e-2)["pairs"][0]
    assert not same["differs"] and "inf/nan values: 15 of 15" in same["detail"]
    other = cmp.compare(one(nan), one(half), None, 1e-2)["pairs"][0]
    assert other["differs"]
    assert not cmp.compare(one(empty), one(empty), None, 1e-2)["pairs"][0]["differs"]
    sample = model.encode_sample(half)
    assert sample["nonfinite"] == K and math.isfinite(sample["var"])


def test_compare_states_no_ks_power_it_does_not_have() -> None:
    def one(seed: int) -> dict:
        return audit_json("torch", [ParamDraw("s", "parameter", rng(seed).normal(size=(K,))
                                              .astype(np.float32), "float32")])

    (pair,) = cmp.compare(one(0), one(1), None, 1e-2)["pairs"]
    assert not pair["differs"] and "no KS distance (too few values)" in pair["detail"]


# --------------------------------------------------------------------------- the CLI, in process


def audit_draws(factory, seeds, input_shape=None) -> list[ParamDraw]:
    """A numpy stand-in for an adapter hook (HOOKS['numpy'] below): the factory gives one
    nn.Linear weight's values per seed."""
    return [ParamDraw("fc.weight", "parameter", np.stack([factory(s) for s in seeds]),
                      "float32", "nn.Linear", "weight", {"in_features": IN, "out_features": OUT})]


def torch_default(seed: int) -> np.ndarray:
    b = 1 / math.sqrt(IN)
    return rng(seed).uniform(-b, b, (OUT, IN)).astype(np.float32)


@pytest.fixture
def numpy_hook(monkeypatch) -> None:
    from initspec.audit import cli as audit_cli

    monkeypatch.setitem(audit_cli.HOOKS, "numpy", ("test_audit", "torch", "numpy"))


def main(*args: str) -> int:
    from initspec.cli import main as cli_main

    return cli_main(["audit", *args])


def test_cli_table_json_and_pictures(numpy_hook, tmp_path, capsys) -> None:
    pics = tmp_path / "pics"
    assert main("numpy", "test_audit:torch_default", "--instances", "3", "--json",
                str(tmp_path / "a.json"), "--pictures", str(pics)) == 0
    out = capsys.readouterr().out
    assert "fc.weight" in out and "default (nn.Linear.weight)" in out and "no flags" in out
    data = json.loads((tmp_path / "a.json").read_text(), parse_constant=pytest.fail)
    assert data["parameters"][0]["identified"]["form"] == \
        "VarianceScaling(1/3, fan_in, uniform)"
    png = (pics / "fc.weight.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    from PIL import Image

    assert Image.open(pics / "fc.weight.png").size == (720, 238)  # the caption's extra rows


def test_picture_caption_says_what_is_drawn() -> None:
    from initspec.audit import render

    a = audited(linear_weight(draws("normal_002"), calls=["Tensor.normal_(std=0.02)"],
                              call_args=[{"std": 0.02}]))
    text = render.caption(a)
    assert text.splitlines()[0] == "fc.weight  32x64 float32: N(0, 0.02)"
    assert "the fitted normal (mean=" in text and "re-initialised: Tensor.normal_" in text


def test_cli_missing_spec_is_an_environment_error(numpy_hook, monkeypatch, capsys) -> None:
    from initspec.audit import cli as audit_cli

    monkeypatch.setitem(audit_cli.HOOKS, "numpy", ("test_audit", "no-such-spec", "numpy"))
    assert main("numpy", "test_audit:torch_default") == 3
    assert "its spec" in capsys.readouterr().err


def damaged(tmp_path, name: str, change) -> str:
    data = audit_json("torch", [linear_weight(draws("torch_linear"))])
    change(data)
    (tmp_path / name).write_text(json.dumps(data))
    return str(tmp_path / name)


def test_cli_more_bad_input(tmp_path) -> None:
    good = damaged(tmp_path, "good.json", lambda d: None)
    (tmp_path / "folder").mkdir()
    no_sample = damaged(tmp_path, "s.json", lambda d: d["parameters"][0].pop("sample"))
    bad_b64 = damaged(tmp_path, "v.json",
                      lambda d: d["parameters"][0]["sample"].update(values="***"))
    twice = damaged(tmp_path, "t.json", lambda d: d["parameters"].append(d["parameters"][0]))
    cases = [
        (["torch", "m:f", "--json", str(tmp_path / "folder")], "is a folder"),
        (["torch", "m:f", "--json", str(tmp_path / "no" / "a.json")], "does not exist"),
        (["torch", "m:f", "--pictures", good], "exists and is not a folder"),
        (["torch", "m:f", "--budget", "0"], "--budget 0.0: must be in (0, 1)"),
        (["torch", "m:f", "--map", "m.yaml"], "--map needs --compare"),
        (["--compare", good, good, "torch"], "no framework/factory"),
        (["--compare", good, good, "--budget", "1"], "must be in (0, 1)"),
        (["--compare", good, good, "--json", str(tmp_path / "folder")], "is a folder"),
        (["--compare", good, no_sample], "parameter fc.weight: no sample"),
        (["--compare", good, bad_b64], "sample values are not base64"),
        (["--compare", good, twice], "parameter fc.weight twice"),
    ]
    for args, text in cases:
        proc = initspec("audit", *args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert text in error_line(proc), (args, proc.stderr)


def test_cli_compare_json_is_strict(tmp_path) -> None:
    """A pair of different shapes has no variance ratio: null in the JSON, not NaN."""
    a = damaged(tmp_path, "a.json", lambda d: None)
    b = damaged(tmp_path, "b.json", lambda d: d["parameters"][0].update(shape=[7, 7]))
    proc = initspec("audit", "--compare", a, b, "--json", str(tmp_path / "d.json"),
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "d.json").read_text()
    (pair,) = json.loads(text, parse_constant=pytest.fail)["pairs"]
    assert pair["differs"] and pair["variance_ratio"] is None
