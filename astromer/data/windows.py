"""Fixed-size windows over light curves (numpy), as the Astromer encoder sees them.

Magnitudes and errors follow the original Astromer loaders bit-for-bit:
values are cast to float32 first, the per-window mean is a float32 sequential
sum over the real observations divided by their count in float32 (identical to
``tf.reduce_mean(window, axis=0)`` on an ``(n, 3)`` float32 window), and the
mean is subtracted in float32.

Times are centred in float64 by default (``time_precision="float64"``): the
window mean time is taken and subtracted in float64 and only the centred
result is cast to float32, so JD (~2.45e6), MJD (~5e4) and small-day times
give the same windows (float32 has a 0.25 d step at JD and 0.004 d at MJD).
``time_precision="float32"`` is the original libraries' arithmetic (cast
first, then centre), kept for bit-exact parity with their outputs; it is only
safe for times below ~1e4 days.

:func:`length_buckets` chooses the lengths that padded windows are cut to, where padding need
not be computed (``Astromer.encode_windows``, the length-bucketed pretraining batches);
:func:`trim_windows` cuts a whole set of windows to one length (the multi-band scenarios).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIME_PRECISIONS = ("float64", "float32")


@dataclass
class Windows:
    """Padded windows; all arrays share the leading window axis ``N``.

    Attributes:
        times: (N, W) float32, time minus the window mean time; 0 at padding.
        magnitudes: (N, W) float32, magnitude minus the window mean; 0 at padding.
        errors: (N, W) float32, RAW errors (not zero-meaned, unlike the
            original, which also subtracted the window mean error); 0 at padding.
        mask: (N, W) float32, 1 = real observation, 0 = padding.
        object_index: (N,) int64, which curve each window comes from.
        start: (N,) int64, index of the window's first observation in its curve.
        length: (N,) int64, real observations in the window.
        owned_from: (N,) int64, first window position that this window "owns"
            (positions before it are already covered by the previous window).
        time_mean: (N,) window mean times that were subtracted (float64, or
            float32 with ``time_precision="float32"``).
        mag_mean, err_mean: (N,) float32 window means (err_mean is informative only).
    """

    times: np.ndarray
    magnitudes: np.ndarray
    errors: np.ndarray
    mask: np.ndarray
    object_index: np.ndarray
    start: np.ndarray
    length: np.ndarray
    owned_from: np.ndarray
    time_mean: np.ndarray
    mag_mean: np.ndarray
    err_mean: np.ndarray

    def __len__(self) -> int:
        return self.times.shape[0]

    @property
    def window_size(self) -> int:
        return self.times.shape[1]


def window_bounds(lengths, window_size: int):
    """Sequential windows for curves of the given lengths.

    Returns int64 arrays ``(object_index, start, length, owned_from)``.
    A curve with ``n <= W`` gives one window ``[0:n]``; otherwise windows
    ``[0:W], [W:2W], ...`` while they fit, plus, when ``n % W != 0``, a last
    window ``[n-W:n]`` shifted back so it is full (e.g. n=437, W=200 ->
    starts 0, 200, 237; the last one owns positions 163..199).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if window_size < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    if lengths.size and lengths.min() < 1:
        bad = int(np.argmin(lengths))
        raise ValueError(f"curve {bad} has no observations; cannot make a window")
    W = np.int64(window_size)
    n_windows = np.where(lengths <= W, 1, -(-lengths // W))  # ceil(n / W)
    object_index = np.repeat(np.arange(lengths.size, dtype=np.int64), n_windows)
    first_of_object = np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    k = np.arange(object_index.size, dtype=np.int64) - first_of_object
    n = lengths[object_index]
    nominal = k * W
    start = np.minimum(nominal, np.maximum(n - W, 0))  # only the last window moves back
    length = np.minimum(n, W)
    owned_from = nominal - start
    return object_index, start, length, owned_from


def _sequential_mean(values: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of zero-padded float32 ``(N, W, C)`` values.

    The sum is accumulated strictly left to right in float32 (``cumsum``), which
    reproduces ``tf.reduce_mean(x, axis=0)`` of the unpadded ``(n, C)`` window
    bit-for-bit; adding the zero padding does not change a float sum.
    """
    if values.shape[1] == 0:
        return np.zeros((values.shape[0], values.shape[2]), np.float32)
    total = np.cumsum(values, axis=1, dtype=np.float32)[:, -1]
    return total / length.astype(np.float32)[:, None]


def window_curves(curves, window_size: int = 200, time_precision: str = "float64") -> Windows:
    """Cut curves into zero-padded, per-window zero-mean windows.

    Args:
        curves: list of ``(n_i, 3)`` arrays (time, mag, err), e.g.
            ``PreparedCurves.curves``; each must have at least one row.
        window_size: W, the padded window length.
        time_precision: ``"float64"`` (default: times centred in float64, then
            cast) or ``"float32"`` (the original's cast-then-centre arithmetic,
            bit-exact with its loaders; loses precision at MJD/JD scale).
    """
    if time_precision not in TIME_PRECISIONS:
        raise ValueError(f"time_precision must be one of {TIME_PRECISIONS}, got {time_precision!r}")
    if len(curves) == 0:
        raise ValueError("window_curves needs at least one curve")
    arrays, times = [], []
    for i, c in enumerate(curves):
        a = np.asarray(c)
        if a.ndim != 2 or a.shape[1] != 3:
            raise ValueError(f"curve {i} has shape {a.shape}; expected (n, 3): time, mag, err")
        arrays.append(a.astype(np.float32, copy=False))
        times.append(a[:, 0].astype(np.float64, copy=False))
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    object_index, start, length, owned_from = window_bounds(lengths, window_size)

    flat = np.concatenate(arrays, axis=0)
    offsets = np.cumsum(lengths) - lengths
    pos = np.arange(window_size, dtype=np.int64)
    real = pos[None, :] < length[:, None]
    idx = np.where(real, offsets[object_index, None] + start[:, None] + pos[None, :], 0)
    raw = np.where(real[..., None], flat[idx], np.float32(0))

    mean = _sequential_mean(raw, length)
    centered = np.where(real[..., None], raw - mean[:, None, :], np.float32(0))
    time_mean = mean[:, 0].copy()
    if time_precision == "float64":
        t = np.where(real, np.concatenate(times)[idx], 0.0)
        time_mean = t.sum(axis=1) / length
        centered[..., 0] = np.where(real, t - time_mean[:, None], 0.0).astype(np.float32)
    return Windows(
        times=np.ascontiguousarray(centered[..., 0]),
        magnitudes=np.ascontiguousarray(centered[..., 1]),
        errors=np.ascontiguousarray(raw[..., 2]),
        mask=real.astype(np.float32),
        object_index=object_index,
        start=start,
        length=length,
        owned_from=owned_from,
        time_mean=time_mean,
        mag_mean=mean[:, 1].copy(),
        err_mean=mean[:, 2].copy(),
    )


def gather_observations(per_window_values, windows: Windows, n_objects: int) -> list:
    """Turn per-window outputs ``(N, W, ...)`` into one ``(n_i, ...)`` array per object.

    Each observation is taken from the first window that contains it (the
    positions ``owned_from:length`` of each window), so every input
    observation appears exactly once, in time order.
    """
    values = np.asarray(per_window_values)
    N, W = len(windows), windows.window_size
    if values.shape[:2] != (N, W):
        raise ValueError(
            f"per_window_values has shape {values.shape}; expected ({N}, {W}, ...) "
            "to match the windows"
        )
    obj = np.asarray(windows.object_index)
    if N and (obj.min() < 0 or obj.max() >= n_objects):
        raise ValueError(f"windows refer to object {int(obj.max())} but n_objects={n_objects}")
    order = np.lexsort((windows.start, obj))  # by object, then by start
    pos = np.arange(W)
    owned = (pos[None, :] >= windows.owned_from[order, None]) & (
        pos[None, :] < windows.length[order, None]
    )
    # one gather of the owned rows (not a reordered copy of every window first)
    rows = values.reshape((N * W,) + values.shape[2:])[(order[:, None] * W + pos[None, :])[owned]]
    counts = np.bincount(obj[order], weights=owned.sum(axis=1), minlength=n_objects)
    return np.split(rows, np.cumsum(counts.astype(np.int64))[:-1])


def error_weights(errors, mask) -> np.ndarray:
    """Astromer 2 uncertainty loss weights for padded windows ``(..., W)``.

    ``w = 1/err`` (0 where err == 0), min-max normalised per window over the
    real observations, plus 1e-3; 0 at padding. Constant or zero errors give
    0.001 instead of NaN/inf (divide-no-nan). All arithmetic is float32, as in
    the original.

    Differences from the original ``create_loss_weigths``: it worked on errors
    rebuilt as ``(err - mean) + mean`` (a float32 round trip, ~1 ulp) and gave
    padding the weight of an error equal to the window mean instead of 0.
    """
    err = np.asarray(errors, dtype=np.float32)
    real = np.asarray(mask) > 0
    if err.shape != real.shape:
        raise ValueError(f"errors shape {err.shape} does not match mask shape {real.shape}")
    safe = np.where(err == 0, np.float32(1), err)
    inv = np.where(err == 0, np.float32(0), np.float32(1) / safe)
    lo = np.min(np.where(real, inv, np.float32(np.inf)), axis=-1, keepdims=True)
    hi = np.max(np.where(real, inv, np.float32(-np.inf)), axis=-1, keepdims=True)
    any_real = real.any(axis=-1, keepdims=True)
    lo = np.where(any_real, lo, np.float32(0))
    hi = np.where(any_real, hi, np.float32(0))
    span = hi - lo
    scaled = np.where(span > 0, (inv - lo) / np.where(span > 0, span, np.float32(1)), np.float32(0))
    return np.where(real, scaled + np.float32(1e-3), np.float32(0)).astype(np.float32)


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


def _real_lengths(x, width, attended):
    """Per row of ``x`` (dict of ``(N, W)`` arrays), the steps up to its last real one: the last
    step ``mask`` marks or, where padding is ``attended``, also the last whose time or magnitude
    is not 0 (a padded step is all zeros)."""
    seen = np.asarray(x["mask"]) > 0
    if attended:
        seen = seen | (np.asarray(x["times"]) != 0) | (np.asarray(x["magnitudes"]) != 0)
    return np.where(seen.any(axis=1), width - np.argmax(seen[:, ::-1], axis=1), 0)


def _padding_key_bias(width, real, length):
    """``(N, length)`` key weights of windows of ``real`` steps cut from ``width`` to ``length``
    where the model attends its padding: ``log(P / p)`` at each of the ``p`` kept padded steps of
    ``P`` (every padded step is the same key, so ``p`` keys weighted ``P / p`` give the same
    softmax as ``P``), 0 at real steps."""
    padded = np.arange(length)[None, :] >= real[:, None]
    weight = np.log((width - real) / (length - real)).astype(np.float32)
    return np.where(padded, weight[:, None], np.float32(0.0))


def cut_windows(x, width, lengths=None, attended=False, row_cost=640):
    """Padded windows ``x`` (dict of ``(N, W)`` arrays: times, magnitudes, mask, ...) grouped by
    real length and cut to their bucket (:func:`length_buckets`). Yields ``(rows, inputs,
    padded)`` per bucket: ``rows`` the indices into ``x``, ``inputs`` their cut arrays,
    ``padded`` ``(len(rows), cut)`` True at padded steps.

    A window's length is ``lengths`` or up to its last step ``mask`` marks, whichever is longer
    (hidden steps before it count). ``attended``: the model attends its padding (Astromer 1), so
    a step after the last marked one whose time or magnitude is not 0 counts as real, a cut
    window keeps at least one padded step, and ``inputs`` gains ``"key_bias"`` where the cut is
    shorter than ``W``: ``log(P / p)`` at its ``p`` kept padded steps of ``P`` (see
    ``Astromer.encode_windows``).
    """
    real = _real_lengths(x, width, attended)
    lengths = real if lengths is None else np.maximum(np.asarray(lengths, dtype=int), real)
    needed = np.minimum(lengths + 1, width) if attended else lengths
    edges, bucket = length_buckets(needed, width, row_cost)
    for b in np.unique(bucket):
        rows, length = np.flatnonzero(bucket == b), edges[b]
        chunk = {k: np.asarray(v)[rows, :length] for k, v in x.items()}
        real_b = lengths[rows]
        padded = np.arange(length)[None, :] >= real_b[:, None]
        if attended and length < width:
            chunk["key_bias"] = _padding_key_bias(width, real_b, length)
        yield rows, chunk, padded


def trim_windows(x, width, attended=False, step=8):
    """Padded windows ``x`` (dict of ``(..., W)`` arrays: times, magnitudes, mask, ...) cut to one
    common length: the shortest multiple of ``step`` (or ``W``) that holds every window's real
    steps (see :func:`cut_windows`; with ``attended`` padding, at least one padded step is kept
    and ``"key_bias"`` ``(..., length)`` is added). Returns ``(inputs, length)``; ``inputs`` is
    ``x`` itself when nothing can be cut or ``x`` was cut already (shorter than ``W``, or with
    ``"key_bias"``).

    Unlike :func:`cut_windows`, every window keeps its place: a training set trimmed so trains
    on the same batches as the padded one (the multi-band scenarios, whose samples hold every
    band of an object). Every window of a survey whose curves fit one window shares the
    saving; one full window anywhere leaves ``W``.
    """
    shape = np.shape(x["mask"])
    if shape[-1] > width:
        raise ValueError(f"windows of {shape[-1]} steps are longer than the model's {width}")
    if shape[-1] < width or "key_bias" in x:  # cut already
        return x, shape[-1]
    flat = {k: np.reshape(np.asarray(x[k]), (-1, shape[-1])) for k in ("times", "magnitudes", "mask")}
    real = _real_lengths(flat, width, attended)
    needed = np.minimum(real + 1, width) if attended else real
    longest = int(needed.max()) if needed.size else 0
    length = min(width, max(step, -(-longest // step) * step))
    if length >= width:
        return x, width
    out = {k: np.asarray(v)[..., :length] for k, v in x.items()}
    if attended:
        out["key_bias"] = _padding_key_bias(width, real, length).reshape(*shape[:-1], length)
    return out, length
