"""TFRecord records: schema, writers, readers and recipes.

Writing::

    from astromer import records
    src = records.long_table_source("lightcurves.csv.gz", "labels.csv")
    meta = records.write_dataset(src, "out/eros1", splits="0.8,0.1,0.1", shard_size=1000)

Reading::

    ds = records.read_light_curves("out/eros1", split="train")   # parse_light_curve dicts

Streaming into ``fit()`` (tf.data pipelines, loaded on first use)::

    train = records.pretraining_records("out/eros1", split="train", batch_size=64, seed=0)
    windows = records.inference_records("out/eros1", split="test")   # (x, info) batches

See ``records/README.md`` for the schema, the folder layout and the cleaning rules.
"""

from astromer.data.cleaning import CleaningRules, Report
from astromer.records.reader import (
    CorruptShardError,
    MissingShardError,
    image_files,
    light_curve_files,
    read_images,
    read_light_curves,
    read_metadata,
    read_objects,
)
from astromer.records.original_records import read_original_v1_records, read_original_v2_records
from astromer.records.schema import (
    SCHEMA_VERSION,
    UNLABELLED,
    image_example,
    light_curve_example,
    parse_image,
    parse_light_curve,
)
from astromer.records.sources import (
    image_array_source,
    image_cube_source,
    image_folder_source,
    image_layout,
    long_table_source,
    pattern_folder_source,
    raw_folder_source,
)
from astromer.records.table_parts import LongTable, long_table
from astromer.records.survey_sources import ramp_variable_stars_source, sesar2010_source
from astromer.data.splits import assign_splits, parse_split_spec
from astromer.records.verify import verify_dataset
from astromer.records.writer import write_dataset

_PIPELINES = {
    "pretraining_records": "light_curve_pipelines",
    "inference_records": "light_curve_pipelines",
    "classification_records": "light_curve_pipelines",
    "regroup_windows": "light_curve_pipelines",
    "light_curve_counts": "light_curve_pipelines",
    "sequential_window_bounds": "light_curve_pipelines",
    "image_records": "image_pipelines",
    "source_images": "image_pipelines",
    "centre_crop": "image_pipelines",
    "record_files": "streams",
}

__all__ = [
    "SCHEMA_VERSION",
    "UNLABELLED",
    "CleaningRules",
    "CorruptShardError",
    "MissingShardError",
    "LongTable",
    "Report",
    "assign_splits",
    "build",
    "image_example",
    "image_array_source",
    "image_cube_source",
    "image_files",
    "image_folder_source",
    "image_layout",
    "light_curve_example",
    "light_curve_files",
    "long_table",
    "long_table_source",
    "parse_image",
    "parse_light_curve",
    "parse_split_spec",
    "pattern_folder_source",
    "ramp_variable_stars_source",
    "raw_folder_source",
    "read_images",
    "read_light_curves",
    "read_metadata",
    "read_objects",
    "read_original_v1_records",
    "read_original_v2_records",
    "sesar2010_source",
    "verify_dataset",
    "write_dataset",
    "write_dataset_beam",
    *_PIPELINES,
]


def build(name, output_dir, **kwargs):
    """Run the recipe ``records/NAME.toml`` (see :func:`astromer.records.recipes.build`)."""
    from astromer.records.recipes import build as _build

    return _build(name, output_dir, **kwargs)


def write_dataset_beam(source, output_dir, **kwargs):
    """:func:`write_dataset` as an Apache Beam pipeline (needs ``astromer-keras[beam]``)."""
    from astromer.records.beam_pipeline import write_dataset_beam as _beam

    return _beam(source, output_dir, **kwargs)


def __getattr__(name):
    if name in _PIPELINES:
        import importlib

        return getattr(importlib.import_module(f".{_PIPELINES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
