"""The Apache Beam pipeline (DirectRunner) writes the same records as the local writer."""

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
    assert beam == local and local["dropped"]["rows"] == {"sentinel_err": 59}
    assert read_tree(tmp_path / "beam") == read_tree(tmp_path / "local")
