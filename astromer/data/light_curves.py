"""Validation and cleaning of raw light curves.

Every entry point of the package funnels user data through
:func:`prepare_light_curves`, which returns float64 ``(n, 3)`` arrays
(time, magnitude, error) sorted by time, with non-finite rows removed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("object_id", "time", "mag")
ERROR_COLUMN = "mag_err"
BAND_COLUMN = "band"


@dataclass
class PreparedCurves:
    """Cleaned light curves plus a record of what cleaning changed.

    Attributes:
        ids: one id per curve (list index, user id, ``object_id`` or
            ``(object_id, band)``), in input order.
        curves: float64 arrays of shape ``(n_i, 3)``: time, mag, err,
            sorted by time (stable). ``err`` is 0 when ``has_errors`` is False.
        has_errors: whether the input carried magnitude errors.
        n_nonfinite: rows dropped per curve because a value was NaN/inf.
        n_duplicate_times: rows per curve whose time equals the previous
            row's time (kept, as the original Astromer keeps them).
        was_unsorted: whether each curve had to be re-sorted by time.
    """

    ids: list
    curves: list
    has_errors: bool
    n_nonfinite: np.ndarray
    n_duplicate_times: np.ndarray
    was_unsorted: np.ndarray

    def __len__(self) -> int:
        return len(self.curves)

    @property
    def lengths(self) -> np.ndarray:
        """Number of observations per curve (int64)."""
        return np.array([len(c) for c in self.curves], dtype=np.int64)

    def select(self, keep) -> "PreparedCurves":
        """Return a new PreparedCurves with only the curves where ``keep`` is True."""
        keep = np.asarray(keep, dtype=bool)
        idx = np.flatnonzero(keep)
        return PreparedCurves(
            ids=[self.ids[i] for i in idx],
            curves=[self.curves[i] for i in idx],
            has_errors=self.has_errors,
            n_nonfinite=self.n_nonfinite[idx],
            n_duplicate_times=self.n_duplicate_times[idx],
            was_unsorted=self.was_unsorted[idx],
        )

    def summary(self) -> str:
        """One-line description, e.g. ``"3 curves; 5 non-finite rows dropped in 2 curves"``."""

        def plural(k, word):
            return f"{k} {word}" + ("" if k == 1 else "s")

        parts = [plural(len(self.curves), "curve")]
        nonfinite = int(self.n_nonfinite.sum())
        if nonfinite:
            parts.append(
                f"{plural(nonfinite, 'non-finite row')} dropped in "
                f"{plural(int(np.count_nonzero(self.n_nonfinite)), 'curve')}"
            )
        unsorted = int(np.count_nonzero(self.was_unsorted))
        if unsorted:
            parts.append(f"{plural(unsorted, 'curve')} re-sorted by time")
        dup = int(self.n_duplicate_times.sum())
        if dup:
            parts.append(
                f"{plural(dup, 'duplicate time')} kept in "
                f"{plural(int(np.count_nonzero(self.n_duplicate_times)), 'curve')}"
            )
        if not self.has_errors:
            parts.append("no magnitude errors given (err set to 0)")
        return "; ".join(parts)


def _clean_curve(values: np.ndarray, label: str, min_observations: int):
    """Drop non-finite rows and stable-sort one ``(n, 2|3)`` float64 array."""
    finite = np.isfinite(values).all(axis=1)
    n_nonfinite = int(values.shape[0] - np.count_nonzero(finite))
    if n_nonfinite:
        values = values[finite]
    if len(values) < min_observations:
        raise ValueError(
            f"light curve {label} has {len(values)} usable observations, fewer than "
            f"min_observations={min_observations} ({n_nonfinite} rows were dropped "
            "because they contained NaN or inf)"
        )
    time = values[:, 0]
    unsorted = bool(np.any(time[1:] < time[:-1]))
    if unsorted:
        values = values[np.argsort(time, kind="stable")]
        time = values[:, 0]
    n_dup = int(np.count_nonzero(time[1:] == time[:-1]))
    out = np.zeros((len(values), 3), dtype=np.float64)
    out[:, : values.shape[1]] = values
    return out, n_nonfinite, n_dup, unsorted


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
    arrays, n_cols = [], None
    for i, (item, id_) in enumerate(zip(items, ids)):
        try:
            arr = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"light curve {_label(i, id_)} could not be converted to float: {exc}"
            ) from None
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


def _curves_from_frame(df: pd.DataFrame):
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"DataFrame is missing required column(s) {missing}; present columns: "
            f"{list(df.columns)} (expected object_id, time, mag and optionally "
            f"{ERROR_COLUMN}, {BAND_COLUMN})"
        )
    has_errors = ERROR_COLUMN in df.columns
    value_cols = ["time", "mag"] + ([ERROR_COLUMN] if has_errors else [])
    key_cols = ["object_id"] + ([BAND_COLUMN] if BAND_COLUMN in df.columns else [])
    try:
        values = df[value_cols].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"DataFrame columns {value_cols} must be numeric: {exc}") from None
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


def prepare_light_curves(light_curves, ids=None, *, min_observations=1) -> PreparedCurves:
    """Validate and clean light curves.

    Args:
        light_curves: either a list/tuple of array-likes of shape ``(n, 2)``
            (time, mag) or ``(n, 3)`` (time, mag, err), or a pandas DataFrame in
            long layout with columns ``object_id, time, mag`` and optional
            ``mag_err`` and ``band`` (with ``band``, each ``(object_id, band)``
            pair is one curve). A :class:`PreparedCurves` is returned unchanged.
        ids: optional ids for a list input (default: list positions).
        min_observations: curves with fewer rows after cleaning raise a
            ValueError naming the curve. Use 0 to allow empty curves.

    Rows with any non-finite value are dropped, curves are stable-sorted by
    time and duplicate times are kept. Output order = input order (for
    DataFrames: order of first appearance). A ``UserWarning`` with
    :meth:`PreparedCurves.summary` is emitted when rows were dropped or
    curves re-sorted.
    """
    if isinstance(light_curves, PreparedCurves):
        return light_curves
    if isinstance(light_curves, pd.DataFrame):
        if ids is not None:
            raise ValueError("ids must be None for a DataFrame; ids come from its object_id column")
        ids, arrays, has_errors = _curves_from_frame(light_curves)
    elif isinstance(light_curves, np.ndarray) and light_curves.ndim == 2:
        raise TypeError(
            f"a single 2-D array of shape {light_curves.shape} was given; pass a list "
            "of light curves, e.g. prepare_light_curves([array])"
        )
    elif isinstance(light_curves, (list, tuple, np.ndarray)):
        ids, arrays, has_errors = _curves_from_sequence(light_curves, ids)
    else:
        raise TypeError(
            "light_curves must be a list of (n, 2|3) arrays or a pandas DataFrame with "
            f"columns object_id, time, mag[, mag_err][, band]; got {type(light_curves).__name__}"
        )
    if not arrays:
        raise ValueError("no light curves were given")

    curves, n_nonfinite, n_dup, unsorted = [], [], [], []
    for i, (arr, id_) in enumerate(zip(arrays, ids)):
        curve, nf, nd, us = _clean_curve(arr, _label(i, id_), min_observations)
        curves.append(curve)
        n_nonfinite.append(nf)
        n_dup.append(nd)
        unsorted.append(us)
    prepared = PreparedCurves(
        ids=list(ids),
        curves=curves,
        has_errors=bool(has_errors),
        n_nonfinite=np.asarray(n_nonfinite, dtype=np.int64),
        n_duplicate_times=np.asarray(n_dup, dtype=np.int64),
        was_unsorted=np.asarray(unsorted, dtype=bool),
    )
    if prepared.n_nonfinite.any() or prepared.was_unsorted.any():
        warnings.warn(f"prepare_light_curves: {prepared.summary()}", UserWarning, stacklevel=2)
    return prepared
