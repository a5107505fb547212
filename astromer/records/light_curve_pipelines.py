"""tf.data pipelines that stream light-curve records (TFRecord shards) into ``fit()``.

Light-curve records (:func:`astromer.records.schema.parse_light_curve`) feed

- :func:`pretraining_records`: masked-magnitude pretraining windows, the same
  ``(x, y)`` layout as :func:`astromer.data.pretraining_dataset`;
- :func:`inference_records`: every sequential window with the object id and
  window bookkeeping, so per-window outputs can be regrouped per object;
- :func:`classification_records`: windows with integer or one-hot labels.

Image records feed :func:`astromer.records.image_pipelines.image_records`.

The per-window work (window choice, zero-mean, masking, packing) is
:func:`astromer.data.pipelines.window_example`, the same function the in-memory
pipeline uses. Records keep float64 times; the window mean time is subtracted
in float64 and only the result is cast to float32 (the in-memory pipeline casts
times to float32 first, as the original did, so its times differ by up to a
few 1e-3 days at MJD ~5e4; magnitudes are bit-identical).

Shuffling is two-level (:func:`astromer.records.streams.serialized_records`).
With a ``seed`` the order, the random windows and the masks are reproducible
(two pipelines built with the same seed give the same epochs), yet each new
iteration over a dataset (each epoch) draws a new order, new windows and new
masks: the seeds come from ``tf.data.Dataset.random(seed,
rerandomize_each_iteration=True)`` and feed stateless random ops.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from astromer.data.pipelines import check_length_buckets, check_masking, length_bucketed_batches, window_example
from astromer.records.schema import parse_light_curve
from astromer.records.shard_errors import reporting_bad_shards
from astromer.records.streams import record_files, reports_bad_shards, serialized_records, sub_seeds


def _window_seeds(seed):
    rng_seed = sub_seeds(seed, 3)[2]
    return tf.data.Dataset.random(seed=rng_seed, rerandomize_each_iteration=True).batch(
        2, drop_remainder=True
    )


def _parse(serialized):
    """Parsed light curve plus the float32 ``(n, 3)`` array the window step works on."""
    c = parse_light_curve(serialized)
    n = tf.shape(c["mag"], out_type=tf.int64)[0]
    c["length"] = n  # from the columns themselves (the context copy is not trusted)
    c["values"] = tf.stack([tf.cast(c["time"], tf.float32), c["mag"], c["err"]], axis=1)
    return c


def sequential_window_bounds(n, window_size):
    """TF twin of :func:`astromer.data.window_bounds` for one curve of ``n`` observations.

    Returns int64 ``(window_index, start, owned_from)`` vectors (one entry per
    window); every window holds ``min(n, W)`` observations.
    """
    n = tf.cast(n, tf.int64)
    W = tf.constant(int(window_size), tf.int64)
    n_windows = tf.where(n <= W, tf.constant(1, tf.int64), (n + W - 1) // W)
    k = tf.range(n_windows, dtype=tf.int64)
    nominal = k * W
    start = tf.minimum(nominal, tf.maximum(n - W, 0))
    return k, start, nominal - start


def _split_windows(window_size):
    def split(c):
        k, start, owned = sequential_window_bounds(c["length"], window_size)
        bounds = tf.data.Dataset.from_tensor_slices(
            {"window_index": k, "start": start, "owned_from": owned}
        )
        curves = tf.data.Dataset.from_tensors(c).repeat(tf.size(k, out_type=tf.int64))
        return tf.data.Dataset.zip(curves, bounds)

    return split


def _one_window(c):
    zero = tf.constant(0, tf.int64)
    return c, {"window_index": zero, "start": zero, "owned_from": zero}


def _curve_windows(files, *, window_size, sampling, shuffle, seed, cycle_length,
                   shuffle_buffer, repeat, min_observations, keep=None):
    """(curve, bounds, seed) elements: one random or every sequential window per curve."""
    ds = serialized_records(files, shuffle=shuffle, seed=seed, cycle_length=cycle_length,
                  shuffle_buffer=shuffle_buffer, repeat=repeat)
    ds = ds.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    min_obs = int(min_observations)
    ds = ds.filter(lambda c: c["length"] >= min_obs)
    if keep is not None:
        ds = ds.filter(keep)
    if sampling:
        ds = ds.map(_one_window)
    else:
        ds = ds.flat_map(_split_windows(window_size))
    return tf.data.Dataset.zip(ds, _window_seeds(seed))


def _check_common(batch_size, window_size, min_observations):
    if int(window_size) < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if int(min_observations) < 1:
        raise ValueError(f"min_observations must be >= 1, got {min_observations}")


def _info(c, bounds, start, window_size):
    return {
        "object_id": c["object_id"],
        "band": c["band"],
        "label": c["label"],
        "window_index": bounds["window_index"],
        "start": start,
        "length": tf.minimum(c["length"], int(window_size)),
        "owned_from": bounds["owned_from"],
    }


@reports_bad_shards()
def pretraining_records(
    path_or_files,
    *,
    split="train",
    batch_size=64,
    window_size=200,
    probed=0.5,
    random=0.2,
    same=0.2,
    masking="v2",
    sampling=True,
    shuffle=True,
    seed=None,
    min_observations=5,
    uncertainty_weights=False,
    repeat=False,
    cycle_length=8,
    shuffle_buffer=10_000,
    length_buckets=None,
) -> tf.data.Dataset:
    """Masked-magnitude pretraining batches streamed from light-curve records.

    Same output as :func:`astromer.data.pretraining_dataset`: ``x = {"times",
    "magnitudes", "mask"}`` each (B, W) float32 and ``y`` (B, W, 3) float32
    ``[TARGET, LOSS_MASK, WEIGHT]`` (see :mod:`astromer.losses.masked_rmse`).

    Args:
        path_or_files: a records folder (with ``split``), one file, a glob
            pattern or a list of files.
        split: which split of a records folder ("train", "val", "test"; None = all).
        window_size: W; elements are padded to exactly W.
        probed, random, same, masking: masking fractions and variant
            ("v2" Astromer 2, "v1" Astromer 1 library; see
            :mod:`astromer.data.masking`). Masks are drawn afresh every epoch.
        sampling: True: one random window of W consecutive observations per
            curve and epoch (the whole curve if shorter), the original's
            pretraining; False: every sequential window of every curve.
        shuffle: shuffle shards each epoch, interleave ``cycle_length`` of them,
            then a ``shuffle_buffer``-record shuffle.
        seed: makes order, windows and masks reproducible (new ones each epoch).
        min_observations: curves with fewer observations are skipped (count
            them with :func:`light_curve_counts`).
        uncertainty_weights: WEIGHT = Astromer 2 error weights instead of 1.
        repeat: repeat forever (then give ``steps_per_epoch`` to ``fit``).
        length_buckets: ``None``: batches padded to W; ``"ignored"`` / ``"attended"``: batches
            of similar lengths cut to ``W/4, W/2, 3W/4`` or ``W`` steps (see
            :func:`astromer.data.pipelines.length_bucketed_batches`).

    Times: the record's float64 times are zero-meaned per window in float64 and
    then cast to float32 (more precise than the in-memory pipeline, which casts
    first); magnitudes are float32 and zero-meaned exactly as there.
    """
    _check_common(batch_size, window_size, min_observations)
    check_masking(probed, random, same, masking)
    check_length_buckets(length_buckets)
    files = record_files(path_or_files, split)
    W = int(window_size)

    def make(pair, seed_pair):
        c, bounds = pair
        x, y, _ = window_example(
            c["values"], seed_pair, window_size=W, start=bounds["start"], sampling=sampling,
            probed=probed, random=random, same=same, masking=masking,
            uncertainty_weights=uncertainty_weights, times=c["time"],
        )
        return x, y

    ds = _curve_windows(files, window_size=W, sampling=sampling, shuffle=shuffle, seed=seed,
                        cycle_length=cycle_length, shuffle_buffer=shuffle_buffer,
                        repeat=repeat, min_observations=min_observations)
    ds = ds.map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if length_buckets is not None:
        return length_bucketed_batches(ds, batch_size, W, None, padding=length_buckets).prefetch(tf.data.AUTOTUNE)
    return ds.batch(int(batch_size), drop_remainder=False).prefetch(tf.data.AUTOTUNE)


@reports_bad_shards()
def inference_records(
    path_or_files,
    *,
    split=None,
    batch_size=256,
    window_size=200,
    min_observations=1,
    uncertainty_weights=False,
) -> tf.data.Dataset:
    """Every sequential window of every curve, in file order, with its bookkeeping.

    Windows follow :func:`astromer.data.window_bounds`: ``[0:W], [W:2W], ...``,
    the last one shifted back to be full; each observation is *owned* by the
    first window holding it (positions ``owned_from:length``), so taking the
    owned positions of each window regroups one row per observation.

    Yields ``(x, info)``: ``x`` as in :func:`pretraining_records` but unmasked
    (``mask`` = real observations, ``magnitudes`` the true zero-mean values);
    ``info`` = ``{"object_id", "band"}`` (B,) strings and ``{"label",
    "window_index", "start", "length", "owned_from"}`` (B,) int64. Use
    :func:`regroup_windows` to turn per-window outputs into per-object arrays.
    ``y`` values (targets, weights) are not needed for inference and are dropped.
    """
    _check_common(batch_size, window_size, min_observations)
    files = record_files(path_or_files, split)
    W = int(window_size)

    def make(pair, seed_pair):
        c, bounds = pair
        x, _, start = window_example(
            c["values"], seed_pair, window_size=W, start=bounds["start"], masking=None,
            uncertainty_weights=uncertainty_weights, times=c["time"],
        )
        return x, _info(c, bounds, start, W)

    ds = _curve_windows(files, window_size=W, sampling=False, shuffle=False, seed=0,
                        cycle_length=1, shuffle_buffer=0, repeat=False,
                        min_observations=min_observations)
    ds = ds.map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(int(batch_size), drop_remainder=False).prefetch(tf.data.AUTOTUNE)


@reports_bad_shards()
def classification_records(
    path_or_files,
    *,
    split="train",
    num_classes=None,
    batch_size=64,
    window_size=200,
    sampling=False,
    shuffle=False,
    seed=None,
    min_observations=5,
    drop_unlabelled=True,
    keep_ids=False,
    repeat=False,
    cycle_length=8,
    shuffle_buffer=10_000,
) -> tf.data.Dataset:
    """Unmasked windows with their curve's label, for ``fit()``/``evaluate()`` of classifiers.

    Args:
        num_classes: None -> integer labels (B,) int64 (for sparse losses);
            an int -> one-hot (B, num_classes) float32.
        sampling: False (default): every sequential window (as
            :func:`inference_records`); True: one random window per curve and epoch.
        drop_unlabelled: skip curves whose label is -1 (unlabelled). Kept
            unlabelled curves give label -1 in integer mode and fail (assertion)
            in one-hot mode.
        keep_ids: yield ``(x, y, info)`` with ``info`` as in
            :func:`inference_records`. Keras reads a third element as sample
            weights, so use that form for ``predict`` + per-object aggregation,
            not for ``fit``.

    Other arguments as in :func:`pretraining_records`.
    """
    _check_common(batch_size, window_size, min_observations)
    if num_classes is not None and int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1 or None, got {num_classes}")
    files = record_files(path_or_files, split)
    W = int(window_size)
    keep = (lambda c: c["label"] >= 0) if drop_unlabelled else None

    def make(pair, seed_pair):
        c, bounds = pair
        x, _, start = window_example(
            c["values"], seed_pair, window_size=W, start=bounds["start"], sampling=sampling,
            masking=None, times=c["time"],
        )
        label = c["label"]
        if num_classes is not None:
            tf.debugging.assert_less(label, tf.constant(int(num_classes), tf.int64),
                                     message="label >= num_classes")
            tf.debugging.assert_non_negative(label, message="unlabelled curve in one-hot mode")
            label = tf.one_hot(label, int(num_classes), dtype=tf.float32)
        if keep_ids:
            return x, label, _info(c, bounds, start, W)
        return x, label

    ds = _curve_windows(files, window_size=W, sampling=sampling, shuffle=shuffle, seed=seed,
                        cycle_length=cycle_length, shuffle_buffer=shuffle_buffer,
                        repeat=repeat, min_observations=min_observations, keep=keep)
    ds = ds.map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(int(batch_size), drop_remainder=False).prefetch(tf.data.AUTOTUNE)


def regroup_windows(per_window_values, info):
    """Per-window outputs ``(N, W, ...)`` -> ``{object key: (n_i, ...) array}``.

    ``info`` is the concatenated ``info`` dict of :func:`inference_records`
    batches (numpy). The key is ``object_id`` (``(object_id, band)`` when
    several bands occur), as Python ``str``; rows are the observations in time
    order, each from the first window that holds it. Objects keep their order
    of first appearance.
    """
    values = np.asarray(per_window_values)
    ids = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(info["object_id"])]
    bands = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(info["band"])]
    keys = list(zip(ids, bands)) if len(set(bands)) > 1 else ids
    start = np.asarray(info["start"])
    owned = np.asarray(info["owned_from"])
    length = np.asarray(info["length"])
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} windows of values but info describes {len(keys)}")
    grouped = {}
    for i, key in enumerate(keys):
        grouped.setdefault(key, []).append(i)
    out = {}
    for key, rows in grouped.items():
        rows = sorted(rows, key=lambda i: start[i])
        out[key] = np.concatenate([values[i, owned[i] : length[i]] for i in rows], axis=0)
    return out


def light_curve_counts(path_or_files, *, split=None, min_observations=5, window_size=200):
    """Scan the records' lengths: how many curves a pipeline keeps, drops and windows.

    Returns a dict: ``curves`` (records), ``kept`` and ``dropped`` (fewer than
    ``min_observations`` observations), ``observations`` (in kept curves) and
    ``windows`` (sequential windows of size ``window_size`` over kept curves,
    i.e. elements of :func:`inference_records` / ``sampling=False``).
    """
    files = record_files(path_or_files, split)
    ds = serialized_records(files, shuffle=False, seed=None, cycle_length=4, shuffle_buffer=0,
                  repeat=False)
    ds = ds.map(lambda s: tf.shape(parse_light_curve(s)["mag"], out_type=tf.int64)[0],
                num_parallel_calls=tf.data.AUTOTUNE)
    ds = reporting_bad_shards(ds.batch(4096), files)
    lengths = np.concatenate([b for b in ds.as_numpy_iterator()] or [np.zeros(0)])
    lengths = lengths.astype(np.int64)
    kept = lengths[lengths >= int(min_observations)]
    W = int(window_size)
    windows = np.where(kept <= W, 1, -(-kept // W))
    return {
        "curves": int(lengths.size),
        "kept": int(kept.size),
        "dropped": int(lengths.size - kept.size),
        "observations": int(kept.sum()),
        "windows": int(windows.sum()),
    }


