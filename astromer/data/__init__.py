"""Light-curve preparation, windowing, masking and tf.data pipelines.

The numpy parts (``prepare_light_curves``, ``window_curves``, ...) import
without TensorFlow; ``mask_window``, ``pretraining_dataset``,
``inference_windows`` load TensorFlow on first use. The pipelines that stream
records (``pretraining_records``, ...) live with the records:
:mod:`astromer.records`.
"""

from .folding import FOLD_SCALE, fold_light_curves
from .light_curves import PreparedCurves, prepare_light_curves
from .windows import Windows, error_weights, gather_observations, window_bounds, window_curves

_LAZY = {
    "mask_window": "masking",
    "pretraining_dataset": "pipelines",
    "inference_windows": "pipelines",
    "error_weights_tf": "pipelines",
    "window_example": "pipelines",
    "TARGET": "pipelines",
    "LOSS_MASK": "pipelines",
    "WEIGHT": "pipelines",
}

__all__ = [
    "FOLD_SCALE",
    "fold_light_curves",
    "PreparedCurves",
    "prepare_light_curves",
    "Windows",
    "window_bounds",
    "window_curves",
    "gather_observations",
    "error_weights",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
