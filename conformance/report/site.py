"""The static site reports/site/: opens from disk (file://), no server, no CDN.

index.html (Jinja2) loads data.js, site.js and site.css. data.js holds the merged compat
document and each cell's details (check messages, reproducer) as gzip, base64-encoded in one JS
assignment: a page opened from disk may not fetch JSON, but it may load a script, and the
browser's DecompressionStream unpacks it (JSON compresses ~10x: the site stays ~1 MB). Views are
hash routes: the porting matrix (landing), the list of every cell, and one detail view per cell
with its plot, plots/<hash of the evidence>.png, drawn by matplotlib from the stored evidence.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any

from initspec.report.markdown import NO_VERSIONS, change_text, environment

ASSETS = ("site.js", "site.css")
PLOT_STYLE = 2  # part of each plot's name: bump it when plots.py draws differently


def plot_name(evidence: dict[str, Any]) -> str:
    """Content-addressed: the same evidence gives the same file, so a re-run redraws nothing."""
    text = json.dumps([PLOT_STYLE, evidence], sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return f"plots/{digest}.png"


def _draw(jobs: list[tuple[str, dict[str, Any]]]) -> None:
    from initspec.report.plots import Painter

    painter = Painter()
    try:
        for path, evidence in jobs:
            Path(path).write_bytes(painter.png(evidence))
    finally:
        painter.close()


def draw_plots(out: Path, evidence_by_cell: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Draw every missing plot (in parallel), delete stale ones; cell id -> relative path."""
    (out / "plots").mkdir(parents=True, exist_ok=True)
    names = {cid: plot_name(ev) for cid, ev in evidence_by_cell.items()}
    todo = {name: evidence_by_cell[cid] for cid, name in names.items()
            if not (out / name).is_file()}
    jobs = [(str(out / name), ev) for name, ev in sorted(todo.items())]
    workers = max(1, min(os.cpu_count() or 1, len(jobs) // 20 or 1))
    if workers == 1:
        _draw(jobs)
    else:
        # spawn, not fork: `initspec run` renders in a process whose framework runs threads
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_draw, [jobs[i::workers] for i in range(workers)]))
    keep = set(names.values())
    for stale in (out / "plots").glob("*.png"):
        if f"plots/{stale.name}" not in keep:
            stale.unlink()
    return names


def write(compat: dict[str, Any], details: list[list[Any]], out: Path) -> Path:
    """index.html, data.js and the assets into ``out`` (plots are drawn before, by the caller)."""
    out.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"compat": compat, "details": details}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    packed = base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode()
    (out / "data.js").write_text(f'window.INITSPEC_GZ = "{packed}";\n')
    templates = files("initspec.report") / "templates"
    for asset in ASSETS:
        with (templates / asset).open("rb") as src, (out / asset).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    runs = compat["runs"]
    html = environment(html=True).get_template("index.html.j2").render(
        runs=runs, cells=len(compat["cells"]), skipped=compat["skipped"],
        calibration=compat.get("calibration"),
        versions=compat.get("versions") or NO_VERSIONS, change_text=change_text,
        frameworks=sorted({r["framework"] for r in runs}),
        dtypes=sorted({r["dtype"] for r in runs},
                      key=lambda d: {"float32": 0, "float64": 1, "float16": 2}.get(d, 3)))
    index = out / "index.html"
    index.write_text(html)
    return index
