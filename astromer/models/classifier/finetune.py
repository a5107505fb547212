"""``astromer.finetune``: the three fine-tuning scenarios in one call."""

import keras
import numpy as np

from astromer.models.classifier.light_curve_classifier import LightCurveClassifier, encoder_lr_optimizer

SCENARIOS = ("a", "b", "c")


def _windows(split, encoder, class_names):
    from astromer.data.classification import labelled_windows

    if split is None:
        return None
    if not (isinstance(split, tuple) and len(split) == 2):
        raise TypeError("train/validation must be (light_curves, labels) tuples.")
    return labelled_windows(split[0], split[1], window_size=encoder.window_size, class_names=class_names)


def _feature_model(classifier):
    inputs = {k: keras.Input(shape=(classifier.encoder.window_size,), name=k)
              for k in ("times", "magnitudes", "mask")}
    return keras.Model(inputs, classifier.features(inputs, training=False))


def _head_model(classifier, n_layers):
    features = keras.Input(shape=(n_layers, classifier.encoder.width))
    return keras.Model(features, classifier.classification_head(features))


def reconstruction_finetune(encoder, light_curves, epochs=5, batch_size=64, learning_rate=1e-4,
                            seed=0, verbose="auto"):
    """Scenario (c), step 1: masked-reconstruction training of ``encoder`` on target curves."""
    from astromer.data import pretraining_dataset

    data = pretraining_dataset(light_curves, batch_size=batch_size, window_size=encoder.window_size, seed=seed)
    encoder.trainable = True
    encoder.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return encoder.fit(data, epochs=epochs, verbose=verbose)


def finetune(encoder, train, validation=None, scenario="a", *, head="skip", class_names=None, epochs=30,
             batch_size=64, learning_rate=1e-3, encoder_learning_rate=None, unlabelled=None,
             reconstruction_epochs=5, reconstruction_learning_rate=1e-4, then="a", patience=5,
             head_warmup=True, finetune_epochs=None, seed=0, verbose="auto"):
    """Fit a :class:`LightCurveClassifier` on ``train`` in scenario ``"a"``, ``"b"`` or ``"c"``.

    ``train`` and ``validation`` are ``(light_curves, labels)`` tuples (anything
    :func:`astromer.data.prepare_light_curves` takes; labels aligned with the curves
    or a mapping ``object_id -> label``). Every window of a curve is a sample.

    - ``"a"``: frozen encoder, only the head trains. The encoder's pooled features
      are computed once and the head is fitted on them (identical result, much faster).
    - ``"b"``: encoder and head train together (``encoder_learning_rate`` optional). With
      ``head_warmup`` (default) the head is first fitted on the frozen encoder as in
      ``"a"``, then both train for ``finetune_epochs`` (default ``epochs``): fine-tuning
      from a random head on a few dozen curves mostly damages the encoder.
    - ``"c"``: reconstruction fine-tuning of the encoder on the training curves plus
      ``unlabelled`` curves first, then scenario ``then`` (``"a"`` or ``"b"``).

    Early stopping on the validation loss (``patience`` epochs) restores the best
    weights. Returns ``(classifier, histories)``, histories a dict with the
    ``keras.callbacks.History`` of ``"reconstruction"`` (scenario c) and ``"classification"``.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if scenario == "c" and then not in ("a", "b"):
        raise ValueError(f"then must be 'a' or 'b', got {then!r}")
    keras.utils.set_random_seed(seed)
    histories = {}
    if scenario == "c":
        curves = train[0]
        if unlabelled is not None:
            import pandas as pd

            if isinstance(curves, pd.DataFrame):
                curves = pd.concat([curves, unlabelled], ignore_index=True)
            else:
                curves = list(curves) + list(unlabelled)
        histories["reconstruction"] = reconstruction_finetune(
            encoder, curves, epochs=reconstruction_epochs, learning_rate=reconstruction_learning_rate,
            batch_size=batch_size, seed=seed, verbose=verbose)
        scenario = then

    x, y, _, class_names = _windows(train, encoder, class_names)
    val = _windows(validation, encoder, class_names)
    warm = scenario == "b" and head_warmup
    classifier = LightCurveClassifier(encoder, len(class_names), head=head,
                                      train_encoder=(scenario == "b" and not warm), class_names=class_names)
    callbacks = []
    if val is not None and patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True))

    if scenario == "a" or warm:
        features = _feature_model(classifier)
        f_train = features.predict(x, batch_size=256, verbose=0)
        head = _head_model(classifier, f_train.shape[1])
        head.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        val_data = None
        if val is not None:
            val_data = (features.predict(val[0], batch_size=256, verbose=0), val[1])
        histories["head" if warm else "classification"] = head.fit(
            f_train, y, validation_data=val_data, epochs=epochs, batch_size=batch_size,
            callbacks=callbacks, verbose=verbose)
        if not warm:
            classifier.compile(optimizer=keras.optimizers.Adam(learning_rate))
            return classifier, histories
        classifier.set_encoder_trainable(True)
        epochs = finetune_epochs or epochs

    optimizer = keras.optimizers.Adam(learning_rate)
    if encoder_learning_rate is not None:
        optimizer = encoder_lr_optimizer(classifier, learning_rate, encoder_learning_rate)
    classifier.compile(optimizer=optimizer)
    val_data = (val[0], val[1]) if val is not None else None
    histories["classification"] = classifier.fit(x, y, validation_data=val_data, epochs=epochs,
                                                 batch_size=batch_size, callbacks=callbacks,
                                                 shuffle=True, verbose=verbose)
    return classifier, histories


def predict_windows(classifier, x, batch_size=256):
    """Window logits as a numpy array."""
    return np.asarray(classifier.predict(x, batch_size=batch_size, verbose=0))
