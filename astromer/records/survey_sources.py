"""Sources for survey-specific public layouts: the RAMP EROS-1 kit and Sesar et al. (2010).

Each returns a :class:`~astromer.records.items.Source` like the generic sources
of :mod:`astromer.records.sources` (which re-exports these).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report
from astromer.records.items import CurveItem, Source
from astromer.records.tables import (
    SourceError,
    _attach_labels,
    _check_columns,
    _file_signature,
    _label_str,
    read_table,
)


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
