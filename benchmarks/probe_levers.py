"""Levers for the encoder alone at few labels, beyond the probe's regularisation (probe_choice.py).

Issue 13 asks the pretrained path, without hand-made features, to come within 12 points of the
best feature forest at 20 per class. The package's probe (:func:`astromer.hybrid.embedding_probe`:
standardised embedding statistics -> class-balanced logistic regression, ``C`` by cross-validated
macro F1) is scenario a's head. This script measures, on the harness's own folds and test set and
the pretrained encoder's embeddings, the few-shot classics that could beat it:

- other linear heads: shrinkage LDA (Ledoit-Wolf; one covariance shared by the classes), LDA on
  the 64 leading principal components of the unlabelled training pool, a class-balanced ridge
  classifier (``alpha`` by leave-one-out);
- self-training on the unlabelled training pool (scikit-learn's ``SelfTrainingClassifier`` around
  the package's probe: pool objects predicted with probability >= 0.95 / 0.9 join as pseudo-labels;
  never the test objects);
- more training views: each training object's curves embedded 8 more times, each band subsampled
  to a random 50-95% (or 80-95%) of its observations, or its magnitudes jittered by N(0, error^2);
  the views join the probe's training rows with the object's label. Each object's views are drawn
  from a generator seeded by its id, so they are the same in every run that holds the object.

``eros1_probe_variants.py`` measured several of these heads on the ``astromer_v1`` preset; this
script measures them on the few-shot preset (``astromer_v1_atlas``, ``--preset``) on any labelled
survey and adds the training views.

Object-level macro F1 (%) on the test objects, mean ± std (ddof 1) over the 3 folds. Writes
``benchmarks/results/probe_levers_DATA.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=1 python benchmarks/probe_levers.py --data eros1
"""

import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser, mean_std_cells  # noqa: E402

VIEWS = 8


class WithPool:
    """Fit ``estimator`` on the training rows plus the unlabelled ``pool`` rows (label -1), as
    scikit-learn's semi-supervised estimators expect."""

    def __init__(self, estimator, pool):
        self.estimator, self.pool = estimator, pool

    def fit(self, X, y):
        self.estimator.fit(np.vstack([X, self.pool]), np.concatenate([y, -np.ones(len(self.pool), int)]))
        self.added_ = int((self.estimator.labeled_iter_ > 0).sum())
        return self

    def predict(self, X):
        return self.estimator.predict(X)


def _object_rng(object_id, *salt):
    """A generator for one object alone: its draws do not depend on which other objects the run
    holds (a generator shared by the run would give every object other views in another run)."""
    return np.random.default_rng([zlib.crc32(str(object_id).encode()), *salt])


def _view(table, kind, low, k):
    """View ``k`` of ``table`` (the long layout), object ids ``"<id>@@<k>"``: ``"subsample"``
    keeps a random ``low``-95% of each band's observations (at least 5); ``"jitter"`` moves each
    magnitude by N(0, error^2). Each object's draws come from its own generator."""
    if kind == "subsample":
        keep = np.zeros(len(table), bool)
        for (obj, band), rows in table.groupby(["object_id", "band"]).indices.items():
            rng = _object_rng(obj, zlib.crc32(str(band).encode()), k, int(100 * low))
            n = min(len(rows), max(5, int(round(rng.uniform(low, 0.95) * len(rows)))))
            keep[rng.choice(rows, n, replace=False)] = True
        table = table[keep]
    else:
        noise = np.zeros(len(table))
        for obj, rows in table.groupby("object_id").indices.items():
            noise[rows] = _object_rng(obj, k).standard_normal(len(rows))
        table = table.assign(mag=table["mag"] + noise * table["mag_err"].abs().fillna(0))
    return table.assign(object_id=[f"{o}@@{k}" for o in table["object_id"]])


def main():
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import SelfTrainingClassifier
    from threadpoolctl import threadpool_limits

    from astromer.hybrid import embedding_probe

    args = fewshot_parser(__doc__.split("\n\n")[0], preset=True).parse_args()
    tables = FewShotTables.from_args(args, n_jobs=1)
    harness = tables.harness
    ids, E, _ = harness.embedding_table(tables.encoder)
    E = tables.line_up(ids, {"E": E})["E"]
    y, test = tables.y, tables.test
    pool_rows = np.setdiff1d(np.arange(len(y)), test)
    scaled = StandardScaler().fit(E[pool_rows]).transform(E)
    E_pca = PCA(64, random_state=0).fit(scaled[pool_rows]).transform(scaled)

    def lda():
        return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))

    rows, added = [], {}

    def score_splits(fit_predict):
        """``{shots: [macro F1 (%) per fold]}`` of ``fit_predict(training rows) -> test predictions``."""
        scores = {}
        for shots, _, train in tables.splits():
            with threadpool_limits(1):
                pred = fit_predict(shots, train)
            scores.setdefault(shots, []).append(100 * f1_score(y[test], pred, average="macro"))
        return scores

    def run(name, make, X, pool_of=None):
        def seen(shots, model):
            if hasattr(model, "added_"):
                added.setdefault(name, {}).setdefault(shots, []).append(model.added_)
        if pool_of is None:
            scores = tables.score(make, X, threads=1, seen=seen)
        else:  # self-training: each split's pool is the training pool less its labelled objects
            def fit_predict(shots, train):
                model = WithPool(SelfTrainingClassifier(embedding_probe(0, y=y[train]), threshold=pool_of),
                                 X[np.setdiff1d(pool_rows, train)]).fit(X[train], y[train])
                seen(shots, model)
                return model.predict(X[test])
            scores = score_splits(fit_predict)
        cells = mean_std_cells(scores)
        note = "; ".join(f"{s}: +{int(np.mean(v))}" for s, v in sorted(added.get(name, {}).items()))
        print(name, cells, note, flush=True)
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {note or '-'} |")

    run("the package's probe (scenario a's head)", lambda t: embedding_probe(0, y=t), E)
    run("shrinkage LDA", lambda t: lda(), E)
    run("shrinkage LDA on 64 principal components of the pool", lambda t: lda(), E_pca)
    run("ridge classifier, class-balanced", lambda t: make_pipeline(
        StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-1, 5, 13), class_weight="balanced")), E)
    for threshold in (0.95, 0.9):
        run(f"self-training on the pool, probability >= {threshold}", None, E, pool_of=threshold)

    # more training views of every training object (of any split), each view embedded once
    train_ids = sorted({tables.ids[r] for _, _, train in tables.splits() for r in train}, key=str)
    table = tables.data.table[tables.data.table["object_id"].isin(set(train_ids))]
    for kind, low, label in (("subsample", 0.5, "subsampled to 50-95%"), ("subsample", 0.8, "subsampled to 80-95%"),
                             ("jitter", None, "magnitudes jittered by 1 error sigma")):
        by_object = {}
        for k in range(VIEWS):  # one view at a time: the observation embeddings of all would not fit in memory
            v_ids, V, _ = harness.embedding_table(tables.encoder, f"views_{kind}_{low}_{k}",
                                                  _view(table, kind, low, k))
            for o, v in zip(v_ids, V):
                by_object.setdefault(str(o).rsplit("@@", 1)[0], []).append(v)
        def with_views(shots, train, by_object=by_object):
            extra = [(v, y[r]) for r in train for v in by_object.get(str(tables.ids[r]), [])]
            X_train = np.vstack([E[train]] + [np.array([v for v, _ in extra])])
            y_train = np.concatenate([y[train], [c for _, c in extra]])
            return embedding_probe(0, y=y_train).fit(X_train, y_train).predict(E[test])
        name = f"probe + {VIEWS} views per training object, {label}"
        cells = mean_std_cells(score_splits(with_views))
        print(name, cells, flush=True)
        rows.append(f"| {name} | " + " | ".join(cells) + " | - |")

    tables.write_report(
        f"probe_levers_{args.data}", f"{args.data}: few-shot levers for the encoder alone",
        f"Object-level macro F1 (%) on the {len(test)} test objects, mean ± std (ddof 1) over the harness's "
        f"3 folds; preset {args.preset}, pretrained encoder, the harness's embedding statistics "
        f"({E.shape[1]} per object). The training pool ({len(pool_rows)} objects, never the test set) is "
        "unlabelled for self-training and the PCA.", ["head"], "pseudo-labels added (mean)", rows)


if __name__ == "__main__":
    main()
