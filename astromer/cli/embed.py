"""``astromer embed``: light curves (records or a table) to embeddings in Parquet or NPZ, with object ids."""

import argparse
import warnings
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options

LEVELS = ("object", "curve", "observation")


def _rows(result, level):
    """``(keys DataFrame, (N, d) matrix)`` at the requested level."""
    import numpy as np
    import pandas as pd

    ids = [i if isinstance(i, tuple) else (i, None) for i in result.ids]
    if level == "curve":
        keys = pd.DataFrame({"object_id": [o for o, _ in ids], "band": [b for _, b in ids],
                             "n_obs": [len(o) for o in result.observations]})
        return keys, result.pooled
    if level == "observation":
        parts = [pd.DataFrame({"object_id": o, "band": b, "time": t}) for (o, b), t in zip(ids, result.times)]
        return pd.concat(parts, ignore_index=True), np.concatenate(result.observations, axis=0)
    order = list(dict.fromkeys(o for o, _ in ids))
    index = {o: k for k, o in enumerate(order)}
    sums = np.zeros((len(order), result.pooled.shape[1]))
    counts = np.zeros(len(order), dtype=np.int64)
    for (o, _), rows in zip(ids, result.observations):
        sums[index[o]] += rows.sum(axis=0)
        counts[index[o]] += len(rows)
    keys = pd.DataFrame({"object_id": order, "n_obs": counts})
    return keys, (sums / counts[:, None]).astype("float32")


def _run(args):
    import numpy as np
    import pandas as pd

    from astromer.tasks.encoders import load_encoder
    from astromer.tasks.inputs import read_light_curves_input

    out = Path(args.output)
    if out.suffix not in (".parquet", ".npz"):
        raise ValueError(f"--output must end in .parquet or .npz, got {str(out)!r}")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    curves, labels = read_light_curves_input(args.input, labels=args.labels, split=args.split, **table_options(args))
    if "band" in curves.columns and args.bands:
        curves = curves[curves["band"].astype(str).isin(args.bands.split(","))]
        if curves.empty:
            raise ValueError(f"no observations in bands {args.bands}")
    model = load_encoder(args.preset, args.model)
    n_objects = curves["object_id"].nunique()
    print(f"[embed] {n_objects} objects, {len(curves)} observations; model {args.model or args.preset} "
          f"(width {model.width}, window {model.window_size})", flush=True)
    with warnings.catch_warnings():  # the cleaning counts are printed below, one line per reason
        warnings.filterwarnings("ignore", message="prepare_light_curves:", category=UserWarning)
        result = model.embed(curves, batch_size=args.batch_size, verbose=0 if args.quiet else "auto")
    for line in result.report.lines():
        print(f"[embed] {line}", flush=True)
    keys, matrix = _rows(result, args.level)
    if labels is not None and "label" in labels.columns:
        keys = keys.merge(labels[["object_id", "label"]].drop_duplicates("object_id"), on="object_id", how="left")
    keys = keys.drop(columns=[c for c in ("band",) if c in keys and keys[c].isna().all()])
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        emb = pd.DataFrame(matrix, columns=[f"emb_{k}" for k in range(matrix.shape[1])])
        pd.concat([keys.reset_index(drop=True), emb], axis=1).to_parquet(out, index=False)
    else:
        arrays = {"embeddings": matrix.astype("float32")}
        for col in keys.columns:
            values = keys[col].to_numpy()
            arrays[col] = values.astype(str) if values.dtype == object else values
        np.savez_compressed(out, **arrays)
    print(f"[embed] wrote {matrix.shape[0]} {args.level} rows x {matrix.shape[1]} dims to {out}")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "embed", help="light curves to embeddings (Parquet or NPZ, with object ids)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Embed light curves with an Astromer preset: every curve is cut into windows, encoded, and "
                    "the observation embeddings are averaged per object (default), per curve (object and band) "
                    "or kept per observation. Input: a records folder, a folder with lightcurves.csv.gz, or a "
                    "long table (object_id,[band,]time,mag[,mag_err]). Output: .parquet (columns object_id, "
                    "[band,] n_obs, [label,] emb_0..emb_{d-1}) or .npz (arrays embeddings, object_id, ...).",
        epilog="Examples:\n"
               "  astromer embed my_records -o embeddings.parquet --preset astromer_v1\n"
               "  astromer embed lightcurves.csv.gz -o emb.npz --model my_model --level curve\n"
               "  astromer embed my_records --split test -o test.parquet --preset astromer_v1")
    p.add_argument("input", help="records folder, folder with lightcurves.csv.gz, or a long table")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output .parquet or .npz")
    p.add_argument("--preset", default="astromer_v1", metavar="NAME",
                   help="preset name (default: %(default)s; see 'astromer presets list')")
    p.add_argument("--model", metavar="DIR",
                   help="a preset folder (e.g. from 'astromer pretrain'), a .keras file or an original checkpoint instead of --preset")
    p.add_argument("--level", choices=LEVELS, default="object", help="rows per object, curve or observation "
                   "(default: %(default)s)")
    p.add_argument("--split", metavar="NAME", help="only this split of a records folder (default: every split)")
    p.add_argument("--bands", metavar="LIST", help="only these bands, e.g. r or g,r (default: every band)")
    p.add_argument("--labels", metavar="TABLE", help="labels table to carry along (object_id,label)")
    p.add_argument("--batch-size", type=int, default=256, metavar="N", help="windows per batch (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_table_options(p)
    p.set_defaults(func=_run)
