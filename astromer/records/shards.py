"""A record dataset's shards: the plan that cuts each split into shards, and one shard's files.

:func:`plan_shards` cuts each split's ordered ids into shards of ``shard_size`` objects, named by
:func:`shard_name`; :func:`fingerprint` hashes that plan with the label map, rules, options and
input signature (``--resume`` continues only a conversion with the same fingerprint).

:func:`write_shard_results` writes one shard through :func:`astromer.io.atomic_path` (a
temporary file beside it, fsynced, then renamed with ``os.replace``) and then its manifest
(counts, sha256, drop report) atomically to ``DIR/.progress``; :func:`shard_is_done` is the
resume check: the final file exists and matches its manifest. Shared by the local writer
(:mod:`astromer.records.writer`) and Beam (:mod:`astromer.records.beam_pipeline`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter

from astromer.data.cleaning import Report
from astromer.io import atomic_path, atomic_write_json, read_json_or_none, sha256_of
from astromer.records.schema import SCHEMA_VERSION

PROGRESS_DIR = ".progress"


# ----------------------------------------------------------------------------------------------
# Planning
# ----------------------------------------------------------------------------------------------

def make_label_map(labels, label_map=None) -> dict:
    """``{label_name: int}``: the given map (checked to cover every label) or sorted names."""
    names = sorted({n for n in labels.values() if n is not None})
    if label_map is None:
        return {n: i for i, n in enumerate(names)}
    label_map = {str(k): int(v) for k, v in dict(label_map).items()}
    missing = [n for n in names if n not in label_map]
    if missing:
        raise ValueError(f"label(s) {missing} are not in the label map {sorted(label_map)}")
    if len(set(label_map.values())) != len(label_map):
        raise ValueError(f"label map {label_map} gives two labels the same integer")
    return label_map


def shard_name(split, index, count):
    return f"{split}/{split}-{index:05d}-of-{count:05d}.tfrecord"


def plan_shards(plan_splits, shard_size):
    """Cut each split's ordered ids into shards of ``shard_size`` objects."""
    if int(shard_size) < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    shards = []
    for split, ids in plan_splits.items():
        count = max(1, -(-len(ids) // shard_size))
        for i in range(count):
            shards.append({
                "split": split,
                "index": i,
                "file": shard_name(split, i, count),
                "ids": ids[i * shard_size:(i + 1) * shard_size],
            })
    return shards


def fingerprint(kind, shards, label_map, rules, options, description) -> str:
    payload = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "shards": [[s["file"], s["ids"]] for s in shards],
        "label_map": label_map,
        "rules": rules.to_dict(),
        "options": options,
        "source": description,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------------------------
# One shard and its manifest
# ----------------------------------------------------------------------------------------------

def progress_path(out_dir, file):
    """Where the manifest of shard ``file`` is kept until the dataset is finished."""
    return os.path.join(out_dir, PROGRESS_DIR, file.replace("/", "__") + ".json")


def write_shard_results(out_dir, file, split, fingerprint_, results):
    """Write ``results`` (iterable of ``(ObjectResult, Report)``, in shard order) as one
    shard, atomically, then its manifest. Shared by the local writer and Beam."""
    import tensorflow as tf

    report = Report()
    classes, bands = Counter(), Counter()
    written, records, observations, unlabelled = [], 0, 0, 0
    with atomic_path(os.path.join(out_dir, file)) as tmp:
        with tf.io.TFRecordWriter(os.fspath(tmp)) as writer:
            for result, rep in results:
                report.merge(rep)
                if not result.records:
                    continue
                for rec in result.records:
                    writer.write(rec)
                records += len(result.records)
                observations += result.observations
                written.append(result.object_id)
                bands.update(result.bands)
                if result.label_name is None:
                    unlabelled += 1
                else:
                    classes[result.label_name] += 1
        digest = sha256_of(tmp)
        size = os.path.getsize(tmp)
    manifest = {
        "file": file,
        "split": split,
        "records": records,
        "objects": len(written),
        "observations": observations,
        "bytes": size,
        "sha256": digest,
        "classes": dict(sorted(classes.items())),
        "unlabelled": unlabelled,
        "bands": dict(sorted(bands.items())),
        "object_ids": written,
        "report": report.to_dict(),
        "fingerprint": fingerprint_,
    }
    atomic_write_json(progress_path(out_dir, file), manifest)
    return manifest


def shard_is_done(out_dir, shard, fp):
    """The manifest of ``shard`` if its file is written and intact under fingerprint ``fp``."""
    manifest = read_json_or_none(progress_path(out_dir, shard["file"]))
    final = os.path.join(out_dir, shard["file"])
    if not manifest or manifest.get("fingerprint") != fp or not os.path.isfile(final):
        return None
    if os.path.getsize(final) != manifest.get("bytes") or sha256_of(final) != manifest.get("sha256"):
        return None
    return manifest
