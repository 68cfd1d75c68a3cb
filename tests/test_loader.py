"""Loading the YAML spec: the real files load; every broken file is a one-line file:line error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from initspec import cli
from initspec.loader import SPEC_DIR, SpecError, load_framework, load_schemes

# The working tree's spec (what a commit would ship), and the installed copy the CLI reads.
REPO_SPEC = Path(__file__).resolve().parents[1] / "spec"
FRAMEWORK_SPECS = sorted((REPO_SPEC / "frameworks").glob("*.yaml"))
INSTALLED_SPECS = sorted((SPEC_DIR / "frameworks").glob("*.yaml"))

# A small but complete framework spec; each broken variant below changes one thing in it.
BASE = """\
framework: fake
dtypes: [float32, bfloat16]
entries:
  - name: Dense.weight
    target: fake.Dense
    param: weight
    cases:
      - {in_features: 1000, out_features: 512}
      - {in_features: 3, out_features: 70}
    shape: [out_features, in_features]
    fans: {fan_in: in_features, fan_out: out_features}
    scheme: uniform
    with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}
    variance: 1 / (3 * fan_in)
    bounds: [-1 / sqrt(fan_in), 1 / sqrt(fan_in)]
    docs:
      claim: "U(-sqrt(k), sqrt(k)), k = 1/in_features"
      url: https://example.invalid/dense
    source: "fake/dense.py: Dense.reset"
  - name: Dense.bias
    target: fake.Dense
    param: bias
    cases:
      - {in_features: 1000, out_features: 512}
    shape: [out_features]
    scheme: constant
    with: {value: 0}
    docs: {claim: zeros, url: https://example.invalid/dense}
    source: "fake/dense.py: Dense.reset"
"""

ERROR = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<rest>.*)$")


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line number of the nth line of ``text`` that contains ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) > nth, f"{needle!r} not in the spec text"
    return hits[nth]


def mutate(old: str, new: str, text: str = BASE, count: int = 1) -> str:
    assert text.count(old) >= count, f"{old!r} not in the spec text"
    return text.replace(old, new, count)


def spec_error(path: Path, load) -> tuple[str, int, str]:
    """Load, expect a SpecError, check it is one line naming ``path``; return (file, line, rest)."""
    with pytest.raises(SpecError) as info:
        load()
    message = str(info.value)
    assert "\n" not in message, f"not one line: {message!r}"
    match = ERROR.match(message)
    assert match, f"no file:line in {message!r}"
    assert match["file"] == str(path)
    return match["file"], int(match["line"]), match["rest"]


# --------------------------------------------------------------------------- the real spec


@pytest.fixture(scope="module")
def repo_schemes():
    return load_schemes(REPO_SPEC / "schemes.yaml")


def test_schemes_load(schemes, repo_schemes):
    assert set(repo_schemes) == set(schemes)
    assert {"uniform", "normal", "truncated_normal", "constant", "orthogonal", "sparse",
            "identity", "he_normal", "glorot_uniform"} <= set(schemes)
    for scheme in schemes.values():
        assert scheme.family in {"uniform", "normal", "truncnorm", "triangular", "constant",
                                 "orthogonal", "delta_orthogonal", "sparse", "identity"}


def test_there_is_a_framework_spec():
    assert FRAMEWORK_SPECS, f"no spec files in {REPO_SPEC / 'frameworks'}"
    assert INSTALLED_SPECS, f"no spec files in {SPEC_DIR / 'frameworks'}"


@pytest.mark.parametrize("path", FRAMEWORK_SPECS, ids=lambda p: p.name)
def test_every_framework_spec_loads(path, repo_schemes):
    spec = load_framework(path, repo_schemes)
    assert spec.cases and spec.dtypes
    for case in spec.cases:
        assert all(isinstance(n, int) and n >= 0 for n in case.shape)


def test_test_spec_loads(fake_spec):
    assert fake_spec.framework == "fake"
    assert len(fake_spec.cases) >= 10


def test_base_spec_of_these_tests_loads(tmp_path, schemes):
    path = tmp_path / "fake.yaml"
    path.write_text(BASE)
    spec = load_framework(path, schemes)
    weight = spec.cases[0]
    assert weight.name == "Dense.weight[in_features=1000,out_features=512]"
    assert weight.shape == (512, 1000)
    assert weight.variance == pytest.approx(1 / 3000, rel=1e-12)
    assert weight.bounds == pytest.approx((-(1000**-0.5), 1000**-0.5), rel=1e-12)
    assert weight.entry.line == line_of(BASE, "- name: Dense.weight")


# --------------------------------------------------------------------------- broken framework specs

# (id, broken text, line the error must name, field it must name, what the message must say)
BROKEN = [
    pytest.param(
        mutate("    scheme: uniform\n", "    scheme: uniform: x\n"),
        line_of(BASE, "scheme: uniform"), None, "YAML syntax error", id="yaml-mapping-in-scalar"),
    pytest.param(
        mutate("      url: https://example.invalid/dense\n",
               "     url: https://example.invalid/dense\n"),
        line_of(BASE, "url: https://example.invalid/dense"), None, "YAML syntax error",
        id="yaml-bad-indent"),
    pytest.param(
        mutate('    source: "fake/dense.py: Dense.reset"\n  - name: Dense.bias',
               '\tsource: "fake/dense.py: Dense.reset"\n  - name: Dense.bias'),
        line_of(BASE, 'source: "fake/dense.py'), None, "YAML syntax error", id="yaml-tab"),
    pytest.param(
        mutate('    source: "fake/dense.py: Dense.reset"\n  - name: Dense.bias',
               "  - name: Dense.bias"),
        line_of(BASE, "- name: Dense.weight"), "entries.0", "'source' is a required property",
        id="schema-missing-required"),
    pytest.param(
        mutate("dtypes: [float32, bfloat16]", "dtypes: float32"),
        line_of(BASE, "dtypes:"), "dtypes", "not of type 'array'", id="schema-wrong-type"),
    pytest.param(
        mutate("    param: bias", "    param: 3"),
        line_of(BASE, "param: bias"), "entries.1.param", "not of type 'string'",
        id="schema-wrong-type-nested"),
    pytest.param(
        mutate("dtypes: [float32, bfloat16]", "dtypes: [float32, float8]"),
        line_of(BASE, "dtypes:"), "dtypes.1", "float8", id="schema-bad-dtype"),
    pytest.param(
        mutate("    scheme: uniform", "    scheme: unifrom"),
        line_of(BASE, "scheme: uniform"), "entries.0.scheme", "unknown scheme 'unifrom'",
        id="unknown-scheme"),
    pytest.param(
        mutate("with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}",
               "with: {low: -1 / sqrt(fan_in)}"),
        line_of(BASE, "with: {low:"), "entries.0.with", r"takes exactly \['low', 'high'\]",
        id="with-missing-param"),
    pytest.param(
        mutate("with: {value: 0}", "with: {value: 0, gain: 2}"),
        line_of(BASE, "with: {value: 0}"), "entries.1.with", r"takes exactly \['value'\]",
        id="with-extra-param"),
    pytest.param(
        mutate("variance: 1 / (3 * fan_in)", "variance: 1 / (3 * fan_inn)"),
        line_of(BASE, "variance:"), "entries.0.variance", "unknown symbol fan_inn",
        id="unknown-symbol"),
    pytest.param(
        mutate("{in_features: 3, out_features: 70}", "{in_features: '3', out_features: 70}"),
        line_of(BASE, "{in_features: 3, out_features: 70}"), "entries.0.cases.1.in_features",
        "'3' is a string, but the entry's formulas use in_features as a number",
        id="string-where-a-number-belongs"),
    pytest.param(
        mutate("variance: 1 / (3 * fan_in)", "variance: (-8)**0.5"),
        line_of(BASE, "variance:"), "entries.0.variance", r"\(-8\)\*\*0\.5 is not a real number",
        id="complex-power"),
    pytest.param(
        mutate("    param: weight", "    param: weight\n    param: bias"),
        line_of(BASE, "param: weight") + 1, "entries.0.param",
        r"duplicate key 'param' \(first at line 6\)", id="duplicate-key"),
    pytest.param(
        mutate("high: 1 / sqrt(fan_in)}", "high: 1 / sqrt(fan_ni)}"),
        line_of(BASE, "with: {low:"), "entries.0.with.high", "unknown symbol fan_ni",
        id="unknown-symbol-in-with"),
    pytest.param(
        mutate("variance: 1 / (3 * fan_in)", "variance: __import__('os').getpid()"),
        line_of(BASE, "variance:"), "entries.0.variance", r"unknown function __import__",
        id="import"),
    pytest.param(
        mutate("shape: [out_features]", "shape: [out_features.real]"),
        line_of(BASE, "shape: [out_features]"), "entries.1.shape.0", "unsupported construct",
        id="attribute-access"),
    pytest.param(
        mutate("variance: 1 / (3 * fan_in)", "variance: 1 / fan_in"),
        line_of(BASE, "variance:"), "entries.0.variance",
        r"states variance 0\.001 but uniform\(.*\) has variance 0\.000333333.*case line 8",
        id="variance-disagrees"),
    pytest.param(
        mutate("bounds: [-1 / sqrt(fan_in), 1 / sqrt(fan_in)]",
               "bounds: [-sqrt(3 / fan_in), sqrt(3 / fan_in)]"),
        line_of(BASE, "bounds:"), "entries.0.bounds",
        r"states bounds .* but uniform\(.*\) has support", id="bounds-disagree"),
    pytest.param(
        mutate("with: {value: 0}", "with: {value: 1}\n    bounds: [0, 0]"),
        line_of(BASE, "with: {value: 0}") + 1, "entries.1.bounds",
        r"states bounds \(0, 0\) but constant", id="constant-bounds-disagree"),
    pytest.param(
        mutate("shape: [out_features, in_features]", "shape: [out_features / 3, in_features]"),
        line_of(BASE, "shape: [out_features, in_features]"), "entries.0.shape.0",
        r"out_features / 3 = 170\.66.*not a size \(case line 8\)", id="non-integer-shape"),
    pytest.param(
        mutate("{in_features: 3, out_features: 70}", "{in_features: 3, out_features: 71}",
               mutate("shape: [out_features, in_features]",
                      "shape: [out_features / 2, in_features]")),
        line_of(BASE, "shape: [out_features, in_features]"), "entries.0.shape.0",
        r"out_features / 2 = 35\.5.*\(case line 9\)", id="non-integer-shape-second-case"),
    pytest.param(
        mutate("shape: [out_features]", "shape: [out_features - 1000]"),
        line_of(BASE, "shape: [out_features]"), "entries.1.shape.0",
        "not a size", id="negative-shape"),
    pytest.param(
        mutate("    param: weight", "    param: weight\n    versions: '>=banana'"),
        line_of(BASE, "param: weight") + 1, "entries.0.versions", "not a PEP 440",
        id="bad-version-specifier"),
    pytest.param(
        mutate("{in_features: 3, out_features: 70}", "{in_features: 1000, out_features: 512}"),
        line_of(BASE, "- name: Dense.weight"), "entries.0.name", "duplicate case",
        id="duplicate-case"),
    pytest.param(
        mutate("with: {low: -1 / sqrt(fan_in), high: 1 / sqrt(fan_in)}",
               "with: {low: 1 / sqrt(fan_in), high: -1 / sqrt(fan_in)}"),
        line_of(BASE, "with: {low:"), "entries.0.with",
        "uniform needs low < high.*case in_features=1000", id="empty-uniform"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), BROKEN)
def test_broken_framework_spec(tmp_path, schemes, text, line, field, message):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    _, got_line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert got_line == line, rest
    if field is not None:
        assert rest.startswith(f"{field}: "), rest
    assert re.search(message, rest), rest


def test_unknown_key_names_the_key_and_its_entry(tmp_path, schemes):
    """jsonschema reports additionalProperties on the enclosing object, so the line is the
    entry's (or, if the loader learns to, the key's own): either way the key is named."""
    text = mutate("    param: weight", "    param: weight\n    gian: 2")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    _, got_line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert got_line in (line_of(text, "- name: Dense.weight"), line_of(text, "gian: 2")), rest
    assert rest.startswith("entries.0"), rest
    assert "'gian' was unexpected" in rest


def test_unknown_top_level_key(tmp_path, schemes):
    path = tmp_path / "broken.yaml"
    path.write_text(BASE + "extra: 1\n")
    _, got_line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert "'extra' was unexpected" in rest
    assert got_line in (1, line_of(BASE + "extra: 1\n", "extra: 1"))


def test_not_a_mapping(tmp_path, schemes):
    path = tmp_path / "broken.yaml"
    path.write_text("- just\n- a list\n")
    _, line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert line == 1
    assert "mapping" in rest


def test_missing_file(tmp_path, schemes):
    path = tmp_path / "missing.yaml"
    with pytest.raises(SpecError, match=re.escape(f"{path}: cannot read")):
        load_framework(path, schemes)


def test_import_in_spec_is_not_executed(tmp_path, schemes):
    marker = tmp_path / "pwned"
    path = tmp_path / "broken.yaml"
    path.write_text(mutate("variance: 1 / (3 * fan_in)",
                           f"variance: \"__import__('os').system('touch {marker}')\""))
    spec_error(path, lambda: load_framework(path, schemes))
    assert not marker.exists()


# --------------------------------------------------------------------------- broken schemes

SCHEMES_TEXT = (REPO_SPEC / "schemes.yaml").read_text()
TRUNC_VARIANCE = re.compile(r"^(    variance: )std\*\*2 \* \(1 \+ \(a\*phi\(a\).*$", re.M)

USES_TRUNCATED_NORMAL = """\
framework: fake
dtypes: [float32]
entries:
  - name: init.trunc_normal
    target: fake.init.trunc_normal
    cases:
      - {rows: 10, cols: 100}
    shape: [rows, cols]
    scheme: truncated_normal
    with: {mean: 0, std: 0.02, a: -2, b: 2}
    docs: {claim: "N(0, 0.02^2) cut at ±2σ", url: https://example.invalid/init}
    source: "fake/init.py: trunc_normal"
"""


@pytest.mark.parametrize(
    ("scheme", "with_"),
    [("truncated_normal", "{mean: 0, std: 0.02, a: -2, b: 2}"),
     ("variance_scaling_truncated_normal", "{scale: 1, fan: cols}")],
)
def test_wrong_truncated_normal_variance_in_schemes_is_caught(tmp_path, scheme, with_):
    """The plain N variance std² stated for a truncated normal: the cross-check catches it for
    every entry that resolves through truncated_normal, directly or via an alias."""
    broken, n = TRUNC_VARIANCE.subn(r"\1std**2", SCHEMES_TEXT)
    assert n == 1, "schemes.yaml no longer states the truncated-normal variance as expected"
    schemes_path = tmp_path / "schemes.yaml"
    schemes_path.write_text(broken)
    schemes = load_schemes(schemes_path)  # the formula itself is valid
    spec = USES_TRUNCATED_NORMAL.replace("scheme: truncated_normal", f"scheme: {scheme}")
    spec = spec.replace("with: {mean: 0, std: 0.02, a: -2, b: 2}", f"with: {with_}")
    path = tmp_path / "fake.yaml"
    path.write_text(spec)
    # The error is reported where the inconsistency materialises: the framework file's case.
    _, line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert line == line_of(spec, "{rows: 10, cols: 100}")
    assert re.search(r"scheme truncated_normal states variance .* but truncnorm\(.*\) has "
                     r"variance", rest), rest


def test_correct_truncated_normal_scheme_loads(tmp_path, schemes):
    path = tmp_path / "fake.yaml"
    path.write_text(USES_TRUNCATED_NORMAL)
    (case,) = load_framework(path, schemes).cases
    assert case.variance == pytest.approx(0.02**2 * 0.87962566103423978**2, rel=1e-12)


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "message"),
    [
        ("    with: {scale: 1, fan: fan_in}\n    variance: 1 / fan_in\n  lecun_normal",
         "    with: {scale: 1}\n    variance: 1 / fan_in\n  lecun_normal",
         "    with: {scale: 1}", "schemes.lecun_uniform.with", "must bind exactly"),
        ("base: variance_scaling_normal\n    with: {scale: 1, fan: fan_in}",
         "base: variance_scaling_nromal\n    with: {scale: 1, fan: fan_in}",
         "base: variance_scaling_nromal", "schemes.lecun_normal.base", "unknown scheme"),
        ("distribution: {family: uniform, low: low, high: high}",
         "distribution: {family: uniform, low: low}",
         "distribution: {family: uniform, low: low}", "schemes.uniform.distribution",
         r"takes \['high', 'low'\], got \['low'\]"),
        ("distribution: {family: uniform, low: low, high: high}",
         "distribution: {family: uniform, low: low, high: hgih}",
         "distribution: {family: uniform, low: low, high: hgih}",
         "schemes.uniform.distribution.high", "unknown symbol hgih"),
        ("    variance: (high - low)**2 / 12", "    variance: (high - low)**2 / twelve",
         "variance: (high - low)**2 / twelve", "schemes.uniform.variance", "unknown symbol twelve"),
        ("distribution: {family: uniform, low: low, high: high}",
         "distribution: {family: uniformish, low: low, high: high}",
         "distribution: {family: uniformish", "schemes.uniform.distribution.family", "uniformish"),
    ],
    ids=["alias-with-missing-param", "unknown-base", "family-params", "unknown-symbol",
         "unknown-symbol-in-variance", "unknown-family"],
)
def test_broken_schemes(tmp_path, old, new, needle, field, message):
    text = mutate(old, new, SCHEMES_TEXT)
    path = tmp_path / "schemes.yaml"
    path.write_text(text)
    _, line, rest = spec_error(path, lambda: load_schemes(path))
    assert line == line_of(text, needle), rest
    assert rest.startswith(f"{field}: "), rest
    assert re.search(message, rest), rest


def test_alias_cycle(tmp_path):
    text = SCHEMES_TEXT + (
        "  cycle_a:\n    summary: a\n    params: [x]\n    base: cycle_b\n    with: {x: x}\n"
        "  cycle_b:\n    summary: b\n    params: [x]\n    base: cycle_a\n    with: {x: x}\n")
    path = tmp_path / "schemes.yaml"
    path.write_text(text)
    _, _, rest = spec_error(path, lambda: load_schemes(path))
    assert "cycle" in rest


# --------------------------------------------------------------------------- initspec validate


def test_validate_cli_accepts_the_real_spec(capsys):
    assert cli.main(["validate"]) == 0
    out = capsys.readouterr().out
    for path in INSTALLED_SPECS:
        assert f"{path}: ok (" in out


def test_validate_cli_accepts_a_good_file(tmp_path, capsys):
    path = tmp_path / "fake.yaml"
    path.write_text(BASE)
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok (3 cases)\n"


@pytest.mark.parametrize(
    "text",
    [mutate("variance: 1 / (3 * fan_in)", "variance: 1 / fan_in"),
     mutate("    scheme: uniform\n", "    scheme: uniform: x\n"),
     mutate("variance: 1 / (3 * fan_in)", "variance: __import__('os')")],
    ids=["cross-check", "yaml", "import"],
)
def test_validate_cli_reports_one_line(tmp_path, capsys, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    assert cli.main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"initspec: spec error: {path}:")
    assert "Traceback" not in captured.err


def test_framework_versions_are_the_default_of_every_entry(tmp_path, schemes):
    text = mutate("dtypes: [float32, bfloat16]\n", 'dtypes: [float32, bfloat16]\nversions: ">=2"\n')
    text = mutate("    param: bias\n", '    param: bias\n    versions: "<2"\n', text)
    path = tmp_path / "fake.yaml"
    path.write_text(text)
    by_entry = {c.entry.name: c.entry for c in load_framework(path, schemes).cases}
    assert str(by_entry["Dense.weight"].versions) == ">=2"
    assert str(by_entry["Dense.bias"].versions) == "<2"  # an entry's own range wins


def test_binary_file_is_one_line(tmp_path, schemes):
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\x00\x01\x02\xff binary")
    with pytest.raises(SpecError) as info:
        load_framework(path, schemes)
    assert str(info.value) == f"{path}: not a YAML text file (binary content)"


def test_duplicate_key_in_a_case_is_an_error(tmp_path, schemes):
    path = tmp_path / "spec.yaml"
    path.write_text(BASE.replace("{in_features: 3, out_features: 70}",
                                 "{in_features: 3, out_features: 70, in_features: 4}"))
    _, line, rest = spec_error(path, lambda: load_framework(path, schemes))
    assert line == line_of(BASE, "{in_features: 3, out_features: 70}")
    assert rest.startswith("entries.0.cases.1.in_features: duplicate key 'in_features'"), rest


def test_cases_know_their_shape_symbols_and_where_each_argument_is(tmp_path, schemes):
    """The adapter drops only what a formula reads: a misspelt argument is not a symbol."""
    path = tmp_path / "spec.yaml"
    path.write_text(BASE.replace("{in_features: 3, out_features: 70}",
                                 "{in_features: 3, out_features: 70, bais: false}"))
    case = load_framework(path, schemes).cases[1]
    assert case.symbols == {"in_features", "out_features"}
    assert "bais" in case.kwargs and "bais" not in case.symbols
    assert case.locations["bais"] == (f"{path}:{line_of(BASE, '{in_features: 3, out')}: "
                                      "entries.0.cases.1.bais")
    assert case.locations["target"] == f"{path}:{line_of(BASE, 'target:')}: entries.0.target"
