"""Model selection on held-out data, the starting point included: the callbacks and scores that
scenarios b and c keep their best epoch by (:mod:`astromer.tasks.finetune`, :mod:`astromer.tasks.adapt`)."""

import keras
import numpy as np

from astromer.models.classifier.light_curve_classifier import aggregate_logits


def early_stopping(validation, patience, monitor="val_loss"):
    """Early stopping on the validation loss, or on the training loss without validation objects."""
    if not patience:
        return []
    if validation is None or len(validation[1]) == 0:
        return [keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=True)]
    return [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)]


def _probabilities(classifier, x, y, groups, batch_size):
    """``(labels, probabilities)`` per window, or per object (logits averaged) with ``groups``."""
    logits = np.asarray(classifier.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    if groups is None:
        from scipy.special import softmax

        return np.asarray(y), softmax(logits, axis=1)
    ids, probs = aggregate_logits(logits, list(groups))
    label = dict(zip(groups, y))
    return np.array([label[g] for g in ids]), probs


def macro_f1(classifier, x, y, groups=None, batch_size=256):
    """Macro F1 of ``classifier`` on windows ``x``; per object (logits averaged) when ``groups`` are given."""
    return macro_f1_and_log_loss(classifier, x, y, groups, batch_size)[0]


def macro_f1_and_log_loss(classifier, x, y, groups=None, batch_size=256):
    """``(macro F1, mean cross-entropy)`` of ``classifier`` on windows ``x``, per object (logits
    averaged, then softmax) when ``groups`` are given."""
    return _f1_and_log_loss(*_probabilities(classifier, x, y, groups, batch_size))


def _f1_and_log_loss(labels, probs):
    from sklearn.metrics import f1_score, log_loss

    f1 = f1_score(labels, probs.argmax(1), average="macro")
    return f1, float(log_loss(labels, probs, labels=np.arange(probs.shape[1])))


class KeepBest(keras.callbacks.Callback):
    """Keep the weights with the best validation score (higher is better), the starting point
    (epoch 0) included, and restore them at the end, also when training ran every epoch.
    ``best_epoch`` (0 = the starting point) and ``scores`` (start first) say what happened;
    each epoch's score is logged as ``name``. Subclasses define :meth:`_score`."""

    name = "val_score"

    def __init__(self, patience=None):
        super().__init__()
        self.patience = patience

    def _score(self):
        raise NotImplementedError

    def _improves(self, score):
        """Whether the epoch just scored replaces the kept weights (a tie does not)."""
        return score > self.best

    def on_train_begin(self, logs=None):
        self.scores = [self._score()]
        self.best_epoch, self.best = 0, self.scores[0]
        self.weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        score = self._score()
        self.scores.append(score)
        if logs is not None:
            logs[self.name] = score
        if self._improves(score):
            self.best_epoch, self.best, self.weights = epoch + 1, score, self.model.get_weights()
        elif self.patience and epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.model.set_weights(self.weights)


def _macro_f1_rows(labels, predicted, n_classes):
    """Macro F1 of every row of ``labels`` / ``predicted`` (``(R, n)`` integer arrays), over the
    classes present in either (scikit-learn's ``f1_score(average="macro")`` per row)."""
    rows = np.arange(len(labels))[:, None]
    true = np.zeros((len(labels), n_classes))
    pred, hit = np.zeros_like(true), np.zeros_like(true)
    np.add.at(true, (rows, labels), 1)
    np.add.at(pred, (rows, predicted), 1)
    np.add.at(hit, (rows, labels), labels == predicted)
    present = (true + pred) > 0
    f1 = np.divide(2 * hit, true + pred, out=np.zeros_like(true), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def win_probability(labels, new, old, n_classes, resamples=1000, seed=0):
    """Paired bootstrap over the validation objects: the fraction of resamples in which the
    predictions ``new`` have a higher macro F1 than ``old`` (ties count half)."""
    labels, new, old = (np.asarray(v, dtype=int) for v in (labels, new, old))
    idx = np.random.default_rng(seed).integers(0, len(labels), size=(resamples, len(labels)))
    diff = _macro_f1_rows(labels[idx], new[idx], n_classes) - _macro_f1_rows(labels[idx], old[idx], n_classes)
    return float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))


class SelectOnValidation(KeepBest):
    """:class:`KeepBest` on the validation macro F1 of a classifier (scenario b).

    An epoch replaces the kept weights only when its validation macro F1 is higher and

    - ``require_lower_loss`` (default): its validation cross-entropy (per object with ``groups``)
      is not higher than the kept weights';
    - ``confidence`` (default 0.9): in at least that fraction of paired bootstrap resamples of the
      validation objects its macro F1 beats the kept weights' (:func:`win_probability`; None: off).

    A few validation objects per class make macro F1 jump by whole objects: with the loss check
    alone, later epochs replaced the start in 3 of 6 multi-band EROS-1 splits and each scored
    below it on the test set; the bootstrap keeps an epoch out unless the validation set can
    tell it apart from the start. ``losses`` lists the cross-entropy of every epoch, the start
    first; ``win_probabilities`` the bootstrap probability of every epoch against the weights
    kept before it (None where the F1 or the loss already ruled it out)."""

    name = "val_macro_f1"

    def __init__(self, x, y, groups=None, batch_size=256, patience=None, require_lower_loss=True, confidence=0.9):
        super().__init__(patience)
        self.x, self.y, self.groups, self.batch_size = x, y, groups, batch_size
        self.require_lower_loss, self.confidence = require_lower_loss, confidence
        self.losses, self.predictions, self.win_probabilities = [], [], []

    @property
    def best_loss(self):
        """The validation cross-entropy of the kept weights (None before any was scored)."""
        return self.losses[self.best_epoch] if len(self.losses) > self.best_epoch else None

    def _score(self):
        labels, probs = _probabilities(self.model, self.x, self.y, self.groups, self.batch_size)
        self.labels, self.n_classes = labels, probs.shape[1]
        self.predictions.append(probs.argmax(1))
        f1, loss = _f1_and_log_loss(labels, probs)
        self.losses.append(loss)
        return f1

    def _improves(self, score):
        kept = self.best_loss
        if score <= self.best or (self.require_lower_loss and kept is not None and self.losses[-1] > kept):
            self.win_probabilities.append(None)
            return False
        if self.confidence is None:
            self.win_probabilities.append(None)
            return True
        p = win_probability(self.labels, self.predictions[-1], self.predictions[self.best_epoch], self.n_classes)
        self.win_probabilities.append(p)
        return p >= self.confidence

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None and self.losses:
            logs["val_object_log_loss"] = self.losses[-1]


class KeepBestReconstruction(KeepBest):
    """:class:`KeepBest` on the masked R² of held-out curves (scenario c's reconstruction)."""

    name = "val_r2"

    def __init__(self, validation, patience=None):
        super().__init__(patience)
        self.validation = validation

    def _score(self):
        return float(self.model.evaluate(self.validation, verbose=0, return_dict=True)["r2"])


__all__ = ["early_stopping", "macro_f1", "macro_f1_and_log_loss", "win_probability", "KeepBest", "SelectOnValidation",
           "KeepBestReconstruction"]
