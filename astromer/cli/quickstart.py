"""``astromer quickstart``: the main job, end to end on the embedded simulator, with no network.

simulate labelled light curves -> TFRecords -> pretrain a small Astromer ->
few-shot scenarios a/b/c -> a report folder (table, JSON and figures).
"""

from __future__ import annotations

import time
from pathlib import Path

from astromer.io import atomic_write_json, atomic_write_text

DEFAULT_OUTPUT = "astromer_quickstart"
TINY = {"objects": 90, "epochs": 1, "shots": 4, "folds": 1, "head_epochs": 3, "finetune_epochs": 1,
        "reconstruction_epochs": 1, "patience": 2}


def _say(args, text):
    if not args.quiet:
        print(text, flush=True)


def _data(args, out):
    """Records folder and ``(curves, labels)`` read back from it."""
    from astromer.tasks.inputs import records_table

    if args.records:
        folder = Path(args.records)
        if not folder.exists():
            raise FileNotFoundError(f"records folder {str(folder)!r} does not exist")
        _say(args, f"[1/5] using your records in {folder}")
    else:
        from astromer.data.synthetic import CLASSES, simulate_light_curves
        from astromer.records import long_table_source, write_dataset

        _say(args, f"[1/5] simulating {args.objects} light curves of {len(CLASSES)} classes "
                   f"(seed {args.seed}) and writing TFRecords")
        curves, labels = simulate_light_curves(args.objects, seed=args.seed)
        folder = out / "records"
        meta = write_dataset(long_table_source(curves, labels), folder, splits="0.8,0.1,0.1", seed=args.seed,
                             shard_size=500, overwrite=True, progress=not args.quiet, name="simulated")
        _say(args, f"      {meta['counts']['objects']} objects, {meta['counts']['observations']} observations "
                   f"-> {folder}")
    periods = None if args.records else labels[["object_id", "period"]]
    curves, labels = records_table(str(folder))
    if labels["label"].isna().all():
        raise ValueError(f"{folder} has no labelled curves: the quickstart needs labels for its classifiers")
    if not (labels["split"] == "test").any():
        raise ValueError(f"{folder} has no 'test' split; write it with e.g. --splits 0.8,0.1,0.1")
    if periods is not None:  # the simulator's true periods, to fold the example curves
        labels = labels.merge(periods, on="object_id", how="left")
    return folder, curves, labels


def _encoder(args, out, folder):
    import keras

    import astromer
    from astromer.tasks.encoders import fresh_copy, load_encoder
    from astromer.tasks.pretrain import pretrain

    if args.preset:
        _say(args, f"[2/5] loading the preset {args.preset} (no pretraining)")
        encoder = load_encoder(preset=args.preset)
        return encoder, lambda: load_encoder(preset=args.preset), None, None
    keras.utils.set_random_seed(args.seed)
    encoder = astromer.Astromer(num_layers=2, num_heads=4, head_dim=16, ffn_dim=128, window_size=args.window_size,
                                dropout=0.0)
    _say(args, f"[2/5] pretraining a small Astromer ({encoder.count_params():,} parameters, window "
               f"{args.window_size}) by masked reconstruction: up to {args.epochs} epochs or {args.minutes:g} min")
    history, info = pretrain(encoder, str(folder), str(folder), epochs=args.epochs, max_minutes=args.minutes,
                             batch_size=64, learning_rate=2e-3, seed=args.seed, quiet=args.quiet)
    history.to_csv(out / "pretraining_history.csv", index=False)
    astromer.save_preset(encoder, out / "model")
    final = info["final"]
    _say(args, f"      {info['epochs']} epochs in {info['seconds']:.0f} s"
               + (" (stopped by the time limit)" if info["stopped_by_time_limit"] else "")
               + f"; masked RMSE {final.get('loss', float('nan')):.3f}, R2 {final.get('r2', float('nan')):.3f}"
               + (f" (validation {final['val_loss']:.3f}, {final.get('val_r2', float('nan')):.3f})"
                  if "val_loss" in final else ""))
    return encoder, lambda: fresh_copy(encoder), history, info


def _pick_example(labels, curves):
    test = labels[labels["split"] == "test"]
    for cls in ("long_period_variable", "cepheid", "eclipsing_binary", "rr_lyrae_ab"):
        rows = test[test["label"] == cls]
        if len(rows):
            return rows["object_id"].iloc[0]
    sizes = curves[curves["object_id"].isin(set(test["object_id"]))].groupby("object_id").size()
    return sizes.idxmax()


def _figures(args, out, encoder, curves, labels, history, results):
    import numpy as np

    from astromer import plot
    figures = {}
    figures["examples"] = plot.class_examples(curves, labels, path=out / "examples.png",
                                              title="One light curve per class" +
                                              (" (folded at the true period)" if "period" in labels else ""))
    if history is not None and len(history):
        figures["training"] = plot.training_history(history, title="Astromer pretraining (masked reconstruction)",
                                                    path=out / "training.png")
    oid = _pick_example(labels, curves)
    label = labels.set_index("object_id").loc[oid, "label"]
    one = curves[curves["object_id"] == oid]
    if "band" in one.columns:
        one = one[one["band"] == sorted(one["band"].unique())[0]]
    figures["reconstruction"] = plot.reconstruction(encoder, one.drop(columns="band", errors="ignore"), seed=args.seed,
                                                    title=f"{oid} ({label}), test set",
                                                    path=out / "reconstruction.png")
    figures["attention"] = plot.attention(encoder, one.drop(columns="band", errors="ignore"),
                                          title=f"Attention of the last block over {oid} ({label})",
                                          path=out / "attention.png")
    test = labels[(labels["split"] == "test") & labels["label"].notna()]
    embedded = encoder.embed(curves[curves["object_id"].isin(set(test["object_id"]))], verbose=0)
    ids, emb = embedded.object_vectors(how="mean")
    names = test.set_index("object_id").loc[ids, "label"].to_numpy()
    method = "tsne" if len(ids) >= 30 else "pca"
    figures["embeddings"] = plot.embedding_projection(
        emb, names, method=method, seed=args.seed, path=out / "embeddings.png",
        title=f"Test-set embeddings before fine-tuning ({'t-SNE' if method == 'tsne' else 'PCA'}, mean over observations and bands)")
    figures["f1_by_scenario"] = plot.fewshot_scores(
        results, path=out / "f1_by_scenario.png",
        title=f"Few-shot classification, {args.shots} labelled curves per class ({args.folds} folds)")
    np.save(out / "test_embeddings.npy", emb)
    return sorted(f"{k}.png" for k in figures)


def _fill_defaults(args):
    """Options not given on the command line (``None``) take ``TINY``'s value under ``--tiny``,
    else ``PARSER_DEFAULTS``'s; given ones are kept (``--tiny --shots 20`` runs 20 shots)."""
    for key, default in PARSER_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, TINY[key] if args.tiny else default)
    return args


def _run(args):
    import keras
    import numpy as np

    from astromer import plot
    from astromer.cli.main import command_line
    from astromer.evaluation import METHOD_NAMES, FewShotEvaluation, LabelledSet, summarise, write_report
    from astromer.evaluation.report import to_markdown

    _fill_defaults(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHOD_NAMES))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown} in --methods; choose from {','.join(METHOD_NAMES)}")
    if args.objects < 30:
        raise ValueError(f"--objects must be at least 30, got {args.objects}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    clock = {"start": time.time()}

    folder, curves, labels = _data(args, out)
    clock["data"] = time.time()
    encoder, load_encoder, history, info = _encoder(args, out, folder)
    clock["pretraining"] = time.time()

    labelled = labels[labels["label"].notna()]
    test_ids = labelled.loc[labelled["split"] == "test", "object_id"].tolist()
    pool_ids = labelled.loc[labelled["split"] != "test", "object_id"].tolist()
    data = LabelledSet(table=curves[curves["object_id"].isin(set(labelled["object_id"]))],
                       labels=labelled.set_index("object_id")["label"].astype(str), test_ids=test_ids,
                       pool_ids=pool_ids)
    _say(args, f"[3/5] few-shot classification: scenarios {','.join(methods)}, {args.shots} labelled curves per "
               f"class, {args.folds} fold(s); {len(pool_ids)} pool and {len(test_ids)} test objects, "
               f"classes {data.class_names}")
    keras.utils.set_random_seed(args.seed)
    evaluation = FewShotEvaluation(
        data, load_encoder, methods=methods, shots=[args.shots], folds=args.folds, epochs=args.head_epochs,
        finetune_epochs=args.finetune_epochs, reconstruction_epochs=args.reconstruction_epochs,
        patience=args.patience, seed=args.seed,
    )
    results = evaluation.run()
    clock["classification"] = time.time()

    _say(args, "[4/5] writing the report and figures")
    title = "Quickstart: few-shot classification of " + ("your records" if args.records else "simulated light curves")
    write_report(results, out, command_line(), title=title, figure=plot.f1_vs_shots,
                 predictions=evaluation.predictions_frame())
    figures = _figures(args, out, encoder, curves, labels, history, results)
    clock["report"] = time.time()

    summary = summarise(results)
    table = to_markdown(summary)
    seconds = {k: round(clock[k] - prev, 1) for prev, k in
               zip([clock["start"], clock["data"], clock["pretraining"], clock["classification"]],
                   ["data", "pretraining", "classification", "report"])}
    seconds["total"] = round(clock["report"] - clock["start"], 1)
    report = {
        "title": title,
        "command": command_line(),
        "backend": keras.backend.backend(),
        "data": {"records": str(folder), "objects": int(labels["object_id"].nunique()),
                 "observations": int(len(curves)), "classes": data.class_names,
                 "pool_objects": len(pool_ids), "test_objects": len(test_ids),
                 "source": "records" if args.records else f"simulated (seed {args.seed})"},
        "encoder": ({"preset": args.preset} if args.preset else
                    {"pretrained_here": True, "parameters": int(encoder.count_params()),
                     "window_size": int(encoder.window_size), "config": "2 blocks, 4 heads x 16, ffn 128",
                     "pretraining": info}),
        "protocol": {"methods": methods, "shots": args.shots, "folds": args.folds, "head_epochs": args.head_epochs,
                     "finetune_epochs": args.finetune_epochs, "reconstruction_epochs": args.reconstruction_epochs,
                     "patience": args.patience, "seed": args.seed},
        "results": [{"method": r["method"], "name": METHOD_NAMES.get(r["method"], r["method"]),
                     "shots": int(r["shots"]), "macro_f1_mean": float(r["macro_f1_mean"]),
                     "macro_f1_std": float(np.nan_to_num(r["macro_f1_std"])),
                     "accuracy_mean": float(r["accuracy_mean"]),
                     "accuracy_std": float(np.nan_to_num(r["accuracy_std"]))} for _, r in summary.iterrows()],
        "figures": figures + ["f1_vs_shots.png"],
        "seconds": seconds,
    }
    atomic_write_json(out / "results.json", report)
    atomic_write_text(out / "results.md", (out / "results.md").read_text()
                      + "\n## Figures\n\n" + "\n".join(f"![{Path(f).stem}]({f})" for f in report["figures"]) + "\n"
                      + f"\nTotal time {seconds['total']:.0f} s on the {report['backend']} backend "
                      f"(data {seconds['data']:.0f} s, pretraining {seconds['pretraining']:.0f} s, "
                      f"classification {seconds['classification']:.0f} s, report {seconds['report']:.0f} s).\n")
    _say(args, "[5/5] done\n")
    print(f"{title} ({len(test_ids)} test objects, macro F1 and accuracy in %, mean ± std over folds)\n")
    print(table)
    print(f"\nReport: {out}/results.md, results.json, results.csv, predictions.csv; "
          f"figures: {', '.join(report['figures'])}")
    print(f"Finished in {seconds['total'] / 60:.1f} min.")
    return 0


PARSER_DEFAULTS = {"objects": 3000, "epochs": 20, "shots": 20, "folds": 3, "head_epochs": 200,
                   "finetune_epochs": 10, "reconstruction_epochs": 2, "patience": 20}


def register(subparsers):
    import argparse

    p = subparsers.add_parser(
        "quickstart", help="run the main job end to end on simulated light curves (no downloads)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Simulate labelled light curves (RR Lyrae ab/c, Cepheids, eclipsing binaries, long-period "
                    "and non-variables), write them as TFRecords, pretrain a small Astromer for a few minutes, "
                    "run the few-shot scenarios a (frozen encoder), b (fine-tuned) and c (reconstruction, "
                    "then frozen) with 20 labelled curves per class, and write a report folder: results.md "
                    "and results.json, and figures of a masked reconstruction, attention, the embedding map, "
                    "training curves and F1 by scenario. Needs no network.",
        epilog="Examples:\n"
               "  astromer quickstart                          # about 6-8 min on 2 CPU cores\n"
               "  astromer quickstart -o my_report --minutes 2 --folds 1\n"
               "  astromer quickstart --preset astromer_v1     # published weights instead of pretraining\n"
               "  astromer quickstart --records eros1_records  # your labelled records (with a test split)\n"
               "  astromer quickstart --tiny                   # a one-minute smoke test")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="DIR",
                   help=f"report folder (default: ./{DEFAULT_OUTPUT})")
    p.add_argument("--preset", metavar="NAME", help="use a pretrained preset (name or folder) instead of pretraining")
    p.add_argument("--records", metavar="DIR", help="your labelled light-curve records instead of the simulator "
                   "(train/val/test splits, as 'astromer records convert' writes)")
    p.add_argument("--objects", type=int, default=None, metavar="N",
                   help=f"simulated objects, in equal shares of 6 classes (default: {PARSER_DEFAULTS['objects']})")
    p.add_argument("--epochs", type=int, default=None, metavar="N",
                   help=f"pretraining epochs (default: {PARSER_DEFAULTS['epochs']})")
    p.add_argument("--minutes", type=float, default=4.0, metavar="M",
                   help="pretraining time limit in minutes (default: %(default)s)")
    p.add_argument("--window-size", type=int, default=100, metavar="N",
                   help="window of the new model (default: %(default)s)")
    p.add_argument("--shots", type=int, default=None, metavar="N",
                   help=f"labelled curves per class (default: {PARSER_DEFAULTS['shots']})")
    p.add_argument("--folds", type=int, default=None, metavar="N",
                   help=f"folds (default: {PARSER_DEFAULTS['folds']})")
    p.add_argument("--methods", default="a,b,c", metavar="LIST",
                   help="comma list of the methods of 'astromer evaluate' (e.g. a,b,c,a_skip,gru,rf; "
                        "default: %(default)s)")
    p.add_argument("--head-epochs", type=int, default=None, metavar="N",
                   help="head epochs of the per-window a_skip and c_skip, with early stopping (a and c fit their probe "
                        f"head by cross-validation) (default: {PARSER_DEFAULTS['head_epochs']})")
    p.add_argument("--finetune-epochs", type=int, default=None, metavar="N",
                   help="scenario b epochs (the epoch kept by validation macro F1, a's start included) "
                        f"(default: {PARSER_DEFAULTS['finetune_epochs']})")
    p.add_argument("--reconstruction-epochs", type=int, default=None,
                   metavar="N", help=f"scenario c reconstruction epochs (default: {PARSER_DEFAULTS['reconstruction_epochs']})")
    p.add_argument("--patience", type=int, default=None, metavar="N",
                   help=f"early-stopping patience in epochs (default: {PARSER_DEFAULTS['patience']})")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the simulation, splits and training (default: %(default)s)")
    p.add_argument("--tiny", action="store_true",
                   help="a small, fast run to check the installation: "
                        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in TINY.items())
                        + " (options not given on the command line)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)
