"""``astromer records``: convert survey tables to sharded TFRecords, inspect, verify, build recipes."""

from __future__ import annotations

import glob
import os
import sys

from astromer.cli.arguments import mapping


def _floats(text):
    return tuple(float(v) for v in text.split(",") if v.strip()) if text else ()


def _print_summary(meta):
    from astromer.records.writer import summary_lines

    for line in summary_lines(meta):
        print(line)


def _optional_floats(text, default):
    """``None`` (option not given) -> ``default``; ``"none"`` -> off; else a comma list of numbers."""
    if text is None:
        return default
    if text.strip().lower() == "none":
        return None
    return _floats(text)


def _rules(args, has_errors=True):
    from astromer.data.cleaning import ABSURD_MAG, ABSURD_MAX_ERR, ABSURD_TIME, DEFAULT_SENTINELS, CleaningRules

    absurd_mag = _optional_floats(args.absurd_mag, ABSURD_MAG)
    if absurd_mag is not None and len(absurd_mag) != 2:
        raise ValueError(f"--absurd-mag takes LOW,HIGH or none, got {args.absurd_mag!r}")
    absurd_err = _optional_floats(args.absurd_max_err, (ABSURD_MAX_ERR,))
    if absurd_err is not None and len(absurd_err) != 1:
        raise ValueError(f"--absurd-max-err takes one number or none, got {args.absurd_max_err!r}")
    absurd_time = _optional_floats(args.absurd_time, (ABSURD_TIME,))
    if absurd_time is not None and len(absurd_time) != 1:
        raise ValueError(f"--absurd-time takes one number or none, got {args.absurd_time!r}")
    return CleaningRules(
        min_observations=args.min_observations, max_err=args.max_err,
        err_sentinels=_optional_floats(args.err_sentinels, DEFAULT_SENTINELS) or (),
        mag_min=args.mag_min, mag_max=args.mag_max,
        mag_sentinels=_optional_floats(args.mag_sentinels, DEFAULT_SENTINELS) or (),
        duplicates=args.duplicates, has_errors=has_errors, absurd_mag=absurd_mag,
        absurd_max_err=None if absurd_err is None else absurd_err[0],
        absurd_time=None if absurd_time is None else absurd_time[0])


def _detect_format(path, args):
    if args.format != "auto":
        return args.format
    from astromer.records.image_arrays import fits_holds_images, is_fits, is_hdf5

    if os.path.isfile(path) and (is_hdf5(path) or path.lower().endswith(".npy")
                                 or (is_fits(path) and fits_holds_images(path))):
        return "images"
    if os.path.isfile(path) or glob.has_magic(path):
        return "long"
    if not os.path.isdir(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    if args.metadata or os.path.isfile(os.path.join(path, "metadata.csv")):
        return "raw"
    from astromer.records.sources import image_layout
    from astromer.records.table_parts import TABLE_EXTENSIONS

    if image_layout(path) is not None:  # images in the folder, or one subfolder of images per class
        return "images"
    names = [n.lower() for _root, _dirs, files in os.walk(path) for n in files]
    if any(n.endswith(TABLE_EXTENSIONS) for n in names):
        return "long"  # a folder of table files, e.g. a partitioned Parquet dataset
    raise ValueError(f"cannot tell the layout of folder {path!r} (no table files, no metadata.csv, no images "
                     "directly inside or in class subfolders); pass --format long|raw|images")


def _convert(args):
    from astromer.records import sources as S
    from astromer.records.writer import write_dataset

    args.splits = args.splits or "0.8,0.1,0.1"
    args.seed = 0 if args.seed is None else args.seed
    args.shard_size = 1000 if args.shard_size is None else args.shard_size
    path = args.input
    if not os.path.exists(path) and not glob.has_magic(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    if args.labels and not os.path.exists(args.labels):
        raise FileNotFoundError(f"labels table {args.labels!r} does not exist")
    fmt = _detect_format(path, args)
    bands = args.bands.split(",") if args.bands else None
    split_col = args.splits[len("column:"):] if args.splits.startswith("column:") else None
    if fmt == "long":
        # with Beam the files are read on its workers; here, one after the other
        src = (S.long_table if args.beam_runner else S.long_table_source)(
            path, args.labels, columns=mapping(args.columns, "--columns"),
            label_column=args.label_column, label_id_column=args.id_column,
            keep_unlabelled=args.keep_unlabelled, bands=bands, has_errors=not args.no_errors,
            extra_label_columns=(split_col,) if split_col else ())
    elif fmt == "raw":
        read_options = {"sep": args.sep} if args.sep else {}
        src = S.raw_folder_source(path, args.metadata or "metadata.csv", keep_unlabelled=True,
                                  bands=bands, read_options=read_options)
    else:
        src = S.image_source(
            path, args.labels, id_column=args.id_column or "object_id", label_column=args.label_column,
            path_column=args.path_column, columns=(split_col,) if split_col else (),
            images_key=args.images_key, ids_key=args.ids_key,
            channels_first=True if args.channels_first else None, keep_unlabelled=args.keep_unlabelled,
            target_columns=tuple(t for t in (args.target_columns or "").split(",") if t))
    kind, has_errors = ("light_curve", not args.no_errors) if fmt == "long" else (src.kind, src.has_errors)
    rules = _rules(args, has_errors) if kind == "light_curve" else None
    common = dict(splits=args.splits, seed=args.seed, shard_size=args.shard_size,
                  resume=args.resume, overwrite=args.overwrite, rules=rules, name=args.name)
    if args.beam_runner:
        from astromer.records.beam_pipeline import write_dataset_beam

        meta = write_dataset_beam(src, args.output, runner=args.beam_runner,
                                  pipeline_options=args.beam_option, **common)
    else:
        meta = write_dataset(src, args.output, workers=args.workers, progress=not args.quiet,
                             **common)
    _print_summary(meta)
    return 0


def _build(args):
    from astromer.records.recipes import build

    meta = build(args.name, args.output, source_dir=args.source_dir, layout=args.layout,
                 download_dir=args.download_dir, splits=args.splits, seed=args.seed,
                 shard_size=args.shard_size, workers=args.workers, resume=args.resume,
                 overwrite=args.overwrite, progress=not args.quiet, beam_runner=args.beam_runner,
                 beam_options=args.beam_option)
    _print_summary(meta)
    return 0


def _inspect(args):
    from astromer.records.verify import inspect_lines

    if not os.path.exists(args.path):
        raise FileNotFoundError(f"{args.path!r} does not exist")
    for line in inspect_lines(args.path, rows=args.rows):
        print(line)
    return 0


def _verify(args):
    from astromer.records.verify import verify_dataset

    result = verify_dataset(args.directory, parse=not args.no_parse)
    for w in result.warnings:
        print(f"warning: {w}")
    if result.ok:
        print(f"OK: {result.shards} shard(s), {result.records} record(s) parsed; checksums match")
        return 0
    for file, message in result.problems:
        print(f"CORRUPT {file}: {message}")
    print(f"{len(result.corrupt_files)} of {result.shards} shard(s) failed verification",
          file=sys.stderr)
    return 1


def _list(args):
    from astromer.records.recipes import list_recipes, load_recipe

    for name in list_recipes():
        recipe = load_recipe(name)
        print(f"{name:15s} {recipe.get('kind', 'light_curve'):12s} {recipe.get('title', '')}")
    return 0


def _add_output_options(p, recipe=False):
    """``recipe``: the options of ``build``, whose unset --splits/--seed/--shard-size come from the recipe."""
    unset = (("the recipe's",) * 3 if recipe else ("0.8,0.1,0.1", "0", "1000"))
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="dataset folder to write")
    p.add_argument("--splits", default=None, metavar="SPEC",
                   help='"0.8,0.1,0.1" (stratified train/val/test), "column:NAME", '
                        '"fewshot:folds=3,spc=20/100/500,test=100,val=0.25" or "none" '
                        f"(default: {unset[0]})")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help=f"seed of the splits and shard order (default: {unset[1]})")
    p.add_argument("--shard-size", type=int, default=None, metavar="N",
                   help=f"objects per shard (default: {unset[2]})")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel processes (output identical to one worker)")
    p.add_argument("--resume", action="store_true",
                   help="finish an interrupted run: keep verified shards, rewrite the rest (with "
                        "--overwrite: an interrupted replacement)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing dataset in DIR; it stays intact until the new one is "
                        "complete (written beside it, then swapped in)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--beam-runner", metavar="RUNNER",
                   help="run as an Apache Beam pipeline on this runner (DirectRunner, DataflowRunner, "
                        "SparkRunner, FlinkRunner; needs astromer-keras[beam]; a long table's files are "
                        "read on the workers, never on this machine; INPUT and DIR must be paths "
                        "every worker sees; default: the local writer with --workers processes)")
    p.add_argument("--beam-option", action="append", default=[], metavar="--FLAG=VALUE",
                   help="extra Beam pipeline option, repeatable (e.g. --beam-option=--project=P)")


def register(subparsers):
    from astromer.cli.images import add_image_source_options

    parser = subparsers.add_parser(
        "records", help="convert survey data to sharded TFRecords; inspect, verify, build recipes",
        description="Sharded, checksummed TFRecord datasets of light curves or images (schema, folder layout "
                    "and cleaning rules: records/README.md).",
        epilog="Examples:\n"
               "  astromer records convert lightcurves.csv --labels labels.csv -o my_records\n"
               "  astromer records build eros1 --source-dir ../shared/data/eros1 -o eros1_records\n"
               "  astromer records verify eros1_records\n"
               "  astromer records inspect eros1_records --rows 5\n"
               "  astromer records list")
    sub = parser.add_subparsers(dest="records_command", title="sub-commands", metavar="SUBCOMMAND",
                                help="run 'astromer records SUBCOMMAND --help' for its options")
    parser.set_defaults(func=lambda args: (parser.print_help(), 0)[1])

    p = sub.add_parser(
        "convert", help="convert a long table, a raw per-object folder or an image folder",
        description="Convert INPUT into DIR: a long table (CSV, CSV.GZ or Parquet with columns "
                    "object_id,band,time,mag,mag_err; also a quoted file pattern or a folder of such "
                    "files, e.g. a partitioned Parquet dataset, an object's rows in any of them), a folder of per-object files with a metadata "
                    "CSV (ID,Class,Band,Path), or images: a folder with one subfolder per class, a folder of "
                    "JPEG/PNG/FITS files with a labels table (--path-column for paths in the table), an HDF5 "
                    "or FITS stack of cutouts or a .npy array (float cutouts are stored as 16-bit PNG, "
                    "scaled per image: records/README.md). Every dropped or "
                    "repaired row, curve and object is counted and printed.",
        epilog="Examples:\n"
               "  astromer records convert lightcurves.csv --labels labels.csv -o my_records\n"
               "  astromer records convert survey.parquet --labels labels.csv -o my_records \\\n"
               "      --columns object_id=ID,time=mjd,mag_err=errmag --shard-size 500 --workers 4\n"
               "  astromer records convert raw_folder -o my_records --metadata meta.csv --bands b,r\n"
               "  astromer records convert images/ --labels labels.csv -o gz_records --target-columns redshift\n"
               "  astromer records convert galaxies/ -o galaxy_records       # spiral/, elliptical/, ... subfolders\n"
               "  astromer records convert cutouts.h5 --labels catalogue.csv -o cutout_records --splits column:split\n"
               "  astromer records convert lightcurves.csv --labels labels.csv -o my_records --resume\n"
               "  astromer records convert 'ztf/*.parquet' --labels labels.csv -o ztf_records \\\n"
               "      --beam-runner DirectRunner --beam-option=--direct_num_workers=2 \\\n"
               "      --beam-option=--direct_running_mode=multi_processing")
    p.add_argument("input", help="a long table (.csv, .csv.gz, .parquet), a quoted pattern ('ztf/*.parquet') "
                                 "or folder of them (key=value subfolders are columns), a raw "
                                 "per-object folder or an image folder")
    p.add_argument("--format", choices=("auto", "long", "raw", "images"), default="auto",
                   help="layout of INPUT; auto: a file or pattern is a long table, a folder with "
                        "metadata.csv (or --metadata) a raw folder, a folder of images an image folder, "
                        "a folder of table files a long table")
    p.add_argument("--labels", metavar="TABLE",
                   help="labels table (object_id,label[,...]) of a long table or an image folder")
    p.add_argument("--label-column", default="label", metavar="NAME", help="label column of the labels table")
    p.add_argument("--id-column", default="object_id", metavar="NAME", help="id column of the labels table")
    p.add_argument("--columns", metavar="MAP",
                   help="rename map for the long table, e.g. object_id=ID,time=mjd,mag_err=errmag "
                        "(default: no renaming)")
    p.add_argument("--metadata", metavar="CSV",
                   help="metadata CSV of a raw folder, relative to it (default: metadata.csv)")
    p.add_argument("--sep", help="separator of raw per-object files (default: sniffed: whitespace, comma "
                                 "or semicolon)")
    p.add_argument("--bands", metavar="LIST", help="keep only these bands, e.g. b,r (default: every band)")
    p.add_argument("--keep-unlabelled", action="store_true",
                   help="keep curves missing from the labels table (label -1) instead of dropping them")
    p.add_argument("--no-errors", action="store_true", help="the table has no mag_err column (err = 0)")
    p.add_argument("--target-columns", metavar="LIST",
                   help="numeric label columns stored as image targets, e.g. redshift,mass (default: none)")
    add_image_source_options(p.add_argument_group("images"))
    p.add_argument("--name", help="dataset name for the metadata (default: the output folder's name)")
    g = p.add_argument_group("cleaning rules (every drop is counted)")
    g.add_argument("--min-observations", type=int, default=1, metavar="N",
                   help="drop a curve (object and band) left with fewer observations")
    g.add_argument("--max-err", type=float, default=None, metavar="X",
                   help="drop rows with a larger error (default: no limit)")
    g.add_argument("--err-sentinels", metavar="LIST",
                   help="error values meaning missing (default: 99, 99.9, 99.99, 99.999, 999, ..., -99, -999, ...; "
                        "'none' turns the rule off)")
    g.add_argument("--mag-min", type=float, default=None, metavar="MAG",
                   help="drop rows with a smaller (brighter) magnitude (default: no limit)")
    g.add_argument("--mag-max", type=float, default=None, metavar="MAG",
                   help="drop rows with a larger (fainter) magnitude (default: no limit)")
    g.add_argument("--mag-sentinels", metavar="LIST",
                   help="magnitude values meaning missing (default: the same list as --err-sentinels; 'none': off)")
    g.add_argument("--absurd-mag", metavar="LOW,HIGH",
                   help="magnitudes outside are physically absurd and dropped (default: -30,40; 'none': off)")
    g.add_argument("--absurd-max-err", metavar="X",
                   help="errors above X mag are absurd and dropped (default: 10; 'none': off)")
    g.add_argument("--absurd-time", metavar="X",
                   help="times beyond +-X days are absurd and dropped (default: 1e7, 27,000 years: times in "
                        "seconds or garbage; 'none': off)")
    g.add_argument("--duplicates", choices=("keep", "drop_exact", "first"), default="drop_exact",
                   help="rows of a curve with equal times: keep them all, drop_exact (drop a row equal in "
                        "time, magnitude and error to an earlier one) or first (keep the first at each time)")
    _add_output_options(p)
    p.set_defaults(func=_convert)

    p = sub.add_parser(
        "inspect", help="schema, counts, label map, drops and a few records",
        description="Describe a record dataset folder (schema version, label map, counts per split and "
                    "class, everything dropped, its first records) or any single TFRecord file, e.g. an "
                    "original Astromer record (the keys and types of its first records).",
        epilog="Examples:\n"
               "  astromer records inspect eros1_records\n"
               "  astromer records inspect eros1_records --rows 10\n"
               "  astromer records inspect eros1_records/train/train-00000-of-00003.tfrecord")
    p.add_argument("path", help="dataset folder (or a single .tfrecord file)")
    p.add_argument("--rows", type=int, default=3, metavar="N", help="records to show")
    p.set_defaults(func=_inspect)

    p = sub.add_parser(
        "verify", help="check checksums, parse every record, name corrupt shards",
        description="Check every shard listed in DIR/metadata.json: its size and sha256, then parse every "
                    "record (lengths, time order). Names each missing, truncated or corrupt shard; the exit "
                    "status is 1 when any is found.",
        epilog="Examples:\n"
               "  astromer records verify eros1_records\n"
               "  astromer records verify eros1_records --no-parse   # sizes and checksums only")
    p.add_argument("directory", help="dataset folder")
    p.add_argument("--no-parse", action="store_true",
                   help="check sizes and checksums only, without parsing the records (faster)")
    p.set_defaults(func=_verify)

    p = sub.add_parser(
        "build", help="run a recipe records/NAME.toml (download or --source-dir)",
        description="Build a public data set from its recipe records/NAME.toml: with --source-dir, the first "
                    "layout whose files are all found there; otherwise the first downloadable layout, "
                    "fetched once (sha256 checked when known). Splits, seed and shard size default to the "
                    "recipe's.",
        epilog="Examples:\n"
               "  astromer records build eros1 --source-dir ../shared/data/eros1 -o eros1_records\n"
               "  astromer records build macho_samples --layout mjd_files --source-dir DIR -o macho_records\n"
               "  astromer records build eros1 --source-dir ../shared/data/eros1 -o eros1_fewshot \\\n"
               "      --splits fewshot:folds=3,spc=20/100,test=100")
    p.add_argument("name", help="recipe name (see `astromer records list`) or a .toml path")
    p.add_argument("--source-dir", metavar="DIR",
                   help="local copy of the source files (default: download them)")
    p.add_argument("--layout", metavar="NAME",
                   help="which of the recipe's layouts to use (default: the first that fits)")
    p.add_argument("--download-dir", metavar="DIR",
                   help="where downloads go (default: ~/.cache/astromer/records/NAME)")
    _add_output_options(p, recipe=True)
    p.set_defaults(func=_build)

    p = sub.add_parser(
        "list", help="list the dataset recipes",
        description="The recipes in records/ that 'astromer records build NAME' runs: name, kind and title.",
        epilog="Examples:\n"
               "  astromer records list\n"
               "  astromer records build eros1 --source-dir ../shared/data/eros1 -o eros1_records")
    p.set_defaults(func=_list)
    return parser
