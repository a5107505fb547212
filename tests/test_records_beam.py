"""The Apache Beam pipeline (DirectRunner) writes the same records as the local writer."""

import pytest

from astromer import records
from astromer.data.cleaning import CleaningRules
from conftest import read_tree, require_shared


def test_beam_direct_runner_equals_local_writer(tmp_path):
    import apache_beam  # noqa: F401  (the beam extra is part of the test install)

    source = require_shared("data", "s82_rrlyrae")
    src = records.long_table_source(source / "lightcurves.csv.gz", source / "labels.csv")
    kw = dict(splits="0.8,0.1,0.1", shard_size=60, rules=CleaningRules(err_sentinels=(99.999,)),
              name="s82")
    local = records.write_dataset(src, tmp_path / "local", progress=False, **kw)
    beam = records.write_dataset_beam(src, tmp_path / "beam", runner="DirectRunner", **kw)
    assert beam == local and local["dropped"]["rows"] == {"sentinel_err": 59, "equal_time": 8}
    assert read_tree(tmp_path / "beam") == read_tree(tmp_path / "local")


def _partitioned_s82(folder, copies=1, parts=2):
    """S82 as a Hive-partitioned Parquet dataset (``band=g/part-K-C.parquet``, no band column):
    every object's rows are spread over several files, a band's rows over ``parts`` files;
    ``copies`` time-shifted copies of each part multiply the observations, not the objects."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(require_shared("data", "s82_rrlyrae") / "lightcurves.csv.gz",
                        dtype={"object_id": str, "band": str})
    for band, rows in frame.groupby("band", sort=True):
        (folder / f"band={band}").mkdir(parents=True)
        rows = rows.drop(columns="band").reset_index(drop=True)
        for k, chunk in enumerate(np.array_split(np.arange(len(rows)), parts)):
            for c in range(copies):
                part = rows.iloc[chunk].assign(time=rows["time"].iloc[chunk] + 20000.0 * c)
                part.to_parquet(folder / f"band={band}" / f"part-{k}-{c}.parquet", index=False)
    return folder


MULTI_PROCESS = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
KW = dict(splits="0.8,0.1,0.1", shard_size=100, rules=CleaningRules(err_sentinels=(99.999,)),
          name="s82")


@pytest.mark.slow
def test_beam_reads_a_partitioned_parquet_dataset_on_two_worker_processes(tmp_path, monkeypatch):
    """Workers read the files; the driver never reads a row; records equal the local writer's."""
    from astromer.records import table_parts

    labels = require_shared("data", "s82_rrlyrae") / "labels.csv"
    folder = _partitioned_s82(tmp_path / "s82")
    assert len(table_parts.table_files(folder)[0]) == 10
    local = records.write_dataset(records.long_table(folder, labels), tmp_path / "local",
                                  progress=False, **KW)

    def no_reading_here(*args, **kwargs):
        raise AssertionError("the Beam driver read a light-curve table")

    monkeypatch.setattr(table_parts, "read_part", no_reading_here)
    beam = records.write_dataset_beam(records.long_table(folder, labels), tmp_path / "beam",
                                      runner="DirectRunner", pipeline_options=MULTI_PROCESS, **KW)
    assert beam == local
    assert local["counts"]["objects"] == 483 and local["dropped"]["rows"] == {"sentinel_err": 59, "equal_time": 8}
    assert local["source"]["type"] == "long_table" and len(local["source"]["files"]) == 10
    assert read_tree(tmp_path / "beam") == read_tree(tmp_path / "local")
    assert not (tmp_path / ".beam.scan").exists() and not (tmp_path / "beam" / ".progress").exists()
    # the partitioned dataset holds the same curves as the one-file table: the same shards
    monkeypatch.undo()
    single = records.write_dataset(
        records.long_table_source(require_shared("data", "s82_rrlyrae") / "lightcurves.csv.gz",
                                  labels), tmp_path / "single", progress=False, **KW)
    assert single["counts"] == local["counts"]
    shards = {k: v for k, v in read_tree(tmp_path / "single").items() if k.endswith(".tfrecord")}
    assert shards and shards == {k: v for k, v in read_tree(tmp_path / "local").items()
                                 if k.endswith(".tfrecord")}


@pytest.mark.slow
def test_beam_driver_memory_does_not_grow_with_observations(tmp_path):
    """4x the observations (same objects): the driver's peak Python memory stays flat, while
    reading the same files in one process grows with them."""
    import tracemalloc

    labels = require_shared("data", "s82_rrlyrae") / "labels.csv"
    small = _partitioned_s82(tmp_path / "small", copies=1)
    large = _partitioned_s82(tmp_path / "large", copies=4)

    def peak(run):
        tracemalloc.start()
        try:
            out = run()
            return tracemalloc.get_traced_memory()[1], out
        finally:
            tracemalloc.stop()

    read_small, _ = peak(lambda: records.long_table(small, labels).read())
    read_large, _ = peak(lambda: records.long_table(large, labels).read())

    def convert(folder, out):
        return records.write_dataset_beam(records.long_table(folder, labels), tmp_path / out,
                                          runner="DirectRunner", pipeline_options=MULTI_PROCESS,
                                          **KW)

    convert(small, "warm_up")  # Beam's first run imports and caches modules: not measured
    beam_small, meta_small = peak(lambda: convert(small, "out_small"))
    beam_large, meta_large = peak(lambda: convert(large, "out_large"))
    assert meta_large["counts"]["observations"] >= 3.9 * meta_small["counts"]["observations"]
    assert meta_large["counts"]["objects"] == meta_small["counts"]["objects"] == 483
    growth_read = read_large - read_small      # what holding the observations costs
    assert growth_read > 10e6
    print(f"driver peak {beam_small / 1e6:.1f} -> {beam_large / 1e6:.1f} MB; one-process read "
          f"{read_small / 1e6:.1f} -> {read_large / 1e6:.1f} MB")
    assert beam_large - beam_small < 0.1 * growth_read, (beam_small, beam_large, growth_read)
