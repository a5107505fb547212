"""The fine-tuning scenarios, implemented once: ``astromer.finetune``, ``astromer classify`` and the
few-shot harness (:mod:`astromer.evaluation.fewshot`) all call the functions here.

- :func:`fit_head`: scenario (a), a head on precomputed frozen-encoder features (and the warm-up of b).
- :func:`fit_encoder`: scenario (b), encoder and head together: layer-wise learning-rate decay,
  partial unfreezing (the last ``unfreeze_blocks`` blocks), AdamW weight decay, linear warm-up
  then cosine decay, magnitude jitter within the errors, and model selection on validation macro
  F1 that includes the starting point (so b never ends below its warmed-up head by selection).
  It lives in :mod:`astromer.tasks.encoder_training`, shared with the multi-band scenarios.
- scenario (c), step 1 (adapting the encoder to the target survey's unlabelled curves) lives in
  :mod:`astromer.tasks.adapt`; the keep-the-best-epoch callbacks in :mod:`astromer.tasks.selection`;
  attention pooling over an object's windows in :mod:`astromer.tasks.window_pooling`. Their public
  names are re-exported here.
"""

import keras
import numpy as np

from astromer.models.classifier.light_curve_classifier import LightCurveClassifier, encoder_lr_optimizer
from astromer.tasks.adapt import adapt, reconstruction_finetune
from astromer.tasks.encoder_training import (
    fit_encoder,
    jitter_magnitudes,
    layerwise_optimizer,
    layerwise_rates,
    unfreeze_last_blocks,
    warmup_cosine,
)
from astromer.tasks.selection import (
    KeepBest,
    KeepBestReconstruction,
    SelectOnValidation,
    early_stopping,
    macro_f1,
    macro_f1_and_log_loss,
)
from astromer.tasks.window_pooling import fit_window_pooling, predict_windows

SCENARIOS = ("a", "b", "c")


def _windows(split, encoder, class_names):
    from astromer.data.classification import labelled_windows

    if split is None:
        return None
    if not (isinstance(split, tuple) and len(split) == 2):
        raise TypeError("train/validation must be (light_curves, labels) tuples.")
    return labelled_windows(split[0], split[1], window_size=encoder.window_size, class_names=class_names)


def feature_model(classifier, image_shape=None):
    """A Keras model: window inputs (images ``image_shape`` for an :class:`ImageClassifier`) ->
    the pooled frozen-encoder features the head consumes."""
    if image_shape is not None:
        inputs = keras.Input(shape=tuple(image_shape), name="images")
    else:
        inputs = {k: keras.Input(shape=(classifier.encoder.window_size,), name=k)
                  for k in ("times", "magnitudes", "mask")}
    return keras.Model(inputs, classifier.features(inputs, training=False))


def head_model(classifier, n_layers):
    """A Keras model over ``classifier``'s own head (training it trains the classifier's head)."""
    features = keras.Input(shape=(n_layers, _encoder_width(classifier.encoder)))
    return keras.Model(features, classifier.classification_head(features))


def _encoder_width(encoder):
    return encoder.width if hasattr(encoder, "width") else encoder.embed_dim


def fit_head(classifier, features, labels, validation=None, *, epochs=200, batch_size=64, learning_rate=1e-3,
             patience=20, seed=0, verbose=0):
    """Scenario (a): fit ``classifier``'s head on precomputed ``features`` (from :func:`feature_model`).

    ``validation``: ``(features, labels)`` or None; early stopping (``patience``) on its loss
    (on the training loss when it is None or empty) restores the best weights. Returns the History.
    """
    keras.utils.set_random_seed(seed)
    model = head_model(classifier, features.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    val = validation if validation is not None and len(validation[1]) else None
    return model.fit(features, labels, validation_data=val, epochs=epochs, batch_size=batch_size,
                     callbacks=early_stopping(val, patience), verbose=verbose)


def finetune(encoder, train, validation=None, scenario="a", *, head=None, class_names=None, epochs=30,
             batch_size=64, learning_rate=1e-3, encoder_learning_rate=1e-4, unlabelled=None,
             reconstruction_epochs=20, reconstruction_learning_rate=1e-4, then="a", patience=5,
             head_warmup=True, finetune_epochs=None, layer_decay=0.75, unfreeze_blocks=None, weight_decay=1e-4,
             jitter=0.0, multiband=None, bands=None, seed=0, verbose="auto"):
    """Fit a classifier on ``train`` in scenario ``"a"``, ``"b"`` or ``"c"``.

    ``train`` and ``validation`` are ``(light_curves, labels)`` tuples (anything
    :func:`astromer.data.prepare_light_curves` takes; labels aligned with the curves
    or a mapping ``object_id -> label``).

    By default (``multiband=None`` and no ``head``) light curves get a
    :class:`~astromer.models.classifier.multiband.MultiBandClassifier`: one prediction per object
    from all its bands, scenario a's head the logistic probe on every band's embedding statistics
    (see ``multiband=True`` below). On both labelled surveys of ``benchmarks/results`` it
    classified far better than Astromer 2's per-window skip head (EROS-1 and Stripe 82 at 20 per
    class, the few-shot tables' ``a`` and ``a_skip``). ``head="skip"`` / ``"mean"`` / ``"max"`` (or
    ``multiband=False``) gives that per-window :class:`LightCurveClassifier` instead, where every
    window of a curve is a sample:

    - ``"a"``: frozen encoder, only the head trains (:func:`fit_head`, on the encoder's
      pooled features computed once: identical result, much faster).
    - ``"b"``: the head is first fitted as in ``"a"`` (``head_warmup``), then encoder and head
      train together for ``finetune_epochs`` (default ``epochs``) by :func:`fit_encoder`
      (``layer_decay``, ``unfreeze_blocks``, ``weight_decay``, ``jitter`` within the errors (off by default),
      selection on validation macro F1, with the cross-entropy and a bootstrap agreeing, the
      warmed-up start included).
    - ``"c"``: reconstruction fine-tuning of the encoder on the training curves plus
      ``unlabelled`` curves until the held-out masked R² stops improving (at most
      ``reconstruction_epochs``), then scenario ``then`` (``"a"`` or ``"b"``).

    ``multiband=True`` (the light-curve default): one prediction per object from all its bands, a
    :class:`~astromer.models.classifier.multiband.MultiBandClassifier` (``bands``: their order,
    default the sorted bands seen) fitted by :func:`astromer.tasks.multiband.fit_multiband`: in
    ``"a"`` its head is the logistic probe on the frozen band statistics (``epochs``,
    ``head_warmup`` and ``patience`` do not apply), ``"b"`` then fine-tunes through all bands as
    above, ``"c"`` adapts the encoder on every band's curves first.

    With an :class:`~astromer.AstroPT` encoder the same scenarios run on images: ``train`` and
    ``validation`` are ``(images (N, H, W, C), labels)``; the model is an
    :class:`~astromer.models.classifier.image_classifier.ImageClassifier` (``head`` ``"mean"``
    by default, or ``"skip"``); ``"c"`` first continues next-patch pretraining on the training
    plus ``unlabelled`` images (:func:`astromer.tasks.pretrain.pretrain_images`, at most
    ``reconstruction_epochs``, keeping the best held-out loss); ``jitter`` does not apply.

    Returns ``(classifier, histories)``, histories a dict with the ``keras.callbacks.History``
    of ``"reconstruction"`` (scenario c), ``"head"`` (the warm-up of b) and ``"classification"``
    (with ``multiband``: ``"probe"``, the fitted scikit-learn probe, instead of ``"head"``).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if scenario == "c" and then not in ("a", "b"):
        raise ValueError(f"then must be 'a' or 'b', got {then!r}")
    from astromer.models.astropt.astropt_model import AstroPT

    keras.utils.set_random_seed(seed)
    histories = {}
    images = isinstance(encoder, AstroPT)
    if scenario == "c":
        histories["reconstruction"] = adapt(encoder, train[0], unlabelled, images, epochs=reconstruction_epochs,
                                             learning_rate=reconstruction_learning_rate, batch_size=batch_size,
                                             seed=seed, verbose=verbose)
        scenario = then
    if multiband is None:
        multiband = head is None and not images
    if multiband:
        if images:
            raise ValueError("multiband=True is for light curves; an AstroPT encoder classifies images")
        if head is not None:
            raise ValueError(f"head={head!r} is for the per-window LightCurveClassifier; the multi-band "
                             "classifier's head is the logistic probe (pass multiband=False or leave head out)")
        return _finetune_multiband(encoder, train, validation, scenario, class_names=class_names, bands=bands,
                                   epochs=finetune_epochs or epochs, batch_size=batch_size,
                                   learning_rate=learning_rate, encoder_learning_rate=encoder_learning_rate,
                                   layer_decay=layer_decay, unfreeze_blocks=unfreeze_blocks,
                                   weight_decay=weight_decay, jitter=jitter, seed=seed, verbose=verbose,
                                   histories=histories)
    if images:
        from astromer.models.classifier.image_classifier import ImageClassifier

        x, y, class_names = _image_split(train, class_names)
        val = _image_split(validation, class_names)
        val = None if val is None else val[:2]  # (images, labels): one image per object
        classifier = ImageClassifier(encoder, len(class_names), head=head or "mean", class_names=class_names)
        features = feature_model(classifier, x.shape[1:])
        errors, jitter = None, 0
    else:
        x, y, _, class_names = _windows(train, encoder, class_names)
        val = _windows(validation, encoder, class_names)
        classifier = LightCurveClassifier(encoder, len(class_names), head=head or "skip", train_encoder=False,
                                          class_names=class_names)
        features = feature_model(classifier)
        errors = _window_errors(train, encoder) if jitter and scenario == "b" else None
    warm = scenario == "b" and head_warmup
    if scenario == "a" or warm:
        f_val = None if val is None else (features.predict(val[0], batch_size=256, verbose=0), val[1])
        histories["head" if warm else "classification"] = fit_head(
            classifier, features.predict(x, batch_size=256, verbose=0), y, f_val, epochs=epochs,
            batch_size=batch_size, learning_rate=learning_rate, patience=patience, seed=seed, verbose=verbose)
        if not warm:
            classifier.compile(optimizer=keras.optimizers.Adam(learning_rate))
            return classifier, histories
    histories["classification"] = fit_encoder(
        classifier, x, y, val, epochs=finetune_epochs or epochs,
        batch_size=batch_size, learning_rate=learning_rate, encoder_learning_rate=encoder_learning_rate,
        layer_decay=layer_decay, unfreeze_blocks=unfreeze_blocks, weight_decay=weight_decay, errors=errors,
        jitter=jitter, seed=seed, verbose=verbose)
    return classifier, histories


def _finetune_multiband(encoder, train, validation, scenario, *, class_names, bands, epochs, jitter, seed, verbose,
                        histories, **options):
    """:func:`finetune`'s multi-band path (scenario ``"a"`` or ``"b"``; c's adaptation already ran)."""
    from astromer.data.classification import labelled_band_windows
    from astromer.models.classifier.multiband import MultiBandClassifier
    from astromer.tasks.multiband import fit_multiband

    for split in (train, validation):
        if split is not None and not (isinstance(split, tuple) and len(split) == 2):
            raise TypeError("train/validation must be (light_curves, labels) tuples.")
    x, y, _, errors, class_names, bands = labelled_band_windows(
        train[0], train[1], window_size=encoder.window_size, class_names=class_names, bands=bands)
    val = None
    if validation is not None:
        vx, vy, v_objects, _, _, _ = labelled_band_windows(validation[0], validation[1],
                                                           window_size=encoder.window_size,
                                                           class_names=class_names, bands=bands)
        val = (vx, vy, v_objects)
    keras.utils.set_random_seed(seed)
    classifier = MultiBandClassifier(encoder, len(class_names), bands, class_names=class_names)
    fit = fit_multiband(classifier, x, y, val, finetune_epochs=epochs if scenario == "b" else 0,
                        errors=errors if jitter else None, jitter=jitter, seed=seed,
                        verbose=verbose, **options)
    histories["probe"] = fit.probe
    if fit.history is not None:
        histories["classification"] = fit.history
    return classifier, histories


def _image_split(split, class_names):
    """``(images float32, integer labels, class names)`` of an ``(images, labels)`` pair."""
    if split is None:
        return None
    if not (isinstance(split, tuple) and len(split) == 2):
        raise TypeError("train/validation must be (images, labels) tuples for an AstroPT encoder.")
    images, labels = np.asarray(split[0], "float32"), [str(v) for v in split[1]]
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(f"images must be (N, H, W, C) with one label each; got shape {images.shape} and "
                         f"{len(labels)} labels")
    names = sorted(set(labels)) if class_names is None else [str(c) for c in class_names]
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(f"labels {unknown} are not in class_names {names}")
    index = {c: i for i, c in enumerate(names)}
    return images, np.asarray([index[v] for v in labels], "int64"), names


def _window_errors(split, encoder):
    """Per-observation errors of ``split``'s windows (aligned with :func:`_windows`), or None without errors."""
    from astromer.data.classification import window_inputs

    prepared, windows = window_inputs(split[0], window_size=encoder.window_size)
    if not prepared.has_errors or windows.errors is None:
        return None
    return windows.errors


__all__ = ["SCENARIOS", "finetune", "fit_head", "fit_encoder", "reconstruction_finetune", "adapt",
           "layerwise_optimizer", "layerwise_rates", "encoder_lr_optimizer", "unfreeze_last_blocks", "KeepBest",
           "SelectOnValidation", "KeepBestReconstruction", "feature_model", "head_model", "macro_f1",
           "macro_f1_and_log_loss", "warmup_cosine", "jitter_magnitudes", "early_stopping", "fit_window_pooling",
           "predict_windows"]
