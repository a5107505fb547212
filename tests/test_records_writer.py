"""Writing records: cleaning rules and their counts, splits, shards, resume, workers, verify."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import read_tree
import tensorflow as tf

from astromer import records
from astromer.records import sources as S
from astromer.records import replacing as R
from astromer.records import output_folder as O
from astromer.records import writer as W
from astromer.data.cleaning import CleaningRules, Report, clean_curve
from astromer.data.splits import assign_splits, parse_split_spec


def _frame(n_objects=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_objects):
        for band in ("g", "r"):
            t = np.sort(rng.uniform(0, 500, 8))
            rows += [(f"o{k:03d}", band, ti, 18 + rng.normal(), 0.05) for ti in t]
    curves = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    labels = pd.DataFrame({"object_id": [f"o{k:03d}" for k in range(n_objects)],
                           "label": [["x", "y", "z"][k % 3] for k in range(n_objects)]})
    return curves, labels



def test_clean_curve_rules_and_counts():
    nan, inf = np.nan, np.inf
    t = np.array([5.0, 1.0, nan, 3.0, 4.0, 2.0, 6.0, 7.0, 8.0, 1.0, 9.0, 10.0])
    m = np.array([15., 15., 15., nan, 15., 15., 100., 15., 15., 15., inf, 15.])
    e = np.array([.1, .1, .1, .1, 0.0, -1., 99.999, 5.0, nan, .1, .1, .1])
    report = Report()
    rules = CleaningRules(err_sentinels=(99.999,), max_err=1.0, mag_max=90)
    tt, mm, ee = clean_curve(t, m, e, rules, report, "obj/g")
    assert report.rows == {"nonfinite_time": 1, "nonfinite_mag": 2, "sentinel_err": 1,
                           "nonpositive_err": 2, "err_above_max": 1, "nonfinite_err": 1,
                           "duplicate_row": 1}
    assert report.curves == {"resorted": 1}
    np.testing.assert_array_equal(tt, [1.0, 5.0, 10.0])  # sorted; exact duplicate of t=1 dropped
    assert mm.dtype == np.float32 and ee.dtype == np.float32
    assert report.examples["rows.nonfinite_time"] == ["obj/g"]
    # same time, different magnitude: kept and counted by default, first one kept with duplicates="first"
    r2 = Report()
    out = clean_curve(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([.1, .1, .1]),
                      CleaningRules(), r2, "x")
    assert len(out[0]) == 3 and r2.rows == {"equal_time": 1}
    r2 = Report()
    out = clean_curve(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([.1, .1, .1]),
                      CleaningRules(duplicates="first"), r2, "x")
    np.testing.assert_array_equal(out[1], [1.0, 3.0])
    assert r2.rows == {"duplicate_time": 1}
    # too short -> dropped and counted
    r3 = Report()
    assert clean_curve(np.array([1.0]), np.array([nan]), np.array([.1]), CleaningRules(), r3, "y") is None
    assert r3.curves == {"too_few_observations": 1} and r3.rows == {"nonfinite_mag": 1}


def test_bad_input_is_counted_never_lost(tmp_path):
    curves, labels = _frame(6)
    curves = curves.copy()
    curves.loc[0, "mag"] = np.nan                        # missing magnitude
    curves.loc[1, "time"] = np.inf                       # bad time
    curves.loc[2, "mag_err"] = -1.0                      # non-positive error
    curves.loc[3, "mag_err"] = 99.999                    # sentinel error
    curves = curves.iloc[::-1].reset_index(drop=True)    # unsorted input
    curves.loc[len(curves)] = ["o001", "g", 1.0, np.nan, 0.1]        # ...
    curves.loc[len(curves)] = ["ghost", "g", 1.0, 15.0, 0.1]         # curve without label
    curves.loc[len(curves)] = [None, "g", 1.0, 15.0, 0.1]            # row without id
    curves = pd.concat([curves, curves[curves.object_id == "o005"].iloc[:1]])  # exact duplicate
    # o004: every row unusable -> empty object
    curves["mag"] = curves["mag"].astype(object)
    curves.loc[curves.object_id == "o004", "mag"] = "n/a"
    labels = pd.concat([labels, pd.DataFrame({"object_id": ["lonely"], "label": ["x"]})])
    src = S.long_table_source(curves, labels)
    meta = records.write_dataset(src, tmp_path / "d", splits="none", progress=False,
                                 rules=CleaningRules(err_sentinels=(99.999,)))
    d = meta["dropped"]
    assert d["rows"]["nonfinite_mag"] == 1 + 1 + 16  # NaN + appended NaN + o004's 16 "n/a"
    assert d["rows"]["nonfinite_time"] == 1 and d["rows"]["nonpositive_err"] == 1
    assert d["rows"]["sentinel_err"] == 1 and d["rows"]["missing_key"] == 1
    assert d["rows"]["duplicate_row"] == 1
    assert d["curves"]["resorted"] == 10 and d["curves"]["too_few_observations"] == 2
    assert d["objects"] == {"curve_without_label": 1, "label_without_curve": 1, "no_observations": 1}
    assert d["examples"]["objects.curve_without_label"] == ["ghost"]
    assert d["examples"]["objects.label_without_curve"] == ["lonely"]
    assert d["examples"]["objects.no_observations"] == ["o004"]
    assert meta["counts"]["objects"] == 5
    kept = sum(len(r["time"]) for r in records.read_light_curves(tmp_path / "d").as_numpy_iterator())
    assert kept == meta["counts"]["observations"] == 6 * 16 - 16 - 4
    for rec in records.read_light_curves(tmp_path / "d").as_numpy_iterator():
        assert np.all(np.diff(rec["time"]) >= 0) and np.all(np.isfinite(rec["mag"]))
    lines = W.summary_lines(meta)
    assert any("curve_without_label (e.g. ghost)" in line for line in lines)


def test_missing_columns_and_files_give_clear_errors(tmp_path):
    curves, labels = _frame(2)
    with pytest.raises(S.SourceError, match=r"missing column\(s\) \['mag_err'\].*--no-errors"):
        S.long_table_source(curves.drop(columns="mag_err"), labels)
    src = S.long_table_source(curves.drop(columns="mag_err"), labels, has_errors=False)
    meta = records.write_dataset(src, tmp_path / "e", splits="none", progress=False)
    assert meta["has_errors"] is False
    rec = next(records.read_light_curves(tmp_path / "e").as_numpy_iterator())
    assert np.all(rec["err"] == 0)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        S.long_table_source(tmp_path / "nope.csv")
    bad = labels.copy()
    bad.loc[len(bad)] = ["o000", "z"]
    with pytest.raises(S.SourceError, match="'o000' is listed twice with different labels"):
        S.long_table_source(curves, bad)


def test_parquet_and_renamed_columns(tmp_path):
    curves, labels = _frame(3)
    renamed = curves.rename(columns={"object_id": "ID", "time": "mjd", "mag_err": "errmag"})
    renamed.to_parquet(tmp_path / "c.parquet")
    labels.to_csv(tmp_path / "labels.csv", index=False)
    src = S.long_table_source(tmp_path / "c.parquet", tmp_path / "labels.csv",
                              columns={"object_id": "ID", "time": "mjd", "mag_err": "errmag"})
    ref = S.long_table_source(curves, labels)
    a = records.write_dataset(src, tmp_path / "a", splits="none", progress=False)
    b = records.write_dataset(ref, tmp_path / "b", splits="none", progress=False)
    assert a["splits"]["all"]["shards"][0]["sha256"] == b["splits"]["all"]["shards"][0]["sha256"]


def test_splits_stratified_deterministic_and_fewshot():
    labels = {f"o{k:03d}": ["x", "y"][k % 2] if k < 90 else None for k in range(100)}
    a = assign_splits(labels, "0.8,0.1,0.1", seed=3)
    b = assign_splits(dict(reversed(list(labels.items()))), "train=0.8,val=0.1,test=0.1", seed=3)
    assert a.splits == b.splits  # input order does not matter
    assert {k: len(v) for k, v in a.splits.items()} == {"train": 80, "val": 10, "test": 10}
    assert sum(labels[i] == "x" for i in a.splits["val"]) in (4, 5)
    assert assign_splits(labels, "0.8,0.1,0.1", seed=4).splits != a.splits
    with pytest.raises(ValueError, match="add up to"):
        parse_split_spec("0.5,0.1")
    labels = {f"o{k:04d}": f"c{k % 3}" for k in range(900)}
    fs = assign_splits(labels, "fewshot:folds=2,spc=20/100,test=50,val=0.25", seed=0)
    assert len(fs.splits["test"]) == 150
    assert set(fs.splits) == {"test", "fold0_spc20_train", "fold0_spc20_val", "fold0_spc100_train",
                              "fold0_spc100_val", "fold1_spc20_train", "fold1_spc20_val",
                              "fold1_spc100_train", "fold1_spc100_val"}
    tr, va = fs.splits["fold0_spc100_train"], fs.splits["fold0_spc100_val"]
    assert len(tr) == 300 and len(va) == 75
    assert not (set(tr) | set(va)) & set(fs.splits["test"]) and not set(tr) & set(va)
    assert set(fs.splits["fold0_spc20_train"]) <= set(tr)  # nested within a fold
    assert set(fs.splits["fold1_spc100_train"]) != set(tr)
    assert sorted(labels[i] for i in tr).count("c1") == 100


def test_interrupted_convert_resumes_to_identical_records(tmp_path, monkeypatch):
    curves, labels = _frame(40)
    src = S.long_table_source(curves, labels)
    kw = dict(splits="0.5,0.25,0.25", shard_size=5, progress=False, name="same")
    records.write_dataset(src, tmp_path / "full", **kw)

    real = W.write_shard
    calls = {"n": 0}

    def crashing(task):
        calls["n"] += 1
        if calls["n"] == 4:
            # die half-way through a shard: a stale .tmp and a truncated final file are left
            path = os.path.join(task["out_dir"], task["file"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path + ".tmp", "wb").write(b"partial")
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(W, "write_shard", crashing)
    with pytest.raises(KeyboardInterrupt):
        records.write_dataset(src, tmp_path / "cut", **kw)
    monkeypatch.setattr(W, "write_shard", real)
    assert not (tmp_path / "cut" / "metadata.json").exists()
    with pytest.raises(FileNotFoundError, match="--resume"):
        records.read_metadata(tmp_path / "cut")
    # a completed shard damaged by hand is rewritten too
    first = sorted((tmp_path / "cut" / "train").glob("*.tfrecord"))[0]
    first.write_bytes(first.read_bytes()[:-3])
    with pytest.raises(O.ResumeError, match="--resume"):
        records.write_dataset(src, tmp_path / "cut", **kw)
    done = []
    monkeypatch.setattr(W, "write_shard", lambda t: done.append(t["file"]) or real(t))
    records.write_dataset(src, tmp_path / "cut", resume=True, **kw)
    assert 0 < len(done) < 16 and first.name in {os.path.basename(f) for f in done}
    assert read_tree(tmp_path / "cut") == read_tree(tmp_path / "full")
    # resuming a finished dataset is a no-op; different options are refused
    assert records.write_dataset(src, tmp_path / "cut", resume=True, **kw)["counts"]["objects"] == 40
    with pytest.raises(O.ResumeError, match="different input or options"):
        records.write_dataset(src, tmp_path / "cut", resume=True, **{**kw, "shard_size": 7})
    records.write_dataset(src, tmp_path / "cut", overwrite=True, **{**kw, "shard_size": 7})


def test_two_workers_write_the_same_bytes_as_one(tmp_path):
    curves, labels = _frame(30)
    src = S.long_table_source(curves, labels)
    kw = dict(splits="0.8,0.1,0.1", shard_size=4, progress=False)
    records.write_dataset(src, tmp_path / "one", workers=1, name="same", **kw)
    records.write_dataset(src, tmp_path / "two", workers=2, name="same", **kw)
    assert read_tree(tmp_path / "one") == read_tree(tmp_path / "two")


def test_verify_names_truncated_and_corrupt_shards(tmp_path):
    curves, labels = _frame(20)
    records.write_dataset(S.long_table_source(curves, labels), tmp_path / "v", splits="none",
                          shard_size=5, progress=False)
    ok = records.verify_dataset(tmp_path / "v")
    assert ok.ok and ok.records == 40 and ok.shards == 4
    shards = sorted((tmp_path / "v" / "all").glob("*.tfrecord"))
    data = shards[1].read_bytes()
    shards[1].write_bytes(data[: len(data) // 2 + 40])        # truncated by hand, inside a record
    flipped = bytearray(shards[3].read_bytes())
    flipped[40] ^= 0xFF                                       # one corrupt byte
    shards[3].write_bytes(bytes(flipped))
    (tmp_path / "v" / "all" / "stray.tfrecord").write_bytes(b"")
    res = records.verify_dataset(tmp_path / "v")
    assert not res.ok
    assert res.corrupt_files == ["all/" + shards[1].name, "all/" + shards[3].name]
    msgs = dict(res.problems)
    assert "truncated" in msgs["all/" + shards[1].name]
    assert any("stray.tfrecord" in w for w in res.warnings)


def test_raw_folder_layout_with_missing_and_bad_files(tmp_path):
    folder = tmp_path / "raw"
    (folder / "LCs").mkdir(parents=True)
    (folder / "LCs" / "a_R.dat").write_text("mjd;mag;errmag\n3;15.1;0.1\n1;15.0;0.1\n2;x;0.1\n")
    (folder / "LCs" / "a_B.dat").write_text("# comment\n1 16.0 0.2\n2 16.1 0.2\n")
    (folder / "LCs" / "b_R.dat").write_text("")
    pd.DataFrame({"ID": ["a", "a", "b", "c"], "Class": ["RRL", "RRL", "Cep", None],
                  "Band": ["R", "B", "R", "R"],
                  "Path": ["LCs/a_R.dat", "LCs/a_B.dat", "LCs/b_R.dat", "LCs/c_R.dat"]}
                 ).to_csv(folder / "metadata.csv", index=False)
    src = S.raw_folder_source(folder)
    meta = records.write_dataset(src, tmp_path / "out", splits="none", progress=False)
    assert meta["counts"]["objects"] == 1 and meta["counts"]["records"] == 2
    d = meta["dropped"]
    assert d["objects"]["empty_file"] == 1 and d["objects"]["unreadable"] == 1
    assert "c_R.dat" in d["examples"]["objects.unreadable"][0]
    assert d["rows"]["nonfinite_mag"] == 1 and d["curves"]["resorted"] == 1
    rec = next(r for r in records.read_light_curves(tmp_path / "out").as_numpy_iterator()
               if r["band"] == b"R")
    np.testing.assert_allclose(rec["time"], [1.0, 3.0])


def test_image_folder_keeps_bytes_and_names_unreadable_images(tmp_path):
    folder = tmp_path / "img"
    folder.mkdir()
    blobs = {}
    for k in range(4):
        pixels = tf.constant(np.full((6, 5, 3), 40 * k, np.uint8))
        data = (tf.io.encode_png(pixels) if k % 2 else tf.io.encode_jpeg(pixels)).numpy()
        name = f"{100 + k}.{'png' if k % 2 else 'jpeg'}"
        (folder / name).write_bytes(data)
        blobs[str(100 + k)] = data
    (folder / "999.jpeg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    pd.DataFrame({"OBJID": [100, 101, 102, 103, 999, 5], "CLASS": [0, 1, 0, 1, 1, 0],
                  "z": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}).to_csv(tmp_path / "labels.csv", index=False)
    src = S.image_folder_source(folder, tmp_path / "labels.csv", id_column="OBJID",
                                label_column="CLASS", label_values={"0": "ell", "1": "spi"},
                                target_columns=("z",))
    meta = records.write_dataset(src, tmp_path / "out", splits="none", progress=False)
    assert meta["kind"] == "image" and meta["counts"]["objects"] == 4
    assert meta["dropped"]["objects"] == {"label_without_curve": 1, "unreadable": 1}
    assert "999.jpeg" in meta["dropped"]["examples"]["objects.unreadable"][0]
    for rec in records.read_images(tmp_path / "out").as_numpy_iterator():
        oid = rec["object_id"].decode()
        assert rec["image"] == blobs[oid]  # stored unchanged, no re-encoding
        assert (rec["height"], rec["width"], rec["channels"]) == (6, 5, 3)
        assert rec["label_name"].decode() == ("spi" if int(oid) % 2 else "ell")
        assert rec["target_names"].tolist() == [b"z"]
        assert rec["targets"][0] == pytest.approx(0.1 * (int(oid) - 99))


def test_output_folder_rules(tmp_path):
    curves, labels = _frame(2)
    src = S.long_table_source(curves, labels)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("mine")
    with pytest.raises(O.ResumeError, match="not empty"):
        records.write_dataset(src, tmp_path / "busy", progress=False)
    with pytest.raises(O.ResumeError, match="refusing to overwrite"):
        records.write_dataset(src, tmp_path / "busy", overwrite=True, progress=False)
    assert (tmp_path / "busy" / "x.txt").exists()
    shutil.rmtree(tmp_path / "busy")


def _staging(folder):
    return sorted(p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.overwrite-"))


def test_interrupted_overwrite_keeps_the_old_dataset_and_resumes(tmp_path, monkeypatch):
    curves, labels = _frame(40)
    src = S.long_table_source(curves, labels)
    kw = dict(splits="0.5,0.25,0.25", shard_size=5, progress=False, name="same")
    records.write_dataset(src, tmp_path / "new", **{**kw, "shard_size": 7})  # the wanted result
    out = tmp_path / "ds"
    records.write_dataset(src, out, **kw)
    before = read_tree(out)

    real = W.write_shard
    calls = {"n": 0}

    def crashing(task):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(W, "write_shard", crashing)
    with pytest.raises(KeyboardInterrupt):
        records.write_dataset(src, out, overwrite=True, **{**kw, "shard_size": 7})
    monkeypatch.setattr(W, "write_shard", real)
    assert read_tree(out) == before  # untouched: the new shards went to a hidden sibling
    (staged,) = _staging(out)
    assert len(list(staged.rglob("*.tfrecord"))) == 2
    # --overwrite --resume continues that sibling; then it takes the old dataset's place
    done = []
    monkeypatch.setattr(W, "write_shard", lambda t: done.append(t["file"]) or real(t))
    meta = records.write_dataset(src, out, overwrite=True, resume=True, **{**kw, "shard_size": 7})
    assert meta["counts"]["objects"] == 40
    assert 0 < len(done) < sum(len(s["shards"]) for s in meta["splits"].values())
    assert read_tree(out) == read_tree(tmp_path / "new") and _staging(out) == []
    # a stale sibling of a finished run is cleared by the next --overwrite
    monkeypatch.setattr(W, "write_shard", crashing)
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        records.write_dataset(src, out, overwrite=True, **kw)
    monkeypatch.setattr(W, "write_shard", real)
    assert len(_staging(out)) == 1
    records.write_dataset(src, out, overwrite=True, **kw)
    assert read_tree(out) == before and _staging(out) == []


def test_empty_result_removes_what_the_run_wrote(tmp_path):
    curves, labels = _frame(6)
    src = S.long_table_source(curves, labels)
    bad = S.long_table_source(curves.assign(mag=99.999), labels)
    out = tmp_path / "ds"
    with pytest.raises(W.EmptyDatasetError, match="nothing was written to"):
        records.write_dataset(bad, out, splits="none", progress=False)
    assert not out.exists()
    records.write_dataset(src, out, splits="none", progress=False)
    before = read_tree(out)
    for resume in (False, True):
        with pytest.raises(W.EmptyDatasetError, match="nothing was written to"):
            records.write_dataset(bad, out, splits="none", overwrite=True, resume=resume, progress=False)
        assert read_tree(out) == before and _staging(out) == []


def test_crash_between_the_two_renames_is_mended(tmp_path, monkeypatch):
    curves, labels = _frame(6)
    src = S.long_table_source(curves, labels)
    out = tmp_path / "ds"
    records.write_dataset(src, out, splits="none", progress=False, name="x")
    records.write_dataset(src, tmp_path / "want", splits="0.5,0.5", progress=False, name="x")

    def first_rename_only(self):
        os.replace(self.out_dir, self.staging + R.BACKUP_SUFFIX)
        raise KeyboardInterrupt

    real = W.Conversion._swap_in
    monkeypatch.setattr(W.Conversion, "_swap_in", first_rename_only)
    with pytest.raises(KeyboardInterrupt):
        records.write_dataset(src, out, splits="0.5,0.5", overwrite=True, progress=False, name="x")
    assert not out.exists() and len(_staging(out)) == 2  # the new one, complete, and the old
    monkeypatch.setattr(W.Conversion, "_swap_in", real)
    R.recover_interrupted_swap(out)  # run by every write_dataset first
    assert read_tree(out) == read_tree(tmp_path / "want") and _staging(out) == []
    # without a complete new dataset the old one is put back
    staged = tmp_path / ".ds.overwrite-1-abcd"
    shutil.copytree(out, staged)
    (staged / "metadata.json").unlink()
    out.rename(str(staged) + R.BACKUP_SUFFIX)
    monkeypatch.setattr(R, "_owner_gone", lambda pid: True)
    R.recover_interrupted_swap(out)
    assert read_tree(out) == read_tree(tmp_path / "want")
    assert _staging(out) == [staged]  # the unfinished one: cleared by the next --overwrite
    # a finished swap whose old copy was not yet deleted, and DIR removed since: not brought back
    shutil.rmtree(staged)
    shutil.copytree(out, str(staged) + R.BACKUP_SUFFIX)
    shutil.rmtree(out)
    R.recover_interrupted_swap(out)
    assert not out.exists() and _staging(out) == []


SIGKILL_SCRIPT = """
import os, signal, sys
import pandas as pd
from astromer import records
from astromer.records import sources as S, writer as W
curves, labels = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
real, calls = W.write_shard, []
def dying(task):
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(task)
W.write_shard = dying
records.write_dataset(S.long_table_source(curves, labels), sys.argv[3], overwrite=True,
                      splits="0.5,0.5", shard_size=3, progress=False, name="x")
"""


def test_sigkill_during_overwrite_keeps_the_old_dataset(tmp_path):
    import signal
    import subprocess
    import sys

    curves, labels = _frame(12)
    curves.to_csv(tmp_path / "lc.csv", index=False)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    src = S.long_table_source(pd.read_csv(tmp_path / "lc.csv"), pd.read_csv(tmp_path / "labels.csv"))
    out = tmp_path / "ds"
    records.write_dataset(src, out, splits="none", progress=False, name="x")
    before = read_tree(out)
    (tmp_path / "kill.py").write_text(SIGKILL_SCRIPT)
    proc = subprocess.run([sys.executable, str(tmp_path / "kill.py"), str(tmp_path / "lc.csv"),
                           str(tmp_path / "labels.csv"), str(out)], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert read_tree(out) == before
    (staged,) = _staging(out)
    assert len(list(staged.rglob("*.tfrecord"))) == 2
    meta = records.write_dataset(src, out, overwrite=True, resume=True, splits="0.5,0.5",
                                 shard_size=3, progress=False, name="x")
    assert meta["counts"]["objects"] == 12 and _staging(out) == []
    records.write_dataset(src, tmp_path / "want", splits="0.5,0.5", shard_size=3, progress=False, name="x")
    assert read_tree(out) == read_tree(tmp_path / "want")
