"""Checking and describing record datasets: ``astromer records verify`` and ``inspect``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from astromer.io import sha256_of as sha256_file
from astromer.records.reader import read_metadata
from astromer.records.schema import METADATA_FILE
from astromer.records.schema import IMAGE_KIND, parse_image, parse_light_curve
from astromer.records.shard_errors import reporting_bad_shards, tf_error_text
from astromer.records.writer import summary_lines


@dataclass
class VerifyResult:
    """``problems``: ``(file, message)`` pairs; empty means the dataset is intact."""

    directory: str
    shards: int = 0
    records: int = 0
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def corrupt_files(self) -> list:
        return sorted({f for f, _ in self.problems})


def _parse_all(path, kind):
    """Parse every record of one shard; returns (count, error message or None)."""
    import tensorflow as tf

    if kind == IMAGE_KIND:
        def check(serialized):
            parse_image(serialized)
            return tf.constant(True), tf.constant(True), tf.constant(b"")
    else:
        def check(serialized):
            rec = parse_light_curve(serialized)
            n = tf.shape(rec["time"])[0]
            same = tf.logical_and(tf.equal(tf.cast(n, tf.int64), rec["length"]),
                                  tf.logical_and(tf.equal(tf.shape(rec["mag"])[0], n),
                                                 tf.equal(tf.shape(rec["err"])[0], n)))
            ordered = tf.reduce_all(rec["time"][1:] >= rec["time"][:-1])
            return same, ordered, rec["object_id"]

    errors = (tf.errors.DataLossError, tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)
    n = 0
    ds = tf.data.TFRecordDataset([path]).map(check).batch(1024)
    try:
        for same, ordered, ids in ds.as_numpy_iterator():
            for i in range(len(same)):
                if not same[i]:
                    return n + i, f"record {n + i}: length differs from its time/mag/err columns"
                if not ordered[i]:
                    return n + i, f"record {n + i} ({ids[i].decode()}): times not sorted"
            n += len(same)
    except errors as exc:
        # A batch fails as a whole: count again one record at a time for the exact position.
        good = n
        try:
            for _ in tf.data.TFRecordDataset([path]).skip(n).map(check):
                good += 1
        except errors:
            pass
        return good, f"unreadable after {good} records ({type(exc).__name__}: {tf_error_text(exc)[:160]})"
    return n, None


def verify_dataset(directory, *, parse=True) -> VerifyResult:
    """Check checksums and sizes of every shard and parse every record.

    Problems (each names its file): missing shard, size or sha256 different
    from metadata.json, a record that does not parse (truncated or corrupt
    shard), record count different from metadata. Stray ``.tfrecord`` or
    ``.tmp`` files are warnings.
    """
    directory = os.fspath(directory)
    meta = read_metadata(directory)
    result = VerifyResult(directory)
    listed = set()
    for split, info in meta["splits"].items():
        for shard in info["shards"]:
            rel = shard["file"]
            listed.add(os.path.normpath(rel))
            path = os.path.join(directory, rel)
            result.shards += 1
            if not os.path.isfile(path):
                result.problems.append((rel, "missing"))
                continue
            size = os.path.getsize(path)
            if size != shard["bytes"]:
                result.problems.append((rel, f"size {size} bytes, metadata says {shard['bytes']} "
                                             "(truncated or modified)"))
            elif sha256_file(path) != shard["sha256"]:
                result.problems.append((rel, "sha256 differs from metadata (corrupt or modified)"))
            if parse:
                n, err = _parse_all(path, meta["kind"])
                result.records += n
                if err:
                    result.problems.append((rel, err))
                elif n != shard["records"]:
                    result.problems.append((rel, f"{n} records, metadata says {shard['records']}"))
    for root, _dirs, files in os.walk(directory):
        for f in files:
            rel = os.path.normpath(os.path.relpath(os.path.join(root, f), directory))
            if rel == METADATA_FILE or rel in listed:
                continue
            if f.endswith((".tfrecord", ".tmp")):
                result.warnings.append(f"{rel}: not listed in metadata.json (ignored by readers)")
    return result


def _fmt_array(values, k=4, digits=6):
    values = np.asarray(values)
    head = ", ".join(f"{v:.{digits}g}" for v in values[:k])
    return f"[{head}{', ...' if len(values) > k else ''}] ({len(values)})"


def inspect_lines(path, rows=3) -> list:
    """Describe a dataset folder (metadata, counts, a few records) or a single record file."""
    import tensorflow as tf

    path = os.fspath(path)
    if os.path.isfile(path):
        return _inspect_file(path, rows)
    meta = read_metadata(path)
    lines = [f"{path}: astromer records, schema version {meta['schema_version']}, kind {meta['kind']}"]
    if meta.get("label_map"):
        lines.append("label map: " + ", ".join(f"{k}={v}" for k, v in meta["label_map"].items()))
    lines.extend(summary_lines(meta))
    if rows > 0:
        lines.append(f"first {rows} record(s):")
        first_split = next(iter(meta["splits"]))
        files = [os.path.join(path, s["file"]) for s in meta["splits"][first_split]["shards"]]
        parse = parse_image if meta["kind"] == IMAGE_KIND else parse_light_curve
        ds = reporting_bad_shards(tf.data.TFRecordDataset(files).map(parse).take(rows), files)
        for rec in ds.as_numpy_iterator():
            if meta["kind"] == IMAGE_KIND:
                lines.append(
                    f"  {rec['object_id'].decode()}: {rec['format'].decode()} "
                    f"{rec['height']}x{rec['width']}x{rec['channels']}, {len(rec['image'])} bytes, "
                    f"label {rec['label']} ({rec['label_name'].decode()})")
            else:
                lines.append(
                    f"  {rec['object_id'].decode()} band {rec['band'].decode()}: label {rec['label']} "
                    f"({rec['label_name'].decode()}), {rec['length']} obs, time {_fmt_array(rec['time'], digits=13)}, "
                    f"mag {_fmt_array(rec['mag'])}, err {_fmt_array(rec['err'])}")
    return lines


def _inspect_file(path, rows):
    """Keys and types of the first records of any TFRecord file (e.g. original Astromer records)."""
    import tensorflow as tf

    lines = [f"{path}: TFRecord file"]
    for i, raw in enumerate(tf.data.TFRecordDataset([path]).take(max(rows, 1)).as_numpy_iterator()):
        seq = tf.train.SequenceExample.FromString(raw)
        if seq.feature_lists.feature_list:
            ctx = {k: v.WhichOneof("kind") for k, v in sorted(seq.context.feature.items())}
            fl = {k: f"{len(v.feature)} feature(s)" for k, v in sorted(seq.feature_lists.feature_list.items())}
            lines.append(f"  record {i}: SequenceExample context {ctx}; feature lists {fl}")
        else:
            ex = tf.train.Example.FromString(raw)
            feats = {k: v.WhichOneof("kind") for k, v in sorted(ex.features.feature.items())}
            lines.append(f"  record {i}: Example features {feats}")
    return lines
