"""The few-shot harness's Astromer 2 scenarios on each window: ``a_skip`` (the head on the frozen
encoder's pooled features, early stopping on the validation loss), ``a_attention`` (those features
pooled over an object's windows by learned attention), ``b_skip`` (a_skip's head, then encoder
and head fine-tuned, the epoch kept by validation macro F1 per object, the start included) and
``c_skip`` (a_skip on the adapted encoder). Window logits are averaged per object. Each calls the
one implementation of :mod:`astromer.tasks.finetune` (and :mod:`astromer.tasks.window_pooling`).
"""

import time

import keras
import numpy as np

from astromer.evaluation.tabular import scores


class WindowScenarios:
    """Mixin of :class:`astromer.evaluation.fewshot.FewShotEvaluation` (uses its ``classes``,
    ``data``, the training options, ``_take``, ``_split_columns``, ``_predicted``, ``_record`` and
    ``_objectscores``)."""

    def _features(self, encoder, x):
        from astromer.models.classifier import LightCurveClassifier
        from astromer.tasks.finetune import feature_model

        probe = LightCurveClassifier(encoder, len(self.classes), head=self.head)
        return feature_model(probe).predict(x, batch_size=256, verbose=0)

    def _fit_head(self, encoder, features, labels, tr, va, classifier=None):
        """Scenario a (and the warm-up of b) by :func:`astromer.tasks.finetune.fit_head`."""
        from astromer.models.classifier import LightCurveClassifier
        from astromer.tasks.finetune import fit_head, head_model

        keras.utils.set_random_seed(self.seed)  # the head's initial weights do not depend on what ran before
        clf = classifier or LightCurveClassifier(encoder, len(self.classes), head=self.head)
        fit_head(clf, features[tr], labels[tr], (features[va], labels[va]), epochs=self.epochs,
                 batch_size=self.batch_size, learning_rate=self.learning_rate, patience=self.patience,
                 seed=self.seed, verbose=self.verbose)
        return head_model(clf, features.shape[1])

    def _run_frozen(self, method, encoder, features, labels, objects, splits, test_rows, bar, **extra):
        for split in splits:
            start = time.time()
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            model = self._fit_head(encoder, features, labels, tr, va)
            logits = model.predict(features[test_rows], batch_size=512, verbose=0)
            self._objectscores(method, split, logits, objects, test_rows, tr, va, seconds=time.time() - start,
                                **extra)
            bar.update(1)

    def _run_window_pooling(self, features, labels, objects, splits, test_rows, bar):
        """Scenario a's frozen features, pooled over each object's windows by learned attention
        (:func:`astromer.tasks.window_pooling.fit_window_pooling`); scored per object only."""
        from astromer.models.classifier import object_windows
        from astromer.tasks.window_pooling import fit_window_pooling

        test_ids, x_test = object_windows(features[test_rows], list(objects[test_rows]))
        y_test = [self.classes[self.data.labels[o]] for o in test_ids]
        for split in splits:
            start = time.time()
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            model, _ = fit_window_pooling(
                features[tr], objects[tr], labels[tr], len(self.classes), (features[va], objects[va], labels[va]),
                epochs=self.epochs, learning_rate=self.learning_rate, patience=self.patience, seed=self.seed,
                verbose=self.verbose)
            logits = model.predict(x_test, batch_size=256, verbose=0)
            info = self._split_columns(split, objects[tr], objects[va], test_ids, uses_validation=bool(va.any()))
            self._record([scores("a_attention", split["shots"], split["fold"], y_test, logits.argmax(1), "object",
                                 **info, seconds=time.time() - start)],
                         self._predicted("a_attention", split, test_ids, y_test, logits.argmax(1)))
            bar.update(1)

    def _run_finetuned(self, x, errors, features, labels, objects, splits, test_rows, bar):
        """Scenario b by :func:`astromer.tasks.finetune.fit_encoder`: the head is first fitted on
        the frozen features (as in a; ``features`` are shared with a), then encoder and head train
        together (layer-wise rate decay, optional jitter within the errors, warm-up + cosine); the weights
        kept are those with the best validation macro F1 per object (an epoch replaces them only when
        its validation cross-entropy does not rise either), the warmed-up start included.
        The row records which epoch was kept (``selected_epoch``; 0 = the start)."""
        from astromer.models.classifier import LightCurveClassifier
        from astromer.tasks.finetune import fit_encoder

        for split in splits:
            start = time.time()
            encoder = self.load_encoder()
            keras.utils.set_random_seed(self.seed)  # the head starts as scenario a's does (see _fit_head)
            clf = LightCurveClassifier(encoder, len(self.classes), head=self.head, train_encoder=False)
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            self._fit_head(encoder, features, labels, tr, va, classifier=clf)
            history = fit_encoder(
                clf, self._take(x, tr), labels[tr], (self._take(x, va), labels[va], objects[va]),
                epochs=self.finetune_epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                encoder_learning_rate=self.encoder_learning_rate, layer_decay=self.layer_decay,
                unfreeze_blocks=self.unfreeze_blocks, weight_decay=self.weight_decay,
                errors=None if errors is None else errors[tr], jitter=self.jitter, seed=self.seed,
                verbose=self.verbose)
            selected = history.selection.best_epoch if history.selection is not None else self.finetune_epochs
            logits = clf.predict(self._take(x, test_rows), batch_size=256, verbose=0)
            self._objectscores("b_skip", split, logits, objects, test_rows, tr, va, seconds=time.time() - start,
                                selected_epoch=selected, jitter=self.jitter)
            bar.update(1)
