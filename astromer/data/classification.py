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


def labelled_windows(light_curves, labels, ids=None, window_size=200, class_names=None):
    """Windows with one integer label each (the label of their object).

    ``labels``: a sequence aligned with the curves, or a mapping ``object_id -> label``
    (for DataFrame inputs, whose curve ids are object ids or ``(object_id, band)``).
    Labels may be names; ``class_names`` fixes their order (default: sorted).
    Returns ``(x, y, object_of_window, class_names)`` with ``x`` the model's input dict.
    """
    prepared, windows = window_inputs(light_curves, ids=ids, window_size=window_size)
    keys = object_keys(prepared.ids)
    if isinstance(labels, dict) or hasattr(labels, "to_dict") and not isinstance(labels, (list, tuple)):
        mapping = labels.to_dict() if hasattr(labels, "to_dict") else labels
        missing = [k for k in keys if k not in mapping]
        if missing:
            raise ValueError(f"{len(missing)} curves have no label, e.g. {missing[:5]}.")
        per_curve = [mapping[k] for k in keys]
    else:
        per_curve = list(labels)
        n_input = len(prepared.ids) + len(prepared.dropped)
        if len(per_curve) != n_input:
            raise ValueError(f"{len(per_curve)} labels for {n_input} light curves.")
        per_curve = [per_curve[i] for i in prepared.kept]  # curves dropped by cleaning lose their label
    if class_names is None:
        class_names = sorted({str(v) for v in per_curve})
    class_names = [str(c) for c in class_names]
    lookup = {c: i for i, c in enumerate(class_names)}
    unknown = sorted({str(v) for v in per_curve} - set(lookup))
    if unknown:
        raise ValueError(f"labels {unknown} are not in class_names {class_names}.")
    curve_label = np.array([lookup[str(v)] for v in per_curve], dtype="int64")
    x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
    objects = [keys[i] for i in windows.object_index]
    return x, curve_label[windows.object_index], objects, class_names
