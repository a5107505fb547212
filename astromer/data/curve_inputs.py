"""The objects astronomers hold, as the package's long light-curve table.

:func:`as_curve_input` turns what a user passes to ``embed``, ``predict`` or
``prepare_light_curves`` into either a pandas long table (``object_id[, band],
time, mag[, mag_err]``) or a list of ``(n, 2|3)`` arrays:

- a pandas DataFrame, its columns renamed by ``columns=`` (``{"time": "mjd",
  "mag": "magpsf", ...}``: the package's name -> the table's name, as the CLI's
  ``--columns``); without an ``object_id`` column it is ONE curve;
- one ``(n, 2|3)`` numpy array (time, mag[, err]): one curve;
- an astropy ``Table``/``QTable``/``TimeSeries`` or a lightkurve ``LightCurve``
  (astropy and lightkurve stay optional: they are imported only when such an
  object arrives), or a list of them / of DataFrames (one curve each, ids from
  ``ids=`` or the list positions, unless an item has its own ``object_id``
  column). Units are honoured:

  * time: an astropy ``Time`` column becomes MJD in its own scale (float64, days);
    a time Quantity is converted to days; a column without a unit is taken as days;
    a pandas ``datetime64`` column becomes MJD (UTC), a ``timedelta64`` one days, and a text
    column of ISO dates (a CSV's ``2020-06-02T17:43:26.41``) MJD, in UTC unless it names a zone;
  * magnitudes: a ``mag`` column without a unit or in magnitudes (``mag``,
    ``ABmag``, ...) is used as it is; a ``mag`` column whose unit is a flux, or a
    ``flux`` column when there is no ``mag`` (lightkurve's layout), is a flux:
    ``m = zero_point - 2.5 log10(F)`` and ``err = 2.5 / ln(10) * F_err / F``. A
    spectral flux density (Jy, erg/s/cm2/Hz) needs no zero point (AB: 3631 Jy);
    any other flux (electron/s, counts, normalised) needs ``zero_point=`` (the
    magnitude of a flux of one unit, e.g. 20.44 for TESS fluxes in electron/s, TESS
    Instrument Handbook), else a one-line error names the input. The zero point
    does not change an Astromer embedding (each window is zero-meaned) but it does
    change magnitude features and the cleaning's magnitude range. Rows with a flux
    that is not positive are dropped and counted (``nonpositive_flux``).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

STANDARD_COLUMNS = ("object_id", "band", "time", "mag", "mag_err", "flux", "flux_err")
AB_ZERO_POINT_JY = 3631.0
MAG_PER_LN = 2.5 / math.log(10.0)


def is_astro_object(obj) -> bool:
    """An astropy table (Table, QTable, TimeSeries) or a lightkurve LightCurve."""
    module = type(obj).__module__ or ""
    return (module.startswith(("astropy.", "lightkurve.")) and hasattr(obj, "colnames")
            and hasattr(obj, "columns"))


def _is_curve_object(obj) -> bool:
    return isinstance(obj, pd.DataFrame) or is_astro_object(obj)


def _mapping(columns):
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(STANDARD_COLUMNS))
    if unknown:
        raise ValueError(f"columns= maps unknown name(s) {unknown}; the package's names are "
                         f"{list(STANDARD_COLUMNS)} (e.g. columns={{'time': 'mjd', 'mag': 'magpsf'}})")
    return columns


def _rename(frame, columns, what):
    if not columns:
        return frame
    absent = sorted(v for v in columns.values() if v not in frame.columns)
    if absent:
        raise ValueError(f"columns= names column(s) {absent} that {what} does not have; "
                         f"its columns are {list(frame.columns)}")
    clash = sorted(k for k, v in columns.items() if k in frame.columns and k != v and k not in columns.values())
    frame = frame.drop(columns=clash)   # a 'time' column is replaced by the one columns= chose
    return frame.rename(columns={v: k for k, v in columns.items()})


def _filled(col):
    """Masked cells (astropy MaskedColumn / Masked quantities) as NaN."""
    if getattr(col, "mask", None) is not None and hasattr(col, "filled"):
        try:
            return col.filled(np.nan)
        except (TypeError, ValueError):
            return col
    return col


def _unit(col):
    return getattr(col, "unit", None)


def _is_mag_unit(unit):
    if unit is None:
        return True
    from astropy import units as u

    if isinstance(unit, u.MagUnit) or (not isinstance(unit, u.UnrecognizedUnit) and unit == u.mag):
        return True
    return str(unit).strip().lower() in ("", "mag", "mags", "magnitude")


def _numbers(col, what, name):
    values = getattr(col, "value", col)   # Quantity / Magnitude -> numbers; plain columns unchanged
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: column {name!r} does not hold numbers") from None


def _times(col, what, name):
    if hasattr(col, "jd1") and hasattr(col, "mjd"):   # astropy Time
        return np.asarray(col.mjd, dtype=np.float64)
    unit = _unit(col)
    if unit is not None and str(unit).strip():
        from astropy import units as u

        if isinstance(unit, u.UnrecognizedUnit):   # FITS files: "BJD - 2457000, days", "BJD - 2454833"
            if any(w in str(unit).lower() for w in ("day", "jd")):
                return _numbers(col, what, name)
            raise ValueError(f"{what}: time column {name!r} has unit {str(unit)!r}, which is not a time unit "
                             "astropy knows; give times in days")
        try:
            col = (np.asarray(_numbers(col, what, name)) * u.Unit(unit)).to_value(u.day)
        except u.UnitConversionError:
            raise ValueError(f"{what}: time column {name!r} is in {unit}, not a time unit") from None
        return np.asarray(col, dtype=np.float64)
    return _numbers(col, what, name)


def _flux_to_mag(flux, flux_err, unit, zero_point, what, name):
    from astropy import units as u

    unit = u.Unit(unit) if unit is not None and str(unit).strip() else u.dimensionless_unscaled
    if zero_point is None:
        if isinstance(unit, u.UnrecognizedUnit) or not unit.is_equivalent(u.Jy):
            raise ValueError(
                f"{what} holds fluxes ({name!r} in {unit or 'no unit'}), not magnitudes; pass zero_point= "
                "(the magnitude of a flux of 1 in that unit, e.g. 20.44 for TESS electron/s) or give a 'mag' "
                "column; any zero point gives the same Astromer embedding")
        scale = (1.0 * unit).to_value(u.Jy) / AB_ZERO_POINT_JY
        zero_point = 0.0
    else:
        scale = 1.0
    flux = flux * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = float(zero_point) - 2.5 * np.log10(flux)
        err = None if flux_err is None else MAG_PER_LN * (flux_err * scale) / flux
    return mag, err, ~(np.isfinite(flux) & (flux > 0))


def astro_table_frame(obj, *, columns=None, zero_point=None, report=None, what=None, object_id=0):
    """An astropy table / TimeSeries / lightkurve LightCurve as the long table (see the module doc)."""
    columns = _mapping(columns)
    what = what or f"the {type(obj).__name__}"
    names = {std: columns.get(std, std) for std in STANDARD_COLUMNS}
    absent = sorted(v for k, v in columns.items() if v not in obj.colnames)
    if absent:
        raise ValueError(f"columns= names column(s) {absent} that {what} does not have; "
                         f"its columns are {list(obj.colnames)}")
    if names["time"] not in obj.colnames:
        raise ValueError(f"{what} has no time column {names['time']!r}; its columns are {list(obj.colnames)} "
                         "(map one with columns={'time': ...})")
    out = {}
    n = len(obj)
    if names["object_id"] in obj.colnames:
        out["object_id"] = [str(v) for v in np.asarray(obj[names["object_id"]]).tolist()]
    else:
        out["object_id"] = [object_id] * n
    if names["band"] in obj.colnames:
        out["band"] = [str(v) for v in np.asarray(obj[names["band"]]).tolist()]
    out["time"] = _times(_filled(obj[names["time"]]), what, names["time"])
    mag_col = names["mag"] if names["mag"] in obj.colnames else None
    if mag_col is not None and _is_mag_unit(_unit(obj[mag_col])):
        out["mag"] = _numbers(_filled(obj[mag_col]), what, mag_col)
        if names["mag_err"] in obj.colnames:
            out["mag_err"] = _numbers(_filled(obj[names["mag_err"]]), what, names["mag_err"])
    else:
        flux_col = mag_col or (names["flux"] if names["flux"] in obj.colnames else None)
        if flux_col is None:
            raise ValueError(f"{what} has neither a magnitude column {names['mag']!r} nor a flux column "
                             f"{names['flux']!r}; its columns are {list(obj.colnames)} (map one with columns=)")
        err_name = names["mag_err"] if mag_col else names["flux_err"]
        err_col = err_name if err_name in obj.colnames else None
        unit = _unit(obj[flux_col])
        flux = _numbers(_filled(obj[flux_col]), what, flux_col)
        flux_err = None
        if err_col is not None:
            err_raw = obj[err_col]
            if _unit(err_raw) is not None and unit is not None and str(_unit(err_raw)) != str(unit) \
                    and not any(type(x).__name__ == "UnrecognizedUnit" for x in (_unit(err_raw), unit)):
                from astropy import units as u

                err_raw = (_numbers(_filled(err_raw), what, err_col) * u.Unit(_unit(err_raw))).to_value(u.Unit(unit))
            flux_err = _numbers(_filled(err_raw), what, err_col)
        mag, err, bad = _flux_to_mag(flux, flux_err, unit, zero_point, what, flux_col)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            if report is not None:
                report.add("rows", "nonpositive_flux", int(bad.sum()), f"{out['object_id'][first]} row {first}")
            else:   # no report to count them in (a file read by the CLI, the sklearn embedder): say so
                import warnings

                warnings.warn(f"{what}: {int(bad.sum())} rows with a flux <= 0 or NaN dropped (nonpositive_flux; "
                              f"e.g. {out['object_id'][first]} row {first})", UserWarning, stacklevel=2)
        keep = ~bad
        out = {k: (np.asarray(v, dtype=object)[keep].tolist() if isinstance(v, list) else v[keep])
               for k, v in out.items()}
        out["mag"] = mag[keep]
        if err is not None:
            out["mag_err"] = err[keep]
    return pd.DataFrame(out)


def _frame(frame, columns, what, object_id):
    frame = _rename(frame, columns, what)
    if "object_id" not in frame.columns and {"time", "mag"} <= set(frame.columns):
        frame = frame.assign(object_id=object_id)   # one curve
    if "time" in frame.columns and is_clock_time(frame["time"]):   # no copy of a table of numbers
        frame = frame.assign(time=days(frame["time"]))
    return frame


#: an ISO 8601 date or date and time as text (astropy ``Time.iso`` / ``.isot``, pandas), optional zone
_ISO_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d*)?)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?")


def _is_iso_text(time):
    """Whether a text column (a CSV's) holds ISO dates rather than numbers: its first non-blank
    cell is one (the whole column is then parsed; cells that are not dates become missing)."""
    if not (pd.api.types.is_object_dtype(time) or pd.api.types.is_string_dtype(time)):
        return False
    for value in time:
        if isinstance(value, str) and value.strip():
            return bool(_ISO_TEXT.fullmatch(value.strip()))
        if not (value is None or (isinstance(value, float) and math.isnan(value))):
            return False   # a number (or another object) first: not a text date column
    return False


def is_clock_time(time):
    """Whether a pandas column holds datetimes, durations or ISO date text (a CSV's
    ``2020-06-02T17:43:26``) rather than numbers of days."""
    return (pd.api.types.is_datetime64_any_dtype(time) or pd.api.types.is_timedelta64_dtype(time)
            or _is_iso_text(time))


def days(time):
    """A pandas time column in days: datetimes (``datetime64``, with or without a time zone)
    become MJD (UTC for zone-aware ones), durations (``timedelta64``) days; ISO date text is
    parsed as datetimes, in UTC unless it names its zone (a cell that is not a date becomes
    missing, and is counted as a non-finite time); numbers stay as they are. (Taken as numbers,
    datetimes would be nanoseconds since 1970.)"""
    if _is_iso_text(time):
        time = pd.to_datetime(time.astype(object).where(time.notna(), None).map(
            lambda v: v.strip().replace("UTC", "Z") if isinstance(v, str) else v),
            format="ISO8601", utc=True, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(time):
        if getattr(time.dt, "tz", None) is not None:
            time = time.dt.tz_convert("UTC").dt.tz_localize(None)
        return (time - pd.Timestamp("1858-11-17")) / pd.Timedelta(days=1)
    if pd.api.types.is_timedelta64_dtype(time):
        return time / pd.Timedelta(days=1)
    return time


def as_curve_input(light_curves, ids=None, *, columns=None, zero_point=None, report=None):
    """``(light_curves, ids)`` with every accepted input made a long DataFrame or a list of arrays."""
    columns = _mapping(columns)
    single_id = None
    if ids is not None and not isinstance(ids, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        raise TypeError(f"ids must be a list of ids, got {type(ids).__name__}")
    if isinstance(light_curves, pd.DataFrame):
        if "object_id" not in _rename(light_curves.head(0), columns, "the DataFrame").columns:
            if ids is not None and len(ids) != 1:
                raise ValueError(f"a DataFrame without an object_id column is one curve; ids has {len(ids)} entries")
            single_id = list(ids)[0] if ids is not None else 0
        elif ids is not None:
            raise ValueError("ids must be None for a DataFrame; ids come from its object_id column")
        return _frame(light_curves, columns, "the DataFrame", single_id), None
    if columns and not _is_curve_object(light_curves) and not (
            isinstance(light_curves, (list, tuple)) and light_curves and _is_curve_object(light_curves[0])):
        raise ValueError("columns= applies to tables (pandas, astropy, lightkurve); arrays are (time, mag[, err])")
    if is_astro_object(light_curves):
        if ids is not None and len(ids) != 1 and "object_id" not in light_curves.colnames:
            raise ValueError(f"a {type(light_curves).__name__} without an object_id column is one curve; "
                             f"ids has {len(ids)} entries")
        oid = list(ids)[0] if ids is not None else 0
        return astro_table_frame(light_curves, columns=columns, zero_point=zero_point, report=report,
                                 object_id=oid), None
    if isinstance(light_curves, np.ndarray) and light_curves.ndim == 2:
        return [light_curves], (list(ids) if ids is not None else [0])
    if isinstance(light_curves, (list, tuple)) and light_curves and any(map(_is_curve_object, light_curves)):
        items = list(light_curves)
        if not all(map(_is_curve_object, items)):
            raise TypeError("a list of light curves must hold only tables (pandas, astropy, lightkurve) or only "
                            "arrays, not both")
        ids = list(range(len(items))) if ids is None else list(ids)
        if len(ids) != len(items):
            raise ValueError(f"ids has {len(ids)} entries but {len(items)} light curves were given")
        frames = []
        for i, (item, oid) in enumerate(zip(items, ids)):
            what = f"light curve at index {i} (id {oid!r})"
            if isinstance(item, pd.DataFrame):
                frames.append(_frame(item, columns, what, oid))
            else:
                frames.append(astro_table_frame(item, columns=columns, zero_point=zero_point, report=report,
                                                what=what, object_id=oid))
        return pd.concat(frames, ignore_index=True), None
    return light_curves, ids
