"""``astromer.load_preset``: build a model from a preset handle."""

import zipfile
from pathlib import Path

from astromer.presets.converters import astromer_original
from astromer.presets.detect import ExtractedArchive, detect_folder

CONVERTERS = {
    "astromer_v1_checkpoint": astromer_original.load_astromer_v1_checkpoint,
    "astromer_v1_h5": astromer_original.load_astromer_v1_h5,
    "astromer_v2_checkpoint": astromer_original.load_astromer_v2_folder,
}


def _load_folder(folder):
    fmt, where = detect_folder(folder)
    return CONVERTERS[fmt](where)


def load_preset(handle):
    """Load a model from ``handle``.

    Supported now: a local original archive (``.zip``) or folder, recognised by
    its content: an Astromer 1 TF checkpoint (``conf.json`` + ``weights.index``),
    an Astromer 1 legacy Keras h5 (``conf.json`` + ``weights.h5``) or an
    Astromer 2 pretraining folder (``config.toml`` + ``weights.index``).
    """
    path = Path(str(handle)).expanduser()
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"{path} is a file but not a zip archive; pass an original archive (.zip) or a folder."
            )
        with ExtractedArchive(path) as folder:
            return _load_folder(folder)
    raise FileNotFoundError(
        f"No preset or local file named {str(handle)!r}: pass an existing folder or .zip archive "
        "(named presets such as 'astromer_v1' arrive with the presets module)."
    )
