"""The multi-band scenarios on samples cut to the longest curve vs padded to the window, side by side.

:meth:`MultiBandClassifier.trim` cuts every multi-band sample of a survey to the shortest multiple
of 8 that holds every band's real steps (Astromer 1, which attends its padding, keeps one padded
step, weighted for all of them by ``key_bias``). Every sample keeps its place, so training runs the
same batches. This script measures what it saves where the few-shot harness (``astromer evaluate``)
spends its time on the multi-band scenarios, on the harness's own samples of ``--data``:

- ``features``: the frozen band statistics of every sample (scenarios a and c; :func:`band_features`
  without its own cut: ``predict_in_batches`` over :meth:`MultiBandClassifier.features`);
- ``epoch``: one fine-tuning epoch of scenario b (:func:`astromer.tasks.finetune.fit_encoder`, the
  harness's options) on one split's training objects (``--shots`` per class, fold 0), timed after
  a first epoch that traces and compiles.

Full and cut alternate within each of ``--rounds`` rounds in this one process (backend:
``KERAS_BACKEND``); ratios are full / cut from the same round. Also checked: the largest
difference of the logits on full and cut samples, and of the loss after the timed epochs.

    KERAS_BACKEND=tensorflow python benchmarks/multiband_trim.py   # writes results/multiband_trim_tensorflow.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="eros1", help="a labelled folder under ../shared/data (default eros1)")
    p.add_argument("--preset", default=C.FEWSHOT_PRESET, help=f"the encoder (default {C.FEWSHOT_PRESET})")
    p.add_argument("--shots", type=int, default=100, help="training objects per class for b's epoch")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args()
    os.environ.setdefault("ASTROMER_MIRROR", str(C.REPO.parent / "shared" / "weights" / "astromer"))

    import keras

    import astromer
    from astromer.data.classification import band_samples
    from astromer.data.windows import window_curves
    from astromer.evaluation import FewShotEvaluation
    from astromer.evaluation.labelled import load_labelled_folder
    from astromer.models.batched_inference import predict_in_batches
    from astromer.models.classifier.multiband import MultiBandClassifier
    from astromer.tasks.encoders import fresh_copy
    from astromer.tasks.finetune import fit_encoder

    start = time.time()
    lines_machine = C.machine_lines()
    data = load_labelled_folder(C.REPO.parent / "shared" / "data" / args.data)
    harness = FewShotEvaluation(data, lambda: astromer.load_preset(args.preset, progress=False),
                                shots=[args.shots], folds=3, n_jobs=1)
    encoder = harness.load_encoder()
    windows = window_curves(harness.prepared.curves, window_size=encoder.window_size)
    objects, full, _, bands = band_samples(harness.prepared, windows)
    objects = np.array(objects)
    labels = np.array([harness.classes[data.labels[o]] for o in objects])
    probe = MultiBandClassifier(encoder, len(harness.classes), bands)
    cut, _ = probe.trim(full)
    real = full["mask"].sum() / full["mask"].size
    split = next(s for s in harness.splits() if s["fold"] == 0)
    train = np.isin(objects, split["train"])
    take = harness._take

    logits = {name: predict_in_batches(probe, x, batch_size=256, verbose=0) for name, x in
              (("full", full), ("cut", cut))}
    logit_diff = float(np.abs(logits["full"] - logits["cut"]).max())

    def epoch_seconds(x):
        clf = MultiBandClassifier(fresh_copy(encoder), len(harness.classes), bands)
        times = []

        class Clock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t0)

        history = fit_encoder(clf, take(x, train), labels[train], epochs=2, batch_size=harness.batch_size,
                              learning_rate=harness.learning_rate,
                              encoder_learning_rate=harness.encoder_learning_rate,
                              layer_decay=harness.layer_decay, weight_decay=harness.weight_decay,
                              callbacks=[Clock()], seed=harness.seed)
        return times[-1], history.history["loss"][-1]

    rows, losses = [], {}
    for r in range(args.rounds):
        result = {}
        for name, x in (("full", full), ("cut", cut)):
            sec, _ = C.timed(lambda: predict_in_batches(probe, x, batch_size=256, verbose=0), 1, warmup=0)
            result[f"{name}_features_s"] = sec
            result[f"{name}_epoch_s"], losses[name] = epoch_seconds(x)
        rows.append(result)
        print(f"[round {r + 1}] {result} (load {C.load()})", flush=True)

    def ratios(kind):
        return [row[f"full_{kind}_s"] / row[f"cut_{kind}_s"] for row in rows]

    backend = keras.backend.backend()
    table = [f"| {kind} | " + " / ".join(f"{row[f'full_{kind}_s']:.2f}" for row in rows) + " | "
             + " / ".join(f"{row[f'cut_{kind}_s']:.2f}" for row in rows) + " | "
             + " / ".join(f"{v:.2f}x" for v in ratios(kind)) + " |" for kind in ("features", "epoch")]
    report = [
        f"# Multi-band samples cut to the longest curve vs padded ({args.data}, {args.preset}, {backend})", "",
        f"Command: `{C.command_line()}` (commit {C.git_state()})", "", *lines_machine,
        f"- written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{(time.time() - start) / 60:.1f} min", "",
        f"{len(objects)} samples of {len(bands)} bands ({', '.join(bands)}); {100 * real:.0f}% of the padded steps are "
        f"real observations; window {encoder.window_size} steps, cut to **{cut['mask'].shape[-1]}**"
        + (" with key_bias (the encoder attends its padding)" if "key_bias" in cut else "") + ".", "",
        f"- `features`: the band statistics of all {len(objects)} samples (batch 256), seconds;",
        f"- `epoch`: one scenario-b epoch on fold 0's {int(train.sum())} training samples "
        f"({args.shots} per class, batch {harness.batch_size}), seconds, after one epoch that traces.", "",
        "| measure | padded (per round) | cut (per round) | padded / cut |", "|---|---|---|---|", *table, "",
        f"Largest difference of the logits, padded vs cut: {logit_diff:.2e}. Training loss after the second "
        f"epoch: padded {losses['full']:.6f}, cut {losses['cut']:.6f} (the same batches from the same weights: "
        "float32 rounding, and with dropout on the draws at v1's kept padded steps, are all that differ).", "",
    ]
    out = args.results / f"multiband_trim_{backend}.md"
    out.write_text("\n".join(report))
    print("\n".join(report))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
