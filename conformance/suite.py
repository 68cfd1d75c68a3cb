"""The conformance suite: one generated test per cell (see initspec.plugin)."""

from __future__ import annotations

import pytest

from initspec.engine import Cell
from initspec.plugin import Run, failure_text


def test_cell(cell: Cell, initspec_run: Run) -> None:
    result = initspec_run.evaluate(cell)
    if result.verdict == "skip":
        pytest.skip(result.message)
    if result.verdict == "known-deviation":
        pytest.xfail(f"known deviation: {cell.deviation.reason} ({cell.deviation.link}); "
                     f"observed: {result.message}")
    if result.verdict == "fixed":
        pytest.fail("known deviation no longer reproduces; update the spec\n"
                    + failure_text(result), pytrace=False)
    if result.verdict != "pass":
        pytest.fail(failure_text(result), pytrace=False)
