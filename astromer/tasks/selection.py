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


def macro_f1(classifier, x, y, groups=None, batch_size=256):
    """Macro F1 of ``classifier`` on windows ``x``; per object (logits averaged) when ``groups`` are given."""
    from sklearn.metrics import f1_score

    logits = np.asarray(classifier.predict(x, batch_size=batch_size, verbose=0))
    if groups is None:
        return f1_score(y, logits.argmax(1), average="macro")
    ids, probs = aggregate_logits(logits, list(groups))
    label = dict(zip(groups, y))
    return f1_score([label[g] for g in ids], probs.argmax(1), average="macro")


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

    def on_train_begin(self, logs=None):
        self.scores = [self._score()]
        self.best_epoch, self.best = 0, self.scores[0]
        self.weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        score = self._score()
        self.scores.append(score)
        if logs is not None:
            logs[self.name] = score
        if score > self.best:
            self.best_epoch, self.best, self.weights = epoch + 1, score, self.model.get_weights()
        elif self.patience and epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.model.set_weights(self.weights)


class SelectOnValidation(KeepBest):
    """:class:`KeepBest` on the validation macro F1 of a classifier (scenario b)."""

    name = "val_macro_f1"

    def __init__(self, x, y, groups=None, batch_size=256, patience=None):
        super().__init__(patience)
        self.x, self.y, self.groups, self.batch_size = x, y, groups, batch_size

    def _score(self):
        return macro_f1(self.model, self.x, self.y, self.groups, self.batch_size)


class KeepBestReconstruction(KeepBest):
    """:class:`KeepBest` on the masked R² of held-out curves (scenario c's reconstruction)."""

    name = "val_r2"

    def __init__(self, validation, patience=None):
        super().__init__(patience)
        self.validation = validation

    def _score(self):
        return float(self.model.evaluate(self.validation, verbose=0, return_dict=True)["r2"])


__all__ = ["early_stopping", "macro_f1", "KeepBest", "SelectOnValidation", "KeepBestReconstruction"]
