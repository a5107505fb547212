"""Record schema round trip, the dataset reader, and reading ORIGINAL Astromer v1/v2 records."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astromer import records
from astromer.records.original_records import read_original_v1_records, read_original_v2_records


def _long_frame():
    rng = np.random.default_rng(0)
    rows = []
    for k in range(6):
        for band in ("g", "r"):
            n = 5 + k
            t = np.sort(rng.uniform(50000, 51000, n))
            rows += [(f"obj{k}", band, ti, 15 + rng.normal(), 0.01 + 0.1 * rng.random()) for ti in t]
    curves = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    labels = pd.DataFrame({"object_id": [f"obj{k}" for k in range(6)],
                           "label": ["a", "b", "a", "b", "a", "b"]})
    return curves, labels


def test_round_trip_and_metadata(tmp_path):
    curves, labels = _long_frame()
    src = records.long_table_source(curves, labels)
    meta = records.write_dataset(src, tmp_path / "ds", splits="none", shard_size=4, progress=False)
    assert meta == records.read_metadata(tmp_path / "ds")
    assert meta["schema_version"] == records.SCHEMA_VERSION and meta["kind"] == "light_curve"
    assert meta["counts"]["objects"] == 6 and meta["counts"]["records"] == 12
    assert meta["label_map"] == {"a": 0, "b": 1} and meta["bands"] == ["g", "r"]
    files = records.light_curve_files(tmp_path / "ds")
    assert [f.rsplit("/", 1)[1] for f in files] == ["all-00000-of-00002.tfrecord",
                                                    "all-00001-of-00002.tfrecord"]
    seen = 0
    for rec in records.read_light_curves(tmp_path / "ds").as_numpy_iterator():
        oid, band = rec["object_id"].decode(), rec["band"].decode()
        g = curves[(curves.object_id == oid) & (curves.band == band)]
        assert rec["length"] == len(g) == len(rec["time"])
        np.testing.assert_allclose(rec["time"], g.time.to_numpy(), rtol=0, atol=1e-4)
        np.testing.assert_array_equal(rec["mag"], g.mag.to_numpy(np.float32))
        np.testing.assert_array_equal(rec["err"], g.mag_err.to_numpy(np.float32))
        assert rec["label"] == meta["label_map"][labels.set_index("object_id").label[oid]]
        seen += 1
    assert seen == 12
    objects = list(records.read_objects(tmp_path / "ds"))
    assert sorted(o["object_id"] for o in objects) == [f"obj{k}" for k in range(6)]
    assert all(list(o["bands"]) == ["g", "r"] for o in objects)
    with pytest.raises(ValueError, match="not 'image'"):
        records.image_files(tmp_path / "ds")
    with pytest.raises(KeyError, match="not in this dataset"):
        records.light_curve_files(tmp_path / "ds", split="train")


def test_read_metadata_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        records.read_metadata(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        records.read_metadata(tmp_path / "d")
    (tmp_path / "d" / "metadata.json").write_text(json.dumps({"format": "astromer-records",
                                                              "schema_version": 99}))
    with pytest.raises(ValueError, match="schema_version 99"):
        records.read_metadata(tmp_path / "d")


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _write_v1(path, id_as_int=False):
    """Astromer 1 (ASTROMER.core.data.get_example): context id/label/length, dim_0..2."""
    curves = []
    with tf.io.TFRecordWriter(str(path)) as w:
        for k in range(3):
            lc = np.stack([np.arange(4 + k) + 100.5, 15 + np.arange(4 + k) * 0.1,
                           np.full(4 + k, 0.05)], axis=1).astype(np.float32)
            idf = (tf.train.Feature(int64_list=tf.train.Int64List(value=[1000 + k])) if id_as_int
                   else tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(1000 + k).encode()])))
            ctx = tf.train.Features(feature={
                "id": idf,
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[k % 2])),
                "length": tf.train.Feature(int64_list=tf.train.Int64List(value=[len(lc)])),
            })
            fl = tf.train.FeatureLists(feature_list={
                f"dim_{c}": tf.train.FeatureList(feature=[_floats(lc[:, c])]) for c in range(3)})
            w.write(tf.train.SequenceExample(context=ctx, feature_lists=fl).SerializeToString())
            curves.append(lc)
    return curves


@pytest.mark.parametrize("id_as_int", [False, True])
def test_original_v1_records(tmp_path, id_as_int):
    curves = _write_v1(tmp_path / "chunk_0.record", id_as_int)
    out = list(read_original_v1_records([tmp_path / "chunk_0.record"], band="R").as_numpy_iterator())
    assert len(out) == 3
    for k, (rec, lc) in enumerate(zip(out, curves)):
        assert rec["object_id"] == str(1000 + k).encode() and rec["band"] == b"R"
        assert rec["label"] == k % 2 and rec["length"] == len(lc) and rec["label_name"] == b""
        assert rec["time"].dtype == np.float64
        np.testing.assert_array_equal(rec["time"], lc[:, 0].astype(np.float64))
        np.testing.assert_array_equal(rec["mag"], lc[:, 1])
        np.testing.assert_array_equal(rec["err"], lc[:, 2])
    assert set(out[0]) == {"object_id", "band", "label", "label_name", "length", "time", "mag", "err"}
    # folders are searched recursively
    assert len(list(read_original_v1_records(tmp_path))) == 3


def test_original_v1_rejects_other_layouts(tmp_path):
    from astromer.records.schema import light_curve_example

    with tf.io.TFRecordWriter(str(tmp_path / "x.tfrecord")) as w:
        w.write(light_curve_example("a", "g", [1.0], [2.0], [0.1]))
    with pytest.raises(ValueError, match="not an original Astromer v1 record"):
        read_original_v1_records(tmp_path / "x.tfrecord")


V2_CONFIG = """[id_column]
value = "newID"
dtype = "integer"

[target]
value = "./data/records/macho/"
dtype = "string"

[context_features]
value = [ "ID", "Class", "Band", "Label", "newID",]
dtypes = [ "string", "string", "string", "integer", "integer",]

[sequential_features]
value = [ "mjd", "mag", "errmag",]
dtypes = [ "float", "float", "float",]
"""


def test_original_v2_records(tmp_path):
    """Astromer 2 (src/data/record.py): config.toml names; each column ONE float feature."""
    (tmp_path / "config.toml").write_text(V2_CONFIG)
    rows = []
    with tf.io.TFRecordWriter(str(tmp_path / "000.record")) as w:
        for k in range(2):
            mjd = (48800.0 + np.arange(3 + k) * 1.5).astype(np.float32)
            mag = (-5.0 + np.arange(3 + k) * 0.01).astype(np.float32)
            err = np.full(3 + k, 0.1, np.float32)
            ctx = tf.train.Features(feature={
                "ID": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"1.3444.{k}".encode()])),
                "Class": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"RRL"])),
                "Band": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"R"])),
                "Label": tf.train.Feature(int64_list=tf.train.Int64List(value=[3])),
                "newID": tf.train.Feature(int64_list=tf.train.Int64List(value=[77 + k])),
            })
            fl = tf.train.FeatureLists(feature_list={
                name: tf.train.FeatureList(feature=[_floats(col)])
                for name, col in (("mjd", mjd), ("mag", mag), ("errmag", err))})
            w.write(tf.train.SequenceExample(context=ctx, feature_lists=fl).SerializeToString())
            rows.append((mjd, mag, err))
    ds = read_original_v2_records([tmp_path / "000.record"], tmp_path / "config.toml")
    out = list(ds.as_numpy_iterator())
    assert [r["object_id"] for r in out] == [b"77", b"78"]  # the config's id_column
    for rec, (mjd, mag, err) in zip(out, rows):
        assert rec["label"] == 3 and rec["label_name"] == b"RRL" and rec["band"] == b"R"
        assert rec["length"] == len(mjd)
        np.testing.assert_array_equal(rec["time"], mjd.astype(np.float64))
        np.testing.assert_array_equal(rec["mag"], mag)
        np.testing.assert_array_equal(rec["err"], err)
    out = list(read_original_v2_records(tmp_path / "000.record", tmp_path / "config.toml",
                                        id_key="ID").as_numpy_iterator())
    assert out[0]["object_id"] == b"1.3444.0"
    (tmp_path / "bad.toml").write_text("[context_features]\nvalue = []\n")
    with pytest.raises(ValueError, match="create_config_toml"):
        read_original_v2_records(tmp_path / "000.record", tmp_path / "bad.toml")
