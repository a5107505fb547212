"""The few-shot evaluation harness: Astromer scenarios a/b/c and baselines on labelled light curves.

Protocol (Astromer 2): a fixed test set; for each of ``folds`` folds and each
number of samples per class in ``shots``, draw that many training objects per
class (and a small validation set) from the training pool with a fold-specific
seed; fit; score macro F1 and accuracy on the test set, per object (window
logits averaged over the object's windows and bands) and per window.

The folds come from :func:`astromer.data.splits.fewshot_folds`, the same
splitter as ``astromer records convert --splits fewshot``: training gets its
shots first (all of a class's pool when it is smaller), validation what is left.
A class short of shots + validation is reported, and every result row records
the real training / validation counts per class that the method used.

Methods (``METHODS``; family in ``METHOD_FAMILY``):

- ``a``, ``b``, ``c``, ``c_b`` (family ``astromer``): the scenarios on one prediction per object
  from all its bands (:mod:`astromer.evaluation.object_scenarios`,
  :class:`~astromer.models.classifier.multiband.MultiBandClassifier`): a, the frozen encoder with
  the logistic probe on every band's embedding statistics as the head; b, a's head then encoder
  and head fine-tuned through the object-level loss, the epoch kept by validation macro F1 per
  object with a's start included (``selected_epoch``); c / c_b, a / b on the encoder adapted by
  reconstruction.
- ``a_skip``, ``b_skip``, ``c_skip`` (``astromer``): Astromer 2's scenarios: its skip head
  on each window (band by band), window logits averaged per object.
- ``a_attention`` (``astromer``): a_skip's frozen features, pooled over each object's
  windows by learned attention (:mod:`astromer.models.classifier.window_pooling`) instead of a
  mean of window logits.
- ``gru`` (``raw``): a GRU on the raw windows.
- ``rf``, ``hgb`` (``features``): a class-balanced random forest / histogram
  gradient boosting on the 16 variability features per band of
  :mod:`astromer.baselines.features`.
- ``rf_lc``, ``hgb_lc`` (``features``): the same classifiers on the ~34
  light-curve-package features per band (:mod:`astromer.baselines.lc_features`).
- ``probe`` (``astromer``): a logistic probe (C by cross-validated macro F1 on the training
  objects) on the pretrained encoder's object embeddings: mean and std over each band's
  observation embeddings, bands side by side (:func:`astromer.hybrid.embedding_probe`).
- ``hybrid_rf``, ``hybrid_hgb`` (``hybrid``): :class:`astromer.hybrid.HybridClassifier`, the
  light-curve features plus out-of-fold probabilities of that probe, into a forest / boosting.
- ``probe_c`` (``astromer``), ``hybrid_rf_c`` (``hybrid``): the probe and the forest hybrid on
  the embeddings of the encoder adapted by scenario c's reconstruction (one reconstruction per
  run, shared with ``c``; the rows record what it did).
- ``probe_fold``, ``hybrid_rf_fold``, ``hybrid_hgb_fold`` (``hybrid``: the period is a
  light-curve feature): the same on embeddings of each object's curves folded on its
  periodogram period (:func:`astromer.data.fold_light_curves`); ``probe_fold`` puts the
  unfolded and folded embeddings side by side, the hybrids stack a probe on the folded ones.
  The rows record ``unfolded_objects``: objects without a period (zeros instead).

Feature, probe and hybrid methods and the frozen a and c train on the training objects only
(``uses_validation`` False): each feature set is computed once per run and shared by every split.

Besides ``results.csv``, every object-level row's predictions go to ``predictions.csv`` (one row
per method, shots, fold and test object: ``object_id``, ``true_class``, ``predicted_class``),
rewritten after each split like results.csv and kept by ``resume``.
"""

import hashlib
import json
import logging
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from astromer.evaluation.methods import (
    ADAPTED_METHODS,
    EMBEDDING_METHODS,
    FEATURE_METHODS,
    METHOD_NAMES,
    METHODS,
    OBJECT_SCENARIOS,
    WINDOW_METHODS,
)
from astromer.evaluation.object_scenarios import ObjectScenarios
from astromer.evaluation.report import PREDICTION_COLUMNS, PREDICTIONS_FILE, read_predictions
from astromer.evaluation.tabular import TabularMethods, scores
from astromer.evaluation.window_scenarios import WindowScenarios
from astromer.io import atomic_path

log = logging.getLogger("astromer.evaluate")


def default_val_per_class(shots):
    """Validation objects per class wanted for ``shots`` training objects: ``max(5, shots // 4)``."""
    return max(5, int(shots) // 4)


def fewshot_splits(labels, pool_ids, shots=(20, 100, 500), folds=3, seed=0, val_per_class=None):
    """Training/validation object ids per (fold, shots), by the shared splitter
    :func:`astromer.data.splits.fewshot_folds`: ``shots`` per class for training (all of a
    class's pool objects when it has fewer) first, then up to ``val_per_class`` (default
    ``max(5, shots // 4)``) disjoint validation objects per class from what is left.

    Each split is a dict with ``fold``, ``shots``, ``train``, ``val``, the real counts
    ``train_per_class`` / ``val_per_class`` and ``notes`` (a line per class short of
    shots + validation)."""
    from astromer.data.splits import fewshot_folds

    labels = labels.astype(str)
    return fewshot_folds(labels, shots=shots, folds=folds, seed=seed, pool_ids=pool_ids,
                         n_val=default_val_per_class if val_per_class is None else val_per_class,
                         classes=sorted(labels.unique()))


def split_signature(split, test_ids=()):
    """A short hash of a split's training, validation and test ids (checked by ``resume``)."""
    text = "\n|\n".join("\n".join(sorted(map(str, ids))) for ids in (split["train"], split["val"], test_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _counts_text(counts):
    return json.dumps({str(k): int(v) for k, v in sorted(counts.items())}, ensure_ascii=False)


class FewShotEvaluation(ObjectScenarios, WindowScenarios, TabularMethods):
    """Run the protocol for Astromer scenarios and baselines; see :func:`run`.

    ``output``: a folder; ``results.csv`` there is rewritten after every split, so an
    interrupted run keeps what it finished. ``resume``: keep the rows already in
    ``output/results.csv`` and skip each (method, shots, fold) found there (their splits
    must be the ones this run draws: a different seed, data or test set is an error).
    ``n_jobs``: threads for the feature extraction and the scikit-learn classifiers (None:
    every core). ``val_per_class``: validation objects per class wanted (an int, or a
    function of the shots; default ``max(5, shots // 4)``).
    """

    def __init__(self, data, load_encoder, methods=METHODS, shots=(20, 100, 500), folds=3, head="skip",
                 epochs=200, finetune_epochs=10, reconstruction_epochs=20, batch_size=64, learning_rate=3e-4,
                 encoder_learning_rate=3e-5, layer_decay=0.75, unfreeze_blocks=None, weight_decay=1e-4, jitter=0.0,
                 gru_epochs=60, patience=20, seed=0, verbose=0, output=None, resume=False, n_jobs=None,
                 val_per_class=None):
        from astromer.data.classification import object_keys
        from astromer.data.light_curves import prepare_light_curves

        unknown = set(methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
        self.data, self.load_encoder, self.methods = data, load_encoder, list(methods)
        self.shots, self.folds, self.head = list(shots), folds, head
        self.epochs, self.finetune_epochs, self.reconstruction_epochs = epochs, finetune_epochs, reconstruction_epochs
        self.batch_size, self.learning_rate, self.encoder_learning_rate = batch_size, learning_rate, encoder_learning_rate
        self.gru_epochs, self.patience, self.seed, self.verbose = gru_epochs, patience, seed, verbose
        self.layer_decay, self.unfreeze_blocks, self.weight_decay, self.jitter = \
            layer_decay, unfreeze_blocks, weight_decay, jitter
        self.output, self.resume, self.n_jobs, self.val_per_class = output, resume, n_jobs, val_per_class
        self.classes = {c: i for i, c in enumerate(data.class_names)}
        self.prepared = prepare_light_curves(data.table, min_observations=1)
        data.keep_objects(object_keys(self.prepared.ids))  # a LabelledSet built by hand: no shot on an empty object
        self.results = []
        self.predictions = []   # DataFrames, one per object-level row (see predictions_frame)
        self._feature_cache = {}
        self._sha = {}

    # ------------------------------------------------------------------ bookkeeping
    def _counts(self, ids):
        counts = dict.fromkeys(self.classes, 0)
        for o in ids:
            counts[self.data.labels[o]] += 1
        return counts

    def _split_columns(self, split, train_ids, val_ids, test_ids, uses_validation):
        """What a row records about its split: the objects the method really trained, validated
        and was tested on (after objects without usable curves are left out)."""
        train, val, test = self._counts(set(train_ids)), self._counts(set(val_ids)), self._counts(set(test_ids))
        return {"n_train": sum(train.values()), "n_val": sum(val.values()), "n_test": sum(test.values()),
                "min_train_per_class": min(train.values()), "train_per_class": _counts_text(train),
                "val_per_class": _counts_text(val), "test_per_class": _counts_text(test),
                "uses_validation": bool(uses_validation), "split_sha": self._sha[(split["shots"], split["fold"])]}

    def _predicted(self, method, split, ids, y_true, y_pred):
        """The test objects' predictions of one split, as rows of predictions.csv."""
        names = np.asarray(self.data.class_names, dtype=object)
        return pd.DataFrame({"method": method, "shots": split["shots"], "fold": split["fold"],
                             "object_id": [str(o) for o in ids], "true_class": names[np.asarray(y_true, int)],
                             "predicted_class": names[np.asarray(y_pred, int)]})

    def predictions_frame(self):
        """Every object-level prediction on the test objects so far (the rows of predictions.csv)."""
        frames = [p for p in self.predictions if len(p)]
        if not frames:
            return pd.DataFrame(columns=PREDICTION_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def _record(self, rows, predictions=None):
        """Keep the rows (and the split's ``predictions``, :meth:`_predicted`) and, with an output
        folder, rewrite results.csv and predictions.csv at once."""
        self.results.extend(rows)
        if predictions is not None:
            self.predictions.append(predictions)
        if self.output is not None:
            out = Path(self.output)
            out.mkdir(parents=True, exist_ok=True)
            with atomic_path(out / "results.csv") as tmp:
                pd.DataFrame(self.results).to_csv(tmp, index=False)
            if predictions is not None:
                with atomic_path(out / PREDICTIONS_FILE) as tmp:
                    self.predictions_frame().to_csv(tmp, index=False)

    def _previous_results(self, splits):
        """Rows of an earlier run in ``output/results.csv`` (with ``resume``), checked against
        this run's splits; returns the set of finished (method, shots, fold)."""
        path = Path(self.output) / "results.csv" if self.output is not None else None
        if not self.resume or path is None or not path.is_file():
            if self.resume:
                log.info(f"--resume: no results.csv in {self.output} yet, starting afresh")
            elif path is not None and path.is_file():
                log.info(f"{path} exists and is replaced (use --resume to keep its rows)")
            return set()
        previous = pd.read_csv(path)
        if previous.empty:
            return set()
        if "split_sha" not in previous.columns:
            raise ValueError(f"{path} has no split_sha column (written by an older version), so its folds "
                             f"cannot be checked against this run's; write to a new folder instead of --resume")
        for (shots, fold), sha in previous.groupby(["shots", "fold"])["split_sha"].unique().items():
            mine = self._sha.get((int(shots), int(fold)))
            if mine is not None and (len(sha) != 1 or sha[0] != mine):
                raise ValueError(f"{path}: fold {fold} with {shots} per class was drawn differently from this "
                                 f"run's (another seed, data, class list or test set?); cannot --resume into it")
        self.results = previous.to_dict("records")
        done = {(m, int(n), int(f)) for m, n, f in
                previous.loc[previous["level"] == "object", ["method", "shots", "fold"]].itertuples(index=False)}
        self.predictions = [read_predictions(path.parent, done)]
        log.info(f"--resume: {len(done)} finished (method, shots, fold) in {path} are kept and skipped")
        return done

    # ------------------------------------------------------------------ windows
    def _windows(self, window_size):
        from astromer.data.classification import object_keys
        from astromer.data.windows import window_curves

        windows = window_curves(self.prepared.curves, window_size=window_size)
        keys = object_keys(self.prepared.ids)
        objects = np.array([keys[i] for i in windows.object_index])
        labels = np.array([self.classes[self.data.labels[o]] for o in objects])
        x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
        errors = windows.errors if self.prepared.has_errors else None
        return x, labels, objects, errors

    @staticmethod
    def _take(x, rows):
        return {k: v[rows] for k, v in x.items()}

    def _objectscores(self, method, split, logits, objects, rows, tr, va, **extra):
        from astromer.models.classifier import aggregate_logits

        ids, probs = aggregate_logits(logits, list(objects[rows]))
        y_true = [self.classes[self.data.labels[o]] for o in ids]
        y_win = np.array([self.classes[self.data.labels[o]] for o in objects[rows]])
        info = self._split_columns(split, objects[tr], objects[va], ids, uses_validation=bool(va.any()))
        rows = [scores(method, split["shots"], split["fold"], y_true, probs.argmax(1), "object", **info, **extra)]
        if len(y_win) > len(ids):   # one sample per object: a window row would repeat the object row
            rows.append(scores(method, split["shots"], split["fold"], y_win, logits.argmax(1), "window", **info,
                               **extra))
        self._record(rows, self._predicted(method, split, ids, y_true, probs.argmax(1)))

    def _fit(self, model, x_train, y_train, x_val, y_val, epochs):
        """Fit with early stopping on the validation loss, or on the training loss when the split
        has no validation objects (every class used up by training)."""
        from astromer.tasks.selection import early_stopping

        val = (x_val, y_val) if len(y_val) else None
        model.fit(x_train, y_train, validation_data=val, epochs=epochs, batch_size=self.batch_size,
                  callbacks=early_stopping(val, self.patience), verbose=self.verbose)
        return model

    # ------------------------------------------------------------------ baselines
    def _run_gru(self, x, labels, objects, splits, test_rows, bar):
        from astromer.baselines import RawGRUClassifier

        for split in splits:
            start = time.time()
            keras.utils.set_random_seed(self.seed)
            model = RawGRUClassifier(len(self.classes))
            model.compile(optimizer=keras.optimizers.Adam(self.learning_rate))
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            self._fit(model, self._take(x, tr), labels[tr], self._take(x, va), labels[va], self.gru_epochs)
            logits = model.predict(self._take(x, test_rows), batch_size=256, verbose=0)
            self._objectscores("gru", split, logits, objects, test_rows, tr, va, seconds=time.time() - start)
            bar.update(1)

    # ------------------------------------------------------------------ run
    def _adapted_encoder(self, bar):
        """Scenario c's step 1, once per run: a fresh encoder trained by masked reconstruction on the
        training pool's curves (no labels; :func:`astromer.tasks.adapt.reconstruction_finetune`
        keeps the best held-out R², the start included). Returns ``(encoder, columns)``, the
        columns recording what the reconstruction did, for every row that uses it."""
        from astromer.tasks.adapt import reconstruction_finetune

        bar.set_postfix_str("scenario c: reconstruction fine-tuning")
        adapted = self.load_encoder()
        pool = self.data.table[self.data.table["object_id"].isin(set(self.data.pool_ids))]
        history = reconstruction_finetune(adapted, pool, epochs=self.reconstruction_epochs, seed=self.seed,
                                          batch_size=self.batch_size, verbose=self.verbose)
        sel = history.selection  # scores: the pretrained start, then each epoch
        log.info(f"scenario c: reconstruction on {len(self.data.pool_ids)} pool objects ran "
                 f"{len(sel.scores) - 1} epochs, held-out masked R2 {sel.scores[0]:.3f} at the start, "
                 f"{sel.best:.3f} best (epoch {sel.best_epoch}, kept)")
        return adapted, {"reconstruction_epochs": len(sel.scores) - 1, "reconstruction_val_r2_start": sel.scores[0],
                         "reconstruction_val_r2_best": sel.best, "reconstruction_kept_epoch": sel.best_epoch}

    def splits(self):
        """This run's folds (see :func:`fewshot_splits`)."""
        return fewshot_splits(self.data.labels, self.data.pool_ids, self.shots, self.folds, self.seed,
                              val_per_class=self.val_per_class)

    def run(self):
        """Run every method on every split; returns the per-split results DataFrame.

        Classes short of shots + validation are reported (``[evaluate] ...`` lines); with
        ``output``, results.csv is rewritten after each split."""
        splits = self.splits()
        self._sha = {(s["shots"], s["fold"]): split_signature(s, self.data.test_ids) for s in splits}
        for split in splits:
            for note in split["notes"]:
                log.warning(note)
        done = self._previous_results(splits)
        todo = {m: [s for s in splits if (m, s["shots"], s["fold"]) not in done] for m in self.methods}
        todo = {m: s for m, s in todo.items() if s}
        with tqdm(total=sum(len(s) for s in todo.values()), desc="few-shot evaluation") as bar:
            for method in [m for m in FEATURE_METHODS if m in todo]:
                bar.set_postfix_str(METHOD_NAMES[method])
                self._run_features(method, todo[method], bar)
            if not (set(OBJECT_SCENARIOS) | set(WINDOW_METHODS) | set(EMBEDDING_METHODS)) & set(todo):
                return pd.DataFrame(self.results)
            encoder = self.load_encoder()
            adapted, recon = self._adapted_encoder(bar) if set(ADAPTED_METHODS) & set(todo) else (None, {})
            for method in [m for m in EMBEDDING_METHODS if m in todo]:
                bar.set_postfix_str(METHOD_NAMES[method])
                if method in ADAPTED_METHODS:
                    self._run_embedding_method(method, adapted, todo[method], bar, **recon)
                else:
                    self._run_embedding_method(method, encoder, todo[method], bar)
            for method in [m for m in OBJECT_SCENARIOS if m in todo]:
                bar.set_postfix_str(METHOD_NAMES[method])
                on_adapted, _ = OBJECT_SCENARIOS[method]
                self._run_object_scenario(method, adapted if on_adapted else encoder, todo[method], bar,
                                          **(recon if on_adapted else {}))
            if not set(WINDOW_METHODS) & set(todo):
                return pd.DataFrame(self.results)
            x, labels, objects, errors = self._windows(encoder.window_size)
            test_rows = np.isin(objects, self.data.test_ids)
            pretrained = self._features(encoder, x) if {"a_skip", "a_attention", "b_skip"} & set(todo) else None
            if "a_skip" in todo:
                bar.set_postfix_str(METHOD_NAMES["a_skip"])
                self._run_frozen("a_skip", encoder, pretrained, labels, objects, todo["a_skip"], test_rows, bar)
            if "a_attention" in todo:
                bar.set_postfix_str(METHOD_NAMES["a_attention"])
                self._run_window_pooling(pretrained, labels, objects, todo["a_attention"], test_rows, bar)
            if "c_skip" in todo:
                bar.set_postfix_str(METHOD_NAMES["c_skip"])
                features = self._features(adapted, x)
                self._run_frozen("c_skip", adapted, features, labels, objects, todo["c_skip"], test_rows, bar,
                                 **recon)
            if "gru" in todo:
                bar.set_postfix_str("GRU")
                self._run_gru(x, labels, objects, todo["gru"], test_rows, bar)
            if "b_skip" in todo:
                bar.set_postfix_str(METHOD_NAMES["b_skip"])
                self._run_finetuned(x, errors, pretrained, labels, objects, todo["b_skip"], test_rows, bar)
        return pd.DataFrame(self.results)
