"""Export an Astromer encoder to ONNX (``astromer presets export NAME -o FILE.onnx``).

The exported graph is the encoder on fixed-length windows: inputs ``times``, ``magnitudes``,
``mask`` (float32, ``(batch, window_size)``; times already centred, padding masked 0) and one
output, the per-observation embeddings ``(batch, window_size, width)``. Cleaning, windowing and
pooling stay in Python (``model.embed``); this is the part onnxruntime (e.g. the ``light-curve``
package's Astromer models) runs.

Keras exports ONNX through ``tf2onnx`` on the TensorFlow backend; under JAX the model is saved
as a preset and exported in a TensorFlow child process (the weights are the same on every
backend). Every export is checked: onnxruntime and Keras run one fixed batch, and both the
largest per-observation difference relative to the largest output and the largest difference of
the pooled (masked-mean) embeddings must stay below 1e-4, or nothing is written and an error is
raised. (An absolute 1e-4 per observation is below float32 noise: on the ``astromer_v1`` weights,
whose outputs reach 14, Keras on TensorFlow and on JAX differ by 3.3e-4 there, ONNX and Keras by
3.9e-4; relative 2.4e-5 and 2.8e-5; pooled 7e-6.)
Needs the ``onnx`` extra: ``pip install 'astromer-keras[onnx]'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from astromer.data.synthetic import check_windows as check_batch  # noqa: F401 (re-exported)
from astromer.errors import AstromerError

TOLERANCE = 1e-4


class ExportError(AstromerError, RuntimeError):
    """The exported graph does not reproduce the Keras model, or a tool is missing."""


def _require(module, extra="onnx"):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(f"ONNX export needs {module}: pip install 'astromer-keras[{extra}]' ({exc})") from None


def onnx_session(path, threads=None):
    """An onnxruntime ``InferenceSession`` on the CPU (``threads``: intra-op threads, None = all)."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, windows):
    """Per-observation embeddings of ``windows`` (a dict of ``(B, W)`` arrays) from a session."""
    feeds = {i.name: np.asarray(windows[i.name], dtype="float32") for i in session.get_inputs()}
    return session.run(None, feeds)[0]


def _export_here(model, path, opset):
    _require("onnx")
    _require("tf2onnx")
    encoder = model.encoder_model()
    batch = check_batch(model.window_size)
    expected = np.asarray(encoder.predict_on_batch(batch))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        encoder.export(str(tmp), format="onnx", verbose=False, opset_version=opset)
        got = run_onnx(onnx_session(tmp), batch)
        diff = compare(got, expected, batch["mask"])
        bad = [k for k in ("relative", "pooled") if not diff[k] < TOLERANCE]
        if bad:
            raise ExportError(f"the ONNX graph of {model.name!r} differs from Keras: {diff} "
                              f"({', '.join(bad)} over {TOLERANCE:g}); nothing written to {str(path)!r}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(path), "inputs": list(batch), "output": "per-observation embeddings",
            "window_size": int(model.window_size), "width": int(expected.shape[-1]),
            "max_abs_diff": diff["absolute"], "max_rel_diff": diff["relative"],
            "pooled_max_abs_diff": diff["pooled"], "bytes": path.stat().st_size}


def compare(got, expected, mask) -> dict:
    """Largest differences between two encoders' outputs on one batch: ``absolute`` (per
    observation), ``relative`` (that over the largest output value) and ``pooled`` (of the
    masked-mean embedding per window, what classifiers use)."""
    got, expected = np.asarray(got, "float64"), np.asarray(expected, "float64")
    m = np.asarray(mask, "float64")[..., None]
    absolute = float(np.max(np.abs(got - expected)))
    pool = lambda a: (a * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)  # noqa: E731
    return {"absolute": absolute, "relative": absolute / max(float(np.max(np.abs(expected))), 1e-12),
            "pooled": float(np.max(np.abs(pool(got) - pool(expected))))}


def export_onnx(model, path, opset=None) -> dict:
    """Write ``model``'s encoder as ONNX to ``path`` (atomically, checked against Keras).

    ``model``: an :class:`astromer.Astromer`, or a preset name/folder. Returns a dict with the
    path, the window size and width, and the largest difference to Keras on the check batch.
    """
    import keras

    import astromer

    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"the ONNX file name must end in .onnx, got {str(path)!r}")
    if not isinstance(model, astromer.Astromer):
        loaded = astromer.load_preset(model, progress=False)
        if not isinstance(loaded, astromer.Astromer):
            raise ValueError(f"{model} holds a {type(loaded).__name__}; ONNX export is for Astromer encoders")
        handle, model = model, loaded
    else:
        handle = None
    path.parent.mkdir(parents=True, exist_ok=True)
    if keras.backend.backend() == "tensorflow":
        return _export_here(model, path, opset)
    # tf2onnx converts TensorFlow graphs: export from a TensorFlow child process
    with tempfile.TemporaryDirectory(prefix="astromer_onnx_") as tmp:
        if handle is None:
            handle = model.save_to_preset(Path(tmp) / "preset")
        code = ("import json, sys; from astromer.tasks.export import export_onnx; "
                "print(json.dumps(export_onnx(sys.argv[1], sys.argv[2], "
                "None if sys.argv[3] == 'None' else int(sys.argv[3]))))")
        proc = subprocess.run([sys.executable, "-c", code, str(handle), str(path), str(opset)],
                              env={**os.environ, "KERAS_BACKEND": "tensorflow"},
                              capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ExportError(f"ONNX export in a TensorFlow process failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
