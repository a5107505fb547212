"""Reading record datasets back: metadata, shard lists and ``tf.data`` pipelines.

A dataset folder written by :mod:`astromer.records.writer` looks like::

    DIR/metadata.json
    DIR/<split>/<split>-00000-of-00004.tfrecord
    ...

``metadata.json`` lists every shard (path relative to ``DIR``, record count,
sha256), so readers never glob: the shard order is the writer's order and a
stray file is never read. See ``records/README.md`` for every field.

Naming a damaged shard (:class:`CorruptShardError`, :func:`naming_bad_shards`,
...) is in :mod:`astromer.records.shard_errors`, the readers for the ORIGINAL
Astromer record layouts (v1 ``dim_0..2``, v2 with a ``config.toml``) in
:mod:`astromer.records.original_records` (both also exported by :mod:`astromer.records`).
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from astromer.records.schema import (
    FORMAT_NAME,
    IMAGE_KIND,
    LIGHT_CURVE_KIND,
    METADATA_FILE,
    READABLE_SCHEMA_VERSIONS,
    parse_image,
    parse_light_curve,
)
from astromer.records.shard_errors import (
    CorruptShardError,
    MissingShardError,
    _verify_hint,
    reporting_bad_shards,
)



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
# Reading
# ----------------------------------------------------------------------------------------------

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
