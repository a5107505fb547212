"""Scenario b and c machinery: layer-wise rates, partial unfreezing, selection that includes the
starting point, jitter within the errors, reconstruction until the held-out R² stops improving."""

import keras
import numpy as np
import pytest

from astromer import Astromer, LightCurveClassifier
from astromer.data.classification import labelled_windows
from astromer.tasks.finetune import (
    SelectOnValidation,
    finetune,
    fit_encoder,
    jitter_magnitudes,
    layerwise_optimizer,
    layerwise_rates,
    macro_f1_and_log_loss,
    reconstruction_finetune,
    unfreeze_last_blocks,
)
from astromer.tasks.selection import win_probability

RNG = np.random.default_rng(5)


def _curve(kind, n):
    t = np.sort(RNG.uniform(0, 400, n))
    period = {"fast": 0.7, "slow": 37.0}[kind]
    mag = 15 + 0.5 * np.sin(2 * np.pi * t / period) + RNG.normal(0, 0.05, n)
    return np.stack([t, mag, np.full(n, 0.05)], 1)


def _data(n_per_class=10):
    curves, labels = [], []
    for kind in ("fast", "slow"):
        for _ in range(n_per_class):
            curves.append(_curve(kind, int(RNG.integers(30, 60))))
            labels.append(kind)
    return curves, labels


def _encoder(layers=3):
    keras.utils.set_random_seed(0)
    return Astromer(num_layers=layers, num_heads=2, head_dim=8, ffn_dim=16, window_size=50, dropout=0.0)


def test_layerwise_rates_decay_down_the_encoder():
    import re

    clf = LightCurveClassifier(_encoder(3), 2, train_encoder=True)
    patterns = layerwise_rates(clf, 1e-4, layer_decay=0.5)
    rates = {}
    for variable in clf.trainable_variables:
        if not variable.path.startswith(clf.encoder.name + "/"):
            continue
        matches = [rate for pattern, rate in patterns.items() if re.fullmatch(pattern, variable.path)]
        assert len(matches) == 1, variable.path
        rates.setdefault(variable.path.split("/")[1], set()).add(round(matches[0], 12))
    assert rates == {"block_2": {1e-4}, "block_1": {5e-5}, "block_0": {2.5e-5}, "embedding": {1.25e-5},
                     "final_norm": {1e-4}}
    # the optimizer built from them trains (each pattern gets its own AdamW)
    opt = layerwise_optimizer(clf, 1e-3, 1e-4, layer_decay=0.5, weight_decay=1e-4)
    x, y, _, _ = labelled_windows(*_data(2), window_size=50, class_names=["fast", "slow"])
    clf.compile(optimizer=opt)
    clf.fit(x, y, epochs=1, verbose=0)
    assert sorted(float(o.learning_rate) for o in opt.optimizers) == pytest.approx(
        [1.25e-5, 2.5e-5, 5e-5, 1e-4, 1e-4, 1e-3])


def test_unfreezing_only_the_last_block_leaves_the_rest_unchanged():
    encoder = _encoder(3)
    clf = LightCurveClassifier(encoder, 2)
    unfreeze_last_blocks(clf, 1)
    trainable = {v.path.split("/")[1] for v in clf.trainable_variables if v.path.startswith("astromer")}
    assert trainable == {"block_2", "final_norm"}  # the output norm of a pre-norm encoder sits on top
    before = {v.path: np.array(v) for v in encoder.weights}
    x, y, _, _ = labelled_windows(*_data(4), window_size=50, class_names=["fast", "slow"])
    fit_encoder(clf, x, y, epochs=2, unfreeze_blocks=1, learning_rate=1e-2, encoder_learning_rate=1e-2)
    changed = {p.split("/")[1] for p, w in before.items()
               if not np.array_equal(w, np.array(next(v for v in encoder.weights if v.path == p)))}
    assert changed == {"block_2", "final_norm"}


def test_selection_scores_the_real_start_and_keeps_the_best_weights_seen():
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, groups, _ = labelled_windows(*_data(6), window_size=50, class_names=["fast", "slow"])
    start_f1, start_loss = macro_f1_and_log_loss(clf, x, y, groups)
    history = fit_encoder(clf, x, y, (x, y, groups), epochs=3, learning_rate=50.0, encoder_learning_rate=50.0,
                          layer_decay=None, warmup_fraction=0.0)
    selection = history.selection
    assert isinstance(selection, SelectOnValidation)
    assert len(selection.scores) == 4 and selection.scores[0] == pytest.approx(start_f1)
    assert len(selection.losses) == 4 and selection.losses[0] == pytest.approx(start_loss)
    # replay the rule: an epoch is kept when its F1 rises, its cross-entropy does not, and a paired
    # bootstrap of the validation objects says it wins with probability >= 0.9
    kept = 0
    for epoch in range(1, 4):
        if selection.scores[epoch] > selection.scores[kept] and selection.losses[epoch] <= selection.losses[kept] \
                and win_probability(selection.labels, selection.predictions[epoch], selection.predictions[kept],
                                    2) >= 0.9:
            kept = epoch
    assert selection.best_epoch == kept and selection.best == pytest.approx(selection.scores[kept])
    assert macro_f1_and_log_loss(clf, x, y, groups) == pytest.approx((selection.best, selection.losses[kept]))
    assert history.history["val_macro_f1"] == pytest.approx(selection.scores[1:])
    assert history.history["val_object_log_loss"] == pytest.approx(selection.losses[1:])


class _Scripted(SelectOnValidation):
    """Selection whose validation scores are given: the start wins, every epoch is worse."""

    def __init__(self, scores, **kwargs):
        super().__init__(None, None, confidence=None, **kwargs)
        self._script = list(scores)

    def _score(self):
        return self._script.pop(0)


@pytest.mark.parametrize("patience, epochs_run", [(None, 3), (2, 2)])
def test_selection_restores_the_start_when_no_epoch_beats_it(patience, epochs_run):
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, _, _ = labelled_windows(*_data(4), window_size=50, class_names=["fast", "slow"])
    clf.compile(optimizer=keras.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    clf.predict(x, verbose=0)  # build
    start = [np.array(w) for w in clf.get_weights()]
    selection = _Scripted([0.9, 0.5, 0.9, 0.2], patience=patience)
    history = clf.fit(x, y, epochs=3, callbacks=[selection], verbose=0)
    assert len(history.history["loss"]) == epochs_run  # patience 2: stopped after two epochs without gain
    assert selection.best_epoch == 0 and selection.best == 0.9  # a tie does not replace the start
    trained = clf.get_weights()
    for before, after in zip(start, trained):
        np.testing.assert_array_equal(before, after)


class _ScriptedWithLoss(SelectOnValidation):
    """Selection whose validation macro F1 and cross-entropy are given."""

    def __init__(self, scores, losses, **kwargs):
        super().__init__(None, None, confidence=None, **kwargs)
        self._script = list(zip(scores, losses))

    def _score(self):
        f1, loss = self._script.pop(0)
        self.losses.append(loss)
        return f1


@pytest.mark.parametrize("require_lower_loss, kept", [(True, 3), (False, 1)])
def test_selection_asks_the_cross_entropy_to_agree_with_a_higher_macro_f1(require_lower_loss, kept):
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, _, _ = labelled_windows(*_data(4), window_size=50, class_names=["fast", "slow"])
    clf.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    # epoch 1: F1 up but the cross-entropy up too (a lucky flip); epoch 2: both worse than epoch 1;
    # epoch 3: F1 up and the cross-entropy down
    selection = _ScriptedWithLoss([0.6, 0.8, 0.7, 0.75], [0.50, 0.70, 0.60, 0.45],
                                  require_lower_loss=require_lower_loss)
    clf.fit(x, y, epochs=3, callbacks=[selection], verbose=0)
    assert selection.best_epoch == kept
    assert selection.best == [0.6, 0.8, 0.7, 0.75][kept]
    assert selection.best_loss == [0.50, 0.70, 0.60, 0.45][kept]


class _ScriptedPredictions(SelectOnValidation):
    """Selection whose validation predictions per epoch are given (the cross-entropy never rises)."""

    def __init__(self, labels, predictions, **kwargs):
        super().__init__(None, None, **kwargs)
        self._script, self._labels = [np.asarray(p) for p in predictions], np.asarray(labels)

    def _score(self):
        from sklearn.metrics import f1_score

        self.labels, self.n_classes = self._labels, 4
        self.predictions.append(self._script.pop(0))
        self.losses.append(0.5)
        return f1_score(self.labels, self.predictions[-1], average="macro")


def test_selection_keeps_an_epoch_only_when_the_bootstrap_says_it_wins():
    """20 validation objects, 5 per class: the start misses 4. Epoch 1 fixes one of them (F1 up by
    one object: a bootstrap win probability of 0.83), epoch 2 all four (0.996)."""
    labels = np.repeat(np.arange(4), 5)
    start = labels.copy()
    start[[0, 5, 10, 15]] = (start[[0, 5, 10, 15]] + 1) % 4
    one = start.copy()
    one[0] = 0
    assert win_probability(labels, one, start, 4) == pytest.approx(0.83, abs=0.03)
    assert win_probability(labels, labels, start, 4) > 0.99
    assert win_probability(labels, start, start, 4) == 0.5  # every resample a tie
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, _, _ = labelled_windows(*_data(2), window_size=50, class_names=["fast", "slow"])
    clf.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    selection = _ScriptedPredictions(labels, [start, one, start])
    clf.fit(x, y, epochs=2, callbacks=[selection], verbose=0)
    assert selection.best_epoch == 0 and selection.win_probabilities == [pytest.approx(0.83, abs=0.03), None]
    selection = _ScriptedPredictions(labels, [start, one, labels])
    clf.fit(x, y, epochs=2, callbacks=[selection], verbose=0)
    assert selection.best_epoch == 2 and selection.best == 1.0
    selection = _ScriptedPredictions(labels, [start, one, start], confidence=None)  # the gate off
    clf.fit(x, y, epochs=2, callbacks=[selection], verbose=0)
    assert selection.best_epoch == 1


def test_finetune_b_never_ends_below_its_warm_start_on_validation():
    train, val = _data(8), _data(4)
    clf, histories = finetune(_encoder(2), train, val, scenario="b", head="skip", epochs=20, finetune_epochs=3,
                              verbose=0, learning_rate=3e-3, encoder_learning_rate=1e-3)
    selection = histories["classification"].selection
    assert selection.best >= selection.scores[0]
    assert set(histories) == {"head", "classification"}


def test_jitter_moves_only_observed_magnitudes_within_their_errors():
    x, _, _, _ = labelled_windows(*_data(3), window_size=50, class_names=["fast", "slow"])
    errors = np.where(x["mask"] > 0, 0.1, 0.0).astype("float32")
    out = jitter_magnitudes(x, errors, np.random.default_rng(0))
    delta = out["magnitudes"] - x["magnitudes"]
    assert np.all(delta[x["mask"] == 0] == 0)
    observed = delta[x["mask"] > 0]
    assert 0.08 < observed.std() < 0.12 and abs(observed.mean()) < 0.01
    np.testing.assert_array_equal(out["times"], x["times"])


@pytest.mark.parametrize("jitter, jittered", [(None, False), (0.0, False), (1.0, True)])
def test_fine_tuning_jitters_only_when_asked(monkeypatch, jitter, jittered):
    # no augmentation by default, even with the errors at hand (1 sigma hurt every fine-tuned epoch
    # on EROS-1's test objects, benchmarks/results/b_epochs_eros1.md)
    import astromer.tasks.encoder_training as ft

    made = []

    class Spy(ft._Jittered):
        def __init__(self, *args):
            made.append(args[-1])
            super().__init__(*args)

    monkeypatch.setattr(ft, "_Jittered", Spy)
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, _, _ = labelled_windows(*_data(3), window_size=50, class_names=["fast", "slow"])
    errors = np.where(x["mask"] > 0, 0.3, 0.0).astype("float32")
    options = {} if jitter is None else {"jitter": jitter}
    fit_encoder(clf, x, y, epochs=1, errors=errors, **options)
    assert made == ([1.0] if jittered else [])


def test_fine_tuning_runs_extra_callbacks_after_the_selection():
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, len(selection_of[0].scores)))

    selection_of = []
    clf = LightCurveClassifier(_encoder(2), 2, head="mean")
    x, y, groups, _ = labelled_windows(*_data(4), window_size=50, class_names=["fast", "slow"])
    original = SelectOnValidation.on_train_begin

    def remember(self, logs=None):
        selection_of.append(self)
        original(self, logs)

    SelectOnValidation.on_train_begin = remember
    try:
        history = fit_encoder(clf, x, y, (x, y, groups), epochs=2, callbacks=[Watch()])
    finally:
        SelectOnValidation.on_train_begin = original
    assert selection_of == [history.selection]
    assert seen == [(0, 2), (1, 3)]  # each epoch is scored by the selection before the extra callback runs


def test_reconstruction_stops_on_the_held_out_r2_and_keeps_the_best():
    keras.utils.set_random_seed(0)
    encoder = _encoder(2)
    curves = [_curve("fast", 45) for _ in range(30)]
    history = reconstruction_finetune(encoder, curves, epochs=40, patience=1, learning_rate=3e-3, verbose=0)
    val = history.history["val_r2"]
    assert "r2" in history.history
    selection = history.selection
    assert selection.scores[1:] == pytest.approx(val) and selection.best == pytest.approx(max(selection.scores))
    assert selection.scores[0] < max(val)  # a random encoder: training beats the start
    # a large rate on 27 training curves: the held-out R² stops improving well before 40 epochs,
    # and the run ends one epoch (the patience) after its best
    assert len(val) < 40
    assert int(np.argmax(val)) == len(val) - 2


def test_reconstruction_keeps_the_start_when_training_only_hurts():
    """Scenario c never leaves the encoder worse on held-out curves than it started: a rate that
    wrecks the model in one epoch is rejected and the pretrained weights stay."""
    keras.utils.set_random_seed(0)
    encoder = _encoder(2)
    curves = [_curve("fast", 45) for _ in range(30)]
    reconstruction_finetune(encoder, curves, epochs=3, patience=1, learning_rate=3e-3, verbose=0)  # a "pretrained" start
    start = [np.array(w) for w in encoder.get_weights()]
    history = reconstruction_finetune(encoder, curves, epochs=3, patience=1, learning_rate=1e3, verbose=0)
    selection = history.selection
    assert selection.best_epoch == 0 and all(not (s > selection.scores[0]) for s in selection.scores[1:])
    assert len(selection.scores) == 2  # patience 1: stopped after the first epoch without a gain
    for before, after in zip(start, encoder.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_bootstrap_macro_f1_rows_equal_scikit_learn():
    from sklearn.metrics import f1_score

    from astromer.tasks.selection import _macro_f1_rows

    rng = np.random.default_rng(1)
    labels, predicted = rng.integers(0, 4, (50, 20)), rng.integers(0, 4, (50, 20))
    predicted[:5] = 0  # rows where a class is never predicted
    labels[5:8] = 2    # rows with one true class only
    expected = [f1_score(t, p, average="macro") for t, p in zip(labels, predicted)]
    np.testing.assert_allclose(_macro_f1_rows(labels, predicted, 4), expected, atol=1e-12)
