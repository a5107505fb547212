"""``astromer evaluate``: the few-shot protocol on a labelled light-curve folder."""

import sys
import time

from astromer.defaults import LIGHT_CURVE_PRESET


def _run(args):
    import astromer
    from astromer import plot
    from astromer.cli.main import command_line
    from astromer.evaluation import FewShotEvaluation, load_labelled_folder, write_report

    if not 0 < args.test_fraction < 1:
        raise ValueError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    if args.jobs is not None and args.jobs == 0:
        raise ValueError("--jobs must be a positive number of threads, or -1 for every core")
    data = load_labelled_folder(args.data, label_column=args.label_column, split_column=args.split_column,
                                classes=args.classes, seed=args.seed, test_fraction=args.test_fraction,
                                id_column=args.id_column)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    shots = [int(s) for s in args.shots.split(",")]
    evaluation = FewShotEvaluation(
        data, lambda: astromer.load_preset(args.preset, progress=False), methods=methods, shots=shots,
        folds=args.folds, head=args.head, epochs=args.epochs, finetune_epochs=args.finetune_epochs,
        reconstruction_epochs=args.reconstruction_epochs, gru_epochs=args.gru_epochs, seed=args.seed,
        patience=args.patience, learning_rate=args.learning_rate, encoder_learning_rate=args.encoder_learning_rate,
        layer_decay=None if args.layer_decay == 1 else args.layer_decay, unfreeze_blocks=args.unfreeze_blocks,
        weight_decay=args.weight_decay, jitter=args.jitter, output=args.output, resume=args.resume,
        n_jobs=None if args.jobs in (None, -1) else args.jobs,
    )
    # after the cleaning, which leaves out objects without a usable observation
    print(f"[evaluate] {len(data.pool_ids)} training-pool and {len(data.test_ids)} test objects; "
          f"classes {data.class_names}; methods {methods}; shots {shots}; folds {args.folds}")
    start = time.time()
    results = evaluation.run()
    seconds = time.time() - start
    argv = getattr(args, "argv", sys.argv[1:])
    command = command_line(argv) if args.command_line is None else args.command_line
    command = _commands_so_far(args.output, command, args.resume)
    pool = data.labels.loc[data.pool_ids].value_counts().sort_index()
    test = data.labels.loc[data.test_ids].value_counts().sort_index()
    notes = [f"Data: {len(data.pool_ids)} training-pool objects ({', '.join(f'{k} {v}' for k, v in pool.items())}) "
             f"and {len(data.test_ids)} test objects ({', '.join(f'{k} {v}' for k, v in test.items())}).",
             f"Wall time of this invocation: {seconds / 60:.1f} min"
             + (" (with --resume: only the splits it ran, not those kept from results.csv)." if args.resume else ".")]
    # every shot count in the report, also those kept from an earlier run (--resume with other --shots)
    evaluation.shots = sorted(set(shots) | {int(s) for s in results["shots"].unique()})
    shortfalls = [n for s in evaluation.splits() for n in s["notes"]]
    if shortfalls:
        notes += ["", "Classes short of shots + validation (training gets its shots first):", ""]
        notes += [f"- {n}" for n in shortfalls]
    out = write_report(results, args.output, command, title=args.title or f"Few-shot classification: {args.data}",
                       notes=notes, figure=plot.f1_vs_shots, predictions=evaluation.predictions_frame())
    print((out / "results.md").read_text())
    print(f"[evaluate] wrote {out}/results.csv, summary.csv, predictions.csv, results.md, f1_vs_shots.png")
    return 0


def _commands_so_far(output, command, resume):
    """The command lines that wrote ``output/results.csv``: with ``--resume``, those recorded in
    ``output/commands.txt`` before this one; the file is rewritten with this run's list."""
    from pathlib import Path

    from astromer.io import atomic_write_text

    path = Path(output) / "commands.txt"
    earlier = path.read_text().splitlines() if resume and path.is_file() else []
    lines = [line for line in earlier if line.strip()] + [command]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return "\n".join(lines)


def register(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="few-shot classification benchmark: Astromer scenarios a/b/c and baselines",
        description="Run the Astromer 2 few-shot protocol (k folds x N labelled objects per class, fixed test "
        "set) for scenarios a (frozen encoder), b (fine-tuned), c (reconstruction then frozen) and the GRU, "
        "random-forest and gradient-boosting baselines; writes a results table (CSV, Markdown, with the best "
        "method's confusion matrices), every test object's predictions (predictions.csv) and a plot of "
        "macro F1. Training gets its shots per class first (all of a class's pool objects when it has fewer), "
        "validation what is left; a class short of shots + validation is reported and every row of "
        "results.csv records the real training/validation counts per class. results.csv and predictions.csv "
        "are rewritten after each split, so an interrupted run keeps what it finished (continue it with --resume).",
        epilog="Examples:\n"
               "  astromer evaluate ../shared/data/eros1 -o eros1_report\n"
               "  astromer evaluate ../shared/data/eros1 -o quick --shots 20 --folds 1 --methods a,rf\n"
               "  astromer evaluate ../shared/data/eros1 -o features --methods rf,hgb,rf_lc,hgb_lc --jobs 2\n"
               "  astromer evaluate ../shared/data/eros1 -o eros1_report --resume\n"
               "  astromer evaluate my_survey -o report --preset astromer_v2 --classes RRab RRc Cep",
    )
    p.add_argument("data", help="folder with lightcurves.csv.gz, .csv or .parquet (object_id,band,time,mag,mag_err) "
                                "and labels.csv, "
                                "or a labelled records folder (its 'test' split is the test set)")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder for the report")
    p.add_argument("--preset", default=LIGHT_CURVE_PRESET, metavar="NAME",
                   help="encoder preset (default: %(default)s; see 'astromer presets list')")
    p.add_argument("--methods", default="a,b,c,probe_scales,rf_lc,hgb_lc,hybrid_rf_fold,hybrid_hgb_fold",
                   metavar="LIST",
                   help="comma list of: a, b, c, c_b (Astromer scenarios, one prediction per object from all "
                        "its bands: a, frozen encoder with a logistic probe head; b, a then the encoder fine-tuned; "
                        "c / c_b, a / b after reconstruction on the survey), a_skip, b_skip, c_skip (Astromer 2's "
                        "scenarios: its skip head on each window, logits averaged per object), a_attention "
                        "(a_skip's features, attention pooling over each object's windows), gru (GRU on raw "
                        "windows), rf / hgb (class-balanced random forest / gradient boosting on 16 variability "
                        "features per band), rf_lc / hgb_lc (the same on ~34 light-curve package features per "
                        "band), probe (scikit-learn logistic probe on whole-curve embeddings, all bands), "
                        "hybrid_rf / hybrid_hgb (light-curve features + stacked probe probabilities), probe_c / "
                        "hybrid_rf_c (probe and forest hybrid on the embeddings after c's reconstruction on the "
                        "survey, done once per run and shared by every c method), probe_scales (the probe on the "
                        "embeddings of the curves as observed and with their times x0.3, side by side), "
                        "probe_fold / hybrid_rf_fold / "
                        "hybrid_hgb_fold (the same on embeddings of the curves folded on each object's "
                        "periodogram period; probe_fold: unfolded and folded side by side) (default: %(default)s)")
    p.add_argument("--shots", default="20,100,500", metavar="LIST",
                   help="labelled objects per class, comma list (default: %(default)s)")
    p.add_argument("--folds", type=int, default=3, metavar="N", help="folds (default: %(default)s)")
    p.add_argument("--head", default="skip", choices=["skip", "mean", "max"],
                   help="head of the per-window scenarios a_skip, b_skip, c_skip (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=200, metavar="N",
                   help="head epochs for a_skip and c_skip, with early stopping (a and c fit their probe head "
                        "by cross-validation)")
    p.add_argument("--finetune-epochs", type=int, default=10, metavar="N",
                   help="epochs for scenarios b, c_b and b_skip (the epoch kept is the one with the best validation "
                        "macro F1, a's head before any fine-tuning included; a later epoch replaces it only when "
                        "its validation cross-entropy does not rise either and a paired bootstrap of the validation "
                        "objects has it win in at least 90%% of resamples)")
    p.add_argument("--encoder-learning-rate", type=float, default=3e-5, metavar="LR",
                   help="scenario b: learning rate of the last encoder block (default: %(default)s)")
    p.add_argument("--layer-decay", type=float, default=0.75, metavar="F",
                   help="scenario b: each encoder block further down learns F times slower (1: one rate; "
                   "default: %(default)s)")
    p.add_argument("--unfreeze-blocks", type=int, default=None, metavar="N",
                   help="scenario b: fine-tune only the last N encoder blocks (default: all)")
    p.add_argument("--weight-decay", type=float, default=1e-4, metavar="F",
                   help="scenario b: AdamW weight decay (default: %(default)s)")
    p.add_argument("--jitter", type=float, default=0.0, metavar="SIGMA",
                   help="scenario b: move training magnitudes by N(0, (SIGMA x error)^2) each epoch (0: off; "
                   "default: %(default)s)")
    p.add_argument("--reconstruction-epochs", type=int, default=20, metavar="N",
                   help="scenario c: at most N reconstruction epochs on the training pool; stops when the masked "
                   "R2 of 10%% held-out curves has not improved for 2 epochs (default: %(default)s)")
    p.add_argument("--gru-epochs", type=int, default=60, metavar="N",
                   help="epochs for the GRU baseline, with early stopping")
    p.add_argument("--patience", type=int, default=20, metavar="N",
                   help="early-stopping patience on validation loss")
    p.add_argument("--learning-rate", type=float, default=3e-4, metavar="LR", help="head / GRU learning rate")
    p.add_argument("--label-column", default="label", metavar="NAME",
                   help="label column of labels.csv (default: %(default)s)")
    p.add_argument("--id-column", default="object_id", metavar="NAME",
                   help="object-id column of labels.csv, matched as text to the curves' object_id "
                        "(default: %(default)s)")
    p.add_argument("--split-column", default="split", metavar="NAME",
                   help="column of labels.csv marking the test set with 'test' (a records folder's own 'test' "
                        "split counts as one); without 'test' rows there, a stratified --test-fraction test set")
    p.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                   help="stratified test fraction drawn with --seed when no --split-column row says 'test' "
                        "(default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows of OUTPUT/results.csv and skip each (method, shots, fold) found there; "
                        "its folds must be this run's (same data, seed, classes, test set)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="threads for feature extraction and the scikit-learn classifiers (default: every core)")
    p.add_argument("--classes", nargs="*", default=None, metavar="NAME",
                   help="keep only these classes (default: every class)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the test set, folds and training")
    p.add_argument("--title", default=None,
                   help="title of the report (default: 'Few-shot classification: DATA')")
    p.add_argument("--command-line", default=None, help=argparse_suppress())
    p.set_defaults(func=_run)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
