"""astromer: astronomy foundation models (Astromer, AstroPT) for Keras 3.

Quick start::

    import astromer
    model = astromer.load_preset("astromer_v1")
    result = model.embed([curve])          # curve: (n, 3) array of time, mag, err

Attributes are imported on first use, so ``import astromer`` (and the command
line) start quickly; Keras and its backend load when a model is first touched.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "AstroPT": "astromer.models",
    "Astromer": "astromer.models",
    "LightCurveEmbeddings": "astromer.models",
    "LightCurveClassifier": "astromer.models",
    "finetune": "astromer.models",
    "load_preset": "astromer.presets",
    "list_presets": "astromer.presets",
    "save_preset": "astromer.presets",
}
_SUBMODULES = ("baselines", "cli", "data", "distribution", "evaluation", "layers", "losses", "metrics", "models", "plot", "presets",
               "records")

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"astromer.{name}")
    raise AttributeError(f"module 'astromer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY) + list(_SUBMODULES))
