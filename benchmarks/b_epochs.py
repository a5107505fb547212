"""Scenario b epoch by epoch: what fine-tuning does to validation and test scores, with and
without magnitude jitter, and with the encoder frozen (the head alone training on).

One split of the few-shot harness (``--shots``, ``--fold``; multi-band, the harness's default
preset and options), :func:`astromer.tasks.multiband.fit_multiband` with ``finetune_epochs``
epochs from a's probe head, per configuration ``JITTER:ENCODER_RATE``. After the start and each
epoch: the validation macro F1 and cross-entropy per object (what b's selection sees) and the
same on the test objects (which the selection never sees; this report is a diagnosis, not a
result). Writes ``benchmarks/results/b_epochs_DATA.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=2 python benchmarks/b_epochs.py --data eros1
"""

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser  # noqa: E402


def main():
    parser = fewshot_parser(__doc__.split("\n\n")[0], shots="100", preset=True, one_shot_count=True)
    parser.add_argument("--fold", type=int, default=0, help="the harness's fold (default 0)")
    parser.add_argument("--epochs", type=int, default=6, help="fine-tuning epochs (default 6)")
    parser.add_argument("--configs", default="1:3e-5,0:3e-5,1:0,0:0",
                        help="comma-separated JITTER:ENCODER_RATE (jitter in error sigmas; encoder rate 0: the "
                        "encoder frozen, only the head trains; default %(default)s)")
    args = parser.parse_args()
    if "," in args.shots:
        parser.error("--shots: one number of labelled objects per class here")
    tables = FewShotTables.from_args(args, n_jobs=1)

    import keras

    from astromer.models.classifier.multiband import MultiBandClassifier
    from astromer.tasks.encoders import fresh_copy
    from astromer.tasks.multiband import band_features, fit_multiband
    from astromer.tasks.selection import macro_f1_and_log_loss

    data, harness, pretrained = tables.data, tables.harness, tables.encoder
    x, labels, objects, errors, bands = harness._band_windows(pretrained)
    split = next(s for s in harness.splits() if s["fold"] == args.fold)
    tr, va = np.isin(objects, split["train"]), np.isin(objects, split["val"])
    te = np.isin(objects, data.test_ids)
    take = harness._take
    features = band_features(MultiBandClassifier(pretrained, len(harness.classes), bands), take(x, tr))

    class Scores(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def _score(self, epoch):
            val = macro_f1_and_log_loss(self.model, take(x, va), labels[va], objects[va])
            test = macro_f1_and_log_loss(self.model, take(x, te), labels[te], objects[te])
            self.rows.append((epoch, *val, *test))
            print(epoch, np.round(self.rows[-1][1:], 3), flush=True)

        def on_train_begin(self, logs=None):
            self._score(0)

        def on_epoch_end(self, epoch, logs=None):
            self._score(epoch + 1)

    lines = []
    for config in args.configs.split(","):
        jitter, rate = (float(v) for v in config.split(":"))
        encoder = fresh_copy(pretrained)
        keras.utils.set_random_seed(harness.seed)
        clf = MultiBandClassifier(encoder, len(harness.classes), bands)
        scores = Scores()
        began = time.time()
        fit = fit_multiband(clf, take(x, tr), labels[tr], (take(x, va), labels[va], objects[va]), features=features,
                            finetune_epochs=args.epochs, batch_size=harness.batch_size,
                            learning_rate=harness.learning_rate, encoder_learning_rate=rate or 1e-12,
                            layer_decay=harness.layer_decay, weight_decay=harness.weight_decay,
                            errors=errors[tr], jitter=jitter, callbacks=[scores], seed=harness.seed)
        what = f"jitter {jitter:g} sigma, " + (f"encoder rate {rate:g}" if rate else "encoder frozen (head only)")
        for epoch, vf1, vll, tf1, tll in scores.rows:
            lines.append(f"| {what} | {epoch} | {100 * vf1:.1f} | {vll:.3f} | {100 * tf1:.1f} | {tll:.3f} |")
        lines.append(f"| {what}: epoch kept by b's selection | {fit.selected_epoch} | | | | "
                     f"({time.time() - began:.0f} s) |")
        print(what, "kept", fit.selected_epoch, flush=True)
    report = tables.report_head(
        f"{args.data}: scenario b epoch by epoch ({args.shots} per class, fold {args.fold})",
        f"Multi-band scenario b from a's probe head, preset {args.preset}, the harness's options "
        f"(head rate {harness.learning_rate:g}, layer decay {harness.layer_decay:g}, weight decay "
        f"{harness.weight_decay:g}, warm-up then cosine over {args.epochs} epochs). Macro F1 (%) and "
        f"cross-entropy per object on the {int(len(set(objects[va])))} validation objects (what the selection "
        f"sees) and the {int(len(set(objects[te])))} test objects (which it never sees). Epoch 0: a's start.") + [
        "| configuration | epoch | validation macro F1 | validation CE | test macro F1 | test CE |",
        "|---|---:|---:|---:|---:|---:|", *lines, "",
    ]
    out = ROOT / "benchmarks" / "results" / f"b_epochs_{args.data}.md"
    out.write_text("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
