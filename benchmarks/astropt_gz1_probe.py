"""AstroPT on real galaxies: does next-patch pretraining pay on Galaxy Zoo 1? Seeds and spreads.

1. Read ``../shared/data/gz1_sdss`` (6,664 SDSS colour JPEGs, 423x423) with the package's one
   image reader (``astromer.tasks.images.read_images_input``): the central ``--crop`` pixels,
   resized to ``--size``.
2. For each of ``--seeds`` seeds, pretrain a small AstroPT from scratch on every image (labels
   unused; the package's ``pretrain_images``: next-patch Huber loss, AdamW with warm-up and
   cosine decay, random 90-degree turns and flips), ``--minutes`` per seed.
3. The package's linear-probe protocol (``astromer.evaluation.probe``, what ``astromer probe``
   runs): per seed, 5 stratified folds; logistic regression, C in 1e-4..1e4 by inner 3-fold CV on macro
   F1 (warm-started C path). Task: GZ1 elliptical (0) / spiral (1+2) / edge-on (3). Rows: each seed's pretrained model
   (default block and last block), the same architecture at each seed's random initialisation
   (default block),
   raw-pixel PCA. Seed s's probe folds are scored on seed s's models.
4. Write ``benchmarks/results/astropt_gz1_probe/`` (report.md with the command, machine and
   pretraining log; summary.csv, results.csv, differences.csv, probe.png).

On 2 shared CPU cores the pretraining takes ``seeds x (minutes + 1)`` minutes and the probes
about as long again or more (the weakly regularised end of the C path converges slowly on
pretrained features); ``--cache DIR`` keeps each seed's embeddings so a rerun only probes.
``--limit 600 --minutes 0.5 --seeds 2`` is a smoke run; ``--limit 2000 --epochs 15 --output
benchmarks/results/astropt_gz1_probe_2000`` is the small-set run (2,000 images, the same number of
optimiser steps as the default run).

    KERAS_BACKEND=jax python benchmarks/astropt_gz1_probe.py
"""

import argparse
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "gz1_sdss"
GZ1_TO_TASK = {"0": "elliptical", "1": "spiral", "2": "spiral", "3": "edge-on"}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DATA), help="the gz1_sdss folder (labels.csv + images/)")
    p.add_argument("--crop", type=int, default=192, help="central crop of the 423x423 cutouts, pixels")
    p.add_argument("--size", type=int, default=64, help="image size after resizing the crop")
    p.add_argument("--patch", type=int, default=8, help="patch size (tokens = (size/patch)^2)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--epochs", type=int, default=5,
                   help="planned epochs (the schedule's length; 5 fit in the 8-minute budget on 2 cores)")
    p.add_argument("--minutes", type=float, default=8.0, help="pretraining budget per seed")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--pca", type=int, default=128, help="components of the raw-pixel PCA baseline")
    p.add_argument("--limit", type=int, default=None, help="use only N images (a seeded sample: the small-set and smoke runs)")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="keep each seed's embeddings and pretraining log here (outside the repository) and "
                        "reuse them: a rerun goes straight to the probes")
    p.add_argument("--rows", choices=("all", "pretrained"), default="all",
                   help="'pretrained': probe only the pretrained rows (a schedule variant whose random-init and "
                        "pixel rows are those of the default run: the same seeds draw the same folds and inits)")
    p.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "astropt_gz1_probe"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    import keras
    import pandas as pd

    import astromer
    from astromer.cli.probe import pixel_features
    from astromer.evaluation.probe import linear_probe, write_probe_report
    from astromer.tasks.images import read_images_input
    from astromer.tasks.pretrain import pretrain_images

    command = "KERAS_BACKEND={} python {}".format(
        keras.backend.backend(), " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO)] + sys.argv[1:]))
    log(command)
    labels = pd.read_csv(Path(args.data) / "labels.csv", dtype={"OBJID": str})
    if args.limit:
        labels = labels.sample(n=min(args.limit, len(labels)), random_state=0)
    labels["path"] = labels["OBJID"] + ".jpeg"
    t0 = time.time()
    data = read_images_input(Path(args.data) / "images", labels, image_size=args.size, crop=args.crop,
                             id_column="OBJID", label_column="CLASS", path_column="path")
    t_data = time.time() - t0
    task = data.table["label"].map(GZ1_TO_TASK)
    log(f"{len(data)} images in {t_data:.0f} s; probe classes {task.value_counts().to_dict()} "
        f"(GZ1 classes 4, 5 pretrain only)")

    def new_model():
        return astromer.AstroPT(num_layers=args.layers, num_heads=args.heads, embed_dim=args.width,
                                block_size=(args.size // args.patch) ** 2, patch_size=args.patch, num_channels=3,
                                tokenizer="aim", name="astropt_gz1")

    n_params = new_model().count_params()
    pretrained, random_init, log_lines = {}, {}, []
    last = args.layers - 1
    for seed in range(args.seeds):
        cached = Path(args.cache) / f"seed{seed}.npz" if args.cache else None
        if cached is not None and cached.exists():
            with np.load(cached) as f:
                pretrained[seed] = {None: f["pretrained_default"], last: f["pretrained_last"]}
                random_init[seed] = {None: f["random_init"]}
                log_lines.append(f"  - {str(f['log'])}")
            log(f"seed {seed}: embeddings from {cached}")
            continue
        keras.utils.set_random_seed(seed)
        model = new_model()
        fresh = astromer.AstroPT.from_config(model.get_config())
        fresh.set_weights(model.get_weights())
        order = np.random.default_rng(seed).permutation(len(data))
        n_val = len(data) // 10
        _, info = pretrain_images(model, data.images[order[n_val:]], data.images[order[:n_val]], epochs=args.epochs,
                                  max_minutes=args.minutes, batch_size=args.batch_size, learning_rate=args.lr,
                                  seed=seed, quiet=True)
        line = (f"seed {seed}: {info['epochs']} of {args.epochs} epochs in {info['seconds'] / 60:.1f} min on "
                f"{info['training_images']} images; held-out next-patch loss {info['val_loss_initial']:.4f} -> "
                f"{info['final']['val_loss']:.4f}")
        log(line)
        log_lines.append(f"  - {line}")
        pretrained[seed] = {layer: model.embed(data.images, layer=layer, batch_size=256) for layer in (None, last)}
        random_init[seed] = {None: fresh.embed(data.images, batch_size=256)}
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cached, pretrained_default=pretrained[seed][None], pretrained_last=pretrained[seed][last],
                     random_init=random_init[seed][None], log=np.array(line))
    centre = args.layers // 2
    features = {
        f"AstroPT pretrained, block {centre} (default)": lambda s: pretrained[s][None],
        f"AstroPT pretrained, block {last} (last)": lambda s: pretrained[s][last],
        f"AstroPT random init, block {centre} (default)": lambda s: random_init[s][None],
        f"raw pixels (PCA {args.pca})": pixel_features(data.images),
    }
    families = dict(zip(features, ["pretrained", "pretrained", "random_init", "pixels"]))
    if args.rows == "pretrained":
        features = {k: v for k, v in features.items() if families[k] == "pretrained"}
    t0 = time.time()
    results = linear_probe(features, task, task="classification", seeds=range(args.seeds), folds=args.folds,
                           pca={f"raw pixels (PCA {args.pca})": args.pca}, families=families,
                           progress=lambda line: log(f"  {line}"))
    t_probe = time.time() - t0
    notes = [
        f"- Data: `../shared/data/gz1_sdss`, {len(data)} SDSS colour JPEGs 423x423; central {args.crop} px resized "
        f"to {args.size}x{args.size} (bilinear, antialiased; the package's image preprocessing). Probe task: GZ1 "
        f"elliptical (0) / spiral (1+2) / edge-on (3): {task.value_counts().to_dict()}; classes 4 and 5 "
        "are used for pretraining only.",
        f"- Model: AstroPT {args.layers} blocks, {args.heads} heads, width {args.width}, 'aim' tokeniser, "
        f"{args.patch}-px patches in spiral order ({(args.size // args.patch) ** 2} tokens), "
        f"{n_params:,} parameters; one model per seed, drawn with that seed.",
        f"- Pretraining (`astromer.tasks.pretrain.pretrain_images`, what `astromer pretrain` runs on images): every "
        "image, labels unused (self-supervised, so the probe's test images are among them, as in astroPT's "
        "protocol), 10% held out for the next-patch loss; random 90-degree turns and flips; AdamW (peak lr "
        f"{args.lr}, betas 0.9/0.95, weight decay 0.1), 5% warm-up, cosine decay over {args.epochs} planned epochs, "
        f"batch {args.batch_size}, at most {args.minutes:g} min per seed:",
        *log_lines,
        "- Random init: the same network with the weights it had before pretraining (seed s). Seed s's probe "
        "folds score seed s's models, so the spread over seeds includes pretraining and initialisation noise.",
        f"- Probe: `astromer.evaluation.probe.linear_probe` (the protocol of `astromer probe`). Time: data "
        f"{t_data:.0f} s, probes {t_probe / 60:.1f} min.",
    ]
    summary = write_probe_report(results, args.output, command, title="AstroPT on Galaxy Zoo 1: linear probe, "
                                 "pretrained vs random init vs pixels", notes=notes, reference=next(iter(features)),
                                 figure=astromer.plot.probe_scores)
    log(summary[["method", "macro_f1_mean", "macro_f1_std"]].to_string(index=False))
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
