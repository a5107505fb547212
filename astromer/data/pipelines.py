"""tf.data input pipelines for Astromer pretraining and numpy windows for inference."""

from __future__ import annotations


import numpy as np
import tensorflow as tf

from .light_curves import PreparedCurves, prepare_light_curves
from .masking import VARIANTS, mask_window
from .windows import Windows, length_buckets, window_bounds, window_curves

from astromer.losses.masked_rmse import LOSS_MASK, TARGET, WEIGHT  # packed y_true layout


def _check_fraction(name, value, allow_zero=True):
    lo_ok = value >= 0 if allow_zero else value > 0
    if not (lo_ok and value <= 1):
        raise ValueError(f"{name} must be in {'[0' if allow_zero else '(0'}, 1], got {value}")


def error_weights_tf(errors, mask):
    """TensorFlow twin of :func:`astromer.data.windows.error_weights` (same float32 result)."""
    errors = tf.convert_to_tensor(errors, tf.float32)
    real = tf.convert_to_tensor(mask) > 0
    inv = tf.math.divide_no_nan(tf.ones_like(errors), errors)
    lo = tf.reduce_min(tf.where(real, inv, float("inf")), axis=-1, keepdims=True)
    hi = tf.reduce_max(tf.where(real, inv, float("-inf")), axis=-1, keepdims=True)
    any_real = tf.reduce_any(real, axis=-1, keepdims=True)
    lo = tf.where(any_real, lo, 0.0)
    hi = tf.where(any_real, hi, 0.0)
    scaled = tf.math.divide_no_nan(inv - lo, hi - lo) + 1e-3
    return tf.where(real, scaled, 0.0)


def check_masking(probed, random, same, masking):
    """Validate masking fractions for ``masking`` in ("v1", "v2")."""
    if masking not in VARIANTS:
        raise ValueError(f"masking must be one of {VARIANTS}, got {masking!r}")
    # v1 uses probed=0 as its "no masking" setting; v2 probes nothing with it.
    _check_fraction("probed", probed, allow_zero=(masking == "v1"))
    _check_fraction("random", random)
    _check_fraction("same", same)


def window_example(
    curve,
    seed,
    *,
    window_size,
    start=None,
    sampling=False,
    probed=0.5,
    random=0.2,
    same=0.2,
    masking="v2",
    uncertainty_weights=False,
    times=None,
):
    """One padded, per-window zero-mean (masked) window of one light curve (graph-safe).

    The single per-window step shared by :func:`pretraining_dataset` and the
    record pipelines (:mod:`astromer.records.light_curve_pipelines`).

    Args:
        curve: ``(n, 3)`` float32 tensor (time, mag, err) of one curve, n >= 1.
        seed: shape-(2,) int tensor; split into a window-start seed and a mask seed.
        window_size: W. The window holds ``min(n, W)`` consecutive observations.
        start: int64 scalar, first observation of the window (a sequential
            window); ignored when ``sampling`` is True. Default 0.
        sampling: draw the start uniformly from ``[0, max(n - W, 0)]``.
        probed, random, same, masking: see :func:`mask_window`; ``masking=None``
            means no masking at all (inference: every real observation visible
            and in the loss, magnitudes unchanged).
        uncertainty_weights: WEIGHT = Astromer 2 error weights instead of the
            real-observation mask.
        times: optional ``(n,)`` float64 times. When given they replace column 0
            of ``curve``: the window mean time is taken and subtracted in float64
            and only the result is cast to float32 (records keep float64 times;
            at MJD ~5e4 a float32 time has a 0.004 d ulp). Magnitudes (and raw
            errors) are always float32 and zero-meaned exactly as
            ``tf.reduce_mean(window, axis=0)`` on the float32 ``(n, 3)`` window,
            which is the original's operation (bit-identical to
            :func:`astromer.data.window_curves`).

    Returns:
        ``(x, y, start)``: ``x`` dict of (W,) float32 ``times``, ``magnitudes``
        (masked input), ``mask`` (attention visibility); ``y`` (W, 3) float32
        ``[TARGET, LOSS_MASK, WEIGHT]``; ``start`` the int64 first observation.
    """
    W = int(window_size)
    curve = tf.convert_to_tensor(curve, tf.float32)
    count = tf.shape(curve, out_type=tf.int64)[0]
    window_seed, mask_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    length = tf.minimum(count, W)
    if sampling:
        start = tf.random.stateless_uniform(
            [], window_seed, minval=0, maxval=tf.maximum(count - W, 0) + 1, dtype=tf.int64
        )
    elif start is None:
        start = tf.constant(0, tf.int64)
    else:
        start = tf.cast(start, tf.int64)
    window = curve[start : start + length]  # (length, 3) float32
    centered = window - tf.reduce_mean(window, axis=0)  # exactly the original's op
    if times is not None:
        t = tf.cast(times, tf.float64)[start : start + length]
        t = tf.cast(t - tf.reduce_mean(t), tf.float32)
        centered = tf.concat([t[:, None], centered[:, 1:]], axis=1)
    pad = [[0, W - length], [0, 0]]
    centered = tf.ensure_shape(tf.pad(centered, pad), [W, 3])
    errors = tf.ensure_shape(tf.pad(window[:, 2], pad[:1]), [W])
    mask = tf.sequence_mask(length, W, dtype=tf.float32)
    if masking is None:
        masked = {"input": centered[:, 1], "visible": mask, "loss_mask": mask}
    else:
        masked = mask_window(centered[:, 1], mask, mask_seed, probed, random, same, masking)
    weight = error_weights_tf(errors, mask) if uncertainty_weights else mask
    x = {"times": centered[:, 0], "magnitudes": masked["input"], "mask": masked["visible"]}
    y = tf.stack([centered[:, 1], masked["loss_mask"], weight], axis=-1)
    return x, y, start


PADDING = ("ignored", "attended")


def check_length_buckets(value):
    if value is not None and value not in PADDING:
        raise ValueError(f"length_buckets must be None, 'ignored' or 'attended', got {value!r}")


def length_bucketed_batches(ds, batch_size, window_size, lengths, padding="ignored", row_cost=640):
    """Batches of windows of similar real length, each cut to its bucket's length.

    ``ds`` yields unbatched ``(x, y)`` windows padded to ``window_size`` W (as
    :func:`window_example` makes them; a real step has ``y[..., WEIGHT] > 0``, padding 0
    everywhere). ``lengths``: the real lengths of the windows to come, which choose the cut
    lengths (:func:`astromer.data.windows.length_buckets`, at most 4 multiples of
    8; ``row_cost`` as there, 640 for Astromer 1's widths). Windows are grouped by the shortest
    cut that holds them (``tf.data.Dataset.group_by_window``: a batch is emitted when
    ``batch_size`` windows of one bucket have arrived, the rest at the end; ``lengths=None``, for
    streamed records whose lengths are not known ahead: the cuts ``W/4, W/2, 3W/4, W`` rounded
    up to multiples of 8) and each batch is cut
    to that length, so padding costs no compute. The loss is the same per window (the cut steps
    have no loss mask) and so are the outputs of real steps:

    - ``padding="ignored"`` (Astromer 2, modern: padded keys are masked out): cut;
    - ``"attended"`` (Astromer 1): a cut window keeps at least one padded step and ``x`` gains
      ``"key_bias"`` ``(B, cut)``, ``log(P / p)`` at its ``p`` kept padded steps of ``P``
      (see ``Astromer.encode_windows``: the same softmax, forward and gradient).

    The batches are grouped by length, not drawn at random across lengths: each epoch still
    sees every window once, in an order shuffled within each bucket.
    """
    if padding not in PADDING:
        raise ValueError(f"padding must be one of {PADDING}, got {padding!r}")
    W, attended = int(window_size), padding == "attended"
    if lengths is None:
        edges = sorted({min(W, -(-int(np.ceil(W * q)) // 8) * 8) for q in (0.25, 0.5, 0.75)} | {W})
    else:
        lengths = np.asarray(lengths, dtype=np.int64)
        edges, _ = length_buckets(np.minimum(lengths + 1, W) if attended else lengths, W, row_cost)
    edges_t = tf.constant(edges, tf.int64)
    steps = tf.range(1, W + 1, dtype=tf.int64)

    def real_length(y):  # (..., W, 3) -> (...) the last real step + 1
        return tf.reduce_max(tf.where(y[..., WEIGHT] > 0, steps, tf.zeros_like(steps)), axis=-1)

    def key(x, y):
        n = real_length(y)
        return tf.searchsorted(edges_t, [tf.minimum(n + 1, W) if attended else n], side="left",
                               out_type=tf.int64)[0]

    def cut_batch(bucket):
        cut = edges_t[bucket]

        def crop(x, y):
            out = {k: v[:, :cut] for k, v in x.items()}
            if attended:
                n = real_length(y)[:, None]
                kept = cut - n  # padded steps kept (0 only for a full window)
                weight = tf.math.log(tf.cast(W - n, tf.float32) / tf.cast(tf.maximum(kept, 1), tf.float32))
                out["key_bias"] = tf.where(tf.range(cut)[None, :] >= n, weight, 0.0)
            return out, y[:, :cut]

        return crop

    return ds.group_by_window(
        key_func=key,
        reduce_func=lambda bucket, windows: windows.batch(int(batch_size)).map(cut_batch(bucket)),
        window_size=int(batch_size),
    )


def pretraining_dataset(
    light_curves,
    *,
    batch_size=64,
    window_size=200,
    probed=0.5,
    random=0.2,
    same=0.2,
    sampling=True,
    shuffle=True,
    seed=None,
    min_observations=5,
    uncertainty_weights=False,
    repeat=False,
    masking="v2",
    time_precision="float64",
    length_buckets=None,
) -> tf.data.Dataset:
    """Masked-magnitude pretraining data as a ``tf.data.Dataset`` of ``(x, y)`` batches.

    Args:
        light_curves: anything :func:`prepare_light_curves` accepts, or a
            :class:`PreparedCurves`. Cleaned with the package's one policy
            (:mod:`astromer.data.cleaning`); curves with fewer than
            ``min_observations`` observations after cleaning are dropped and
            counted in one warning.
        window_size: W; every element is padded to exactly W.
        probed, random, same: masking fractions (see :func:`mask_window`).
        masking: ``"v2"`` (Astromer 2, default) or ``"v1"`` (Astromer 1
            library); they differ only at ``probed`` 0 and 1 (see
            :mod:`astromer.data.masking`).
        sampling: True -> one random window of W consecutive observations per
            curve and epoch (whole curve if shorter); False -> all sequential
            windows (see :func:`window_bounds`).
        shuffle: shuffle curves/windows each epoch (seeded by ``seed``).
        seed: makes windows, masks and order reproducible; each new iteration
            over the dataset (epoch) still draws new windows and masks.
        uncertainty_weights: WEIGHT = Astromer 2 error weights instead of 1.
        repeat: repeat forever (epochs then run into each other).
        time_precision: ``"float64"`` (default) centres window times in float64
            before the cast; ``"float32"`` is the original's cast-then-centre
            arithmetic (see :func:`astromer.data.window_curves`).
        length_buckets: ``None`` (default): every batch padded to W; ``"ignored"`` /
            ``"attended"``: batches of windows of similar length cut to their bucket
            (:func:`length_bucketed_batches`; the model's padding: ``"attended"`` for
            Astromer 1, whose batches then carry ``key_bias``), so padding costs no compute.

    All observations are held in memory as one float32 tensor (and float64
    times) captured by the
    map function (keep it well under TensorFlow's 2 GB graph limit). For data
    that does not fit, write records and use
    :func:`astromer.records.pretraining_records`. The per-window
    work is :func:`window_example`, shared with the record pipelines.

    Yields:
        ``x = {"times", "magnitudes", "mask"}`` each (B, W) float32 (``mask`` is
        the attention visibility, ``magnitudes`` the masked input) and ``y`` of
        shape (B, W, 3) float32 holding ``[TARGET, LOSS_MASK, WEIGHT]``.
    """
    window_size = int(window_size)
    if window_size < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if int(min_observations) < 1:
        raise ValueError(f"min_observations must be >= 1, got {min_observations}")
    check_masking(probed, random, same, masking)
    check_length_buckets(length_buckets)

    if time_precision not in ("float64", "float32"):
        raise ValueError(f"time_precision must be 'float64' or 'float32', got {time_precision!r}")
    if isinstance(light_curves, PreparedCurves):
        prepared = light_curves.select(light_curves.lengths >= int(min_observations))
        if len(prepared) == 0:
            raise ValueError(f"no light curve has at least min_observations={min_observations} observations")
    else:
        prepared = prepare_light_curves(light_curves, min_observations=int(min_observations))
    if uncertainty_weights and not prepared.has_errors:
        raise ValueError(
            "uncertainty_weights=True needs magnitude errors, but the light curves have none "
            "(give (n, 3) arrays or a mag_err column)"
        )
    lengths = prepared.lengths
    stacked = np.concatenate(prepared.curves, axis=0)
    flat = tf.constant(stacked.astype(np.float32))
    flat_times = tf.constant(stacked[:, 0].astype(np.float64)) if time_precision == "float64" else None
    offsets = np.cumsum(lengths) - lengths
    if sampling:
        first, count = offsets, lengths
    else:
        obj, start, length, _ = window_bounds(lengths, window_size)
        first, count = offsets[obj] + start, length

    W = window_size

    def make_example(first, count, seed_pair):
        curve = flat[first : first + count]  # (count, 3) float32
        times = None if flat_times is None else flat_times[first : first + count]
        x, y, _ = window_example(
            curve, seed_pair, window_size=W, sampling=sampling, probed=probed, random=random,
            same=same, masking=masking, uncertainty_weights=uncertainty_weights, times=times,
        )
        return x, y

    ds = tf.data.Dataset.from_tensor_slices(
        (np.asarray(first, np.int64), np.asarray(count, np.int64))
    )
    if shuffle:
        ds = ds.shuffle(len(first), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(
        2, drop_remainder=True
    )
    ds = tf.data.Dataset.zip(ds, seeds)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(
        lambda fc, s: make_example(fc[0], fc[1], s),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if length_buckets is not None:
        window_lengths = np.minimum(count, W)
        return length_bucketed_batches(ds, batch_size, W, window_lengths, padding=length_buckets).prefetch(
            tf.data.AUTOTUNE)
    return ds.batch(int(batch_size), drop_remainder=False).prefetch(tf.data.AUTOTUNE)


def inference_windows(light_curves, window_size=200, time_precision="float64") -> tuple[PreparedCurves, Windows]:
    """Clean curves and cut them into sequential zero-mean windows (numpy).

    Use :func:`gather_observations` to map per-window model outputs back to
    one row per observation. ``time_precision``: see :func:`window_curves`.
    """
    prepared = prepare_light_curves(light_curves)
    return prepared, window_curves(prepared.curves, window_size, time_precision=time_precision)
