"""Sessions: conformance (one environment per framework), tests, bench, seeds, lint.

    nox -s conformance              # every environment; results + reports/COMPATIBILITY.md
    nox -s "conformance(env='jax')" -- --seed 7
    nox -s tests                    # the engine's own tests (no ML framework installed)
    nox -s bench                    # each column's full run vs raw generation
    nox -s seeds -- 20 torch        # false-failure rate of one column over 20 seeds
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nox

nox.options.default_venv_backend = "virtualenv"  # uv would not see the torch wheel on this disk
nox.options.sessions = ["tests", "lint", "conformance"]
nox.options.reuse_existing_virtualenvs = True


@dataclass(frozen=True)
class Environment:
    """One nox environment: what to install, which columns run in it (one process, so a heavy
    framework import is paid once), and the environment variables it needs."""

    install: list[list[str]]
    columns: list[str]
    env: dict[str, str] = field(default_factory=dict)


# Versions are pinned in pyproject.toml's extras. torch: the CPU wheel of 2.13.0 is on the
# project's machines; an open range pulls CUDA. tf-keras (for tf.compat.v1.layers) requires the
# full `tensorflow` package; --no-deps keeps tensorflow-cpu the only TensorFlow installed.
ENVIRONMENTS = {
    "torch": Environment([[".[torch]"]], ["torch"]),
    "tensorflow": Environment([[".[tensorflow]"], ["--no-deps", "tf-keras==2.21.0"]],
                              ["keras-tensorflow", "tf-compat-v1"],
                              {"KERAS_BACKEND": "tensorflow"}),
    "keras-jax": Environment([[".[keras-jax]"]], ["keras-jax"], {"KERAS_BACKEND": "jax"}),
    "keras-torch": Environment([[".[keras-torch]"]], ["keras-torch"],
                               {"KERAS_BACKEND": "torch"}),
    "jax": Environment([[".[jax]"]], ["jax", "flax", "equinox", "haiku"]),
}
COLUMNS = {column: name for name, e in ENVIRONMENTS.items() for column in e.columns}


def _initspec(session: nox.Session, env: str, command: str) -> None:
    """Install environment ``env`` and run ``initspec <command>`` on all its columns at once."""
    environment = ENVIRONMENTS[env]
    for args in environment.install:
        session.install(*args)
    columns = [arg for column in environment.columns for arg in ("--framework", column)]
    session.run("initspec", command, *columns, *session.posargs, env=environment.env)


@nox.session(python="3.11")
@nox.parametrize("env", list(ENVIRONMENTS))
def conformance(session: nox.Session, env: str) -> None:
    """Run the conformance suite for one environment's columns and re-render the table."""
    _initspec(session, env, "run")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The engine's own tests: numpy/scipy only, no ML framework."""
    session.install(".", "nox")  # nox: the test of the CI matrix lists this noxfile's sessions
    session.run("pytest", "tests", "-q", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("env", list(ENVIRONMENTS))
def bench(session: nox.Session, env: str) -> None:
    """Time each column's full run against raw sample generation (target ratio <= 1.5)."""
    _initspec(session, env, "bench")


@nox.session(python="3.11")
def seeds(session: nox.Session) -> None:
    """False-failure rate: run one column's suite under seeds 1..N (default: 20, torch)."""
    count = session.posargs[0] if session.posargs else "20"
    column = session.posargs[1] if len(session.posargs) > 1 else "torch"
    environment = ENVIRONMENTS[COLUMNS[column]]
    for args in environment.install:
        session.install(*args)
    session.run("python", "-m", "initspec.seeds", "--framework", column, "--runs", count,
                env=environment.env)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
