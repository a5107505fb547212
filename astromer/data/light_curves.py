"""Validation and cleaning of raw light curves for the Python API.

Every in-memory entry point of the package funnels user data through
:func:`prepare_light_curves`, which applies the package's one cleaning policy
(:mod:`astromer.data.cleaning`, the same rules as ``astromer records
convert``) and returns ``(n, 3)`` arrays (time in float64, magnitude, error)
sorted by time. A bad curve is dropped and counted, never fatal for the
others.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from astromer.data.cleaning import CleaningRules, Report, clean_curve, to_numbers
from astromer.data.curve_inputs import as_curve_input

REQUIRED_COLUMNS = ("object_id", "time", "mag")
ERROR_COLUMN = "mag_err"
BAND_COLUMN = "band"


@dataclass
class PreparedCurves:
    """Cleaned light curves plus a record of what cleaning changed.

    Attributes:
        ids: one id per kept curve (list index, user id, ``object_id`` or
            ``(object_id, band)``), in input order.
        curves: float64 arrays of shape ``(n_i, 3)``: time (full float64
            precision), mag, err (float32 values), sorted by time (stable).
            ``err`` is 0 when ``has_errors`` is False.
        has_errors: whether the input carried magnitude errors.
        kept: ``(N,)`` int64 position of each kept curve among the input curves
            (align per-curve inputs such as labels with ``labels[kept]``).
        n_dropped: rows dropped per kept curve (any reason).
        was_unsorted: whether each kept curve had to be re-sorted by time.
        dropped: ids of the input curves that were dropped whole.
        report: :class:`astromer.data.cleaning.Report`, counts per reason with
            example ids (rows, curves, objects).
    """

    ids: list
    curves: list
    has_errors: bool
    kept: np.ndarray
    n_dropped: np.ndarray
    was_unsorted: np.ndarray
    dropped: list = dataclasses.field(default_factory=list)
    report: Report = dataclasses.field(default_factory=Report)

    def __len__(self) -> int:
        return len(self.curves)

    @property
    def lengths(self) -> np.ndarray:
        """Number of observations per curve (int64)."""
        return np.array([len(c) for c in self.curves], dtype=np.int64)

    def select(self, keep) -> "PreparedCurves":
        """Return a new PreparedCurves with only the curves where ``keep`` is True."""
        idx = np.flatnonzero(np.asarray(keep, dtype=bool))
        return dataclasses.replace(
            self, ids=[self.ids[i] for i in idx], curves=[self.curves[i] for i in idx], kept=self.kept[idx],
            n_dropped=self.n_dropped[idx], was_unsorted=self.was_unsorted[idx])

    def summary(self) -> str:
        """One line, e.g. ``"3 of 4 curves kept; 1 curves dropped: too_few_observations (e.g. 'b')"``."""
        n_in = len(self.curves) + len(self.dropped)
        head = f"{len(self.curves)} of {n_in} curves kept" if self.dropped else \
            f"{len(self.curves)} curve" + ("" if len(self.curves) == 1 else "s")
        parts = [head] + self.report.lines()
        if not self.has_errors:
            parts.append("no magnitude errors given (err set to 0)")
        return "; ".join(parts)


def _example(id_):
    return "/".join(map(str, id_)) if isinstance(id_, tuple) else str(id_)


def _label(index, id_):
    return f"at index {index} (id {id_!r})"


def _curves_from_sequence(light_curves, ids):
    items = list(light_curves)
    if ids is None:
        ids = list(range(len(items)))
    else:
        ids = list(ids)
        if len(ids) != len(items):
            raise ValueError(
                f"ids has {len(ids)} entries but {len(items)} light curves were given"
            )
        seen, repeated = set(), []
        for id_ in ids:
            if id_ in seen:
                repeated.append(id_)
            seen.add(id_)
        if repeated:   # one id per curve: a repeated one would merge or lose curves downstream
            raise ValueError(f"ids repeats {len(set(map(str, repeated)))} id(s) (e.g. {repeated[:3]}); give each "
                             "light curve its own id (a long table with object_id and band groups curves)")
    arrays, n_cols = [], None
    for i, (item, id_) in enumerate(zip(items, ids)):
        try:
            arr = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray(item, dtype=object)  # cells that are not numbers: counted by clean_curve
        if arr.ndim != 2 or arr.shape[1] not in (2, 3):
            raise ValueError(
                f"light curve {_label(i, id_)} has shape {arr.shape}; expected (n, 2) "
                "with columns time, mag or (n, 3) with columns time, mag, err"
            )
        if n_cols is None:
            n_cols = arr.shape[1]
        elif arr.shape[1] != n_cols:
            raise ValueError(
                f"light curve {_label(i, id_)} has {arr.shape[1]} columns but the first "
                f"curve has {n_cols}; give errors for all curves or for none"
            )
        arrays.append(arr)
    return ids, arrays, n_cols == 3


def _curves_from_frame(df: pd.DataFrame, report: Report):
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"DataFrame is missing required column(s) {missing}; present columns: "
            f"{list(df.columns)} (expected object_id, time, mag and optionally "
            f"{ERROR_COLUMN}, {BAND_COLUMN}; map other names with columns={{'time': 'mjd', ...}})"
        )
    has_errors = ERROR_COLUMN in df.columns
    value_cols = ["time", "mag"] + ([ERROR_COLUMN] if has_errors else [])
    key_cols = ["object_id"] + ([BAND_COLUMN] if BAND_COLUMN in df.columns else [])
    keep = np.ones(len(df), dtype=bool)
    columns = []
    for col in value_cols:  # a cell that is not a number is counted once, with its row
        values, bad = to_numbers(df[col].to_numpy(), col, report, "table", rows=df.index)
        columns.append(values)
        keep &= ~bad
    missing_key = df[key_cols].isna().any(axis=1).to_numpy()
    if missing_key.any():
        first = df.index[int(np.flatnonzero(missing_key)[0])]
        report.add("rows", "missing_key", int(missing_key.sum()), f"row {first}")
        keep &= ~missing_key
    if not keep.all():
        df = df[keep]
        columns = [c[keep] for c in columns]
    values = np.stack(columns, axis=1) if columns else np.zeros((0, 2))
    if len(df) == 0:
        return [], [], has_errors
    # Group numbers in order of first appearance; stable sort keeps row order.
    codes = df.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    first_rows = order[np.concatenate([[0], np.cumsum(counts)[:-1]])]
    keys = df[key_cols].to_numpy()[first_rows]
    ids = [k[0] if len(key_cols) == 1 else tuple(k) for k in keys.tolist()]
    arrays = np.split(values[order], np.cumsum(counts)[:-1])
    return ids, arrays, has_errors


def prepare_light_curves(light_curves, ids=None, *, columns=None, zero_point=None, rules=None,
                         min_observations=None, warn=True) -> PreparedCurves:
    """Validate and clean light curves with the package's one cleaning policy.

    Args:
        light_curves: either a list/tuple of array-likes of shape ``(n, 2)``
            (time, mag) or ``(n, 3)`` (time, mag, err), or a pandas DataFrame in
            long layout with columns ``object_id, time, mag`` and optional
            ``mag_err`` and ``band`` (with ``band``, each ``(object_id, band)``
            pair is one curve; without ``object_id`` the table is one curve),
            one ``(n, 2|3)`` array, an astropy ``Table``/``TimeSeries``, a
            lightkurve ``LightCurve``, or a list of tables
            (:mod:`astromer.data.curve_inputs`: units honoured, fluxes made
            magnitudes). A :class:`PreparedCurves` is returned unchanged.
        ids: optional ids for a list input (default: list positions) or for one curve.
        columns: the package's column names -> the table's (``{"time": "mjd",
            "mag": "magpsf", "mag_err": "sigmapsf"}``), as the CLI's ``--columns``.
        zero_point: the magnitude of a unit flux, for tables that hold fluxes in
            units other than a spectral flux density (e.g. 20.44 for TESS electron/s).
        rules: :class:`astromer.data.cleaning.CleaningRules` (default: the
            package defaults, which drop NaN/inf, "missing" sentinels such as
            99.999, physically absurd magnitudes and errors, non-positive
            errors, non-numeric cells and exact duplicate rows).
        min_observations: overrides ``rules.min_observations`` (curves with
            fewer rows after cleaning are dropped).
        warn: emit one ``UserWarning`` with :meth:`PreparedCurves.summary` when
            anything was dropped or re-sorted.

    Curves are stable-sorted by time. A curve left with too few rows is dropped
    and counted (``dropped``, ``report``), never fatal for the others; if no
    curve is left a ValueError says why. Output order = input order (for
    DataFrames: order of first appearance); ``kept`` maps back to the input.
    """
    if isinstance(light_curves, PreparedCurves):
        return light_curves
    report = Report()
    light_curves, ids = as_curve_input(light_curves, ids, columns=columns, zero_point=zero_point, report=report)
    if isinstance(light_curves, pd.DataFrame):
        ids, arrays, has_errors = _curves_from_frame(light_curves, report)
    elif isinstance(light_curves, (list, tuple, np.ndarray)):
        ids, arrays, has_errors = _curves_from_sequence(light_curves, ids)
    else:
        raise TypeError(
            "light_curves must be a list of (n, 2|3) arrays, a pandas DataFrame with "
            "columns object_id, time, mag[, mag_err][, band], an astropy Table/TimeSeries or a lightkurve "
            f"LightCurve; got {type(light_curves).__name__}"
        )
    if not arrays:
        raise ValueError("no light curves were given" + (f" ({'; '.join(report.lines())})" if report.lines() else ""))
    rules = rules if rules is not None else CleaningRules()
    changes = {"has_errors": bool(has_errors)}
    if min_observations is not None:
        changes["min_observations"] = int(min_observations)
    rules = dataclasses.replace(rules, **changes)

    out_ids, curves, kept, n_dropped, unsorted, dropped = [], [], [], [], [], []
    for i, (arr, id_) in enumerate(zip(arrays, ids)):
        own = Report()
        cleaned = clean_curve(arr[:, 0], arr[:, 1], arr[:, 2] if arr.shape[1] > 2 else None, rules, own,
                              _example(id_))
        report.merge(own)
        if cleaned is None:
            dropped.append(id_)
            continue
        t, m, e = cleaned
        curves.append(np.stack([t, m.astype(np.float64), e.astype(np.float64)], axis=1))
        out_ids.append(id_)
        kept.append(i)
        n_dropped.append(len(arr) - len(t))
        unsorted.append(bool(own.curves.get("resorted")))
    prepared = PreparedCurves(
        ids=out_ids, curves=curves, has_errors=bool(has_errors), kept=np.asarray(kept, dtype=np.int64),
        n_dropped=np.asarray(n_dropped, dtype=np.int64), was_unsorted=np.asarray(unsorted, dtype=bool),
        dropped=dropped, report=report)
    if not curves:
        raise ValueError(f"no usable light curves: all {len(arrays)} were dropped ({'; '.join(report.lines())})")
    if warn and (report.lines()):
        warnings.warn(f"prepare_light_curves: {prepared.summary()}", UserWarning, stacklevel=2)
    return prepared
