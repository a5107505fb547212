"""Scenario (b)'s training, shared by the per-window and the multi-band classifiers: encoder and
head together with layer-wise learning-rate decay, partial unfreezing, AdamW weight decay, linear
warm-up then cosine decay, optional magnitude jitter within the errors, and model selection on
validation macro F1 that includes the starting point (:class:`astromer.tasks.selection.SelectOnValidation`).

:mod:`astromer.tasks.finetune` (the scenarios) and :mod:`astromer.tasks.multiband` both call
:func:`fit_encoder`; it lives here so that neither imports the other for it.
"""

import math

import keras
import numpy as np

from astromer.models.classifier.light_curve_classifier import _set_trainable
from astromer.tasks.selection import SelectOnValidation


def layerwise_rates(classifier, encoder_learning_rate=1e-4, layer_decay=None):
    """``{variable path pattern: learning rate}`` for the encoder: ``encoder_learning_rate`` at its
    last block (and a pre-norm encoder's final norm), times ``layer_decay`` per block further down
    (the input embedding one step below the first block); ``layer_decay=None``: one rate for the whole encoder."""
    import re

    name = re.escape(classifier.encoder.name)
    if layer_decay is None:
        return {f"{name}/.*": encoder_learning_rate}
    n = getattr(classifier, "top_block", classifier.encoder.num_layers - 1) + 1  # blocks the head reads
    rates = {f"{name}/block_{i}/.*": encoder_learning_rate * layer_decay ** (n - 1 - i) for i in range(n)}
    rates[f"{name}/final_norm/.*"] = encoder_learning_rate  # a pre-norm encoder's output norm: on top
    rates[f"{name}/(?!block_|final_norm/).*"] = encoder_learning_rate * layer_decay ** n
    return rates


def layerwise_optimizer(classifier, learning_rate=1e-3, encoder_learning_rate=1e-4, layer_decay=None,
                        weight_decay=0.0, schedule=None):
    """A ``MultiOptimizer`` of AdamW: ``learning_rate`` for the head, :func:`layerwise_rates` for
    the encoder. ``schedule``: a function ``rate -> schedule`` (e.g. :func:`warmup_cosine`)
    applied to every rate."""
    make = schedule if schedule is not None else (lambda rate: rate)

    def adamw(rate):
        return keras.optimizers.AdamW(make(rate), weight_decay=weight_decay)

    groups = layerwise_rates(classifier, encoder_learning_rate, layer_decay)
    mapping = keras.optimizers.OptimizerMap(default_optimizer=adamw(learning_rate),
                                            optimizer_map={k: adamw(v) for k, v in groups.items()})
    return keras.optimizers.MultiOptimizer(mapping)


def warmup_cosine(total_steps, warmup_steps):
    """``rate -> schedule``: linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``total_steps``."""
    def make(rate):
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup_steps else rate, decay_steps=max(1, total_steps - warmup_steps),
            warmup_target=rate if warmup_steps else None, warmup_steps=warmup_steps)
    return make


def unfreeze_last_blocks(classifier, n_blocks):
    """Make only the last ``n_blocks`` encoder blocks trainable (None: the whole encoder)."""
    classifier.set_encoder_trainable(True)
    if n_blocks is None:
        return
    encoder = classifier.encoder
    top = getattr(classifier, "top_block", encoder.num_layers - 1)  # the last block the head reads
    keep = set(range(max(0, top + 1 - int(n_blocks)), top + 1))
    lower = classifier.input_layers() if hasattr(classifier, "input_layers") else [encoder.embedding]
    for layer in lower + [b for i, b in enumerate(encoder.blocks) if i not in keep]:
        _set_trainable(layer, False)


def jitter_magnitudes(x, errors, rng, scale=1.0):
    """A copy of windows ``x`` with each observed magnitude moved by N(0, (scale * error)^2)."""
    out = dict(x)
    noise = rng.standard_normal(errors.shape).astype("float32") * scale * errors
    out["magnitudes"] = (x["magnitudes"] + noise * x["mask"]).astype("float32")
    return out


class _Jittered(keras.utils.PyDataset):
    """Shuffled batches of windows with fresh magnitude jitter every epoch."""

    def __init__(self, x, y, errors, batch_size, seed, scale):
        super().__init__()
        self.x, self.y, self.errors, self.batch_size, self.scale = x, y, errors, batch_size, scale
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.y))

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x = {k: v[rows] for k, v in self.x.items()}
        return jitter_magnitudes(x, self.errors[rows], self.rng, self.scale), self.y[rows]


def fit_encoder(classifier, x, y, validation=None, *, epochs=10, batch_size=64, learning_rate=1e-3,
                encoder_learning_rate=1e-4, layer_decay=0.75, unfreeze_blocks=None, weight_decay=1e-4,
                warmup_fraction=0.1, errors=None, jitter=0.0, patience=None, callbacks=(), seed=0, verbose=0):
    """Scenario (b): train encoder and head of ``classifier`` together on windows ``x, y``.

    ``layer_decay``, ``weight_decay``, ``encoder_learning_rate``: see :func:`layerwise_optimizer`
    (learning rates warm up linearly over ``warmup_fraction`` of the steps, then decay by a cosine);
    ``unfreeze_blocks``: train only the last n blocks (None: all); ``errors``: per-observation
    magnitude errors aligned with ``x`` (``(N, W)``) to jitter the training magnitudes by
    ``jitter`` sigma each epoch (None or ``jitter=0``, the default: no augmentation; at 1 sigma
    every fine-tuned epoch scored 13-26 points below a's start on EROS-1's test objects, 8-13 with
    the encoder frozen: the jitter adds noise the test curves do not have, and the embedding
    statistics move with it, ``benchmarks/results/b_epochs_eros1.md``).
    ``callbacks``: more Keras callbacks for the fit (they run after the selection's).

    ``validation``: ``(x, y)`` or ``(x, y, groups)`` (groups: the object of each window, for
    object-level scores). With validation windows, the weights kept are those with the best
    validation macro F1 over the epochs *and the starting point*, an epoch counting as better only
    when its validation cross-entropy does not rise either and a paired bootstrap of the validation
    objects has it win with probability >= 0.9 (:class:`SelectOnValidation`: a few validation
    objects make macro F1 jump by whole objects); without, the last epoch's.
    Returns the History; ``history.selection`` is the :class:`SelectOnValidation` callback (or None).
    """
    keras.utils.set_random_seed(seed)
    encoder_learning_rate = learning_rate if encoder_learning_rate is None else encoder_learning_rate
    unfreeze_last_blocks(classifier, unfreeze_blocks)
    steps = epochs * math.ceil(len(y) / batch_size)
    schedule = warmup_cosine(steps, int(warmup_fraction * steps))
    classifier.compile(optimizer=layerwise_optimizer(classifier, learning_rate, encoder_learning_rate,
                                                     layer_decay, weight_decay, schedule))
    callbacks, selection = list(callbacks), None
    if validation is not None and len(validation[1]):
        groups = validation[2] if len(validation) > 2 else None
        selection = SelectOnValidation(validation[0], validation[1], groups, patience=patience)
        callbacks.insert(0, selection)
    if errors is not None and jitter:
        data = _Jittered(x, y, np.asarray(errors, "float32"), batch_size, seed, jitter)
        history = classifier.fit(data, epochs=epochs, callbacks=callbacks, verbose=verbose)
    else:
        history = classifier.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=callbacks, shuffle=True,
                                 verbose=verbose)
    history.selection = selection
    return history


__all__ = ["fit_encoder", "layerwise_rates", "layerwise_optimizer", "warmup_cosine", "unfreeze_last_blocks",
           "jitter_magnitudes"]
