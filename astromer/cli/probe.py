"""``astromer probe``: the linear-probe protocol on AstroPT image embeddings, with a random-init and
a raw-pixel baseline side by side, written to a report folder."""

import argparse
import os

from astromer.cli.images import add_image_options

PIXEL_SIDE = 64  # raw pixels are block-averaged to at most this many pixels a side


def pixel_features(images, side=PIXEL_SIDE):
    """Flattened pixels, area-averaged to at most ``side`` x ``side`` (PCA follows in each fold)."""
    import numpy as np
    import tensorflow as tf

    h, w = images.shape[1:3]
    if max(h, w) > side:
        scale = side / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        images = np.concatenate([tf.image.resize(images[i:i + 256], size, method="area").numpy()
                                 for i in range(0, len(images), 256)])
    return images.reshape(len(images), -1)


def _embeddings_file(path, ids):
    import numpy as np
    import pandas as pd

    table = pd.read_parquet(path) if str(path).endswith(".parquet") else None
    if table is None:
        with np.load(path, allow_pickle=False) as f:
            table = pd.DataFrame(f["embeddings"]).add_prefix("emb_")
            table.insert(0, "object_id", f["object_id"].astype(str))
    cols = [c for c in table.columns if str(c).startswith("emb_")]
    if not cols or "object_id" not in table:
        raise ValueError(f"{path}: not an 'astromer embed' output (object_id and emb_* columns)")
    table = table.assign(object_id=table["object_id"].astype(str)).drop_duplicates("object_id").set_index("object_id")
    missing = [i for i in ids if i not in table.index]
    if missing:
        raise ValueError(f"{path} has no embedding for {len(missing)} of the {len(ids)} images "
                         f"(first: {missing[0]!r})")
    return table.loc[list(ids), cols].to_numpy(dtype="float32")


def _run(args):
    import json

    import keras

    from astromer import plot
    from astromer.cli.images import geometry, kept_columns, model_dir_of, read_images
    from astromer.cli.main import command_line
    from astromer.evaluation.probe import linear_probe, write_probe_report
    from astromer.tasks.images import load_astropt

    if not os.path.exists(args.input):
        raise FileNotFoundError(f"input {args.input!r} does not exist")
    if args.seeds < 1 or args.folds < 2:
        raise ValueError(f"--seeds must be >= 1 and --folds >= 2, got {args.seeds} and {args.folds}")
    model = load_astropt(args.preset, args.model)
    size, crop, channels = geometry(args, model_dir_of(args))
    target = args.target or "label"
    data = read_images(args, args.input, size, crop, channels, labels=args.labels,
                       columns=kept_columns(args, args.target), split=args.split)
    if target not in data.table.columns or data.table[target].isna().all():
        raise ValueError(f"no target {target!r} in {args.input}: give class subfolders, --labels with a "
                         f"'{args.label_column}' column, or --target COLUMN (columns: {list(data.table.columns)})")
    layer = None if args.layer is None else (args.layer if args.layer == "final" else int(args.layer))
    print(f"[probe] {len(data)} images {data.images.shape[1]}x{data.images.shape[2]}x{data.images.shape[3]} from "
          f"{data.description}; target {target!r}; {args.seeds} seeds x {args.folds} folds", flush=True)
    features, families, pca = {}, {}, {}
    pretrained = f"AstroPT {os.path.basename(os.path.normpath(args.model or args.preset))}"
    if args.embeddings:
        features[pretrained] = _embeddings_file(args.embeddings, data.table["object_id"])
    else:
        features[pretrained] = model.embed(data.images, layer=layer, batch_size=args.batch_size,
                                           verbose=0 if args.quiet else "auto")
    families[pretrained] = "pretrained"
    if not args.no_random_init:
        config = model.get_config()

        def random_init(seed):
            keras.utils.set_random_seed(seed)
            fresh = type(model).from_config(config)
            return fresh.embed(data.images, layer=layer, batch_size=args.batch_size, verbose=0)

        features["AstroPT random init (same architecture)"] = random_init
        families["AstroPT random init (same architecture)"] = "random_init"
    if not args.no_pixels:
        name = f"raw pixels (PCA {args.pca})"
        features[name], families[name], pca[name] = pixel_features(data.images), "pixels", args.pca
    results = linear_probe(features, data.table[target], task=args.task, seeds=range(args.seeds), folds=args.folds,
                           pca=pca, families=families, progress=lambda line: print(f"[probe] {line}", flush=True))
    info = {}
    if model_dir_of(args) and os.path.isfile(os.path.join(args.model, "training.json")):
        with open(os.path.join(args.model, "training.json"), encoding="utf-8") as f:
            info = json.load(f)
    notes = [f"- Input: {data.description}, {len(data)} images at {data.images.shape[1]}x{data.images.shape[2]}x"
             f"{data.images.shape[3]} (crop {crop}); target `{target}`"
             + "".join(f"; {line}" for line in data.report.lines()) + ".",
             f"- Model: {args.model or args.preset}, {model.count_params():,} parameters, embeddings from "
             f"{'the default block' if layer is None else f'layer {layer}'} averaged over tokens"
             + (f"; pretrained {info.get('epochs')} epochs on {info.get('training_images')} images "
                f"(labels unused; if these are the same images, the encoder saw them without labels)" if info else "")
             + ".",
             "- Random init: the same architecture with fresh weights drawn with each seed. Raw pixels: the images "
             f"area-averaged to at most {PIXEL_SIDE} px a side, PCA fitted on each training fold."]
    summary = write_probe_report(results, args.output, command_line(getattr(args, "argv", None)),
                                 title=args.title, notes=notes, reference=pretrained, figure=plot.probe_scores)
    key = "macro_f1" if summary["task"].iloc[0] == "classification" else "r2"
    for _, r in summary.iterrows():
        print(f"[probe] {r['method']}: {key} {r[f'{key}_mean']:.3f} ± {r[f'{key}_std']:.3f}")
    print(f"[probe] wrote {args.output}/report.md, summary.csv, results.csv, differences.csv, probe.png")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "probe", help="linear probe of AstroPT image embeddings vs random init and raw pixels",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The linear-probe protocol on galaxy images: for each seed, k stratified folds; on each "
                    "training fold a StandardScaler + class-balanced logistic regression (C chosen by an inner "
                    "3-fold CV on macro F1) for a class target, or ridge regression (alpha by leave-one-out) for "
                    "a numeric target, scored on the held-out fold. Rows: the model's embeddings, the same "
                    "architecture at random initialisation (one draw per seed), and raw pixels through PCA. "
                    "Writes report.md, summary.csv (mean ± std over seeds), results.csv (every fold), "
                    "differences.csv (paired, vs the model) and probe.png.",
        epilog="Examples:\n"
               "  astromer probe galaxies/ --model my_astropt -o probe_report\n"
               "  astromer probe cutouts.h5 --labels catalogue.csv --target redshift --model my_astropt -o z_probe\n"
               "  astromer probe galaxies/ --model my_astropt --embeddings emb.parquet -o probe_report --seeds 5")
    p.add_argument("input", help="image folder (one subfolder per class, or images + --labels), image records, "
                                 "an HDF5/FITS stack or a .npy array")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="report folder to write")
    p.add_argument("--model", metavar="DIR", help="an AstroPT preset folder (from 'astromer pretrain'), .keras file "
                                                  "or astroPT checkpoint")
    p.add_argument("--preset", metavar="NAME", help="or a named AstroPT preset")
    p.add_argument("--embeddings", metavar="FILE",
                   help="the model's embeddings from 'astromer embed' (.parquet/.npz) instead of computing them")
    p.add_argument("--labels", metavar="TABLE", help="labels table (object_id, label and/or target columns)")
    p.add_argument("--target", metavar="COLUMN",
                   help="what to predict: a labels-table column or a records target (default: the class label)")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="auto: regression for a numeric target with many values, else classification")
    p.add_argument("--split", metavar="NAME", help="only this split of a records folder (default: every split)")
    p.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds (fold draws, random inits) (default: %(default)s)")
    p.add_argument("--folds", type=int, default=5, metavar="K", help="cross-validation folds (default: %(default)s)")
    p.add_argument("--layer", metavar="N|final", help="embedding block (default: the model's own)")
    p.add_argument("--pca", type=int, default=128, metavar="N", help="PCA components of the pixel baseline (default: %(default)s)")
    p.add_argument("--no-random-init", action="store_true", help="leave out the random-init row")
    p.add_argument("--no-pixels", action="store_true", help="leave out the raw-pixel row")
    p.add_argument("--batch-size", type=int, default=128, metavar="N", help="images per batch when embedding (default: %(default)s)")
    p.add_argument("--title", default="Linear probe of AstroPT embeddings", help="report title")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_image_options(p)
    p.set_defaults(func=_run)
