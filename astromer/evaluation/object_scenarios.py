"""The few-shot harness's Astromer scenarios a, b, c and c_b: one prediction per object from all
its bands (:class:`~astromer.models.classifier.multiband.MultiBandClassifier`), fitted by
:func:`astromer.tasks.multiband.fit_multiband`, the same function as
``astromer.finetune(..., multiband=True)`` and ``astromer classify --multiband``.

- ``a``: frozen encoder; the head is the class-balanced logistic probe on every band's embedding
  mean and std (every block). The band statistics of every object are computed once per run and
  shared by the splits (identical to computing them per split: the encoder is frozen).
- ``b``: ``a``'s head, then encoder and head fine-tuned through the object-level loss; the
  epoch kept is the one with the best validation macro F1 per object, a's start included
  (``selected_epoch``, 0 = the start; ``jitter``: the magnitude jitter it trained with, in error sigmas).
- ``c`` / ``c_b``: ``a`` / ``b`` on the encoder adapted to the survey by masked reconstruction
  (shared with every ``_c`` method of the run).
"""

import time

import keras
import numpy as np

from astromer.evaluation.methods import OBJECT_SCENARIOS


class ObjectScenarios:
    """Mixin of :class:`astromer.evaluation.fewshot.FewShotEvaluation` (uses its ``classes``,
    ``data``, ``prepared``, the training options, ``_take`` and ``_objectscores``)."""

    def _band_windows(self, encoder):
        """The harness's cleaned curves as multi-band samples (:func:`astromer.data.classification.band_samples`)
        for ``encoder``, cut to the length every sample fits in (:meth:`MultiBandClassifier.trim`):
        ``(x, labels, objects, errors, bands)``, one row per object (per window position of its
        longest band)."""
        from astromer.data.classification import band_samples
        from astromer.data.windows import window_curves
        from astromer.models.classifier.multiband import MultiBandClassifier

        windows = window_curves(self.prepared.curves, window_size=encoder.window_size)
        objects, x, errors, bands = band_samples(self.prepared, windows)
        x, errors = MultiBandClassifier(encoder, len(self.classes), bands).trim(x, errors)
        objects = np.array(objects)
        labels = np.array([self.classes[self.data.labels[o]] for o in objects])
        return x, labels, objects, errors, bands

    def _run_object_scenario(self, method, start, splits, bar, **extra):
        """Scenario ``method`` (a key of ``OBJECT_SCENARIOS``) on every split from the encoder
        ``start`` (used as it is when frozen; a fresh copy per split when it is fine-tuned)."""
        from astromer.models.classifier.multiband import MultiBandClassifier
        from astromer.tasks.encoders import fresh_copy
        from astromer.tasks.multiband import band_features, fit_multiband

        _, finetuned = OBJECT_SCENARIOS[method]
        encoder = start
        x, labels, objects, errors, bands = self._band_windows(encoder)
        test_rows = np.isin(objects, self.data.test_ids)
        features = None
        if not finetuned:  # frozen: every sample's band statistics once
            features = band_features(MultiBandClassifier(encoder, len(self.classes), bands), x, names=objects)
        for split in splits:
            began = time.time()
            if finetuned:
                encoder = fresh_copy(start)
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            keras.utils.set_random_seed(self.seed)
            clf = MultiBandClassifier(encoder, len(self.classes), bands)
            fit = fit_multiband(
                clf, self._take(x, tr), labels[tr], (self._take(x, va), labels[va], objects[va]),
                features=None if features is None else features[tr],
                finetune_epochs=self.finetune_epochs if finetuned else 0, batch_size=self.batch_size,
                learning_rate=self.learning_rate, encoder_learning_rate=self.encoder_learning_rate,
                layer_decay=self.layer_decay, unfreeze_blocks=self.unfreeze_blocks, weight_decay=self.weight_decay,
                errors=None if errors is None else errors[tr], jitter=self.jitter, seed=self.seed,
                verbose=self.verbose)
            if features is None:
                logits = clf.predict(self._take(x, test_rows), batch_size=256, verbose=0)
            else:
                logits = keras.ops.convert_to_numpy(clf.head(features[test_rows].astype("float32")))
            if finetuned:
                selected = fit.selected_epoch
                row = {"selected_epoch": self.finetune_epochs if selected is None else selected,
                       "jitter": self.jitter}
            else:  # the probe trains on the training objects only
                row, va = {}, np.zeros_like(va)
            self._objectscores(method, split, logits, objects, test_rows, tr, va, seconds=time.time() - began,
                                **row, **extra)
            bar.update(1)
