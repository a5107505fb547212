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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser, mean_std_cells, report_head, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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
    columns = ["times", *(f"{s} per class" for s in shots), *(f"paired vs x1, {s}" for s in shots)]
    write_report(ROOT / "benchmarks" / "results", f"time_scales_{args.data}.md", head + [
        "| " + " | ".join(columns) + " |", "|---|" + "---:|" * (2 * len(shots)), *lines], echo_last=len(lines) + 2)


if __name__ == "__main__":
    main()
