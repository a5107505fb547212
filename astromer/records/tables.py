"""Reading the inputs of the record sources: tables, labels tables, per-object observation files.

CSV (optionally compressed) and Parquet tables are read with a one-line error
(:class:`SourceError`) on failure; labels tables become ``{object_id: label_name
or None}``; one per-object text file becomes ``(time, mag, err)`` columns. The
sources in :mod:`astromer.records.sources` and
:mod:`astromer.records.survey_sources` are built from these.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import numpy as np
import pandas as pd

from astromer.errors import AstromerError


class SourceError(AstromerError, ValueError):
    """Bad input that cannot be repaired (missing column, unreadable table, ...)."""


# ----------------------------------------------------------------------------------------------
# Tables and labels tables
# ----------------------------------------------------------------------------------------------

def read_table(path, *, what="table", ids=(), **kwargs) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file with a one-line error on failure.

    ``ids``: columns read as text exactly as written (ids round-trip: ``NA``, ``null`` or
    ``007`` are ids; only an empty cell is missing); the other columns keep pandas' missing
    spellings."""
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
        if ids:
            kwargs = _exact_text(pd.read_csv(path, nrows=0, **kwargs).columns, ids, kwargs)
        table = pd.read_csv(path, **kwargs)
        if table.shape[1] == 1:   # every table here needs 2+ columns: say what the one column means
            name = str(table.columns[0])
            for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
                if sep in name:
                    raise SourceError(f"{what} {path!r} has one column {name!r}: its fields are separated by "
                                      f"{word}, not commas; save it as a comma-separated CSV")
        return table
    except SourceError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError,
            zipfile.BadZipFile, ValueError) as exc:   # ValueError: pyarrow's ArrowInvalid, a zip of several files
        raise SourceError(f"could not read {what} {path!r}: {exc}") from None


def row_places(source, table):
    """``(labels, word)`` naming each row of ``table`` where its user will look: a CSV's line
    (the header is line 1), a Parquet file's row from 0, a DataFrame's index label."""
    if isinstance(source, pd.DataFrame):
        return table.index.to_numpy(), "row"
    if os.fspath(source).lower().endswith((".parquet", ".pq")):
        return np.arange(len(table)), "row"
    return np.arange(len(table)) + 2, "line"


def _exact_text(columns, ids, kwargs):
    """``kwargs`` for ``read_csv`` with the ``ids`` columns read as text, only an empty cell
    missing (the other columns keep pandas' missing spellings)."""
    try:
        from pandas._libs.parsers import STR_NA_VALUES   # the spellings read_csv treats as missing
    except ImportError:   # pandas' documented list (read_csv's na_values), should the name move
        STR_NA_VALUES = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                         "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
    ids = {str(c) for c in ids}
    return {**kwargs, "keep_default_na": False,
            "dtype": {**(kwargs.get("dtype") or {}), **{c: str for c in columns if str(c) in ids}},
            "na_values": {c: [""] if str(c) in ids else sorted(STR_NA_VALUES) for c in columns}}


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
    source = labels
    if not isinstance(labels, pd.DataFrame):
        what = f"labels table {os.fspath(labels)!r}"
        labels = read_table(labels, what="labels table", ids=[id_column])
    _check_columns(labels, [id_column, label_column, *extra_columns], what)
    ids = id_strings(labels[id_column])
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        places, word = row_places(source, labels)
        raise SourceError(f"{what} has a row without {id_column} ({word} {places[row]}"
                          + (")" if isinstance(source, pd.DataFrame) else " of the file)"))
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
# Per-object observation files (the original Astromer raw layout)
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
