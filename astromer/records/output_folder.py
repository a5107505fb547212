"""The output folder of a record conversion: whether it may be written, resumed or replaced
(:func:`check_output`), and marking it as holding one conversion (:func:`prepare_dir`)."""

from __future__ import annotations

import os

from astromer.errors import AstromerError
from astromer.io import atomic_write_json, read_json_or_none
from astromer.io import sha256_of as sha256_file
from astromer.records.replacing import PLAN_FILE
from astromer.records.schema import METADATA_FILE
from astromer.records.shards import PROGRESS_DIR


class ResumeError(AstromerError, ValueError):
    """The output folder cannot be resumed or overwritten as asked."""


def looks_like_records(out_dir):
    return (os.path.exists(os.path.join(out_dir, METADATA_FILE))
            or os.path.isdir(os.path.join(out_dir, PROGRESS_DIR)))


def prepare_dir(out_dir, fp):
    """Mark ``out_dir`` as holding the conversion ``fp`` and drop stale temporary files."""
    os.makedirs(os.path.join(out_dir, PROGRESS_DIR), exist_ok=True)
    atomic_write_json(os.path.join(out_dir, PROGRESS_DIR, PLAN_FILE), {"fingerprint": fp})
    # Leftovers of a crash mid-write: never trusted, always rewritten.
    for root, _dirs, files in os.walk(out_dir):
        for f in files:
            if f.endswith(".tmp"):
                os.remove(os.path.join(root, f))


def check_output(out_dir, fp, resume, overwrite):
    """What to do with ``out_dir``: ``("finished", meta)`` when resume finds nothing to do,
    ``("stage", None)`` to write a replacement beside it, ``("here", None)`` to write into it."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ResumeError(f"output {out_dir!r} exists and is not a folder")
    non_empty = os.path.isdir(out_dir) and bool(os.listdir(out_dir))
    if non_empty and overwrite:
        if not looks_like_records(out_dir):
            raise ResumeError(
                f"refusing to overwrite {out_dir!r}: it is not empty and holds no record dataset "
                "(no metadata.json or .progress); choose an empty or new folder")
        return "stage", None
    if non_empty and resume:
        meta = read_json_or_none(os.path.join(out_dir, METADATA_FILE))
        if meta is not None:
            if meta.get("fingerprint") != fp:
                raise ResumeError(
                    f"{out_dir!r} is a finished dataset written from different input or options; "
                    "use --overwrite to replace it")
            bad = [s["file"] for split in meta["splits"].values() for s in split["shards"]
                   if not os.path.isfile(os.path.join(out_dir, s["file"]))
                   or sha256_file(os.path.join(out_dir, s["file"])) != s["sha256"]]
            if bad:
                raise ResumeError(
                    f"{out_dir!r} is finished but shard(s) {bad[:5]} are missing or changed; "
                    "use --overwrite to rebuild")
            return "finished", meta
        plan = read_json_or_none(os.path.join(out_dir, PROGRESS_DIR, PLAN_FILE))
        if plan is None:
            raise ResumeError(f"nothing to resume in {out_dir!r}: it has no {PROGRESS_DIR}/{PLAN_FILE}")
        if plan.get("fingerprint") != fp:
            raise ResumeError(
                f"{out_dir!r} holds an interrupted conversion of different input or options; "
                "use --overwrite to start again")
    elif non_empty:
        raise ResumeError(
            f"output folder {out_dir!r} is not empty; use --resume to finish an interrupted "
            "conversion or --overwrite to replace it")
    return "here", None
