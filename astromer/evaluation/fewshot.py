"""The few-shot evaluation harness: Astromer scenarios a/b/c and baselines on labelled light curves.

Protocol (Astromer 2): a fixed test set; for each of ``folds`` folds and each
number of samples per class in ``shots``, draw that many training objects per
class (and a small validation set) from the training pool with a fold-specific
seed; fit; score macro F1 and accuracy on the test set, per object (window
logits averaged over the object's windows and bands) and per window.

The folds come from :func:`astromer.records.splits.fewshot_folds`, the same
splitter as ``astromer records convert --splits fewshot``: training gets its
shots first (all of a class's pool when it is smaller), validation what is left.
A class short of shots + validation is reported, and every result row records
the real training / validation counts per class that the method used.

Methods (``METHODS``; family in ``METHOD_FAMILY``):

- ``a``, ``b``, ``c`` (family ``astromer``): the Astromer 2 scenarios.
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

Feature, probe and hybrid methods train on the training objects only (``uses_validation`` False):
each feature set is computed once per run and shared by every split.
"""

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from tqdm.auto import tqdm

METHODS = ("a", "b", "c", "probe", "gru", "rf", "hgb", "rf_lc", "hgb_lc", "hybrid_rf", "hybrid_hgb")
METHOD_NAMES = {
    "a": "Astromer (a) frozen encoder",
    "b": "Astromer (b) head first, then encoder fine-tuned",
    "c": "Astromer (c) reconstruction, then frozen",
    "gru": "GRU on raw windows",
    "rf": "Random forest on 16 features",
    "hgb": "Gradient boosting on 16 features",
    "rf_lc": "Random forest on light-curve features",
    "hgb_lc": "Gradient boosting on light-curve features",
    "probe": "Astromer embeddings (mean + std, all bands), logistic probe",
    "hybrid_rf": "Hybrid: light-curve features + stacked embedding probe, random forest",
    "hybrid_hgb": "Hybrid: light-curve features + stacked embedding probe, gradient boosting",
}
FAMILIES = ("astromer", "features", "raw", "hybrid")
METHOD_FAMILY = {"a": "astromer", "b": "astromer", "c": "astromer", "probe": "astromer", "gru": "raw",
                 "rf": "features", "hgb": "features", "rf_lc": "features", "hgb_lc": "features",
                 "hybrid_rf": "hybrid", "hybrid_hgb": "hybrid"}
#: feature method -> (feature set, classifier of astromer.baselines.feature_classifier)
FEATURE_METHODS = {"rf": ("basic", "rf"), "hgb": ("basic", "hgb"), "rf_lc": ("light_curve", "rf"),
                   "hgb_lc": ("light_curve", "hgb")}
KERAS_METHODS = ("a", "b", "c", "gru")
#: methods on the pretrained encoder's object embeddings (:mod:`astromer.hybrid`)
EMBEDDING_METHODS = ("probe", "hybrid_rf", "hybrid_hgb")
#: mean and std over each curve's observation embeddings, bands side by side
EMBEDDING_STATISTICS = ("mean", "std")
SUMMARY_COLUMNS = ("method", "family", "shots", "macro_f1_mean", "macro_f1_std", "accuracy_mean",
                   "accuracy_std", "min_train_per_class", "folds", "seconds_mean")


@dataclass
class LabelledSet:
    """Light curves in the long layout, labels per object, and the test/pool split."""

    table: pd.DataFrame
    labels: pd.Series  # object_id -> class name
    test_ids: list
    pool_ids: list
    class_names: list = field(default_factory=list)

    def __post_init__(self):
        if not self.class_names:
            self.class_names = sorted(self.labels.astype(str).unique())


def load_labelled_folder(folder, label_column="label", split_column="split", test_fraction=0.2,
                         classes=None, seed=0):
    """Read ``lightcurves.csv.gz`` (or ``.csv``/``.parquet``) and ``labels.csv`` from ``folder``.

    The test set is the ``split == "test"`` rows when that column exists, else a
    stratified ``test_fraction`` drawn with ``seed``. Objects without curves or
    without labels are dropped and reported.
    """
    folder = Path(folder)
    candidates = [folder / n for n in ("lightcurves.csv.gz", "lightcurves.csv", "lightcurves.parquet")]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise FileNotFoundError(f"{folder} has no lightcurves.csv.gz, lightcurves.csv or lightcurves.parquet")
    from astromer.records.sources import id_strings, read_table

    table = read_table(path, what="light-curve table", dtype={"object_id": str})
    labels_path = folder / "labels.csv"
    if not labels_path.is_file():
        raise FileNotFoundError(f"{labels_path} not found")
    labels = read_table(labels_path, what="labels table", dtype={"object_id": str})
    for col in ("object_id", label_column):
        if col not in labels.columns:
            raise ValueError(f"{labels_path} lacks column {col!r}; columns: {list(labels.columns)}")
    if "object_id" not in table.columns:
        raise ValueError(f"{path} lacks column 'object_id'; columns: {list(table.columns)}")
    labels["object_id"] = id_strings(labels["object_id"])  # ids as text, exactly as written
    table["object_id"] = id_strings(table["object_id"])
    if classes is not None:
        labels = labels[labels[label_column].astype(str).isin([str(c) for c in classes])]
    have_curves = set(table["object_id"].dropna())
    dropped = labels[~labels["object_id"].isin(have_curves)]
    if len(dropped) == len(labels):
        raise ValueError(f"0 of {len(labels):,} label ids in {labels_path} match the {len(have_curves):,} objects "
                         f"in {path}; ids are compared as text, exactly as written")
    if len(dropped):
        print(f"[evaluate] {len(dropped)} labelled objects have no light curve and are skipped")
    labels = labels[labels["object_id"].isin(have_curves)]
    table = table[table["object_id"].isin(set(labels["object_id"]))]
    series = labels.set_index("object_id")[label_column].astype(str)
    if split_column in labels.columns:
        test = labels.loc[labels[split_column] == "test", "object_id"].tolist()
    else:
        from sklearn.model_selection import train_test_split

        try:
            _, test = train_test_split(labels["object_id"].tolist(), test_size=test_fraction,
                                       stratify=series.values, random_state=seed)
        except ValueError as exc:
            sizes = ", ".join(f"{k}={v}" for k, v in series.value_counts().sort_index().items())
            raise ValueError(f"cannot hold out a stratified {test_fraction:.0%} test set from {len(series)} labelled "
                             f"objects in {folder} (objects per class: {sizes}; scikit-learn: {exc}); label more "
                             f"objects per class or give a '{split_column}' column with 'test' rows") from None
    test_set = set(test)
    pool = [o for o in labels["object_id"] if o not in test_set]
    return LabelledSet(table=table, labels=series, test_ids=list(test), pool_ids=pool)


def default_val_per_class(shots):
    """Validation objects per class wanted for ``shots`` training objects: ``max(5, shots // 4)``."""
    return max(5, int(shots) // 4)


def fewshot_splits(labels, pool_ids, shots=(20, 100, 500), folds=3, seed=0, val_per_class=None):
    """Training/validation object ids per (fold, shots), by the shared splitter
    :func:`astromer.records.splits.fewshot_folds`: ``shots`` per class for training (all of a
    class's pool objects when it has fewer) first, then up to ``val_per_class`` (default
    ``max(5, shots // 4)``) disjoint validation objects per class from what is left.

    Each split is a dict with ``fold``, ``shots``, ``train``, ``val``, the real counts
    ``train_per_class`` / ``val_per_class`` and ``notes`` (a line per class short of
    shots + validation)."""
    from astromer.records.splits import fewshot_folds

    labels = labels.astype(str)
    return fewshot_folds(labels, shots=shots, folds=folds, seed=seed, pool_ids=pool_ids,
                         n_val=default_val_per_class if val_per_class is None else val_per_class,
                         classes=sorted(labels.unique()))


def split_signature(split, test_ids=()):
    """A short hash of a split's training, validation and test ids (checked by ``resume``)."""
    text = "\n|\n".join("\n".join(sorted(map(str, ids))) for ids in (split["train"], split["val"], test_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _counts_text(counts):
    return json.dumps({str(k): int(v) for k, v in sorted(counts.items())})


def _scores(method, shots, fold, y_true, y_pred, level, **extra):
    return {"method": method, "family": METHOD_FAMILY.get(method, ""), "shots": shots, "fold": fold,
            "level": level, "macro_f1": f1_score(y_true, y_pred, average="macro"),
            "accuracy": accuracy_score(y_true, y_pred), **extra}


class FewShotEvaluation:
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
                 encoder_learning_rate=3e-5, layer_decay=0.75, unfreeze_blocks=None, weight_decay=1e-4, jitter=1.0,
                 gru_epochs=60, patience=20, seed=0, verbose=0, output=None, resume=False, n_jobs=None,
                 val_per_class=None):
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
        self.results = []
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

    def _record(self, rows):
        """Keep the rows and, with an output folder, rewrite results.csv at once."""
        self.results.extend(rows)
        if self.output is not None:
            out = Path(self.output)
            out.mkdir(parents=True, exist_ok=True)
            tmp = out / "results.csv.tmp"
            pd.DataFrame(self.results).to_csv(tmp, index=False)
            os.replace(tmp, out / "results.csv")

    def _previous_results(self, splits):
        """Rows of an earlier run in ``output/results.csv`` (with ``resume``), checked against
        this run's splits; returns the set of finished (method, shots, fold)."""
        path = Path(self.output) / "results.csv" if self.output is not None else None
        if not self.resume or path is None or not path.is_file():
            if self.resume:
                print(f"[evaluate] --resume: no results.csv in {self.output} yet, starting afresh")
            elif path is not None and path.is_file():
                print(f"[evaluate] {path} exists and is replaced (use --resume to keep its rows)")
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
        print(f"[evaluate] --resume: {len(done)} finished (method, shots, fold) in {path} are kept and skipped")
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

    def _object_scores(self, method, split, logits, objects, rows, tr, va, **extra):
        from astromer.models.classifier import aggregate_logits

        ids, probs = aggregate_logits(logits, list(objects[rows]))
        y_true = [self.classes[self.data.labels[o]] for o in ids]
        y_win = np.array([self.classes[self.data.labels[o]] for o in objects[rows]])
        info = self._split_columns(split, objects[tr], objects[va], ids, uses_validation=bool(va.any()))
        self._record([
            _scores(method, split["shots"], split["fold"], y_true, probs.argmax(1), "object", **info, **extra),
            _scores(method, split["shots"], split["fold"], y_win, logits.argmax(1), "window", **info, **extra)])

    def _fit(self, model, x_train, y_train, x_val, y_val, epochs):
        """Fit with early stopping on the validation loss, or on the training loss when the split
        has no validation objects (every class used up by training)."""
        from astromer.models.classifier.finetune import _fit_kwargs

        val = (x_val, y_val) if len(y_val) else None
        model.fit(x_train, y_train, validation_data=val, epochs=epochs, batch_size=self.batch_size,
                  callbacks=_fit_kwargs(val, self.patience), verbose=self.verbose)
        return model

    # ------------------------------------------------------------------ Astromer
    def _features(self, encoder, x):
        from astromer.models.classifier import LightCurveClassifier
        from astromer.models.classifier.finetune import feature_model

        probe = LightCurveClassifier(encoder, len(self.classes), head=self.head)
        return feature_model(probe).predict(x, batch_size=256, verbose=0)

    def _fit_head(self, encoder, features, labels, tr, va, classifier=None):
        """Scenario a (and the warm-up of b) by :func:`astromer.models.classifier.fit_head`."""
        from astromer.models.classifier import LightCurveClassifier, fit_head, head_model

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
            self._object_scores(method, split, logits, objects, test_rows, tr, va, seconds=time.time() - start,
                                **extra)
            bar.update(1)

    def _run_finetuned(self, x, errors, features, labels, objects, splits, test_rows, bar):
        """Scenario b by :func:`astromer.models.classifier.fit_encoder`: the head is first fitted on
        the frozen features (as in a; ``features`` are shared with a), then encoder and head train
        together (layer-wise rate decay, jitter within the errors, warm-up + cosine); the weights
        kept are those with the best validation macro F1 per object, the warmed-up start included.
        The row records which epoch was kept (``selected_epoch``; 0 = the start)."""
        from astromer.models.classifier import LightCurveClassifier, fit_encoder

        for split in splits:
            start = time.time()
            keras.utils.set_random_seed(self.seed)
            encoder = self.load_encoder()
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
            self._object_scores("b", split, logits, objects, test_rows, tr, va, seconds=time.time() - start,
                                selected_epoch=selected)
            bar.update(1)

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
            self._object_scores("gru", split, logits, objects, test_rows, tr, va, seconds=time.time() - start)
            bar.update(1)

    def feature_table(self, kind):
        """``(object_ids, X, column_names, seconds)`` of feature set ``kind`` ("basic": the 16
        features per band, "light_curve": the light-curve package's), computed once per run."""
        if kind not in self._feature_cache:
            from astromer.baselines import object_features, object_lc_features

            start = time.time()
            if kind == "basic":
                ids, X, names = object_features(self.prepared)
            else:
                ids, X, names = object_lc_features(self.prepared, n_jobs=-1 if self.n_jobs is None else self.n_jobs)
            seconds = time.time() - start
            print(f"[evaluate] {kind} features: {X.shape[1]} per object for {len(ids)} objects in {seconds:.1f} s")
            self._feature_cache[kind] = (ids, X, names, seconds)
        return self._feature_cache[kind]

    def _run_tabular(self, method, ids, X, make_model, splits, bar, feature_seconds):
        """Fit ``make_model(y_train)`` (a scikit-learn classifier) on the rows of ``X`` (one per
        object of ``ids``) of each split's training objects; score it on the test objects."""
        from threadpoolctl import threadpool_limits

        row = {o: i for i, o in enumerate(ids)}
        y = np.array([self.classes[self.data.labels[o]] for o in ids])
        test_ids = [o for o in self.data.test_ids if o in row]
        test = np.array([row[o] for o in test_ids], dtype=int)
        for split in splits:
            start = time.time()
            train_ids = [o for o in split["train"] if o in row]
            train = np.array([row[o] for o in train_ids], dtype=int)
            model = make_model(y[train])
            with threadpool_limits(limits=None if self.n_jobs is None or self.n_jobs < 1 else self.n_jobs):
                model.fit(X[train], y[train])
                pred = model.predict(X[test])
            info = self._split_columns(split, train_ids, [], test_ids, uses_validation=False)
            self._record([_scores(method, split["shots"], split["fold"], y[test], pred, "object", **info,
                                  seconds=time.time() - start, feature_seconds=feature_seconds)])
            bar.update(1)

    def _run_features(self, method, splits, bar):
        from astromer.baselines import feature_classifier

        kind, classifier = FEATURE_METHODS[method]
        ids, X, _, feature_seconds = self.feature_table(kind)
        jobs = -1 if self.n_jobs is None else self.n_jobs
        self._run_tabular(method, ids, X, lambda y: feature_classifier(classifier, seed=self.seed, n_jobs=jobs),
                          splits, bar, feature_seconds)

    def embedding_table(self, encoder):
        """``(object_ids, E, seconds)``: the encoder's object embeddings (:data:`EMBEDDING_STATISTICS`
        over each curve's observation rows, bands side by side, zeros for a missing band), once per run."""
        if "embeddings" not in self._feature_cache:
            start = time.time()
            result = encoder.embed(self.data.table, verbose=0)
            bands = sorted({i[1] for i in result.ids}) if isinstance(result.ids[0], tuple) else None
            ids, E = result.object_vectors(bands=bands, vectors=result.statistics(EMBEDDING_STATISTICS)) \
                if bands else (list(result.ids), result.statistics(EMBEDDING_STATISTICS))
            seconds = time.time() - start
            print(f"[evaluate] embeddings: {E.shape[1]} per object for {len(ids)} objects in {seconds:.1f} s")
            self._feature_cache["embeddings"] = (list(ids), np.asarray(E, dtype=np.float64), seconds)
        return self._feature_cache["embeddings"]

    def _run_embedding_method(self, method, encoder, splits, bar):
        """``probe`` on the object embeddings; ``hybrid_*`` on [light-curve features, embeddings]."""
        from astromer.hybrid import HybridClassifier, embedding_probe

        ids, E, seconds = self.embedding_table(encoder)
        jobs = -1 if self.n_jobs is None else self.n_jobs
        if method == "probe":
            self._run_tabular(method, ids, E, lambda y: embedding_probe(self.seed, y=y), splits, bar, seconds)
            return
        f_ids, F, _, f_seconds = self.feature_table("light_curve")
        f_row = {o: i for i, o in enumerate(f_ids)}
        keep = [i for i, o in enumerate(ids) if o in f_row]
        X = np.hstack([F[[f_row[ids[i]] for i in keep]], E[keep]])
        classifier = method.split("_")[1]
        self._run_tabular(method, [ids[i] for i in keep], X,
                          lambda y: HybridClassifier(F.shape[1], classifier=classifier, seed=self.seed, n_jobs=jobs),
                          splits, bar, seconds + f_seconds)

    # ------------------------------------------------------------------ run
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
                print(f"[evaluate] {note}")
        done = self._previous_results(splits)
        todo = {m: [s for s in splits if (m, s["shots"], s["fold"]) not in done] for m in self.methods}
        todo = {m: s for m, s in todo.items() if s}
        with tqdm(total=sum(len(s) for s in todo.values()), desc="few-shot evaluation") as bar:
            for method in [m for m in FEATURE_METHODS if m in todo]:
                bar.set_postfix_str(METHOD_NAMES[method])
                self._run_features(method, todo[method], bar)
            if not (set(KERAS_METHODS) | set(EMBEDDING_METHODS)) & set(todo):
                return pd.DataFrame(self.results)
            encoder = self.load_encoder()
            for method in [m for m in EMBEDDING_METHODS if m in todo]:
                bar.set_postfix_str(METHOD_NAMES[method])
                self._run_embedding_method(method, encoder, todo[method], bar)
            if not set(KERAS_METHODS) & set(todo):
                return pd.DataFrame(self.results)
            x, labels, objects, errors = self._windows(encoder.window_size)
            test_rows = np.isin(objects, self.data.test_ids)
            pretrained = self._features(encoder, x) if {"a", "b"} & set(todo) else None
            if "a" in todo:
                bar.set_postfix_str("scenario a")
                self._run_frozen("a", encoder, pretrained, labels, objects, todo["a"], test_rows, bar)
            if "c" in todo:
                bar.set_postfix_str("scenario c: reconstruction fine-tuning")
                from astromer.models.classifier import reconstruction_finetune

                adapted = self.load_encoder()
                pool = self.data.table[self.data.table["object_id"].isin(set(self.data.pool_ids))]
                history = reconstruction_finetune(adapted, pool, epochs=self.reconstruction_epochs,
                                                  seed=self.seed, batch_size=self.batch_size, verbose=self.verbose)
                val_r2 = history.history.get("val_r2") or [np.nan]
                recon = {"reconstruction_epochs": len(val_r2), "reconstruction_val_r2_first": float(val_r2[0]),
                         "reconstruction_val_r2_best": float(np.nanmax(val_r2))}
                print(f"[evaluate] scenario c: reconstruction on {len(self.data.pool_ids)} pool objects ran "
                      f"{len(val_r2)} epochs, held-out masked R2 {val_r2[0]:.3f} after the first, "
                      f"{np.nanmax(val_r2):.3f} best (kept)")
                bar.set_postfix_str("scenario c")
                features = self._features(adapted, x)
                self._run_frozen("c", adapted, features, labels, objects, todo["c"], test_rows, bar, **recon)
            if "gru" in todo:
                bar.set_postfix_str("GRU")
                self._run_gru(x, labels, objects, todo["gru"], test_rows, bar)
            if "b" in todo:
                bar.set_postfix_str("scenario b")
                self._run_finetuned(x, errors, pretrained, labels, objects, todo["b"], test_rows, bar)
        return pd.DataFrame(self.results)


def summarise(results, level="object"):
    """Per method (in :data:`METHODS` order) and shots: mean and std over folds of macro F1 and accuracy, the method's
    family, the smallest training count of any class in any fold (``min_train_per_class``:
    NaN for results written before it was recorded), the number of folds and the mean
    seconds per split. Columns :data:`SUMMARY_COLUMNS`."""
    table = results[results["level"] == level].copy()
    family = table["method"].map(METHOD_FAMILY)
    table["family"] = table["family"].fillna(family) if "family" in table.columns else family
    for column in ("min_train_per_class", "seconds", "fold"):
        if column not in table.columns:
            table[column] = np.nan
    grouped = table.groupby(["method", "shots"]).agg(
        family=("family", "first"), macro_f1_mean=("macro_f1", "mean"), macro_f1_std=("macro_f1", "std"),
        accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
        min_train_per_class=("min_train_per_class", "min"), folds=("fold", "nunique"),
        seconds_mean=("seconds", "mean"))
    summary = grouped.reset_index()
    order = {m: i for i, m in enumerate(METHODS)}
    summary = summary.sort_values(["method", "shots"], key=lambda c: c.map(order).fillna(len(order))
                                  if c.name == "method" else c, kind="stable").reset_index(drop=True)
    summary["min_train_per_class"] = summary["min_train_per_class"].astype("Int64") \
        if summary["min_train_per_class"].notna().all() else summary["min_train_per_class"]
    return summary[list(SUMMARY_COLUMNS)]


def to_markdown(summary):
    lines = ["| method | samples per class | macro F1 | accuracy | min. train per class |", "|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        low = r.get("min_train_per_class", np.nan)
        low = "" if pd.isna(low) else str(int(low))
        lines.append(f"| {METHOD_NAMES.get(r['method'], r['method'])} | {int(r['shots'])} | "
                     f"{100 * r['macro_f1_mean']:.1f} ± {100 * np.nan_to_num(r['macro_f1_std']):.1f} | "
                     f"{100 * r['accuracy_mean']:.1f} ± {100 * np.nan_to_num(r['accuracy_std']):.1f} | {low} |")
    return "\n".join(lines)


def counts_markdown(results):
    """The real objects per class of every (shots, fold) split, from the rows' recorded counts
    (training and validation as the first method listed used them; the test set)."""
    if "train_per_class" not in results.columns:
        return ""
    rows = results[(results["level"] == "object") & results["train_per_class"].notna()]
    if rows.empty:
        return ""
    lines = ["| samples per class | fold | training per class | validation per class | test per class |",
             "|---|---|---|---|---|"]
    for (shots, fold), group in rows.groupby(["shots", "fold"]):
        first = group.iloc[0]
        val = group.loc[group["uses_validation"].astype(bool), "val_per_class"] \
            if "uses_validation" in group.columns else group["val_per_class"]
        train_texts = sorted(set(group["train_per_class"]))
        train = "; ".join(_plain_counts(t) for t in train_texts)
        lines.append(f"| {int(shots)} | {int(fold)} | {train} | "
                     f"{_plain_counts(val.iloc[0]) if len(val) else 'not used'} | "
                     f"{_plain_counts(first['test_per_class'])} |")
    return "\n".join(lines)


def _plain_counts(text):
    try:
        return ", ".join(f"{k} {v}" for k, v in json.loads(text).items())
    except (TypeError, ValueError):
        return str(text)


def machine_description():
    """CPU model and count, platform and library versions, for a report."""
    import platform

    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"scikit-learn {sklearn.__version__}",
                f"keras {keras.__version__} ({keras.backend.backend()})"]
    try:
        import light_curve

        versions.append(f"light-curve {light_curve.__version__}")
    except ImportError:
        pass
    return f"{cpu}, {cores} cores available, {platform.system()} {platform.release()}; " + ", ".join(versions)


def plot_f1(summary, path, title="Few-shot classification"):
    """Macro F1 against samples per class, one line per method (mean ± std over folds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method, rows in summary.groupby("method", sort=False):
        rows = rows.sort_values("shots")
        ax.errorbar(rows["shots"], 100 * rows["macro_f1_mean"], yerr=100 * np.nan_to_num(rows["macro_f1_std"]),
                    marker="o", capsize=3, label=METHOD_NAMES.get(method, method))
    ax.set_xscale("log")
    ax.set_xticks(sorted(summary["shots"].unique()))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labelled samples per class")
    ax.set_ylabel("macro F1 (%), per object")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(results, output_dir, command, title="Few-shot classification", notes=None, machine=None):
    """results.csv (per split), summary.csv, results.md (with the command, the machine, the date,
    the real objects per class of every split and ``notes``) and f1_vs_shots.png. ``machine``:
    where the results were computed (default: this machine, :func:`machine_description`)."""
    import datetime

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    summary = summarise(results)
    summary.to_csv(out / "summary.csv", index=False)
    plot_f1(summary, out / "f1_vs_shots.png", title=title)
    window = summarise(results, level="window")
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = [f"# {title}", "", "Command:", "", "```", command, "```", "",
            f"Machine: {machine or machine_description()}. Report written {date}.", ""]
    if notes:
        text += [str(n) for n in ([notes] if isinstance(notes, str) else notes)] + [""]
    text += ["## Per object (test set)", "", "Macro F1 and accuracy in %, mean ± std over folds; min. train per "
             "class: the fewest training objects of any class in any fold.", "", to_markdown(summary), ""]
    if "feature_seconds" in results.columns:
        timing = results.dropna(subset=["feature_seconds"]).groupby("method").agg(
            features=("feature_seconds", "first"), fit=("seconds", "mean"), splits=("seconds", "size"))
        if len(timing):
            text += ["Time: feature extraction once per run (shared by the methods on the same features), "
                     "then fit + predict per split:", ""]
            text += [f"- {METHOD_NAMES.get(m, m)}: features {r['features']:.1f} s, {r['fit']:.1f} s per split "
                     f"({int(r['splits'])} splits)" for m, r in timing.iterrows()] + [""]
    counts = counts_markdown(results)
    if counts:
        text += ["## Objects per class in each split", "", "Real counts, as recorded in results.csv "
                 "(a class with fewer pool objects than shots + validation gives training all it has first).",
                 "", counts, ""]
    if len(window):
        text += ["## Per window (for comparison with the papers)", "", to_markdown(window), ""]
    (out / "results.md").write_text("\n".join(text))
    return out
