"""A truncated, bit-flipped or deleted shard gives one line naming the shard and suggesting
`astromer records verify DIR`: through the reader, the record pipelines and the CLI."""

import os
import shutil
import struct

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astromer import records
from astromer.records import (
    classification_records,
    image_records,
    inference_records,
    light_curve_counts,
    pretraining_records,
)
from astromer.records.shard_errors import CorruptShardError, MissingShardError, naming_bad_shards
from conftest import run_cli as _cli

SHARD = "train/train-00001-of-00004.tfrecord"
MODES = ("truncated", "bit_flip", "deleted")


@pytest.fixture(scope="module")
def intact(tmp_path_factory):
    """40 one-band curves of 30 observations; train 20 objects in 4 shards of 5."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(40):
        t = np.sort(rng.uniform(50000, 51000, 30))
        rows += [(f"obj{k:02d}", "r", ti, 15 + rng.normal(), 0.05) for ti in t]
    curves = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    labels = pd.DataFrame({"object_id": [f"obj{k:02d}" for k in range(40)], "label": ["a", "b"] * 20})
    folder = tmp_path_factory.mktemp("intact") / "ds"
    records.write_dataset(records.long_table_source(curves, labels), folder, splits="0.5,0.25,0.25",
                          shard_size=5, progress=False)
    return folder


def _frames(data):
    """``(start, length)`` of each TFRecord frame: u64 length, u32 CRC, data, u32 CRC."""
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        out.append((pos, n))
        pos += 12 + n + 4
    return out


def damage(intact, tmp_path, mode, shard=SHARD):
    """A copy of the dataset with one shard damaged; returns (folder, shard path, expected message)."""
    folder = str(tmp_path / "ds")
    if not os.path.isdir(folder):
        shutil.copytree(intact, folder)
    path = os.path.join(folder, shard)
    data = bytearray(open(path, "rb").read())
    hint = f"; run `astromer records verify {folder}` to check every shard"
    if mode == "truncated":
        open(path, "wb").write(data[:-7])
        return folder, path, (f"records shard {path} has {len(data) - 7} bytes, metadata.json says "
                              f"{len(data)} (truncated or modified)" + hint)
    if mode == "bit_flip":  # one bit inside record 1's data: same size, CRC fails
        start, n = _frames(bytes(data))[1]
        data[start + 12 + n // 2] ^= 0x10
        open(path, "wb").write(data)
        # TensorFlow names the offset of the record's data, after its 12-byte header.
        return folder, path, f"records shard {path} is corrupt (corrupted record at {start + 12})" + hint
    os.remove(path)
    return folder, path, (f"records shard {path} is missing (listed in "
                          f"{os.path.join(folder, 'metadata.json')})" + hint)


def _raises(make, expected, mode):
    """Build and fully iterate ``make()``; the error is the one-line shard message."""
    kind = MissingShardError if mode == "deleted" else CorruptShardError
    with pytest.raises(kind) as info:
        for _ in make():
            pass
    assert str(info.value) == expected
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize("mode", MODES)
def test_read_light_curves_and_read_objects_name_the_shard(intact, tmp_path, mode):
    folder, path, expected = damage(intact, tmp_path, mode)
    error = _raises(lambda: records.read_light_curves(folder, "train"), expected, mode)
    assert error.shard == path
    _raises(lambda: records.read_light_curves(folder, "train").as_numpy_iterator(), expected, mode)
    _raises(lambda: records.read_objects(folder, "train"), expected, mode)
    # The other splits are intact and still read.
    assert sum(1 for _ in records.read_light_curves(folder, "test")) == 10


def test_missing_and_truncated_shards_fail_when_opened_bit_flips_when_read(intact, tmp_path):
    folder, _, expected = damage(intact, tmp_path, "truncated")
    with pytest.raises(CorruptShardError) as info:
        records.light_curve_files(folder, "train")
    assert str(info.value) == expected
    assert len(records.light_curve_files(folder, "train", check=False)) == 4
    folder, _, _ = damage(intact, tmp_path / "flip", "bit_flip")
    ds = records.read_light_curves(folder, "train")  # same size: only reading finds it
    assert isinstance(ds, tf.data.Dataset)


PIPELINES = {
    "pretraining_records": lambda d: pretraining_records(d, split="train", batch_size=4, window_size=20, seed=0),
    "inference_records": lambda d: inference_records(d, split="train", window_size=20),
    "classification_records": lambda d: classification_records(d, split="train", window_size=20, shuffle=True,
                                                               seed=1),
    "light_curve_counts": lambda d: [light_curve_counts(d, split="train")],
}


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
@pytest.mark.parametrize("mode", MODES)
def test_record_pipelines_name_the_shard(intact, tmp_path, mode, pipeline):
    folder, _, expected = damage(intact, tmp_path, mode)
    _raises(lambda: PIPELINES[pipeline](folder), expected, mode)


def test_plain_file_list_names_the_shard_and_its_dataset_folder(intact, tmp_path):
    folder, path, expected = damage(intact, tmp_path, "bit_flip")
    files = records.light_curve_files(folder, "train")
    _raises(lambda: pretraining_records(list(files), batch_size=4, window_size=20), expected, "bit_flip")


def test_several_bad_shards_are_counted(intact, tmp_path):
    folder, path, expected = damage(intact, tmp_path, "deleted")
    damage(intact, tmp_path, "truncated", shard="train/train-00003-of-00004.tfrecord")
    with pytest.raises(MissingShardError) as info:
        records.read_light_curves(folder)
    first, hint = expected.split("; run ")
    assert str(info.value) == f"{first} (and 1 more bad shard(s)); run {hint}"


def test_derived_datasets_and_fit_loops_use_naming_bad_shards(intact, tmp_path):
    folder, _, expected = damage(intact, tmp_path, "bit_flip")
    derived = records.read_light_curves(folder, "train").map(lambda r: r["length"])
    with pytest.raises(tf.errors.DataLossError, match="corrupted record"):
        for _ in derived:
            pass
    with pytest.raises(CorruptShardError) as info:
        with naming_bad_shards(lambda: records.light_curve_files(folder, "train")):
            for _ in derived:
                pass
    assert str(info.value) == expected


def test_intact_records_read_the_same_through_the_checked_reader(intact):
    files = records.light_curve_files(intact, "train")
    raw = [r.numpy() for r in tf.data.TFRecordDataset(files)]
    checked = records.read_light_curves(intact, "train")
    assert [r["object_id"] for r in checked.as_numpy_iterator()] == \
           [records.parse_light_curve(r)["object_id"].numpy() for r in raw]
    total = tf.function(lambda: checked.reduce(tf.constant(0, tf.int64), lambda n, r: n + r["length"]))
    assert int(total()) == 20 * 30


def test_verify_names_the_shard_and_the_first_bad_record(intact, tmp_path):
    folder, _, expected = damage(intact, tmp_path, "bit_flip")
    offset = expected.split("corrupted record at ")[1].split(")")[0]
    result = records.verify_dataset(folder)
    assert result.problems == [
        (SHARD, "sha256 differs from metadata (corrupt or modified)"),
        (SHARD, f"unreadable after 1 records (DataLossError: corrupted record at {offset})"),
    ]


@pytest.mark.parametrize("command", ["embed", "pretrain", "classify"])
@pytest.mark.parametrize("mode", MODES)
def test_cli_commands_reading_records_name_the_shard(intact, tmp_path, mode, command):
    folder, _, expected = damage(intact, tmp_path, mode)
    out = tmp_path / ("e.parquet" if command == "embed" else "out")
    extra = ("--window-size", "20", "--epochs", "1", "-q") if command == "pretrain" else ()
    code, _, err = _cli(command, folder, "-o", out, *extra)
    assert code == 2
    assert err == f"astromer {command}: error: {expected}\n"


def test_cli_inspect_names_the_shard(intact, tmp_path):
    folder, _, expected = damage(intact, tmp_path, "bit_flip")
    code, _, err = _cli("records", "inspect", folder, "--rows", "20")
    assert code == 2 and err == f"astromer records: error: {expected}\n"


@pytest.fixture(scope="module")
def image_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for k in range(6):
        png = tf.io.encode_png(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).numpy()
        (root / f"g{k}.png").write_bytes(png)
    pd.DataFrame({"object_id": [f"g{k}" for k in range(6)], "label": ["x", "y"] * 3}).to_csv(
        root / "labels.csv", index=False)
    folder = root / "ds"
    records.write_dataset(records.image_folder_source(root, root / "labels.csv"), folder, splits="none",
                          shard_size=2, progress=False)
    return folder


@pytest.mark.parametrize("mode", ["bit_flip", "deleted"])
def test_image_readers_name_the_shard(image_dataset, tmp_path, mode):
    folder, _, expected = damage(image_dataset, tmp_path, mode, shard="all/all-00001-of-00003.tfrecord")
    _raises(lambda: records.read_images(folder), expected, mode)
    _raises(lambda: image_records(folder, image_size=8, batch_size=2), expected, mode)


def test_cli_pretrain_names_a_validation_shard_that_fails_inside_fit(intact, tmp_path):
    """The val split is only read inside Keras fit (graph mode on TensorFlow)."""
    val_shard = sorted(os.listdir(os.path.join(intact, "val")))[0]
    folder, _, expected = damage(intact, tmp_path, "bit_flip", shard=f"val/{val_shard}")
    code, _, err = _cli("pretrain", folder, "-o", tmp_path / "out", "--window-size", "20", "--epochs", "1", "-q")
    assert code == 2
    assert err == f"astromer pretrain: error: {expected}\n"
