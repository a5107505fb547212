"""Our on-disk preset format, mirroring keras-hub's: ``config.json``, ``model.weights.h5``,
``metadata.json`` (versions, parameter count, the original's source and checksums)."""

import datetime
import json
from pathlib import Path

import keras

import astromer
from astromer.errors import AstromerError
from astromer.io import atomic_dir, sha256_of

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


class CorruptedPresetError(AstromerError, ValueError):
    """A saved preset's files do not match the checksums in its metadata.json."""


class UnverifiedPresetError(CorruptedPresetError):
    """A preset folder without the checksums (metadata.json) that would show its files are intact."""


def is_saved_preset(folder):
    folder = Path(folder)
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def save_preset(model, directory, source=None):
    """Write ``model`` as a preset folder (atomically: a temporary folder, then renamed, by
    :func:`astromer.io.atomic_dir`).

    ``source`` (optional dict: url, filename, sha256, converter) records where the
    weights came from. An existing folder at ``directory`` is replaced only once
    the new one is complete.
    """
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        (tmp / CONFIG_FILE).write_text(
            json.dumps(keras.saving.serialize_keras_object(model), indent=2)
        )
        model.save_weights(tmp / WEIGHTS_FILE)
        metadata = {
            "astromer_version": astromer.__version__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "class": type(model).__name__,
            "parameter_count": int(model.count_params()),
            "date_saved": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d@%H:%M:%S"),
            "source": source,
            "files": {name: sha256_of(tmp / name) for name in (CONFIG_FILE, WEIGHTS_FILE)},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return directory


def read_metadata(folder):
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text())
    except ValueError as exc:
        raise CorruptedPresetError(f"{path} is not valid JSON ({exc}).") from exc
    if not isinstance(metadata, dict):
        raise CorruptedPresetError(f"{path} holds a JSON {type(metadata).__name__}, not the metadata object.")
    return metadata


def verify_saved_preset(folder):
    """Raise CorruptedPresetError if a file's sha256 differs from metadata.json's record, and
    UnverifiedPresetError if metadata.json (which ``save_preset`` always writes) is missing or
    records no checksum for config.json or model.weights.h5: such a folder is never loaded unchecked."""
    folder = Path(folder)
    remedy = (f"re-create it with astromer.save_preset(model, {str(folder)!r}) from the model that wrote it, or, "
              "if you trust its files, load it with astromer.presets.load_saved_preset(folder, verify=False)")
    if not (folder / METADATA_FILE).is_file():
        raise UnverifiedPresetError(
            f"Preset {folder} has no {METADATA_FILE}, so its files' checksums are unknown and corrupted weights "
            f"would load silently; {remedy}."
        )
    recorded = read_metadata(folder).get("files") or {}
    unrecorded = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not recorded.get(name)]
    if unrecorded:
        raise UnverifiedPresetError(
            f"Preset {folder}: {METADATA_FILE} records no sha256 for {' and '.join(unrecorded)}; {remedy}."
        )
    for name, expected in recorded.items():
        path = folder / name
        if not path.is_file():
            raise CorruptedPresetError(f"Preset {folder} lacks {name}.")
        actual = sha256_of(path)
        if actual != expected:
            raise CorruptedPresetError(
                f"Preset file {path} is corrupted (sha256 {actual[:12]}..., recorded {expected[:12]}...)."
            )


def load_saved_preset(folder, verify=True):
    """Build the model from ``config.json`` and load ``model.weights.h5``.

    With ``verify`` (the default) both files must match the sha256 recorded in ``metadata.json``;
    a folder without those records is refused (:class:`UnverifiedPresetError`).
    """
    folder = Path(folder)
    if verify:
        verify_saved_preset(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except ValueError as exc:
        raise CorruptedPresetError(f"{folder / CONFIG_FILE} is not valid JSON ({exc}).") from exc
    # the package's classes are in Keras' registry since ``import astromer`` (see astromer/__init__.py)
    model = keras.saving.deserialize_keras_object(config)
    try:
        model.load_weights(folder / WEIGHTS_FILE)
    except Exception as exc:
        raise CorruptedPresetError(f"Cannot load {folder / WEIGHTS_FILE}: {exc}") from exc
    return model
