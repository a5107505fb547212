"""How much of a few-shot table's forest row is the forest's seed: the light-curve feature forest
(``rf_lc``) and the folded-curve forest hybrid (``hybrid_rf_fold``) refitted with several random
seeds and two forest sizes, on the harness's folds.

The few-shot harness's folds, test set and tables (``astromer evaluate`` with the
``astromer_v1_atlas`` preset): the light-curve features and the embeddings of the curves folded
on their periodogram period (:meth:`FewShotEvaluation.folded_embedding_table`). For the hybrid
the probe part of :class:`astromer.hybrid.HybridClassifier` (C by cross-validation, out-of-fold
probabilities) is fitted once per split, as its ``fit`` does, and only the forest on
``[features, probabilities]`` changes with the seed (seed 0 with the package's default forest is
checked to predict exactly what ``HybridClassifier`` predicts). The gradient-boosting rows have no
seed to vary (no subsampling, no early stopping: the same model every time).

Rows: macro F1 (%) on the test objects per forest size and method, the mean over seeds of the
3-fold mean, the spread (min - max) of those 3-fold means over seeds, and the hybrid's gain over the
feature forest seed by seed. Writes ``benchmarks/results/forest_seeds_DATASET.md``.

    OMP_NUM_THREADS=2 python benchmarks/forest_seeds.py --data eros1 --shots 20,100,500
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser  # noqa: E402


def main():
    parser = fewshot_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="forest seeds 0..N-1 (default 5)")
    parser.add_argument("--trees", default="300,1000", help="forest sizes, comma-separated (default 300,1000)")
    args = parser.parse_args()
    tables = FewShotTables.from_args(args)

    from sklearn.base import clone
    from sklearn.metrics import f1_score
    from sklearn.model_selection import cross_val_predict
    from threadpoolctl import threadpool_limits

    from astromer.baselines import feature_classifier
    from astromer.hybrid import HybridClassifier, _folds, embedding_probe

    harness, shots = tables.harness, tables.shots
    trees = [int(t) for t in args.trees.split(",")]
    seeds = range(args.seeds)
    ids, E, _, _ = harness.folded_embedding_table(tables.encoder)
    f_ids, F, _, _ = harness.feature_table("light_curve")
    lined = tables.line_up(ids, {"E": E}, features=(f_ids, F))
    E, F, y, test = lined["E"], lined["F"], tables.y, tables.test
    default_trees = feature_classifier("rf")[-1].n_estimators

    # f1[(method, trees)][shots] -> (seeds, folds)
    f1 = {}
    for s, fold, train in tables.splits():
        with threadpool_limits(2):
            probe = embedding_probe(0, y=y[train]).fit(E[train], y[train])
            best = getattr(probe, "best_estimator_", probe)
            oof = cross_val_predict(clone(best), E[train], y[train], cv=_folds(y[train], 5, 0), method="predict_proba")
            stacked_train, stacked_test = np.hstack([F[train], oof]), np.hstack([F[test], probe.predict_proba(E[test])])
            reference = HybridClassifier(F.shape[1], "rf", seed=0, n_jobs=2).fit(
                np.hstack([F, E])[train], y[train]).predict(np.hstack([F, E])[test])
            for n in trees:
                for seed in seeds:
                    for method, Xtr, Xte in (("rf_lc", F[train], F[test]), ("hybrid_rf_fold", stacked_train, stacked_test)):
                        model = feature_classifier("rf", seed=seed, n_jobs=2, n_estimators=n).fit(Xtr, y[train])
                        pred = model.predict(Xte)
                        if method == "hybrid_rf_fold" and seed == 0 and n == default_trees:
                            assert (pred == reference).all(), "the refitted forest differs from HybridClassifier's"
                        f1.setdefault((method, n), {}).setdefault(s, np.zeros((len(seeds), 3)))[
                            seed, fold] = 100 * f1_score(y[test], pred, average="macro")
        print(f"{s} per class, fold {fold} done", flush=True)

    def cell(values):  # values: (seeds, folds) -> mean over seeds of the fold mean, and the spread
        means = values.mean(1)
        return f"{means.mean():.1f} ({means.min():.1f} - {means.max():.1f})"

    lines = []
    for n in trees:
        for method in ("rf_lc", "hybrid_rf_fold"):
            lines.append(f"| {method} | {n} | " + " | ".join(cell(f1[(method, n)][s]) for s in shots) + " |")
        gain = [f1[("hybrid_rf_fold", n)][s].mean(1) - f1[("rf_lc", n)][s].mean(1) for s in shots]
        lines.append(f"| hybrid_rf_fold - rf_lc, seed by seed | {n} | "
                     + " | ".join(f"{g.mean():+.1f} ({g.min():+.1f} - {g.max():+.1f})" for g in gain) + " |")
    report = tables.report_head(
        f"{args.data}: the forest's seed in the few-shot table",
        f"Object-level macro F1 (%) on the {len(test)} test objects: for each forest size and method, the "
        f"3-fold mean for each of {len(seeds)} forest seeds; the cells give the mean of those over seeds "
        "and their range (min - max). The hybrid's probe part is fitted once per split; only its forest "
        f"changes. The package's forest had {default_trees} trees when this ran.") + [
        "| method | trees | " + " | ".join(f"{s} per class" for s in shots) + " |",
        "|---|---:|" + "---:|" * len(shots), *lines, "",
    ]
    out = ROOT / "benchmarks" / "results" / f"forest_seeds_{args.data}.md"
    out.write_text("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
