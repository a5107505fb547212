"""Long curves: attention pooling over an object's windows (a learned pooling, not only a mean of
window logits), trained on the frozen encoder's window features."""

import keras
import numpy as np

from astromer.tasks.selection import early_stopping


def predict_windows(classifier, x, batch_size=256):
    """Window logits as a numpy array."""
    return np.asarray(classifier.predict(x, batch_size=batch_size, verbose=0))


def fit_window_pooling(features, groups, labels, num_classes, validation=None, *, epochs=200, batch_size=32,
                       learning_rate=3e-4, patience=20, seed=0, max_windows=None, verbose=0):
    """Fit a :class:`astromer.models.classifier.WindowPoolingClassifier` on window features grouped per object.

    ``features``, ``groups``, ``labels``: one row per window (``labels`` the object's class
    index, the same for all its windows); ``validation``: ``(features, groups, labels)`` or
    None (early stopping on its loss, else on the training loss; best weights kept).
    Returns ``(model, history)``; ``model.predict(object_windows(...)[1])`` gives object logits.
    """
    from astromer.models.classifier.window_pooling import WindowPoolingClassifier, object_windows

    def grouped(f, g, y):
        ids, x = object_windows(f, list(g), max_windows)
        label = dict(zip(g, y))
        return x, np.array([label[o] for o in ids])

    keras.utils.set_random_seed(seed)
    x, y = grouped(features, groups, labels)
    val = grouped(*validation) if validation is not None and len(validation[2]) else None
    model = WindowPoolingClassifier(num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    history = model.fit(x, y, validation_data=val, epochs=epochs, batch_size=batch_size,
                        callbacks=early_stopping(val, patience), verbose=verbose)
    return model, history


__all__ = ["fit_window_pooling", "predict_windows"]
