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

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FEWSHOT_PRESET, FewShotTables, fewshot_parser, mean_std_cells  # noqa: E402


def main():
    args = fewshot_parser(__doc__.split("\n\n")[0], shots="20,100").parse_args()
    tables = FewShotTables.from_args(args)

    from astromer.baselines import best_periods
    from astromer.data import fold_light_curves
    from astromer.hybrid import HybridClassifier, embedding_probe

    harness, encoder = tables.harness, tables.encoder
    f_ids, F, columns, _ = harness.feature_table("light_curve")
    periods = best_periods(f_ids, F, columns)
    ids, E, _ = harness.embedding_table(encoder)
    embeddings = {"as observed": E}
    for name, factor in (("folded on P", 1), ("folded on 2P", 2)):
        folded, dropped = fold_light_curves(tables.data.table, factor * periods)
        assert not dropped, f"{len(dropped)} objects without a period"
        fold_ids, embeddings[name], _ = harness.embedding_table(encoder, name, folded)
        assert fold_ids == ids
    embeddings["folded on P and 2P"] = np.hstack([embeddings["folded on P"], embeddings["folded on 2P"]])
    embeddings = tables.line_up(ids, embeddings, features=(f_ids, F))
    F, test = embeddings.pop("F"), tables.test

    lines = []
    for name, E_ in embeddings.items():
        for method, make, X in (
                ("probe", lambda t: embedding_probe(0, y=t), E_),
                ("hybrid_rf", lambda t: HybridClassifier(F.shape[1], "rf", seed=0, n_jobs=2), np.hstack([F, E_]))):
            cells = mean_std_cells(tables.score(make, X))
            print(method, name, cells, flush=True)
            lines.append(f"| {method} | {name} | " + " | ".join(cells) + " |")
    report = tables.report_head(
        f"{args.data}: which fold the encoder reads",
        f"Object-level macro F1 (%) on the {len(test)} test objects, mean ± std (ddof 1) over the harness's "
        f"3 folds; each split's training objects only; preset {FEWSHOT_PRESET}.") + [
        "| method | embeddings of the curves | " + " | ".join(f"{s} per class" for s in tables.shots) + " |",
        "|---|---|" + "---:|" * len(tables.shots), *lines, "",
    ]
    out = ROOT / "benchmarks" / "results" / f"fold_variants_{args.data}.md"
    out.write_text("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
