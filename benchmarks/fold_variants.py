"""Which fold the encoder should read: embeddings of curves folded on the periodogram period P,
on 2P (an eclipsing binary's periodogram often peaks at half its period: on 2P its two unequal
eclipses show), or both side by side, against the curves as observed.

The few-shot harness's folds, test set and tables (``astromer evaluate`` with the
``astromer_v1_atlas`` preset): the light-curve features and their periods
(:func:`astromer.baselines.best_periods`), the embeddings (mean + std of every block, bands side by
side) of the curves as observed and folded (:func:`astromer.data.fold_light_curves`). Rows: the
logistic probe on each embedding, and the forest hybrid (features + stacked probe,
:class:`astromer.hybrid.HybridClassifier`) on each. Object-level macro F1 on the test objects, mean
± std (ddof 1) over the 3 folds. Writes ``benchmarks/results/fold_variants_DATASET.md``.

    OMP_NUM_THREADS=2 python benchmarks/fold_variants.py --data eros1 --shots 20,100
"""

import argparse
import datetime
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FEWSHOT_PRESET, command_line, machine_lines  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="eros1", help="a labelled folder under ../shared/data (default eros1)")
    parser.add_argument("--shots", default="20,100", help="comma-separated shots per class (default 20,100)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="test fraction where the data have no split column (as astromer evaluate)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("ASTROMER_MIRROR", str(SHARED / "weights" / "astromer"))

    import astromer
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    from astromer.baselines import best_periods
    from astromer.data import fold_light_curves
    from astromer.evaluation import FewShotEvaluation
    from astromer.evaluation.labelled import load_labelled_folder
    from astromer.hybrid import HybridClassifier, embedding_probe

    start = time.time()
    data = load_labelled_folder(SHARED / "data" / args.data, test_fraction=args.test_fraction)
    encoder = astromer.load_preset(FEWSHOT_PRESET)
    shots = [int(s) for s in args.shots.split(",")]
    harness = FewShotEvaluation(data, lambda: encoder, shots=shots, folds=3, n_jobs=2)
    f_ids, F, columns, _ = harness.feature_table("light_curve")
    periods = best_periods(f_ids, F, columns)
    ids, E, _ = harness.embedding_table(encoder)
    tables = {"as observed": E}
    for name, factor in (("folded on P", 1), ("folded on 2P", 2)):
        folded, dropped = fold_light_curves(data.table, factor * periods)
        assert not dropped, f"{len(dropped)} objects without a period"
        fold_ids, tables[name], _ = harness.embedding_table(encoder, name, folded)
        assert fold_ids == ids
    tables["folded on P and 2P"] = np.hstack([tables["folded on P"], tables["folded on 2P"]])
    f_row = {o: i for i, o in enumerate(f_ids)}
    F = F[[f_row[o] for o in ids]]
    row = {o: i for i, o in enumerate(ids)}
    y = np.array([harness.classes[data.labels[o]] for o in ids])
    test = np.array([row[o] for o in data.test_ids if o in row])

    def score(make, X):
        out = {}
        for split in harness.splits():
            train = np.array([row[o] for o in split["train"] if o in row])
            model = make(y[train])
            with threadpool_limits(2):
                model.fit(X[train], y[train])
                pred = model.predict(X[test])
            out.setdefault(split["shots"], []).append(100 * f1_score(y[test], pred, average="macro"))
        return [f"{np.mean(out[s]):.1f} ± {np.std(out[s], ddof=1):.1f}" for s in sorted(out)]

    lines = []
    for name, E_ in tables.items():
        for method, make, X in (
                ("probe", lambda t: embedding_probe(0, y=t), E_),
                ("hybrid_rf", lambda t: HybridClassifier(F.shape[1], "rf", seed=0, n_jobs=2), np.hstack([F, E_]))):
            cells = score(make, X)
            print(method, name, cells, flush=True)
            lines.append(f"| {method} | {name} | " + " | ".join(cells) + " |")
    report = [
        f"# {args.data}: which fold the encoder reads", "",
        f"Object-level macro F1 (%) on the {len(test)} test objects, mean ± std (ddof 1) over the harness's "
        f"3 folds; each split's training objects only; preset {FEWSHOT_PRESET}.", "",
        f"Command: `{command_line()}`", "", *machine_lines(),
        f"- written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{(time.time() - start) / 60:.1f} min", "",
        "| method | embeddings of the curves | " + " | ".join(f"{s} per class" for s in shots) + " |",
        "|---|---|" + "---:|" * len(shots), *lines, "",
    ]
    out = ROOT / "benchmarks" / "results" / f"fold_variants_{args.data}.md"
    out.write_text("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
