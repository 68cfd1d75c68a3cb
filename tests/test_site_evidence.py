"""The plot evidence stored at check time (initspec.evidence) and the pictures drawn from it."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pytest
from scipy import stats

from initspec import checks, engine, evidence, results
from initspec.distributions import DTYPES, reference
from initspec.report import merge, plots, site

ALPHA = 1e-6


def collect(x: np.ndarray, dist, dtype: str) -> dict:
    out: dict = {}
    engine.distribution_checks(np.asarray(x).astype(DTYPES[dtype]), dist, dtype, ALPHA, out)
    return out


def chi2_p(hist: dict) -> float:
    """Pearson's test of the stored observed vs expected bin counts (bins with E >= 5)."""
    obs, exp = np.asarray(hist["observed"], float), np.asarray(hist["expected"], float)
    keep = exp >= 5
    obs, exp = obs[keep], exp[keep]
    exp = exp * obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_histogram_counts_the_sample_and_the_reference(dtype):
    dist = stats.norm(0, 0.05)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.05, 400_000)
    ev = collect(x, dist, dtype)
    hist = ev["histogram"]
    assert ev["n"] == x.size and len(hist["observed"]) == evidence.BINS
    assert ev["reference"] == ("rounded" if dtype in ("float16", "bfloat16") else "continuous")
    # every value is counted once: in a bin, below or above the range
    assert sum(hist["observed"]) + hist["under"] + hist["over"] == x.size
    lo, hi = hist["range"]
    assert lo == pytest.approx(-4 * 0.05, rel=1e-3) and hi == pytest.approx(4 * 0.05, rel=1e-3)
    # the expected counts are the reference's: n·(F(b) - F(a)), all mass accounted for
    total = sum(hist["expected"]) + hist["under_expected"] + hist["over_expected"]
    assert total == pytest.approx(x.size, rel=1e-3)
    assert chi2_p(hist) > ALPHA


def test_sixteen_bit_expected_counts_are_the_exact_pmf():
    dist = stats.uniform(-0.1, 0.2)
    ev = collect(np.random.default_rng(2).uniform(-0.1, 0.1, 200_000), dist, "bfloat16")
    ref = reference(dist, "bfloat16")
    lo, hi = ev["histogram"]["range"]
    edges = np.linspace(lo, hi, evidence.BINS + 1)
    exact = [ref.pk[(ref.xk >= a) & ((ref.xk < b) if i < evidence.BINS - 1 else (ref.xk <= b))]
             .sum() * 200_000 for i, (a, b) in enumerate(itertools.pairwise(edges))]
    assert ev["histogram"]["expected"] == pytest.approx(exact, rel=1e-3)
    # bfloat16's grid puts unequal numbers of its values in equal bins: the expected counts are
    # not the flat n/bins of the continuous uniform (which float32 gets)
    assert max(exact) / min(exact) > 1.1
    flat = collect(np.random.default_rng(2).uniform(-0.1, 0.1, 200_000), dist, "float32")
    assert flat["histogram"]["expected"] == pytest.approx([200_000 / evidence.BINS] * 50,
                                                          rel=1e-3)


def test_evidence_shows_a_wrong_sample():
    """Evidence of a sample from the wrong distribution (std 1.3x) disagrees with the reference:
    the histogram fails a chi-square test and the QQ slope is 1.3, not 1."""
    dist = stats.norm(0, 1)
    ev = collect(np.random.default_rng(3).normal(0, 1.3, 200_000), dist, "float32")
    assert chi2_p(ev["histogram"]) < 1e-10
    q = ev["quantiles"]
    slope = np.polyfit(q["expected_z"], q["observed_z"], 1)[0]
    assert slope == pytest.approx(1.3, abs=0.02)
    good = collect(np.random.default_rng(3).normal(0, 1, 200_000), dist, "float32")["quantiles"]
    assert np.polyfit(good["expected_z"], good["observed_z"], 1)[0] == pytest.approx(1, abs=0.01)


def test_quantiles_are_the_inverse_empirical_cdf_on_both_paths():
    """Sorted (float32) and counted (float16) samples give the same quantiles of the same values."""
    x = np.random.default_rng(4).normal(0, 1, 100_001).astype(np.float16)
    wide = checks.Sample(x.astype(np.float32), "float32")
    narrow = checks.Sample(x, "float16")
    probs = np.array([1e-4, 0.01, 0.3, 0.5, 0.9, 0.9999])
    expected = np.sort(x.astype(np.float64))[np.ceil(probs * x.size).astype(int) - 1]
    assert evidence._sample_quantiles(wide, probs) == pytest.approx(expected)
    assert evidence._sample_quantiles(narrow, probs) == pytest.approx(expected)


def test_tails_are_the_checks_own_counts():
    dist = stats.norm(0, 1)
    x = np.random.default_rng(5).normal(0, 1, 300_000)
    out: dict = {}
    results_ = engine.distribution_checks(x.astype(np.float32), dist, "float32", ALPHA, out)
    tail = {c.name: c.stats for c in results_ if c.name.startswith("tail>")}
    assert [t["check"] for t in out["tails"]] == list(tail)
    for t in out["tails"]:
        assert t["observed"] == tail[t["check"]]["observed"]
        assert t["expected"] == pytest.approx(tail[t["check"]]["expected"], rel=1e-3)


def test_evaluate_stores_evidence_for_random_cells_only(fake_spec, fake_adapter_class, tmp_path):
    adapter = fake_adapter_class()
    plan = engine.build_plan(fake_spec, adapter, dtypes=["float32"], resolution=0.1)
    evaluated = [engine.evaluate(plan, cell, adapter) for cell in plan.cells]
    by = {r.cell.case.entry.name: r for r in evaluated}
    assert by["Dense.weight"].evidence["n"] == by["Dense.weight"].n
    assert by["init.sparse"].evidence is not None  # the non-zero part of a sparse draw
    for exact in ("Dense.bias", "init.orthogonal", "init.eye", "Legacy.weight", "Broken.weight"):
        assert by[exact].evidence is None, exact
    (path,) = results.write(evaluated, plan, tmp_path, sha="0" * 40)
    run = json.loads(results.read_text(path))
    merge.validator("results.schema.json").validate(run)
    cells = {c["entry"]: c for c in run["cells"]}
    assert cells["Dense.weight"]["evidence"]["histogram"]["observed"]
    assert cells["Dense.bias"]["evidence"] is None


def test_schema_rejects_broken_evidence(fake_spec, fake_adapter_class, tmp_path):
    adapter = fake_adapter_class()
    plan = engine.build_plan(fake_spec, adapter, dtypes=["float32"], resolution=0.1,
                             match="Dense.weight")
    (path,) = results.write([engine.evaluate(plan, c, adapter) for c in plan.cells], plan,
                            tmp_path, sha="0" * 40)
    run = json.loads(results.read_text(path))
    del run["cells"][0]["evidence"]["histogram"]["observed"]
    errors = list(merge.validator("results.schema.json").iter_errors(run))
    assert errors and any("observed" in e.message or "oneOf" in str(e.validator) for e in errors)


def test_plot_is_a_small_png_drawn_from_the_evidence(tmp_path):
    ev = collect(np.random.default_rng(6).normal(0, 1, 100_000), stats.norm(0, 1), "float32")
    painter = plots.Painter()
    try:
        png = painter.png(ev)
    finally:
        painter.close()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 12_000  # the size budget: thousands of these are committed

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.size == (int(8.0 * plots.DPI), int(2.2 * plots.DPI))
    assert len(image.getcolors()) > 3  # not blank: observed, expected, text and background


def test_plots_are_content_addressed_and_stale_ones_removed(tmp_path):
    ev = collect(np.random.default_rng(7).uniform(-1, 1, 50_000), stats.uniform(-1, 2), "float32")
    other = collect(np.random.default_rng(8).uniform(-1, 1, 50_000), stats.uniform(-1, 2),
                    "float32")
    first = site.draw_plots(tmp_path, {"a": ev, "b": other})
    assert first["a"] != first["b"] and first["a"] == site.plot_name(ev)
    stamp = (tmp_path / first["a"]).stat().st_mtime_ns
    second = site.draw_plots(tmp_path, {"a": ev})
    assert second == {"a": first["a"]}
    assert (tmp_path / first["a"]).stat().st_mtime_ns == stamp  # not redrawn
    assert not (tmp_path / first["b"]).exists()  # stale: removed
