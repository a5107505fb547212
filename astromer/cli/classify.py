"""``astromer classify``: train a light-curve classifier (scenario a, b or c) and predict, or predict only."""

import argparse
import json
import os
import shlex
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options


def _scores(table, class_names):
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    known = table[table["label"].notna()]
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


def _predictions(classifier, curves, labels):
    import pandas as pd

    ids, probs = classifier.predict_objects(curves, batch_size=256)
    names = classifier.class_names or [str(k) for k in range(probs.shape[1])]
    table = pd.DataFrame({"object_id": ids, "predicted": [names[k] for k in probs.argmax(1)],
                          "probability": probs.max(1)})
    for k, name in enumerate(names):
        table[f"p_{name}"] = probs[:, k]
    if labels is not None:
        table = table.merge(labels[["object_id", "label"]].drop_duplicates("object_id"), on="object_id", how="left")
    else:
        table["label"] = None
    return table, names


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


def _run(args):
    import astromer
    from astromer.cli.main import CLIError
    from astromer.tasks.encoders import load_encoder
    from astromer.tasks.inputs import read_light_curves_input
    from astromer.tasks.splits import split_ids, take_shots

    out = Path(args.output)
    curves, labels = read_light_curves_input(args.input, labels=args.labels, label_column=args.label_column, **table_options(args))
    if args.classifier:
        if not os.path.exists(args.classifier):
            raise FileNotFoundError(f"classifier {args.classifier!r} does not exist")
        classifier = astromer.load_preset(args.classifier, progress=False)  # a .keras file or a preset folder
        if not isinstance(classifier, astromer.LightCurveClassifier):
            raise CLIError(f"{args.classifier} is not a LightCurveClassifier")
        if args.split and labels is not None and "split" in labels.columns:
            curves = curves[curves["object_id"].isin(set(labels.loc[labels["split"] == args.split, "object_id"]))]
        print(f"[classify] predicting {curves['object_id'].nunique()} objects with {args.classifier}", flush=True)
        table, names = _predictions(classifier, curves, labels)
        _write(out, table, names, f"{args.classifier}", {"classifier": args.classifier, "input": args.input})
        return 0

    if labels is None or labels["label"].notna().sum() == 0:
        raise CLIError("training needs labels: a labelled records folder, a folder with labels.csv, or --labels "
                       "(or pass --classifier to predict with a trained one)")
    ids = split_ids(labels, seed=args.seed)
    lab = labels.set_index("object_id")["label"]
    if args.shots:
        ids["train"] = take_shots(ids["train"], lab, args.shots, seed=args.seed)
    class_names = sorted(lab.loc[ids["train"]].astype(str).unique())
    encoder = load_encoder(args.preset, args.model)
    part = {k: curves[curves["object_id"].isin(set(v))] for k, v in ids.items()}
    print(f"[classify] scenario {args.scenario}, head {args.head}: {len(ids['train'])} training, "
          f"{len(ids['val'])} validation, {len(ids['test'])} test objects; classes {class_names}", flush=True)
    unlabelled = None
    if args.scenario == "c":
        unlabelled = curves[~curves["object_id"].isin(set(ids["test"]) | set(ids["train"]))]
    classifier, _ = astromer.finetune(
        encoder, (part["train"], lab), (part["val"], lab) if len(ids["val"]) else None, scenario=args.scenario,
        head=args.head, class_names=class_names, epochs=args.epochs, learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate if args.scenario == "b" else None,
        unlabelled=unlabelled, reconstruction_epochs=args.reconstruction_epochs, patience=args.patience,
        seed=args.seed, verbose=0 if args.quiet else "auto")
    out.mkdir(parents=True, exist_ok=True)
    classifier.save(out / "classifier.keras")
    table, names = _predictions(classifier, part["test"], labels)
    _write(out, table, names, f"scenario {args.scenario}, test set",
           {"input": args.input, "scenario": args.scenario, "head": args.head,
            "encoder": args.model or args.preset, "train_objects": len(ids["train"]),
            "val_objects": len(ids["val"]), "test_objects": len(ids["test"]), "classes": class_names})
    saved = shlex.quote(str(out / "classifier.keras"))
    print(f"[classify] saved the classifier to {saved} (reuse: astromer classify NEW_DATA --classifier {saved} -o OUT)")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "classify", help="train a classifier on labelled light curves (scenario a/b/c), or predict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train an Astromer light-curve classifier in scenario a (frozen encoder, head only), b (encoder "
                    "fine-tuned) or c (reconstruction on the unlabelled curves first, then a) on the training "
                    "objects, pick the epoch by the validation loss, and predict the test objects: writes "
                    "classifier.keras, predictions.csv (per object: predicted class and probabilities), "
                    "metrics.json and confusion.png. Splits: a records folder's train/val/test, a 'split' column "
                    "of the labels table ('test'), or a stratified 20% test set. With --classifier, only predict. "
                    "For the few-shot benchmark with folds and baselines use 'astromer evaluate'.",
        epilog="Examples:\n"
               "  astromer classify my_records -o clf --preset astromer_v1 --scenario a\n"
               "  astromer classify ../shared/data/eros1 -o clf --scenario b --shots 100 --epochs 10\n"
               "  astromer classify new_curves.csv -o predicted --classifier clf/classifier.keras")
    p.add_argument("input", help="records folder, folder with lightcurves.csv.gz + labels.csv, or a long table")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--labels", metavar="TABLE", help="labels table (object_id,label[,split]) for a table input")
    p.add_argument("--label-column", default="label", metavar="NAME",
                   help="label column of the labels table (default: %(default)s)")
    p.add_argument("--classifier", metavar="FILE", help="predict with this trained classifier.keras (no training)")
    p.add_argument("--split", metavar="NAME",
                   help="with --classifier: only the objects of this split (of a records folder, or a 'split' "
                        "column of --labels; default: every object)")
    g = p.add_argument_group("training")
    g.add_argument("--preset", default="astromer_v1", metavar="NAME", help="encoder preset (default: %(default)s)")
    g.add_argument("--model", metavar="DIR", help="encoder preset folder, .keras file or original checkpoint instead (e.g. from 'astromer pretrain')")
    g.add_argument("--scenario", choices=("a", "b", "c"), default="a",
                   help="a: frozen encoder, head only; b: encoder fine-tuned; c: reconstruction on the unlabelled "
                        "curves first, then a (default: %(default)s)")
    g.add_argument("--head", choices=("skip", "mean", "max"), default="skip",
                   help="skip: weighted mean over every block (Astromer 2); mean, max: pooled last block "
                        "(default: %(default)s)")
    g.add_argument("--shots", type=int, default=None, metavar="N",
                   help="use only N training objects per class (default: every training object)")
    g.add_argument("--epochs", type=int, default=50, metavar="N", help="classification epochs (default: %(default)s)")
    g.add_argument("--reconstruction-epochs", type=int, default=20, metavar="N",
                   help="scenario c: at most N reconstruction epochs; stops when the masked R2 of 10%% held-out "
                        "curves has not improved for 2 epochs (default: %(default)s)")
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
    p.set_defaults(func=_run)
