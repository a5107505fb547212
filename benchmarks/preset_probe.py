"""Which frozen embeddings classify best: the logistic probe of the few-shot harness (``probe``:
mean + std of each band's observation embeddings, bands side by side, C by cross-validated macro
F1 on the training objects) on each Astromer 1 preset's embeddings, of the last block or of every
block side by side, on both labelled surveys, on the harness's own folds and test sets.

Rows: each preset with the last block's embeddings and with every block's; both presets'
(every block) concatenated; both presets' probes' probabilities averaged (late fusion).
Object-level macro F1 (%) on the test objects, mean ± std (ddof 0) over 3 folds. This is the
evidence behind ``astromer.defaults.LIGHT_CURVE_PRESET`` and
``astromer.evaluation.methods.EMBEDDING_LAYERS``. Writes ``benchmarks/results/preset_probe.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=2 python benchmarks/preset_probe.py
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

SURVEYS = {"eros1": ("EROS-1 (4 classes, bands b r)", (20, 100, 500)),
           "s82_rrlyrae": ("Stripe 82 RR Lyrae (RRab / RRc, bands ugriz)", (20, 100, 500))}
PRESETS = ("astromer_v1", "astromer_v1_atlas")


def survey_rows(name, shots, presets):
    """``{row name: {shots: [F1 per fold]}}`` for one survey."""
    import astromer
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    from astromer.evaluation import FewShotEvaluation
    from astromer.evaluation.labelled import load_labelled_folder
    from astromer.hybrid import embedding_probe

    data = load_labelled_folder(SHARED / "data" / name)
    tables, ids, blocks = {}, None, {}
    for preset in presets:
        encoder = astromer.load_preset(preset, progress=False)
        harness = FewShotEvaluation(data, lambda: encoder, shots=list(shots), folds=3, n_jobs=2)
        got, E, seconds = harness.embedding_table(encoder)  # per band: (mean, std) x (block 0, ..., last block)
        print(f"{name}: {preset} embeddings {E.shape} in {seconds:.0f} s", flush=True)
        if ids is not None and got != ids:
            raise RuntimeError("the presets embedded different objects")
        per = E.reshape(len(E), -1, 2, encoder.num_layers, encoder.width)  # (objects, bands, stat, block, d)
        ids, blocks[preset] = got, E
        tables[f"{preset}, last block"] = per[:, :, :, -1].reshape(len(E), -1)
        tables[f"{preset}, every block"] = E
    row = {o: i for i, o in enumerate(ids)}
    y = np.array([harness.classes[data.labels[o]] for o in ids])
    test = np.array([row[o] for o in data.test_ids if o in row])
    out = {}
    for split in harness.splits():
        train = np.array([row[o] for o in split["train"] if o in row])
        probs = {}
        with threadpool_limits(2):
            for preset, E in tables.items():
                probs[preset] = embedding_probe(0, y=y[train]).fit(E[train], y[train]).predict_proba(E[test])
            both = np.hstack([blocks[p] for p in presets])
            probs["both presets, every block, concatenated"] = \
                embedding_probe(0, y=y[train]).fit(both[train], y[train]).predict_proba(both[test])
        probs["both presets, every block, probes' probabilities averaged"] = \
            np.mean([probs[f"{p}, every block"] for p in presets], axis=0)
        for key, p in probs.items():
            score = 100 * f1_score(y[test], p.argmax(1), average="macro")
            out.setdefault(key, {}).setdefault(split["shots"], []).append(score)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "preset_probe.md"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    start = time.time()
    lines = []
    for name, (title, shots) in SURVEYS.items():
        rows = survey_rows(name, shots, PRESETS)
        lines += [f"## {title}", "", "| embeddings | " + " | ".join(f"{s} per class" for s in shots) + " |",
                  "|---|" + "---:|" * len(shots)]
        for key, per_shots in rows.items():
            cells = [f"{np.mean(per_shots[s]):.1f} ± {np.std(per_shots[s]):.1f}" for s in shots]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
            print(name, key, cells, flush=True)
        lines.append("")
    report = report_head(
        "Frozen embeddings of each preset: the logistic probe on two labelled surveys",
        "Object-level macro F1 (%) on each survey's test objects, mean ± std (ddof 0) over the few-shot "
        "harness's 3 folds (training objects only; a class short of shots trains on all it has).", start) + lines
    Path(args.output).write_text("\n".join(report) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
