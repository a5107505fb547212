"""The tutorials/ notebooks run top to bottom.

CI runs the suite once per backend; to keep it short each notebook runs under one of them (its
cells use the package on that backend): 01, 03, 05 under TensorFlow, 02, 04 under JAX (05 starts
its own JAX processes either way). ASTROMER_TUTORIALS_ALL_BACKENDS=1 runs every notebook on both.
"""

import os
import time

import pytest

from conftest import REPO_ROOT, require_shared

TUTORIALS = REPO_ROOT / "tutorials"
NOTEBOOKS = sorted(p.name for p in TUTORIALS.glob("*.ipynb"))
BACKEND_OF = {"01": "tensorflow", "02": "jax", "03": "tensorflow", "04": "jax", "05": "tensorflow"}
NEEDS_SHARED = {"01_embeddings_from_a_preset.ipynb", "02_scenarios_abc_eros1.ipynb"}  # preset weights mirror


def test_the_five_tutorials_exist_without_outputs():
    import nbformat

    assert [n[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    for name in NOTEBOOKS:
        nb = nbformat.read(TUTORIALS / name, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {name[:2]}")
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), f"{name} has stored outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if os.environ.get("ASTROMER_TUTORIALS_ALL_BACKENDS") != "1" and BACKEND_OF[name[:2]] != backend:
        pytest.skip(f"{name} runs under KERAS_BACKEND={BACKEND_OF[name[:2]]} (ASTROMER_TUTORIALS_ALL_BACKENDS=1: both)")
    if name in NEEDS_SHARED:
        require_shared("weights", "astromer")
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "astromer_home"))  # no user cache touched
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    start = time.time()
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    print(f"{name}: {time.time() - start:.0f} s on {os.environ.get('KERAS_BACKEND', 'tensorflow')}")
    if name[:2] not in ("01", "02", "04"):  # 03 and 05 print results, no figures
        return
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, "the notebook shows no figure"
