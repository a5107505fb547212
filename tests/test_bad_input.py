"""Bad input never corrupts a result: one test per class (see README "What happens to bad input").

Every class is a counted drop or a one-line error naming the input, through the Python API and
the CLI; no NaN/inf reaches an output; ids round-trip as text; JD, MJD and small-day times embed
alike.
"""

import importlib
import pickle

import numpy as np
import pandas as pd
import pytest

import astromer
from astromer.data import prepare_light_curves
from astromer.data.cleaning import CleaningRules
from astromer.models.batched_inference import NonFiniteOutputError
from conftest import run_cli as run

JD0 = 2_450_000.0


def star(n=60, seed=0, t0=0.0, period=0.55):
    """An RR Lyrae-like curve: short period, so a 0.25 d time error wipes out the phase."""
    rng = np.random.default_rng(seed)
    t = t0 + np.sort(rng.uniform(0, 900, n))
    mag = 15.0 + 0.4 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.02, n)
    return np.stack([t, mag, np.full(n, 0.02)], axis=1)


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    m = astromer.Astromer(num_layers=1, num_heads=2, head_dim=16, ffn_dim=32, window_size=32, dropout=0.0)
    m.embed([star(10)], verbose=0)  # builds it
    return m


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny") / "model"
    astromer.save_preset(model, folder)
    return folder


# ------------------------------------------------------------------------ time precision
def test_jd_mjd_and_small_day_times_embed_alike(model):
    small = star(80, seed=1)
    jd = small.copy()
    jd[:, 0] += JD0 + 0.123456789
    mjd = small.copy()
    mjd[:, 0] += 55_000.0 + 0.123456789
    ref = model.embed([small], verbose=0)
    for other in (jd, mjd):
        got = model.embed([other], verbose=0)
        assert np.abs(got[0] - ref[0]).max() < 1e-3
        assert np.abs(got.pooled - ref.pooled).max() < 1e-4
    # the original's float32 arithmetic (kept for parity) does lose the JD times: the test can fail
    legacy = model.embed([jd], verbose=0, time_precision="float32")
    assert np.abs(legacy[0] - ref[0]).max() > 1e-2


def test_records_keep_jd_times_exactly(tmp_path):
    from astromer import records
    from astromer.records.sources import long_table_source

    c = star(50, t0=JD0 + 0.987654321012)
    frame = pd.DataFrame({"object_id": "a", "time": c[:, 0], "mag": c[:, 1], "mag_err": c[:, 2]})
    records.write_dataset(long_table_source(frame), tmp_path / "r", splits="none", progress=False)
    rec = next(records.read_light_curves(tmp_path / "r", "all").as_numpy_iterator())
    np.testing.assert_array_equal(rec["time"], c[:, 0])  # bit for bit


# ------------------------------------------------------------------------ row classes
@pytest.mark.parametrize("value, reason", [(99.999, "sentinel_mag"), (-99.0, "sentinel_mag"), (999.0, "sentinel_mag"),
                                           (1e30, "absurd_mag"), (55.0, "absurd_mag"), (np.nan, "nonfinite_mag"),
                                           (np.inf, "nonfinite_mag")])
def test_bad_magnitudes_are_dropped_and_counted(model, value, reason):
    clean = star(40, seed=2)
    bad = clean.copy()
    bad[[3, 17], 1] = value
    with pytest.warns(UserWarning, match=f"2 rows dropped: {reason} \\(e.g. s\\)"):
        got = model.embed([bad], ids=["s"], verbose=0)
    ref = model.embed([np.delete(clean, [3, 17], axis=0)], ids=["s"], verbose=0)
    np.testing.assert_array_equal(got.pooled, ref.pooled)
    assert got.report.rows[reason] == 2 and got.n_dropped.tolist() == [2]


@pytest.mark.parametrize("value", [1e300, -1e12, 1.7e9])
def test_absurd_times_are_dropped_and_counted(model, value):
    """A time no survey has in days (1e300, -1e12; 1.7e9 = seconds since 1970) would swamp the
    window's centring and its time encoding: the row is dropped, counted, and the others embed
    as the curve without it."""
    clean = star(40, seed=5)
    bad = clean.copy()
    bad[7, 0] = value
    with pytest.warns(UserWarning, match=r"1 rows dropped: absurd_time \(e.g. s\)"):
        got = model.embed([bad], ids=["s"], verbose=0)
    np.testing.assert_array_equal(got.pooled, model.embed([np.delete(clean, 7, axis=0)], ids=["s"], verbose=0).pooled)
    assert got.report.rows["absurd_time"] == 1
    assert prepare_light_curves([bad], rules=CleaningRules(absurd_time=None), warn=False).report.rows["absurd_time"] == 0


@pytest.mark.parametrize("value, reason", [(99.999, "sentinel_err"), (-1.0, "nonpositive_err"), (0.0, "nonpositive_err"),
                                           (50.0, "absurd_err"), (np.nan, "nonfinite_err")])
def test_bad_errors_are_dropped_and_counted(value, reason):
    bad = star(20)
    bad[5, 2] = value
    with pytest.warns(UserWarning, match=f"1 rows dropped: {reason}"):
        p = prepare_light_curves([bad])
    assert len(p.curves[0]) == 19 and p.report.rows[reason] == 1


def test_non_numeric_cell_is_its_own_reason_naming_value_column_and_row():
    c = star(30)
    frame = pd.DataFrame({"object_id": "x", "time": c[:, 0], "mag": c[:, 1].astype(object), "mag_err": c[:, 2]})
    frame.loc[17, "mag"] = "19.5x"
    with pytest.warns(UserWarning, match=r"1 rows dropped: not_a_number \(e.g. '19.5x' in column mag, row 17 \(table\)\)"):
        p = prepare_light_curves(frame)
    assert len(p.curves[0]) == 29 and p.report.rows == {"not_a_number": 1}


def test_unsorted_and_duplicate_times():
    c = star(20)
    shuffled = np.concatenate([c[::-1], c[4:6]])  # reversed, plus two exact duplicate rows
    with pytest.warns(UserWarning) as record:
        p = prepare_light_curves([shuffled], ids=["u"])
    assert "1 curves re-sorted by time: resorted (e.g. u)" in str(record[0].message)
    assert "2 rows dropped: duplicate_row (e.g. u)" in str(record[0].message)
    np.testing.assert_array_equal(p.curves[0][:, 0], c[:, 0])


def test_rows_of_equal_time_and_other_values_are_kept_and_counted():
    c = star(20)
    twin = c[[4, 9]] + [0.0, 0.3, 0.0]   # the same times, other magnitudes (two exposures)
    with pytest.warns(UserWarning, match=r"2 rows kept sharing a time with an earlier row of other values: "
                                         r"equal_time \(e.g. t\)"):
        p = prepare_light_curves([np.concatenate([c, twin])], ids=["t"])
    assert len(p.curves[0]) == 22 and p.report.rows == {"equal_time": 2}
    with pytest.warns(UserWarning, match=r"2 rows dropped: duplicate_time"):
        first = prepare_light_curves([np.concatenate([c, twin])], ids=["t"], rules=CleaningRules(duplicates="first"))
    assert len(first.curves[0]) == 20 and first.report.rows == {"duplicate_time": 2}


def test_csv_ids_spelled_like_missing_values_round_trip(model_dir, tmp_path):
    """``NA``, ``null``, ``None``, ``nan`` and ``007`` are ids in a CSV; only an empty id is missing."""
    from astromer.records.tables import load_labels
    from astromer.tasks.inputs import read_table

    names = ["NA", "null", "None", "nan", "007"]
    frames = [pd.DataFrame({"object_id": name, "time": c[:, 0], "mag": c[:, 1], "mag_err": c[:, 2]})
              for k, name in enumerate(names) for c in [star(40, k)]]
    table = pd.concat(frames + [pd.DataFrame({"object_id": [""], "time": [1.0], "mag": ["NA"], "mag_err": [0.1]})])
    table.to_csv(tmp_path / "lc.csv", index=False)
    pd.DataFrame({"object_id": names, "label": ["a", "b", "a", "b", "NA"]}).to_csv(tmp_path / "labels.csv", index=False)
    read = read_table(tmp_path / "lc.csv")
    assert read["object_id"].iloc[:-1].unique().tolist() == names and read["object_id"].iloc[-1] is None
    assert np.isnan(read["mag"].iloc[-1])               # a value column keeps pandas' missing spellings
    labels, _ = load_labels(tmp_path / "labels.csv")
    assert labels == {"NA": "a", "null": "b", "None": "a", "nan": "b", "007": None}   # label NA: unlabelled
    code, out, err = run("embed", tmp_path / "lc.csv", "-o", tmp_path / "e.parquet", "--model", model_dir, "--quiet")
    assert code == 0, err
    assert "1 rows dropped: missing_key" in out
    assert pd.read_parquet(tmp_path / "e.parquet")["object_id"].tolist() == names
    code, out, err = run("records", "convert", tmp_path / "lc.csv", "-o", tmp_path / "r", "--splits", "none", "-q")
    assert code == 0, err
    from astromer import records
    ids = [r["object_id"].decode() for r in records.read_light_curves(tmp_path / "r", "all").as_numpy_iterator()]
    assert sorted(ids) == sorted(names)


def test_empty_and_too_short_curves_are_dropped_not_fatal(model):
    curves = [star(30, 1), np.zeros((0, 3)), np.full((5, 3), np.nan), star(30, 2)]
    with pytest.warns(UserWarning, match=r"2 of 4 curves kept; 2 curves dropped: too_few_observations \(e.g. e, n\)"):
        got = model.embed(curves, ids=["a", "e", "n", "b"], verbose=0)
    assert got.ids == ["a", "b"] and got.dropped == ["e", "n"]
    with pytest.raises(ValueError, match=r"no usable light curves: all 2 were dropped"):
        model.embed([np.zeros((0, 3)), np.full((5, 3), np.nan)], verbose=0)


def test_missing_columns_named():
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['mag'\]"):
        prepare_light_curves(pd.DataFrame({"object_id": ["a"], "time": [1.0], "magnitude": [15.0]}))


def test_nonfinite_output_is_an_error_naming_the_object(model):
    c = star(30)
    c[[4, 5], 1] = 3e38  # finite, but their float32 window mean overflows
    permissive = CleaningRules(absurd_mag=None, mag_sentinels=())
    with pytest.raises(NonFiniteOutputError, match=r"the embedding of 1 input\(s\) contains NaN or inf: bad-star"):
        model.embed([star(30, 1), c], ids=["ok", "bad-star"], rules=permissive, verbose=0)


# ------------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """Five stars with catalogue ids that look like numbers, JD times and every bad-row class."""
    folder = tmp_path_factory.mktemp("bad")
    frames = []
    for k in range(5):
        c = star(40, seed=k, t0=JD0)
        frames.append(pd.DataFrame({"object_id": f"0000{k + 1}", "time": c[:, 0], "mag": c[:, 1].astype(object),
                                    "mag_err": c[:, 2]}))
    table = pd.concat(frames, ignore_index=True)
    table.loc[3, "mag"] = 99.999          # sentinel
    table.loc[45, "mag"] = 1e30           # absurd
    table.loc[50, "mag"] = "19.5x"        # not a number
    table.loc[table.object_id == "00005", "mag"] = np.nan   # an all-NaN object
    table.to_csv(folder / "lightcurves.csv", index=False)
    pd.DataFrame({"object_id": [f"0000{k + 1}" for k in range(5)],
                  "label": ["rr", "rr", "cep", "cep", "rr"]}).to_csv(folder / "labels.csv", index=False)
    return folder


def test_cli_embed_keeps_ids_drops_bad_rows_and_joins(survey, model_dir, tmp_path):
    code, out, err = run("embed", survey / "lightcurves.csv", "-o", tmp_path / "e.parquet", "--model", model_dir,
                         "--quiet")
    assert code == 0, err
    for line in ("[embed] 1 curves dropped: too_few_observations (e.g. 00005)",
                 "[embed] 1 rows dropped: absurd_mag (e.g. 00002)",
                 "[embed] 1 rows dropped: not_a_number ('19.5x' in column mag, row 50 (table))",
                 "[embed] 1 rows dropped: sentinel_mag (e.g. 00001)"):
        assert any(l.startswith(line.split(" (")[0]) for l in out.splitlines()), (line, out)
    emb = pd.read_parquet(tmp_path / "e.parquet")
    assert emb["object_id"].tolist() == ["00001", "00002", "00003", "00004"]
    assert np.isfinite(emb.filter(like="emb_").to_numpy()).all()
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})   # the README's join
    joined = emb.merge(labels, on="object_id")
    assert joined["label"].tolist() == ["rr", "rr", "cep", "cep"]


def test_cli_embed_labels_that_match_nothing_exit_nonzero(survey, model_dir, tmp_path):
    pd.DataFrame({"object_id": ["1", "2"], "label": ["a", "b"]}).to_csv(tmp_path / "wrong.csv", index=False)
    code, _, err = run("embed", survey / "lightcurves.csv", "-o", tmp_path / "e.parquet", "--model", model_dir,
                       "--labels", tmp_path / "wrong.csv")
    assert code == 2 and err.count("\n") == 1
    assert "0 of 2 label ids in " in err and "wrong.csv match the 5 objects in" in err and "'1'" in err and "'00001'" in err


def test_records_name_a_files_line_and_a_dataframes_row(tmp_path):
    """A bad row is named where the user will look for it: a file's line (the header is line 1),
    a DataFrame's index label (before, a DataFrame's row was named as if it were a file line)."""
    from astromer import records

    frame = pd.DataFrame({"object_id": ["a"] * 10 + ["b"] * 10, "time": np.arange(20.0), "mag": ["15.0"] * 20,
                          "mag_err": 0.1})
    frame.loc[13, "mag"], frame.loc[15, "object_id"] = "19.5x", None
    frame.to_csv(tmp_path / "curves.csv", index=False)
    frame.index = frame.index + 100
    examples = []
    for source, out in ((frame, "from_frame"), (tmp_path / "curves.csv", "from_file")):
        meta = records.write_dataset(records.long_table_source(source), tmp_path / out, splits="none", progress=False)
        assert meta["dropped"]["rows"] == {"missing_key": 1, "not_a_number": 1}
        shown = meta["dropped"]["examples"]
        examples.append((shown["rows.missing_key"], shown["rows.not_a_number"]))
    assert examples[0] == (["row 115"], ["'19.5x' in column mag, row 113 (light-curve table)"])
    path = str(tmp_path / "curves.csv")
    assert examples[1] == ([f"line 17 of {path}"], [f"'19.5x' in column mag, line 15 (light-curve table {path!r})"])
    assert open(path).read().splitlines()[14].split(",")[2] == "19.5x"   # line 15 of the file
    frame.reset_index(drop=True).to_parquet(tmp_path / "curves.parquet")   # no lines: rows from 0
    meta = records.write_dataset(records.long_table_source(tmp_path / "curves.parquet"), tmp_path / "from_parquet",
                                 splits="none", progress=False)
    parquet = str(tmp_path / "curves.parquet")
    assert meta["dropped"]["examples"]["rows.missing_key"] == [f"row 15 of {parquet}"]
    assert meta["dropped"]["examples"]["rows.not_a_number"] == [
        f"'19.5x' in column mag, row 13 (light-curve table {parquet!r})"]
    # a labels table without an id in one row: the same two conventions
    from astromer.records.tables import SourceError, load_labels

    labels = pd.DataFrame({"object_id": ["a", None], "label": ["x", "y"]}, index=[7, 8])
    labels.to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(SourceError, match=r"^labels table has a row without object_id \(row 8\)$"):
        load_labels(labels)
    with pytest.raises(SourceError, match=r"labels\.csv' has a row without object_id \(line 3 of the file\)$"):
        load_labels(tmp_path / "labels.csv")


def test_cli_convert_counts_every_class_and_keeps_ids(survey, tmp_path):
    from astromer import records

    code, out, err = run("records", "convert", survey / "lightcurves.csv", "-o", tmp_path / "r",
                         "--labels", survey / "labels.csv", "--splits", "none")
    assert code == 0, err
    meta = records.read_metadata(tmp_path / "r")
    assert meta["dropped"]["rows"] == {"absurd_mag": 1, "nonfinite_mag": 40, "not_a_number": 1, "sentinel_mag": 1}
    assert meta["dropped"]["objects"] == {"no_observations": 1}
    assert meta["counts"]["objects"] == 4
    ids = [r["object_id"].decode() for r in records.read_light_curves(tmp_path / "r", "all").as_numpy_iterator()]
    assert sorted(ids) == ["00001", "00002", "00003", "00004"]
    assert "'19.5x' in column mag, line 52 (light-curve table " in out   # the file's line (header: line 1)


def test_cli_records_and_table_give_the_same_embeddings(survey, model_dir, tmp_path):
    assert run("records", "convert", survey / "lightcurves.csv", "-o", tmp_path / "r", "--splits", "none", "-q")[0] == 0
    for name, source in (("table", survey / "lightcurves.csv"), ("records", tmp_path / "r")):
        code, _, err = run("embed", source, "-o", tmp_path / f"{name}.parquet", "--model", model_dir, "--quiet")
        assert code == 0, err
    a, b = (pd.read_parquet(tmp_path / f"{n}.parquet").sort_values("object_id") for n in ("table", "records"))
    assert a["object_id"].tolist() == b["object_id"].tolist() == ["00001", "00002", "00003", "00004"]
    assert np.abs(a.filter(like="emb_").to_numpy() - b.filter(like="emb_").to_numpy()).max() < 1e-6


@pytest.mark.parametrize("case", ["header_only", "labels_match_nothing", "all_rows_bad"])
def test_cli_convert_empty_results_exit_nonzero(case, tmp_path):
    table = pd.DataFrame({"object_id": ["a", "a", "b"], "time": [1.0, 2.0, 3.0], "mag": [15.0, 15.1, 15.2],
                          "mag_err": [0.1, 0.1, 0.1]})
    extra = []
    if case == "header_only":
        table = table.iloc[:0]
    elif case == "labels_match_nothing":
        pd.DataFrame({"object_id": ["x", "y"], "label": ["p", "q"]}).to_csv(tmp_path / "labels.csv", index=False)
        extra = ["--labels", tmp_path / "labels.csv"]
    else:
        table["mag"] = 99.999
    table.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = run("records", "convert", tmp_path / "t.csv", "-o", tmp_path / "out", "--splits", "none", "-q",
                       *extra)
    assert code == 2 and err.count("\n") == 1, err
    expected = {"header_only": "t.csv holds no objects (no data rows)",
                "labels_match_nothing": "0 of 2 label ids match the 2 objects in",
                "all_rows_bad": "no object is left to write from"}[case]
    assert expected in err, err
    assert not (tmp_path / "out" / "metadata.json").exists()


def test_cli_tiny_classes_give_a_clear_split_error(survey, model_dir, tmp_path):
    code, _, err = run("classify", survey / "lightcurves.csv", "--labels", survey / "labels.csv", "-o", tmp_path / "c",
                       "--model", model_dir, "--epochs", "1", "--quiet")
    assert code == 2 and err.count("\n") == 1
    # 00005 (every magnitude NaN) is left out before the split: it has no observation to learn from
    assert "cannot hold out a stratified 20% test set from 4 labelled objects of " in err
    assert "(objects per class: cep=2, rr=2" in err


def test_astropt_nan_image_is_an_error_naming_the_image():
    model = astromer.AstroPT(num_layers=1, num_heads=2, embed_dim=16, block_size=16, patch_size=4, num_channels=3)
    images = np.random.default_rng(0).uniform(0, 1, size=(3, 16, 16, 3)).astype("float32")
    assert np.isfinite(model.embed(images)).all()
    images[1, 5, 5, 0] = np.nan
    with pytest.raises(NonFiniteOutputError, match=r"the embedding of 1 input\(s\) contains NaN or inf: image 1"):
        model.embed(images)


def test_evaluate_reader_keeps_ids_and_refuses_labels_that_match_nothing(survey, tmp_path):
    from astromer.evaluation import load_labelled_folder

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "lightcurves.csv").write_bytes((survey / "lightcurves.csv").read_bytes())
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})
    labels.assign(split=["train", "test", "train", "test", "train"]).to_csv(folder / "labels.csv", index=False)
    data = load_labelled_folder(folder)
    assert sorted(data.labels.index) == ["00001", "00002", "00003", "00004"]  # 00005: every magnitude NaN
    assert data.test_ids == ["00002", "00004"]
    labels.assign(object_id=["1", "2", "3", "4", "5"]).to_csv(folder / "labels.csv", index=False)
    with pytest.raises(ValueError, match="0 of 5 label ids in .* match the 5 objects in"):
        load_labelled_folder(folder)


@pytest.mark.parametrize("command", ["embed", "convert"])
def test_cli_missing_column_is_one_line_naming_it(command, model_dir, tmp_path):
    pd.DataFrame({"object_id": ["a"], "time": [1.0], "magnitude": [15.0]}).to_csv(tmp_path / "t.csv", index=False)
    if command == "embed":
        code, _, err = run("embed", tmp_path / "t.csv", "-o", tmp_path / "e.parquet", "--model", model_dir)
    else:
        code, _, err = run("records", "convert", tmp_path / "t.csv", "-o", tmp_path / "r", "--no-errors", "-q")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "['mag']" in err and "magnitude" in err, err


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_recipe_archives_refuse_bombs_before_extracting(kind, tmp_path, monkeypatch):
    import tarfile
    import zipfile

    from astromer.presets.detect import ArchiveTooLargeError
    from astromer.records.archives import extract

    monkeypatch.setenv("ASTROMER_ZIP_MAX_BYTES", "1000")  # the data cap is then 100x the archive's size
    archive = tmp_path / f"bomb.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros.bin", bytes(20_000_000))
    else:
        (tmp_path / "zeros.bin").write_bytes(bytes(20_000_000))
        with tarfile.open(archive, "w:gz") as tf_:
            tf_.add(tmp_path / "zeros.bin", arcname="zeros.bin")
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveTooLargeError, match="refusing to extract it"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()


def test_recipe_tar_with_a_path_outside_is_refused(tmp_path):
    import tarfile

    from astromer.records.archives import ArchiveError, extract

    (tmp_path / "a.txt").write_text("x")
    with tarfile.open(tmp_path / "evil.tar", "w") as tf_:
        tf_.add(tmp_path / "a.txt", arcname="../escaped.txt")
    with pytest.raises(ArchiveError, match=r"evil.tar has an unsafe member \('../escaped.txt' would be extracted"):
        extract(tmp_path / "evil.tar", tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_every_domain_error_shares_one_base_and_keeps_its_builtin_one():
    import ast

    from conftest import REPO_ROOT

    import astromer

    found = {}
    for path in sorted((REPO_ROOT / "astromer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error") and node.name != "AstromerError":
                module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
                found[node.name] = getattr(importlib.import_module(module), node.name)
    assert len(found) >= 14, sorted(found)
    for name, cls in found.items():
        assert issubclass(cls, astromer.AstromerError), name
    builtin = {"SourceError": ValueError, "CorruptShardError": OSError, "MissingShardError": FileNotFoundError,
               "RecipeError": ValueError, "ArchiveError": ValueError, "EmptyDatasetError": ValueError,
               "IntegrityError": ValueError,
               "UnsafeCheckpointError": pickle.UnpicklingError, "NonFiniteOutputError": ValueError,
               "PixelError": ValueError}
    for name, base in builtin.items():
        assert issubclass(found[name], base), name


def test_evaluate_reader_trims_labels_reads_split_case_and_refuses_unknown_classes(survey, tmp_path):
    """``"rr "`` is the class ``rr`` and ``Test`` the test split; a --classes name that is not a
    class, one class left, or a table file instead of a folder is a one-line error naming it."""
    from astromer.evaluation import load_labelled_folder
    from astromer.tasks.inputs import InputError

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "lightcurves.csv").write_bytes((survey / "lightcurves.csv").read_bytes())
    pd.DataFrame({"object_id": ["00001", "00002", "00003", "00004", "00005"],
                  "label": ["rr", "rr ", " cep", "cep", "rr"],
                  "split": ["Train", "TEST ", "train", "Test", "train"]}).to_csv(folder / "labels.csv", index=False)
    data = load_labelled_folder(folder)
    assert data.class_names == ["cep", "rr"] and data.test_ids == ["00002", "00004"]
    labels = pd.read_csv(folder / "labels.csv", dtype={"object_id": str})
    labels.assign(split=np.nan).to_csv(folder / "labels.csv", index=False)   # an empty split column
    assert len(load_labelled_folder(folder, test_fraction=0.5).test_ids) == 2  # a stratified test set
    with pytest.raises(InputError, match=r"lacks column 'Split' \(found \['object_id', 'label', 'split'\]\)"):
        load_labelled_folder(folder, split_column="Split")                   # a split column asked for must exist
    labels.to_csv(folder / "labels.csv", index=False)
    with pytest.raises(InputError, match=r"^--classes \['RR'\] is not a class of .*folder; its classes are "
                                         r"\['cep', 'rr'\]$"):
        load_labelled_folder(folder, classes=["rr", "RR"])
    with pytest.raises(InputError, match=r"classification needs at least 2 classes, the labelled objects have \['rr'\]"):
        load_labelled_folder(folder, classes=["rr"])
    with pytest.raises(InputError, match="lightcurves.csv is a file: give a folder with lightcurves.parquet"):
        load_labelled_folder(folder / "lightcurves.csv")
    labels = pd.read_csv(folder / "labels.csv", dtype={"object_id": str})
    labels.rename(columns={"object_id": "objid"}).to_csv(folder / "labels.csv", index=False)
    with pytest.raises(InputError, match=r"lacks column 'object_id' \(found \['objid', 'label', 'split'\]\)"):
        load_labelled_folder(folder)
    assert load_labelled_folder(folder, id_column="objid").test_ids == ["00002", "00004"]  # "00002" kept as text


def test_evaluate_draws_no_shot_on_an_object_the_cleaning_empties(survey, tmp_path, caplog):
    """00005 (every magnitude NaN) is left out before the test set and the folds are drawn,
    counted by class; a LabelledSet built by hand gets the same from the harness."""
    from astromer.evaluation import FewShotEvaluation, LabelledSet, load_labelled_folder

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "lightcurves.csv").write_bytes((survey / "lightcurves.csv").read_bytes())
    pd.DataFrame({"object_id": ["00001", "00002", "00003", "00004", "00005"], "label": ["rr", "rr", "cep", "cep", "rr"],
                  "split": ["train", "test", "train", "test", "train"]}).to_csv(folder / "labels.csv", index=False)
    with caplog.at_level("WARNING", logger="astromer.evaluate"):
        data = load_labelled_folder(folder)
    assert data.pool_ids == ["00001", "00003"] and data.test_ids == ["00002", "00004"]
    assert "1 labelled objects have no usable observation after cleaning and are left out (rr 1; e.g. ['00005'])" \
        in caplog.text
    caplog.clear()
    by_hand = LabelledSet(table=pd.read_csv(folder / "lightcurves.csv", dtype={"object_id": str}),
                          labels=pd.Series({"00001": "rr", "00002": "rr", "00003": "cep", "00004": "cep", "00005": "rr"}),
                          test_ids=["00002", "00004"], pool_ids=["00001", "00003", "00005"])
    with caplog.at_level("WARNING", logger="astromer.evaluate"), pytest.warns(UserWarning):
        evaluation = FewShotEvaluation(by_hand, None, methods=["rf"], shots=[5], folds=1)
    assert by_hand.pool_ids == ["00001", "00003"] and by_hand.test_ids == ["00002", "00004"]
    assert "1 labelled objects have no usable observation after cleaning and are left out of the training pool " \
           "and the test set (rr 1; e.g. ['00005'])" in caplog.text
    assert sorted(evaluation.splits()[0]["train"]) == ["00001", "00003"]


def test_repeated_ids_of_a_curve_list_are_an_error(model):
    """Two curves under one id would be merged into one object (one of them lost) downstream."""
    with pytest.raises(ValueError, match=r"^ids repeats 1 id\(s\) \(e\.g\. \['x'\]\); give each light curve its own id"):
        model.embed([star(30, 1), star(30, 2), star(30, 3)], ids=["x", "y", "x"], verbose=0)


def test_pandas_datetimes_are_mjd_days_not_nanoseconds(model):
    """A datetime64 time column embeds like the same times given as MJD (numbers would be
    nanoseconds since 1970); a zone-aware one is read in UTC; a timedelta64 one in days."""
    c = star(60, seed=4)
    mjd = pd.DataFrame({"time": 58_849.0 + c[:, 0], "mag": c[:, 1], "mag_err": c[:, 2]})   # 58849 = 2020-01-01
    dates = mjd.assign(time=pd.Timestamp("2020-01-01") + pd.to_timedelta(c[:, 0], unit="D"))
    ref = model.embed(mjd, verbose=0).pooled
    np.testing.assert_allclose(model.embed(dates, verbose=0).pooled, ref, atol=1e-4)
    aware = dates.assign(time=dates["time"].dt.tz_localize("UTC").dt.tz_convert("America/Santiago"))
    np.testing.assert_allclose(model.embed(aware, verbose=0).pooled, ref, atol=1e-4)
    spans = mjd.assign(time=pd.to_timedelta(c[:, 0], unit="D"))
    np.testing.assert_allclose(model.embed(spans, verbose=0).pooled,
                               model.embed(mjd.assign(time=c[:, 0]), verbose=0).pooled, atol=1e-4)


@pytest.mark.parametrize("sep, word", [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_separated_by_semicolons_or_tabs_is_one_line_saying_so(sep, word, tmp_path):
    """A spreadsheet's export with ';' (or tabs) read as one column: the error says why, for
    every command (embed's table reader, records convert)."""
    pd.DataFrame({"object_id": ["a"] * 6, "time": range(6), "mag": 15.0, "mag_err": 0.1}).to_csv(
        tmp_path / "t.csv", sep=sep, index=False)
    one = "object_id" + sep + "time" + sep + "mag" + sep + "mag_err"
    for args in (("embed", tmp_path / "t.csv", "-o", tmp_path / "e.parquet", "--model", tmp_path),
                 ("records", "convert", tmp_path / "t.csv", "-o", tmp_path / "r", "--splits", "none", "-q")):
        code, _, err = run(*args)
        assert code == 2 and err.count("\n") == 1, err
        assert f"{str(tmp_path / 't.csv')!r} has one column {one!r}: its fields are separated by {word}, not commas; " \
               "save it as a comma-separated CSV" in err, err


def test_iso_date_text_in_a_csv_is_mjd_days(model, tmp_path):
    """A CSV's time column written as ISO dates (astropy's Time.isot, pandas) embeds like the same
    times as MJD numbers (before, every row was dropped as not a number); a zone is honoured,
    text without one is UTC; a cell that is not a date is a counted non-finite time; numbers
    written as text stay numbers."""
    from astromer.data import prepare_light_curves

    c = star(60, seed=5)
    mjd = pd.DataFrame({"object_id": "s", "time": 58_849.0 + c[:, 0], "mag": c[:, 1], "mag_err": c[:, 2]})
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(c[:, 0], unit="D")   # 58849 = 2020-01-01
    iso = mjd.assign(time=stamps.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    iso.to_csv(tmp_path / "iso.csv", index=False)
    read = pd.read_csv(tmp_path / "iso.csv")
    assert read["time"].dtype == object
    ref = model.embed(mjd, verbose=0).pooled
    np.testing.assert_allclose(model.embed(read, verbose=0).pooled, ref, atol=1e-5)
    prepared = prepare_light_curves(read)
    np.testing.assert_allclose(prepared.curves[0][:, 0], mjd["time"], rtol=0, atol=1e-8)
    zoned = read.assign(time=(stamps + pd.Timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00"))
    np.testing.assert_allclose(prepare_light_curves(zoned).curves[0][:, 0], mjd["time"], rtol=0, atol=1e-8)
    bad = read.copy()
    bad.loc[7, "time"] = "soon"
    with pytest.warns(UserWarning, match="1 rows dropped: nonfinite_time"):
        assert len(prepare_light_curves(bad).curves[0]) == 59
    text_numbers = mjd.assign(time=mjd["time"].map(repr))
    np.testing.assert_array_equal(prepare_light_curves(text_numbers).curves[0][:, 0], mjd["time"])


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv.zip", "t.parquet"])
def test_cli_truncated_or_garbage_table_is_one_line_naming_it(name, tmp_path):
    """A gzip cut short (EOFError), a broken zip (BadZipFile), a file that is not Parquet (pyarrow's
    ArrowInvalid): exit status 2 and one line naming the file, as for any unreadable table."""
    import gzip

    whole = gzip.compress(b"object_id,time,mag,mag_err\n" + b"a,1.0,15.0,0.1\n" * 2000)
    content = {"t.csv.gz": whole[: len(whole) // 2], "t.csv.zip": b"PK\x03\x04 not really a zip",
               "t.parquet": b"not parquet at all"}[name]
    (tmp_path / name).write_bytes(content)
    code, _, err = run("records", "convert", tmp_path / name, "-o", tmp_path / "out", "--splits", "none", "-q")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"could not read light-curve table {str(tmp_path / name)!r}: " in err, err
