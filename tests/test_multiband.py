"""The multi-band object classifier: every band of an object through one shared encoder
(band_windows, MultiBandClassifier, fit_multiband, finetune(multiband=True))."""

import keras
import numpy as np
import pandas as pd
import pytest

from astromer import Astromer, finetune
from astromer.data.classification import band_windows, labelled_band_windows
from astromer.data.windows import window_curves
from astromer.models.classifier import MultiBandClassifier
from astromer.tasks.multiband import band_features, fit_multiband

WINDOW = 40
RNG = np.random.default_rng(11)


def _encoder(seed=0):
    keras.utils.set_random_seed(seed)
    return Astromer(num_layers=2, num_heads=2, head_dim=8, ffn_dim=16, window_size=WINDOW, dropout=0.0)


def _curve_rows(obj, band, n, period, amplitude, offset=0.0):
    t = np.sort(RNG.uniform(0, 300, n)) + 2_450_000.0  # JD-scale times
    mag = 15 + offset + amplitude * np.sin(2 * np.pi * t / period) + RNG.normal(0, 0.03, n)
    return pd.DataFrame({"object_id": obj, "band": band, "time": t, "mag": mag, "mag_err": 0.03})


def _survey(per_class=10, classes=("fast", "slow", "flat")):
    """Two-band objects (g brighter variability than r), some missing a band."""
    kinds = {"fast": (0.7, 0.5), "slow": (37.0, 0.5), "flat": (10.0, 0.02)}
    frames, labels = [], {}
    for label in classes:
        period, amplitude = kinds[label]
        for k in range(per_class):
            obj = f"{label}-{k}"
            labels[obj] = label
            if k % 5 != 4:  # every fifth object has no g curve
                frames.append(_curve_rows(obj, "g", int(RNG.integers(15, 35)), period, amplitude))
            frames.append(_curve_rows(obj, "r", int(RNG.integers(15, 35)), period, 0.6 * amplitude, 0.3))
    return pd.concat(frames, ignore_index=True), labels


def test_band_windows_put_each_objects_bands_side_by_side():
    table = pd.concat([_curve_rows("A", "g", 12, 5.0, 0.3), _curve_rows("A", "r", 30, 5.0, 0.3),
                       _curve_rows("B", "r", 2 * WINDOW + 7, 5.0, 0.3), _curve_rows("C", "g", 9, 5.0, 0.3)],
                      ignore_index=True)
    objects, x, errors, bands = band_windows(table, window_size=WINDOW)
    assert bands == ["g", "r"]
    assert objects == ["A", "B", "B", "B", "C"]  # B's r curve needs 3 windows: 3 samples, its g band empty
    assert x["mask"].shape == (5, 2, WINDOW) and errors.shape == (5, 2, WINDOW)
    assert x["mask"].sum(axis=2).tolist() == [[12, 30], [0, WINDOW], [0, WINDOW], [0, WINDOW], [9, 0]]
    # each (sample, band) is exactly that curve's window, as window_curves makes it
    single = window_curves([table.loc[(table.object_id == "A") & (table.band == "r"),
                                      ["time", "mag", "mag_err"]].to_numpy()], window_size=WINDOW)
    np.testing.assert_array_equal(x["times"][0, 1], single.times[0])
    np.testing.assert_array_equal(x["magnitudes"][0, 1], single.magnitudes[0])
    assert not x["times"][0, 0, 12:].any() and not x["magnitudes"][4, 1].any()  # padding and the missing band: 0
    # a band order given by the caller is kept; a band outside it is an error naming it
    assert band_windows(table, window_size=WINDOW, bands=["r", "g", "i"])[1]["mask"].sum(axis=2)[0].tolist() == [30, 12, 0]
    with pytest.raises(ValueError, match=r"curves in bands \['g'\] are not among bands \['r'\]"):
        band_windows(table, window_size=WINDOW, bands=["r"])


def test_labelled_band_windows_label_objects_and_refuse_disagreeing_curves():
    table, labels = _survey(per_class=2)
    x, y, objects, _, class_names, bands = labelled_band_windows(table, labels, window_size=WINDOW)
    assert class_names == ["fast", "flat", "slow"] and bands == ["g", "r"]
    assert [class_names[c] for c in y] == [labels[o] for o in objects]
    per_curve = [labels[o] for o in table.groupby(["object_id", "band"], sort=False).size().index.get_level_values(0)]
    per_curve[1] = "slow"  # fast-0's r curve now disagrees with its g curve
    with pytest.raises(ValueError, match="object 'fast-0' has curves labelled 'fast' and 'slow'"):
        labelled_band_windows(table, per_curve, window_size=WINDOW)


@pytest.mark.parametrize("classes", [("fast", "slow"), ("fast", "slow", "flat")])
def test_the_probe_head_predicts_exactly_as_the_probe(classes):
    table, labels = _survey(classes=classes)
    x, y, objects, _, class_names, bands = labelled_band_windows(table, labels, window_size=WINDOW)
    clf = MultiBandClassifier(_encoder(), len(class_names), bands, class_names=class_names)
    fit = fit_multiband(clf, x, y)
    assert fit.history is None and fit.selected_epoch is None
    features = band_features(clf, x)
    assert features.shape == (len(y), 2 * (2 * clf.encoder.width) * 2)  # (mean, std) x (2 blocks) x (2 bands)
    expected = fit.probe.predict_proba(features)
    got = keras.ops.convert_to_numpy(keras.ops.softmax(clf(x)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5)
    # predict_proba on raw curves: one row per object, columns in classes_ order
    ids, probs = clf.predict_objects(table)
    assert ids == list(dict.fromkeys(objects)) and list(clf.classes_) == class_names
    np.testing.assert_allclose(probs, expected, rtol=0, atol=2e-5)  # one sample per object here
    assert list(clf.predict_labels(table)[1]) == [class_names[k] for k in expected.argmax(axis=1)]


@pytest.mark.parametrize("layers", ["blocks", "last"])
def test_band_statistics_are_the_embedding_statistics_of_each_band(layers):
    """What the head reads is what the probe of the harness reads: per band, mean and std over
    the observation embeddings of Astromer.embed, bands side by side, zeros for a missing band."""
    from astromer.evaluation.methods import EMBEDDING_LAYERS, EMBEDDING_STATISTICS

    table, labels = _survey(per_class=3)
    clf = MultiBandClassifier(_encoder(), 3, ["g", "r"], embedding_layers=layers)
    objects, x, _, _ = band_windows(table, window_size=WINDOW)
    result = clf.encoder.embed(table, verbose=0, layers=layers)
    assert result[0].shape[1] == clf.encoder.width * (2 if layers == "blocks" else 1)  # 2 blocks side by side
    ids, expected = result.object_vectors(bands=["g", "r"], vectors=result.statistics(EMBEDDING_STATISTICS))
    assert ids == objects and clf.feature_size == expected.shape[1]
    np.testing.assert_allclose(band_features(clf, x), expected, rtol=0, atol=2e-5)
    assert MultiBandClassifier(_encoder(), 3, ["g"]).embedding_layers == EMBEDDING_LAYERS  # the probe's, by default


def test_fine_tuning_keeps_the_probe_start_unless_validation_improves():
    table, labels = _survey(per_class=12)
    x, y, objects, errors, class_names, bands = labelled_band_windows(table, labels, window_size=WINDOW)
    objects = np.array(objects)
    val = np.isin(objects, [o for o in dict.fromkeys(objects) if int(o.split("-")[1]) >= 8])
    take = lambda rows: {k: v[rows] for k, v in x.items()}  # noqa: E731
    clf = MultiBandClassifier(_encoder(), len(class_names), bands, class_names=class_names)
    start_weights = [np.array(w) for w in clf.encoder.weights]
    fit = fit_multiband(clf, take(~val), y[~val], (take(val), y[val], objects[val]), finetune_epochs=3,
                        learning_rate=1e-3, encoder_learning_rate=1e-3, errors=errors[~val], seed=0)
    selection = fit.history.selection
    assert len(selection.scores) == 4 and len(selection.losses) == 4  # the probe's start, then 3 epochs
    assert fit.selected_epoch == selection.best_epoch
    # the model left behind is the one selected: replaying its validation score gives the kept score
    from astromer.tasks.selection import macro_f1_and_log_loss

    f1, loss = macro_f1_and_log_loss(clf, take(val), y[val], objects[val])
    assert f1 == pytest.approx(selection.best, abs=1e-9) and loss == pytest.approx(selection.best_loss, rel=1e-4)
    moved = any(not np.allclose(a, np.array(b)) for a, b in zip(start_weights, clf.encoder.weights))
    assert moved == (fit.selected_epoch > 0)
    # a later epoch was kept only when F1 rose, the cross-entropy did not and the bootstrap agreed
    if fit.selected_epoch:
        assert selection.scores[fit.selected_epoch] > selection.scores[0]
        assert selection.losses[fit.selected_epoch] <= selection.losses[0]
        assert selection.win_probabilities[fit.selected_epoch - 1] >= selection.confidence == 0.9


def test_finetune_multiband_scenarios_a_and_c():
    """The multi-band classifier is finetune's default for light curves (no head given); a head
    gives Astromer 2's per-window LightCurveClassifier, and both together are refused."""
    from astromer import LightCurveClassifier

    table, labels = _survey(per_class=8)
    train_ids = [o for o in labels if int(o.split("-")[1]) < 6]
    train = table[table.object_id.isin(train_ids)]
    clf, histories = finetune(_encoder(), (train, labels), scenario="a")
    assert isinstance(clf, MultiBandClassifier) and set(histories) == {"probe"}
    window_clf, _ = finetune(_encoder(), (train, labels), scenario="a", head="mean", epochs=1, verbose=0)
    assert isinstance(window_clf, LightCurveClassifier) and window_clf.head_kind == "mean"
    with pytest.raises(ValueError, match="head='skip' is for the per-window LightCurveClassifier"):
        finetune(_encoder(), (train, labels), scenario="a", head="skip", multiband=True)
    probs = clf.predict_proba(table)
    assert probs.shape == (len(labels), 3) and np.allclose(probs.sum(axis=1), 1)
    clf_c, histories_c = finetune(_encoder(), (train, labels), scenario="c", multiband=True,
                                  unlabelled=table[~table.object_id.isin(train_ids)], reconstruction_epochs=1,
                                  verbose=0)
    assert set(histories_c) == {"reconstruction", "probe"} and isinstance(clf_c, MultiBandClassifier)
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] have no training object"):
        fit_multiband(MultiBandClassifier(_encoder(), 3, ["g", "r"]),
                      *labelled_band_windows(train[train.object_id.str.startswith(("fast", "slow"))], labels,
                                             window_size=WINDOW, class_names=["fast", "flat", "slow"])[:2])


def test_classify_cli_multiband_is_the_default_and_trains_saves_and_predicts(tmp_path):
    import json

    import astromer
    from astromer.cli.main import main
    from astromer.data.synthetic import write_simulated_survey

    survey = write_simulated_survey(tmp_path / "survey", 60, seed=3, bands=("g", "r"), max_observations=40)
    astromer.save_preset(_encoder(), tmp_path / "encoder")
    assert main(["classify", str(survey), "-o", str(tmp_path / "bad"), "--model", str(tmp_path / "encoder"),
                 "--multiband", "--head", "skip", "--quiet"]) == 2
    assert not (tmp_path / "bad").exists()
    assert main(["classify", str(survey), "-o", str(tmp_path / "clf"), "--model", str(tmp_path / "encoder"),
                 "--quiet"]) == 0  # multi-band: the default without --head
    metrics = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert metrics["multiband"] is True and metrics["head"] == "multi-band probe"
    predictions = pd.read_csv(tmp_path / "clf" / "predictions.csv")
    assert len(predictions) == metrics["test_objects"] and predictions["object_id"].is_unique
    assert main(["classify", str(survey / "lightcurves.csv.gz"), "-o", str(tmp_path / "pred"),
                 "--classifier", str(tmp_path / "clf" / "classifier.keras")]) == 0
    again = pd.read_csv(tmp_path / "pred" / "predictions.csv").set_index("object_id")
    assert len(again) == 60  # every object, one row each, both bands read together
    probs = [c for c in predictions.columns if c.startswith("p_")]
    np.testing.assert_allclose(again.loc[predictions["object_id"], probs].to_numpy(), predictions[probs].to_numpy(),
                               rtol=0, atol=1e-5)  # the saved model predicts as the trained one did


@pytest.mark.parametrize("arch", ["astromer_v1", "astromer_v2"])
def test_samples_cut_to_the_longest_curve_give_the_same_logits_and_training(arch):
    """MultiBandClassifier.trim: every sample cut to the shortest multiple of 8 holding every
    band's real steps (Astromer 1, which attends its padding, keeps one padded step and weighs the
    kept ones by key_bias): the same logits, and one training step from the same weights lands on
    the same weights; a full window anywhere leaves the samples as they are."""
    from astromer.models.batched_inference import predict_in_batches
    from astromer.tasks.encoders import fresh_copy

    frames = [_curve_rows(f"o{i}", band, n, 9.0, 0.4) for i, (band, n) in
              enumerate([("g", 24), ("r", 5), ("g", 17), ("r", 11), ("g", 3)])]
    frames.append(_curve_rows("o1", "g", 14, 9.0, 0.4))  # o1 has both bands; the others one (the other empty)
    table = pd.concat(frames, ignore_index=True)
    objects, x, errors, bands = band_windows(table, window_size=WINDOW)
    keras.utils.set_random_seed(0)
    encoder = Astromer.from_architecture(arch, num_layers=2, num_heads=2, head_dim=8, ffn_dim=16,
                                         window_size=WINDOW, dropout=0.0)
    clf = MultiBandClassifier(encoder, 3, bands, train_encoder=True)
    cut, cut_errors = clf.trim(x, errors)
    v1 = arch == "astromer_v1"
    assert v1 != encoder.padding_is_ignored
    length = 32 if v1 else 24  # the longest curve has 24 points (v1: + one padded step)
    assert cut["mask"].shape == (5, 2, length) and cut_errors.shape == (5, 2, length)
    np.testing.assert_array_equal(cut["magnitudes"], x["magnitudes"][..., :length])
    assert ("key_bias" in cut) == v1
    if v1:  # o0's g curve: 24 real steps, 16 padded of which 8 kept; its empty r band: 40 of 32
        np.testing.assert_allclose(cut["key_bias"][0, 0], [0] * 24 + [np.log(16 / 8)] * 8, rtol=1e-6)
        np.testing.assert_allclose(cut["key_bias"][0, 1], np.log(40 / 32), rtol=1e-6)
    assert clf.trim(cut)[0] is cut  # cut already: left as it is
    full_logits = keras.ops.convert_to_numpy(clf(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clf(cut)), full_logits, atol=2e-5)
    if v1:  # without the weights the cut samples are other inputs
        plain = {k: v for k, v in cut.items() if k != "key_bias"}
        assert np.abs(keras.ops.convert_to_numpy(clf(plain)) - full_logits).max() > 1e-3
    # one SGD step from the same weights, on the full and on the cut samples
    y = np.array([0, 1, 2, 0, 1])
    steps = []
    for inputs in (x, cut):
        model = MultiBandClassifier(fresh_copy(encoder), 3, bands, train_encoder=True)
        model.set_weights(clf.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        loss = model.train_on_batch(inputs, y, return_dict=True)["loss"]
        steps.append((loss, [np.array(w) for w in model.trainable_weights]))
    assert steps[1][0] == pytest.approx(steps[0][0], rel=1e-5)
    moved = max(np.abs(a - np.array(b)).max() for a, b in zip(steps[0][1], clf.trainable_weights))
    assert moved > 1e-3
    for a, b in zip(*(s[1] for s in steps)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    # fit_multiband cuts its samples itself (and b's jitter errors with them); predict_objects too.
    # (After it the head is the probe's, whose standardisation divides by spreads as small as
    # 1e-6 on five objects: float32 rounding between two paths then shows in the logits, so the
    # predictions are compared on the same cut samples.)
    fit = fit_multiband(clf, x, y, (x, y, np.array(objects)), finetune_epochs=2, errors=errors, jitter=1.0)
    assert fit.selected_epoch in (0, 1, 2)
    ids, probs = clf.predict_objects(table)
    assert ids == objects and np.isfinite(probs).all()
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(predict_in_batches(clf, cut, verbose=0)))
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    # one full window (40 points) anywhere: nothing to cut
    _, x_long, errors_long, _ = band_windows(pd.concat([table, _curve_rows("o9", "r", WINDOW, 9.0, 0.4)]),
                                             window_size=WINDOW)
    kept, kept_errors = clf.trim(x_long, errors_long)
    assert kept is x_long and kept_errors.shape[-1] == WINDOW


def test_band_std_has_finite_gradients_for_empty_and_single_observation_bands():
    """sqrt's gradient is infinite at 0: without the guard a band with one observation (or none)
    turned scenario b's weights into NaN after a few Adam steps (seen on Astromer 1)."""
    from astromer.models.classifier.multiband import masked_std

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.zeros((3, 6), "float32")
    mask[0, :4] = 1  # four observations
    mask[1, 2] = 1  # one
    std = keras.ops.convert_to_numpy(masked_std(keras.ops.convert_to_tensor(x), mask))
    np.testing.assert_allclose(std[0], x[0, :4].std(axis=0), rtol=1e-5)
    assert not std[1:].any()  # one observation or none: 0
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            total = tf.reduce_sum(masked_std(xt, mask))
        grad = tape.gradient(total, xt).numpy()
    else:
        import jax

        grad = np.asarray(jax.grad(lambda v: masked_std(v, mask).sum())(x))
    assert np.isfinite(grad).all() and not grad[1:].any()


def test_classify_cli_leaves_out_objects_without_data_and_names_what_it_cannot_learn(tmp_path, capsys):
    """An object whose every magnitude is a sentinel is left out before the split (so no shot or
    count claims it) and is reported, not silently missing, when predicting; a class with test
    objects only is named; ``--split`` on an input without splits is an error, not every object."""
    import json

    import astromer
    from astromer.cli.main import main
    from astromer.data.synthetic import write_simulated_survey

    survey = write_simulated_survey(tmp_path / "survey", 60, seed=3, bands=("g", "r"), max_observations=40)
    curves = pd.read_csv(survey / "lightcurves.csv.gz", dtype={"object_id": str})
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})
    emptied = labels.loc[labels["split"] == "train", "object_id"].iloc[0]
    curves.loc[curves["object_id"] == emptied, "mag"] = 99.999
    only_test = labels["label"].iloc[-1]
    labels = labels[(labels["label"] != only_test) | (labels["split"] == "test")]
    curves.to_csv(survey / "lightcurves.csv.gz", index=False)
    labels.to_csv(survey / "labels.csv", index=False)
    astromer.save_preset(_encoder(), tmp_path / "encoder")
    capsys.readouterr()
    assert main(["classify", str(survey), "-o", str(tmp_path / "clf"), "--model", str(tmp_path / "encoder"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    trained = labels[labels["split"] == "train"]
    klass = labels.set_index("object_id").loc[emptied, "label"]
    assert f"[classify] 1 labelled objects have no usable observation after cleaning and are left out ({klass} 1)" \
        in out
    assert f"class(es) ['{only_test}'] have validation or test objects but no training object" in out
    metrics = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert metrics["train_objects"] + metrics["val_objects"] == len(trained) - 1
    assert only_test not in metrics["classes"]

    assert main(["classify", str(survey / "lightcurves.csv.gz"), "-o", str(tmp_path / "pred"),
                 "--classifier", str(tmp_path / "clf" / "classifier.keras")]) == 0
    out, err = capsys.readouterr()
    # the cleaning report: one "[warning]" line, not repeated, no Python source line
    reports = [line for line in err.splitlines() if "prepare_light_curves" in line]
    assert len(reports) == 1 and reports[0].startswith("[warning] prepare_light_curves: ") and "sentinel_mag" in reports[0]
    assert "UserWarning" not in err
    assert f"[classify] 1 objects have no usable observation after cleaning and are not in predictions.csv " \
           f"(e.g. ['{emptied}'])" in out
    predicted = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert len(predicted) == curves["object_id"].nunique() - 1 and "label" not in predicted  # no labels given

    assert main(["classify", str(survey / "lightcurves.csv.gz"), "-o", str(tmp_path / "none"), "--split", "test",
                 "--classifier", str(tmp_path / "clf" / "classifier.keras")]) == 2
    assert capsys.readouterr().err == (
        f"astromer classify: error: --split test: {survey / 'lightcurves.csv.gz'} has no splits (a records folder's, "
        "or a 'split' column of --labels); leave --split out to predict every object\n")
    assert not (tmp_path / "none").exists()
