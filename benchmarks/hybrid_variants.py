"""Other ways to join the light-curve features and the Astromer embeddings, against the harness's
stacked hybrid (``hybrid_rf``), at few labels.

The same folds, test set and tables as the few-shot harness (``astromer evaluate``): the
embeddings of ``--preset`` (default the harness's, ``astromer_v1_atlas``; mean + std over each curve's
observation rows of every block, bands side by side,
:meth:`FewShotEvaluation.embedding_table`) and the light-curve package's features
(:meth:`FewShotEvaluation.feature_table`). Rows:

- the forest on the features (``rf_lc``) and the logistic probe on the embeddings (``probe``);
- ``hybrid_rf``: the probe's out-of-fold probabilities as extra forest columns
  (:class:`astromer.hybrid.HybridClassifier`);
- soft vote: ``w p_forest + (1 - w) p_probe``, ``w`` in {0, 0.25, 0.5, ..., 1} chosen by the
  out-of-fold macro F1 on the training objects (the ``w`` chosen per split is listed);
- stacked logistic: a class-balanced logistic regression over both models' out-of-fold
  log-probabilities.

Object-level macro F1 on the test objects, mean ± std (ddof 1) over the 3 folds. Writes
``benchmarks/results/hybrid_variants_DATASET.md``.

    OMP_NUM_THREADS=1 python benchmarks/hybrid_variants.py --data eros1 --shots 20,100
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser, mean_std_cells  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class LateFusion:
    """A soft vote (``meta=False``: ``w p_forest + (1 - w) p_probe``, ``w`` in :data:`WEIGHTS` by
    out-of-fold macro F1) or a logistic meta-learner (``meta=True``) over a feature forest and the
    embedding probe, both fitted on out-of-fold probabilities of the training set (the folds of
    :class:`astromer.hybrid.HybridClassifier`). ``X``: ``n_features`` feature columns, then embeddings."""

    def __init__(self, n_features, meta, seed=0, n_jobs=1):
        self.n_features, self.meta, self.seed, self.n_jobs = n_features, meta, seed, n_jobs

    def fit(self, X, y):
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import f1_score
        from sklearn.model_selection import cross_val_predict

        from astromer.baselines import feature_classifier
        from astromer.hybrid import _folds, embedding_probe

        F, E = X[:, :self.n_features], X[:, self.n_features:]
        self.classes_ = np.unique(y)
        self.probe_ = embedding_probe(self.seed, y=y).fit(E, y)
        best = getattr(self.probe_, "best_estimator_", self.probe_)
        folds = _folds(y, 5, self.seed)
        forest = feature_classifier("rf", seed=self.seed, n_jobs=self.n_jobs)
        p_e = cross_val_predict(clone(best), E, y, cv=folds, method="predict_proba")
        p_f = cross_val_predict(clone(forest), F, y, cv=folds, method="predict_proba")
        self.w_ = None
        if self.meta:
            self.meta_ = LogisticRegression(class_weight="balanced", max_iter=2000).fit(_log_pair(p_f, p_e), y)
        else:
            f1 = [f1_score(y, self.classes_[(w * p_f + (1 - w) * p_e).argmax(1)], average="macro") for w in WEIGHTS]
            self.w_ = WEIGHTS[int(np.argmax(f1))]
        self.forest_ = forest.fit(F, y)
        return self

    def predict(self, X):
        p_f = self.forest_.predict_proba(X[:, :self.n_features])
        p_e = self.probe_.predict_proba(X[:, self.n_features:])
        if self.meta:
            return self.meta_.predict(_log_pair(p_f, p_e))
        return self.classes_[(self.w_ * p_f + (1 - self.w_) * p_e).argmax(1)]


def _log_pair(p_f, p_e):
    return np.hstack([np.log(p_f + 1e-3), np.log(p_e + 1e-3)])


def main():
    args = fewshot_parser(__doc__.split("\n\n")[0], shots="20,100", preset=True).parse_args()
    tables = FewShotTables.from_args(args, n_jobs=1)

    from astromer.baselines import feature_classifier
    from astromer.hybrid import HybridClassifier, embedding_probe

    ids, E, _ = tables.harness.embedding_table(tables.encoder)
    lined = tables.line_up(ids, {"E": E}, features=tables.harness.feature_table("light_curve")[:2])
    E, F, test = lined["E"], lined["F"], tables.test
    X = np.hstack([F, E])
    n_features = F.shape[1]

    def score(make, Xm):
        weights = {}

        def seen(shots, model):
            if getattr(model, "w_", None) is not None:
                weights.setdefault(shots, []).append(model.w_)
        cells = mean_std_cells(tables.score(make, Xm, threads=1, seen=seen))
        chosen = "; ".join(f"{s}: " + ", ".join(f"{w:g}" for w in weights[s]) for s in sorted(weights))
        return cells, chosen

    rows = [
        ("random forest on light-curve features (`rf_lc`)", lambda t: feature_classifier("rf", seed=0, n_jobs=1), F),
        ("logistic probe on the embeddings (`probe`)", lambda t: embedding_probe(0, y=t), E),
        ("stacked: probe out-of-fold probabilities as forest columns (`hybrid_rf`)",
         lambda t: HybridClassifier(n_features, "rf", seed=0, n_jobs=1), X),
        ("soft vote of forest and probe, weight by out-of-fold macro F1", lambda t: LateFusion(n_features, False), X),
        ("logistic meta-learner over both out-of-fold log-probabilities", lambda t: LateFusion(n_features, True), X),
    ]
    lines = []
    for name, make, Xm in rows:
        cells, chosen = score(make, Xm)
        print(name, cells, chosen, flush=True)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {chosen or '-'} |")
    report = tables.report_head(
        f"{args.data}: joining features and embeddings, other ways than the stacked hybrid",
        f"Object-level macro F1 (%) on the {len(test)} test objects, mean ± std (ddof 1) over the harness's "
        f"3 folds; each split's training objects only; preset {args.preset}.") + [
        "| method | " + " | ".join(f"{s} per class" for s in tables.shots) + " | forest weight chosen per fold |",
        "|---|" + "---:|" * len(tables.shots) + "---|", *lines, "",
    ]
    out = ROOT / "benchmarks" / "results" / f"hybrid_variants_{args.data}.md"
    out.write_text("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
