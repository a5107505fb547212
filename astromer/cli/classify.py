"""``astromer classify``: train a classifier (scenario a, b or c) and predict, or predict only: light
curves with an Astromer encoder, images with an AstroPT encoder (both through ``astromer.finetune``)."""

import argparse
import json
import os
import shlex
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options
from astromer.cli.images import add_image_options
from astromer.defaults import LIGHT_CURVE_PRESET as DEFAULT_PRESET


def _scores(table, class_names):
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    known = table[table["label"].notna()] if "label" in table else table.iloc[:0]
    if known.empty:
        return None, None
    y, p = known["label"].astype(str), known["predicted"].astype(str)
    metrics = {"objects": int(len(known)), "macro_f1": float(f1_score(y, p, average="macro")),
               "accuracy": float(accuracy_score(y, p))}
    return metrics, confusion_matrix(y, p, labels=class_names)


def _confusion_figure(matrix, class_names, title, path):
    from astromer.plot import new_figure

    fig, ax = new_figure(figsize=(1.2 * len(class_names) + 3, 1.0 * len(class_names) + 2.2))
    norm = matrix / matrix.sum(axis=1, keepdims=True).clip(1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=120)


def _probability_table(classifier, ids, probs):
    """One row per object: ``object_id``, ``predicted``, ``probability`` and ``p_<class>`` columns."""
    import pandas as pd

    names = classifier.class_names or [str(k) for k in range(probs.shape[1])]
    table = pd.DataFrame({"object_id": ids, "predicted": [names[k] for k in probs.argmax(1)],
                          "probability": probs.max(1)})
    for k, name in enumerate(names):
        table[f"p_{name}"] = probs[:, k]
    return table, names


def _predictions(classifier, curves, labels):
    ids, probs = classifier.predict_objects(curves, batch_size=256)
    missing = sorted(set(curves["object_id"]) - set(map(str, ids)))
    if missing:
        print(f"[classify] {len(missing):,} objects have no usable observation after cleaning and are not in "
              f"predictions.csv (e.g. {missing[:3]})", flush=True)
    table, names = _probability_table(classifier, ids, probs)
    if labels is not None:  # without labels there is no label column
        table = table.merge(labels[["object_id", "label"]].drop_duplicates("object_id"), on="object_id", how="left")
    return table, names


def _only_split(curves, labels, split, source):
    """The curves of the objects in ``split`` (of a records folder, or the ``split`` column of the
    labels table); a split the input does not have is an error naming the ones it has."""
    from astromer.cli.main import CLIError

    if labels is None or "split" not in labels.columns:
        raise CLIError(f"--split {split}: {source} has no splits (a records folder's, or a 'split' column of "
                       "--labels); leave --split out to predict every object")
    members = set(labels.loc[labels["split"] == split, "object_id"])
    if not members:
        raise CLIError(f"--split {split}: no object of {source} is in that split; its splits are "
                       f"{sorted(map(str, labels['split'].dropna().unique()))}")
    return curves[curves["object_id"].isin(members)]


def _write(out, table, names, title, extra):
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "predictions.csv", index=False)
    metrics, matrix = _scores(table, names)
    record = {**extra, "metrics": metrics}
    (out / "metrics.json").write_text(json.dumps(record, indent=1) + "\n")
    if matrix is not None:
        _confusion_figure(matrix, names, title, out / "confusion.png")
        print(f"[classify] {metrics['objects']} labelled objects: macro F1 {100 * metrics['macro_f1']:.1f}%, "
              f"accuracy {100 * metrics['accuracy']:.1f}%")
    print(f"[classify] wrote {out}/predictions.csv, metrics.json" + (", confusion.png" if matrix is not None else ""))


def _image_predictions(classifier, data, kept=()):
    probs = classifier.predict_proba(data.images, batch_size=64)
    table, names = _probability_table(classifier, data.table["object_id"].to_numpy(), probs)
    table["label"] = data.table["label"].to_numpy() if "label" in data.table else None
    for column in kept:  # --keep-columns
        table[column] = data.table[column].to_numpy()
    return table, names


def _read_image_split(args, size, crop, channels):
    """The images of ``args.input`` (only ``--split`` of a records folder or of the labels table's
    ``split`` column), with the ``split`` column of a labels table carried for training."""
    from astromer.cli.images import kept_columns, read_images
    from astromer.tasks.inputs import InputError, is_records, read_table

    records = is_records(args.input)
    split_column = None
    if args.labels and not records and "split" in read_table(args.labels, "labels table").columns:
        split_column = "split"
    columns = kept_columns(args, split_column)
    data = read_images(args, args.input, size, crop, channels, labels=args.labels, columns=columns,
                       split=args.split if records else None)
    if args.split and not records:
        if "split" not in data.table:
            raise InputError(f"--split {args.split}: {args.input} is not a records folder and --labels has no "
                             "'split' column")
        data = data.subset((data.table["split"] == args.split).to_numpy())
        if not len(data):
            raise InputError(f"no image of {args.input} is in split {args.split!r}")
    return data


def _run_images(args, out):
    """Scenario a/b/c with an AstroPT encoder on images (``astromer.finetune``), or predict only."""
    import astromer
    from astromer.cli.images import geometry, kept_columns, model_dir_of
    from astromer.cli.main import CLIError
    from astromer.io import atomic_write_json
    from astromer.models.classifier import ImageClassifier
    from astromer.tasks.images import IMAGE_SETTINGS, load_astropt
    from astromer.tasks.splits import split_ids, take_shots

    if args.classifier:
        if not os.path.exists(args.classifier):
            raise FileNotFoundError(f"classifier {args.classifier!r} does not exist")
        classifier = astromer.load_preset(args.classifier, progress=False)
        if not isinstance(classifier, ImageClassifier):
            raise CLIError(f"{args.input} holds images but {args.classifier} is a {type(classifier).__name__}, "
                           "not an ImageClassifier (train one with 'astromer classify' on images)")
        size, crop, channels = geometry(args, os.path.dirname(os.path.abspath(args.classifier)))
        data = _read_image_split(args, size, crop, channels)
        print(f"[classify] predicting {len(data)} images with {args.classifier}", flush=True)
        table, names = _image_predictions(classifier, data, kept_columns(args))
        _write(out, table, names, f"{args.classifier}", {"classifier": args.classifier, "input": args.input})
        return 0

    if not args.model and args.preset == DEFAULT_PRESET:
        raise CLIError(f"{args.input} holds images: give --model DIR (an AstroPT from 'astromer pretrain' on "
                       "images) or an AstroPT --preset")
    if args.head == "max":
        raise CLIError("--head max is for light curves; images take 'mean' or 'skip'")
    if args.multiband:
        raise CLIError("--multiband is for light curves with bands; an image is one sample")
    encoder = load_astropt(None if args.model else args.preset, args.model)
    size, crop, channels = geometry(args, model_dir_of(args))
    data = _read_image_split(args, size, crop, channels)
    table = data.table
    if table["label"].notna().sum() == 0:
        raise CLIError(f"training needs labels: {args.input} has none (class subfolders, labelled image records "
                       "or --labels), or pass --classifier to predict with a trained one")
    ids = split_ids(table[[c for c in ("object_id", "label", "split") if c in table]], seed=args.seed,
                    where=f" in {args.input}")
    lab = table.dropna(subset=["label"]).set_index("object_id")["label"].astype(str)
    if args.shots:
        ids["train"] = take_shots(ids["train"], lab, args.shots, seed=args.seed)
    class_names = sorted(lab.loc[ids["train"]].unique())
    part = {k: data.subset(table["object_id"].isin(set(v)).to_numpy()) for k, v in ids.items()}
    print(f"[classify] images, scenario {args.scenario}, head {args.head or 'mean'}: {len(ids['train'])} training, "
          f"{len(ids['val'])} validation, {len(ids['test'])} test images; classes {class_names}", flush=True)
    unlabelled = None
    if args.scenario == "c":  # every image outside the training and test sets (validation and unlabelled ones)
        held = set(ids["test"]) | set(ids["train"])
        unlabelled = data.images[[oid not in held for oid in table["object_id"]]]
    pairs = {k: (p.images, p.table["label"].astype(str).tolist()) for k, p in part.items()}
    classifier, _ = astromer.finetune(
        encoder, pairs["train"], pairs["val"] if len(ids["val"]) else None, scenario=args.scenario,
        head=args.head, class_names=class_names, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate if args.scenario == "b" else None, unlabelled=unlabelled,
        reconstruction_epochs=args.reconstruction_epochs, patience=args.patience, seed=args.seed,
        verbose=0 if args.quiet else "auto")
    out.mkdir(parents=True, exist_ok=True)
    classifier.save(out / "classifier.keras")
    atomic_write_json(out / IMAGE_SETTINGS, {"image_size": size, "crop": crop, "channels": channels})
    table, names = _image_predictions(classifier, part["test"], kept_columns(args))
    _write(out, table, names, f"scenario {args.scenario}, test set",
           {"input": args.input, "scenario": args.scenario, "head": args.head or "mean",
            "encoder": args.model or args.preset, "train_objects": len(ids["train"]),
            "val_objects": len(ids["val"]), "test_objects": len(ids["test"]), "classes": class_names,
            "image_size": size, "crop": crop, "channels": channels})
    saved = shlex.quote(str(out / "classifier.keras"))
    print(f"[classify] saved the classifier to {saved} with {IMAGE_SETTINGS} (reuse: astromer classify NEW_IMAGES "
          f"--classifier {saved} -o OUT)")
    return 0


def _run(args):
    import astromer
    from astromer.cli.main import CLIError
    from astromer.tasks.encoders import load_encoder
    from astromer.tasks.images import is_image_input
    from astromer.tasks.inputs import read_light_curves_input, usable_objects
    from astromer.tasks.splits import split_ids, take_shots

    out = Path(args.output)
    if os.path.exists(args.input) and is_image_input(args.input):
        return _run_images(args, out)
    if args.multiband and args.head:
        raise CLIError(f"--head {args.head} is for the per-window classifier; --multiband's head is the logistic "
                       "probe (leave one of them out)")
    multiband = args.head is None  # the default: one prediction per object from all its bands
    curves, labels = read_light_curves_input(args.input, labels=args.labels, label_column=args.label_column,
                                             split_column=args.split_column, id_column=args.id_column,
                                             **table_options(args))
    if args.classifier:
        if not os.path.exists(args.classifier):
            raise FileNotFoundError(f"classifier {args.classifier!r} does not exist")
        if args.split:
            curves = _only_split(curves, labels, args.split.strip().lower(), args.input)
        classifier = astromer.load_preset(args.classifier, progress=False)  # a .keras file or a preset folder
        if not isinstance(classifier, (astromer.LightCurveClassifier, astromer.MultiBandClassifier)):
            raise CLIError(f"{args.classifier} is not a LightCurveClassifier or MultiBandClassifier")
        print(f"[classify] predicting {curves['object_id'].nunique()} objects with {args.classifier}", flush=True)
        table, names = _predictions(classifier, curves, labels)
        _write(out, table, names, f"{args.classifier}", {"classifier": args.classifier, "input": args.input})
        return 0

    if labels is None or labels["label"].notna().sum() == 0:
        raise CLIError("training needs labels: a labelled records folder, a folder with labels.csv, or --labels "
                       "(or pass --classifier to predict with a trained one)")
    labels = labels[labels["label"].notna()]
    usable = usable_objects(curves)
    empty = labels.loc[~labels["object_id"].isin(usable), "label"]
    if len(empty):   # before the splits and shots, so that no shot falls on an object without data
        print(f"[classify] {len(empty):,} labelled objects have no usable observation after cleaning and are left "
              f"out ({', '.join(f'{k} {v}' for k, v in empty.value_counts().sort_index().items())})", flush=True)
        labels = labels[labels["object_id"].isin(usable)]
    # the multi-band probe (a, c then a) picks its regularisation by cross-validation on the training
    # objects: a validation set would only take objects from training; b and the per-window heads use one
    validates = args.scenario == "b" or not multiband
    ids = split_ids(labels, seed=args.seed, val_fraction=0.1 if validates else 0.0,
                    where=f" of {args.labels or args.input}")
    lab = labels.set_index("object_id")["label"]
    if args.shots:
        ids["train"] = take_shots(ids["train"], lab, args.shots, seed=args.seed)
    class_names = sorted(lab.loc[ids["train"]].astype(str).unique())
    untrained = sorted(set(lab.loc[ids["test"] + ids["val"]].astype(str)) - set(class_names))
    if untrained:
        print(f"[classify] class(es) {untrained} have validation or test objects but no training object: the "
              "classifier cannot predict them, and the test scores count them as errors", flush=True)
    given = "split" in labels.columns and (labels["split"] == "test").any()
    encoder = load_encoder(args.preset, args.model)
    part = {k: curves[curves["object_id"].isin(set(v))] for k, v in ids.items()}
    head = "multi-band probe" if multiband else args.head
    print(f"[classify] scenario {args.scenario}, head {head}: {len(ids['train'])} training, "
          f"{len(ids['val'])} validation, {len(ids['test'])} test objects ("
          + ("the split column's 'test' rows" if given else f"a stratified 20% drawn with --seed {args.seed}")
          + f"); classes {class_names}", flush=True)
    unlabelled = None
    if args.scenario == "c":
        unlabelled = curves[~curves["object_id"].isin(set(ids["test"]) | set(ids["train"]))]
    classifier, _ = astromer.finetune(
        encoder, (part["train"], lab), (part["val"], lab) if len(ids["val"]) else None, scenario=args.scenario,
        head=args.head, class_names=class_names, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate if args.scenario == "b" else None,
        unlabelled=unlabelled, reconstruction_epochs=args.reconstruction_epochs, patience=args.patience,
        multiband=multiband, seed=args.seed, verbose=0 if args.quiet else "auto")
    out.mkdir(parents=True, exist_ok=True)
    classifier.save(out / "classifier.keras")
    table, names = _predictions(classifier, part["test"], labels)
    _write(out, table, names, f"scenario {args.scenario}, test set",
           {"input": args.input, "scenario": args.scenario, "head": head, "multiband": multiband,
            "encoder": args.model or args.preset, "train_objects": len(ids["train"]),
            "val_objects": len(ids["val"]), "test_objects": len(ids["test"]), "classes": class_names})
    saved = shlex.quote(str(out / "classifier.keras"))
    print(f"[classify] saved the classifier to {saved} (reuse: astromer classify NEW_DATA --classifier {saved} -o OUT)")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "classify", help="train a classifier on labelled light curves or images (scenario a/b/c), or predict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train an Astromer light-curve classifier in scenario a (frozen encoder, head only), b (encoder "
                    "fine-tuned) or c (reconstruction on the unlabelled curves first, then a) on the training "
                    "objects and predict the test objects. By default one prediction per object from all its "
                    "bands (a's head: a logistic probe on the embeddings, regularisation by cross-validation; b "
                    "keeps the epoch with the best validation macro F1, a's start included); --head gives "
                    "Astromer 2's per-window classifier (the head's epoch picked on the validation loss). Writes "
                    "classifier.keras, predictions.csv (per object: predicted class and probabilities), "
                    "metrics.json and confusion.png. Splits: a records folder's train/val/test, a 'split' column "
                    "of the labels table ('test'), or a stratified 20% test set. With --classifier, only predict. "
                    "Images (a folder with one subfolder per class, images + --labels, image records, an HDF5/FITS "
                    "stack) train an AstroPT image classifier the same way from --model (e.g. from 'astromer "
                    "pretrain' on images); the output folder also gets images.json for predicting later. "
                    "For the few-shot benchmark with folds and baselines use 'astromer evaluate' (light curves) "
                    "or 'astromer probe' (images).",
        epilog="Examples:\n"
               "  astromer classify my_records -o clf --preset astromer_v1 --scenario a\n"
               "  astromer classify ../shared/data/eros1 -o clf --scenario b --shots 100 --epochs 10\n"
               "  astromer classify new_curves.csv -o predicted --classifier clf/classifier.keras\n"
               "  astromer classify galaxies/ -o gclf --model my_astropt --scenario b --epochs 10\n"
               "  astromer classify new_galaxies/ -o gpred --classifier gclf/classifier.keras")
    p.add_argument("input", help="records folder, folder with lightcurves.csv.gz + labels.csv, a long table, or "
                                 "images (an image folder, image records, an HDF5/FITS stack)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--labels", metavar="TABLE", help="labels table (object_id,label[,split]) for a table input")
    p.add_argument("--label-column", default="label", metavar="NAME",
                   help="label column of the labels table (default: %(default)s)")
    p.add_argument("--split-column", default="split", metavar="NAME",
                   help="light curves: the labels table's split column (train, val, test in any case; without "
                        "'test' rows, a stratified 20%% test set) (default: %(default)s)")
    p.add_argument("--classifier", metavar="FILE", help="predict with this trained classifier.keras (no training)")
    p.add_argument("--split", metavar="NAME",
                   help="with --classifier: only the objects of this split (of a records folder, or a 'split' "
                        "column of --labels; default: every object)")
    g = p.add_argument_group("training")
    g.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                   help="encoder preset (default: %(default)s; images need --model or an AstroPT preset)")
    g.add_argument("--model", metavar="DIR", help="encoder preset folder, .keras file or original checkpoint instead (e.g. from 'astromer pretrain')")
    g.add_argument("--scenario", choices=("a", "b", "c"), default="a",
                   help="a: frozen encoder, head only; b: encoder fine-tuned; c: reconstruction on the unlabelled "
                        "curves (images: next-patch pretraining on the unlabelled images) first, then a "
                        "(default: %(default)s)")
    g.add_argument("--head", choices=("skip", "mean", "max"), default=None,
                   help="light curves: Astromer 2's per-window classifier instead of the multi-band default (every "
                        "window a sample, window logits averaged per object) with this head: skip, weighted mean "
                        "over every block; mean, max: pooled last block. Images: skip, or mean (the default: token "
                        "mean of the embedding block)")
    g.add_argument("--multiband", action="store_true",
                   help="light curves, the default without --head: one prediction per object from all its bands "
                        "at once (a MultiBandClassifier: scenario a's head is a logistic probe on each band's "
                        "embedding mean and std of every block, b then fine-tunes through every band for --epochs, "
                        "c adapts the encoder first; --patience does not apply)")
    g.add_argument("--shots", type=int, default=None, metavar="N",
                   help="use only N training objects per class (default: every training object)")
    g.add_argument("--epochs", type=int, default=50, metavar="N", help="classification epochs (default: %(default)s)")
    g.add_argument("--reconstruction-epochs", type=int, default=20, metavar="N",
                   help="scenario c: at most N reconstruction epochs; stops when the masked R2 of 10%% held-out "
                        "curves has not improved for 2 epochs (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="windows (images) per training batch (default: %(default)s)")
    g.add_argument("--learning-rate", type=float, default=1e-3, metavar="LR",
                   help="head learning rate (default: %(default)s)")
    g.add_argument("--encoder-learning-rate", type=float, default=1e-4, metavar="LR",
                   help="scenario b: learning rate of the last encoder block, 0.75x per block further down "
                        "(default: %(default)s)")
    g.add_argument("--patience", type=int, default=10, metavar="N",
                   help="early-stopping patience in epochs (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the splits, the shots and training (default: %(default)s)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_table_options(p)
    add_image_options(p, label_column=False)
    p.set_defaults(func=_run)
