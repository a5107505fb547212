"""The README's commands are the ones CI runs; the console script works."""

import re
import subprocess
import sys

from conftest import REPO_ROOT


def _readme_commands(section):
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split(f"## {section}", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines()]


def test_ci_uses_the_readme_install_and_test_commands():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    install = [c for c in _readme_commands("Install") if c.startswith("pip install")]
    assert install and all(c in ci for c in install)
    (test_command,) = _readme_commands("Run the tests")
    assert re.search(rf"KERAS_BACKEND=\$backend {re.escape(test_command)}\b", ci)
    assert "for backend in tensorflow jax" in ci and "ASTROMER_REQUIRE_SHARED=1" in ci


def test_cli_version_and_help():
    import astromer

    out = subprocess.run([sys.executable, "-m", "astromer", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and astromer.__version__ in out.stdout
    out = subprocess.run([sys.executable, "-m", "astromer", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: astromer" in out.stdout
