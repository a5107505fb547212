"""Cleaning rules for light curves on their way into records, with every drop counted.

Each rule either repairs the data (sorting, removing a row) and counts what it
did, or rejects it with a message naming the object. Row rules are applied in
the order of :data:`ROW_REASONS`; a row is counted under the FIRST rule it
breaks. See ``records/README.md`` ("Cleaning rules") for the table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

# Row-level reasons, in the order the rules are checked.
ROW_REASONS = (
    "missing_key",        # object id or band missing (long tables)
    "band_not_selected",  # band not in the recipe's band list / band map
    "nonfinite_time",     # time NaN, inf or missing
    "nonfinite_mag",      # magnitude NaN, inf or missing (or beyond float32 range)
    "nonfinite_err",      # error NaN, inf or missing
    "sentinel_err",       # error equal to a recipe sentinel (S82: 99.999)
    "nonpositive_err",    # error <= 0
    "err_above_max",      # error > rules.max_err
    "sentinel_mag",       # magnitude equal to a sentinel or outside [mag_min, mag_max]
    "duplicate_row",      # same time, magnitude and error as an earlier row (duplicates="drop_exact")
    "duplicate_time",     # same time as an earlier row (duplicates="first")
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


@dataclass(frozen=True)
class CleaningRules:
    """What to drop. Defaults keep every finite observation with a positive error.

    Attributes:
        min_observations: curves with fewer rows after cleaning are dropped.
        max_err: drop rows whose error exceeds this (None: no limit).
        err_sentinels: error values that mean "missing" (e.g. 99.999).
        mag_min, mag_max: magnitudes outside [mag_min, mag_max] are sentinels.
        mag_sentinels: magnitude values that mean "missing" (e.g. 99.0, -99.0).
        duplicates: "keep" all rows with equal times, "drop_exact" rows equal
            in time, mag and err to an earlier row (default), or keep only the
            "first" row (input order) of each time.
        has_errors: False when the source has no error column: errors are
            stored as 0 and no error rule applies.
    """

    min_observations: int = 1
    max_err: float | None = None
    err_sentinels: tuple = ()
    mag_min: float | None = None
    mag_max: float | None = None
    mag_sentinels: tuple = ()
    duplicates: str = "drop_exact"
    has_errors: bool = True

    def __post_init__(self):
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {self.duplicates!r}")
        if int(self.min_observations) < 1:
            raise ValueError(f"min_observations must be >= 1, got {self.min_observations}")
        object.__setattr__(self, "err_sentinels", tuple(float(v) for v in self.err_sentinels))
        object.__setattr__(self, "mag_sentinels", tuple(float(v) for v in self.mag_sentinels))

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
    """Counts of everything dropped or repaired, with a few example ids per reason."""

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
                verb = "re-sorted by time" if reason == "resorted" else "dropped"
                if reason == "label_without_curve":
                    verb = "in the labels table without a curve"
                out.append(f"{n} {what} {verb}: {reason}{tail}")
        return out


def _as_float(values, n, name, label):
    if values is None:
        return np.zeros(n, dtype=np.float64)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"light curve {label}: column {name} is not numeric ({exc})") from None
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"light curve {label}: column {name} has shape {arr.shape}, expected ({n},)")
    return arr


def clean_curve(time, mag, err, rules: CleaningRules, report: Report, label: str):
    """Apply the row rules and the time sort to one curve.

    Returns float64 ``time``, float32 ``mag`` and ``err`` (time-sorted, stable)
    or None when fewer than ``rules.min_observations`` rows remain. Every
    dropped row and the re-sort are counted in ``report`` (examples: ``label``).
    """
    time = np.asarray(time, dtype=np.float64) if time is not None else None
    if time is None or time.ndim != 1:
        raise ValueError(f"light curve {label}: time must be a 1-D array")
    n = len(time)
    mag = _as_float(mag, n, "mag", label)
    err = _as_float(err if rules.has_errors else None, n, "err", label)
    with np.errstate(over="ignore", invalid="ignore"):
        mag32 = mag.astype(np.float32)
        err32 = err.astype(np.float32)
    keep = np.ones(n, dtype=bool)

    def rule(reason, bad):
        nonlocal keep
        hit = bad & keep
        report.add("rows", reason, int(hit.sum()), label)
        keep &= ~hit

    rule("nonfinite_time", ~np.isfinite(time))
    rule("nonfinite_mag", ~np.isfinite(mag32))
    if rules.has_errors:
        rule("nonfinite_err", ~np.isfinite(err32))
        if rules.err_sentinels:
            rule("sentinel_err", np.isin(err, rules.err_sentinels)
                 | np.isin(err32, np.asarray(rules.err_sentinels, dtype=np.float32)))
        with np.errstate(invalid="ignore"):
            rule("nonpositive_err", err <= 0)
            if rules.max_err is not None:
                rule("err_above_max", err > rules.max_err)
    with np.errstate(invalid="ignore"):
        bad_mag = np.zeros(n, dtype=bool)
        if rules.mag_sentinels:
            bad_mag |= np.isin(mag, rules.mag_sentinels)
        if rules.mag_min is not None:
            bad_mag |= mag < rules.mag_min
        if rules.mag_max is not None:
            bad_mag |= mag > rules.mag_max
    rule("sentinel_mag", bad_mag)

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
    if len(idx) < rules.min_observations:
        report.add("curves", "too_few_observations", 1, label)
        return None
    return time[idx], mag32[idx], err32[idx]
