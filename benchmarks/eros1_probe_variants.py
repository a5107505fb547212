"""What else was tried to close the gap between the frozen Astromer embeddings and the feature
forest on EROS-1 at few labels: other probes, other statistics of the observation embeddings,
semi-supervised use of the unlabelled training pool, and phase-folded curves.

The same folds, test set and tables as the few-shot harness (``benchmarks/eros1_fewshot.py``):
the astromer_v1 embeddings (mean + std over each curve's observation rows, bands side by side,
:meth:`FewShotEvaluation.embedding_table`) and the light-curve package's features
(:meth:`FewShotEvaluation.feature_table`). Object-level macro F1 on the 729 test objects, mean
± std over the 3 folds. Writes ``benchmarks/results/eros1_probe_variants.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=2 python benchmarks/eros1_probe_variants.py --shots 20
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report_head  # noqa: E402


def folded_embeddings(encoder, table, scale):
    """Each band curve folded at its strongest periodogram period (the light-curve package's
    periodogram of the feature set), phase x ``scale`` days as times; embedding statistics as the probe's."""
    import pandas as pd

    from astromer.baselines.lc_features import periodogram
    from astromer.data.light_curves import prepare_light_curves
    from astromer.evaluation.methods import EMBEDDING_STATISTICS

    prepared = prepare_light_curves(table, min_observations=10)
    find = periodogram(1, min_period=0.1)
    frames = []
    for key, curve in zip(prepared.ids, prepared.curves):
        t, m = curve[:, 0], curve[:, 1]
        e = curve[:, 2].clip(1e-3) if curve.shape[1] > 2 else np.ones_like(m)
        period = float(find(t, m, e, sorted=True, check=False)[0])
        phase = ((t - t.min()) / period) % 1.0
        frames.append(pd.DataFrame({"object_id": key[0], "band": key[1], "time": phase * scale, "mag": m,
                                    "mag_err": e}))
    result = encoder.embed(pd.concat(frames, ignore_index=True), verbose=0)
    bands = sorted({i[1] for i in result.ids})
    return result.object_vectors(bands=bands, vectors=result.statistics(EMBEDDING_STATISTICS))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", default="20", help="comma-separated shots per class (default 20)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "eros1_probe_variants.md"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import astromer
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    from astromer.baselines import feature_classifier
    from astromer.evaluation import FewShotEvaluation
    from astromer.evaluation.labelled import load_labelled_folder
    from astromer.hybrid import HybridClassifier, embedding_probe

    start = time.time()
    data = load_labelled_folder(SHARED / "data" / "eros1")
    encoder = astromer.load_preset("astromer_v1")
    harness = FewShotEvaluation(data, lambda: encoder, shots=[int(s) for s in args.shots.split(",")], folds=3,
                                n_jobs=2)
    ids, E, _ = harness.embedding_table(encoder)
    f_ids, F, _, _ = harness.feature_table("light_curve")
    f_row = {o: i for i, o in enumerate(f_ids)}
    F = F[[f_row[o] for o in ids]]
    row = {o: i for i, o in enumerate(ids)}
    y = np.array([harness.classes[data.labels[o]] for o in ids])
    test = np.array([row[o] for o in data.test_ids])
    pool = np.array([row[o] for o in data.pool_ids])
    stats = encoder.embed(data.table, verbose=0)
    bands = sorted({i[1] for i in stats.ids})
    s_ids, extremes = stats.object_vectors(bands=bands, vectors=stats.statistics(("min", "max")))
    s_row = {o: i for i, o in enumerate(s_ids)}
    extremes = extremes[[s_row[o] for o in ids]]
    fold_ids, folded = folded_embeddings(encoder, data.table, 1000.0)
    fold_row = {o: i for i, o in enumerate(fold_ids)}
    folded = np.stack([folded[fold_row[o]] if o in fold_row else np.zeros(folded.shape[1]) for o in ids])
    F_imputed = SimpleImputer().fit_transform(F)
    means = E.reshape(len(E), len(bands), 2, -1)[:, :, 0].reshape(len(E), -1)  # per band: [mean, std]

    def score(make, X, semi=False):
        out = {}
        for split in harness.splits():
            train = np.array([row[o] for o in split["train"]])
            model = make(y[train])
            with threadpool_limits(2):
                if semi:  # every training-pool object, unlabelled (-1) but for this split's training objects
                    labels = np.full(len(pool), -1)
                    labels[np.isin(pool, train)] = y[pool[np.isin(pool, train)]]
                    model.fit(X[pool], labels)
                else:
                    model.fit(X[train], y[train])
                pred = model.predict(X[test])
            out.setdefault(split["shots"], []).append(100 * f1_score(y[test], pred, average="macro"))
        return {k: f"{np.mean(v):.1f} ± {np.std(v):.1f}" for k, v in out.items()}

    def lr():
        return LogisticRegression(C=0.01, class_weight="balanced", max_iter=3000)

    pca32 = make_pipeline(StandardScaler(), PCA(32, random_state=0)).fit_transform(E)
    rows = [
        ("astromer", "logistic probe, mean + std (the harness's `probe`)", lambda t: embedding_probe(0, y=t), E, False),
        ("astromer", "logistic probe, mean only", lambda t: embedding_probe(0, y=t), means, False),
        ("astromer", "logistic probe, mean + std + min + max", lambda t: embedding_probe(0, y=t),
         np.hstack([E, extremes]), False),
        ("astromer", "logistic probe, wider C grid (1e-4 .. 1)",
         lambda t: embedding_probe(0, cs=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1), y=t), E, False),
        ("astromer", "PCA 16 (whitened) + logistic",
         lambda t: make_pipeline(StandardScaler(), PCA(16, whiten=True, random_state=0), lr()), E, False),
        ("astromer", "RBF SVM (C by 3-fold macro F1)",
         lambda t: GridSearchCV(make_pipeline(StandardScaler(), SVC(class_weight="balanced")),
                                {"svc__C": [0.3, 1, 3, 10]}, scoring="f1_macro", cv=3), E, False),
        ("astromer", "k nearest neighbours (5, cosine)",
         lambda t: make_pipeline(StandardScaler(), KNeighborsClassifier(5, metric="cosine", weights="distance")),
         E, False),
        ("astromer", "shrinkage LDA",
         lambda t: make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
         E, False),
        ("astromer", "random forest on the embeddings", lambda t: feature_classifier("rf", seed=0, n_jobs=2), E, False),
        ("astromer", "self-training logistic over the unlabelled pool (threshold 0.9)",
         lambda t: make_pipeline(StandardScaler(), SelfTrainingClassifier(lr(), threshold=0.9)), E, True),
        ("astromer", "label spreading (kNN 7, PCA 32) over the unlabelled pool",
         lambda t: LabelSpreading(kernel="knn", n_neighbors=7, alpha=0.2, max_iter=200), pca32, True),
        ("hybrid", "logistic probe on phase-folded curves (period from the periodogram; phase x 1000 d)",
         lambda t: embedding_probe(0, y=t), folded, False),
        ("hybrid", "logistic probe, raw + folded embeddings", lambda t: embedding_probe(0, y=t),
         np.hstack([E, folded]), False),
        ("hybrid", "stacked hybrid forest (the harness's `hybrid_rf`)",
         lambda t: HybridClassifier(F.shape[1], "rf", seed=0, n_jobs=2), np.hstack([F, E]), False),
        ("hybrid", "stacked hybrid forest, raw + folded embeddings",
         lambda t: HybridClassifier(F.shape[1], "rf", seed=0, n_jobs=2), np.hstack([F, E, folded]), False),
        ("features", "random forest on light-curve features (the harness's `rf_lc`)",
         lambda t: feature_classifier("rf", seed=0, n_jobs=2), F, False),
        ("features", "self-training forest on light-curve features over the unlabelled pool (threshold 0.75)",
         lambda t: SelfTrainingClassifier(feature_classifier("rf", seed=0, n_jobs=2), threshold=0.75),
         F_imputed, True),
    ]
    lines = []
    for family, name, make, X, semi in rows:
        result = score(make, X, semi)
        print(family, name, result, flush=True)
        lines.append(f"| {family} | {name} | " + " | ".join(result[s] for s in sorted(result)) + " |")
    shots = sorted(int(s) for s in args.shots.split(","))
    report = report_head(
        "EROS-1: probe variants tried against the feature forest",
        "Object-level macro F1 (%) on the 729 test objects, mean ± std (ddof 0) over the harness's 3 folds "
        "(training objects only, or the whole unlabelled training pool where it says so).", start) + [
        "| family | method | " + " | ".join(f"{s} per class" for s in shots) + " |",
        "|---|---|" + "---:|" * len(shots), *lines, "",
    ]
    Path(args.output).write_text("\n".join(report))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
