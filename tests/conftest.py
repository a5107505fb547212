"""Shared fixtures: locating ../shared (reference data) and small helpers."""

import contextlib
import io
import os
from pathlib import Path

import pytest

# Keras' compile default in the tests: XLA where TensorFlow lacks oneDNN (the package's default
# there) compiles every small model of the suite, 1.7x its time (tests/test_compilation.py checks
# the choice itself); set ASTROMER_XLA=auto to run the suite as users get it
os.environ.setdefault("ASTROMER_XLA", "0")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def require_shared(*parts):
    """Path below ../shared; skip (or fail when ASTROMER_REQUIRE_SHARED=1) if it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} not found: the ../shared reference data is needed for this test"
        if os.environ.get("ASTROMER_REQUIRE_SHARED") == "1":
            pytest.fail(message + " (ASTROMER_REQUIRE_SHARED=1)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_dir():
    """The ../shared folder beside the repository (see require_shared)."""
    return require_shared()


def read_tree(folder):
    """``{relative path: bytes}`` of every file below ``folder`` (to compare written datasets)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_cli(*args):
    """``astromer ARGS`` in-process (a subprocess would import TensorFlow again): ``(exit code,
    stdout, stderr)``; ``--help`` and usage errors give argparse's exit code."""
    from astromer.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()
