"""Per-object conversion to serialised records, shared by the local writer and Beam.

:func:`object_records` is the ONE function that turns an input item into
record bytes; both :mod:`astromer.records.writer` and
:mod:`astromer.records.beam_pipeline` call it, so their records are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from astromer.data.cleaning import CleaningRules, Report, clean_curve
from astromer.records.schema import UNLABELLED, image_example, light_curve_example
from astromer.records.items import ImageItem

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class ObjectResult:
    """Records of one object (bands sorted) and what they hold."""

    object_id: str
    label_name: str | None
    records: list = field(default_factory=list)
    observations: int = 0
    bands: list = field(default_factory=list)


def deterministic_bytes(serialized: bytes, sequence: bool) -> bytes:
    """Re-serialise with sorted map entries.

    ``SerializeToString()`` writes protobuf map entries (the feature names) in
    an order that depends on the process's string-hash seed, so the same
    record has different bytes in different processes. Sorting them makes
    shards byte-identical whatever the number of workers.
    """
    import tensorflow as tf

    cls = tf.train.SequenceExample if sequence else tf.train.Example
    return cls.FromString(serialized).SerializeToString(deterministic=True)


def _label(label_map, name):
    if name is None:
        return UNLABELLED, ""
    return int(label_map[name]), name


def light_curve_records(item, label_map, rules: CleaningRules, report: Report) -> ObjectResult:
    """Clean every band of ``item`` and serialise one record per surviving band."""
    result = ObjectResult(item.object_id, item.label_name)
    loaded = item.load(report)
    if loaded is None:
        return result  # unreadable/empty files were counted by load()
    label, label_name = _label(label_map, item.label_name)
    for band in sorted(loaded.bands):
        time, mag, err = loaded.bands[band]
        cleaned = clean_curve(time, mag, err, rules, report, f"{item.object_id}/{band}")
        if cleaned is None:
            continue
        t, m, e = cleaned
        result.records.append(deterministic_bytes(light_curve_example(
            item.object_id, band, t, m, e, label=label, label_name=label_name), True))
        result.observations += len(t)
        result.bands.append(band)
    if not result.records:
        report.add("objects", "no_observations", 1, item.object_id)
    return result


def image_format(data: bytes):
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    return None


def image_bytes(item: ImageItem):
    """``(encoded bytes, format, height, width, channels)`` of an image item: a JPEG/PNG file's
    bytes unchanged, a FITS file or an in-memory array as PNG (:mod:`astromer.records.image_arrays`).
    Raises :class:`~astromer.records.image_arrays.PixelError` (or ``OSError``) with the reason."""
    import tensorflow as tf

    from astromer.records.image_arrays import PixelError, encode_png, is_fits, read_fits_image

    if item.array is not None:
        data, height, width, channels = encode_png(item.array)
        return data, "png", height, width, channels
    if is_fits(item.path):
        data, height, width, channels = encode_png(read_fits_image(item.path))
        return data, "png", height, width, channels
    with open(item.path, "rb") as handle:
        data = handle.read()
    fmt = image_format(data)
    if fmt is None:
        raise PixelError("not a JPEG or PNG", "unreadable")
    try:
        decoded = tf.io.decode_image(data, channels=0, expand_animations=False)
        height, width, channels = (int(d) for d in decoded.shape)
    except (tf.errors.InvalidArgumentError, ValueError) as exc:
        import re

        text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(exc)).strip()  # TF's "{{function_node ...}}" prefix
        message = text.splitlines()[0][:120] if text else type(exc).__name__
        raise PixelError(message, "unreadable") from exc
    return data, fmt, height, width, channels


def image_record(item: ImageItem, label_map, report: Report) -> ObjectResult:
    """Store the image's encoded bytes after checking that they decode (see :func:`image_bytes`)."""
    from astromer.records.image_arrays import PixelError

    result = ObjectResult(item.object_id, item.label_name)
    try:
        data, fmt, height, width, channels = image_bytes(item)
    except OSError as exc:
        report.add("objects", "unreadable", 1, f"{item.object_id} ({item.path}: {exc.strerror or exc})")
        return result
    except PixelError as exc:
        report.add("objects", exc.reason, 1, f"{item.object_id} ({item.path}: {exc})")
        return result
    label, label_name = _label(label_map, item.label_name)
    result.records.append(deterministic_bytes(image_example(
        data, fmt, height, width, channels, item.object_id, label=label,
        label_name=label_name, targets=item.targets), False))
    result.bands.append("")
    return result


def object_records(item, kind, label_map, rules, report) -> ObjectResult:
    """Dispatch on the dataset kind ("light_curve" or "image")."""
    if kind == "image":
        return image_record(item, label_map, report)
    return light_curve_records(item, label_map, rules, report)
