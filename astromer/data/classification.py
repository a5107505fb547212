"""Labelled windows in memory, for classifiers and object-level aggregation."""

import numpy as np

from astromer.data.light_curves import prepare_light_curves
from astromer.data.windows import window_curves


def object_keys(ids):
    """The object of each curve id: ``(object_id, band)`` tuples map to ``object_id``."""
    return [i[0] if isinstance(i, tuple) else i for i in ids]


def window_inputs(light_curves, ids=None, window_size=200):
    """Clean, window and zero-mean curves; returns ``(PreparedCurves, Windows)``."""
    prepared = prepare_light_curves(light_curves, ids)
    return prepared, window_curves(prepared.curves, window_size=window_size)


def _curve_labels(prepared, labels):
    """The label of each kept curve of ``prepared``: ``labels`` a sequence aligned with the input
    curves, or a mapping ``object_id -> label`` (for DataFrame inputs, whose curve ids are object
    ids or ``(object_id, band)``)."""
    keys = object_keys(prepared.ids)
    if isinstance(labels, dict) or hasattr(labels, "to_dict") and not isinstance(labels, (list, tuple)):
        mapping = labels.to_dict() if hasattr(labels, "to_dict") else labels
        missing = [k for k in keys if k not in mapping]
        if missing:
            raise ValueError(f"{len(missing)} curves have no label, e.g. {missing[:5]}.")
        return [mapping[k] for k in keys]
    per_curve = list(labels)
    n_input = len(prepared.ids) + len(prepared.dropped)
    if len(per_curve) != n_input:
        raise ValueError(f"{len(per_curve)} labels for {n_input} light curves.")
    return [per_curve[i] for i in prepared.kept]  # curves dropped by cleaning lose their label


def _label_codes(per_curve, class_names):
    """``(integer code per curve, class_names)``; ``class_names`` default: the sorted labels."""
    if class_names is None:
        class_names = sorted({str(v) for v in per_curve})
    class_names = [str(c) for c in class_names]
    lookup = {c: i for i, c in enumerate(class_names)}
    unknown = sorted({str(v) for v in per_curve} - set(lookup))
    if unknown:
        raise ValueError(f"labels {unknown} are not in class_names {class_names}.")
    return np.array([lookup[str(v)] for v in per_curve], dtype="int64"), class_names


def labelled_windows(light_curves, labels, ids=None, window_size=200, class_names=None):
    """Windows with one integer label each (the label of their object).

    ``labels``: a sequence aligned with the curves, or a mapping ``object_id -> label``
    (for DataFrame inputs, whose curve ids are object ids or ``(object_id, band)``).
    Labels may be names; ``class_names`` fixes their order (default: sorted).
    Returns ``(x, y, object_of_window, class_names)`` with ``x`` the model's input dict.
    """
    prepared, windows = window_inputs(light_curves, ids=ids, window_size=window_size)
    keys = object_keys(prepared.ids)
    curve_label, class_names = _label_codes(_curve_labels(prepared, labels), class_names)
    x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
    objects = [keys[i] for i in windows.object_index]
    return x, curve_label[windows.object_index], objects, class_names


def labelled_band_windows(light_curves, labels, ids=None, window_size=200, class_names=None, bands=None):
    """:func:`band_windows` with one integer label per sample (its object's; ``labels`` as in
    :func:`labelled_windows`; an object whose curves disagree on the label is an error).
    Returns ``(x, y, objects, errors, class_names, bands)``."""
    prepared, windows = window_inputs(light_curves, ids=ids, window_size=window_size)
    curve_label, class_names = _label_codes(_curve_labels(prepared, labels), class_names)
    per_object = {}
    for obj, code in zip(object_keys(prepared.ids), curve_label):
        if per_object.setdefault(obj, code) != code:
            raise ValueError(f"object {obj!r} has curves labelled {class_names[per_object[obj]]!r} and "
                             f"{class_names[code]!r}; one label per object")
    objects, x, errors, bands = band_samples(prepared, windows, bands=bands)
    return x, np.array([per_object[o] for o in objects], dtype="int64"), objects, errors, class_names, bands


def band_windows(light_curves, ids=None, window_size=200, bands=None):
    """An object's bands side by side: the inputs of a multi-band object classifier.

    Every curve is cleaned and cut into windows as in :func:`window_inputs`, then arranged by
    :func:`band_samples`. Returns ``(objects, x, errors, bands)`` as that does.
    """
    prepared, windows = window_inputs(light_curves, ids=ids, window_size=window_size)
    return band_samples(prepared, windows, bands=bands)


def band_samples(prepared, windows, bands=None):
    """Arrange the windows of cleaned curves (:class:`~astromer.data.light_curves.PreparedCurves`
    and their :class:`~astromer.data.windows.Windows`) by object and band.

    Sample ``j`` of an object holds window ``j`` of each of its bands (a band with fewer windows
    is empty there: mask 0), so an object whose curves fit one window is one sample.
    ``bands``: the band order (default: the sorted bands seen; a curve id without a band is
    band ``""``); a curve in another band is an error. Returns ``(objects, x, errors, bands)``:
    the object of each sample (objects in order of first appearance), ``x`` the dict of
    ``(S, K, W)`` ``times``/``magnitudes``/``mask``, ``errors`` ``(S, K, W)`` (None without
    errors) and the band order.
    """
    curve_keys = [i if isinstance(i, tuple) else (i, "") for i in prepared.ids]
    seen = sorted({str(b) for _, b in curve_keys})
    bands = seen if bands is None else [str(b) for b in bands]
    unknown = sorted(set(seen) - set(bands))
    if unknown:
        raise ValueError(f"curves in bands {unknown} are not among bands {bands}; pass every band to use, "
                         f"or leave those curves out")
    if len(windows) == 0:
        raise ValueError("no light curve is left to arrange by band (all were dropped or none were given)")
    band_index = {b: k for k, b in enumerate(bands)}
    slots = {}  # object -> band -> its window rows, in order
    for row, curve in enumerate(windows.object_index):
        obj, band = curve_keys[curve]
        slots.setdefault(obj, {}).setdefault(band_index[str(band)], []).append(row)
    objects, where = [], []  # where: (sample, band, window row)
    for obj, per_band in slots.items():
        for j in range(max(len(r) for r in per_band.values())):
            s = len(objects)
            objects.append(obj)
            where.extend((s, k, rows[j]) for k, rows in per_band.items() if j < len(rows))
    s, k, rows = (np.array(v, dtype=int) for v in zip(*where))
    shape = (len(objects), len(bands), windows.window_size)

    def place(values):
        out = np.zeros(shape, dtype="float32")
        out[s, k] = values[rows]
        return out

    x = {"times": place(windows.times), "magnitudes": place(windows.magnitudes), "mask": place(windows.mask)}
    errors = place(windows.errors) if prepared.has_errors and windows.errors is not None else None
    return objects, x, errors, bands
