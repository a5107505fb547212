"""Reading record datasets back: metadata, shard lists and ``tf.data`` pipelines.

A dataset folder written by :mod:`astromer.records.writer` looks like::

    DIR/metadata.json
    DIR/<split>/<split>-00000-of-00004.tfrecord
    ...

``metadata.json`` lists every shard (path relative to ``DIR``, record count,
sha256), so readers never glob: the shard order is the writer's order and a
stray file is never read. See ``records/README.md`` for every field.

Also here: readers for the ORIGINAL Astromer record layouts (v1 ``dim_0..2``
records and v2 records described by a ``config.toml``), yielding the same dict
layout as :func:`astromer.records.schema.parse_light_curve`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tomllib

import tensorflow as tf

from astromer.errors import AstromerError
from astromer.records.schema import (
    IMAGE_KIND,
    LIGHT_CURVE_KIND,
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    UNLABELLED,
    parse_image,
    parse_light_curve,
)

METADATA_FILE = "metadata.json"
FORMAT_NAME = "astromer-records"


class CorruptShardError(AstromerError, OSError):
    """A shard of a record dataset is truncated, corrupt or unreadable.

    The message is one line naming the shard file and suggesting
    ``astromer records verify DIR``; ``shard`` is the file's path.
    """

    def __init__(self, message, shard=None):
        super().__init__(message)
        self.shard = shard


class MissingShardError(CorruptShardError, FileNotFoundError):
    """A shard listed in ``metadata.json`` does not exist."""


def read_metadata(directory) -> dict:
    """Load and check ``DIR/metadata.json`` (format name and schema version)."""
    path = os.path.join(os.fspath(directory), METADATA_FILE)
    if not os.path.isfile(path):
        if not os.path.isdir(os.fspath(directory)):
            raise FileNotFoundError(f"record dataset folder {os.fspath(directory)!r} does not exist")
        raise FileNotFoundError(
            f"{path} not found: {os.fspath(directory)!r} is not a finished record dataset "
            "(metadata.json is written last; an interrupted conversion can be finished with "
            "`astromer records convert ... --resume`)"
        )
    try:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not an astromer record metadata file (format={meta.get('format')!r})")
    version = meta.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise ValueError(
            f"{path} has schema_version {version!r}; this astromer reads schema versions "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}"
        )
    return meta


def _split_names(meta, split):
    splits = list(meta["splits"])
    if split is None:
        return splits
    wanted = [split] if isinstance(split, str) else list(split)
    unknown = [s for s in wanted if s not in meta["splits"]]
    if unknown:
        raise KeyError(f"split(s) {unknown} not in this dataset; its splits are {splits}")
    return wanted


class ShardList(list):
    """Shard paths (plain ``str``) of a record dataset, with what metadata.json says of them:
    ``directory`` (the dataset folder), ``records`` and ``sizes`` (per shard, same order)."""

    def __init__(self, files, directory=None, records=None, sizes=None):
        super().__init__(files)
        self.directory = directory
        self.records = records
        self.sizes = sizes


def _verify_hint(directory):
    if directory is None:
        return "run `astromer records verify DIR` on its dataset folder to check every shard"
    return f"run `astromer records verify {directory}` to check every shard"


def _dataset_folder(path):
    """The dataset folder above a shard (its split folder's parent), if it has metadata.json."""
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        if folder and os.path.isfile(os.path.join(folder, METADATA_FILE)):
            return folder
    return None


def _check_shards(directory, listed):
    """The per-open check: every listed shard exists and has the size metadata.json records.

    One ``os.stat`` per shard (no reading): a missing shard raises
    :class:`MissingShardError`, a truncated or grown one :class:`CorruptShardError`;
    the message names the first bad shard and counts the others.
    """
    bad = []
    for path, shard in listed:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            bad.append(MissingShardError(
                f"records shard {path} is missing (listed in {os.path.join(directory, METADATA_FILE)})",
                path))
            continue
        expected = shard.get("bytes")
        if expected is not None and size != expected:
            bad.append(CorruptShardError(
                f"records shard {path} has {size} bytes, metadata.json says {expected} "
                "(truncated or modified)", path))
    if bad:
        first = bad[0]
        more = f" (and {len(bad) - 1} more bad shard(s))" if len(bad) > 1 else ""
        raise type(first)(f"{first}{more}; {_verify_hint(directory)}", first.shard)


def _shard_files(directory, kind, split, check=True):
    directory = os.fspath(directory)
    meta = read_metadata(directory)
    if meta.get("kind") != kind:
        raise ValueError(
            f"{directory!r} holds {meta.get('kind')!r} records, not {kind!r} records"
        )
    listed = [(os.path.join(directory, shard["file"]), shard)
              for name in _split_names(meta, split) for shard in meta["splits"][name]["shards"]]
    if check:
        _check_shards(directory, listed)
    return ShardList([p for p, _ in listed], directory,
                     [s.get("records") for _, s in listed], [s.get("bytes") for _, s in listed])


def light_curve_files(directory, split=None, *, check=True) -> list:
    """Shard paths of a light-curve dataset, in the writer's order.

    ``split``: a split name, a list of names, or None for all splits (in the
    order metadata.json lists them). ``check``: first check that every shard
    exists with the size metadata.json records (one ``os.stat`` each), raising
    :class:`MissingShardError` / :class:`CorruptShardError` naming the shard.
    """
    return _shard_files(directory, LIGHT_CURVE_KIND, split, check)


def image_files(directory, split=None, *, check=True) -> list:
    """Shard paths of an image dataset (see :func:`light_curve_files`)."""
    return _shard_files(directory, IMAGE_KIND, split, check)


# ----------------------------------------------------------------------------------------------
# Naming the shard behind a read error
# ----------------------------------------------------------------------------------------------

#: TensorFlow errors that a damaged or vanished shard raises during iteration.
READ_ERRORS = (tf.errors.DataLossError, tf.errors.NotFoundError)


def tf_error_text(exc) -> str:
    """TensorFlow's own reason, without its ``{{function_node ...}}`` and ``[Op:...]`` wrapping."""
    text = " ".join(str(getattr(exc, "message", exc)).split())
    if text.startswith("{{function_node") and "}}" in text:
        text = text[text.index("}}") + 2:].strip()
    for marker in (" [Op:", " [[{{node"):
        if marker in text:
            text = text[:text.index(marker)]
    text = text.replace("' failed with ", ": ")  # "truncated record at 2187' failed with Read less ..."
    return text.strip() or type(exc).__name__


def _compression_of(path):
    return "GZIP" if path.endswith(".gz") else "ZLIB" if path.endswith(".zlib") else ""


def find_bad_shard(files):
    """The first shard of ``files`` that is missing, has the wrong size or count, or does not read.

    ``files``: a :class:`ShardList` (sizes and record counts from metadata.json
    are checked too) or plain paths. Reads the shards' raw records (no parsing)
    until one fails, so call it only after a read error. Returns a
    :class:`CorruptShardError` (not raised) or None when every shard reads.
    """
    directory = getattr(files, "directory", None)
    records = getattr(files, "records", None) or [None] * len(files)
    sizes = getattr(files, "sizes", None) or [None] * len(files)
    for path, expected_records, expected_size in zip(files, records, sizes):
        path = os.fspath(path)
        hint = _verify_hint(directory or _dataset_folder(path))
        if not os.path.isfile(path):
            return MissingShardError(f"records shard {path} is missing; {hint}", path)
        size = os.path.getsize(path)
        if expected_size is not None and size != expected_size:
            return CorruptShardError(f"records shard {path} has {size} bytes, metadata.json says "
                                     f"{expected_size} (truncated or modified); {hint}", path)
        count = 0
        try:
            ds = tf.data.TFRecordDataset(path, compression_type=_compression_of(path))
            for batch in ds.batch(4096):
                count += int(batch.shape[0])
        except tf.errors.OpError as exc:
            return CorruptShardError(f"records shard {path} is corrupt ({tf_error_text(exc)}); {hint}",
                                     path)
        if expected_records is not None and count != expected_records:
            return CorruptShardError(f"records shard {path} holds {count} records, metadata.json says "
                                     f"{expected_records}; {hint}", path)
    return None


def shard_error(exc, files):
    """The :class:`CorruptShardError` behind a TensorFlow read error ``exc``, or None.

    ``files``: the shard paths read, or a callable returning them (called only
    now; a listing that itself finds a missing or truncated shard gives that
    error, a listing that fails otherwise gives None).
    """
    if not isinstance(exc, READ_ERRORS):
        return None
    if callable(files):
        try:
            files = files()
        except CorruptShardError as listing_error:
            return listing_error
        except Exception:  # noqa: BLE001 - cannot tell: TensorFlow's own error stands
            return None
    return find_bad_shard(files)


try:  # Python iteration that names a bad shard; the dataset itself is unchanged.
    from tensorflow.python.data.ops import dataset_ops as _dataset_ops
    from tensorflow.python.data.ops import iterator_ops as _iterator_ops
except ImportError:  # pragma: no cover - a TensorFlow without these modules: plain datasets
    _dataset_ops = _iterator_ops = None


if _iterator_ops is not None:
    class _ShardErrorIterator(_iterator_ops.OwnedIterator):
        """An ordinary tf.data iterator whose eager ``next`` turns a read error into
        :class:`CorruptShardError` (inside ``tf.function`` it is a plain iterator)."""

        def __init__(self, dataset, files):
            super().__init__(dataset)
            self._shard_files_for_errors = files

        def _next_internal(self):
            if not tf.executing_eagerly():
                return super()._next_internal()
            try:
                return super()._next_internal()
            except READ_ERRORS as exc:
                error = shard_error(exc, self._shard_files_for_errors)
                if error is None:
                    raise
                raise error from None

    class _ShardErrorDataset(_dataset_ops.UnaryUnchangedStructureDataset):
        """The same dataset (same graph, same elements); only its eager iterators differ."""

        def __init__(self, dataset, files):
            self._input_dataset = dataset
            self._shard_files_for_errors = files
            super().__init__(dataset, dataset._variant_tensor)

        def __iter__(self):
            if tf.executing_eagerly():
                return _ShardErrorIterator(self, self._shard_files_for_errors)
            return super().__iter__()


def reporting_bad_shards(dataset, files):
    """``dataset`` whose Python iteration (``for``, ``as_numpy_iterator()``, Keras on JAX)
    raises :class:`CorruptShardError` naming the damaged shard instead of TensorFlow's
    ``DataLossError``/``NotFoundError``.

    ``files``: the shard paths the dataset reads, or a callable returning them
    (called only after an error). Datasets derived from the result
    (``.map``, ``.take``, ...) and graph-mode consumers (Keras ``fit`` on the
    TensorFlow backend) see TensorFlow's own errors.
    """
    if _iterator_ops is None or isinstance(dataset, _ShardErrorDataset):
        return dataset
    return _ShardErrorDataset(dataset, files)


@contextlib.contextmanager
def naming_bad_shards(files):
    """Context manager: a TensorFlow read error inside becomes :class:`CorruptShardError`
    naming the shard (for loops over derived datasets, or Keras ``fit`` on the TensorFlow
    backend, whose graph-mode iterator :func:`reporting_bad_shards` cannot reach).

    ``files``: the shard paths read, or a callable returning them (e.g.
    ``lambda: light_curve_files(directory, split)``), called only after an error.
    """
    try:
        yield
    except READ_ERRORS as exc:
        error = shard_error(exc, files)
        if error is None:
            raise
        raise error from None


def _dataset(files, parse, num_parallel_reads, deterministic):
    if not files:
        return tf.data.TFRecordDataset([]).map(parse)
    ds = tf.data.TFRecordDataset(
        files, num_parallel_reads=num_parallel_reads if len(files) > 1 else None
    )
    options = tf.data.Options()
    options.deterministic = deterministic
    ds = ds.with_options(options).map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                                      deterministic=deterministic)
    return reporting_bad_shards(ds, files)


def read_light_curves(directory, split=None, *, num_parallel_reads=None, deterministic=True):
    """``tf.data.Dataset`` of :func:`parse_light_curve` dicts, one per (object, band).

    Keys: ``object_id``, ``band``, ``label_name`` (string), ``label``,
    ``length`` (int64), ``time`` (float64 days), ``mag``, ``err`` (float32).
    Records of one object (its bands, sorted by band name) are consecutive in
    one shard; :func:`read_objects` groups them.

    A missing shard, or one whose size differs from metadata.json, fails here
    (:class:`MissingShardError`, :class:`CorruptShardError`); a shard that
    fails its CRC check while iterated in Python raises
    :class:`CorruptShardError`. Both name the shard and suggest
    ``astromer records verify DIR``.
    """
    return _dataset(light_curve_files(directory, split), parse_light_curve,
                    num_parallel_reads, deterministic)


def read_images(directory, split=None, *, num_parallel_reads=None, deterministic=True):
    """``tf.data.Dataset`` of :func:`parse_image` dicts (``image`` still encoded).

    Shards are checked as in :func:`read_light_curves`."""
    return _dataset(image_files(directory, split), parse_image, num_parallel_reads, deterministic)


def _to_str(value):
    value = value.numpy() if hasattr(value, "numpy") else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_objects(directory, split=None):
    """Iterate over objects with their bands grouped (eager, Python-side).

    Yields dicts ``{"object_id", "label", "label_name", "bands": {band: {"time",
    "mag", "err"}}}`` with numpy arrays. Relies on the writer's guarantee that
    an object's records are consecutive.
    """
    current = None
    for rec in read_light_curves(directory, split):
        oid = _to_str(rec["object_id"])
        if current is not None and current["object_id"] != oid:
            yield current
            current = None
        if current is None:
            current = {
                "object_id": oid,
                "label": int(rec["label"]),
                "label_name": _to_str(rec["label_name"]),
                "bands": {},
            }
        current["bands"][_to_str(rec["band"])] = {
            k: rec[k].numpy() for k in ("time", "mag", "err")
        }
    if current is not None:
        yield current


# ----------------------------------------------------------------------------------------------
# Original Astromer record layouts
# ----------------------------------------------------------------------------------------------

def _expand_files(files):
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    out = []
    for f in files:
        f = os.fspath(f)
        if os.path.isdir(f):
            found = sorted(
                p for p in glob.glob(os.path.join(f, "**", "*"), recursive=True)
                if os.path.isfile(p) and not p.endswith((".toml", ".csv", ".json", ".parquet"))
            )
            out.extend(found)
        elif any(ch in f for ch in "*?["):
            out.extend(sorted(glob.glob(f, recursive=True)))
        else:
            if not os.path.isfile(f):
                raise FileNotFoundError(f"record file {f!r} does not exist")
            out.append(f)
    return out


def _first_record(files):
    for f in files:
        try:
            for raw in tf.data.TFRecordDataset([f]).take(1):
                return tf.train.SequenceExample.FromString(raw.numpy())
        except READ_ERRORS as exc:
            raise (shard_error(exc, [f]) or exc) from None
    return None


def _feature_dtype(feature):
    kind = feature.WhichOneof("kind")
    return {"bytes_list": tf.string, "int64_list": tf.int64, "float_list": tf.float32}.get(kind)


def _as_string(tensor):
    if tensor.dtype == tf.string:
        return tensor
    if tensor.dtype.is_floating:
        return tf.strings.as_string(tf.cast(tensor, tf.int64))
    return tf.strings.as_string(tensor)


def _original_dataset(files, context_spec, sequence_names, mapping, band):
    """Shared parser: ``mapping`` names the source keys for id/label/label_name/band."""
    seq_spec = {name: tf.io.RaggedFeature(tf.float32) for name in sequence_names}
    time_key, mag_key, err_key = sequence_names

    def parse(serialized):
        context, sequence = tf.io.parse_single_sequence_example(
            serialized, context_features=context_spec, sequence_features=seq_spec
        )
        out = {}
        out["object_id"] = _as_string(context[mapping["id"]])
        out["band"] = (_as_string(context[mapping["band"]]) if mapping.get("band")
                       else tf.constant(band))
        out["label"] = (tf.cast(context[mapping["label"]], tf.int64) if mapping.get("label")
                        else tf.constant(UNLABELLED, tf.int64))
        out["label_name"] = (_as_string(context[mapping["label_name"]])
                             if mapping.get("label_name") else tf.constant(""))
        time = sequence[time_key].flat_values
        out["length"] = tf.cast(tf.shape(time)[0], tf.int64)
        out["time"] = tf.cast(time, tf.float64)
        out["mag"] = sequence[mag_key].flat_values
        out["err"] = sequence[err_key].flat_values
        return out

    ds = tf.data.TFRecordDataset(files).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return reporting_bad_shards(ds, files)


def read_original_v1_records(files, *, band=""):
    """Records written by the original Astromer 1 library (``ASTROMER.core.data``).

    Layout: ``SequenceExample`` with context ``id`` (bytes; int64 in some old
    files, detected from the first record), ``label`` and ``length`` (int64),
    and feature lists ``dim_0`` (time), ``dim_1`` (magnitude), ``dim_2``
    (error), each holding ONE float feature with the whole column (float32
    times as written). ``files``: paths, folders (searched recursively) or
    glob patterns. Returns the :func:`parse_light_curve` dict layout; ``band``
    is a constant (v1 records are single band), ``label_name`` is empty.
    """
    files = _expand_files(files)
    first = _first_record(files)
    id_dtype = tf.string
    if first is not None:
        ctx = first.context.feature
        missing = [k for k in ("id", "label") if k not in ctx]
        missing += [k for k in ("dim_0", "dim_1", "dim_2") if k not in first.feature_lists.feature_list]
        if missing:
            raise ValueError(
                f"{files[0]} is not an original Astromer v1 record: missing {missing} "
                f"(context has {sorted(ctx)}, feature lists {sorted(first.feature_lists.feature_list)})"
            )
        id_dtype = _feature_dtype(ctx["id"]) or tf.string
    context_spec = {
        "id": tf.io.FixedLenFeature([], id_dtype),
        "label": tf.io.FixedLenFeature([], tf.int64, default_value=UNLABELLED),
        "length": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    }
    return _original_dataset(files, context_spec, ("dim_0", "dim_1", "dim_2"),
                             {"id": "id", "label": "label"}, band)


_V2_DTYPES = {"string": tf.string, "integer": tf.int64, "float": tf.float32}
_ID_CANDIDATES = ("ID", "id", "newID", "oid", "objectid", "object_id")
_LABEL_CANDIDATES = ("Label", "label")
_NAME_CANDIDATES = ("Class", "class", "label_name")
_BAND_CANDIDATES = ("Band", "band")


def _load_v2_config(config_toml):
    path = os.fspath(config_toml)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config.toml {path!r} does not exist")
    with open(path, "rb") as handle:
        try:
            config = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
    try:
        ctx_names = list(config["context_features"]["value"])
        ctx_types = list(config["context_features"]["dtypes"])
        seq_names = list(config["sequential_features"]["value"])
    except (KeyError, TypeError):
        raise ValueError(
            f"{path} lacks [context_features] value/dtypes or [sequential_features] value "
            "(the original Astromer 2 create_config_toml layout)"
        ) from None
    if len(ctx_names) != len(ctx_types):
        raise ValueError(f"{path}: context_features value and dtypes differ in length")
    if len(seq_names) < 3:
        raise ValueError(
            f"{path}: sequential_features needs time, magnitude and error columns, got {seq_names}"
        )
    id_column = None
    for section in (config, config.get("general", {})):
        if isinstance(section.get("id_column"), dict):
            id_column = section["id_column"].get("value")
    return ctx_names, ctx_types, seq_names, id_column


def read_original_v2_records(files, config_toml, *, id_key=None, label_key=None,
                             label_name_key=None, band_key=None, band=""):
    """Records written by the original Astromer 2 pipeline (``src/data/record.py``).

    The ``config.toml`` beside them (``create_config_toml``) names the context
    features (``[context_features] value``/``dtypes``: "string", "integer",
    "float") and the sequential features (``[sequential_features] value``, e.g.
    ``["mjd", "mag", "errmag"]``: time, magnitude, error in that order), each
    stored as ONE float feature holding the whole column. The id is
    ``id_key``, else the config's ``id_column`` if it is a context feature,
    else the first of ID/id/newID/...; label (integer) ``Label``, label name
    ``Class``, band ``Band`` when present. Integer ids become strings.
    """
    files = _expand_files(files)
    ctx_names, ctx_types, seq_names, id_column = _load_v2_config(config_toml)
    bad = [t for t in ctx_types if t not in _V2_DTYPES]
    if bad:
        raise ValueError(f"{config_toml}: unknown context dtype(s) {bad}; expected {list(_V2_DTYPES)}")
    dtypes = dict(zip(ctx_names, ctx_types))
    # The original writer rewrote dtypes from the data; trust the records over the config.
    first = _first_record(files)
    if first is not None:
        for name, feat in first.context.feature.items():
            if name in dtypes and _feature_dtype(feat) is not None:
                dtypes[name] = {tf.string: "string", tf.int64: "integer", tf.float32: "float"}[
                    _feature_dtype(feat)]

    def pick(explicit, candidates, wanted_type=None):
        if explicit is not None:
            if explicit not in dtypes:
                raise KeyError(f"{explicit!r} is not a context feature of {config_toml} ({ctx_names})")
            return explicit
        for c in candidates:
            if c in dtypes and (wanted_type is None or dtypes[c] == wanted_type):
                return c
        return None

    ident = pick(id_key, ((id_column,) if id_column in dtypes else ()) + _ID_CANDIDATES)
    if ident is None:
        raise ValueError(f"{config_toml}: no id context feature among {ctx_names}; pass id_key=")
    mapping = {
        "id": ident,
        "label": pick(label_key, _LABEL_CANDIDATES, "integer"),
        "label_name": pick(label_name_key, _NAME_CANDIDATES, "string"),
        "band": pick(band_key, _BAND_CANDIDATES),
    }
    context_spec = {}
    for key in {v for v in mapping.values() if v}:
        dtype = _V2_DTYPES[dtypes[key]]
        default = UNLABELLED if key == mapping["label"] else None
        context_spec[key] = tf.io.FixedLenFeature([], dtype, default_value=default)
    return _original_dataset(files, context_spec, tuple(seq_names[:3]), mapping, band)
