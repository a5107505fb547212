"""The record conversion as an Apache Beam pipeline (optional extra ``astromer-keras[beam]``).

Same plan, same per-object function, same shard writer as the local writer
(:mod:`astromer.records.writer`), so the records are byte-identical; only the
scheduling differs:

1. ``Create`` one element per (shard, position, item) from the plan;
2. ``Map`` :func:`~astromer.records.writer.convert_item` (clean + serialise one object);
3. ``GroupByKey`` on the shard;
4. ``Map``: sort by position and write the shard atomically with its manifest;

then the driver assembles ``metadata.json`` from the manifests. Runs on the
DirectRunner locally; ``runner="DataflowRunner"`` (or Spark, Flink) with the
usual Beam pipeline options runs it on a cluster, where ``output_dir`` must be
a path every worker can write (a shared file system).
"""

from __future__ import annotations

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


def write_dataset_beam(source, output_dir, *, splits="0.8,0.1,0.1", seed=0, shard_size=1000,
                       resume=False, overwrite=False, rules=None, label_map=None, name=None,
                       extra_metadata=None, runner="DirectRunner", pipeline_options=None) -> dict:
    """:func:`astromer.records.writer.write_dataset` as a Beam pipeline.

    ``runner``: a Beam runner name ("DirectRunner", "DataflowRunner",
    "SparkRunner", "FlinkRunner", ...); ``pipeline_options``: extra Beam
    options as a list of ``--flag=value`` strings or a dict. Returns the metadata.
    """
    beam = _require_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    conv = Conversion(source, output_dir, splits=splits, seed=seed, shard_size=shard_size,
                      rules=rules, label_map=label_map, name=name, extra_metadata=extra_metadata)
    finished = conv.prepare_output(resume, overwrite)
    if finished is not None:
        return finished
    manifests = conv.completed(resume)
    todo = [s for s in conv.shards if s["file"] not in manifests]
    elements = [(s["file"], pos, source.items[oid])
                for s in todo for pos, oid in enumerate(s["ids"])]
    empty = [s for s in todo if not s["ids"]]  # GroupByKey never sees empty shards
    splits_of = {s["file"]: s["split"] for s in conv.shards}
    if isinstance(pipeline_options, dict):
        pipeline_options = [f"--{k}={v}" for k, v in pipeline_options.items()]
    options = PipelineOptions(list(pipeline_options or []), runner=runner)
    writer = _WriteShard(conv.out_dir, splits_of, conv.fingerprint)
    if elements:
        with beam.Pipeline(options=options) as pipeline:
            _ = (
                pipeline
                | "Objects" >> beam.Create(elements, reshuffle=False)
                | "Convert" >> beam.Map(_Convert(source.kind, conv.label_map, conv.rules))
                | "GroupByShard" >> beam.GroupByKey()
                | "WriteShard" >> beam.Map(writer)
            )
    for s in empty:
        writer((s["file"], []))
    manifests.update(conv.completed(True))
    return conv.finish(manifests)
