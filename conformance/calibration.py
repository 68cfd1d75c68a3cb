"""Calibration: the designed false-failure probability against the observed one.

The ledger, ``reports/calibration.json`` (schema: spec/schema/calibration.schema.json), records
**column runs**: one column's complete results (every device and dtype of its plan) at one seed,
with the seed, the column's framework version and environment, the suite commit, the verdict
epoch (:data:`initspec.engine.VERDICT_EPOCH`), wall time, and every unexpected cell (a verdict
the spec does not expect) with its failing checks' statistics, plus every known deviation that
no longer reproduced. ``initspec calibrate add --results DIR`` appends the column runs of one
results folder (any ``initspec run --seed S --results DIR`` of whole columns); ``nox -s
calibrate -- COLUMNS... --seeds A:B`` runs columns at the published settings under fresh seeds
and adds each.

A **full run** is the set of column runs at one seed, at the current verdict epoch and the
published settings (each column's share of ``--budget`` 1e-3, ``--resolution`` 0.01), that
covers every column of :data:`initspec.budget.PUBLISHED_COLUMNS`. The ledger may fill column by
column over days. A full run is red when any of its column runs is. Its designed false-failure
probability is at most the run budget (Bonferroni: the sum of every check's alpha), so k red full
runs in N are consistent with the design when the exact one-sided binomial probability
``P(X >= k | N, p)`` is at least the level (0.05): ``initspec calibrate summary`` says so, with
the Clopper–Pearson upper bound on the observed rate. It says the same per column (a column
run's designed probability is the column's share).

What is counted, mechanically: a column run at an older verdict epoch is kept in the ledger but
not counted (a verdict-changing commit came after it); nor one at other settings; nor one with an
adapter error in a cell (💥 is a bug to fix, not a chance failure: no check ran there). Two
column runs of the same column and seed at one epoch are one measurement (the same draws).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from initspec import budget as _budget

LEDGER_VERSION = 1
DEFAULT_LEDGER = Path("reports") / "calibration.json"
DEFAULT_LEVEL = 0.05  # the binomial statement's level; the upper bound's confidence is 1 - level

#: Verdict epochs of suite commits whose results files predate the ``verdict_epoch`` field.
#: Epoch 1 starts at f6b3c50 (Flax nnx.GroupNorm recipes pass the source's group count: a cell's
#: verdict changed, error -> pass); what came after it up to the field's introduction changed no
#: verdict (940f908: results only; 52f1542: the per-cell watchdog, which stops a hung run and
#: never changes a verdict; 4d317f8: JAX's compilation cache, bit for bit the same draws,
#: `initspec bench --check-cache`), nor did main's commits made beside this branch (ff7cbb5: the
#: watchdog's default limit; 6f77896, 3bf4c65, 9342147: the paddle column, outside the published
#: run). Any other commit without the field is epoch 0: before epochs were recorded, counted at
#: no epoch.
LEGACY_EPOCHS: dict[str, int] = {
    "f6b3c5083745a7869c492c602a57a39186665137": 1,
    "940f908e897bcd9561695ab406e5002317f6379f": 1,
    "52f1542d6f0ddd111b09ae5e0832301f9035cecd": 1,
    "4d317f8fb991bb92e64bda95958988755450a34d": 1,
    "ff7cbb592fef62a3b75af142892a53ab6460e0d3": 1,
    "6f7789681876c15e55b8294aa5ae30c417eac519": 1,
    "3bf4c65980254bc3fa6e2d14639a3534ab337fea": 1,
    "9342147dd4c08973cc09cc1b7bb0d57b44ff6e66": 1,
}

EXPECTED_VERDICTS = ("pass", "known-deviation", "skip")


class CalibrationError(ValueError):
    """Bad input for the ledger: one line, exit 2."""


# --------------------------------------------------------------------------- the ledger file


def empty_ledger() -> dict[str, Any]:
    return {"schema_version": LEDGER_VERSION,
            "about": "initspec calibration ledger: column runs under fresh seeds at the "
                     "published settings (conformance/calibration.py; `initspec calibrate "
                     "summary` reads it)",
            "notes": [], "runs": []}


def load_ledger(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """The ledger at ``path``, checked against its schema; CalibrationError (one line) if it is
    broken. A missing file is an empty ledger when ``missing_ok`` (``add`` creates it)."""
    if not path.exists():
        if missing_ok:
            return empty_ledger()
        raise CalibrationError(f"no calibration ledger at {path} (`initspec calibrate add "
                               "--results DIR` creates it)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the ledger: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: not a calibration ledger (binary content)") from None
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not a calibration ledger ({exc.msg} at line "
                               f"{exc.lineno})") from None
    import jsonschema

    from initspec.report.merge import validator

    error = jsonschema.exceptions.best_match(
        validator("calibration.schema.json").iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise CalibrationError(f"{path}: not a calibration ledger (at {where}: "
                               f"{error.message[:160]})")
    return data


def dumps(ledger: dict[str, Any]) -> str:
    """Indented, one compact line per column run: readable diffs as the ledger grows."""
    head = {k: v for k, v in ledger.items() if k != "runs"}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    runs = ",\n  ".join(json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                        for r in ledger["runs"])
    return f'{text},\n "runs": [\n  {runs}\n ]\n}}\n' if runs else f'{text},\n "runs": []\n}}\n'


def write_ledger(path: Path, ledger: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(dumps(ledger))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would stay on a file meant to be committed
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two calibrate sessions (one per environment) may add at once: read-modify-write in turn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no concurrent sessions to guard against here
        yield
        return
    with open(path.with_name(f".{path.name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- results -> runs


def epoch_of(run: dict[str, Any]) -> tuple[int, str]:
    """A results file's verdict epoch and where it came from."""
    if isinstance(run.get("verdict_epoch"), int):
        return run["verdict_epoch"], "file"
    sha = run.get("suite_sha") or "unknown"
    if sha in LEGACY_EPOCHS:
        return LEGACY_EPOCHS[sha], "LEGACY_EPOCHS"
    return 0, "before epochs (suite commit not in LEGACY_EPOCHS)"


def _failing_check(check: dict[str, Any]) -> dict[str, Any]:
    return {"name": check["name"], "p_value": check.get("p_value"),
            "alpha": check.get("alpha"), "stats": check.get("stats") or {},
            "message": check.get("message", "")}


def red_items(run: dict[str, Any], file_name: str) -> list[dict[str, Any]]:
    """Every unexpected verdict in one results file (the same rule as ``initspec run``'s exit
    code and ``python -m initspec.seeds``): a cell whose verdict is fail or error, with its
    failing checks' statistics, and a known deviation reproduced in none of its cells."""
    items = []
    for cell in run["cells"]:
        if cell["verdict"] in EXPECTED_VERDICTS:
            continue
        deviation = cell.get("deviation")
        items.append({"kind": "cell", "cell": cell["id"], "file": file_name,
                      "verdict": cell["verdict"], "expected": cell.get("expected", "pass"),
                      "deviation": deviation["id"] if deviation else None,
                      "message": cell["message"],
                      "checks": [_failing_check(c) for c in cell["checks"] if not c["passed"]]})
    for outcome in run.get("deviations") or []:
        if outcome.get("cells", 0) > 0 and outcome.get("reproduced", 0) == 0:
            where = f"{run['framework']}-{run['framework_version']}/{run['device']}/{run['dtype']}"
            items.append({"kind": "deviation", "deviation": outcome["id"], "file": file_name,
                          "column": where, "cells": outcome["cells"],
                          "message": f"known deviation {outcome['id']} reproduced in none of "
                                     f"its {outcome['cells']} cells of {where}"})
    return items


_SAME_WITHIN_A_COLUMN = ("seed", "suite_sha", "framework_version", "budget", "resolution",
                         "alpha_per_check", "verdict_epoch", "planned_cells")


def column_runs(directory: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The column runs in one results folder, and the files left out (other releases). Bad
    input raises CalibrationError: no folder, no results file, a file that is not a results
    file, results of several seeds, a column whose files are not one run or not all of it."""
    from initspec.distributions import DTYPES
    from initspec.report.merge import DTYPE_ORDER, problem
    from initspec.results import named_version

    if not directory.is_dir():
        raise CalibrationError(f"{directory} is not a directory (give the --results folder of "
                               "an `initspec run --seed S`)")
    from initspec.results import paths as results_paths

    paths = results_paths(directory)
    if not paths:
        raise CalibrationError(f"{directory} holds no results files (*.json.gz, *.json): run "
                               f"`initspec run "
                               f"--framework NAME --seed S --results {directory}` first")
    loaded, other_releases = [], []
    for path in paths:
        run, why = problem(path)
        if run is None:
            raise CalibrationError(f"{path}: {why}")
        if named_version(path.name):  # `nox -s versions`: not a column of the published run
            other_releases.append(path.name)
        else:
            loaded.append((path, run))
    if not loaded:
        raise CalibrationError(f"{directory} holds only other releases' results "
                               f"({', '.join(other_releases)}): not columns of the published run")
    seeds: dict[int, list[str]] = defaultdict(list)
    for path, run in loaded:
        seeds[run["seed"]].append(path.name)
    if len(seeds) > 1:
        listed = "; ".join(f"seed {s}: {', '.join(names[:2])}{' ...' if len(names) > 2 else ''}"
                           for s, names in sorted(seeds.items()))
        raise CalibrationError(f"{directory} mixes results of {len(seeds)} seeds ({listed}): "
                               "add each seed's results folder on its own")
    columns: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for path, run in loaded:
        columns[run["framework"]].append((path, run))
    entries = []
    added = datetime.now(UTC).isoformat(timespec="seconds")
    for column, files in sorted(columns.items()):
        first_path, first = files[0]
        for key in _SAME_WITHIN_A_COLUMN:
            for path, run in files[1:]:
                if run.get(key) != first.get(key):
                    raise CalibrationError(
                        f"{directory}: {column}'s files are not one run: {key} "
                        f"{first.get(key)!r} in {first_path.name}, {run.get(key)!r} in "
                        f"{path.name}")
        cells = sum(len(run["cells"]) for _, run in files)
        planned = first.get("planned_cells")
        devices = sorted({run["device"] for _, run in files})
        dtypes = sorted({run["dtype"] for _, run in files},
                        key=lambda d: (DTYPE_ORDER.get(d, len(DTYPE_ORDER)), d))
        if isinstance(planned, int):
            if cells != planned:
                raise CalibrationError(
                    f"{directory}: {column}'s files hold {cells} of its {planned} planned "
                    f"cells ({', '.join(p.name for p, _ in files)}): a partial set, not a "
                    "column run")
        else:  # written before planned_cells: every device present must have every dtype
            for device in devices:
                have = {run["dtype"] for _, run in files if run["device"] == device}
                if missing := [d for d in sorted(DTYPES, key=DTYPE_ORDER.get) if d not in have]:
                    raise CalibrationError(
                        f"{directory}: {column} on {device} has no results for "
                        f"{', '.join(missing)}: a partial set, not a column run")
        epoch, epoch_from = epoch_of(first)
        verdicts = Counter(cell["verdict"] for _, run in files for cell in run["cells"])
        walls = [run.get("wall_seconds") for _, run in files]
        entries.append({
            "seed": first["seed"], "column": column,
            "framework_version": first["framework_version"],
            "environment": first.get("environment") or {},
            "python": first.get("python"), "platform": first.get("platform"),
            "initspec": first.get("initspec"),
            "suite_sha": first.get("suite_sha") or "unknown",
            "verdict_epoch": epoch, "epoch_from": epoch_from,
            "budget": first["budget"], "alpha_per_check": first["alpha_per_check"],
            "resolution": first["resolution"],
            "devices": devices, "dtypes": dtypes,
            "files": [p.name for p, _ in files],
            "cells": cells, "planned_cells": planned if isinstance(planned, int) else None,
            "verdicts": dict(sorted(verdicts.items())),
            "cell_seconds": round(sum(c.get("seconds_sample", 0) + c.get("seconds_check", 0)
                                      for _, run in files for c in run["cells"]), 1),
            "wall_seconds": walls[0] if isinstance(walls[0], int | float) else None,
            "timestamp": max(run.get("timestamp") or "" for _, run in files) or None,
            "added": added,
            "red": [item for path, run in files for item in red_items(run, path.name)],
        })
    return entries, other_releases


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["column"], entry["seed"], entry["suite_sha"], entry["framework_version"],
            entry["timestamp"])


def add(ledger_path: Path, directory: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                     list[str]]:
    """Append the column runs of ``directory`` to the ledger: (added, already there, left out)."""
    load_ledger(ledger_path, missing_ok=True)  # a broken ledger is said before reading results
    entries, left_out = column_runs(directory)
    with _locked(ledger_path):
        ledger = load_ledger(ledger_path, missing_ok=True)
        known = {_key(r) for r in ledger["runs"]}
        new = [e for e in entries if _key(e) not in known]
        old = [e for e in entries if _key(e) in known]
        if new:
            ledger["runs"].extend(new)
            write_ledger(ledger_path, ledger)
    return new, old, left_out


# --------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class Design:
    """What the ledger is judged against: the run budget, the resolution, the columns of a full
    run and the verdict epoch (defaults: the published run's)."""

    budget: float
    resolution: float
    columns: tuple[str, ...]
    epoch: int

    @classmethod
    def published(cls, budget: float | None = None, resolution: float | None = None,
                  columns: Sequence[str] | None = None, epoch: int | None = None) -> Design:
        from initspec import engine

        return cls(engine.DEFAULT_BUDGET if budget is None else budget,
                   engine.DEFAULT_RESOLUTION if resolution is None else resolution,
                   tuple(columns or _budget.PUBLISHED_COLUMNS),
                   engine.VERDICT_EPOCH if epoch is None else epoch)

    def column_p(self, column: str) -> float:
        """A column run's designed false-failure probability (at most): its share."""
        return _budget.column_budget(self.budget, column)

    @property
    def p(self) -> float:
        """A full run's designed false-failure probability (at most): the sum of the shares."""
        return sum(self.column_p(c) for c in self.columns)

    def why_not_counted(self, entry: dict[str, Any]) -> str | None:
        if entry["verdict_epoch"] != self.epoch:
            return f"verdict epoch {entry['verdict_epoch']} (current {self.epoch})"
        if entry["column"] not in self.columns:
            return "not a column of the full run"
        if not math.isclose(entry["budget"], self.column_p(entry["column"]), rel_tol=1e-6):
            return (f"budget {entry['budget']:.3g}, not the design's share "
                    f"{self.column_p(entry['column']):.3g}")
        if not math.isclose(entry["resolution"], self.resolution, rel_tol=1e-9):
            return f"resolution {entry['resolution']:g}, not {self.resolution:g}"
        if any(item.get("verdict") == "error" for item in entry["red"]):
            return "an adapter error in a cell (a bug to fix, not a measurement)"
        return None


def is_red(entry: dict[str, Any]) -> bool:
    """Red by chance or by a finding: a fail verdict or a deviation that no longer reproduces."""
    return any(item["kind"] == "deviation" or item.get("verdict") == "fail"
               for item in entry["red"])


@dataclass(frozen=True)
class Statement:
    """k red runs in N against a designed probability p (at most), exactly."""

    k: int
    n: int
    p: float
    level: float

    @property
    def p_value(self) -> float | None:
        """P(X >= k) for X ~ Binomial(N, p): small when there are more red runs than p allows."""
        if self.n == 0:
            return None
        from scipy import stats

        return float(stats.binomtest(self.k, self.n, self.p, alternative="greater").pvalue)

    @property
    def upper(self) -> float | None:
        """Clopper–Pearson upper bound on the red-run rate, one-sided, confidence 1 - level."""
        if self.n == 0:
            return None
        from scipy import stats

        result = stats.binomtest(self.k, self.n, self.p, alternative="less")
        return float(result.proportion_ci(1 - self.level, method="exact").high)

    @property
    def consistent(self) -> bool | None:
        return None if self.n == 0 else self.p_value >= self.level

    def text(self) -> str:
        if self.n == 0:
            return "no statement yet (N = 0)"
        verdict = ("consistent with the design" if self.consistent else
                   "NOT consistent with the design (more red runs than the budget allows: "
                   "investigate each red cell)")
        return (f"{verdict}: exact binomial P(X >= {self.k}) = {self.p_value:.3g} "
                f"{'>=' if self.consistent else '<'} {self.level:g} for X ~ Bin(N = {self.n}, "
                f"p = {self.p:.3g}); observed rate <= {self.upper:.3g} "
                f"({100 * (1 - self.level):g} % Clopper–Pearson upper bound)")


@dataclass
class Summary:
    design: Design
    level: float
    full_runs: dict[int, bool] = field(default_factory=dict)  # seed -> red
    per_column: dict[str, dict[int, bool]] = field(default_factory=dict)  # column -> seed -> red
    not_counted: Counter = field(default_factory=Counter)  # reason -> column runs
    disagree: list[str] = field(default_factory=list)  # same column and seed, red and not
    alphas: dict[str, set[float]] = field(default_factory=dict)
    red_cells: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)  # column -> median seconds per run
    notes: int = 0

    @property
    def whole(self) -> Statement:
        return Statement(sum(self.full_runs.values()), len(self.full_runs), self.design.p,
                         self.level)

    def column(self, name: str) -> Statement:
        runs = self.per_column.get(name, {})
        return Statement(sum(runs.values()), len(runs), self.design.column_p(name), self.level)


def summarize(ledger: dict[str, Any], design: Design, level: float = DEFAULT_LEVEL) -> Summary:
    out = Summary(design, level, per_column={c: {} for c in design.columns},
                  notes=len(ledger.get("notes", [])))
    seconds: dict[str, list[float]] = defaultdict(list)
    for entry in ledger["runs"]:
        wall = entry.get("wall_seconds") or entry.get("cell_seconds")
        if wall:
            seconds[entry["column"]].append(wall)
        why = design.why_not_counted(entry)
        if why is not None:
            out.not_counted[why] += 1
            continue
        column, seed, red = entry["column"], entry["seed"], is_red(entry)
        seen = out.per_column[column]
        if seed in seen and seen[seed] != red:
            out.disagree.append(f"{column} seed {seed}")
        seen[seed] = seen.get(seed, False) or red
        out.alphas.setdefault(column, set()).add(entry["alpha_per_check"])
        if red:
            out.red_cells += [(seed, column, item) for item in entry["red"]]
    seeds = set.intersection(*(set(out.per_column[c]) for c in design.columns)) \
        if design.columns else set()
    out.full_runs = {s: any(out.per_column[c][s] for c in design.columns) for s in sorted(seeds)}
    out.cost = {c: sorted(v)[len(v) // 2] for c, v in seconds.items()}
    return out


def _count_text(summary: Summary) -> str:
    return ", ".join(f"{c} {len(summary.per_column[c])}" for c in summary.design.columns)


def table_line(summary: Summary, ledger_name: str = "calibration.json") -> str:
    """The one line the table's and the site's headers show."""
    d, whole = summary.design, summary.whole
    older = sum(n for why, n in summary.not_counted.items() if why.startswith("verdict epoch"))
    line = (f"Calibration ({ledger_name}, verdict epoch {d.epoch}): designed false-failure "
            f"probability p ≤ {d.p:.3g} (whole published run, {len(d.columns)} columns); "
            f"observed {whole.k} red full runs in {whole.n} (column runs at this epoch: "
            f"{_count_text(summary)}")
    if older:
        line += f"; {older} column runs of older epochs not counted"
    return line + f"). {whole.text()[0].upper()}{whole.text()[1:]}."


def calibration_record(ledger_path: Path) -> dict[str, Any] | None:
    """What the report shows of the ledger beside it (None when there is none)."""
    if not ledger_path.is_file():
        return None
    summary = summarize(load_ledger(ledger_path), Design.published())
    whole = summary.whole
    return {"ledger": ledger_path.name, "line": table_line(summary, ledger_path.name),
            "epoch": summary.design.epoch, "designed": summary.design.p,
            "full_runs": whole.n, "red_full_runs": whole.k, "consistent": whole.consistent,
            "p_value": whole.p_value, "upper": whole.upper,
            "column_runs": {c: len(summary.per_column[c]) for c in summary.design.columns}}


def summary_lines(summary: Summary, ledger_path: Path) -> list[str]:
    d, whole = summary.design, summary.whole
    what = ("whole published run" if d.columns == _budget.PUBLISHED_COLUMNS else
            f"a full run of {', '.join(d.columns)}")
    lines = [f"calibrate: {ledger_path}: verdict epoch {d.epoch} (initspec.engine.VERDICT_EPOCH); "
             f"design: run budget {d.budget:g} over {_plural(len(d.columns), 'column')} "
             f"({', '.join(d.columns)}), resolution {d.resolution:g}",
             f"designed false-failure probability p <= {d.p:.3g} ({what}); "
             f"observed {whole.k} red full runs in {whole.n} (target: N >= 100, k = 0)",
             f"  {whole.text()}"]
    if whole.n == 0:
        lines.append(f"  a full run: one seed's column runs at verdict epoch {d.epoch} and the "
                     f"design's settings, covering {_plural(len(d.columns), 'column')}")
    if whole.k:
        lines.append("  red full runs at seeds "
                     + ", ".join(str(s) for s, red in summary.full_runs.items() if red))
    lines.append("column runs per column (distinct seeds counted, red; designed p per column "
                 "run; statement):")
    for column in d.columns:
        st = summary.column(column)
        lines.append(f"  {column}: {st.n} runs, {st.k} red (p <= {st.p:.3g}): {st.text()}")
    for seed, _column, item in summary.red_cells:
        what = item.get("cell") or item.get("column")
        stats = "; ".join(f"{c['name']} p = {_num(c['p_value'])} (alpha {_num(c['alpha'])})"
                          + (f", z = {c['stats']['z']:.3g}"
                             if isinstance(c["stats"].get("z"), int | float) else "")
                          for c in item.get("checks", []))
        lines.append(f"  red: seed {seed} {what}: {item.get('verdict', item['kind'])}"
                     + (f": {stats}" if stats else f": {item['message']}"))
    for column, alphas in sorted(summary.alphas.items()):
        if len(alphas) > 1:
            lines.append(f"  warning: {column}'s counted runs differ in alpha per check "
                         f"({', '.join(f'{a:.3g}' for a in sorted(alphas))}): not one plan "
                         "(--no-recipes? another --spec?)")
    for what in summary.disagree:
        lines.append(f"  warning: {what} is in the ledger twice at this epoch, red and not red "
                     "(the same draws should give the same verdicts)")
    if summary.not_counted:
        lines.append("not counted: " + "; ".join(
            f"{n} column run{'s' if n > 1 else ''}: {why}"
            for why, n in summary.not_counted.most_common()))
    if summary.cost:
        total = sum(summary.cost.get(c, 0) for c in d.columns)
        missing = [c for c in d.columns if c not in summary.cost]
        lines.append(f"cost of one full run (median column run in the ledger, wall time or "
                     f"else its cells' seconds): {total / 60:.1f} min of column time"
                     + (f", without {', '.join(missing)} (no run yet)" if missing else ""))
    if summary.notes:
        lines.append(f"notes: {summary.notes} (recorded, never counted: see the ledger)")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else str(value)


def added_line(entry: dict[str, Any], design: Design) -> str:
    why = design.why_not_counted(entry)
    red = len(entry["red"])
    return (f"calibrate: added {entry['column']} {entry['framework_version']} seed "
            f"{entry['seed']} (suite {entry['suite_sha'][:10]}, verdict epoch "
            f"{entry['verdict_epoch']}, {entry['cells']} cells, {red} unexpected): "
            + ("counts at the current epoch" if why is None else f"not counted: {why}"))


# --------------------------------------------------------------------------- the command


def cmd_add(args: Any) -> int:
    from initspec.cli import EXIT_OK, error

    ledger = Path(args.ledger)
    try:
        new, old, left_out = add(ledger, Path(args.results))
    except (CalibrationError, OSError) as exc:
        return error(exc)
    design = Design.published()
    if left_out:
        print(f"calibrate: left out {len(left_out)} file(s) of other releases "
              f"({', '.join(left_out[:3])}{' ...' if len(left_out) > 3 else ''}): not columns "
              "of the published run")
    for entry in new:
        print(added_line(entry, design))
    for entry in old:
        print(f"calibrate: {entry['column']} seed {entry['seed']} (suite "
              f"{entry['suite_sha'][:10]}, {entry['timestamp']}) is in the ledger already")
    print(f"calibrate: {ledger}: {len(new)} column run(s) added")
    return EXIT_OK


def cmd_summary(args: Any) -> int:
    from initspec.cli import EXIT_OK, EXIT_RED, error

    ledger_path = Path(args.ledger)
    try:
        if not 0 < args.level < 1:
            raise CalibrationError(f"--level {args.level:g}: give a probability in (0, 1)")
        if args.budget is not None and not 0 < args.budget < 1:
            raise CalibrationError(f"--budget {args.budget:g}: give a probability in (0, 1)")
        ledger = load_ledger(ledger_path)
    except CalibrationError as exc:
        return error(exc)
    design = Design.published(args.budget, args.resolution, args.columns or None)
    summary = summarize(ledger, design, args.level)
    for line in summary_lines(summary, ledger_path):
        print(line)
    consistent = [summary.whole.consistent, *(summary.column(c).consistent
                                              for c in design.columns)]
    return EXIT_RED if False in consistent else EXIT_OK


def register(sub: Any) -> None:
    """Add ``calibrate add`` and ``calibrate summary`` (cli.py calls this)."""
    p = sub.add_parser("calibrate", help="the calibration ledger: designed vs observed "
                       "false-failure rate",
                       description=__doc__.split("\n\n")[0] + " Exit codes: 0 ok; 1 (summary) "
                       "the observation is not consistent with the design; 2 bad input.")
    verbs = p.add_subparsers(dest="verb", required=True)
    a = verbs.add_parser("add", help="append the column runs of one results folder",
                         description="Append every column run in a results folder (one seed; "
                         "each column complete: all its devices and dtypes) to the ledger, with "
                         "its unexpected cells and their statistics. A run already in the ledger "
                         "is not added twice.")
    a.add_argument("--results", required=True, help="results folder of `initspec run --seed S`")
    a.add_argument("--ledger", default=str(DEFAULT_LEDGER))
    a.set_defaults(func=cmd_add)
    s = verbs.add_parser("summary", help="designed vs observed, with an exact binomial statement",
                         description="Full runs (one seed's column runs at the current verdict "
                         "epoch and the design's settings, covering every column) and column "
                         "runs per column, each against its designed false-failure probability.")
    s.add_argument("--ledger", default=str(DEFAULT_LEDGER))
    s.add_argument("--columns", nargs="+", metavar="COLUMN",
                   help="the columns of a full run (default: budget.PUBLISHED_COLUMNS)")
    s.add_argument("--budget", type=float, default=None,
                   help="run budget of the design (default 1e-3, split as `initspec run` does)")
    s.add_argument("--resolution", type=float, default=None,
                   help="variance resolution of the design (default 0.01)")
    s.add_argument("--level", type=float, default=DEFAULT_LEVEL,
                   help="level of the binomial statement (default 0.05)")
    s.set_defaults(func=cmd_summary)

