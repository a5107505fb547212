"""What a source holds: one *item* per object, and the :class:`Source` that orders them.

Items are picklable; the file-backed ones read their file only when
:meth:`load` is called, so the expensive part runs in the workers (or Beam).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from astromer.data.cleaning import Report
from astromer.records.tables import read_observation_file


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
    """One image with its label and extra numeric targets: a file (JPEG, PNG or FITS) at ``path``,
    or an in-memory ``array`` ((H, W), (H, W, C); ``path`` then names where it came from)."""

    object_id: str
    label_name: str | None
    path: str
    targets: dict = field(default_factory=dict)
    array: object = None


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
