"""`astromer records ...`: help for every sub-command, one-line errors, convert/inspect/verify."""


import pandas as pd
import pytest

from conftest import run_cli


def _run(*args):
    return run_cli("records", *args)


@pytest.mark.parametrize("sub, words", [
    ("convert", ["--shard-size", "--splits", "--workers", "--resume", "--labels", "--beam-runner"]),
    ("inspect", ["--rows"]),
    ("verify", ["--no-parse"]),
    ("build", ["--source-dir", "--layout", "--resume", "--workers", "--beam-runner"]),
    ("list", []),
])
def test_help(sub, words):
    code, out, _ = _run(sub, "--help")
    assert code == 0 and f"astromer records {sub}" in out
    assert all(w in out for w in words)


def test_records_help_lists_subcommands():
    code, out, _ = _run("--help")
    assert code == 0 and all(s in out for s in ("convert", "inspect", "verify", "build", "list"))


def _table(tmp_path):
    rows = [(f"s{k}", b, float(t), 15.0 + 0.1 * t, 0.05) for k in range(6) for b in "gr"
            for t in range(5)]
    pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"]).to_csv(
        tmp_path / "lc.csv", index=False)
    pd.DataFrame({"object_id": [f"s{k}" for k in range(6)], "label": ["a", "b"] * 3}).to_csv(
        tmp_path / "labels.csv", index=False)


def test_one_line_errors(tmp_path):
    code, out, err = _run("convert", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("astromer records: error: input ") and "missing.csv" in err
    _table(tmp_path)
    df = pd.read_csv(tmp_path / "lc.csv").drop(columns="mag")
    df.to_csv(tmp_path / "nomag.csv", index=False)
    code, _, err = _run("convert", str(tmp_path / "nomag.csv"), "-o", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "missing column(s) ['mag']" in err
    assert "nomag.csv" in err
    code, _, err = _run("build", "no_such_recipe", "-o", str(tmp_path / "o"))
    assert code == 2 and "no recipe named 'no_such_recipe'" in err and "eros1" in err
    code, _, err = _run("verify", str(tmp_path / "nothing"))
    assert code == 2 and "does not exist" in err


def test_convert_inspect_verify(tmp_path):
    _table(tmp_path)
    code, out, err = _run("convert", str(tmp_path / "lc.csv"), "--labels", str(tmp_path / "labels.csv"),
                          "-o", str(tmp_path / "ds"), "--shard-size", "2", "--splits", "0.5,0.5,0",
                          "--quiet")
    assert code == 0, err
    assert "6 objects, 12 records, 60 observations, bands g,r" in out
    assert "train: 3 objects in 2 shard(s) (a 2, b 1)" in out or "train: 3 objects" in out
    code, out, _ = _run("inspect", str(tmp_path / "ds"), "--rows", "2")
    assert code == 0 and "schema version 2" in out and "label map: a=0, b=1" in out
    assert out.count(" obs, time [") == 2
    shard = next((tmp_path / "ds" / "train").glob("*.tfrecord"))
    code, out, _ = _run("inspect", str(shard))
    assert code == 0 and "SequenceExample context" in out and "'time64'" in out
    code, out, _ = _run("verify", str(tmp_path / "ds"))
    assert code == 0 and out.startswith("OK: ")
    shard.write_bytes(shard.read_bytes()[:-7])
    code, out, err = _run("verify", str(tmp_path / "ds"))
    assert code == 1 and f"CORRUPT train/{shard.name}" in out
    code, _, err = _run("convert", str(tmp_path / "lc.csv"), "-o", str(tmp_path / "ds"), "--quiet")
    assert code == 2 and "--resume" in err and "--overwrite" in err


def test_list_recipes():
    code, out, _ = _run("list")
    assert code == 0 and "eros1" in out and "gz1_sdss" in out and "image" in out


def test_convert_a_partitioned_folder_and_a_pattern_locally_and_on_beam(tmp_path):
    """A folder of Parquet files (band=X subfolders) and a quoted pattern convert like the one
    table; with --beam-runner the files are read on the workers, same records."""
    from conftest import read_tree

    _table(tmp_path)
    frame = pd.read_csv(tmp_path / "lc.csv")
    for band, rows in frame.groupby("band"):
        (tmp_path / "parts" / f"band={band}").mkdir(parents=True)
        rows = rows.drop(columns="band")
        rows.iloc[::2].to_parquet(tmp_path / "parts" / f"band={band}" / "part-0.parquet", index=False)
        rows.iloc[1::2].to_parquet(tmp_path / "parts" / f"band={band}" / "part-1.parquet", index=False)
    (tmp_path / "parts" / "_SUCCESS").write_text("")  # Spark's marker: not a table
    common = ("--labels", str(tmp_path / "labels.csv"), "--shard-size", "2", "--quiet", "--name", "lc")
    for name, extra in (("local", ()), ("beam", ("--beam-runner", "DirectRunner"))):
        code, out, err = _run("convert", str(tmp_path / "parts"), "-o", str(tmp_path / name),
                              *common, *extra)
        assert code == 0, err
        assert "6 objects, 12 records, 60 observations, bands g,r" in out
    assert read_tree(tmp_path / "beam") == read_tree(tmp_path / "local")
    code, out, err = _run("convert", str(tmp_path / "parts" / "*" / "*.parquet"),
                          "-o", str(tmp_path / "pattern"), *common)  # band= below the wildcard
    assert code == 0, err
    assert "6 objects, 12 records, 60 observations, bands g,r" in out
    code, out, err = _run("convert", str(tmp_path / "parts" / "band=g" / "*.parquet"),
                          "-o", str(tmp_path / "g_only"), *common)  # band=g is the root: no column
    assert code == 0, err
    assert "6 objects, 6 records, 30 observations, bands single" in out
    code, _, err = _run("convert", str(tmp_path / "nothing" / "*.parquet"), "-o", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "no file matches the light-curve table pattern" in err


def _sentinel_table(tmp_path):
    """lc.csv's curves with every magnitude 99.999: no curve is usable."""
    frame = pd.read_csv(tmp_path / "lc.csv")
    frame["mag"] = 99.999
    frame.to_csv(tmp_path / "sentinel.csv", index=False)
    return tmp_path / "sentinel.csv"


def _siblings(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def test_failed_overwrite_leaves_the_old_dataset_exactly_as_it_was(tmp_path):
    from conftest import read_tree

    _table(tmp_path)
    sentinel = _sentinel_table(tmp_path)
    ds = tmp_path / "ds"
    code, _, err = _run("convert", str(tmp_path / "lc.csv"), "-o", str(ds), "--splits", "none", "--quiet")
    assert code == 0, err
    before = read_tree(ds)
    code, out, err = _run("convert", str(sentinel), "-o", str(ds), "--splits", "none", "--quiet",
                          "--overwrite")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"astromer records: error: no object is left to write from {sentinel}: "
                          "6 objects dropped: no_observations")
    assert err.endswith(f"; nothing was written to {ds / 'metadata.json'}\n")
    assert read_tree(ds) == before  # byte-identical: no 0-byte shard, no .progress
    assert sorted(p.name for p in ds.rglob("*")) == ["all", "all-00000-of-00001.tfrecord", "metadata.json"]
    assert _siblings(ds) == []  # the staging folder is gone too
    code, out, _ = _run("verify", str(ds))
    assert code == 0 and out.startswith("OK: ")
    # a good --overwrite does replace it
    code, out, err = _run("convert", str(tmp_path / "lc.csv"), "-o", str(ds), "--splits", "0.5,0.5,0",
                          "--quiet", "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in ds.iterdir()) == ["metadata.json", "train", "val"]
    assert _siblings(ds) == []


def test_failed_convert_into_a_new_folder_leaves_nothing_behind(tmp_path):
    _table(tmp_path)
    sentinel = _sentinel_table(tmp_path)
    for _ in range(2):  # the rerun is not refused as "not empty"
        code, out, err = _run("convert", str(sentinel), "-o", str(tmp_path / "new"), "--splits", "none",
                              "--quiet")
        assert code == 2 and err.count("\n") == 1
        assert err.endswith(f"; nothing was written to {tmp_path / 'new' / 'metadata.json'}\n")
        assert not (tmp_path / "new").exists() and _siblings(tmp_path / "new") == []
    (tmp_path / "empty").mkdir()  # a folder that was there (empty) stays, still empty
    code, _, err = _run("convert", str(sentinel), "-o", str(tmp_path / "empty"), "--quiet")
    assert code == 2 and list((tmp_path / "empty").iterdir()) == []
    code, _, err = _run("convert", str(tmp_path / "lc.csv"), "-o", str(tmp_path / "empty"), "--quiet")
    assert code == 0, err


def test_fewshot_with_every_fold_empty_is_an_error(tmp_path):
    _table(tmp_path)  # 6 labelled objects: a 3, b 3
    args = ("convert", str(tmp_path / "lc.csv"), "--labels", str(tmp_path / "labels.csv"), "--quiet")
    code, out, err = _run(*args, "-o", str(tmp_path / "few"),
                          "--splits", "fewshot:folds=3,spc=20,test=100,val=0.25")
    assert code == 2 and out == ""
    assert err == ("astromer records: error: few-shot split 'fewshot:folds=3,spc=20,test=100,val=0.25' "
                   "leaves every fold's training split empty: the test set takes up to 100 objects per "
                   "class and the classes have only a 3, b 3; lower test= or label more objects; "
                   "nothing was written\n")
    assert not (tmp_path / "few").exists()
    code, out, err = _run(*args, "-o", str(tmp_path / "few"), "--splits", "fewshot:folds=3,spc=20,test=3")
    assert code == 2 and "every fold's training split empty" in err and not (tmp_path / "few").exists()
    # fewer objects than asked, but some left for training: noted, not an error
    code, out, err = _run(*args, "-o", str(tmp_path / "few"), "--splits", "fewshot:folds=2,spc=20,test=1")
    assert code == 0, err
    assert "test: 2 objects" in out and "fold1_spc20_train: 4 objects" in out
    assert "note: fold 0, 20 per class: class 'a' has 2 objects in the pool" in out


def test_convert_reads_pandas_datetimes_as_mjd_and_absurd_times_can_be_kept(tmp_path):
    """A Parquet table whose times are datetime64 converts as MJD days (as embed reads it); the
    absurd_time rule drops times in seconds unless --absurd-time none keeps them."""
    import numpy as np
    import pandas as pd

    from astromer import records

    days = np.arange(30) * 1.5
    table = pd.DataFrame({"object_id": "a", "time": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
                          "mag": 15.0 + 0.1 * np.sin(days), "mag_err": 0.02})
    table.to_parquet(tmp_path / "t.parquet")
    code, out, err = _run(*map(str, ("convert", tmp_path / "t.parquet", "-o", tmp_path / "r", "--splits", "none", "-q")))
    assert code == 0, err
    rec = next(records.read_light_curves(tmp_path / "r", "all").as_numpy_iterator())
    np.testing.assert_allclose(rec["time"], 58_849.0 + days, rtol=0, atol=1e-9)   # 58849 = 2020-01-01
    # the same times as ISO text in a CSV (astropy's Time.isot): MJD as well
    table.assign(time=table["time"].dt.strftime("%Y-%m-%dT%H:%M:%S")).to_csv(tmp_path / "iso.csv", index=False)
    code, out, err = _run(*map(str, ("convert", tmp_path / "iso.csv", "-o", tmp_path / "ri", "--splits", "none", "-q")))
    assert code == 0, err
    rec = next(records.read_light_curves(tmp_path / "ri", "all").as_numpy_iterator())
    np.testing.assert_allclose(rec["time"], 58_849.0 + days, rtol=0, atol=1e-9)
    seconds = table.assign(time=days * 86_400.0 + 1.6e9)
    seconds.to_csv(tmp_path / "s.csv", index=False)
    code, _, err = _run(*map(str, ("convert", tmp_path / "s.csv", "-o", tmp_path / "rs", "--splits", "none", "-q")))
    assert code == 2 and "30 rows dropped: absurd_time" in err, err
    code, _, err = _run(*map(str, ("convert", tmp_path / "s.csv", "-o", tmp_path / "rs", "--splits", "none", "-q",
                       "--absurd-time", "none")))
    assert code == 0, err
