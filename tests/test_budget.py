"""One error budget for the whole published run (conformance/budget.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from initspec import budget, engine

ROOT = Path(__file__).resolve().parents[1]


def _noxfile():
    """The noxfile, imported once under its own name (tests/test_ci_matrix.py imports it too:
    a second copy would register its sessions twice)."""
    pytest.importorskip("nox")
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    return noxfile


def test_the_published_columns_are_what_nox_conformance_runs():
    nox_columns = tuple(c for env in _noxfile().ENVIRONMENTS.values() for c in env.columns)
    assert nox_columns == budget.PUBLISHED_COLUMNS


def test_the_shares_add_up_to_the_run_budget():
    total = sum(budget.column_budget(1e-3, c) for c in budget.PUBLISHED_COLUMNS)
    assert total == pytest.approx(1e-3)
    share = 1e-3 / len(budget.PUBLISHED_COLUMNS)
    assert budget.column_budget(1e-3, "torch") == pytest.approx(share)
    assert budget.column_budget(1e-3, "a-third-party-column") == 1e-3  # a run of its own


def test_a_published_column_plans_with_its_share(fake_spec, fake_adapter, monkeypatch):
    alone = engine.build_plan(fake_spec, fake_adapter, budget=1e-3)
    monkeypatch.setattr(budget, "PUBLISHED_COLUMNS", ("fake", "other", "third"))
    shared = engine.build_plan(fake_spec, fake_adapter, budget=1e-3)
    assert alone.budget == 1e-3 and shared.budget == pytest.approx(1e-3 / 3)
    assert shared.alpha == pytest.approx(alone.alpha / 3)
    cell = next(c for c in shared.cells if c.stochastic_checks and not c.skip_reason
                and c.case.family == "normal")
    assert shared.num_samples(cell) > alone.num_samples(cell)  # the smaller alpha costs n
    assert "over 3 published columns -> 0.000333 for fake" in budget.split_text(1e-3, "fake")
