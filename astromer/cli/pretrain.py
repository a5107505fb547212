"""``astromer pretrain``: masked-reconstruction pretraining from records or a table, saved as a preset."""

import argparse
import json
import os
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options

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


def _run(args):
    import astromer
    from astromer import plot
    from astromer.tasks.inputs import is_records, read_light_curves_input
    from astromer.tasks.pretrain import pretrain

    if not os.path.exists(args.input):
        raise FileNotFoundError(f"input {args.input!r} does not exist")
    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
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
                             masking=args.masking, probed=args.probed, quiet=args.quiet)
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
        "pretrain", help="pretrain an Astromer by masked reconstruction (new or from a preset)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Pretrain an Astromer encoder by masked-magnitude reconstruction on light curves from a "
                    "records folder (its train split; val for validation) or a long table "
                    "(object_id,[band,]time,mag,mag_err). Starts from a new model or continues a preset. "
                    "Writes a preset folder (config.json, model.weights.h5) with history.csv and training.png.",
        epilog="Examples:\n"
               "  astromer pretrain my_records -o my_model --epochs 20\n"
               "  astromer pretrain lightcurves.csv.gz -o my_model --architecture astromer_v1 --minutes 30\n"
               "  astromer pretrain my_records -o tuned --preset astromer_v1 --learning-rate 1e-4")
    p.add_argument("input", help="records folder, or a long table (.csv, .csv.gz, .parquet)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="preset folder to write")
    g = p.add_argument_group("model")
    g.add_argument("--architecture", default="small", choices=ARCHITECTURES,
                   help="new model: 'small' (2 blocks, width 64, window 100), 'modern' (pre-LN, width 256) or "
                        "an original architecture (default: %(default)s)")
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
                   help="Adam learning rate (default: %(default)s)")
    g.add_argument("--masking", choices=("v1", "v2"), default="v2", help="masking variant (default: %(default)s)")
    g.add_argument("--probed", type=float, default=0.5, metavar="F",
                   help="fraction of each window's observations probed by the loss (default: %(default)s)")
    g.add_argument("--val-fraction", type=float, default=0.1, metavar="F",
                   help="validation objects held out of a table input (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the validation hold-out, weights, windows and masks (default: %(default)s)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_table_options(p)
    p.set_defaults(func=_run)
