"""Time scales for the encoder alone: the probe on embeddings of curves whose times are scaled.

Astromer encodes each observation's (window-centred) time through sinusoids of fixed
frequencies, learnt on its pretraining survey's cadence. A survey with other baselines and gaps
may sit where those frequencies say little; multiplying every window's centred times by a
factor ``k`` (``Astromer.embed(time_scales=(k,))``: the same cleaning, windows and magnitudes)
moves it. This script embeds each labelled survey at several ``k`` with the few-shot preset and
scores the package's probe (:func:`astromer.hybrid.embedding_probe`, the harness's ``probe``) on
each, and on the unscaled and one scaled table side by side (what ``probe_scales`` reads,
:data:`astromer.evaluation.methods.PROBE_TIME_SCALES`), on more folds than the harness's 3
(``--folds``, default 12: the draws are the harness's own, seeded), so that a difference to
``k = 1`` can be told from the fold noise: the paired difference per fold, its standard error and
in how many folds the variant wins.

Object-level macro F1 (%) on the test objects, mean ± std (ddof 1) over the folds. Writes
``benchmarks/results/time_scales_DATA.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=1 python benchmarks/time_scales.py --data eros1
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser, mean_std_cells, report_head, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def columns_by_cv(candidates, y, seed=0):
    """The package's probe (standardised columns, class-balanced logistic regression) whose columns
    (one of ``candidates``, lists of column indices) and ``C`` are chosen together by macro F1 over
    the same stratified folds :func:`astromer.hybrid.embedding_probe` uses."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from astromer.hybrid import PROBE_CS

    smallest = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
    pipeline = make_pipeline(ColumnTransformer([("pick", "passthrough", candidates[0])]), StandardScaler(),
                             LogisticRegression(class_weight="balanced", max_iter=3000))
    grid = {"columntransformer__transformers": [[("pick", "passthrough", c)] for c in candidates],
            "logisticregression__C": list(PROBE_CS)}
    folds = StratifiedKFold(max(2, min(3, smallest)), shuffle=True, random_state=seed)
    return GridSearchCV(pipeline, grid, scoring="f1_macro", cv=folds)


def main():
    from astromer.evaluation.methods import PROBE_TIME_SCALES
    from astromer.hybrid import embedding_probe

    parser = fewshot_parser(__doc__.split("\n\n")[0], shots="20,100", preset=True)
    parser.add_argument("--folds", type=int, default=12, help="folds per shot count (default 12)")
    parser.add_argument("--scales", default="0.1,0.2,0.3,0.5,1,2,3",
                        help="time scales to embed at, comma-separated (default 0.1,0.2,0.3,0.5,1,2,3)")
    args = parser.parse_args()
    scales = sorted({float(k) for k in args.scales.split(",")} | set(PROBE_TIME_SCALES))
    tables = FewShotTables(args.data, args.shots, args.test_fraction, args.preset, n_jobs=1, folds=args.folds)
    by_scale = {}
    for k in scales:
        ids, E, seconds = tables.harness.embedding_table(tables.encoder, f"time_x{k:g}", time_scales=(k,))
        by_scale[k] = (ids, E)
        print(f"x{k:g}: {E.shape[1]} per object, {seconds:.0f} s", flush=True)
    ids = by_scale[1.0][0]
    assert all(by_scale[k][0] == ids for k in scales), "every scale embeds the same objects"
    X = tables.line_up(ids, {k: E for k, (_, E) in by_scale.items()})
    variants = [(f"x{k:g}", X[k]) for k in scales]
    variants.append((" + ".join(f"x{k:g}" for k in PROBE_TIME_SCALES) + " side by side (probe_scales)",
                     np.hstack([X[k] for k in PROBE_TIME_SCALES])))

    scores = {}
    for name, table in variants:
        scores[name] = tables.score(lambda t: embedding_probe(0, y=t), table, threads=1)
        print(name, mean_std_cells(scores[name]), flush=True)
    # tuning the factor per survey instead: each fold picks x1 alone or x1 + xk side by side (every
    # k of the run) together with C, by the probe's own cross-validated macro F1 on its training objects
    width = X[1.0].shape[1]
    others = [k for k in scales if k != 1.0]
    order = [1.0] + others
    candidates = [list(range(width))] + [list(range(width)) + list(range((i + 1) * width, (i + 2) * width))
                                         for i in range(len(others))]
    name = "chosen per fold by CV on the training objects: x1 or x1 + xk (" + ", ".join(f"x{k:g}" for k in others) + ")"
    picked = {}
    scores[name] = tables.score(lambda t: columns_by_cv(candidates, t), np.hstack([X[k] for k in order]), threads=1,
                                seen=lambda shots, m: picked.setdefault(shots, []).append(
                                    candidates.index(m.best_params_["columntransformer__transformers"][0][2])))
    variants.append((name, None))
    print(name, mean_std_cells(scores[name]), flush=True)
    chosen = {s: ", ".join(f"{'x1' if i == 0 else f'x1 + x{others[i - 1]:g}'} {n}"
                           for i, n in sorted(Counter(v).items())) for s, v in picked.items()}
    base = scores["x1"]
    shots = sorted(base)
    lines = []
    for name, _ in variants:
        cells = mean_std_cells(scores[name])
        paired = []
        for s in shots:
            d = np.array(scores[name][s]) - np.array(base[s])
            paired.append("-" if name == "x1" else
                          f"{d.mean():+.1f} ± {d.std(ddof=1) / np.sqrt(len(d)):.1f} ({int((d > 0).sum())}/{len(d)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(paired) + " |")
    head = report_head(
        f"{args.data}: the probe on embeddings of time-scaled curves",
        f"Object-level macro F1 (%) on the {len(tables.test)} test objects, mean ± std (ddof 1) over "
        f"{args.folds} folds of the harness's seeded draws; preset {args.preset}, pretrained encoder, the "
        "harness's embedding statistics. `xk`: every window's centred times multiplied by k before "
        "encoding (`Astromer.embed(time_scales=(k,))`). Paired: the difference to x1 per fold, mean ± "
        "standard error (wins / folds).", tables.start)
    lines += ["", "Chosen per fold (times the fold picked it): " + "; ".join(f"{s} per class: {c}"
                                                                         for s, c in chosen.items()) + "."]
    columns = ["times", *(f"{s} per class" for s in shots), *(f"paired vs x1, {s}" for s in shots)]
    write_report(ROOT / "benchmarks" / "results", f"time_scales_{args.data}.md", head + [
        "| " + " | ".join(columns) + " |", "|---|" + "---:|" * (2 * len(shots)), *lines], echo_last=len(lines) + 2)


if __name__ == "__main__":
    main()
