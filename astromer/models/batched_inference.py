"""Inference over NumPy inputs in fixed-size batches, without ``Model.predict``'s per-call set-up."""

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


def length_buckets(lengths, width, row_cost, max_buckets=4, step=8):
    """Cut lengths for windows of real ``lengths`` (each ``<= width``): at most ``max_buckets``
    lengths, multiples of ``step`` (or ``width``), the longest ``>= max(lengths)``, chosen to
    minimise the total compute of encoding every window at the shortest cut that holds it.

    A window cut to ``L`` steps costs ``L * (row_cost + L)``: ``row_cost`` is the per-step work
    of the projections and feed-forward layers in units of one attention product's work per key
    (for a transformer of width ``d`` and feed-forward ``f``: ``2 d + f``); the attention adds
    ``L`` per step. Exact by dynamic programming over the (at most ``width / step + 1``)
    candidate lengths. Returns the sorted cut lengths and, per window, the index of its cut.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0:
        raise ValueError("length_buckets needs at least one window.")
    if lengths.min() < 0 or lengths.max() > width:
        raise ValueError(f"window lengths must lie in [0, {width}], got {lengths.min()}..{lengths.max()}")
    candidates = np.array(sorted({min(width, c) for c in range(step, width + step, step)}), dtype=np.int64)
    group = np.searchsorted(candidates, lengths)  # the shortest candidate holding each window
    used = np.unique(group)
    counts = np.array([(group == g).sum() for g in used], dtype=np.float64)
    edge = candidates[used].astype(np.float64)
    cost = edge * (row_cost + edge)
    m, k_max = len(used), min(int(max_buckets), len(used))
    # best[k, j]: the least cost of groups 0..j in k + 1 buckets, the last one cut at group j
    best = np.full((k_max, m), np.inf)
    back = np.zeros((k_max, m), dtype=np.int64)
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    best[0] = cost * cum[1:]
    for k in range(1, k_max):
        for j in range(k, m):
            # previous bucket ends at group i < j; groups i+1..j are cut at group j's length
            options = best[k - 1, :j] + cost[j] * (cum[j + 1] - cum[1:j + 1])
            back[k, j] = int(np.argmin(options))
            best[k, j] = options[back[k, j]]
    k = int(np.argmin(best[:, m - 1]))
    ends, j = [m - 1], m - 1
    while k > 0:
        j = back[k, j]
        ends.append(j)
        k -= 1
    edges = candidates[used[np.array(sorted(ends))]]
    return [int(e) for e in edges], np.searchsorted(edges, lengths)


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
