"""The conformance suite: one generated test per cell (see initspec.plugin), then one per known
deviation and column, which fails when the deviation reproduces in none of its cells."""

from __future__ import annotations

import pytest

from initspec.engine import Cell, deviation_outcomes
from initspec.plugin import Run, failure_text


def test_cell(cell: Cell, initspec_run: Run) -> None:
    result = initspec_run.evaluate(cell)
    if result.verdict == "skip":
        pytest.skip(result.message)
    if result.verdict == "known-deviation":
        pytest.xfail(f"known deviation {cell.deviation.id}: {cell.deviation.reason} "
                     f"({cell.deviation.link}); observed: {result.message}")
    if result.verdict != "pass":
        pytest.fail(failure_text(result), pytrace=False)


def test_known_deviation(deviation_column: tuple[str, str], initspec_run: Run) -> None:
    deviation_id, column = deviation_column
    outcome = next((o for o in deviation_outcomes(initspec_run.results)
                    if o.deviation.id == deviation_id and o.column == column), None)
    if outcome is None or outcome.cells == 0:
        pytest.skip(f"no cell of {column} under {deviation_id} was evaluated in this run")
    if not outcome.still_reproduces:
        pytest.fail(f"known deviation {deviation_id} no longer reproduces in {column}: all "
                    f"{outcome.cells} cells it applies to pass; update the spec "
                    f"({outcome.deviation.link})", pytrace=False)


def test_absent_device(absent_device: tuple[str, str, str]) -> None:
    _, _, why = absent_device
    pytest.skip(why)
