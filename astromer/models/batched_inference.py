"""Inference over NumPy inputs in fixed-size batches, without ``Model.predict``'s per-call set-up."""

import contextlib
import logging

import keras
import numpy as np

from astromer.errors import AstromerError


def predict_in_batches(model, inputs, batch_size=256, verbose="auto"):
    """``model.predict(inputs, batch_size)`` for in-memory arrays, done batch by batch.

    ``inputs`` is an array or a dict of arrays with a common first axis. Each
    slice goes through ``model.predict_on_batch``, so the compiled predict
    function is reused and no ``tf.data`` pipeline is built per call: on the
    TensorFlow backend ``Model.predict`` spent about 0.4 s of set-up per call
    here (300 Astromer v1 windows: 1.30 s with ``predict``, 0.86 s batch by
    batch); on JAX the two are equal. ``verbose`` as in ``Model.predict``
    ("auto" or 1: a progress bar; 0: silent). Returns a NumPy array (or the
    structure ``predict_on_batch`` returns, concatenated along the first axis).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    batch_size = int(batch_size)
    is_dict = isinstance(inputs, dict)
    arrays = inputs if is_dict else {"x": inputs}
    lengths = {len(v) for v in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"All inputs need the same number of rows; got {sorted(lengths)}.")
    n = lengths.pop()
    steps = -(-n // batch_size)
    bar = keras.utils.Progbar(steps, verbose=1 if verbose == "auto" else int(verbose)) if verbose else None
    outputs = []
    for step, start in enumerate(range(0, n, batch_size)):
        chunk = {k: v[start : start + batch_size] for k, v in arrays.items()}
        out = model.predict_on_batch(chunk if is_dict else chunk["x"])
        outputs.append(keras.tree.map_structure(np.asarray, out))
        if bar is not None:
            bar.update(step + 1)
    if not outputs:
        raise ValueError("Nothing to predict: the inputs have 0 rows.")
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *outputs)


class _DropRetracingWarnings(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def expected_retracing():
    """Inside: TensorFlow's "N out of the last M calls ... triggered tf.function retracing"
    warnings are dropped. TensorFlow counts traces by the code of Keras's predict step, across
    models, so encoding by length buckets (one model per bucket length, each traced for a full
    and a last partial batch) trips it on every large ``embed``, although each shape is traced
    once by design. Other TensorFlow messages pass; on JAX nothing is logged there."""
    logger, drop = logging.getLogger("tensorflow"), _DropRetracingWarnings()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class NonFiniteOutputError(AstromerError, ValueError):
    """A model output held NaN or inf; the message names the inputs it came from."""


def require_finite(values, owners, what="output"):
    """Raise :class:`NonFiniteOutputError` naming the inputs whose rows of ``values`` are not finite.

    ``values``: ``(N, ...)`` array, or a list of ``N`` arrays (one per owner, of any
    shapes); ``owners[i]``: the input (object id, image index, ...) that row ``i``
    belongs to. Outputs are never written or returned with NaN/inf in them.
    """
    if isinstance(values, list):
        bad = np.array([not np.isfinite(v).all() for v in values], dtype=bool)
    else:
        values = np.asarray(values)
        bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        names = list(dict.fromkeys(str(owners[i]) for i in np.flatnonzero(bad)))
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise NonFiniteOutputError(
            f"the {what} of {len(names)} input(s) contains NaN or inf: {', '.join(names[:5])}{more} "
            "(check those inputs for extreme values, or the model's weights)")
