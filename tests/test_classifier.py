"""LightCurveClassifier and the fine-tuning scenarios (a) frozen, (b) fine-tuned, (c) reconstruction first."""

import keras
import numpy as np
import pytest

from astromer import Astromer, LightCurveClassifier
from astromer.data.classification import labelled_windows, window_inputs
from astromer.layers.pooling import LayerWeighting, MaskedTimePooling
from astromer.models.classifier import aggregate_logits, encoder_lr_optimizer
from astromer.tasks.finetune import finetune

RNG = np.random.default_rng(3)


def _curve(kind, n):
    t = np.sort(RNG.uniform(0, 400, n))
    period = {"fast": 0.7, "slow": 37.0}[kind]
    mag = 15 + 0.5 * np.sin(2 * np.pi * t / period) + RNG.normal(0, 0.05, n)
    return np.stack([t, mag, np.full(n, 0.05)], 1)


def _data(n_per_class=12, lengths=(30, 70)):
    curves, labels = [], []
    for kind in ("fast", "slow"):
        for _ in range(n_per_class):
            curves.append(_curve(kind, int(RNG.integers(*lengths))))
            labels.append(kind)
    return curves, labels


def _encoder():
    keras.utils.set_random_seed(0)
    return Astromer(num_layers=2, num_heads=2, head_dim=8, ffn_dim=16, window_size=50, dropout=0.0)


def _weights(model):
    return [np.array(w) for w in model.weights]


def test_masked_pooling_ignores_padding():
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], "float32")
    mean = np.asarray(MaskedTimePooling("mean")(x, mask))
    mx = np.asarray(MaskedTimePooling("max")(x, mask))
    np.testing.assert_allclose(mean[0], x[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(mx[0], x[0, :2].max(0), rtol=1e-6)
    np.testing.assert_allclose(mx[1], x[1].max(0), rtol=1e-6)
    empty = np.asarray(MaskedTimePooling("max")(x, np.zeros((2, 5), "float32")))
    assert np.all(empty == 0)


def test_layer_weighting_starts_as_a_plain_mean():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    layer = LayerWeighting()
    np.testing.assert_allclose(np.asarray(layer(x)), x.mean(1) / 3, rtol=1e-5)  # softmax(equal)=1/3, mean


@pytest.mark.parametrize("head", ["skip", "mean", "max"])
def test_padding_never_changes_a_prediction(head):
    model = LightCurveClassifier(_encoder(), 3, head=head)
    curves, _ = _data(2)
    x, _, _, _ = labelled_windows(curves, [0, 1, 2, 0], window_size=50, class_names=["0", "1", "2"])
    base = np.asarray(model(x))
    noisy = {k: v.copy() for k, v in x.items()}
    pad = x["mask"] == 0
    assert pad.any()
    noisy["magnitudes"][pad] = 50.0
    noisy["times"][pad] = -999.0
    np.testing.assert_allclose(np.asarray(model(noisy)), base, atol=1e-5)


def test_scenario_a_leaves_the_encoder_unchanged():
    encoder = _encoder()
    before = _weights(encoder)
    clf, hist = finetune(encoder, _data(), validation=_data(4), scenario="a", head="skip", epochs=15, verbose=0,
                         learning_rate=3e-3)
    for a, b in zip(before, _weights(encoder)):
        np.testing.assert_array_equal(a, b)
    assert hist["classification"].history["loss"][-1] < hist["classification"].history["loss"][0]
    # Fitting the classifier object itself with a frozen encoder: still unchanged.
    x, y, _, _ = labelled_windows(*_data(4), window_size=50, class_names=clf.class_names)
    clf.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, _weights(encoder)):
        np.testing.assert_array_equal(a, b)
    assert not encoder.trainable and len(clf.trainable_weights) == len(clf.classification_head.trainable_weights)


def test_scenario_b_changes_the_encoder_and_supports_a_lower_encoder_rate():
    encoder = _encoder()
    before = _weights(encoder)
    clf, _ = finetune(encoder, _data(), scenario="b", head="skip", epochs=3, verbose=0, encoder_learning_rate=1e-4)
    assert encoder.trainable
    changed = [not np.array_equal(a, b) for a, b in zip(before, _weights(encoder))]
    assert any(changed)
    assert isinstance(clf.optimizer, keras.optimizers.MultiOptimizer)


def test_scenario_c_runs_reconstruction_first(monkeypatch):
    encoder = _encoder()
    calls = []
    original_fit = Astromer.fit

    def spy(self, *args, **kwargs):
        calls.append("reconstruction")
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(Astromer, "fit", spy)
    before = _weights(encoder)
    unlabelled = [_curve("fast", 40) for _ in range(5)]
    clf, hist = finetune(encoder, _data(), scenario="c", head="skip", unlabelled=unlabelled, reconstruction_epochs=2,
                         epochs=3, verbose=0)
    assert calls == ["reconstruction"]
    assert set(hist) == {"reconstruction", "classification"}
    assert "r2" in hist["reconstruction"].history
    assert any(not np.array_equal(a, b) for a, b in zip(before, _weights(encoder)))
    assert not encoder.trainable  # then="a": frozen for the classification step


def test_object_level_aggregation():
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [4.0, 0.0], [1.0, 1.0]])
    ids, probs = aggregate_logits(logits, ["a", "b", "a", "b"])
    assert ids == ["a", "b"]
    expected_a = np.exp([3.0, 0.0]) / np.exp([3.0, 0.0]).sum()
    np.testing.assert_allclose(probs[0], expected_a)
    np.testing.assert_allclose(probs[1], np.exp([0.5, 1.5]) / np.exp([0.5, 1.5]).sum())


def test_predict_objects_one_prediction_per_object_and_band_group():
    import pandas as pd

    clf = LightCurveClassifier(_encoder(), 2, head="mean")
    long = _curve("fast", 130)  # 3 windows of 50
    rows = []
    for band, curve in (("b", long), ("r", _curve("fast", 20))):
        rows.append(pd.DataFrame({"object_id": "star1", "band": band, "time": curve[:, 0],
                                  "mag": curve[:, 1], "mag_err": curve[:, 2]}))
    other = _curve("slow", 45)
    rows.append(pd.DataFrame({"object_id": "star2", "band": "b", "time": other[:, 0], "mag": other[:, 1],
                              "mag_err": other[:, 2]}))
    ids, probs = clf.predict_objects(pd.concat(rows, ignore_index=True))
    assert ids == ["star1", "star2"] and probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)


def test_scikit_learn_style_predict_proba_and_classes():
    clf = LightCurveClassifier(_encoder(), 2, head="mean", class_names=["rr", "cep"])
    curves = [_curve("fast", 60), _curve("slow", 45), _curve("fast", 30)]
    ids, probs = clf.predict_objects(curves)
    assert list(clf.classes_) == ["rr", "cep"]
    np.testing.assert_array_equal(clf.predict_proba(curves), probs)
    same_ids, labels = clf.predict_labels(curves)
    assert same_ids == ids and list(labels) == [["rr", "cep"][k] for k in probs.argmax(1)]
    assert list(LightCurveClassifier(_encoder(), 3).classes_) == [0, 1, 2]


def test_fitted_classifier_saves_and_loads(tmp_path):
    encoder = _encoder()
    clf, _ = finetune(encoder, _data(), scenario="b", head="skip", epochs=2, verbose=0)
    x, _, _, _ = labelled_windows(*_data(2), window_size=50, class_names=clf.class_names)
    path = tmp_path / "clf.keras"
    clf.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, LightCurveClassifier) and loaded.class_names == ["fast", "slow"]
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(clf(x)), atol=1e-5)


def test_lower_encoder_rate_optimizer_routes_variables():
    clf = LightCurveClassifier(_encoder(), 2, train_encoder=True)
    opt = encoder_lr_optimizer(clf, 1e-3, 1e-5)
    clf.compile(optimizer=opt)
    x, y, _, _ = labelled_windows(*_data(2), window_size=50, class_names=["fast", "slow"])
    clf.fit(x, y, epochs=1, verbose=0)
    rates = sorted(float(o.learning_rate) for o in opt.optimizers)
    assert rates == pytest.approx([1e-5, 1e-3])


def test_bad_labels_are_named():
    with pytest.raises(ValueError, match="not in class_names"):
        labelled_windows(*_data(1), class_names=["fast"])
    with pytest.raises(ValueError, match="2 labels for 3 light curves"):
        labelled_windows([_curve("fast", 10)] * 3, ["fast", "slow"])
    with pytest.raises(ValueError, match="scenario must be one of"):
        finetune(_encoder(), _data(1), scenario="d")


def test_multiband_object_vectors():
    from astromer.models.astromer.embeddings import LightCurveEmbeddings

    pooled = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "float32")
    result = LightCurveEmbeddings(ids=[("s1", "r"), ("s1", "b"), ("s2", "r")], observations=[None] * 3,
                                  pooled=pooled)
    ids, cat = result.object_vectors()
    assert ids == ["s1", "s2"]
    np.testing.assert_array_equal(cat, [[3, 4, 1, 2], [0, 0, 5, 6]])  # bands sorted: b, r
    _, mean = result.object_vectors(how="mean")
    np.testing.assert_allclose(mean, [[2, 3], [5, 6]])
    with pytest.raises(ValueError, match="how must be"):
        result.object_vectors(how="max")


@pytest.mark.parametrize("arch", ["astromer_v1", "astromer_v2"])
@pytest.mark.parametrize("head", ["skip", "max"])
def test_predictions_on_length_buckets_equal_full_windows(arch, head):
    """predict_objects on windows cut to length buckets (v1: one weighted padded step kept) gives
    the full windows' probabilities: the heads pool real observations only."""
    keras.utils.set_random_seed(2)
    encoder = Astromer.from_architecture(arch, num_layers=2, window_size=40, dropout=0.0)
    clf = LightCurveClassifier(encoder, 3, head=head)
    curves = [_curve("fast", n) for n in (5, 12, 19, 26, 33, 40, 71)]
    ids, full = clf.predict_objects(curves, bucketing=False)
    same_ids, cut = clf.predict_objects(curves, bucketing=True)
    assert same_ids == ids
    np.testing.assert_allclose(cut, full, atol=2e-6)
    _, windows = window_inputs(curves, window_size=40)
    x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
    cuts = sorted(padded.shape[1] for _, _, padded in encoder.window_buckets(x, windows.length))
    assert len(cuts) >= 3 and cuts[0] < 40 and cuts[-1] == 40  # the short windows were cut
    with pytest.raises(ValueError, match="bucketing must be 'auto', True or False, got 'yes'"):
        clf.predict_objects(curves, bucketing="yes")
