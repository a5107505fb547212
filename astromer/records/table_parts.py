"""Long light-curve tables, one file at a time: a CSV/Parquet file, a list of them, a file
pattern (``"ztf/*.parquet"``), a folder, or a partitioned Parquet dataset (``band=g/part-0.parquet``).

One observation per row (``object_id, band, time, mag, mag_err``); an object's rows may be spread
over several files. Each file is read on its own by :func:`read_part` (columns checked, cells
parsed, rows grouped by object and band) and the parts of an object are joined by
:func:`merge_parts` in file order. The local reader (:func:`astromer.records.sources.long_table_source`)
and the Beam pipeline, which reads the files on its workers
(:mod:`astromer.records.beam_pipeline`), both go through these two functions, so they build the
same curves and count the same drops.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report, to_numbers
from astromer.data.curve_inputs import days, is_clock_time
from astromer.records.items import CurveItem, Source
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
    row_places,
)

LONG_COLUMNS = ("object_id", "band", "time", "mag", "mag_err")
DEFAULT_BAND = "single"
TABLE_EXTENSIONS = (".parquet", ".pq", ".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")


def _is_table(name):
    return name.lower().endswith(TABLE_EXTENSIONS) and not name.startswith((".", "_"))


def table_files(curves) -> tuple[list, str | None]:
    """``(sorted file paths, root folder or None)`` of a path, list, pattern or folder.

    A folder is searched recursively for table files (hidden files and ``_``-prefixed ones such
    as Spark's ``_SUCCESS`` are skipped); its ``key=value`` subfolders are partition columns. So
    are those a pattern's wildcards match (``"ztf/*/*.parquet"``: below ``ztf``), as in pyarrow:
    a folder named before the first wildcard (``"ztf/band=g/*.parquet"``) is not a column.
    Nothing found is a one-line error naming the input.
    """
    if isinstance(curves, (list, tuple)):
        paths = [p for c in curves for p in table_files(c)[0]]
        if len(set(paths)) != len(paths):
            raise SourceError(f"light-curve tables {list(map(str, curves))!r} name a file twice")
        return paths, None
    path = os.fspath(curves)
    if os.path.isdir(path):
        found = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            found += [os.path.join(root, f) for f in sorted(files) if _is_table(f)]
        if not found:
            raise SourceError(f"light-curve folder {path!r} holds no table file ({', '.join(TABLE_EXTENSIONS)})")
        return sorted(found), path
    if glob.has_magic(path):
        found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not found:
            raise SourceError(f"no file matches the light-curve table pattern {path!r}")
        fixed = []  # the folders before the first wildcard: the dataset's root, as in pyarrow
        for seg in path.split(os.sep)[:-1]:
            if glob.has_magic(seg):
                break
            fixed.append(seg)
        root = os.sep.join(fixed) or (os.sep if path.startswith(os.sep) else os.curdir)
        kept = [p for p in found if not any(  # pyarrow's rule: "." and "_" names are not data
            seg.startswith((".", "_")) for seg in os.path.relpath(p, root).split(os.sep))]
        if not kept:
            raise SourceError(f"the light-curve table pattern {path!r} matches only hidden or "
                              f"'_' files ({found[0]!r}, ...)")
        return kept, root
    if not os.path.exists(path):
        raise FileNotFoundError(f"light-curve table {path!r} does not exist")
    return [path], None


def partition_values(path, root) -> dict:
    """``{column: value}`` of the ``key=value`` folders between ``root`` and ``path`` (Hive style)."""
    if root is None:
        return {}
    rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), os.path.abspath(root))
    out = {}
    for seg in rel.split(os.sep):
        if "=" in seg:
            key, value = seg.split("=", 1)
            out[key] = value
    return out


@dataclass(frozen=True)
class PartOptions:
    """How rows become curves (picklable: shipped to Beam workers)."""

    columns: dict = field(default_factory=dict)
    bands: tuple | None = None
    band_map: dict | None = None
    default_band: str = DEFAULT_BAND
    has_errors: bool = True

    def source_columns(self):
        return {c: self.columns.get(c, c) for c in LONG_COLUMNS}


def _read_file(path, options, root):
    cols = options.source_columns()
    what = f"light-curve table {path!r}"
    kwargs = {"ids": [cols["object_id"]], "dtype": {cols["band"]: str}}
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as exc:  # noqa: BLE001 - a damaged file is a one-line error naming it
            raise SourceError(f"could not read {what}: {exc}") from None
        wanted = [c for c in cols.values() if c in names]
        kwargs = {"columns": wanted} if wanted else {}
    frame = read_table(path, what="light-curve table", **kwargs)
    for key, value in partition_values(path, root).items():
        if key not in frame.columns:
            frame[key] = value
    return frame, what


def read_part(curves, options: PartOptions, root=None) -> tuple[dict, Report]:
    """One table (a DataFrame or one file) as ``({object_id: {band: (time, mag, err)}}, report)``.

    Rows keep their order within a curve; rows without an id or band, of unselected bands, or
    with cells that are not numbers are dropped and counted in ``report``.
    """
    report = Report()
    if isinstance(curves, pd.DataFrame):
        frame, what = curves, "light-curve table"
    else:
        frame, what = _read_file(os.fspath(curves), options, root)
    src_cols = options.source_columns()
    columns = options.columns
    required = ["object_id", "time", "mag"] + (["mag_err"] if options.has_errors else [])
    hint = ("; map names with columns= (CLI: --columns object_id=ID,time=mjd,...)"
            + ("" if "mag_err" in columns or not options.has_errors else
               "; a table without errors needs has_errors=False (CLI: --no-errors)"))
    _check_columns(frame, [src_cols[c] for c in required], what, hint)

    n = len(frame)
    ids = id_strings(frame[src_cols["object_id"]]).to_numpy(dtype=object)
    if src_cols["band"] in frame.columns:
        band_vals = np.array([None if pd.isna(v) else _label_str(v)
                              for v in frame[src_cols["band"]].astype(object).to_numpy()], dtype=object)
    else:
        band_vals = np.full(n, options.default_band, dtype=object)
    if options.band_map:
        bm = {str(k): str(v) for k, v in options.band_map.items()}
        band_vals = np.array([bm.get(b, b) if b is not None else None for b in band_vals], dtype=object)
    missing_key = np.array([(i is None) or (b is None) for i, b in zip(ids, band_vals)], dtype=bool)
    from_file = not isinstance(curves, pd.DataFrame)
    rows, row_name = row_places(curves, frame)   # a CSV's line, a Parquet file's or a DataFrame's row
    if missing_key.any():
        report.add("rows", "missing_key", int(missing_key.sum()),
                   f"{row_name} {rows[int(np.flatnonzero(missing_key)[0])]}"
                   + (f" of {os.fspath(curves)}" if from_file else ""))
    keep = ~missing_key
    if options.bands is not None:
        allowed = {str(b) for b in options.bands}
        other = keep & ~np.isin(band_vals.astype(str), list(allowed))
        if other.any():
            report.add("rows", "band_not_selected", int(other.sum()),
                       str(sorted(set(band_vals[other].astype(str)))[:5]))
        keep &= ~other

    values = {}
    for name in ["time", "mag"] + (["mag_err"] if options.has_errors else []):
        column = frame[src_cols[name]]
        if name == "time" and is_clock_time(column):   # datetimes are MJD, as everywhere else
            column = days(column)
        # a cell that is not a number ("19.5x") is its own reason, counted with its row
        values[name], bad = to_numbers(column.to_numpy(), src_cols[name], report, what, rows=rows,
                                       row_name=row_name)
        keep &= ~bad
    time = values["time"][keep]
    mag = values["mag"][keep]
    err = values["mag_err"][keep] if options.has_errors else None
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
    return per_object, report


def merge_parts(parts) -> dict:
    """One object's ``{band: (time, mag, err)}`` from its parts in file order (rows concatenated)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    merged = {}
    for band in sorted({b for p in parts for b in p}):
        pieces = [p[band] for p in parts if band in p]
        err = None if pieces[0][2] is None else np.concatenate([q[2] for q in pieces])
        merged[band] = (np.concatenate([q[0] for q in pieces]),
                        np.concatenate([q[1] for q in pieces]), err)
    return merged


@dataclass
class PendingCurveItem:
    """An object planned on the Beam driver whose rows are read on the workers."""

    object_id: str
    label_name: str | None

    def load(self, report):
        raise RuntimeError(f"object {self.object_id!r} is read on the Beam workers, not here")


@dataclass
class LongTable:
    """A long table's files and reading options, before any row is read.

    :meth:`read` reads every file here (the local writer); the Beam pipeline ships
    :meth:`read_file` to its workers and calls :meth:`source` on what they found.
    """

    files: list
    root: str | None
    options: PartOptions
    labels: object = None
    label_column: str = "label"
    label_id_column: str | None = None
    label_values: dict | None = None
    keep_unlabelled: bool = False
    extra_label_columns: tuple = ()
    description: dict = field(default_factory=dict)

    def read_file(self, index) -> tuple[dict, Report]:
        return read_part(self.files[index], self.options, self.root)

    def read(self) -> Source:
        found, reports = {}, []
        for i in range(len(self.files)):
            per_object, report = self.read_file(i)
            reports.append(report)
            for oid, bands in per_object.items():
                found.setdefault(oid, []).append(bands)
        curves = {oid: merge_parts(parts) for oid, parts in found.items()}
        bands = sorted({str(b) for c in curves.values() for b in c})
        return self.source(curves, bands, reports)

    def source(self, curves, bands, reports) -> Source:
        """The :class:`Source` of ``curves`` (``{object_id: {band: arrays}}``, or ``None`` values
        for objects whose rows stay on the workers) with labels attached and drops counted."""
        report = Report()
        for r in reports:
            report.merge(r)
        label_map, extra = load_labels(
            self.labels, id_column=self.label_id_column or "object_id", label_column=self.label_column,
            value_map=self.label_values, extra_columns=self.extra_label_columns, report=report)
        description = dict(self.description)
        if self.labels is not None:
            if isinstance(self.labels, pd.DataFrame):
                description["labels"] = {"type": "dataframe", "rows": int(len(self.labels))}
            else:
                description["labels"] = _file_signature(self.labels)
        attached = _attach_labels(sorted(curves), label_map, self.keep_unlabelled, report)
        items = {oid: (PendingCurveItem(oid, lab) if curves[oid] is None
                       else CurveItem(oid, lab, curves[oid])) for oid, lab in attached.items()}
        return Source("light_curve", items, report, bands=list(bands),
                      has_errors=self.options.has_errors, extra=extra, description=description)


def long_table(curves, labels=None, *, columns=None, label_column="label", label_id_column=None,
               label_values=None, keep_unlabelled=False, bands=None, band_map=None,
               default_band=DEFAULT_BAND, has_errors=True, extra_label_columns=()) -> LongTable:
    """A :class:`LongTable` (arguments as :func:`astromer.records.sources.long_table_source`)."""
    options = PartOptions(columns=dict(columns or {}), bands=None if bands is None else tuple(bands),
                          band_map=None if band_map is None else dict(band_map),
                          default_band=default_band, has_errors=has_errors)
    common = dict(options=options, labels=labels, label_column=label_column,
                  label_id_column=label_id_column, label_values=label_values,
                  keep_unlabelled=keep_unlabelled, extra_label_columns=tuple(extra_label_columns))
    if isinstance(curves, pd.DataFrame):
        return LongTable([curves], None, description={
            "type": "dataframe", "rows": int(len(curves)), "sha256": _frame_signature(curves)}, **common)
    files, root = table_files(curves)
    description = {"type": "long_table", "files": [_file_signature(p) for p in files]}
    if root is not None:
        description["folder"] = os.path.abspath(root)
    return LongTable(files, root, description=description, **common)
