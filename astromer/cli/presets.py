"""``astromer presets``: list, download and convert presets."""

import os
from pathlib import Path


def _list(args):
    from astromer.presets.registry import all_presets

    specs = all_presets()
    rows = [("NAME", "CLASS", "LICENCE", "SOURCE")]
    rows += [(n, s["class"], s["license"], s["source"].get("url") or "-") for n, s in sorted(specs.items())]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    if args.verbose:
        for name, spec in sorted(specs.items()):
            print(f"\n{name}: {spec['description']}\n  trained on: {spec.get('trained_on', '-')}"
                  f"\n  cite: {spec['citation']}")
    return 0


def _download(args):
    from astromer.presets.loader import download_preset

    folder = download_preset(args.name, progress=not args.quiet)
    print(folder)
    return 0


def _convert(args):
    from astromer.presets.download import sha256_of
    from astromer.presets.loader import convert_original
    from astromer.presets.preset_format import save_preset

    source = Path(args.archive)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
    model = convert_original(source)
    record = {"filename": source.name}
    if source.is_file():
        record["sha256"] = sha256_of(source)
    out = save_preset(model, args.out_dir, source=record)
    print(f"{type(model).__name__} ({model.count_params():,} parameters) saved to {out}")
    return 0


def _export(args):
    from astromer.tasks.export import export_onnx

    if os.path.sep in args.name and not os.path.exists(args.name):
        raise FileNotFoundError(f"preset folder {args.name!r} does not exist")
    info = export_onnx(args.name, args.output, opset=args.opset)
    print(f"{info['path']}: ONNX encoder, inputs {','.join(info['inputs'])} (batch, {info['window_size']}) "
          f"-> per-observation embeddings (batch, {info['window_size']}, {info['width']}); "
          f"{info['bytes'] / 1e6:.1f} MB; largest difference to Keras {info['max_abs_diff']:.2g} "
          f"({info['max_rel_diff']:.2g} of the largest output; pooled {info['pooled_max_abs_diff']:.2g})")
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "presets", help="list, download and convert pretrained weights",
        description="Named presets of published weights, and conversion of original checkpoints. Presets are "
                    "cached in $ASTROMER_HOME (default ~/.cache/astromer); ASTROMER_MIRROR is a folder of "
                    "archives tried before the network, ASTROMER_OFFLINE=1 never uses the network.",
        epilog="Examples:\n"
               "  astromer presets list\n"
               "  astromer presets download astromer_v1\n"
               "  astromer presets convert macho_a0.zip my_preset\n"
               "  astromer presets export astromer_v1 -o astromer_v1.onnx",
    )
    sub = parser.add_subparsers(dest="presets_command", metavar="ACTION", required=True,
                                help="run 'astromer presets ACTION --help' for its options")

    p = sub.add_parser(
        "list", help="show every preset with its source and licence",
        description="Every named preset: name, model class, licence and the URL of its original archive.",
        epilog="Examples:\n"
               "  astromer presets list\n"
               "  astromer presets list --verbose   # with descriptions and citations")
    p.add_argument("-v", "--verbose", action="store_true", help="also show descriptions and citations")
    p.set_defaults(func=_list)

    p = sub.add_parser(
        "download", help="fetch a preset's archive (cache, ASTROMER_MIRROR, then its URL) and convert it",
        description="Fetch and convert a named preset into $ASTROMER_HOME/presets/NAME; prints that folder. "
                    "The archive comes from the cache, then ASTROMER_MIRROR, then its URL, and is checked "
                    "against its sha256.",
        epilog="Examples:\n"
               "  astromer presets download astromer_v1\n"
               "  ASTROMER_MIRROR=../shared/weights/astromer astromer presets download astromer_v2 -q",
    )
    p.add_argument("name", help="preset name (see 'astromer presets list')")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "convert", help="convert an original archive or folder into a preset folder",
        description="Convert an original checkpoint, recognised by content (an Astromer 1 or 2 .zip or folder, "
        "an astroPT .pt file or its folder), into our preset format (config.json, model.weights.h5, "
        "metadata.json).",
        epilog="Examples:\n"
               "  astromer presets convert macho_a0.zip astromer_v1_local\n"
               "  astromer presets convert ../shared/reference/astropt_v2 my_astropt\n"
               "  astromer pretrain my_records -o tuned --model astromer_v1_local",
    )
    p.add_argument("archive", help="original archive (.zip, .pt) or folder")
    p.add_argument("out_dir", help="output preset folder (replaced atomically if it exists)")
    p.set_defaults(func=_convert)

    p = sub.add_parser(
        "export", help="export a preset's encoder to ONNX (for onnxruntime), checked against Keras",
        description="Write the encoder of an Astromer preset (a name or a preset folder) as an ONNX file: "
                    "inputs times, magnitudes, mask (float32, batch x window; times centred, padding "
                    "masked 0), output the per-observation embeddings. The file is checked on a fixed batch: "
                    "onnxruntime and Keras must agree to < 1e-4 relative to the largest output and < 1e-4 "
                    "on the pooled embeddings, or nothing is written. Needs "
                    "astromer-keras[onnx] (onnx, onnxruntime, tf2onnx); runs on TensorFlow.",
        epilog="Examples:\n"
               "  astromer presets export astromer_v1 -o astromer_v1.onnx\n"
               "  astromer presets export my_model -o my_model.onnx --opset 17",
    )
    p.add_argument("name", help="preset name (see 'astromer presets list') or preset folder")
    p.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="the ONNX file to write")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format (default: onnx)")
    p.add_argument("--opset", type=int, metavar="N", help="ONNX opset (default: tf2onnx's)")
    p.set_defaults(func=_export)
