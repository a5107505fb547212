"""The one reader of light-curve inputs: a records folder, a folder with ``lightcurves.csv.gz``
(+ ``labels.csv``), or a long table file (+ a labels table).

Every route gives the same long ``curves`` table (``object_id, band, time, mag,
mag_err``; float64 times as stored) and the same ``labels`` table (``object_id,
label[, split]``), with object ids as text exactly as written ("00001" stays
"00001"), so the same curves give the same embeddings whichever layout they came in.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from astromer.errors import AstromerError

log = logging.getLogger("astromer.labels")

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
ASTROPY_SUFFIXES = (".fits", ".fit", ".fits.gz", ".ecsv", ".vot", ".votable", ".xml")
FOLDER_TABLES = ("lightcurves.csv.gz", "lightcurves.csv", "lightcurves.parquet")


class InputError(AstromerError, ValueError):
    """An input that cannot be read as light curves or labels (the message names it)."""


def is_records(path):
    """Whether ``path`` is a light-curve record dataset folder (has metadata.json)."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "metadata.json"))


def records_table(directory, split=None):
    """Read a light-curve record dataset into ``(curves, labels)`` DataFrames.

    ``curves``: ``object_id, band, time, mag, mag_err``; ``labels``:
    ``object_id, label, split`` (label None for unlabelled curves).
    """
    import pandas as pd

    from astromer.records import read_light_curves, read_metadata

    meta = read_metadata(directory)
    if meta.get("kind") != "light_curve":
        raise InputError(f"{directory} holds {meta.get('kind')} records, not light curves")
    splits = list(meta["splits"]) if split is None else [split]
    unknown = [s for s in splits if s not in meta["splits"]]
    if unknown:
        raise InputError(f"split {unknown[0]!r} is not in {directory}; its splits are {list(meta['splits'])}")
    frames, rows = [], {}
    for name in splits:
        for rec in read_light_curves(directory, name).as_numpy_iterator():
            oid = rec["object_id"].decode()
            n = int(rec["length"])
            frames.append(pd.DataFrame({
                "object_id": np.full(n, oid, dtype=object), "band": np.full(n, rec["band"].decode(), dtype=object),
                "time": rec["time"], "mag": rec["mag"].astype("float64"), "mag_err": rec["err"].astype("float64")}))
            label = rec["label_name"].decode() if int(rec["label"]) >= 0 else None
            rows[oid] = (oid, label, name.strip().lower())
    if not frames:
        raise InputError(f"{directory} has no light curves in split(s) {splits}")
    curves = pd.concat(frames, ignore_index=True)
    labels = pd.DataFrame(list(rows.values()), columns=["object_id", "label", "split"])
    return curves, labels


def _astropy_table(path, what, columns, zero_point):
    """A FITS / ECSV / VOTable file (the ``astro`` extra) as the long table: units honoured, a file
    without an ``object_id`` column is one curve named after the file."""
    from astromer.data.curve_inputs import astro_table_frame

    try:
        from astropy.table import Table
    except ImportError:
        raise InputError(f"reading {path!r} needs astropy: pip install -e '.[astro]'") from None
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("ignore", message=".*did not parse as.*unit")  # units are read below
            table = Table.read(path)
    except Exception as exc:   # astropy raises OSError, ValueError, TypeError... for damaged files
        # its warnings about the damage are dropped: the one-line error names the file
        raise InputError(f"cannot read {what} {path!r} with astropy: {type(exc).__name__}: {exc}") from None
    for w in caught:   # a file that was read: its warnings are the user's to see
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    stem = Path(path).name.split(".")[0]
    try:
        return astro_table_frame(table, columns=columns, zero_point=zero_point, what=f"{what} {path!r}",
                                 object_id=stem)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def read_table(path, what="light-curve table", columns=None, zero_point=None):
    """A CSV/Parquet table (or, with astropy, a FITS/ECSV/VOTable file) with its ``object_id``
    column read as text, exactly as written. ``columns``: the package's names -> the file's
    (``{"time": "mjd"}``, the CLI's ``--columns``); a light-curve table without an ``object_id``
    column is one curve named after the file; ``zero_point``: for fluxes
    (:mod:`astromer.data.curve_inputs`)."""
    from astromer.data.curve_inputs import STANDARD_COLUMNS, as_curve_input
    from astromer.records.tables import id_strings
    from astromer.records.tables import read_table as read_any

    path = str(path)
    columns = dict(columns or {})
    if path.lower().endswith(ASTROPY_SUFFIXES):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{what} {path!r} does not exist")
        table = _astropy_table(path, what, columns, zero_point)
    elif not path.lower().endswith((*TABLE_SUFFIXES, ".txt")):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{what} {path!r} does not exist")
        raise InputError(f"cannot read {path!r}: give a .csv, .csv.gz or .parquet table (or, with astropy, "
                         ".fits, .ecsv, .vot) or a records folder")
    else:
        id_name = columns.get("object_id", "object_id")
        table = read_any(path, what=what, ids=[id_name])
        if what == "light-curve table" and (columns or "object_id" not in table.columns):
            if "flux" in columns or ("mag" not in table.columns and "flux" in table.columns):
                raise InputError(f"{what} {path!r}: fluxes in a CSV/Parquet table carry no unit; convert them to "
                                 "magnitudes, or write the table with units (ECSV, FITS)")
            try:
                table = as_curve_input(table, [Path(path).name.split(".")[0]] if "object_id" not in
                                       table.columns and id_name == "object_id" else None,
                                       columns={k: v for k, v in columns.items() if k in STANDARD_COLUMNS})[0]
            except ValueError as exc:
                raise InputError(f"{what} {path!r}: {exc}") from None
    if "object_id" in table.columns:
        table["object_id"] = id_strings(table["object_id"])
    return table


def label_table(labels, label_column="label", split_column="split", id_column="object_id"):
    """A labels table (path or DataFrame) as ``object_id, label[, split]`` (from the columns
    ``id_column``, ``label_column``, ``split_column``): ids and labels as text, labels without
    surrounding spaces, split values also in lower case."""
    from astromer.records.tables import id_strings

    table = read_table(labels, "labels table", columns={"object_id": id_column} if id_column != "object_id" else None) \
        if not hasattr(labels, "columns") else labels.copy()
    for col in (id_column, label_column) + ((split_column,) if split_column != "split" else ()):
        if col not in table.columns:   # a split column asked for by name must exist, like the others
            raise InputError(f"labels table {_name(labels)} lacks column {col!r} (found {list(table.columns)})")
    chosen = {id_column: "object_id", label_column: "label", split_column: "split"}
    shadowed = [new for old, new in chosen.items() if old != new and new in table.columns]
    table = table.drop(columns=shadowed).rename(columns=chosen)   # only the chosen columns count
    table["object_id"] = id_strings(table["object_id"])
    repeated = table["object_id"][table["object_id"].duplicated() & table["object_id"].notna()]
    if len(repeated):
        raise InputError(f"labels table {_name(labels)} lists {repeated.nunique():,} object id(s) more than once "
                         f"(e.g. {sorted(set(repeated))[:3]}); give each object one row")
    table["label"] = _text(table["label"])
    if "split" in table.columns:
        table["split"] = _text(table["split"], lower=True)   # "Test " is the test split
    return table


def _text(column, lower=False):
    """A label or split column as text without surrounding spaces ("RR Lyrae " is "RR Lyrae"),
    with ``lower`` in lower case; missing values stay missing (an empty column stays empty)."""
    text = column.astype(str).str.strip()
    return column.where(column.isna(), text.str.lower() if lower else text)


def usable_objects(curves):
    """The object ids of ``curves`` (the long table) with at least one observation the cleaning
    keeps (:func:`astromer.data.light_curves.prepare_light_curves`'s default rules)."""
    from astromer.data.classification import object_keys
    from astromer.data.light_curves import prepare_light_curves

    return set(object_keys(prepare_light_curves(curves, warn=False).ids))


def _name(labels):
    return "(DataFrame)" if hasattr(labels, "columns") else str(labels)


def read_light_curves_input(path, labels=None, label_column="label", split=None, split_column="split",
                            columns=None, zero_point=None, id_column="object_id"):
    """``(curves, labels or None)`` from a records folder, a folder with ``lightcurves.csv.gz``
    (+ ``labels.csv``) or a long table file (+ ``labels`` table). Object ids are strings.
    ``columns``, ``zero_point``: for a table file (see :func:`read_table`).

    Labels whose id has no light curve are dropped (logged); none matching is an error.
    """
    from astromer.records.tables import id_strings

    path = str(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    table = None
    if is_records(path):
        curves, table = records_table(path, split)
        if labels is not None:
            given = label_table(labels, label_column, split_column, id_column)
            if "split" not in given.columns:   # the records' own splits still hold
                given = given.merge(table[["object_id", "split"]], on="object_id", how="left")
            table = given
    elif os.path.isdir(path):
        found = [Path(path) / n for n in FOLDER_TABLES if (Path(path) / n).is_file()]
        if not found:
            raise InputError(f"{path} is neither a records folder (metadata.json) nor a folder with "
                             "lightcurves.csv.gz; convert it with 'astromer records convert'")
        curves = read_table(found[0])
        if labels is None and (Path(path) / "labels.csv").is_file():
            labels = Path(path) / "labels.csv"
    else:
        curves = read_table(path, columns=columns, zero_point=zero_point)
    if (columns or zero_point is not None) and (is_records(path) or os.path.isdir(path)):
        raise InputError(f"--columns and --zero-point apply to a table file, not to the folder {path}")
    if labels is not None and table is None:
        table = label_table(labels, label_column, split_column, id_column)
    missing = [c for c in ("object_id", "time", "mag") if c not in curves.columns]
    if missing:
        raise InputError(f"{path} lacks column(s) {missing}; expected object_id,[band,]time,mag,mag_err "
                         f"(found {list(curves.columns)})")
    curves["object_id"] = id_strings(curves["object_id"])
    if table is not None:
        where = f" in {_name(labels)}" if labels is not None else ""
        objects = set(curves["object_id"].dropna())
        matched = table["object_id"].isin(objects)
        if not matched.any():
            raise InputError(f"0 of {len(table):,} label ids{where} match the {len(objects):,} objects in {path} "
                             f"(e.g. label id {table['object_id'].iloc[0]!r}, object id {sorted(objects)[0]!r}); "
                             "ids are compared as text, exactly as written")
        if not matched.all():
            log.warning(f"{int(matched.sum()):,} of {len(table):,} label ids match objects in {path}; "
                        f"{int((~matched).sum()):,} have no light curve")
        table = table[matched]
    return curves, table
