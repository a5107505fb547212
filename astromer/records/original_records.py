"""Readers for the ORIGINAL Astromer record layouts: v1 ``dim_0..2`` records and v2
records described by a ``config.toml``.

Both yield the same dict layout as :func:`astromer.records.schema.parse_light_curve`,
so the training pipelines read them unchanged.
"""

from __future__ import annotations

import glob
import os
import tomllib

import tensorflow as tf

from astromer.records.schema import UNLABELLED
from astromer.records.shard_errors import READ_ERRORS, reporting_bad_shards, shard_error


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
