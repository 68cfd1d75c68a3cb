"""One false-failure budget for the whole published run.

The published run is every column that ``nox -s conformance`` runs (noxfile.py's environments;
``tests/test_ci_matrix.py`` keeps the two lists equal), each on every device and dtype it
reports. ``--budget`` (default 1e-3) is the probability that ANY cell of that whole run fails by
chance. It is split evenly over the published columns, and each column splits its share evenly
(Bonferroni) over every stochastic check of its plan (every device, dtype and version it runs).
A column run alone keeps its share, so its verdicts, sample sizes and statistics are those of the
published run; its own false-failure probability is then the share (1e-3/11 ≈ 9.1e-5). A column
outside the published run (a third party's adapter) is a run of its own: it gets the whole
budget.
"""

from __future__ import annotations

# The columns of `nox -s conformance`, in noxfile order.
PUBLISHED_COLUMNS: tuple[str, ...] = ("torch", "keras-tensorflow", "tf-compat-v1", "keras-jax",
                                      "keras-torch", "jax", "flax", "equinox", "haiku", "mlx",
                                      "paddle")


def column_budget(run_budget: float, column: str) -> float:
    """The share of ``run_budget`` that ``column``'s own plan splits over its checks."""
    if column in PUBLISHED_COLUMNS:
        return run_budget / len(PUBLISHED_COLUMNS)
    return run_budget


def split_text(run_budget: float, column: str) -> str:
    """One line stating the split, for headers and reports."""
    if column in PUBLISHED_COLUMNS:
        return (f"run budget {run_budget:g} over {len(PUBLISHED_COLUMNS)} published columns -> "
                f"{column_budget(run_budget, column):.3g} for {column}")
    return f"budget {run_budget:g} ({column} is not in the published run: all of it)"
