"""ONNX export of Astromer encoders: the file reproduces Keras on new windows, errors name the input.

Under the JAX CI backend the export runs in a TensorFlow child process (tf2onnx converts
TensorFlow graphs); under TensorFlow here. Both paths give a file onnxruntime runs.
"""

import numpy as np
import pytest

import astromer
from astromer.tasks.export import ExportError, check_batch, compare, export_onnx, onnx_session, run_onnx
from conftest import require_shared
from test_cli_commands import run


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASTROMER_MIRROR", str(require_shared("weights", "astromer")))
    monkeypatch.delenv("ASTROMER_OFFLINE", raising=False)


def test_the_published_v1_encoder_exports_and_matches_keras_on_new_windows(tmp_path, mirror):
    code, out, err = run("presets", "export", "astromer_v1", "-o", tmp_path / "v1.onnx")
    assert code == 0, err
    assert "inputs times,magnitudes,mask (batch, 200) -> per-observation embeddings (batch, 200, 256)" in out
    model = astromer.load_preset("astromer_v1", progress=False)
    session = onnx_session(tmp_path / "v1.onnx")
    assert sorted(i.name for i in session.get_inputs()) == ["magnitudes", "mask", "times"]
    windows = check_batch(200, batch=9, seed=3)  # not the batch the export was checked on
    diff = compare(run_onnx(session, windows), model.encoder_model().predict_on_batch(windows),
                   windows["mask"])
    assert diff["relative"] < 1e-4 and diff["pooled"] < 1e-4 and diff["absolute"] < 2e-3, diff


def test_a_new_v2_encoder_exports_from_python(tmp_path):
    model = astromer.Astromer.from_architecture("astromer_v2", num_layers=2, window_size=40)
    info = export_onnx(model, tmp_path / "sub" / "v2.onnx")
    assert info["window_size"] == 40 and info["width"] == model.encoder_model().output.shape[-1]
    assert info["max_rel_diff"] < 1e-4 and info["pooled_max_abs_diff"] < 1e-4
    out = run_onnx(onnx_session(info["path"]), check_batch(40, batch=3, seed=5))
    assert out.shape == (3, 40, info["width"]) and np.isfinite(out).all()
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["v2.onnx"]  # no temporary left


def test_export_errors_name_the_input(tmp_path):
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=8, window_size=10)
    with pytest.raises(ValueError, match=r"must end in \.onnx, got '.*model\.pb'"):
        export_onnx(model, tmp_path / "model.pb")
    code, _, err = run("presets", "export", tmp_path / "no" / "preset", "-o", tmp_path / "x.onnx")
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    assert issubclass(ExportError, RuntimeError)
