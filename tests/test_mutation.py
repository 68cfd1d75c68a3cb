"""Mutation self-test: the worked third-party adapter (tests/example_adapter) with one
initializer broken on purpose per mutant. Each mutant must be reported failing, with the check
that catches it named, under 10 seeds at the example column's own plan (budget 1e-3 split over
its checks, variance resolution ±1 %): the n and alpha a published run of it uses.

Mutants beyond the design's resolution must fail under every seed. ``variance±1%`` sits exactly at
the resolution, where the design promises 99 % power: it must fail in at least 8 of 10 seeds
(fewer has probability 1.1e-4 at power 0.99). What the design cannot catch at
this n is stated in MINIMUM_DETECTABLE, and tested as not caught.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from initspec import engine
from initspec.loader import load_framework

EXAMPLE = Path(__file__).parent / "example_adapter"
SPEC = EXAMPLE / "numpy-example.yaml"
sys.path.insert(0, str(EXAMPLE))

import initspec_numpy_example as npx  # noqa: E402  (the example is not an installed package)

SEEDS = range(10)
# mutant -> the check that must name it (others may fail too)
CAUGHT_BY = {
    "variance+2%": "variance", "variance-2%": "variance",
    "variance+1%": "variance", "variance-1%": "variance",
    "uniform-for-normal": "ks", "normal-for-uniform": "ks",
    "truncated-for-normal": "ks", "normal-for-truncated": "bounds",
    "truncation-uncorrected": "variance", "fan-out": "variance",
    "bias-not-zero": "constant", "one-ulp-beyond-bound": "bounds",
    "outliers-1e-5-at-6sigma": "tail>6σ", "one-outlier-at-7.5sigma": "extreme",
    "rows-copy-previous": "independence:axis0", "identical-instances": "instances-distinct",
    "orthogonal-gain+1%": "orthogonal", "orthogonal-no-sign-correction": "haar-signs",
}
AT_RESOLUTION = {"variance+1%", "variance-1%"}  # power 0.99 by design, not ~1


@pytest.fixture(scope="module")
def spec():
    return load_framework(SPEC)


def _failing(spec, mutant: str | None, seed: int, dtype: str = "float32") -> dict[str, set]:
    """entry[case] -> the failing checks of each cell of the mutant's entry (every entry if
    ``mutant`` is None)."""
    adapter = npx.NumpyExample(mutant)
    plan = engine.build_plan(spec, adapter, dtypes=[dtype], seed=seed)
    entry = npx.MUTANTS.get(mutant or "")
    out = {}
    for cell in plan.cells:
        if entry is None or cell.case.entry.name == entry:
            result = engine.evaluate(plan, cell, adapter)
            assert result.status in ("pass", "fail"), result.message
            out[cell.case.name] = {c.name for c in result.failures()}
    return out


def test_every_mutant_is_tested():
    assert set(CAUGHT_BY) == set(npx.MUTANTS)


@pytest.mark.parametrize("mutant", list(CAUGHT_BY))
def test_mutant_fails_with_the_right_check(spec, mutant):
    check = CAUGHT_BY[mutant]
    detected = 0
    for seed in SEEDS:
        cells = _failing(spec, mutant, seed)
        assert cells, mutant
        # every case of the broken entry is caught (a case may pass only at the resolution)
        detected += all(check in failed for failed in cells.values())
    need = 8 if mutant in AT_RESOLUTION else len(SEEDS)
    assert detected >= need, f"{mutant}: {check} failed in {detected} of {len(SEEDS)} seeds"


def test_correct_draws_pass_under_every_seed(spec):
    """No mutant: every cell of the example passes (the checks do not fail correct samples)."""
    for seed in SEEDS:
        failing = {case: f for case, f in _failing(spec, None, seed).items() if f}
        assert failing == {}, seed


def test_a_single_6_sigma_outlier_is_below_the_minimum_detectable_effect(spec):
    """Stated, not hidden: one value at 6σ among n ≈ 1.2e6 normal draws has chance
    n·P(|Z| > 6) ≈ 2.4e-3 under the null, far above alpha; the extreme-value check catches one
    value beyond ~6.9σ at this n (its min_detectable says so), 1 in 10^5 at 6σ is caught by the
    6σ tail count."""
    adapter = npx.NumpyExample()
    plan = engine.build_plan(spec, adapter, dtypes=["float32"])
    cell = next(c for c in plan.cells if c.case.entry.name == "init.normal")
    result = engine.evaluate(plan, cell, adapter)
    extreme = next(c for c in result.checks if c.name == "extreme")
    threshold = float(extreme.min_detectable.split("beyond ")[1].split("σ")[0])
    assert 6.5 < threshold < 7.5


def _cli(*args: str, mutant: str | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "INITSPEC_EXAMPLE_MUTANT"}
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLE), *filter(None, [os.environ.get("PYTHONPATH")]), *sys.path])
    if mutant:
        environ["INITSPEC_EXAMPLE_MUTANT"] = mutant
    return subprocess.run([sys.executable, "-m", "initspec.cli", "run", "--framework",
                           "numpy-example", "--spec", str(SPEC), "--report", "", *args],
                          env=environ, capture_output=True, text=True, timeout=600)


def test_the_example_runs_through_the_entry_point(tmp_path):
    """The README's third-party path: the entry point, the spec file, the real CLI."""
    proc = _cli("--results", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "numpy-example 0.1" in proc.stdout
    assert "not in the published run" in proc.stdout  # a third party's run has the whole budget
    assert sorted(p.name for p in tmp_path.iterdir())  # results written for the full run


def test_a_mutant_through_the_cli_is_red_and_names_its_check():
    proc = _cli("--dtype", "float32", "--match", "init.orthogonal",
                mutant="orthogonal-no-sign-correction")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "FAIL haar-signs" in proc.stdout
