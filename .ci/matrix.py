#!/usr/bin/env python3
"""The GitHub Actions matrix of the conformance jobs, generated from the noxfile.

    python .ci/matrix.py            # reads `nox --json -l -s conformance versions`; prints
                                    # {"include": [...]}
    python .ci/matrix.py --from F   # reads that listing from file F instead (tests use this)

One job per `conformance(env=...)` session (the pinned releases) and per `versions(env=...)`
session (the other releases, results named by version): a new nox environment (a framework, a
version) is a new job with no change to the workflow. Each job uploads its results as the artifact
`results-<env>`; the final job merges every artifact into one table.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from typing import Any

SESSIONS = ("conformance", "versions")
_ENV = re.compile(r"^[A-Za-z0-9._-]+$")


def matrix(listing: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The matrix of one job per conformance or versions environment in ``nox --json -l``
    output."""
    include = []
    for session in listing:
        if session.get("name") not in SESSIONS:
            continue
        env = (session.get("call_spec") or {}).get("env")
        if not isinstance(env, str) or not _ENV.match(env):
            raise ValueError(f"session {session.get('session')!r}: no usable env parameter")
        include.append({"session": session["session"], "env": env,
                        "artifact": f"results-{env}"})
    if not include:
        raise ValueError(f"the noxfile lists no {SESSIONS[0]}(env=...) session")
    names = [job["env"] for job in include]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate environments: {names}")
    return {"include": include}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="a saved `nox --json -l` listing")
    args = parser.parse_args(argv)
    try:
        if args.source:
            with open(args.source) as f:
                text = f.read()
        else:
            # -s: `nox -l` lists only the default sessions, and `versions` is not one
            text = subprocess.run([sys.executable, "-m", "nox", "--json", "-l", "-s", *SESSIONS],
                                  check=True, capture_output=True, text=True).stdout
        print(json.dumps(matrix(json.loads(text))))
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"matrix: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
