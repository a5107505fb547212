"""Where ``Model.from_preset`` finds the preset loader.

Models know no files: reading presets (names, folders, original checkpoints) is the presets
floor's job, a floor above the models. So the models do not import it; the presets loader
plugs itself in here when it is imported (:func:`register_preset_loader`), and the first
``from_preset`` call before that imports it by name (``PRESET_LOADER_MODULE``).
"""

import importlib

#: the module that registers the preset loader on import
PRESET_LOADER_MODULE = "astromer.presets.loader"
_loader = None


def register_preset_loader(loader):
    """Set the function ``loader(cls, handle, **kwargs) -> model`` behind ``from_preset``."""
    global _loader
    _loader = loader


def load_preset_as(cls, handle, **kwargs):
    """Load preset ``handle`` and check that it holds a ``cls`` (for ``cls.from_preset``)."""
    if _loader is None:
        importlib.import_module(PRESET_LOADER_MODULE)
    return _loader(cls, handle, **kwargs)
