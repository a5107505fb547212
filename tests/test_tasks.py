"""The workflow floor (astromer.tasks): one reader for every input layout, one hold-out, one shot draw."""

import numpy as np
import pandas as pd
import pytest

from astromer import records
from astromer.evaluation import load_labelled_folder
from astromer.tasks.inputs import InputError, read_light_curves_input
from astromer.tasks.splits import hold_out, split_ids, take_shots

JD0 = 2_450_000.0


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """12 two-band objects (JD times, ids that look like numbers) as a folder, a table and records."""
    folder = tmp_path_factory.mktemp("survey")
    rng = np.random.default_rng(0)
    frames = []
    for k in range(12):
        for band in ("B", "R"):
            n = 30 + k
            t = JD0 + np.sort(rng.uniform(0, 900, n))
            frames.append(pd.DataFrame({"object_id": f"{k:05d}", "band": band, "time": t,
                                        "mag": 15 + 0.3 * np.sin(t / 0.7) + rng.normal(0, 0.02, n),
                                        "mag_err": 0.02}))
    pd.concat(frames, ignore_index=True).to_csv(folder / "lightcurves.csv", index=False)
    labels = pd.DataFrame({"object_id": [f"{k:05d}" for k in range(12)], "label": ["rr", "cep", "ecl"] * 4,
                           "split": ["train"] * 6 + ["val"] * 3 + ["test"] * 3})
    labels.to_csv(folder / "labels.csv", index=False)
    src = records.long_table_source(folder / "lightcurves.csv", folder / "labels.csv", extra_label_columns=("split",))
    records.write_dataset(src, folder / "records", splits="column:split", shard_size=5)
    return folder


def _sorted(curves):
    return curves.sort_values(["object_id", "band", "time"]).reset_index(drop=True)


def test_records_folder_and_table_give_the_same_curves_and_labels(survey):
    table, lab_t = read_light_curves_input(survey / "lightcurves.csv", survey / "labels.csv")
    folder, lab_f = read_light_curves_input(survey)              # finds labels.csv itself
    recs, lab_r = read_light_curves_input(survey / "records")   # labels and splits from the records
    a, b, c = (_sorted(x) for x in (table, folder, recs))
    assert a["object_id"].tolist() == b["object_id"].tolist() == c["object_id"].tolist()
    assert a["object_id"].iloc[0] == "00000"                     # ids as text, exactly as written
    np.testing.assert_array_equal(a["time"].to_numpy(), c["time"].to_numpy())   # float64 JD, not a bit lost
    assert c["time"].dtype == np.float64
    np.testing.assert_allclose(a["mag"].to_numpy(), c["mag"].to_numpy(), rtol=0, atol=1e-5)  # float32 in records
    for other in (lab_f, lab_r):
        merged = lab_t.merge(other, on="object_id")
        assert len(merged) == 12
        assert (merged["label_x"] == merged["label_y"]).all() and (merged["split_x"] == merged["split_y"]).all()


def test_evaluate_reads_a_records_folder_like_the_survey_folder(survey):
    from_folder = load_labelled_folder(survey)
    from_records = load_labelled_folder(survey / "records")
    assert sorted(from_folder.test_ids) == sorted(from_records.test_ids) == ["00009", "00010", "00011"]
    assert sorted(from_folder.pool_ids) == sorted(from_records.pool_ids)
    assert from_folder.labels.sort_index().equals(from_records.labels.sort_index())
    assert len(from_folder.table) == len(from_records.table) == sum(2 * (30 + k) for k in range(12))
    assert from_records.class_names == ["cep", "ecl", "rr"]


def test_labels_that_match_nothing_name_both_inputs(survey, tmp_path):
    pd.DataFrame({"object_id": ["1", "2"], "label": ["a", "b"]}).to_csv(tmp_path / "wrong.csv", index=False)
    with pytest.raises(InputError, match=r"0 of 2 label ids in .*wrong.csv match the 12 objects in .*lightcurves.csv"):
        read_light_curves_input(survey / "lightcurves.csv", tmp_path / "wrong.csv")


def test_split_ids_is_seeded_stratified_and_honours_a_split_column():
    ids = [f"o{k:03d}" for k in range(100)]
    labels = pd.DataFrame({"object_id": ids, "label": ["a"] * 60 + ["b"] * 40})
    one, two = split_ids(labels, seed=3), split_ids(labels, seed=3)
    assert one == two and split_ids(labels, seed=4)["test"] != one["test"]
    assert sorted(one["train"] + one["val"] + one["test"]) == ids       # a partition
    lab = labels.set_index("object_id")["label"]
    assert lab.loc[one["test"]].value_counts().to_dict() == {"a": 12, "b": 8}   # 20%, stratified
    assert len(one["val"]) == 8                                          # 10% of the rest
    given = labels.assign(split=["test"] * 10 + ["train"] * 90)
    fixed = split_ids(given, seed=0)
    assert fixed["test"] == ids[:10] and len(fixed["val"]) == 9 and not set(fixed["val"]) & set(fixed["test"])


def test_a_class_too_small_to_stratify_is_a_clear_error():
    labels = pd.Series(["a"] * 10 + ["b"], index=[f"o{k}" for k in range(11)])
    with pytest.raises(InputError, match=r"cannot hold out a stratified 20% test set from 11 labelled objects in X "
                                         r"\(objects per class: a=10, b=1; too few in 'b'\)"):
        hold_out(labels.index, labels, 0.2, seed=0, where=" in X")
    rest, val = hold_out(labels.index, labels, 0.2, seed=0, what="val")   # validation takes what it can
    assert len(val) == 2 and sorted(rest + val) == sorted(labels.index)
    assert labels.loc[val].tolist() == ["a", "a"]                       # 20% of a's 10, none of b's 1


def test_take_shots_takes_at_most_n_per_class():
    labels = pd.Series(["a"] * 10 + ["b"] * 3, index=[f"o{k:02d}" for k in range(13)])
    picked = take_shots(list(labels.index), labels, 5, seed=0)
    assert labels.loc[picked].value_counts().to_dict() == {"a": 5, "b": 3}
    assert picked == take_shots(list(labels.index)[::-1], labels, 5, seed=0)   # input order does not matter


def test_evaluate_without_a_split_column_holds_out_the_record_splitters_test_set(survey, tmp_path):
    from astromer.data.splits import assign_splits

    folder = tmp_path / "nosplit"
    folder.mkdir()
    (folder / "lightcurves.csv").write_bytes((survey / "lightcurves.csv").read_bytes())
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})
    labels.drop(columns="split").assign(label="x", kind=labels["label"]).to_csv(folder / "labels.csv", index=False)
    data = load_labelled_folder(folder, label_column="kind", test_fraction=0.25, seed=3)
    plan = assign_splits(dict(zip(labels["object_id"], labels["label"])), "train=0.75,test=0.25", seed=3)
    assert sorted(data.test_ids) == sorted(plan.splits["test"])       # what `records convert` would write
    assert len(data.test_ids) == 3 and data.class_names == ["cep", "ecl", "rr"]   # 'kind', not the 'label' column
    assert sorted(data.pool_ids + data.test_ids) == sorted(labels["object_id"])


def test_a_labels_table_listing_an_object_twice_is_an_error(survey, tmp_path):
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})
    pd.concat([labels, labels.iloc[:2]]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(InputError, match=r"lists 2 object id\(s\) more than once \(e.g. \['00000', '00001'\]\)"):
        read_light_curves_input(survey / "lightcurves.csv", tmp_path / "twice.csv")


def test_a_labels_table_without_splits_keeps_a_records_folders_splits(survey, tmp_path):
    """New labels for a records folder (no split column) relabel its objects; its own splits stay."""
    pd.DataFrame({"object_id": [f"{k:05d}" for k in range(12)], "label": ["a", "b"] * 6}).to_csv(
        tmp_path / "new.csv", index=False)
    _, labels = read_light_curves_input(survey / "records", tmp_path / "new.csv")
    assert labels.set_index("object_id")["split"].to_dict() == {
        f"{k:05d}": "train" if k < 6 else "val" if k < 9 else "test" for k in range(12)}
    assert labels["label"].tolist().count("a") == 6
