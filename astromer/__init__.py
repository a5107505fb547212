"""astromer: astronomy foundation models (Astromer, AstroPT) for Keras 3.

Quick start::

    import astromer
    model = astromer.load_preset("astromer_v1")
    result = model.embed([curve])          # curve: (n, 3) array of time, mag, err

Attributes are imported on first use, so ``import astromer`` (and the command
line) start quickly; Keras and its backend load when a model is first touched.

Saved models: ``import astromer`` is enough for ``keras.saving.load_model`` to
read any ``.keras`` file the package writes, whichever of ``astromer`` and
``keras`` is imported first. The package's Keras classes are entered in
Keras' registry of custom objects (``keras.saving.get_custom_objects()``) as
soon as Keras is loaded, under the names their ``register_keras_serializable``
decorators give them; each entry imports its module when Keras first asks
for it, and that module's decorator then replaces the entry with the class.
"""

import importlib
import importlib.util
import sys

__version__ = "0.1.0"

_LAZY = {
    "AstromerError": "astromer.errors",
    "AstromerEmbedder": "astromer.embedder",
    "AstroPT": "astromer.models",
    "Astromer": "astromer.models",
    "LightCurveEmbeddings": "astromer.models",
    "LightCurveClassifier": "astromer.models",
    "ImageClassifier": "astromer.models",
    "MultiBandClassifier": "astromer.models",
    "finetune": "astromer.tasks.finetune",
    "load_preset": "astromer.presets",
    "list_presets": "astromer.presets",
    "save_preset": "astromer.presets",
}
_SUBMODULES = ("baselines", "cli", "data", "distribution", "embedder", "errors", "evaluation", "io", "layers", "losses", "metrics", "models", "plot", "presets",
               "records", "tasks")

__all__ = sorted(_LAZY) + ["__version__"]

# Every ``@keras.saving.register_keras_serializable(package="astromer")`` class -> its module
# (tests/test_saving.py checks this against the source, so a new class cannot be forgotten).
_SERIALIZABLE = {
    "astromer>Astromer": "astromer.models.astromer.astromer_model",
    "astromer>AstroPT": "astromer.models.astropt.astropt_model",
    "astromer>LightCurveClassifier": "astromer.models.classifier.light_curve_classifier",
    "astromer>ImageClassifier": "astromer.models.classifier.image_classifier",
    "astromer>ClassificationHead": "astromer.models.classifier.heads",
    "astromer>MultiBandClassifier": "astromer.models.classifier.multiband",
    "astromer>Standardize": "astromer.models.classifier.multiband",
    "astromer>WindowAttentionPooling": "astromer.models.classifier.window_pooling",
    "astromer>WindowPoolingClassifier": "astromer.models.classifier.window_pooling",
    "astromer>RawGRUClassifier": "astromer.baselines.gru",
    "astromer>MaskedRMSE": "astromer.losses.masked_rmse",
    "astromer>MaskedR2": "astromer.metrics.masked_r2",
    "astromer>MaskedSelfAttention": "astromer.layers.attention",
    "astromer>AttentionBlock": "astromer.layers.attention_block",
    "astromer>CausalSelfAttention": "astromer.layers.causal_attention",
    "astromer>CausalBlock": "astromer.layers.causal_block",
    "astromer>PatchStandardization": "astromer.layers.patch_standardization",
    "astromer>PatchEncoder": "astromer.layers.patch_tokenizers",
    "astromer>PatchDecoder": "astromer.layers.patch_tokenizers",
    "astromer>MaskedTimePooling": "astromer.layers.pooling",
    "astromer>LayerWeighting": "astromer.layers.pooling",
    "astromer>LayerNorm": "astromer.layers.layer_norm",
    "astromer>LearnedPositionEmbedding": "astromer.layers.position_embedding",
    "astromer>ReconstructionHead": "astromer.layers.reconstruction_head",
    "astromer>SpiralPatcher": "astromer.layers.spiral",
    "astromer>TimeMagnitudeEmbedding": "astromer.layers.time_encoding",
}


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


# ----------------------------------------------------------------------------- Keras registry
class _Deferred:
    """Keras' registry entry for an astromer class whose module is not imported yet.

    Keras looks a saved class up by its registered name and calls ``from_config``
    on what it finds: this imports the module (whose decorator puts the class
    itself in the registry) and hands over to the class.
    """

    def __init__(self, registered_name, module):
        self.registered_name, self.module = registered_name, module

    def resolve(self):
        importlib.import_module(self.module)
        import keras

        obj = keras.saving.get_custom_objects().get(self.registered_name)
        if obj is None or isinstance(obj, _Deferred):
            raise ImportError(f"{self.module} does not register {self.registered_name}; fix astromer._SERIALIZABLE.")
        return obj

    def from_config(self, config, **kwargs):
        return self.resolve().from_config(config, **kwargs)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def __repr__(self):
        return f"<astromer class {self.registered_name} (from {self.module}, not imported yet)>"


def _register_with_keras():
    keras = sys.modules["keras"]
    objects = keras.saving.get_custom_objects()
    for name, module in _SERIALIZABLE.items():
        objects.setdefault(name, _Deferred(name, module))  # never over a class already registered


class _KerasLoader:
    """Wraps Keras' own loader: runs it, then fills the registry (see _KerasFinder)."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _register_with_keras()
        if _FINDER in sys.meta_path:  # done: stop watching imports (outside any meta_path iteration)
            sys.meta_path.remove(_FINDER)


class _KerasFinder:
    """A ``sys.meta_path`` finder that only notices ``import keras`` and wraps its loader,
    so that the registry is filled once Keras has loaded (nothing of Keras is imported here)."""

    busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec("keras")  # the real finders (this one answers None)
        finally:
            self.busy = False
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _KerasLoader(spec.loader)
        return spec


_FINDER = _KerasFinder()
if "keras" in sys.modules:
    _register_with_keras()
elif not any(isinstance(f, _KerasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _FINDER)
