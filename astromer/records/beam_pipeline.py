"""The record conversion as an Apache Beam pipeline (optional extra ``astromer-keras[beam]``).

Same plan, same per-object function, same shard writer as the local writer
(:mod:`astromer.records.writer`), so the records are byte-identical; only the
scheduling differs.

An in-memory :class:`~astromer.records.items.Source` (a DataFrame, a raw folder, images):

1. ``Create`` one element per (shard, position, item) from the plan;
2. ``Map`` :func:`~astromer.records.writer.convert_item` (clean + serialise one object);
3. ``GroupByKey`` on the shard;
4. ``Map``: sort by position and write the shard atomically with its manifest.

A long table on disk (:class:`~astromer.records.table_parts.LongTable`: a file pattern, a list of
CSV/Parquet files, a partitioned Parquet dataset) is read on the workers, never on the driver:

1. *scan*: each worker reads one file (:func:`~astromer.records.table_parts.read_part`) and writes
   the ids, bands and drop counts it found to a small JSON file; the driver joins these (a few bytes
   per object, nothing per observation), attaches labels and plans the splits and shards exactly
   as the local writer does;
2. *spill*: each worker reads one file again and writes, per shard, the parts of that shard's
   objects to ``.progress/spill/`` in the output folder, emitting only ``(shard, file index)``;
3. *write*: ``GroupByKey`` on the shard gives each worker the spill files of one shard; an object's
   parts are joined in file order (:func:`~astromer.records.table_parts.merge_parts`), converted
   and the shard written as above.

No observation passes through the driver or the runner's shuffle: they go from worker to worker
through the output folder, which a cluster run needs shared anyway.

The driver assembles ``metadata.json`` from the manifests. Runs on the DirectRunner locally
(``--direct_num_workers=N --direct_running_mode=multi_processing`` for N worker processes);
``runner="DataflowRunner"`` (or Spark, Flink) with the usual Beam pipeline options runs it on a
cluster, where the input files and ``output_dir`` must be paths every worker can read and write
(a shared or mounted file system).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil

from astromer.io import atomic_write_json
from astromer.records.writer import Conversion, convert_item, write_shard_results


def _require_beam():
    try:
        import apache_beam as beam  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the Beam pipeline needs Apache Beam: pip install 'astromer-keras[beam]' "
            f"({exc})") from None
    return beam


class _Convert:
    def __init__(self, kind, label_map, rules):
        self.kind, self.label_map, self.rules = kind, label_map, rules

    def __call__(self, element):
        shard_file, position, item = element
        return shard_file, (position, convert_item(item, self.kind, self.label_map, self.rules))


class _WriteShard:
    def __init__(self, out_dir, splits_of, fingerprint):
        self.out_dir, self.splits_of, self.fingerprint = out_dir, splits_of, fingerprint

    def __call__(self, keyed):
        shard_file, results = keyed
        ordered = [r for _, r in sorted(results, key=lambda pr: pr[0])]
        manifest = write_shard_results(self.out_dir, shard_file, self.splits_of[shard_file],
                                       self.fingerprint, ordered)
        return manifest["file"]


# ----------------------------------------------------------------------------------------------
# Long tables read on the workers
# ----------------------------------------------------------------------------------------------

def _scan_path(scan_dir, index):
    return os.path.join(scan_dir, f"file-{index:06d}.json")


class _ScanFile:
    """Worker: read one table file, write what it holds (ids, bands, drops) as JSON."""

    def __init__(self, table, scan_dir):
        self.table, self.scan_dir = table, scan_dir

    def __call__(self, index):
        per_object, report = self.table.read_file(index)
        atomic_write_json(_scan_path(self.scan_dir, index), {
            "file": self.table.files[index],
            "objects": sorted(per_object),
            "bands": sorted({str(b) for bands in per_object.values() for b in bands}),
            "report": report.to_dict(),
        }, indent=None)
        return index


class _SpillParts:
    """Worker: read one table file; for each shard, spill its planned objects' parts to
    ``.progress/spill/SHARD/file-I.pkl`` in the output folder; emit ``(shard, I)``.

    Observations go from worker to worker through the shared output folder, never through the
    runner, so neither the driver nor a shuffle service holds them.
    """

    def __init__(self, table, placement, spill_dir):
        self.table, self.placement, self.spill_dir = table, placement, spill_dir

    def __call__(self, index):
        from astromer.io import atomic_write_bytes

        per_object, _report = self.table.read_file(index)
        by_shard = {}
        for oid, bands in per_object.items():
            if oid in self.placement:
                by_shard.setdefault(self.placement[oid][0], {})[oid] = bands
        for shard_file, parts in sorted(by_shard.items()):
            atomic_write_bytes(_spill_path(self.spill_dir, shard_file, index),
                               pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))
            yield shard_file, index


class _WriteSpilledShard:
    """Worker: join the spilled parts of one shard's objects in file order, convert, write."""

    def __init__(self, placement_of_shard, spill_dir, kind, label_map, rules, writer):
        self.placement_of_shard, self.spill_dir = placement_of_shard, spill_dir
        self.kind, self.label_map, self.rules, self.writer = kind, label_map, rules, writer

    def __call__(self, keyed):
        from astromer.records.items import CurveItem
        from astromer.records.table_parts import merge_parts

        shard_file, indices = keyed
        parts = {}
        for index in sorted(set(indices)):
            with open(_spill_path(self.spill_dir, shard_file, index), "rb") as f:
                for oid, bands in pickle.load(f).items():  # our own files, written just before
                    parts.setdefault(oid, []).append(bands)
        results = []
        for position, (oid, label) in enumerate(self.placement_of_shard[shard_file]):
            item = CurveItem(oid, label, merge_parts(parts[oid]))
            results.append((position, convert_item(item, self.kind, self.label_map, self.rules)))
        done = self.writer((shard_file, results))
        shutil.rmtree(os.path.join(self.spill_dir, _safe(shard_file)), ignore_errors=True)
        return done


def _safe(shard_file):
    return shard_file.replace("/", "__")


def _spill_path(spill_dir, shard_file, index):
    return os.path.join(spill_dir, _safe(shard_file), f"file-{index:06d}.pkl")


def _scan_dir(output_dir):
    out = os.path.abspath(os.fspath(output_dir))
    return os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.scan")


def scan_long_table(table, output_dir, options):
    """Run the scan pipeline; returns the :class:`Source` planned from what the workers found."""
    beam = _require_beam()
    from astromer.data.cleaning import Report

    scan_dir = _scan_dir(output_dir)
    shutil.rmtree(scan_dir, ignore_errors=True)
    os.makedirs(scan_dir)
    try:
        with beam.Pipeline(options=options) as pipeline:
            _ = (pipeline
                 | "Files" >> beam.Create(list(range(len(table.files))), reshuffle=True)
                 | "ScanFile" >> beam.Map(_ScanFile(table, scan_dir)))
        objects, bands, reports = {}, set(), []
        for i in range(len(table.files)):
            with open(_scan_path(scan_dir, i), encoding="utf-8") as f:
                found = json.load(f)
            objects.update(dict.fromkeys(found["objects"]))
            bands.update(found["bands"])
            reports.append(Report.from_dict(found["report"]))
    finally:
        shutil.rmtree(scan_dir, ignore_errors=True)
    return table.source(objects, sorted(bands), reports)


def _write_long_table(beam, pipeline, table, conv, todo, writer):
    from astromer.records.shards import PROGRESS_DIR

    spill_dir = os.path.join(conv.write_dir, PROGRESS_DIR, "spill")
    placement = {oid: (s["file"], pos) for s in todo for pos, oid in enumerate(s["ids"])}
    of_shard = {s["file"]: [(oid, conv.source.items[oid].label_name) for oid in s["ids"]]
                for s in todo}
    return (pipeline
            | "Files" >> beam.Create(list(range(len(table.files))), reshuffle=True)
            | "SpillParts" >> beam.FlatMap(_SpillParts(table, placement, spill_dir))
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(_WriteSpilledShard(of_shard, spill_dir, conv.source.kind,
                                                          conv.label_map, conv.rules, writer)))


def write_dataset_beam(source, output_dir, *, splits="0.8,0.1,0.1", seed=0, shard_size=1000,
                       resume=False, overwrite=False, rules=None, label_map=None, name=None,
                       extra_metadata=None, runner="DirectRunner", pipeline_options=None) -> dict:
    """:func:`astromer.records.writer.write_dataset` as a Beam pipeline.

    ``source``: a :class:`~astromer.records.items.Source` (shipped from the driver), or a
    :class:`~astromer.records.table_parts.LongTable` from
    :func:`astromer.records.long_table` (files read on the workers: driver memory does not grow
    with the number of observations). ``runner``: a Beam runner name ("DirectRunner",
    "DataflowRunner", "SparkRunner", "FlinkRunner", ...); ``pipeline_options``: extra Beam
    options as a list of ``--flag=value`` strings or a dict. Returns the metadata.
    """
    beam = _require_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    from astromer.records.table_parts import LongTable

    if isinstance(pipeline_options, dict):
        pipeline_options = [f"--{k}={v}" for k, v in pipeline_options.items()]
    options = PipelineOptions(list(pipeline_options or []), runner=runner)
    table = source if isinstance(source, LongTable) else None
    if table is not None:
        source = scan_long_table(table, output_dir, options)
    conv = Conversion(source, output_dir, splits=splits, seed=seed, shard_size=shard_size,
                      rules=rules, label_map=label_map, name=name, extra_metadata=extra_metadata)
    finished = conv.prepare_output(resume, overwrite)
    if finished is not None:
        return finished
    manifests = conv.completed(resume)
    todo = [s for s in conv.shards if s["file"] not in manifests]
    empty = [s for s in todo if not s["ids"]]  # GroupByKey never sees empty shards
    splits_of = {s["file"]: s["split"] for s in conv.shards}
    writer = _WriteShard(conv.write_dir, splits_of, conv.fingerprint)
    if len(empty) < len(todo):
        with beam.Pipeline(options=options) as pipeline:
            if table is not None:
                _write_long_table(beam, pipeline, table, conv, todo, writer)
            else:
                elements = [(s["file"], pos, source.items[oid])
                            for s in todo for pos, oid in enumerate(s["ids"])]
                _ = (pipeline
                     | "Objects" >> beam.Create(elements, reshuffle=False)
                     | "Convert" >> beam.Map(_Convert(source.kind, conv.label_map, conv.rules))
                     | "GroupByShard" >> beam.GroupByKey()
                     | "WriteShard" >> beam.Map(writer))
    for s in empty:
        writer((s["file"], []))
    manifests.update(conv.completed(True))
    return conv.finish(manifests)
