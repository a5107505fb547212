"""Record files and the stream of serialized records the record pipelines share.

:func:`record_files` resolves a records folder (in the writer's shard order,
from ``metadata.json``), one file, a glob pattern or a list of files;
:func:`serialized_records` streams them with two-level shuffling: the shard list
is shuffled each epoch and ``cycle_length`` shards are interleaved, then records
pass a shuffle buffer. :func:`reports_bad_shards` makes a pipeline name a damaged
shard instead of raising TensorFlow's ``DataLossError``.
"""

from __future__ import annotations

import functools
import glob
import inspect
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from astromer.records import reader
from astromer.records.shard_errors import CorruptShardError, reporting_bad_shards

RECORD_PATTERNS = ("*.tfrecord", "*.tfrecords", "*.tfrec", "*.record", "*.tfrecord.gz",
                   "*.tfrecords.gz", "*.tfrecord.zlib")
_MAX_SEED = 2**62

def _glob_records(root: Path, split):
    """Record files below ``root/split`` (or, without that folder, files under ``root``
    whose path has a ``split`` folder or whose name starts with ``split``)."""
    base = root / split if split is not None and (root / split).is_dir() else root
    found = set()
    for pattern in RECORD_PATTERNS:
        found.update(glob.glob(str(base / "**" / pattern), recursive=True))
    files = sorted(found)
    if split is not None and base == root:
        files = [f for f in files
                 if split in Path(f).relative_to(root).parts[:-1] or Path(f).name.startswith(split)]
    return files


def record_files(path_or_files, split=None, kind="light_curve"):
    """Resolve a records folder, one file, a glob pattern or a list of files to a list of files.

    A folder is listed with :mod:`astromer.records.reader` (``light_curve_files``
    or ``image_files``, for ``kind`` "light_curve" / "image": the writer's shard
    order, from ``metadata.json``); a folder without metadata is listed by file
    name (``*.tfrecord``, ``*.record``, ... below ``<folder>/<split>``, sorted).
    Lists keep their order.
    """
    if isinstance(path_or_files, (str, os.PathLike)):
        path = Path(path_or_files)
        if path.is_dir():
            lister = reader.light_curve_files if kind == "light_curve" else reader.image_files
            try:
                files = lister(path, split=split)
            except CorruptShardError:
                raise  # a listed shard is missing or truncated: never fall back to globbing
            except (FileNotFoundError, ValueError):  # not a folder the reader knows
                files = None
            if not files:
                files = _glob_records(path, split)
        elif path.is_file():
            files = [str(path)]
        else:
            files = sorted(glob.glob(str(path)))
    else:
        files = [os.fspath(f) for f in path_or_files]
    if not files:
        where = f"{str(path_or_files)!r}" + (f" (split {split!r})" if split is not None else "")
        raise FileNotFoundError(f"no {kind.replace('_', '-')} record files found in {where}")
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FileNotFoundError(f"record file(s) not found: {missing[:3]}")
    return files


def reports_bad_shards(kind="light_curve"):
    """Decorator of the record pipelines: the dataset they return, iterated in Python,
    raises :class:`astromer.records.reader.CorruptShardError` naming a damaged shard
    instead of TensorFlow's ``DataLossError`` (see :func:`astromer.records.shard_errors.reporting_bad_shards`)."""

    def decorate(pipeline):
        signature = inspect.signature(pipeline)

        @functools.wraps(pipeline)
        def wrapper(*args, **kwargs):
            ds = pipeline(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            where, split = bound.arguments["path_or_files"], bound.arguments["split"]
            return reporting_bad_shards(ds, lambda: record_files(where, split, kind))

        return wrapper

    return decorate


def _compression(files):
    kinds = {"GZIP" if f.endswith(".gz") else "ZLIB" if f.endswith(".zlib") else "" for f in files}
    if len(kinds) > 1:
        raise ValueError("record files mix compressions (.gz / .zlib / none); use one kind")
    return kinds.pop()


def sub_seeds(seed, n):
    """n derived op seeds (or Nones) so file shuffle, record shuffle and RNG differ."""
    if seed is None:
        return [None] * n
    ss = np.random.SeedSequence(int(seed) % 2**63)
    return [int(s) % _MAX_SEED for s in ss.generate_state(n, dtype=np.uint64)]


def serialized_records(files, *, shuffle, seed, cycle_length, shuffle_buffer, repeat):
    """Serialized records: per-epoch shard shuffle, interleave, record shuffle buffer."""
    file_seed, record_seed = sub_seeds(seed, 2)
    compression = _compression(files)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle and len(files) > 1:
        ds = ds.shuffle(len(files), seed=file_seed, reshuffle_each_iteration=True)
    cycle = len(files) if cycle_length is None else max(1, min(int(cycle_length), len(files)))
    parallel = {"num_parallel_calls": min(cycle, 4), "deterministic": True} if cycle > 1 else {}
    ds = ds.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=compression),
        cycle_length=cycle,
        block_length=1,
        **parallel,
    )
    if shuffle and shuffle_buffer and int(shuffle_buffer) > 1:
        ds = ds.shuffle(int(shuffle_buffer), seed=record_seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds
