"""The ONE cleaning policy for light curves, with every drop counted.

Every entry point (``records convert``, ``embed``, ``classify``, ``evaluate``,
``pretrain``, the Python ``embed``/``finetune``/pipelines) cleans through
:func:`clean_curve` with :class:`CleaningRules`. Each rule either repairs the
data (sorting, removing a row) and counts what it did, or drops it and counts
it with example ids; a bad curve never stops the others. Row rules are applied
in the order of :data:`ROW_REASONS`; a row is counted under the FIRST rule it
breaks. See ``records/README.md`` ("Cleaning rules") and the README section
"What happens to bad input" for the table.

The defaults protect the science: common "missing" markers (99.999, -99, 999,
...) and physically absurd magnitudes (outside [-30, 40]) or errors (> 10 mag)
are dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

# Row-level reasons, in the order the rules are checked.
ROW_REASONS = (
    "missing_key",        # object id or band missing (long tables)
    "band_not_selected",  # band not in the recipe's band list / band map
    "not_a_number",       # a cell that is not a number ("19.5x"), in any value column
    "nonfinite_time",     # time NaN, inf or missing
    "absurd_time",        # |time| above rules.absurd_time (default 1e7 days: not days, or garbage)
    "nonfinite_mag",      # magnitude NaN, inf or missing (or beyond float32 range)
    "nonfinite_err",      # error NaN, inf or missing
    "sentinel_err",       # error equal to a recipe sentinel (S82: 99.999)
    "nonpositive_err",    # error <= 0
    "absurd_err",         # error above rules.absurd_max_err (default 10 mag)
    "err_above_max",      # error > rules.max_err
    "sentinel_mag",       # magnitude equal to a sentinel or outside [mag_min, mag_max]
    "absurd_mag",         # magnitude outside rules.absurd_mag (default [-30, 40])
    "duplicate_row",      # same time, magnitude and error as an earlier row (duplicates="drop_exact")
    "duplicate_time",     # same time as an earlier row (duplicates="first")
    "equal_time",         # KEPT, counted: same time as an earlier row, other values ("drop_exact", "keep")
)
# Curve-level: a (object, band) curve that is dropped or repaired.
CURVE_REASONS = ("too_few_observations", "resorted")
# Object-level: objects that never become records.
OBJECT_REASONS = (
    "no_observations",        # every band dropped
    "curve_without_label",    # curves whose object is not in the labels table
    "label_without_curve",    # labels-table rows with no curve (counted, nothing written)
    "unreadable",             # per-object file or image that could not be read/decoded
    "empty_file",             # per-object file with no rows
)

DUPLICATE_POLICIES = ("keep", "drop_exact", "first")

# Values that surveys and pipelines use for "missing" (magnitudes and errors).
DEFAULT_SENTINELS = (99.0, 99.9, 99.99, 99.999, 999.0, 999.9, 999.99, 999.999, 9999.0, 9999.99, 99999.0,
                     -99.0, -99.9, -99.99, -99.999, -999.0, -9999.0, -99999.0)
# Text that means "missing" (pandas' default NA spellings, compared in lower case).
MISSING_TEXT = frozenset({"", "nan", "-nan", "+nan", "na", "n/a", "#n/a", "#na", "<na>", "null", "none", "-1.#ind",
                          "1.#ind", "-1.#qnan", "1.#qnan", "#n/a n/a"})
# No astronomical source is brighter than the Sun (-26.7) or fainter than ~32 mag.
ABSURD_MAG = (-30.0, 40.0)
ABSURD_MAX_ERR = 10.0
# Times are days: JD is ~2.5e6, MJD ~6e4; 1e7 days is 27,000 years (seconds since 1970 are ~1.7e9).
ABSURD_TIME = 1e7


@dataclass(frozen=True)
class CleaningRules:
    """What to drop. The defaults keep every finite, physically possible observation with a positive error.

    Attributes:
        min_observations: curves with fewer rows after cleaning are dropped.
        max_err: drop rows whose error exceeds this (None: no limit).
        err_sentinels: error values that mean "missing" (default
            :data:`DEFAULT_SENTINELS`; ``()`` turns the rule off).
        mag_min, mag_max: magnitudes outside [mag_min, mag_max] are sentinels.
        mag_sentinels: magnitude values that mean "missing" (default
            :data:`DEFAULT_SENTINELS`).
        absurd_mag: ``(lo, hi)``: magnitudes outside are physically absurd
            (default [-30, 40]; None turns the rule off, e.g. for fluxes you
            really mean to feed as they are).
        absurd_max_err: errors above this are absurd (default 10 mag; None: off).
        absurd_time: times whose absolute value exceeds this are absurd (default 1e7 days: times
            in seconds, or garbage such as 1e300; None: off).
        duplicates: "keep" all rows with equal times, "drop_exact" rows equal
            in time, mag and err to an earlier row (default), or keep only the
            "first" row (input order) of each time.
        has_errors: False when the source has no error column: errors are
            stored as 0 and no error rule applies.
    """

    min_observations: int = 1
    max_err: float | None = None
    err_sentinels: tuple = DEFAULT_SENTINELS
    mag_min: float | None = None
    mag_max: float | None = None
    mag_sentinels: tuple = DEFAULT_SENTINELS
    duplicates: str = "drop_exact"
    has_errors: bool = True
    absurd_mag: tuple | None = ABSURD_MAG
    absurd_max_err: float | None = ABSURD_MAX_ERR
    absurd_time: float | None = ABSURD_TIME

    def __post_init__(self):
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {self.duplicates!r}")
        if int(self.min_observations) < 1:
            raise ValueError(f"min_observations must be >= 1, got {self.min_observations}")
        object.__setattr__(self, "err_sentinels", tuple(float(v) for v in self.err_sentinels))
        object.__setattr__(self, "mag_sentinels", tuple(float(v) for v in self.mag_sentinels))
        if self.absurd_mag is not None:
            lo, hi = (float(v) for v in self.absurd_mag)
            if not lo < hi:
                raise ValueError(f"absurd_mag must be (low, high) with low < high, got {self.absurd_mag}")
            object.__setattr__(self, "absurd_mag", (lo, hi))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> "CleaningRules":
        known = {k: v for k, v in dict(d or {}).items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(d or {}) - set(known))
        if unknown:
            raise ValueError(f"unknown cleaning rule(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**known)


@dataclass
class Report:
    """Counts of everything dropped or repaired (and of rows kept at an equal time), with a few
    example ids per reason."""

    rows: Counter = field(default_factory=Counter)
    curves: Counter = field(default_factory=Counter)
    objects: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    max_examples: int = 5

    def add(self, level, reason, n=1, example=None):
        if n <= 0:
            return
        getattr(self, level)[reason] += int(n)
        if example is not None:
            ex = self.examples.setdefault(f"{level}.{reason}", [])
            if len(ex) < self.max_examples and example not in ex:
                ex.append(example)

    def merge(self, other: "Report") -> "Report":
        for level in ("rows", "curves", "objects"):
            getattr(self, level).update(getattr(other, level))
        for key, ex in other.examples.items():
            mine = self.examples.setdefault(key, [])
            for e in ex:
                if len(mine) < self.max_examples and e not in mine:
                    mine.append(e)
        return self

    def to_dict(self) -> dict:
        return {
            "rows": dict(sorted(self.rows.items())),
            "curves": dict(sorted(self.curves.items())),
            "objects": dict(sorted(self.objects.items())),
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
        }

    @classmethod
    def from_dict(cls, d) -> "Report":
        r = cls()
        for level in ("rows", "curves", "objects"):
            getattr(r, level).update(d.get(level, {}))
        r.examples = {k: list(v) for k, v in d.get("examples", {}).items()}
        return r

    def lines(self) -> list:
        """Human-readable summary lines (empty when nothing was dropped)."""
        out = []
        for level, what in (("objects", "objects"), ("curves", "curves"), ("rows", "rows")):
            for reason, n in sorted(getattr(self, level).items()):
                ex = self.examples.get(f"{level}.{reason}", [])
                tail = f" (e.g. {', '.join(map(str, ex))})" if ex else ""
                verb = {"resorted": "re-sorted by time",
                        "equal_time": "kept sharing a time with an earlier row of other values"}.get(reason, "dropped")
                if reason == "label_without_curve":
                    verb = "in the labels table without a curve"
                out.append(f"{n} {what} {verb}: {reason}{tail}")
        return out


def to_numbers(values, column, report: Report, label, rows=None, row_name="row"):
    """``values`` as float64, with cells that are not numbers counted as ``not_a_number``.

    Returns ``(array, not_a_number_mask)``. A non-numeric cell (``"19.5x"``)
    becomes NaN; it is counted once under ``not_a_number`` with an example
    naming the value, the column and the row (``rows``: the row labels to
    show, default positions; ``row_name``: what they count, e.g. ``"line"``
    for a file's lines). Missing cells (None, NaN, and the usual text
    spellings of "missing" such as "", "NA", "n/a", "null", "nan", as pandas
    reads them) stay NaN and are left to the non-finite rules.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
        return arr, np.zeros(arr.shape, dtype=bool)
    except (TypeError, ValueError):
        pass
    import pandas as pd

    raw = pd.Series(np.asarray(values, dtype=object).ravel())
    arr = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    missing = raw.isna().to_numpy() | raw.map(lambda v: isinstance(v, str) and v.strip().lower() in MISSING_TEXT).to_numpy()
    bad = np.isnan(arr) & ~missing
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        row = first if rows is None else np.asarray(rows)[first]
        report.add("rows", "not_a_number", int(bad.sum()),
                   f"{raw.iloc[first]!r} in column {column}, {row_name} {row} ({label})")
    return arr, bad


def _column(values, n, name, label, report, rows):
    if values is None:
        return np.zeros(n, dtype=np.float64), np.zeros(n, dtype=bool)
    arr, bad = to_numbers(values, name, report, label, rows)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"light curve {label}: column {name} has shape {arr.shape}, expected ({n},)")
    return arr, bad


def clean_curve(time, mag, err, rules: CleaningRules, report: Report, label: str, rows=None,
                return_index=False):
    """Apply the row rules and the time sort to one curve.

    Returns float64 ``time``, float32 ``mag`` and ``err`` (time-sorted, stable)
    or None when fewer than ``rules.min_observations`` rows remain. Every
    dropped row and the re-sort are counted in ``report`` (examples: ``label``;
    ``rows`` names the input rows in ``not_a_number`` examples). With
    ``return_index``, the kept input positions (in output order) come fourth.
    """
    if time is None or np.ndim(time) != 1:
        raise ValueError(f"light curve {label}: time must be a 1-D array")
    n = len(time)
    time, bad_cells = _column(time, n, "time", label, report, rows)
    mag, bad_mag_cells = _column(mag, n, "mag", label, report, rows)
    err, bad_err_cells = _column(err if rules.has_errors else None, n, "mag_err", label, report, rows)
    with np.errstate(over="ignore", invalid="ignore"):
        mag32 = mag.astype(np.float32)
        err32 = err.astype(np.float32)
    keep = ~(bad_cells | bad_mag_cells | bad_err_cells)  # counted by to_numbers

    def rule(reason, bad):
        nonlocal keep
        hit = bad & keep
        report.add("rows", reason, int(hit.sum()), label)
        keep &= ~hit

    rule("nonfinite_time", ~np.isfinite(time))
    if rules.absurd_time is not None:
        with np.errstate(invalid="ignore"):
            rule("absurd_time", np.abs(time) > rules.absurd_time)
    rule("nonfinite_mag", ~np.isfinite(mag32))
    if rules.has_errors:
        rule("nonfinite_err", ~np.isfinite(err32))
        if rules.err_sentinels:
            rule("sentinel_err", np.isin(err, rules.err_sentinels)
                 | np.isin(err32, np.asarray(rules.err_sentinels, dtype=np.float32)))
        with np.errstate(invalid="ignore"):
            rule("nonpositive_err", err <= 0)
            if rules.absurd_max_err is not None:
                rule("absurd_err", err > rules.absurd_max_err)
            if rules.max_err is not None:
                rule("err_above_max", err > rules.max_err)
    with np.errstate(invalid="ignore"):
        bad_mag = np.zeros(n, dtype=bool)
        if rules.mag_sentinels:
            bad_mag |= np.isin(mag, rules.mag_sentinels) | np.isin(
                mag32, np.asarray(rules.mag_sentinels, dtype=np.float32))
        if rules.mag_min is not None:
            bad_mag |= mag < rules.mag_min
        if rules.mag_max is not None:
            bad_mag |= mag > rules.mag_max
    rule("sentinel_mag", bad_mag)
    if rules.absurd_mag is not None:
        with np.errstate(invalid="ignore"):
            rule("absurd_mag", (mag < rules.absurd_mag[0]) | (mag > rules.absurd_mag[1]))

    idx = np.flatnonzero(keep)
    t = time[idx]
    if np.any(t[1:] < t[:-1]):
        report.add("curves", "resorted", 1, label)
        idx = idx[np.argsort(t, kind="stable")]
    if rules.duplicates != "keep" and len(idx) > 1:
        t = time[idx]
        same_time = np.concatenate([[False], t[1:] == t[:-1]])
        if same_time.any():
            if rules.duplicates == "first":
                report.add("rows", "duplicate_time", int(same_time.sum()), label)
                idx = idx[~same_time]
            else:  # drop_exact: only rows identical to an earlier row of the same time
                rows = np.stack([time[idx], mag32[idx].astype(np.float64),
                                 err32[idx].astype(np.float64)], axis=1)
                _, first = np.unique(rows, axis=0, return_index=True)
                dup = np.ones(len(idx), dtype=bool)
                dup[first] = False
                if dup.any():
                    report.add("rows", "duplicate_row", int(dup.sum()), label)
                    idx = idx[~dup]
    if rules.duplicates != "first" and len(idx) > 1:
        t = time[idx]
        report.add("rows", "equal_time", int(np.count_nonzero(t[1:] == t[:-1])), label)
    if len(idx) < rules.min_observations:
        report.add("curves", "too_few_observations", 1, label)
        return None
    if return_index:
        return time[idx], mag32[idx], err32[idx], idx
    return time[idx], mag32[idx], err32[idx]
