"""Acceptance on the real data in ../shared/data: recipes built with --source-dir."""

import json

import numpy as np
import pandas as pd
import pytest

from astromer import records
from conftest import require_shared, run_cli

EROS_CLASSES = {"rr_lyrae": 2231, "cepheid": 736, "eclipsing_binary": 439, "mira": 235}


class _Run:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _cli(*args):
    return _Run(*run_cli("records", *args))


@pytest.fixture(scope="module")
def eros1_dir(tmp_path_factory):
    source = require_shared("data", "eros1")
    out = tmp_path_factory.mktemp("eros1") / "records"
    run = _cli("build", "eros1", "--source-dir", str(source), "--output", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "eros1: 3641 objects, 7282 records" in run.stdout and "nothing dropped" in run.stdout
    return out


def test_eros1_counts_equal_the_source(eros1_dir):
    meta = records.read_metadata(eros1_dir)
    assert meta["counts"]["objects"] == 3641 and meta["bands"] == ["b", "r"]
    assert meta["counts"]["classes"] == EROS_CLASSES
    assert {s: v["objects"] for s, v in meta["splits"].items()} == {"train": 2912, "test": 729}
    assert all(v["bands"] == {"b": v["objects"], "r": v["objects"]} for v in meta["splits"].values())
    assert meta["dropped"] == {"rows": {}, "curves": {}, "objects": {}, "examples": {}}
    run = _cli("verify", str(eros1_dir))
    assert run.returncode == 0 and run.stdout.startswith("OK: 4 shard(s), 7282 record(s)")


def test_eros1_readback_is_exactly_the_finite_observations_time_sorted(eros1_dir):
    shared = require_shared("data", "eros1")
    df = pd.read_csv(shared / "lightcurves.csv.gz", dtype={"object_id": str})
    finite = np.isfinite(df[["time", "mag", "mag_err"]]).all(axis=1) & (df.mag_err > 0)
    df = df[finite].sort_values(["object_id", "band", "time"], kind="stable")
    groups = {k: g for k, g in df.groupby(["object_id", "band"], sort=False)}
    labels = pd.read_csv(shared / "labels.csv", dtype={"object_id": str}).set_index("object_id")
    seen = set()
    for rec in records.read_light_curves(eros1_dir).as_numpy_iterator():
        key = (rec["object_id"].decode(), rec["band"].decode())
        g = groups[key]
        assert rec["length"] == len(g)
        np.testing.assert_allclose(rec["time"], g.time.to_numpy(), rtol=0, atol=1e-4)
        assert np.all(np.diff(rec["time"]) >= 0)
        np.testing.assert_array_equal(rec["mag"], g.mag.to_numpy(np.float32))
        np.testing.assert_array_equal(rec["err"], g.mag_err.to_numpy(np.float32))
        assert rec["label_name"].decode() == labels.label[key[0]]
        seen.add(key)
    assert seen == set(groups)


def test_truncated_shard_is_named_by_verify(eros1_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(eros1_dir, copy)
    shard = sorted((copy / "train").glob("*.tfrecord"))[1]
    shard.write_bytes(shard.read_bytes()[:-1000])
    run = _cli("verify", str(copy))
    assert run.returncode == 1
    assert f"CORRUPT train/{shard.name}: size" in run.stdout
    assert "1 of 4 shard(s) failed verification" in run.stderr


def test_eros1_kit_layout_gives_the_same_records(eros1_dir, tmp_path):
    source = require_shared("data", "eros1")
    meta = records.build("eros1", tmp_path / "kit", source_dir=source, layout="ramp_kit",
                         progress=False)
    ref = records.read_metadata(eros1_dir)
    assert [s["sha256"] for v in meta["splits"].values() for s in v["shards"]] == \
        [s["sha256"] for v in ref["splits"].values() for s in v["shards"]]


def test_s82_sentinel_rows_are_dropped_and_counted(tmp_path):
    source = require_shared("data", "s82_rrlyrae")
    meta = records.build("s82_rrlyrae", tmp_path / "s82", source_dir=source, progress=False)
    assert meta["counts"]["objects"] == 483 and meta["bands"] == ["g", "i", "r", "u", "z"]
    assert meta["counts"]["classes"] == {"RRab": 379, "RRc": 104}
    # 8 rows (2 objects) share a time with another row of other values: kept, counted
    assert meta["dropped"]["rows"] == {"sentinel_err": 59, "equal_time": 8}
    assert meta["counts"]["observations"] == 136196 - 59
    for rec in records.read_light_curves(tmp_path / "s82").as_numpy_iterator():
        assert rec["mag"].max() < 90 and rec["err"].max() < 99


def test_macho_raw_mjd_files_equal_the_long_table(tmp_path):
    source = require_shared("data", "macho_samples")
    a = records.build("macho_samples", tmp_path / "a", source_dir=source, progress=False)
    b = records.build("macho_samples", tmp_path / "b", source_dir=source, layout="mjd_files",
                      progress=False)
    assert a["counts"] == b["counts"] and a["counts"]["unlabelled"] == 10
    assert a["splits"]["all"]["shards"][0]["sha256"] == b["splits"]["all"]["shards"][0]["sha256"]


def test_ztf_snia_builds(tmp_path):
    source = require_shared("data", "ztf_snia")
    meta = records.build("ztf_snia", tmp_path / "z", source_dir=source, progress=False)
    assert meta["counts"]["objects"] == 2289 and meta["counts"]["classes"]["SN Ia"] == 2186


@pytest.mark.slow  # ~15 s: decodes all 6,664 JPEGs
def test_gz1_images_with_labels(tmp_path):
    source = require_shared("data", "gz1_sdss")
    meta = records.build("gz1_sdss", tmp_path / "gz1", source_dir=source, progress=False)
    assert meta["kind"] == "image" and meta["counts"]["objects"] == 6664
    assert meta["counts"]["classes"] == {"elliptical": 4645, "spiral_clockwise": 414,
                                         "spiral_anticlockwise": 436, "edge_on": 998,
                                         "dont_know": 56, "merger": 115}
    assert meta["dropped"]["objects"] == {}
    labels = pd.read_csv(source / "labels.csv", dtype={"OBJID": str}).set_index("OBJID").CLASS
    n = 0
    for rec in records.read_images(tmp_path / "gz1").as_numpy_iterator():
        oid = rec["object_id"].decode()
        assert rec["label"] == labels[oid] and (rec["height"], rec["width"]) == (423, 423)
        if n < 20:
            assert rec["image"] == (source / "images" / f"{oid}.jpeg").read_bytes()
        n += 1
    assert n == 6664
    assert records.verify_dataset(tmp_path / "gz1").ok


def test_every_recipe_parses_and_names_real_sources():
    from astromer.records.recipes import list_recipes, load_recipe

    names = list_recipes()
    assert {"eros1", "s82_rrlyrae", "ztf_snia", "macho_samples", "gz1_sdss",
            "macho", "alcock", "atlas", "ogle"} <= set(names)
    for name in names:
        r = load_recipe(name)
        assert r["homepage"].startswith("https://") and r.get("citation")
        for lay in r["layouts"]:
            for f in lay["files"]:
                if f.get("url"):
                    assert f["url"].startswith("https://")
                    assert f.get("sha256") or f.get("sha256_note") or f.get("extract"), (name, f)
    assert json.dumps(load_recipe("eros1"))  # plain data
