"""``astromer pretrain``: masked-reconstruction pretraining from records or a table, saved as a preset."""

import argparse
import json
import os
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options
from astromer.cli.images import ASTROPT_ARCHITECTURES, add_image_options

ARCHITECTURES = ("small", "modern", "astromer_v1", "astromer_v2")


def _model(args):
    import astromer
    from astromer.tasks.encoders import load_encoder

    if args.preset or args.model:
        return load_encoder(args.preset, args.model)
    if args.architecture == "small":
        return astromer.Astromer(num_layers=2, num_heads=4, head_dim=16, ffn_dim=128,
                                 window_size=args.window_size or 100, dropout=0.1)
    overrides = {"window_size": args.window_size} if args.window_size else {}
    return astromer.Astromer.from_architecture(args.architecture, **overrides)


def _run_images(args):
    """AstroPT next-patch pretraining on an image folder, image records or an HDF5/FITS stack."""
    import numpy as np

    import astromer
    from astromer import plot
    from astromer.cli.images import geometry, model_dir_of, new_astropt, read_images
    from astromer.io import atomic_write_json
    from astromer.tasks.images import IMAGE_SETTINGS, load_astropt
    from astromer.tasks.inputs import is_records
    from astromer.tasks.pretrain import pretrain_images

    new = not (args.preset or args.model)
    if new and args.architecture not in ASTROPT_ARCHITECTURES:
        raise ValueError(f"{args.input} holds images: choose an AstroPT --architecture "
                         f"({', '.join(ASTROPT_ARCHITECTURES)}) or --model/--preset an AstroPT, "
                         f"not {args.architecture!r}")
    size, crop, channels = geometry(args, model_dir_of(args), new_model=new)
    if size is None:
        raise ValueError("give --image-size: pretraining needs one image size")
    if is_records(args.input):
        train = validation = args.input
        n_train = None
        where = f"image records {args.input} (train split; val split for validation)"
    else:
        data = read_images(args, args.input, size, crop, channels)
        order = np.random.default_rng(args.seed).permutation(len(data))
        n_val = int(round(args.val_fraction * len(data)))
        validation = data.images[order[:n_val]] if n_val else None
        train = data.images[order[n_val:]]
        n_train = len(train)
        where = f"{data.description}: {n_train} training, {n_val} validation images (labels unused)"
    model = new_astropt(args.architecture, size, channels, args.patch_size) if new else \
        load_astropt(args.preset, args.model)
    print(f"[pretrain] AstroPT with {model.count_params():,} parameters, {size}x{size}x{channels} images in "
          f"{model.patch_size}-px patches ({(size // model.patch_size) ** 2} tokens), on {where}; up to "
          f"{args.epochs} epochs" + (f" or {args.minutes:g} min" if args.minutes else ""), flush=True)
    history, info = pretrain_images(model, train, validation, epochs=args.epochs, max_minutes=args.minutes,
                                    batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                                    augment=not args.no_augment, image_size=size, crop=crop, channels=channels,
                                    quiet=args.quiet)
    out = Path(args.output)
    astromer.save_preset(model, out)
    history.to_csv(out / "history.csv", index=False)
    plot.training_history(history, title="Pretraining (next-patch prediction)", path=out / "training.png")
    atomic_write_json(out / IMAGE_SETTINGS, {"image_size": size, "crop": crop, "channels": channels})
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"[pretrain] {info['epochs']} epochs in {info['seconds']:.0f} s"
          + (" (stopped by --minutes)" if info["stopped_by_time_limit"] else "") + "; "
          + ", ".join(f"{k} {v:.4f}" for k, v in info["final"].items())
          + (f" (held-out loss at the start {info['val_loss_initial']:.4f})" if "val_loss_initial" in info else ""))
    print(f"[pretrain] saved the preset to {out} with its image settings ({IMAGE_SETTINGS}); next: "
          f"astromer embed {args.input} --model {out} -o embeddings.parquet")
    return 0


def _run(args):
    import astromer
    from astromer import plot
    from astromer.tasks.images import is_image_input
    from astromer.tasks.inputs import is_records, read_light_curves_input
    from astromer.tasks.pretrain import pretrain

    if not os.path.exists(args.input):
        raise FileNotFoundError(f"input {args.input!r} does not exist")
    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
    if is_image_input(args.input):
        if args.length_buckets:
            raise ValueError("--length-buckets is for light curves; images have no padding")
        args.architecture = args.architecture or "astropt_small"
        return _run_images(args)
    if args.architecture in ASTROPT_ARCHITECTURES:
        raise ValueError(f"--architecture {args.architecture} is an AstroPT (images), but {args.input} is not an "
                         "image input (an image folder, image records, an HDF5/FITS stack or a .npy array)")
    args.architecture = args.architecture or "small"
    if is_records(args.input):
        train = validation = args.input
        where = f"records {args.input} (train split; val split for validation)"
    else:
        curves, _ = read_light_curves_input(args.input, **table_options(args))
        ids = curves["object_id"].drop_duplicates().sample(frac=1.0, random_state=args.seed).tolist()
        n_val = int(round(args.val_fraction * len(ids)))
        val_ids = set(ids[:n_val])
        train = curves[~curves["object_id"].isin(val_ids)]
        validation = curves[curves["object_id"].isin(val_ids)] if n_val else None
        where = f"{args.input} ({len(ids) - n_val} training, {n_val} validation objects)"
    model = _model(args)
    print(f"[pretrain] {type(model).__name__} with {model.count_params():,} parameters, window "
          f"{model.window_size}, on {where}; up to {args.epochs} epochs"
          + (f" or {args.minutes:g} min" if args.minutes else ""), flush=True)
    history, info = pretrain(model, train, validation, epochs=args.epochs, max_minutes=args.minutes,
                             batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                             masking=args.masking, probed=args.probed, quiet=args.quiet,
                             length_buckets=args.length_buckets)
    out = Path(args.output)
    astromer.save_preset(model, out)
    history.to_csv(out / "history.csv", index=False)
    plot.training_history(history, title="Pretraining (masked reconstruction)", path=out / "training.png")
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    final = info["final"]
    print(f"[pretrain] {info['epochs']} epochs in {info['seconds']:.0f} s"
          + (" (stopped by --minutes)" if info["stopped_by_time_limit"] else "")
          + "; " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    print(f"[pretrain] saved the preset to {out} (load it with astromer.load_preset({str(out)!r}) or --model {out})")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "pretrain", help="pretrain an Astromer (light curves) or an AstroPT (images), new or from a preset",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Pretrain an Astromer encoder by masked-magnitude reconstruction on light curves from a "
                    "records folder (its train split; val for validation) or a long table "
                    "(object_id,[band,]time,mag,mag_err). Starts from a new model or continues a preset. "
                    "Writes a preset folder (config.json, model.weights.h5) with history.csv and training.png.\n\n"
                    "On images (a folder with one subfolder per class or images + --labels, image records, an "
                    "HDF5/FITS stack of cutouts, a .npy array) it pretrains an AstroPT by next-patch prediction "
                    "(labels unused; random 90-degree turns and flips; AdamW with warm-up and cosine decay) and "
                    "also writes images.json (image size, crop, channels) for 'astromer embed' and 'probe'.",
        epilog="Examples:\n"
               "  astromer pretrain my_records -o my_model --epochs 20\n"
               "  astromer pretrain lightcurves.csv.gz -o my_model --architecture astromer_v1 --minutes 30\n"
               "  astromer pretrain my_records -o tuned --preset astromer_v1 --learning-rate 1e-4\n"
               "  astromer pretrain galaxies/ -o my_astropt --architecture astropt_small --image-size 64 "
               "--crop 0.45 --minutes 20")
    p.add_argument("input", help="records folder, or a long table (.csv, .csv.gz, .parquet); or images (an image "
                                 "folder, image records, an HDF5/FITS stack, a .npy array)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="preset folder to write")
    g = p.add_argument_group("model")
    g.add_argument("--architecture", default=None, choices=ARCHITECTURES + ASTROPT_ARCHITECTURES,
                   help="new model: 'small' (2 blocks, width 64, window 100), 'modern' (pre-LN, width 256) or "
                        "an original architecture; on images 'astropt_small' (4 blocks, width 128, 8-px "
                        "patches) or a published AstroPT size (modern family) (default: small, or "
                        "astropt_small on images)")
    g.add_argument("--patch-size", type=int, default=None, metavar="PX",
                   help="patch size of a new AstroPT (default: 8 for astropt_small, 16 for the published sizes)")
    g.add_argument("--preset", metavar="NAME", help="continue training a named preset instead")
    g.add_argument("--model", metavar="DIR", help="continue training a preset folder, .keras file or original checkpoint")
    g.add_argument("--window-size", type=int, default=None, metavar="N",
                   help="window of a new model (default: 100 for 'small', 200 for the others; a preset "
                        "keeps its own)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=20, metavar="N", help="epochs (default: %(default)s)")
    g.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="stop after this many minutes (default: no time limit)")
    g.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="windows per batch (default: %(default)s)")
    g.add_argument("--learning-rate", type=float, default=1e-3, metavar="LR",
                   help="Adam learning rate (AstroPT: AdamW peak rate) (default: %(default)s)")
    g.add_argument("--no-augment", action="store_true",
                   help="AstroPT: no random 90-degree turns and flips of the training images")
    g.add_argument("--masking", choices=("v1", "v2"), default="v2", help="masking variant (default: %(default)s)")
    g.add_argument("--length-buckets", action="store_true",
                   help="light curves: batch windows of similar length cut to their bucket, so padding costs "
                        "no compute (the same loss per window; batches grouped by length)")
    g.add_argument("--probed", type=float, default=0.5, metavar="F",
                   help="fraction of each window's observations probed by the loss (default: %(default)s)")
    g.add_argument("--val-fraction", type=float, default=0.1, metavar="F",
                   help="validation objects held out of a table input (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the validation hold-out, weights, windows and masks (default: %(default)s)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_table_options(p)
    add_image_options(p)
    p.set_defaults(func=_run)
