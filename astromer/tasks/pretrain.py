"""Masked-reconstruction pretraining of an Astromer encoder from tables or a records folder, with one
progress bar over all steps and an optional wall-clock budget (``astromer pretrain``, quickstart)."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path

import numpy as np


def progress_bar(total_steps, max_seconds=None, desc="pretraining", quiet=False):
    """A Keras callback: one tqdm bar over all training steps with the running metrics, and an
    optional wall-clock budget (training stops after the batch that exceeds it)."""
    import keras
    from tqdm.auto import tqdm

    class ProgressBar(keras.callbacks.Callback):
        stopped_early = False
        steps_run = 0

        def on_train_begin(self, logs=None):
            self.start = time.time()
            self.bar = tqdm(total=total_steps, desc=desc, unit="step", disable=quiet, file=sys.stderr,
                            dynamic_ncols=True)

        def on_train_batch_end(self, batch, logs=None):
            self.steps_run += 1
            self.bar.update(1)
            if logs:
                shown = {k: f"{float(v):.4f}" for k, v in logs.items() if k in ("loss", "r2", "accuracy")}
                self.bar.set_postfix(shown, refresh=False)
            if max_seconds is not None and time.time() - self.start > max_seconds:
                self.stopped_early = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if logs and "val_loss" in logs:
                self.bar.set_postfix({k: f"{float(v):.4f}" for k, v in logs.items()
                                      if k in ("loss", "r2", "val_loss", "val_r2")})

        def on_train_end(self, logs=None):
            self.bar.close()

    return ProgressBar()


def count_curves(path_or_table, min_observations, split="train"):
    """Curves a pretraining pipeline keeps (records folder split, or a long table)."""
    if isinstance(path_or_table, (str, Path)):
        from astromer.records import light_curve_counts

        return light_curve_counts(str(path_or_table), split=split, min_observations=min_observations)["kept"]
    keys = ["object_id"] + (["band"] if "band" in path_or_table.columns else [])
    sizes = path_or_table.groupby(keys).size()
    return int((sizes >= min_observations).sum())


def pretrain(model, train, validation=None, *, epochs=20, max_minutes=None, batch_size=64, learning_rate=1e-3,
             seed=0, masking="v2", probed=0.5, random=0.2, same=0.2, min_observations=5, quiet=False,
             distribution=None, length_buckets=False):
    """Masked-reconstruction pretraining of ``model`` with a progress bar.

    ``train``/``validation``: a records folder (its ``train``/``val`` splits) or
    long tables. ``distribution``: a :func:`astromer.distribution.data_parallel` setting (one
    machine's devices, or every host's after ``initialize_multi_host`` / with ``TF_CONFIG``);
    build ``model`` under its ``scope()``; compiling and fitting happen under it here,
    ``batch_size`` is the global batch, and an epoch is ``curves // batch_size`` full batches of
    repeated data (every process must run the same steps). ``length_buckets=True``: training
    batches hold windows of similar length cut to their bucket, so padding costs no compute
    (:func:`astromer.data.pipelines.length_bucketed_batches`: the same loss and gradients per
    window; batches are grouped by length instead of mixed; not with ``distribution``).
    Returns ``(history DataFrame, info dict)``.
    """
    import keras
    import pandas as pd

    from astromer.data import pretraining_dataset
    from astromer.records import pretraining_records

    keras.utils.set_random_seed(seed)
    common = dict(batch_size=batch_size, window_size=model.window_size, probed=probed, random=random, same=same,
                  masking=masking, min_observations=min_observations)
    # Spread over devices or processes, every replica must run the same number of full batches (a
    # process whose data ran out leaves the others waiting in the gradient all-reduce): the data
    # repeat and an epoch is a fixed number of full global batches.
    spread = distribution is not None
    if length_buckets and spread:
        raise ValueError("length_buckets=True cannot be combined with distribution= (each replica and process "
                         "must get batches of one shape at every step)")
    buckets = None
    if length_buckets:
        buckets = "ignored" if model.padding_is_ignored else "attended"
    if isinstance(train, (str, Path)):
        train_ds = pretraining_records(str(train), split="train", seed=seed, repeat=spread, length_buckets=buckets,
                                       **common)
        n_curves = count_curves(train, min_observations, "train")
    else:
        train_ds = pretraining_dataset(train, seed=seed, repeat=spread, length_buckets=buckets, **common)
        n_curves = count_curves(train, min_observations)
    val_ds = None
    if isinstance(validation, (str, Path)):
        from astromer.records import read_metadata

        if "val" not in read_metadata(str(validation))["splits"]:
            validation = None
    fit_steps = {}
    if isinstance(validation, (str, Path)):
        val_ds = pretraining_records(str(validation), split="val", sampling=False, shuffle=False, seed=seed + 1,
                                     **common).cache()
        n_val = count_curves(validation, min_observations, "val") if spread else 0
    elif validation is not None:
        val_ds = pretraining_dataset(validation, sampling=False, shuffle=False, seed=seed + 1, **common).cache()
        n_val = count_curves(validation, min_observations) if spread else 0
    if spread:
        steps = max(1, n_curves // batch_size)
        fit_steps["steps_per_epoch"] = steps
        if val_ds is not None:
            val_ds = val_ds.repeat()
            fit_steps["validation_steps"] = max(1, n_val // batch_size)
    else:  # with length buckets a few more: one partial batch per bucket (counted at the end)
        steps = max(1, math.ceil(n_curves / batch_size))

    def scope():
        return distribution.scope() if distribution is not None else contextlib.nullcontext()

    with scope():
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    bar = progress_bar(steps * epochs, None if max_minutes is None else 60.0 * max_minutes, quiet=quiet)
    start = time.time()
    from astromer.records.reader import light_curve_files
    from astromer.records.shard_errors import naming_bad_shards

    guard = contextlib.nullcontext()
    if isinstance(train, (str, Path)):  # Keras' graph-mode reading on TF: name a shard that fails mid-fit
        folders = {str(train): ["train"]}
        if isinstance(validation, (str, Path)):
            folders.setdefault(str(validation), []).append("val")
        guard = naming_bad_shards(lambda: [f for d, s in folders.items() for f in light_curve_files(d, s)])
    with guard, scope():
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[bar], verbose=0,
                            **fit_steps)
    seconds = time.time() - start
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    if length_buckets:  # a partial batch per bucket: count the steps run
        steps = int(round(bar.steps_run / max(1, len(frame))))
    info = {"epochs": int(len(frame)), "steps_per_epoch": steps, "training_curves": n_curves,
            "seconds": round(seconds, 1), "stopped_by_time_limit": bool(bar.stopped_early),
            "final": {k: float(v) for k, v in frame.iloc[-1].items() if k != "epoch"}}
    return frame, info


def _augmented(images, batch_size, seed, augment, repeat=False):
    """Shuffled batches of in-memory images with random 90-degree rotations and flips
    (a galaxy has no preferred orientation); square images only when rotating."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if augment:
        def turn(x):
            x = tf.image.rot90(x, tf.random.uniform((), 0, 4, dtype=tf.int32))
            return tf.image.random_flip_left_right(x)

        ds = ds.map(turn, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=len(images) >= batch_size).prefetch(tf.data.AUTOTUNE)


def astropt_optimizer(total_steps, learning_rate=1e-3, warmup_fraction=0.05, weight_decay=0.1):
    """AdamW as astroPT trains (betas 0.9/0.95, weight decay except norms and biases, gradient
    clipping at 1) with a linear warm-up to ``learning_rate`` and cosine decay to a tenth of it."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 100, decay_steps=max(1, total_steps), alpha=0.1,
        warmup_target=learning_rate, warmup_steps=max(1, int(total_steps * warmup_fraction)))
    optimizer = keras.optimizers.AdamW(schedule, beta_1=0.9, beta_2=0.95, weight_decay=weight_decay, clipnorm=1.0)
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return optimizer


def pretrain_images(model, train, validation=None, *, epochs=20, max_minutes=None, batch_size=32,
                    learning_rate=1e-3, seed=0, augment=True, image_size=64, crop=None, channels=3, quiet=False):
    """Next-patch pretraining of an AstroPT with a progress bar and an optional time budget.

    ``train``/``validation``: image arrays ``(N, H, W, C)`` in [0, 1] (an
    :class:`astromer.tasks.images.ImageSet`'s ``images``) or a records folder of images (its
    ``train``/``val`` splits, read with ``image_size``/``crop``/``channels``). Augmentation: random
    90-degree rotations and flips of the training images. Optimiser: :func:`astropt_optimizer`
    over the planned steps. Returns ``(history DataFrame, info dict)`` like :func:`pretrain`,
    with the held-out next-patch loss before and after (``val_loss_initial``/``final``).
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    val_ds = None
    if isinstance(train, (str, Path)):
        from astromer.records import image_records, read_metadata

        meta = read_metadata(str(train))
        n_images = int(meta["splits"]["train"]["objects"]) if "train" in meta["splits"] else 0
        if n_images == 0:
            raise ValueError(f"records folder {train} has no images in its train split")
        geometry = dict(image_size=image_size, crop=crop, channels=channels, labels=False)
        train_ds = image_records(str(train), split="train", batch_size=batch_size, shuffle=True, seed=seed, **geometry)
        if augment:
            train_ds = train_ds.map(_turn_batch, num_parallel_calls=tf.data.AUTOTUNE)
        if validation is not None and "val" in meta["splits"]:
            val_ds = image_records(str(validation), split="val", batch_size=128, **geometry).cache()
    else:
        train = np.asarray(train, dtype=np.float32)
        n_images = len(train)
        if n_images == 0:
            raise ValueError("no training images")
        train_ds = _augmented(train, batch_size, seed, augment)
        if validation is not None and len(validation):
            val_ds = tf.data.Dataset.from_tensor_slices(np.asarray(validation, np.float32)).batch(128)
    steps = max(1, n_images // batch_size if n_images >= batch_size else 1)
    model.compile(optimizer=astropt_optimizer(steps * int(epochs), learning_rate))
    initial = float(model.evaluate(val_ds, verbose=0)) if val_ds is not None else None
    bar = progress_bar(steps * int(epochs), None if max_minutes is None else 60.0 * max_minutes, quiet=quiet)
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=int(epochs), callbacks=[bar], verbose=0,
                        shuffle=False)  # the pipeline shuffles
    seconds = time.time() - start
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    info = {"epochs": int(len(frame)), "steps_per_epoch": steps, "training_images": n_images,
            "seconds": round(seconds, 1), "stopped_by_time_limit": bool(bar.stopped_early),
            "augment": bool(augment), "learning_rate": float(learning_rate), "batch_size": int(batch_size),
            "final": {k: float(v) for k, v in frame.iloc[-1].items() if k != "epoch"}}
    if initial is not None:
        info["val_loss_initial"] = initial
    return frame, info


def _turn_batch(images):
    """Random 90-degree rotations and flips of a batch of square images (records pipeline)."""
    import tensorflow as tf

    k = tf.random.uniform((), 0, 4, dtype=tf.int32)
    images = tf.image.rot90(images, k)
    return tf.image.random_flip_left_right(images)
