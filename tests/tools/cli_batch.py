"""Run several ``initspec`` command lines in one process (the framework is imported once):
``python tests/tools/cli_batch.py JOBS.json OUT.json``, JOBS a mapping of names to argument
lists; OUT gets each job's exit code, stdout and stderr (a traceback if ``main`` raised, which
the CLI never should). tests/test_audit_frameworks.py runs its audits this way: one process per
session instead of one per audit, on 2 shared cores.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

from initspec.cli import main


def run(argv: list[str]) -> dict:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # reported, not raised: the test says which job
            code = None
            traceback.print_exc()
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


if __name__ == "__main__":
    jobs = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps({name: run(argv) for name, argv in jobs.items()}))
