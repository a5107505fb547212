"""The few-shot evaluation harness: Astromer scenarios a/b/c and baselines on labelled light curves.

Protocol (Astromer 2): a fixed test set; for each of ``folds`` folds and each
number of samples per class in ``shots``, draw that many training objects per
class (and a small validation set) from the training pool with a fold-specific
seed; fit; score macro F1 and accuracy on the test set, per object (window
logits averaged over the object's windows and bands) and per window.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from tqdm.auto import tqdm

METHODS = ("a", "b", "c", "gru", "rf")
METHOD_NAMES = {
    "a": "Astromer (a) frozen encoder",
    "b": "Astromer (b) head first, then encoder fine-tuned",
    "c": "Astromer (c) reconstruction, then frozen",
    "gru": "GRU on raw windows",
    "rf": "Random forest on features",
}


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


def fewshot_splits(labels, pool_ids, shots=(20, 100, 500), folds=3, seed=0, val_per_class=None):
    """Training/validation object ids per (fold, shots): ``shots`` per class for training
    (fewer if the class is smaller), and ``val_per_class`` (default ``max(5, shots // 4)``)
    disjoint validation objects per class."""
    pool = labels.loc[list(pool_ids)]
    splits = []
    for fold in range(folds):
        rng = np.random.default_rng([seed, fold])
        for n in shots:
            n_val = val_per_class or max(5, n // 4)
            train, val = [], []
            for cls in sorted(pool.unique()):
                ids = np.array(sorted(pool.index[pool == cls]))
                rng.shuffle(ids)
                k = min(n, max(len(ids) - n_val, 1))
                train += ids[:k].tolist()
                val += ids[k:k + n_val].tolist()
            splits.append({"fold": fold, "shots": n, "train": train, "val": val})
    return splits


def _scores(method, shots, fold, y_true, y_pred, level, **extra):
    return {"method": method, "shots": shots, "fold": fold, "level": level,
            "macro_f1": f1_score(y_true, y_pred, average="macro"),
            "accuracy": accuracy_score(y_true, y_pred), **extra}


class FewShotEvaluation:
    """Run the protocol for Astromer scenarios and baselines; see :func:`run`."""

    def __init__(self, data, load_encoder, methods=METHODS, shots=(20, 100, 500), folds=3, head="skip",
                 epochs=200, finetune_epochs=10, reconstruction_epochs=2, batch_size=64, learning_rate=3e-4,
                 encoder_learning_rate=3e-5, gru_epochs=60, patience=20, seed=0, verbose=0):
        from astromer.data.light_curves import prepare_light_curves

        unknown = set(methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
        self.data, self.load_encoder, self.methods = data, load_encoder, list(methods)
        self.shots, self.folds, self.head = list(shots), folds, head
        self.epochs, self.finetune_epochs, self.reconstruction_epochs = epochs, finetune_epochs, reconstruction_epochs
        self.batch_size, self.learning_rate, self.encoder_learning_rate = batch_size, learning_rate, encoder_learning_rate
        self.gru_epochs, self.patience, self.seed, self.verbose = gru_epochs, patience, seed, verbose
        self.classes = {c: i for i, c in enumerate(data.class_names)}
        self.prepared = prepare_light_curves(data.table, min_observations=1)
        self.results = []

    # ------------------------------------------------------------------ windows
    def _windows(self, window_size):
        from astromer.data.classification import object_keys
        from astromer.data.windows import window_curves

        windows = window_curves(self.prepared.curves, window_size=window_size)
        keys = object_keys(self.prepared.ids)
        objects = np.array([keys[i] for i in windows.object_index])
        labels = np.array([self.classes[self.data.labels[o]] for o in objects])
        x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
        return x, labels, objects

    @staticmethod
    def _take(x, rows):
        return {k: v[rows] for k, v in x.items()}

    def _object_scores(self, method, split, logits, objects, rows, **extra):
        from astromer.models.classifier import aggregate_logits

        ids, probs = aggregate_logits(logits, list(objects[rows]))
        y_true = [self.classes[self.data.labels[o]] for o in ids]
        y_win = np.array([self.classes[self.data.labels[o]] for o in objects[rows]])
        self.results.append(_scores(method, split["shots"], split["fold"], y_true, probs.argmax(1), "object", **extra))
        self.results.append(_scores(method, split["shots"], split["fold"], y_win, logits.argmax(1), "window", **extra))

    # ------------------------------------------------------------------ Astromer
    def _features(self, encoder, x):
        from astromer.models.classifier import LightCurveClassifier
        from astromer.models.classifier.finetune import _feature_model

        probe = LightCurveClassifier(encoder, len(self.classes), head=self.head)
        return _feature_model(probe).predict(x, batch_size=256, verbose=0)

    def _fit_head(self, encoder, features, labels, tr, va, classifier=None):
        """Fit a head on precomputed pooled features (scenario a, and the warm-up of b)."""
        from astromer.models.classifier import LightCurveClassifier
        from astromer.models.classifier.finetune import _head_model

        keras.utils.set_random_seed(self.seed)
        clf = classifier or LightCurveClassifier(encoder, len(self.classes), head=self.head)
        model = _head_model(clf, features.shape[1])
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
        model.fit(features[tr], labels[tr], validation_data=(features[va], labels[va]), epochs=self.epochs,
                  batch_size=self.batch_size, callbacks=[stop], verbose=self.verbose)
        return model

    def _run_frozen(self, method, encoder, features, labels, objects, splits, test_rows, bar):
        for split in splits:
            start = time.time()
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            model = self._fit_head(encoder, features, labels, tr, va)
            logits = model.predict(features[test_rows], batch_size=512, verbose=0)
            self._object_scores(method, split, logits, objects, test_rows, seconds=time.time() - start)
            bar.update(1)

    def _run_finetuned(self, x, features, labels, objects, splits, test_rows, bar):
        """Scenario b: the head is first fitted on frozen features (as in a), then encoder and
        head are fine-tuned together with a lower encoder learning rate ("linear probe, then
        fine-tune": fine-tuning from a random head on a few dozen curves destroys the encoder).
        ``features`` are the pretrained encoder's pooled features, shared with scenario a."""
        from astromer.models.classifier import LightCurveClassifier, encoder_lr_optimizer

        for split in splits:
            start = time.time()
            keras.utils.set_random_seed(self.seed)
            encoder = self.load_encoder()
            clf = LightCurveClassifier(encoder, len(self.classes), head=self.head, train_encoder=False)
            tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
            self._fit_head(encoder, features, labels, tr, va, classifier=clf)
            clf.set_encoder_trainable(True)
            clf.compile(optimizer=encoder_lr_optimizer(clf, self.learning_rate, self.encoder_learning_rate))
            stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
            clf.fit(self._take(x, tr), labels[tr], validation_data=(self._take(x, va), labels[va]),
                    epochs=self.finetune_epochs, batch_size=self.batch_size, callbacks=[stop], verbose=self.verbose)
            logits = clf.predict(self._take(x, test_rows), batch_size=256, verbose=0)
            self._object_scores("b", split, logits, objects, test_rows, seconds=time.time() - start)
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
            stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
            model.fit(self._take(x, tr), labels[tr], validation_data=(self._take(x, va), labels[va]),
                      epochs=self.gru_epochs, batch_size=self.batch_size, callbacks=[stop], verbose=self.verbose)
            logits = model.predict(self._take(x, test_rows), batch_size=256, verbose=0)
            self._object_scores("gru", split, logits, objects, test_rows, seconds=time.time() - start)
            bar.update(1)

    def _run_rf(self, splits, bar):
        from astromer.baselines import object_features, random_forest

        ids, X, _ = object_features(self.prepared)
        row = {o: i for i, o in enumerate(ids)}
        y = np.array([self.classes[self.data.labels[o]] for o in ids])
        test = np.array([row[o] for o in self.data.test_ids if o in row])
        for split in splits:
            start = time.time()
            train = np.array([row[o] for o in split["train"] if o in row])
            forest = random_forest(seed=self.seed).fit(X[train], y[train])
            pred = forest.predict(X[test])
            self.results.append(_scores("rf", split["shots"], split["fold"], y[test], pred, "object",
                                        seconds=time.time() - start))
            bar.update(1)

    # ------------------------------------------------------------------ run
    def run(self):
        """Run every method on every split; returns the per-split results DataFrame."""
        splits = fewshot_splits(self.data.labels, self.data.pool_ids, self.shots, self.folds, self.seed)
        encoder = self.load_encoder()
        x, labels, objects = self._windows(encoder.window_size)
        test_rows = np.isin(objects, self.data.test_ids)
        pretrained = self._features(encoder, x) if {"a", "b"} & set(self.methods) else None
        with tqdm(total=len(splits) * len(self.methods), desc="few-shot evaluation") as bar:
            if "rf" in self.methods:
                bar.set_postfix_str("random forest")
                self._run_rf(splits, bar)
            if "a" in self.methods:
                bar.set_postfix_str("scenario a")
                self._run_frozen("a", encoder, pretrained, labels, objects, splits, test_rows, bar)
            if "c" in self.methods:
                bar.set_postfix_str("scenario c: reconstruction fine-tuning")
                from astromer.models.classifier import reconstruction_finetune

                adapted = self.load_encoder()
                pool = self.data.table[self.data.table["object_id"].isin(set(self.data.pool_ids))]
                reconstruction_finetune(adapted, pool, epochs=self.reconstruction_epochs, seed=self.seed,
                                        batch_size=self.batch_size, verbose=self.verbose)
                bar.set_postfix_str("scenario c")
                features = self._features(adapted, x)
                self._run_frozen("c", adapted, features, labels, objects, splits, test_rows, bar)
            if "gru" in self.methods:
                bar.set_postfix_str("GRU")
                self._run_gru(x, labels, objects, splits, test_rows, bar)
            if "b" in self.methods:
                bar.set_postfix_str("scenario b")
                self._run_finetuned(x, pretrained, labels, objects, splits, test_rows, bar)
        return pd.DataFrame(self.results)


def summarise(results, level="object"):
    """Mean and std over folds of macro F1 and accuracy per method and shots."""
    table = results[results["level"] == level]
    grouped = table.groupby(["method", "shots"])[["macro_f1", "accuracy"]].agg(["mean", "std"])
    grouped.columns = [f"{a}_{b}" for a, b in grouped.columns]
    return grouped.reset_index()


def to_markdown(summary):
    lines = ["| method | samples per class | macro F1 | accuracy |", "|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| {METHOD_NAMES.get(r['method'], r['method'])} | {int(r['shots'])} | "
                     f"{100 * r['macro_f1_mean']:.1f} ± {100 * np.nan_to_num(r['macro_f1_std']):.1f} | "
                     f"{100 * r['accuracy_mean']:.1f} ± {100 * np.nan_to_num(r['accuracy_std']):.1f} |")
    return "\n".join(lines)


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


def write_report(results, output_dir, command, title="Few-shot classification"):
    """results.csv (per split), summary.csv, results.md (with the command) and f1_vs_shots.png."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    summary = summarise(results)
    summary.to_csv(out / "summary.csv", index=False)
    plot_f1(summary, out / "f1_vs_shots.png", title=title)
    window = summarise(results, level="window")
    text = [f"# {title}", "", "Command:", "", "```", command, "```", "", "## Per object (test set)", "",
            to_markdown(summary), "", "## Per window (for comparison with the papers)", "", to_markdown(window), ""]
    (out / "results.md").write_text("\n".join(text))
    return out
