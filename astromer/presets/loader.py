"""``astromer.load_preset``: build a model from a preset handle."""

import os
import tempfile
import urllib.parse
import warnings
import zipfile
from pathlib import Path

from astromer.models.preset_hook import register_preset_loader
from astromer.presets import download as dl
from astromer.presets.converters import astromer_original, astropt_original
from astromer.presets.detect import ExtractedArchive, check_zip_headers, detect_folder, known_formats, zip_limits
from astromer.presets.preset_format import (
    CorruptedPresetError,
    is_saved_preset,
    load_saved_preset,
    read_metadata,
    save_preset,
)
from astromer.presets.registry import all_presets, get_preset

CONVERTERS = {
    "astromer_v1_checkpoint": astromer_original.load_astromer_v1_checkpoint,
    "astromer_v1_h5": astromer_original.load_astromer_v1_h5,
    "astromer_v2_checkpoint": astromer_original.load_astromer_v2_folder,
    "astropt_original": astropt_original.load_astropt_checkpoint,
}


def _convert_folder(folder, name=None):
    fmt, where = detect_folder(folder, name=name)
    return CONVERTERS[fmt](where)


# A .keras file is read whole by Keras (its model.weights.h5 into memory or a temporary file). Keras
# writes it uncompressed, so its headers may claim at most KERAS_EXPANSION times the file's size
# (or the zip limit, if larger) before anything is read: a small file cannot claim gigabytes.
KERAS_EXPANSION = 20


def is_keras_file(path):
    """True for a Keras ``.keras`` archive (``model.save``): a zip with config.json, metadata.json and model weights."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return {"config.json", "metadata.json"} <= names and any(n.startswith("model.weights.") for n in names)


def load_keras_file(path):
    """``keras.saving.load_model`` of a ``.keras`` file, its headers checked first (see KERAS_EXPANSION)."""
    import keras

    path = Path(path)
    with zipfile.ZipFile(path) as zf:
        check_zip_headers(zf, path, max_bytes=max(KERAS_EXPANSION * path.stat().st_size, zip_limits()[0]))
    try:
        if path.suffix == ".keras":
            return keras.saving.load_model(path)
        with tempfile.TemporaryDirectory(prefix="astromer-") as tmp:  # Keras goes by the file name's suffix
            alias = Path(tmp) / "model.keras"
            alias.symlink_to(path.resolve())
            return keras.saving.load_model(alias)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CorruptedPresetError(f"Cannot load {path} as a Keras model: {exc}") from exc


def convert_original(path):
    """Build a model from a local file or folder, recognised by its content: our preset folder, a
    ``.keras`` file, or an original archive (.zip), folder or astroPT checkpoint."""
    path = Path(path)
    if astropt_original.is_astropt_checkpoint(path):  # a torch .pt (a zip too), or its folder
        return astropt_original.load_astropt_checkpoint(path)
    if path.is_dir():
        if is_saved_preset(path):
            return load_saved_preset(path)
        return _convert_folder(path)
    if is_keras_file(path):
        return load_keras_file(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is neither a zip archive nor a model file we recognise. {known_formats()}")
    with ExtractedArchive(path) as folder:
        return _convert_folder(folder, name=path)


#: bumped when a converter's output changes (2: Astromer 1 presets with dropout 0, as they were
#: trained); a cached conversion from another version is converted again
CONVERTER_VERSION = 2


def _converted_dir(name):
    return dl.astromer_home() / "presets" / name


def _load_named(name, progress=True):
    spec = get_preset(name)
    source = spec["source"]
    target = _converted_dir(name)
    if target.is_dir():
        try:
            recorded = read_metadata(target).get("source") or {}
            if recorded.get("sha256") == source.get("sha256") and \
                    recorded.get("converter_version") == CONVERTER_VERSION:
                return load_saved_preset(target)
        except CorruptedPresetError as exc:
            warnings.warn(f"{exc} Converting preset {name!r} again.", UserWarning, stacklevel=3)
    archive = dl.fetch_archive(source, preset_name=name, progress=progress)
    model = convert_original(archive)
    save_preset(model, target, source=dict(source, converter=spec["converter"], converter_version=CONVERTER_VERSION,
                                          preset=name))
    return model


def _remote_file(url, progress=True):
    parsed = urllib.parse.urlparse(url)
    name = Path(parsed.path).name or "download"
    safe_host = parsed.netloc.replace(":", "_")
    destination = dl.astromer_home() / "downloads" / safe_host / Path(parsed.path.lstrip("/")).parent / name
    if destination.is_file():
        return destination
    if dl.offline():
        raise FileNotFoundError(
            f"{url} is not in the cache ({destination}) and ASTROMER_OFFLINE=1 is set."
        )
    return dl.download(url, destination, progress=progress)


def _hf_url(handle, filename):
    owner_repo = handle[len("hf://"):].strip("/")
    return f"https://huggingface.co/{owner_repo}/resolve/main/{filename}"


def _load_hf(handle, progress=True):
    """``hf://owner/repo`` (a preset folder in our format) or ``hf://owner/repo/file``."""
    parts = handle[len("hf://"):].strip("/").split("/")
    if len(parts) < 2:
        raise ValueError(f"Hugging Face handles look like hf://owner/repo[/file], got {handle!r}.")
    repo = "hf://" + "/".join(parts[:2])
    if len(parts) > 2:
        return load_preset(_remote_file(_hf_url(repo, "/".join(parts[2:])), progress), progress=progress)
    files = {}
    for name in ("config.json", "model.weights.h5", "metadata.json"):  # metadata.json: the checksums
        try:
            files[name] = _remote_file(_hf_url(repo, name), progress)
        except Exception as exc:
            raise FileNotFoundError(f"Cannot fetch {name} of {handle}: {exc}") from exc
    return load_saved_preset(files["config.json"].parent)


def load_preset(handle, progress=True):
    """Load a model from a preset handle.

    ``handle`` may be:

    - a preset name (``astromer.list_presets()``): the original archive is taken
      from the cache, ``ASTROMER_MIRROR`` or its URL (sha256-verified), converted
      once, and the converted preset is cached in ``$ASTROMER_HOME/presets/NAME``
      so later calls load it directly;
    - a local folder in our preset format (``config.json`` + ``model.weights.h5``, checked
      against the sha256 in its ``metadata.json``; a folder without them is refused);
    - a Keras ``.keras`` file (``model.save``) of any of the package's models;
    - a local original archive (``.zip``) or folder, recognised by content:
      Astromer 1 TF checkpoint (``conf.json`` + ``weights.index``), Astromer 1
      legacy h5 (``conf.json`` + ``weights.h5``), Astromer 2 (``config.toml`` +
      ``weights.index``), or an astroPT torch checkpoint (``.pt``, or its folder
      with ``hparams.txt``), read without torch and without running pickled code;
    - ``hf://owner/repo[/file]`` or an ``https://`` URL (downloaded to the cache).
    """
    handle = os.fspath(handle)
    if handle.startswith("hf://"):
        return _load_hf(handle, progress)
    if handle.startswith(("https://", "http://")):
        return load_preset(_remote_file(handle, progress), progress=progress)
    path = Path(handle).expanduser()
    if path.exists():
        return convert_original(path)
    if handle in all_presets():
        return _load_named(handle, progress)
    raise FileNotFoundError(
        f"{handle!r} is neither a preset name ({', '.join(sorted(all_presets()))}) nor an existing "
        f"file or folder, nor an hf:// or https:// address. {known_formats()}"
    )


FROM_PRESET_OPTIONS = ("load_weights", "dtype", "trainable", "progress")


def load_preset_as(cls, handle, *, load_weights=True, dtype=None, trainable=None, progress=True,
                   **config_overrides):
    """``load_preset`` that checks the model's class: ``Model.from_preset`` (keras-hub's options).

    ``dtype``: a Keras dtype or policy name (``"bfloat16"``, ``"mixed_bfloat16"``) the model is
    rebuilt with, weights cast to it, or ``"auto"`` (:func:`astromer.presets.precision.auto_dtype`:
    ``mixed_bfloat16`` where the hardware has native bfloat16, the accuracy check passes and bfloat16 runs
    faster there); ``trainable``: False freezes every weight, True unfreezes
    every weight (default: as the preset was saved);
    ``load_weights=False``: the preset's architecture, freshly initialised; other keyword
    arguments override the preset's config (``dropout=0.1``; one that changes weight shapes
    needs ``load_weights=False``).
    """
    model = load_preset(handle, progress=progress)
    if not isinstance(model, cls):
        raise TypeError(f"Preset {handle!r} holds a {type(model).__name__}, not an {cls.__name__}.")
    auto = dtype == "auto"
    if auto:
        dtype = None
    if dtype is not None or config_overrides or not load_weights:
        config = model.get_config()
        unknown = sorted(set(config_overrides) - set(config))
        if unknown:
            raise TypeError(f"{cls.__name__}.from_preset got unknown argument(s) {unknown}; it takes "
                            f"{', '.join(FROM_PRESET_OPTIONS)} and the config keys {sorted(config)}")
        config.update(config_overrides)
        if dtype is not None:
            config["dtype"] = dtype
        rebuilt = type(model).from_config(config)
        if load_weights:
            theirs, ours = model.get_weights(), rebuilt.weights
            shapes = [(v.path, tuple(v.shape), w.shape) for v, w in zip(ours, theirs) if tuple(v.shape) != w.shape]
            if len(theirs) != len(ours) or shapes:
                raise ValueError(f"cannot load the weights of preset {handle!r} into the architecture changed by "
                                 f"{sorted(config_overrides)} ({len(theirs)} weights vs {len(ours)}; e.g. "
                                 f"{shapes[:1]}); pass load_weights=False for a freshly initialised model")
            for variable, value in zip(ours, theirs):
                variable.assign(value)   # cast to the variable dtype
        model = rebuilt
    if auto:
        from astromer.presets.precision import auto_dtype

        model = auto_dtype(model)
    if trainable is not None:
        model.trainable = bool(trainable)
    return model


def presets_of(cls):
    """``{name: spec}`` of the named presets that hold ``cls`` (``Model.presets``); a class that
    loads another's presets (the classifier: Astromer encoders) names it in ``PRESET_CLASS``."""
    wanted = getattr(cls, "PRESET_CLASS", cls.__name__)
    return {name: spec for name, spec in sorted(all_presets().items()) if spec.get("class") == wanted}


# behind Model.from_preset, model.save_to_preset and Model.presets (astromer.models.preset_hook)
register_preset_loader(load_preset_as, saver=save_preset, lister=presets_of)


def download_preset(name, progress=True):
    """Fetch and convert preset ``name`` into the cache; return the converted folder."""
    _load_named(name, progress)
    return _converted_dir(name)
