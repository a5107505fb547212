"""Attention pooling over an object's windows: padding never counts, grouping is exact, and it
learns to weigh the window that carries the class."""

import keras
import numpy as np

from astromer.models.classifier import WindowAttentionPooling, WindowPoolingClassifier, object_windows
from astromer.tasks.window_pooling import fit_window_pooling


def test_padding_windows_change_nothing_and_weights_sum_to_one():
    keras.utils.set_random_seed(0)
    layer = WindowAttentionPooling(8)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype="float32")
    out = np.asarray(layer(x, mask))
    garbage = x.copy()
    garbage[mask == 0] = 1e6  # whatever sits in the padding
    np.testing.assert_allclose(np.asarray(layer(garbage, mask)), out, rtol=1e-6, atol=1e-6)
    weights = np.asarray(layer.attention_weights(x, mask))
    np.testing.assert_allclose(weights.sum(1), 1.0, rtol=1e-6)
    assert np.all(weights[mask == 0] == 0)
    np.testing.assert_allclose(out[1], x[1, 0], rtol=1e-6)  # one real window: it is the output
    np.testing.assert_array_equal(np.asarray(layer(x, np.zeros_like(mask))), 0.0)  # no real window: zeros


def test_object_windows_groups_rows_in_order_of_first_appearance():
    features = np.arange(7 * 2, dtype="float32").reshape(7, 2)
    groups = ["b", "a", "b", "c", "a", "b", "b"]
    ids, x = object_windows(features, groups)
    assert ids == ["b", "a", "c"]
    assert x["windows"].shape == (3, 4, 2)
    np.testing.assert_array_equal(x["window_mask"], [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(x["windows"][0], features[[0, 2, 5, 6]])
    np.testing.assert_array_equal(x["windows"][1, :2], features[[1, 4]])
    np.testing.assert_array_equal(x["windows"][2, 1:], 0)
    _, capped = object_windows(features, groups, max_windows=2)  # evenly spread windows kept
    np.testing.assert_array_equal(capped["windows"][0], features[[0, 6]])


def _bags(n_per_class, rng, n_windows=6, layers=2, width=8):
    """Objects of 6 windows; the class shows only in one window per object (marked by feature 0),
    the other windows are noise of the same scale."""
    rows, groups, labels = [], [], []
    for k in range(2 * n_per_class):
        label = k % 2
        signal = rng.integers(n_windows)
        for w in range(n_windows):
            v = rng.normal(size=(layers, width))
            if w == signal:
                v[:, 0] = 4.0
                v[:, 1] = 3.0 if label else -3.0
            rows.append(v)
            groups.append(f"o{k}")
            labels.append(label)
    return np.array(rows, dtype="float32"), np.array(groups), np.array(labels)


def test_attention_finds_the_informative_window():
    rng = np.random.default_rng(1)
    train, val, test = _bags(40, rng), _bags(10, rng), _bags(40, rng)
    model, history = fit_window_pooling(*train, num_classes=2, validation=val, epochs=60, learning_rate=3e-3,
                                        patience=15, seed=0)
    assert "val_loss" in history.history
    ids, x = object_windows(test[0], list(test[1]))
    label = dict(zip(test[1], test[2]))
    accuracy = np.mean(np.asarray(model.predict(x, verbose=0)).argmax(1) == [label[o] for o in ids])
    assert accuracy >= 0.95
    # most of the attention goes to the window that carries the class
    weights = np.asarray(model.attention(x))
    informative = x["windows"][:, :, 0, 0] == 4.0
    assert weights[informative].mean() > 0.5 > weights[~informative].mean()
    assert isinstance(model, WindowPoolingClassifier)
