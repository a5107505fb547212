"""Image inputs for AstroPT users (issue 17): class-subfolder folders, flat folders with a labels table,
arrays, HDF5/FITS stacks; extra columns carried; empty inputs are errors; ``fit(image_records(...))``
pretrains; the CLI's pretrain -> embed -> probe on a class-subfolder folder; the probe protocol."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import astromer
from astromer import records
from astromer.cli.main import main
from astromer.data.synthetic_galaxies import simulate_galaxies
from astromer.errors import AstromerError
from astromer.evaluation.probe import linear_probe, paired_differences, summarise_probe
from astromer.records import sources as S
from astromer.tasks.images import read_images_input


def _write_class_folders(root, n=8, size=32, seed=0, classes=("elliptical", "spiral")):
    images, labels = simulate_galaxies(n * len(classes), classes=classes, size=size, seed=seed)
    for image, (_, row) in zip(images, labels.iterrows()):
        (root / row["label"]).mkdir(parents=True, exist_ok=True)
        (root / row["label"] / f"{row['object_id']}.png").write_bytes(tf.io.encode_png(image).numpy())
    return images, labels


# ------------------------------------------------------------------------------------------------ sources
def test_class_subfolders_are_labels_and_records_convert_them(tmp_path):
    images, labels = _write_class_folders(tmp_path / "gal", n=5)
    (tmp_path / "gal" / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    src = S.image_folder_source(tmp_path / "gal")
    assert src.description["layout"] == "class_folders"
    assert src.labels == dict(zip(labels["object_id"], labels["label"]))
    assert main(["records", "convert", str(tmp_path / "gal"), "-o", str(tmp_path / "rec"), "--splits", "none",
                 "-q"]) == 0
    meta = records.read_metadata(tmp_path / "rec")
    assert meta["kind"] == "image" and meta["counts"]["classes"] == {"elliptical": 5, "spiral": 5}


def test_class_subfolders_with_repeated_names_get_class_prefixed_ids(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls / "deep").mkdir(parents=True)
        for name in ("0001", "deep/0002"):
            (tmp_path / cls / f"{name}.png").write_bytes(tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)).numpy())
    src = S.image_folder_source(tmp_path)
    assert sorted(src.items) == ["a/0001", "a/deep/0002", "b/0001", "b/deep/0002"]
    assert {oid: item.label_name for oid, item in src.items.items()}["b/deep/0002"] == "b"


def test_flat_folder_path_column_carries_the_split_column(tmp_path):
    """The issue's failure: the split column was dropped, so column:split said it had no value."""
    images, _ = simulate_galaxies(6, size=16, seed=1)
    (tmp_path / "img" / "sub").mkdir(parents=True)
    rows = []
    for k, image in enumerate(images):
        rel = f"sub/cut_{k}.png"
        (tmp_path / "img" / rel).write_bytes(tf.io.encode_png(image).numpy())
        rows.append({"objid": f"10165{k}", "cls": "s" if k % 2 else "e", "path": rel,
                     "split": "train" if k < 4 else "test", "z": 0.1 * k})
    labels = pd.DataFrame(rows)
    src = S.image_folder_source(tmp_path / "img", labels, id_column="objid", label_column="cls", path_column="path",
                                extra_columns=("split",), target_columns=("z",))
    assert src.extra["101654"] == {"split": "test"}
    meta = records.write_dataset(src, tmp_path / "out", splits="column:split", progress=False)
    assert {k: v["objects"] for k, v in meta["splits"].items()} == {"train": 4, "test": 2}
    data = read_images_input(tmp_path / "out", image_size=16)
    assert sorted(data.table.loc[data.table["split"] == "test", "object_id"]) == ["101654", "101655"]
    assert data.table.set_index("object_id").loc["101653", "z"] == pytest.approx(0.3)


def test_arrays_uint8_lossless_floats_scaled_nan_dropped(tmp_path):
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    src = S.image_array_source(u8, labels=["a", "b", None], ids=[7, 8, 9])
    data = read_images_input_from(src, tmp_path)
    np.testing.assert_array_equal(np.rint(data * 255).astype(np.uint8), u8)

    floats = rng.normal(1e4, 50.0, (3, 16, 16, 1))  # a FITS-like single-band cutout, far from [0, 1]
    floats[2, 3, 3, 0] = np.nan
    src = S.image_array_source(floats)
    meta = records.write_dataset(src, tmp_path / "f", splits="none", progress=False)
    assert meta["counts"]["objects"] == 2 and meta["dropped"]["objects"] == {"bad_pixels": 1}
    assert "1 NaN or infinite pixels" in meta["dropped"]["examples"]["objects.bad_pixels"][0]
    stored = read_images_input(tmp_path / "f", image_size=None, channels=1)
    # per-patch standardised tokens are unchanged by the per-image scaling (up to 2^-16 of the range)
    model = astromer.AstroPT(num_layers=1, num_heads=1, embed_dim=8, block_size=4, patch_size=8, num_channels=1)
    order = [int(i) for i in stored.table["object_id"]]
    np.testing.assert_allclose(model.tokenize(stored.images), model.tokenize(floats[order].astype(np.float32)),
                               atol=2e-3)


def read_images_input_from(src, tmp_path):
    from astromer.records.image_pipelines import source_images

    images, ids, _ = source_images(src, image_size=None)
    assert ids == ["7", "8", "9"]
    return images


def test_hdf5_and_fits_stacks_with_ids(tmp_path):
    import h5py

    images, labels = simulate_galaxies(4, size=16, seed=2)
    with h5py.File(tmp_path / "cut.h5", "w") as f:
        f["images"] = images
        f["object_id"] = np.array([b"g0", b"g1", b"g2", b"g3"])
    table = pd.DataFrame({"object_id": ["g0", "g1", "g2", "g3"], "label": ["x", "y", "x", "y"], "z": [1, 2, 3, 4]})
    table.to_csv(tmp_path / "cat.csv", index=False)
    data = read_images_input(tmp_path / "cut.h5", tmp_path / "cat.csv", image_size=None, columns=("z",))
    assert data.table["object_id"].tolist() == ["g0", "g1", "g2", "g3"]
    assert data.table["z"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(data.images, images / 255.0, atol=1e-6)
    fits = pytest.importorskip("astropy.io.fits")
    cube = np.moveaxis(images.astype(np.float32), -1, 1)  # (N, C, H, W): FITS stacks are channels first
    fits.HDUList([fits.PrimaryHDU(cube), fits.BinTableHDU.from_columns(
        [fits.Column(name="object_id", format="2A", array=np.array(["g0", "g1", "g2", "g3"]))])]
    ).writeto(tmp_path / "cut.fits")
    from_fits = read_images_input(tmp_path / "cut.fits", image_size=None)
    assert from_fits.table["object_id"].tolist() == ["g0", "g1", "g2", "g3"]
    assert from_fits.images.shape == (4, 16, 16, 3)
    # one FITS file per object in a flat folder, as a cutout service gives them
    (tmp_path / "fits").mkdir()
    for k in range(2):
        fits.PrimaryHDU(cube[k]).writeto(tmp_path / "fits" / f"obj{k}.fits")
    folder = read_images_input(tmp_path / "fits", image_size=8)
    assert folder.table["object_id"].tolist() == ["obj0", "obj1"] and folder.images.shape == (2, 8, 8, 3)


def test_empty_and_unreadable_inputs_are_errors(tmp_path, capsys):
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    assert main(["records", "convert", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    assert "cannot tell the layout of folder" in capsys.readouterr().err
    with pytest.raises(AstromerError, match="has no subfolder with images"):
        S.image_folder_source(tmp_path / "empty", layout="class_folders")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpeg").write_bytes(b"\xff\xd8\xff not a jpeg")
    with pytest.raises(AstromerError, match=r"holds no usable image \(1 objects dropped: unreadable \(e\.g\. a \(.*a\.jpeg: jpeg::Uncompress failed"):
        read_images_input(tmp_path / "bad")
    assert main(["records", "convert", str(tmp_path / "bad"), "-o", str(tmp_path / "o2")]) == 2
    assert "no object is left to write from" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ model
def test_fit_on_labelled_image_records_pretrains(tmp_path):
    """``(images, labels)`` batches: labels are ignored, the targets are the next patches."""
    images, labels = simulate_galaxies(8, size=16, seed=3)
    src = S.image_array_source(images, labels["label"], ids=labels["object_id"])
    records.write_dataset(src, tmp_path / "rec", splits="none", progress=False)
    keras.utils.set_random_seed(0)
    model = astromer.AstroPT.from_architecture("001M", family="modern", image_size=16, patch_size=8)
    assert model.block_size == 4
    model.compile()
    before = [w.copy() for w in model.get_weights()]
    ds = records.image_records(tmp_path / "rec", image_size=16, batch_size=4)
    history = model.fit(ds, epochs=1, verbose=0)
    unlabelled = model.evaluate(records.image_records(tmp_path / "rec", image_size=16, batch_size=4, labels=False),
                                verbose=0)
    assert np.isfinite(history.history["loss"][0]) and np.isfinite(unlabelled)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_from_architecture_image_size_sets_tokens():
    with pytest.raises(ValueError, match="image_size 60x60 is not a multiple of patch_size 16"):
        astromer.AstroPT.from_architecture("001M", family="modern", image_size=60)
    with pytest.raises(ValueError, match="block_size 8 is below the 16 patches"):
        astromer.AstroPT.from_architecture("001M", family="modern", image_size=64, block_size=8)
    assert astromer.AstroPT.from_architecture("001M", family="modern", image_size=(64, 32)).block_size == 8


# ------------------------------------------------------------------------------------------------ probe
def test_probe_two_classes_regression_and_paired_differences():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 30)
    signal = (y == "b")[:, None] * 3.0 + rng.normal(size=(60, 4))
    noise = rng.normal(size=(60, 4))
    res = linear_probe({"signal": signal, "noise": lambda s: np.random.default_rng(s).normal(size=(60, 4))},
                       y, seeds=(0, 1, 2), folds=3)
    summary = summarise_probe(res).set_index("method")
    assert summary.loc["signal", "macro_f1_mean"] > 0.95 and summary.loc["noise", "macro_f1_mean"] < 0.75
    assert summary.loc["signal", "seeds"] == 3 and summary.loc["signal", "folds"] == 3
    assert len(res) == 2 * 3 * 3 and set(res["n_test"]) == {20}
    diff = paired_differences(res, "signal").iloc[0]
    assert diff["reference_ahead"] >= 8 and diff["splits"] == 9
    z = noise @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.05 * rng.normal(size=60)
    reg = summarise_probe(linear_probe({"x": noise}, pd.Series(z), seeds=(0,), folds=3))
    assert reg["task"].iloc[0] == "regression" and reg["r2_mean"].iloc[0] > 0.95
    with pytest.raises(ValueError, match="class 'c' has 2 objects, fewer than the 3 folds"):
        linear_probe({"x": noise[:32]}, list(y[:30]) + ["c", "c"], folds=3)


@pytest.mark.slow
def test_cli_pretrain_embed_probe_on_class_subfolders(tmp_path):
    """The acceptance path: a galaxy folder with one subfolder per class, the CLI alone."""
    _write_class_folders(tmp_path / "gal", n=12, size=32, classes=("elliptical", "spiral", "edge_on"))
    model = tmp_path / "model"
    assert main(["pretrain", str(tmp_path / "gal"), "-o", str(model), "--image-size", "16", "--epochs", "2",
                 "--batch-size", "8", "-q"]) == 0
    assert json.loads((model / "images.json").read_text()) == {"image_size": 16, "crop": None, "channels": 3}
    assert main(["embed", str(tmp_path / "gal"), "--model", str(model), "-o", str(tmp_path / "e.parquet"), "-q"]) == 0
    emb = pd.read_parquet(tmp_path / "e.parquet")
    assert len(emb) == 36 and emb["label"].value_counts().to_dict() == {"edge_on": 12, "elliptical": 12, "spiral": 12}
    # the same images through records give the same embeddings (one preprocessing)
    assert main(["records", "convert", str(tmp_path / "gal"), "-o", str(tmp_path / "rec"), "-q"]) == 0
    assert main(["embed", str(tmp_path / "rec"), "--model", str(model), "-o", str(tmp_path / "r.parquet"), "-q"]) == 0
    assert main(["pretrain", str(tmp_path / "rec"), "-o", str(tmp_path / "from_records"), "--image-size", "16",
                 "--epochs", "1", "--batch-size", "8", "--model", str(model), "-q"]) == 0  # continues, from records
    info = json.loads((tmp_path / "from_records" / "training.json").read_text())
    assert info["training_images"] == len(pd.read_parquet(tmp_path / "r.parquet").query("split == 'train'"))
    rec = pd.read_parquet(tmp_path / "r.parquet").set_index("object_id").loc[emb["object_id"]]
    cols = [c for c in emb if c.startswith("emb_")]
    np.testing.assert_allclose(rec[cols].to_numpy(), emb[cols].to_numpy(), atol=1e-5)
    assert main(["probe", str(tmp_path / "gal"), "--model", str(model), "--embeddings", str(tmp_path / "e.parquet"),
                 "-o", str(tmp_path / "report"), "--folds", "3", "-q"]) == 0
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert summary["family"].tolist() == ["pretrained", "random_init", "pixels"]
    assert (summary["seeds"] == 3).all() and summary["macro_f1_std"].notna().all()
    report = (tmp_path / "report" / "report.md").read_text()
    assert "3-fold cross-validation, 3 seeds" in report and (tmp_path / "report" / "probe.png").stat().st_size > 0
    # a numeric target from a labels table: regression (ridge), R^2 and RMSE
    z = pd.DataFrame({"object_id": emb["object_id"], "z": np.linspace(0.0, 1.0, len(emb))})
    z.to_csv(tmp_path / "z.csv", index=False)
    assert main(["probe", str(tmp_path / "gal"), "--model", str(model), "--labels", str(tmp_path / "z.csv"),
                 "--target", "z", "-o", str(tmp_path / "zr"), "--folds", "3", "--seeds", "2", "--no-random-init",
                 "-q"]) == 0
    zs = pd.read_csv(tmp_path / "zr" / "summary.csv")
    assert zs["task"].unique().tolist() == ["regression"] and {"r2_mean", "rmse_mean"} <= set(zs.columns)


def test_cli_classify_images_trains_saves_and_predicts(tmp_path, capsys):
    """``astromer classify`` on a class-subfolder folder: scenario b through ``astromer.finetune``,
    a saved ImageClassifier with its image settings, and predicting with it later gives the same
    probabilities."""
    _write_class_folders(tmp_path / "gal", n=10, size=32, classes=("elliptical", "spiral"))
    model = tmp_path / "model"
    assert main(["pretrain", str(tmp_path / "gal"), "-o", str(model), "--image-size", "16", "--epochs", "1",
                 "--batch-size", "8", "-q"]) == 0
    capsys.readouterr()
    assert main(["classify", str(tmp_path / "gal"), "-o", str(tmp_path / "clf")]) == 2
    assert "holds images: give --model DIR (an AstroPT from 'astromer pretrain' on images)" in capsys.readouterr().err
    assert main(["classify", str(tmp_path / "gal"), "-o", str(tmp_path / "clf"), "--model", str(model),
                 "--scenario", "b", "--epochs", "3", "--batch-size", "8", "-q"]) == 0
    out = capsys.readouterr().out
    assert "images, scenario b, head mean: 14 training, 2 validation, 4 test images" in out
    record = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert (record["train_objects"], record["val_objects"], record["test_objects"]) == (14, 2, 4)
    assert record["classes"] == ["elliptical", "spiral"] and record["image_size"] == 16
    assert json.loads((tmp_path / "clf" / "images.json").read_text()) == {"image_size": 16, "crop": None,
                                                                          "channels": 3}
    test = pd.read_csv(tmp_path / "clf" / "predictions.csv", dtype={"object_id": str})
    assert len(test) == 4 and test["label"].value_counts().to_dict() == {"elliptical": 2, "spiral": 2}
    assert np.allclose(test[["p_elliptical", "p_spiral"]].sum(axis=1), 1.0, atol=1e-5)
    assert record["metrics"]["objects"] == 4
    # predicting later with the saved classifier (geometry from its images.json) on every image
    assert main(["classify", str(tmp_path / "gal"), "-o", str(tmp_path / "pred"), "--classifier",
                 str(tmp_path / "clf" / "classifier.keras"), "-q"]) == 0
    every = pd.read_csv(tmp_path / "pred" / "predictions.csv", dtype={"object_id": str}).set_index("object_id")
    assert len(every) == 20
    np.testing.assert_allclose(every.loc[test["object_id"], "p_spiral"].to_numpy(), test["p_spiral"].to_numpy(),
                               atol=1e-5)
    assert main(["classify", str(tmp_path / "gal"), "-o", str(tmp_path / "p2"), "--classifier",
                 str(tmp_path / "clf" / "classifier.keras"), "--split", "test"]) == 2
    assert "--split test: " in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ scenarios
def test_image_scenarios_share_the_light_curve_task_code():
    from astromer.models.classifier import ImageClassifier
    from astromer.tasks.finetune import layerwise_rates, unfreeze_last_blocks

    keras.utils.set_random_seed(0)
    encoder = astromer.AstroPT(num_layers=3, num_heads=2, embed_dim=16, block_size=16, patch_size=8, name="astropt")
    clf = ImageClassifier(encoder, 2, layer=1, hidden_units=(8,))
    rates = layerwise_rates(clf, 1e-4, layer_decay=0.5)
    assert rates["astropt/block_1/.*"] == pytest.approx(1e-4) and rates["astropt/block_0/.*"] == pytest.approx(5e-5)
    assert rates["astropt/(?!block_|final_norm/).*"] == pytest.approx(2.5e-5)  # tokeniser and positions
    unfreeze_last_blocks(clf, 1)
    trainable = {v.path.split("/")[1] for v in clf.trainable_variables if v.path.startswith("astropt/")}
    assert trainable == {"block_1"}  # block 2, the final norm and the decoder take no part

    images, labels = simulate_galaxies(48, size=32, seed=4)
    x, y = images.astype("float32") / 255.0, labels["label"].tolist()
    results = {}
    for scenario in ("a", "b", "c"):
        keras.utils.set_random_seed(0)
        model = astromer.AstroPT.from_config(encoder.get_config())
        model.set_weights(encoder.get_weights())
        classifier, histories = astromer.finetune(model, (x[:36], y[:36]), (x[36:], y[36:]), scenario=scenario,
                                                  epochs=20, finetune_epochs=3, reconstruction_epochs=1, verbose=0)
        assert isinstance(classifier, ImageClassifier) and classifier.class_names == ["edge_on", "elliptical", "spiral"]
        proba = classifier.predict_proba(x[36:])
        assert proba.shape == (12, 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        results[scenario] = histories
    selection = results["b"]["classification"].selection  # b keeps its warmed-up head unless training beats it
    assert len(selection.scores) == 4 and len(selection.losses) == 4
    # an epoch beats the kept weights when its macro F1 rises, its cross-entropy does not, and a paired
    # bootstrap of the validation images has it win in >= 90% of resamples
    from astromer.tasks.selection import win_probability

    kept = 0
    for epoch in range(1, 4):
        if selection.scores[epoch] > selection.scores[kept] and selection.losses[epoch] <= selection.losses[kept] \
                and win_probability(selection.labels, selection.predictions[epoch], selection.predictions[kept],
                                    3) >= 0.9:
            kept = epoch
    assert selection.best_epoch == kept and selection.scores[kept] >= selection.scores[0]
    assert list(results["c"]) == ["reconstruction", "classification"]
