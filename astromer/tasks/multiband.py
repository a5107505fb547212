"""The scenarios for a :class:`~astromer.models.classifier.multiband.MultiBandClassifier`: every
band of an object through one shared encoder, one prediction per object.

- scenario (a): the head is the logistic probe (:func:`astromer.hybrid.embedding_probe`: ``C`` by
  cross-validated macro F1 on the training objects) fitted on the frozen encoder's band
  statistics and copied into the model, which then predicts exactly as the probe does;
- scenario (b): then encoder and head train together through the object-level loss by
  :func:`astromer.tasks.encoder_training.fit_encoder` (layer-wise rate decay, warm-up + cosine, optional jitter
  within the errors), keeping the epoch with the best validation macro F1 per object, the probe's
  start included (a later epoch counts only when the validation cross-entropy does not rise);
- scenario (c): the encoder is first adapted by masked reconstruction on the survey's curves of
  every band (:func:`astromer.tasks.adapt.adapt`), then (a) or (b).

:func:`astromer.finetune` (``multiband=True``) and the few-shot harness's ``multiband`` methods
call :func:`fit_multiband`.
"""

from dataclasses import dataclass

import keras
import numpy as np

from astromer.models.batched_inference import require_finite


@dataclass
class MultiBandFit:
    """What :func:`fit_multiband` did: the fitted probe (scenario a's head) and, for scenario b,
    the fine-tuning History (``history.selection.best_epoch``: the epoch kept, 0 = the probe)."""

    probe: object
    history: object = None

    @property
    def selected_epoch(self):
        """The fine-tuning epoch kept (0: the probe's start), or None without fine-tuning."""
        selection = getattr(self.history, "selection", None)
        return None if selection is None else selection.best_epoch


def band_features(classifier, x, batch_size=256, names=None):
    """``(S, 2 d K)`` frozen band statistics (:meth:`MultiBandClassifier.features`) of samples
    ``x`` (dict of ``(S, K, W)``), computed in inference mode. ``names``: the object of each
    sample, named in the error when a statistic is not finite (default: the sample's index).
    The samples are cut first (:meth:`MultiBandClassifier.trim`)."""
    x, _ = classifier.trim(x)
    shape = x["mask"].shape[1:]
    inputs = {k: keras.Input(shape=shape, name=k) for k in x if k in ("times", "magnitudes", "mask", "key_bias")}
    model = keras.Model(inputs, classifier.features(inputs, training=False))
    features = np.asarray(model.predict({k: x[k] for k in inputs}, batch_size=batch_size, verbose=0), "float64")
    if names is None:
        require_finite(features, list(range(len(features))), "band statistics of sample")
    else:
        require_finite(features, list(names), "band statistics of object")
    return features


def fit_multiband(classifier, x, y, validation=None, *, features=None, finetune_epochs=0, batch_size=64,
                  learning_rate=3e-4, encoder_learning_rate=3e-5, layer_decay=0.75, unfreeze_blocks=None,
                  weight_decay=1e-4, errors=None, jitter=0.0, callbacks=(), seed=0, verbose=0):
    """Scenario (a), and (b) with ``finetune_epochs`` > 0, on a :class:`MultiBandClassifier`.

    ``x``: dict of ``(S, K, W)`` samples (:func:`astromer.data.classification.band_windows`),
    ``y``: their integer labels (every class 0..C-1 present); ``validation``: ``(x, y, objects)``
    (objects: the object of each sample, for object-level selection) or None. ``features``: the
    frozen encoder's :func:`band_features` of ``x`` when already computed (None: computed here).
    ``errors``: ``(S, K, W)`` magnitude errors to jitter the training magnitudes by ``jitter``
    sigma (None or 0, the default: no augmentation). The other arguments (``callbacks``: more Keras
    callbacks for the fine-tuning) go to :func:`astromer.tasks.encoder_training.fit_encoder`.
    The samples (training and validation) are cut by :meth:`MultiBandClassifier.trim` first: the
    same batches and logits, less compute when every curve is shorter than a window.
    Returns :class:`MultiBandFit`; the classifier is compiled and left as selected.
    """
    from astromer.hybrid import embedding_probe
    from astromer.tasks.encoder_training import fit_encoder

    x, errors = classifier.trim(x, errors)  # the same batches, without the padding every sample shares
    if validation is not None:
        validation = (classifier.trim(validation[0])[0], *validation[1:])
    y = np.asarray(y)
    missing = sorted(set(range(classifier.num_classes)) - set(y.tolist()))
    if missing:
        names = list(classifier.class_names or range(classifier.num_classes))
        raise ValueError(f"class(es) {[names[i] for i in missing]} have no training object (none labelled, or "
                         "cleaning left none with data); the multi-band head needs every class")
    keras.utils.set_random_seed(seed)
    classifier.set_encoder_trainable(False)
    if features is None:
        features = band_features(classifier, x, batch_size=max(batch_size, 256))
    elif len(features) != len(y) or features.shape[1] != classifier.feature_size:
        raise ValueError(f"features must be ({len(y)}, {classifier.feature_size}) band statistics of x; got "
                         f"{tuple(features.shape)}")
    probe = embedding_probe(seed, y=y).fit(features, y)
    classifier.set_head_from_probe(probe)
    if not finetune_epochs:
        classifier.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return MultiBandFit(probe)
    history = fit_encoder(classifier, x, y, validation, epochs=finetune_epochs, batch_size=batch_size,
                          learning_rate=learning_rate, encoder_learning_rate=encoder_learning_rate,
                          layer_decay=layer_decay, unfreeze_blocks=unfreeze_blocks, weight_decay=weight_decay,
                          errors=errors, jitter=jitter, callbacks=callbacks, seed=seed, verbose=verbose)
    return MultiBandFit(probe, history)


__all__ = ["MultiBandFit", "band_features", "fit_multiband"]
