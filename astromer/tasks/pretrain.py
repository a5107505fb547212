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

        def on_train_begin(self, logs=None):
            self.start = time.time()
            self.bar = tqdm(total=total_steps, desc=desc, unit="step", disable=quiet, file=sys.stderr,
                            dynamic_ncols=True)

        def on_train_batch_end(self, batch, logs=None):
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
             distribution=None):
    """Masked-reconstruction pretraining of ``model`` with a progress bar.

    ``train``/``validation``: a records folder (its ``train``/``val`` splits) or
    long tables. ``distribution``: a :func:`astromer.distribution.data_parallel` setting (one
    machine's devices, or every host's after ``initialize_multi_host`` / with ``TF_CONFIG``);
    build ``model`` under its ``scope()``; compiling and fitting happen under it here,
    ``batch_size`` is the global batch, and an epoch is ``curves // batch_size`` full batches of
    repeated data (every process must run the same steps). Returns ``(history DataFrame, info dict)``.
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
    if isinstance(train, (str, Path)):
        train_ds = pretraining_records(str(train), split="train", seed=seed, repeat=spread, **common)
        n_curves = count_curves(train, min_observations, "train")
    else:
        train_ds = pretraining_dataset(train, seed=seed, repeat=spread, **common)
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
    else:
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
    info = {"epochs": int(len(frame)), "steps_per_epoch": steps, "training_curves": n_curves,
            "seconds": round(seconds, 1), "stopped_by_time_limit": bool(bar.stopped_early),
            "final": {k: float(v) for k, v in frame.iloc[-1].items() if k != "epoch"}}
    return frame, info
