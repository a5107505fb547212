"""Where ``Model.from_preset``, ``model.save_to_preset`` and ``Model.presets`` find the presets floor.

Models know no files: reading, writing and listing presets (names, folders, original
checkpoints) is the presets floor's job, a floor above the models. So the models do not import
it; the presets loader plugs its functions in here when it is imported
(:func:`register_preset_loader`), and the first call before that imports it by name
(``PRESET_LOADER_MODULE``). :class:`PresetMixin` gives a model class keras-hub's three names.
"""

import importlib

#: the module that registers the preset functions on import
PRESET_LOADER_MODULE = "astromer.presets.loader"
_functions = {}


def register_preset_loader(loader, saver=None, lister=None):
    """Set ``loader(cls, handle, **kwargs) -> model`` behind ``from_preset``, ``saver(model,
    directory) -> directory`` behind ``save_to_preset`` and ``lister(cls) -> {name: spec}``
    behind ``presets``."""
    _functions.update({"load": loader, "save": saver, "list": lister})


def _function(name):
    if _functions.get(name) is None:
        importlib.import_module(PRESET_LOADER_MODULE)
    return _functions[name]


def load_preset_as(cls, handle, **kwargs):
    """Load preset ``handle`` and check that it holds a ``cls`` (for ``cls.from_preset``)."""
    return _function("load")(cls, handle, **kwargs)


class _Presets:
    """``Model.presets``: ``{name: spec}`` of the named presets that hold this class."""

    def __get__(self, instance, owner):
        return _function("list")(owner)


class PresetMixin:
    """keras-hub's preset names on a model class: ``from_preset``, ``save_to_preset``, ``presets``."""

    presets = _Presets()

    @classmethod
    def from_preset(cls, handle, **kwargs):
        """Load a preset (a name in ``cls.presets``, a preset folder, a ``.keras`` file or an
        original checkpoint) as this class; keras-hub's ``dtype``, ``trainable``,
        ``load_weights`` and config overrides (:func:`astromer.presets.loader.load_preset_as`)."""
        return load_preset_as(cls, handle, **kwargs)

    def save_to_preset(self, directory):
        """Write this model as a preset folder (``config.json``, ``model.weights.h5``,
        ``metadata.json`` with checksums; atomically), which ``from_preset(directory)`` and
        ``astromer.load_preset`` load. Returns the folder."""
        return _function("save")(self, directory)
