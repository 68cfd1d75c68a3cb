"""Sessions: conformance (one environment per framework), report, tests, bench, seeds, lint.

    nox -s conformance              # every environment; results + reports/COMPATIBILITY.md
    nox -s report                   # reports/compat.json, COMPATIBILITY.md and site/ from results
    nox -s "conformance(env='jax')" -- --seed 7
    nox -s tests                    # the engine's own tests (no ML framework installed)
    nox -s bench                    # each column's full run vs raw generation
    nox -s seeds -- 20 torch        # false-failure rate of one column over 20 seeds
    nox -s calibrate -- torch --seeds 1:5  # seeds 1..5 of torch -> reports/calibration.json
    nox -s versions                 # the other releases (RELEASES), results named by version
    nox -s "audit(env='transformers4')"  # initspec audit on real torch + Flax models
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nox

nox.options.default_venv_backend = "virtualenv"  # uv would not see the torch wheel on this disk
nox.options.sessions = ["tests", "lint", "conformance", "report"]
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
# jaxlib 0.10.2 can deadlock on this 2-core CPU under jit + vmap of several orthogonal inits
# (a batched Flax LSTMCell); the concurrency-optimised scheduler off cleared it.
XLA_FLAGS = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
ENVIRONMENTS = {
    "torch": Environment([[".[torch]"]], ["torch"]),
    "tensorflow": Environment([[".[tensorflow]"], ["--no-deps", "tf-keras==2.21.0"]],
                              ["keras-tensorflow", "tf-compat-v1"],
                              {"KERAS_BACKEND": "tensorflow"}),
    "keras-jax": Environment([[".[keras-jax]"]], ["keras-jax"],
                             {"KERAS_BACKEND": "jax", "XLA_FLAGS": XLA_FLAGS}),
    "keras-torch": Environment([[".[keras-torch]"]], ["keras-torch"],
                               {"KERAS_BACKEND": "torch"}),
    "jax": Environment([[".[jax]"]], ["jax", "flax", "equinox", "haiku"],
                       {"XLA_FLAGS": XLA_FLAGS}),
    # mlx[cpu]: the CPU backend (mlx-cpu) that plain `mlx` lacks on Linux.
    "mlx": Environment([[".[mlx]"]], ["mlx"]),
    # PaddlePaddle's CPU wheel (`paddlepaddle`; `paddlepaddle-gpu` is the CUDA one).
    "paddle": Environment([[".[paddle]"]], ["paddle"]),
}
# Not yet in the published run: tinygrad's float64 Tensor.uniform scales a float32 draw, so the
# exact lower bound turns up with probability 2^-23 per value (2 red cells in its one full run;
# the deviation needs a model of the float32 grid first). `nox -s "unpublished(env='tinygrad')"`
# runs it on its own (results in build/); its CPU device compiles every kernel with clang.
UNPUBLISHED = {
    "tinygrad": Environment([[".[tinygrad]"]], ["tinygrad"]),
}
COLUMNS = {column: name for name, e in ENVIRONMENTS.items() for column in e.columns}

# Other releases of each family, one environment each, named by version: the same columns as
# ENVIRONMENTS[base], other pins. Their results are named <column>-<device>-<dtype>@<version>.json
# and sit beside the pinned ones in reports/results/ (the report diffs them: "changed in").
# .ci/run runs only ENVIRONMENTS (it is near its time limit); `nox -s versions` refreshes these,
# and the matrix workflow runs them as jobs of their own. torch 2.14.1 is the large CUDA build
# (it runs on CPU); tensorflow-2.20 pairs TensorFlow 2.20 with Keras 3.14.1 (keras-tensorflow
# and tf-compat-v1 both change release); the Keras backends keep the pinned jax and torch, so
# keras-jax-3.14.1 and keras-torch-3.14.1 differ from the pinned ones by Keras alone.
RELEASES = {
    "torch-2.14.1": Environment([[".", "torch==2.14.1"]], ENVIRONMENTS["torch"].columns),
    "tensorflow-2.20": Environment([[".", "tensorflow-cpu==2.20.0", "keras==3.14.1"],
                                    ["--no-deps", "tf-keras==2.20.1"]],
                                   ENVIRONMENTS["tensorflow"].columns,
                                   ENVIRONMENTS["tensorflow"].env),
    "keras-jax-3.14.1": Environment([[".", "keras==3.14.1", "jax==0.10.2"]],
                                    ENVIRONMENTS["keras-jax"].columns,
                                    ENVIRONMENTS["keras-jax"].env),
    "keras-torch-3.14.1": Environment([[".", "keras==3.14.1", "torch==2.13.0"]],
                                      ENVIRONMENTS["keras-torch"].columns,
                                      ENVIRONMENTS["keras-torch"].env),
    # flax / equinox / haiku releases that resolve with jax 0.9.2 and predate the pinned ones.
    # The jax, flax and equinox specs still claim only the pinned releases (">=0.10",
    # ">=0.12.8", ">=0.13.8"): widen them when this environment's run is committed.
    "jax-0.9": Environment([[".", "jax==0.9.2", "flax==0.12.2", "equinox==0.13.0",
                             "dm-haiku==0.0.16"]], ENVIRONMENTS["jax"].columns,
                           ENVIRONMENTS["jax"].env),
}


@contextmanager
def _one_build_at_a_time() -> Iterator[None]:
    """pip builds '.' in the tree's own build/ directory: two nox processes installing at once (CI's
    parallel groups) collide there ("No such file or directory" mid-wheel), so they take turns."""
    lock = Path(__file__).parent / ".nox" / "install.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _initspec(session: nox.Session, env: str, command: str, *args: str,
              environments: dict[str, Environment] = ENVIRONMENTS) -> None:
    """Install environment ``env`` and run ``initspec <command>`` on all its columns at once."""
    environment = environments[env]
    with _one_build_at_a_time():
        for install in environment.install:
            session.install(*install)
    columns = [arg for column in environment.columns for arg in ("--framework", column)]
    session.run("initspec", command, *columns, *args, *session.posargs,
                env={**_jax_cache(session, environment), **environment.env})


def _jax_cache(session: nox.Session, environment: Environment) -> dict[str, str]:
    """JAX's persistent compilation cache, in the environment's own folder, for the columns that
    run on jax: each cell compiles one function (most of the JAX family's time), and a later run
    of the same plan (another seed, `nox -s seeds`, calibration) reuses it. The cache key is the
    program, its options and jaxlib's version, so what is drawn does not change (bench's
    `--check-cache` compares a cold run's statistics with a warm one's, bit for bit)."""
    if "XLA_FLAGS" not in environment.env:  # not a jax environment
        return {}
    return {"JAX_COMPILATION_CACHE_DIR": str(Path(session.virtualenv.location) / "jax-cache"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


@nox.session(python="3.11")
@nox.parametrize("env", list(ENVIRONMENTS))
def conformance(session: nox.Session, env: str) -> None:
    """Run the conformance suite for one environment's columns; writes reports/results/.

    The table and the site are rendered once, from every environment's results, by
    ``nox -s report`` (a later ``--report PATH`` in the posargs renders it here too)."""
    _initspec(session, env, "run", "--report", "")


@nox.session(python="3.11")
@nox.parametrize("env", list(UNPUBLISHED))
def unpublished(session: nox.Session, env: str) -> None:
    """A column not yet in the published run (UNPUBLISHED): full run, results to build/."""
    _initspec(session, env, "run", "--results", f"build/unpublished/{env}", "--report", "",
              environments=UNPUBLISHED)


@nox.session(python="3.11")
@nox.parametrize("env", list(RELEASES))
def versions(session: nox.Session, env: str) -> None:
    """Run another release of one environment's columns; its results files name the version
    (commit them with the pinned ones, then ``nox -s report``)."""
    _initspec(session, env, "run", "--name-version", "--report", "", environments=RELEASES)


@nox.session(python="3.11")
def report(session: nox.Session) -> None:
    """Render reports/compat.json, reports/COMPATIBILITY.md and the site reports/site/ from every
    results file in reports/results/ (no framework needed: the plots use the stored evidence)."""
    session.install(".")
    session.run("initspec", "report", *session.posargs)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The engine's own tests: numpy/scipy only, no ML framework (selenium drives the system's
    chromium for the site's browser test; without chromium that test skips and says why)."""
    # nox: the test of the CI matrix lists this noxfile's sessions
    session.install(".[test]", "nox")
    # two workers (CI's two cores; the CLI tests spend most of their time in subprocesses), and
    # the slowest tests named, so a CI log says where its minutes went
    args = session.posargs or ["-n", "2", "--durations=15"]
    session.run("pytest", "tests", "-q", *args)


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


CALIBRATION_LEDGER = "reports/calibration.json"


def calibrate_args(posargs: list[str]) -> tuple[list[str], list[int]]:
    """``COLUMNS... --seeds A:B`` (A to B inclusive, or one seed S): the columns (default: every
    published column) and the seeds. ValueError (one line) for anything else."""
    columns, seeds, args = [], None, list(posargs)
    while args:
        arg = args.pop(0)
        if arg == "--seeds" or arg.startswith("--seeds="):
            text = arg.partition("=")[2] or (args.pop(0) if args else "")
            first, _, last = text.partition(":")
            try:
                seeds = list(range(int(first), int(last or first) + 1))
            except ValueError:
                raise ValueError(f"--seeds {text!r}: give A:B (seeds A to B, inclusive) "
                                 "or S") from None
            if not seeds or seeds[0] < 0:
                raise ValueError(f"--seeds {text!r}: give 0 <= A <= B")
        elif arg.startswith("-"):
            raise ValueError(f"{arg}: the calibrate session takes COLUMNS... --seeds A:B")
        elif arg not in COLUMNS:
            raise ValueError(f"{arg} is not a published column ({', '.join(COLUMNS)})")
        else:
            columns.append(arg)
    if seeds is None:
        raise ValueError("give the seeds: nox -s calibrate -- [COLUMNS...] --seeds A:B")
    return columns or list(COLUMNS), seeds


@nox.session(python="3.11")
@nox.parametrize("env", list(ENVIRONMENTS))
def calibrate(session: nox.Session, env: str) -> None:
    """Calibration (README, "Calibration"): ``nox -s calibrate -- [COLUMNS...] --seeds A:B``
    runs the named columns (default: all) at the published settings under each seed into a
    scratch folder, build/calibrate/<env>/seed-<S>/ (never reports/results: the published
    results and the verdicts copy stay as they are), and appends each column run to
    reports/calibration.json (``initspec calibrate add``). ``-s calibrate`` runs one session
    per environment; one with no named column skips. A red or erroring run is data: it is
    recorded, and the session goes on."""
    try:
        columns, seeds = calibrate_args(session.posargs)
    except ValueError as exc:
        session.error(str(exc))
    mine = [c for c in ENVIRONMENTS[env].columns if c in columns]
    if not mine:
        session.skip(f"no named column runs in the {env} environment")
    environment = ENVIRONMENTS[env]
    with _one_build_at_a_time():
        for install in environment.install:
            session.install(*install)
    frameworks = [arg for column in mine for arg in ("--framework", column)]
    for seed in seeds:
        # three levels below the checkout: `initspec run` rewrites the checkout's published
        # verdicts copy only for <checkout>/<dir>/<results> (published.checkout_copy)
        out = Path("build") / "calibrate" / env / f"seed-{seed}"
        shutil.rmtree(out, ignore_errors=True)  # an interrupted earlier try must not mix in
        session.run("initspec", "run", *frameworks, "--seed", str(seed), "--results", str(out),
                    "--report", "", "--no-progress",
                    env={**_jax_cache(session, environment), **environment.env},
                    success_codes=[0, 1, 3])  # red (1) and error cells (3) are recorded too
        session.run("initspec", "calibrate", "add", "--results", str(out),
                    "--ledger", CALIBRATION_LEDGER)
    session.run("initspec", "calibrate", "summary", "--ledger", CALIBRATION_LEDGER,
                success_codes=[0, 1])


# `initspec audit` on real models: each environment pinned, one process per audit.
# transformers 4.57 is the last release with the Flax classes; 5.x has PyTorch only. The
# other hooks (Equinox, Haiku, Keras on JAX) are tested beside Flax, at the jax family's pins.
AUDIT_ENVIRONMENTS = {
    "transformers4": ["torch==2.13.0", "transformers==4.57.6", "jax==0.10.2", "flax==0.12.8",
                      "equinox==0.13.8", "dm-haiku==0.0.17", "keras==3.15.1"],
    "transformers5": ["torch==2.13.0", "transformers==5.24.0"],
}


@nox.session(python="3.11")
@nox.parametrize("env", list(AUDIT_ENVIRONMENTS))
def audit(session: nox.Session, env: str) -> None:
    """The audit's framework tests (tests/test_audit_frameworks.py: transformers4 the
    transformers 4.57 models and the JAX-family hooks, transformers5 the transformers 5 models
    and the torch hook); with ``-- report`` instead, re-generate reports/audit/
    (tests/tools/audit_report.py) from the models in tests/audit_models.py."""
    session.install(".", *AUDIT_ENVIRONMENTS[env])
    environ = {"XLA_FLAGS": XLA_FLAGS, "KERAS_BACKEND": "jax", "INITSPEC_AUDIT_ENV": env}
    if session.posargs[:1] == ["report"]:
        session.run("python", "tests/tools/audit_report.py", env, env=environ)
        return
    session.run("pytest", "tests/test_audit_frameworks.py", "-q", *session.posargs, env=environ)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.6")  # pinned: a new release may add rules
    session.run("ruff", "check", ".")
