"""``astromer embed``: light curves (records or a table) to embeddings in Parquet or NPZ, with object ids."""

import argparse
import os
import warnings
from pathlib import Path

from astromer.cli.arguments import add_table_options, table_options
from astromer.cli.images import add_image_options
from astromer.defaults import LIGHT_CURVE_PRESET

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


def _write(out, keys, matrix):
    """Keys + ``emb_0..`` columns to .parquet, or arrays to .npz, atomically; NaN/inf is an error."""
    import numpy as np
    import pandas as pd

    from astromer.io import atomic_path

    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} embeddings hold NaN/inf (first: object "
                         f"{keys['object_id'].iloc[int(np.flatnonzero(bad)[0])]!r}); nothing written")
    with atomic_path(out) as tmp:
        if out.suffix == ".parquet":
            emb = pd.DataFrame(matrix, columns=[f"emb_{k}" for k in range(matrix.shape[1])])
            pd.concat([keys.reset_index(drop=True), emb], axis=1).to_parquet(tmp, index=False)
        else:
            arrays = {"embeddings": matrix.astype("float32")}
            for col in keys.columns:
                values = keys[col].to_numpy()
                arrays[col] = values.astype(str) if values.dtype == object else values
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **arrays)


def _run_images(args, out):
    """AstroPT embeddings of images, one row per image."""
    from astromer.cli.images import geometry, kept_columns, model_dir_of, read_images
    from astromer.tasks.images import load_astropt

    if not args.model and args.preset == LIGHT_CURVE_PRESET:
        raise ValueError(f"{args.input} holds images: give --model DIR (e.g. from 'astromer pretrain' on images) "
                         "or an AstroPT --preset")
    if args.level != "object":
        raise ValueError("--level curve/observation are for light curves; images have one row each")
    model = load_astropt(args.preset, args.model)
    size, crop, channels = geometry(args, model_dir_of(args))
    data = read_images(args, args.input, size, crop, channels, labels=args.labels,
                       columns=kept_columns(args), split=args.split)
    layer = _layer(args.layer)
    print(f"[embed] {len(data)} images {data.images.shape[1]}x{data.images.shape[2]}x{data.images.shape[3]} from "
          f"{data.description}; AstroPT {args.model or args.preset} (width {model.embed_dim}, "
          f"layer {'default' if layer is None else layer})", flush=True)
    matrix = model.embed(data.images, layer=layer, batch_size=min(args.batch_size, 256),
                         verbose=0 if args.quiet else "auto")
    keys = data.table.dropna(axis=1, how="all") if "label" in data.table else data.table
    _write(out, keys, matrix)
    print(f"[embed] wrote {matrix.shape[0]} image rows x {matrix.shape[1]} dims to {out}")
    return 0


def _layer(text):
    if text is None or text == "final":
        return text
    return int(text)


def _run(args):
    from astromer.tasks.encoders import load_encoder
    from astromer.tasks.images import is_image_input
    from astromer.tasks.inputs import read_light_curves_input

    out = Path(args.output)
    if out.suffix not in (".parquet", ".npz"):
        raise ValueError(f"--output must end in .parquet or .npz, got {str(out)!r}")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if os.path.exists(args.input) and is_image_input(args.input):
        return _run_images(args, out)
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
    _write(out, keys, matrix)
    print(f"[embed] wrote {matrix.shape[0]} {args.level} rows x {matrix.shape[1]} dims to {out}")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "embed", help="light curves (Astromer) or images (AstroPT) to embeddings (Parquet or NPZ, with object ids)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Embed light curves with an Astromer preset: every curve is cut into windows, encoded, and "
                    "the observation embeddings are averaged per object (default), per curve (object and band) "
                    "or kept per observation. Input: a records folder, a folder with lightcurves.csv.gz, or a "
                    "long table (object_id,[band,]time,mag[,mag_err]). Output: .parquet (columns object_id, "
                    "[band,] n_obs, [label,] emb_0..emb_{d-1}) or .npz (arrays embeddings, object_id, ...).\n\n"
                    "Images (an image folder, image records, an HDF5/FITS stack, a .npy array) are embedded "
                    "with an AstroPT (--model DIR from 'astromer pretrain', or an AstroPT --preset): one row "
                    "per image with object_id, label, split (records) and the --keep-columns.",
        epilog="Examples:\n"
               "  astromer embed my_records -o embeddings.parquet --preset astromer_v1\n"
               "  astromer embed lightcurves.csv.gz -o emb.npz --model my_model --level curve\n"
               "  astromer embed my_records --split test -o test.parquet --preset astromer_v1\n"
               "  astromer embed galaxies/ -o galaxy_embeddings.parquet --model my_astropt")
    p.add_argument("input", help="records folder, folder with lightcurves.csv.gz, or a long table")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output .parquet or .npz")
    p.add_argument("--preset", default=LIGHT_CURVE_PRESET, metavar="NAME",
                   help="preset name (default: %(default)s; see 'astromer presets list')")
    p.add_argument("--model", metavar="DIR",
                   help="a preset folder (e.g. from 'astromer pretrain'), a .keras file or an original checkpoint instead of --preset")
    p.add_argument("--level", choices=LEVELS, default="object", help="rows per object, curve or observation "
                   "(default: %(default)s)")
    p.add_argument("--split", metavar="NAME", help="only this split of a records folder (default: every split)")
    p.add_argument("--bands", metavar="LIST", help="only these bands, e.g. r or g,r (default: every band)")
    p.add_argument("--labels", metavar="TABLE", help="labels table to carry along (object_id,label)")
    p.add_argument("--batch-size", type=int, default=256, metavar="N",
                   help="windows (images) per batch (default: %(default)s)")
    p.add_argument("--layer", metavar="N|final",
                   help="AstroPT: the block whose output is averaged (an index, negative from the end, or "
                        "'final'; default: the model's own, block n_layers // 2 for astroPT 2 and new models)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_table_options(p)
    add_image_options(p)
    p.set_defaults(func=_run)
