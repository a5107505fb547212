"""Sharded, atomic, resumable record writing with parallel workers.

Layout written by :func:`write_dataset`::

    DIR/metadata.json                                 (written last, atomically)
    DIR/<split>/<split>-00000-of-00004.tfrecord
    DIR/.progress/                                    (only while unfinished)

Determinism: objects are assigned to splits by :mod:`astromer.data.splits`
(seeded, from sorted ids) and each split's ordered ids are cut into shards of
``shard_size`` objects. A shard's bytes depend only on its objects, so any
number of workers (each writing whole shards) gives byte-identical shards.

Atomicity: a shard is written to a temporary ``.NAME.<pid>-<random>.tmp`` beside
it, fsynced and renamed with ``os.replace`` (:func:`astromer.io.atomic_path`);
then its manifest (count, sha256, drop report) is written atomically to
``DIR/.progress`` (:mod:`astromer.records.shards`). ``resume=True`` keeps every
shard whose final file exists and matches its manifest's sha256 and rewrites the
others (and deletes stale ``*.tmp`` files), so an interrupted run finishes with
exactly the records of an uninterrupted one.

Replacing (``overwrite=True`` on a folder that holds a dataset, finished or not): the new
dataset is written into a hidden sibling ``.DIR.overwrite-<pid>-<random>`` in the same parent
folder and only swapped in once its ``metadata.json`` is written (``DIR`` is renamed to
``<sibling>.old``, the sibling to ``DIR``, then the old copy is deleted), so a failed or killed
run leaves ``DIR`` exactly as it was. ``overwrite=True, resume=True`` continues the sibling of
an interrupted replacement with the same fingerprint; a later run restores ``DIR`` (or completes
the swap) when a crash fell between the two renames.

A run whose result is empty (every object dropped) raises :class:`EmptyDatasetError` and
removes what it wrote: the sibling when replacing, else the shards and ``.progress`` (and the
folder itself when this run created it), so a rerun is not refused as "not empty".
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from astromer.data.cleaning import CleaningRules, Report
from astromer.errors import AstromerError
from astromer.io import atomic_write_json
from astromer.records.convert import object_records
from astromer.records.schema import FORMAT_NAME, METADATA_FILE
from astromer.records.schema import SCHEMA_VERSION
from astromer.records.shards import (  # write_shard_results: also Beam's, imported from here
    PROGRESS_DIR, fingerprint, make_label_map, plan_shards, shard_is_done, write_shard_results,
)
from astromer.data.splits import assign_splits, parse_split_spec
from astromer.records.output_folder import check_output, prepare_dir
from astromer.records.replacing import BACKUP_SUFFIX, recover_interrupted_swap, staging_dir



class EmptyDatasetError(AstromerError, ValueError):
    """A conversion that would write no object: an error, never an empty dataset with exit 0."""


def _input_name(source):
    files = (source.description or {}).get("files") or []
    if files:
        return files[0].get("path", "the input")
    folder = (source.description or {}).get("folder") or (source.description or {}).get("path")
    return folder or f"the {(source.description or {}).get('type', 'input')}"


def empty_source_message(source, report):
    """Why nothing is left, with counts (label mismatch, every row dropped, no rows)."""
    where = _input_name(source)
    unlabelled = report.objects.get("curve_without_label", 0)
    orphan_labels = report.objects.get("label_without_curve", 0)
    if unlabelled and orphan_labels:
        return (f"0 of {orphan_labels:,} label ids match the {unlabelled:,} objects in {where}; ids are "
                "compared as text, exactly as written (check the id column, or --keep-unlabelled)")
    lines = report.lines()
    if lines:
        return f"no object is left to write from {where}: " + "; ".join(lines)
    return f"{where} holds no objects (no data rows)"


# ----------------------------------------------------------------------------------------------
# One shard (runs in a worker process)
# ----------------------------------------------------------------------------------------------

def convert_item(item, kind, label_map, rules):
    """``(ObjectResult, Report)`` of one item: the per-object step of every writer."""
    report = Report()
    return object_records(item, kind, label_map, rules, report), report


def write_shard(task):
    """Convert and write one shard (runs in a worker process); returns its manifest."""
    results = (convert_item(item, task["kind"], task["label_map"], task["rules"])
               for item in task["items"])
    return write_shard_results(task["out_dir"], task["file"], task["split"],
                               task["fingerprint"], results)


# ----------------------------------------------------------------------------------------------
# The whole dataset
# ----------------------------------------------------------------------------------------------

def _run_tasks(tasks, workers, on_done):
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_done(write_shard(task))
        return
    # Not "fork": TensorFlow is not fork-safe. A forkserver imports TensorFlow once and forks the
    # workers from its clean single process; ASTROMER_RECORDS_START_METHOD=spawn|fork overrides.
    method = os.environ.get("ASTROMER_RECORDS_START_METHOD", "forkserver")
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["astromer.records.writer"])
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        pending = {pool.submit(write_shard, t) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _split_summary(manifests):
    out = {"objects": 0, "records": 0, "observations": 0, "classes": Counter(),
           "unlabelled": 0, "bands": Counter(), "shards": []}
    for m in manifests:
        for k in ("objects", "records", "observations", "unlabelled"):
            out[k] += m[k]
        out["classes"].update(m["classes"])
        out["bands"].update(m["bands"])
        out["shards"].append({k: m[k] for k in ("file", "records", "objects", "observations",
                                                "bytes", "sha256")})
    out["classes"] = dict(sorted(out["classes"].items()))
    out["bands"] = dict(sorted(out["bands"].items()))
    return out


class Conversion:
    """Everything decided before any shard is written (shared by the local writer and Beam)."""

    def __init__(self, source, output_dir, *, splits="0.8,0.1,0.1", seed=0, shard_size=1000,
                 rules=None, label_map=None, name=None, extra_metadata=None):
        self.source = source
        self.out_dir = os.fspath(output_dir)
        if not source.items:
            raise EmptyDatasetError(empty_source_message(source, source.report))
        if source.kind != "light_curve":
            rules = CleaningRules()
        elif rules is None:
            rules = CleaningRules(has_errors=source.has_errors)
        elif rules.has_errors != source.has_errors:
            rules = CleaningRules.from_dict({**rules.to_dict(), "has_errors": source.has_errors})
        self.rules = rules
        self.spec = parse_split_spec(splits)
        self.label_map = make_label_map(source.labels, label_map)
        self.plan = assign_splits(source.labels, self.spec, seed=seed, extra=source.extra)
        self.shards = plan_shards(self.plan.splits, int(shard_size))
        self.options = {"splits": self.spec.to_dict(), "seed": int(seed), "shard_size": int(shard_size)}
        self.fingerprint = fingerprint(source.kind, self.shards, self.label_map, rules,
                                       self.options, source.description)
        self.name = name or os.path.basename(os.path.abspath(self.out_dir))
        self.extra_metadata = extra_metadata
        # Where shards go: out_dir, or a staging sibling when replacing (see prepare_output).
        self.write_dir, self.staging, self.created = self.out_dir, None, False
        if self.spec.kind == "fewshot" and not any(n.endswith("_train") for n in self.plan.splits):
            counts = Counter(v for v in source.labels.values() if v is not None)
            raise EmptyDatasetError(
                f"few-shot split {self.spec.text()!r} leaves every fold's training split empty: "
                f"the test set takes up to {self.spec.test_per_class} objects per class and the "
                "classes have only " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                + "; lower test= or label more objects; nothing was written")

    def prepare_output(self, resume=False, overwrite=False):
        """Check the output folder and choose where to write; returns finished metadata if
        resume finds nothing left to do. Replacing a dataset (``overwrite``) writes into a
        staging sibling that :meth:`finish` swaps in, so ``out_dir`` is untouched until then."""
        recover_interrupted_swap(self.out_dir)
        action, meta = check_output(self.out_dir, self.fingerprint, resume, overwrite)
        if action == "finished":
            return meta
        if action == "stage":
            self.staging, _ = staging_dir(self.out_dir, self.fingerprint, resume)
            self.write_dir = self.staging
        else:
            self.created = not os.path.exists(self.out_dir)
        prepare_dir(self.write_dir, self.fingerprint)
        return None

    def discard(self):
        """Remove what this run wrote (after an empty result): the staging folder, or the
        plan's shards and ``.progress`` (and ``out_dir`` itself when this run created it)."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        d = self.write_dir
        for shard in self.shards:
            path = os.path.join(d, shard["file"])
            if os.path.isfile(path):
                os.remove(path)
        shutil.rmtree(os.path.join(d, PROGRESS_DIR), ignore_errors=True)
        for split in {shard["split"] for shard in self.shards}:
            folder = os.path.join(d, split)
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
        if self.created and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)

    def _swap_in(self):
        """Put the finished staging folder in place of ``out_dir``: old -> backup, staging ->
        ``out_dir``, delete the backup (:func:`recover_interrupted_swap` mends a crash between)."""
        backup = self.staging + BACKUP_SUFFIX
        os.replace(self.out_dir, backup)
        try:
            os.replace(self.staging, self.out_dir)
        except BaseException:
            os.replace(backup, self.out_dir)
            raise
        shutil.rmtree(backup, ignore_errors=True)
        self.write_dir, self.staging = self.out_dir, None

    def task(self, shard):
        return {
            "out_dir": self.write_dir, "file": shard["file"], "split": shard["split"],
            "items": [self.source.items[i] for i in shard["ids"]], "kind": self.source.kind,
            "label_map": self.label_map, "rules": self.rules, "fingerprint": self.fingerprint,
        }

    def completed(self, resume):
        """Manifests of shards already written and intact (only when resuming)."""
        if not resume:
            return {}
        done = {}
        for shard in self.shards:
            m = shard_is_done(self.write_dir, shard, self.fingerprint)
            if m is not None:
                done[shard["file"]] = m
        return done

    def finish(self, manifests):
        """Assemble and atomically write metadata.json from every shard's manifest."""
        import astromer

        source, plan, shards = self.source, self.plan, self.shards
        missing = [s["file"] for s in shards if s["file"] not in manifests]
        if missing:
            raise RuntimeError(f"shard(s) {missing[:5]} were not written")
        report = Report().merge(source.report)
        for oid in plan.unused:
            report.add("objects", "not_in_any_split", 1, oid)
        per_split, all_ids, classes_total, unlabelled_total = {}, {}, Counter(), 0
        for split in plan.splits:
            ms = [manifests[s["file"]] for s in shards if s["split"] == split]
            for m in ms:
                report.merge(Report.from_dict(m["report"]))
                for oid in m["object_ids"]:
                    all_ids[oid] = source.items[oid].label_name
            per_split[split] = _split_summary(ms)
        for lab in all_ids.values():
            if lab is None:
                unlabelled_total += 1
            else:
                classes_total[lab] += 1
        if not all_ids:
            self.discard()
            raise EmptyDatasetError(empty_source_message(source, report) + "; nothing was written to "
                                    f"{os.path.join(self.out_dir, METADATA_FILE)}")
        bands = sorted({b for s in per_split.values() for b in s["bands"]} - {""})
        is_lc = source.kind == "light_curve"
        meta = {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "kind": source.kind,
            "name": self.name,
            "astromer_version": astromer.__version__,
            "fingerprint": self.fingerprint,
            "label_map": self.label_map,
            "bands": bands,
            "has_errors": bool(source.has_errors) if is_lc else None,
            "counts": {
                "objects": len(all_ids),
                "records": sum(s["records"] for s in per_split.values()),
                "observations": sum(s["observations"] for s in per_split.values()),
                "classes": dict(sorted(classes_total.items())),
                "unlabelled": unlabelled_total,
            },
            "splits": per_split,
            "dropped": report.to_dict(),
            "notes": list(plan.notes),
            "options": {**self.options, "rules": self.rules.to_dict() if is_lc else None},
            "source": source.description,
        }
        if self.extra_metadata:
            meta["recipe"] = self.extra_metadata
        meta = json.loads(json.dumps(meta))  # exactly what readers will load
        atomic_write_json(os.path.join(self.write_dir, METADATA_FILE), meta)
        shutil.rmtree(os.path.join(self.write_dir, PROGRESS_DIR), ignore_errors=True)
        if self.staging is not None:
            self._swap_in()
        return meta


def write_dataset(source, output_dir, *, splits="0.8,0.1,0.1", seed=0, shard_size=1000,
                  workers=1, resume=False, overwrite=False, rules=None, label_map=None,
                  name=None, progress=True, extra_metadata=None) -> dict:
    """Convert a :class:`~astromer.records.sources.Source` into a sharded record dataset.

    Args:
        source: from :mod:`astromer.records.sources` (long table, raw folder, images), or a
            :class:`~astromer.records.table_parts.LongTable` (read here, file by file).
        output_dir: the dataset folder (created; must be empty unless resuming
            or overwriting).
        splits: split spec (see :mod:`astromer.data.splits`).
        seed: seed of every random draw (splits and shard order).
        shard_size: objects per shard (all bands of an object share a shard).
        workers: processes writing whole shards in parallel (same bytes as 1).
            They are forked from a forkserver (``ASTROMER_RECORDS_START_METHOD``
            overrides); a script calling this with ``workers > 1`` should use the
            usual ``if __name__ == "__main__":`` guard.
        resume: finish an interrupted conversion into ``output_dir`` (with ``overwrite``:
            an interrupted replacement of it).
        overwrite: replace an existing dataset in ``output_dir``; it is kept intact until
            the new one is complete (written beside it, then swapped in).
        rules: :class:`CleaningRules` (light curves).
        label_map: ``{label_name: int}``; default: sorted label names -> 0..K-1.
        name: dataset name stored in the metadata.
        progress: show a progress bar (stderr).
        extra_metadata: JSON-able dict stored under ``"recipe"``.

    Returns the metadata dict (also written to ``DIR/metadata.json``). Its
    ``dropped`` entry counts everything removed, by reason.
    """
    from tqdm import tqdm

    from astromer.records.table_parts import LongTable

    if isinstance(source, LongTable):
        source = source.read()
    conv = Conversion(source, output_dir, splits=splits, seed=seed, shard_size=shard_size,
                      rules=rules, label_map=label_map, name=name, extra_metadata=extra_metadata)
    finished = conv.prepare_output(resume, overwrite)
    if finished is not None:
        return finished
    manifests = conv.completed(resume)
    todo = [conv.task(s) for s in conv.shards if s["file"] not in manifests]
    sizes = {s["file"]: len(s["ids"]) for s in conv.shards}
    bar = tqdm(total=sum(sizes.values()), unit="obj", desc=f"records {conv.name}",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    bar.update(sum(sizes[f] for f in manifests))

    def on_done(manifest):
        manifests[manifest["file"]] = manifest
        bar.update(sizes[manifest["file"]])

    try:
        _run_tasks(todo, int(workers), on_done)
    finally:
        bar.close()
    return conv.finish(manifests)


def summary_lines(meta) -> list:
    """Human-readable lines: counts per split and class, then everything dropped."""
    c = meta["counts"]
    unit = "images" if meta["kind"] == "image" else "objects"
    lines = [f"{meta['name']}: {c['objects']} {unit}, {c['records']} records"
             + (f", {c['observations']} observations" if meta["kind"] == "light_curve" else "")
             + (f", bands {','.join(meta['bands'])}" if meta.get("bands") else "")]
    for split, s in meta["splits"].items():
        cls = ", ".join(f"{k} {v}" for k, v in s["classes"].items())
        if s.get("unlabelled"):
            cls = (cls + ", " if cls else "") + f"unlabelled {s['unlabelled']}"
        lines.append(f"  {split}: {s['objects']} {unit} in {len(s['shards'])} shard(s)"
                     + (f" ({cls})" if cls else ""))
    dropped = Report.from_dict(meta.get("dropped", {})).lines()
    if dropped:
        lines.append("dropped or repaired:")
        lines.extend(f"  {d}" for d in dropped)
    else:
        lines.append("nothing dropped")
    for note in meta.get("notes", []):
        lines.append(f"note: {note}")
    return lines
