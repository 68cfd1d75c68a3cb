"""Sessions: conformance (one environment per framework), tests, bench, seeds, lint.

    nox -s conformance              # every framework; results + reports/COMPATIBILITY.md
    nox -s "conformance(framework='torch')" -- --seed 7
    nox -s tests                    # the engine's own tests (no ML framework installed)
    nox -s bench                    # full run vs raw generation, per framework
    nox -s seeds -- 20              # false-failure rate of the torch suite over 20 seeds
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "virtualenv"  # uv would not see the torch wheel on this disk
nox.options.sessions = ["tests", "lint", "conformance"]
nox.options.reuse_existing_virtualenvs = True

# Each framework's own environment: what `pip install` needs for its adapter.
# torch is pinned: the CPU wheel of 2.13.0 is on the project's machines; an open range pulls CUDA.
FRAMEWORKS = {
    "torch": [".[torch]"],
}


@nox.session(python="3.11")
@nox.parametrize("framework", list(FRAMEWORKS))
def conformance(session: nox.Session, framework: str) -> None:
    """Run the conformance suite for one framework and re-render the table."""
    session.install(*FRAMEWORKS[framework])
    session.run("initspec", "run", "--framework", framework, *session.posargs)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The engine's own tests: numpy/scipy only, no ML framework."""
    session.install(".")
    session.run("pytest", "tests", "-q", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("framework", list(FRAMEWORKS))
def bench(session: nox.Session, framework: str) -> None:
    """Time the full conformance run against raw sample generation (target ratio <= 1.5)."""
    session.install(*FRAMEWORKS[framework])
    session.run("initspec", "bench", "--framework", framework, *session.posargs)


@nox.session(python="3.11")
def seeds(session: nox.Session) -> None:
    """False-failure rate: run the torch suite under seeds 1..N (default 20), count red runs."""
    count = int(session.posargs[0]) if session.posargs else 20
    session.install(*FRAMEWORKS["torch"])
    session.run("python", "-m", "initspec.seeds", "--framework", "torch", "--runs", str(count))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
