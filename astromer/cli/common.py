"""Shared pieces of the ``astromer`` sub-commands: reading inputs, models, training with a progress bar."""

from __future__ import annotations

import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from astromer.cli.main import CLIError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


# --------------------------------------------------------------------------- inputs
def is_records(path):
    """Whether ``path`` is a light-curve record dataset folder (has metadata.json)."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "metadata.json"))


def records_table(directory, split=None):
    """Read a light-curve record dataset into ``(curves, labels)`` DataFrames.

    ``curves``: ``object_id, band, time, mag, mag_err``; ``labels``:
    ``object_id, label, split`` (label None for unlabelled curves).
    """
    import pandas as pd

    from astromer.records import read_light_curves, read_metadata

    meta = read_metadata(directory)
    if meta.get("kind") != "light_curve":
        raise CLIError(f"{directory} holds {meta.get('kind')} records, not light curves")
    splits = list(meta["splits"]) if split is None else [split]
    unknown = [s for s in splits if s not in meta["splits"]]
    if unknown:
        raise CLIError(f"split {unknown[0]!r} is not in {directory}; its splits are {list(meta['splits'])}")
    frames, rows = [], {}
    for name in splits:
        for rec in read_light_curves(directory, name).as_numpy_iterator():
            oid = rec["object_id"].decode()
            n = int(rec["length"])
            frames.append(pd.DataFrame({
                "object_id": np.full(n, oid, dtype=object), "band": np.full(n, rec["band"].decode(), dtype=object),
                "time": rec["time"], "mag": rec["mag"].astype("float64"), "mag_err": rec["err"].astype("float64")}))
            label = rec["label_name"].decode() if int(rec["label"]) >= 0 else None
            rows[oid] = (oid, label, name)
    if not frames:
        raise CLIError(f"{directory} has no light curves in split(s) {splits}")
    curves = pd.concat(frames, ignore_index=True)
    labels = pd.DataFrame(list(rows.values()), columns=["object_id", "label", "split"])
    return curves, labels


def read_table(path, what="light-curve table"):
    """A CSV/Parquet table with its ``object_id`` column read as text, exactly as written
    ("00001" stays "00001"), so outputs join back to the catalogue."""
    from astromer.records.sources import read_table as read_any

    path = str(path)
    if not path.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz", ".txt")):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{what} {path!r} does not exist")
        raise CLIError(f"cannot read {path!r}: give a .csv, .csv.gz or .parquet table or a records folder")
    table = read_any(path, what=what, dtype={"object_id": str})
    if "object_id" in table.columns:
        table["object_id"] = _id_text(table["object_id"])
    return table


def _id_text(series):
    """Ids as strings (integral float ids lose their '.0'); missing ids stay missing (None)."""
    from astromer.records.sources import id_strings

    return id_strings(series)


def read_light_curves_input(path, labels=None, label_column="label", split=None):
    """``(curves, labels or None)`` from a records folder, a folder with ``lightcurves.csv.gz``
    (+ ``labels.csv``) or a long table file (+ ``labels`` table). Object ids are strings."""
    path = str(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    if is_records(path):
        curves, table = records_table(path, split)
        if labels is not None:
            table = _label_table(labels, label_column)
    elif os.path.isdir(path):
        found = [Path(path) / n for n in ("lightcurves.csv.gz", "lightcurves.csv", "lightcurves.parquet")]
        found = [f for f in found if f.is_file()]
        if not found:
            raise CLIError(f"{path} is neither a records folder (metadata.json) nor a folder with "
                           "lightcurves.csv.gz; convert it with 'astromer records convert'")
        curves = read_table(found[0])
        if labels is None and (Path(path) / "labels.csv").is_file():
            labels = Path(path) / "labels.csv"
        table = _label_table(labels, label_column) if labels is not None else None
    else:
        curves = read_table(path)
        table = _label_table(labels, label_column) if labels is not None else None
    missing = [c for c in ("object_id", "time", "mag") if c not in curves.columns]
    if missing:
        raise CLIError(f"{path} lacks column(s) {missing}; expected object_id,[band,]time,mag,mag_err "
                       f"(found {list(curves.columns)})")
    curves["object_id"] = _id_text(curves["object_id"])
    if table is not None:
        objects = set(curves["object_id"].dropna())
        matched = table["object_id"].isin(objects)
        if not matched.any():
            raise CLIError(f"0 of {len(table):,} label ids match the {len(objects):,} objects in {path} "
                           f"(e.g. label id {table['object_id'].iloc[0]!r}, object id {sorted(objects)[0]!r}); "
                           "ids are compared as text, exactly as written")
        if not matched.all():
            print(f"[labels] {int(matched.sum()):,} of {len(table):,} label ids match objects in {path}; "
                  f"{int((~matched).sum()):,} have no light curve", file=sys.stderr)
        table = table[matched]
    return curves, table


def _label_table(labels, label_column):
    table = read_table(labels, "labels table") if not hasattr(labels, "columns") else labels.copy()
    for col in ("object_id", label_column):
        if col not in table.columns:
            raise CLIError(f"labels table lacks column {col!r} (found {list(table.columns)})")
    table = table.rename(columns={label_column: "label"}) if label_column != "label" else table
    table["object_id"] = _id_text(table["object_id"])
    table["label"] = table["label"].where(table["label"].isna(), table["label"].astype(str))
    return table


def split_ids(labels, seed=0, test_fraction=0.2, val_fraction=0.1):
    """``{"train", "val", "test"}`` object-id lists from a ``split`` column, or stratified fractions."""
    labelled = labels[labels["label"].notna()]
    if "split" in labelled.columns and (labelled["split"] == "test").any():
        out = {s: labelled.loc[labelled["split"] == s, "object_id"].tolist() for s in ("train", "val", "test")}
        if not out["val"]:
            out["train"], out["val"] = _carve(out["train"], labelled, val_fraction, seed)
        return out
    from sklearn.model_selection import train_test_split

    ids = labelled["object_id"].tolist()
    strat = labelled["label"].tolist()
    try:
        rest, test = train_test_split(ids, test_size=test_fraction, stratify=strat, random_state=seed)
    except ValueError as exc:
        sizes = ", ".join(f"{k}={v}" for k, v in labelled["label"].value_counts().sort_index().items())
        raise CLIError(f"cannot hold out a stratified {test_fraction:.0%} test set from {len(ids)} labelled "
                       f"objects (objects per class: {sizes}; scikit-learn: {exc}); label more objects per "
                       "class or give a 'split' column with 'test' rows") from None
    train, val = _carve(rest, labelled, val_fraction, seed)
    return {"train": train, "val": val, "test": test}


def _carve(ids, labelled, fraction, seed):
    from sklearn.model_selection import train_test_split

    lab = labelled.set_index("object_id").loc[ids, "label"].tolist()
    try:
        return [list(x) for x in train_test_split(ids, test_size=fraction, stratify=lab, random_state=seed)]
    except ValueError:
        return [list(x) for x in train_test_split(ids, test_size=fraction, random_state=seed)]


# --------------------------------------------------------------------------- models
def load_encoder(preset=None, model=None):
    """An Astromer encoder from ``--model`` (a preset folder or original archive) or ``--preset``."""
    import astromer

    handle = model or preset
    if handle is None:
        raise CLIError("give --preset NAME or --model DIR")
    if model is not None and not os.path.exists(model):
        raise FileNotFoundError(f"model {model!r} does not exist")
    encoder = astromer.load_preset(handle, progress=False)
    if not isinstance(encoder, astromer.Astromer):
        raise CLIError(f"{handle} holds a {type(encoder).__name__}, not an Astromer light-curve model")
    return encoder


def fresh_copy(model):
    """A new model with the same architecture and weights (for fine-tuning without side effects)."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def object_embeddings(model, curves, batch_size=256):
    """``(object_ids, (N, d) pooled embeddings)``: the mean over every band's observations."""
    result = model.embed(curves, batch_size=batch_size, verbose=0)
    keys = [i[0] if isinstance(i, tuple) else i for i in result.ids]
    order = list(dict.fromkeys(keys))
    index = {k: j for j, k in enumerate(order)}
    sums = np.zeros((len(order), result.pooled.shape[1]))
    counts = np.zeros(len(order))
    for k, rows in zip(keys, result.observations):
        sums[index[k]] += rows.sum(axis=0)
        counts[index[k]] += len(rows)
    return order, (sums / counts[:, None]).astype("float32")


# --------------------------------------------------------------------------- training
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
        from astromer.data import light_curve_counts

        return light_curve_counts(str(path_or_table), split=split, min_observations=min_observations)["kept"]
    keys = ["object_id"] + (["band"] if "band" in path_or_table.columns else [])
    sizes = path_or_table.groupby(keys).size()
    return int((sizes >= min_observations).sum())


def pretrain(model, train, validation=None, *, epochs=20, max_minutes=None, batch_size=64, learning_rate=1e-3,
             seed=0, masking="v2", probed=0.5, random=0.2, same=0.2, min_observations=5, quiet=False):
    """Masked-reconstruction pretraining of ``model`` with a progress bar.

    ``train``/``validation``: a records folder (its ``train``/``val`` splits) or
    long tables. Returns ``(history DataFrame, info dict)``.
    """
    import keras
    import pandas as pd

    from astromer.data import pretraining_dataset, pretraining_records

    keras.utils.set_random_seed(seed)
    common = dict(batch_size=batch_size, window_size=model.window_size, probed=probed, random=random, same=same,
                  masking=masking, min_observations=min_observations)
    if isinstance(train, (str, Path)):
        train_ds = pretraining_records(str(train), split="train", seed=seed, **common)
        n_curves = count_curves(train, min_observations, "train")
    else:
        train_ds = pretraining_dataset(train, seed=seed, **common)
        n_curves = count_curves(train, min_observations)
    val_ds = None
    if isinstance(validation, (str, Path)):
        from astromer.records import read_metadata

        if "val" not in read_metadata(str(validation))["splits"]:
            validation = None
    if isinstance(validation, (str, Path)):
        val_ds = pretraining_records(str(validation), split="val", sampling=False, shuffle=False, seed=seed + 1,
                                     **common).cache()
    elif validation is not None:
        val_ds = pretraining_dataset(validation, sampling=False, shuffle=False, seed=seed + 1, **common).cache()
    steps = max(1, math.ceil(n_curves / batch_size))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    bar = progress_bar(steps * epochs, None if max_minutes is None else 60.0 * max_minutes, quiet=quiet)
    start = time.time()
    import contextlib

    from astromer.records.reader import light_curve_files, naming_bad_shards

    guard = contextlib.nullcontext()
    if isinstance(train, (str, Path)):  # Keras' graph-mode reading on TF: name a shard that fails mid-fit
        folders = {str(train): ["train"]}
        if isinstance(validation, (str, Path)):
            folders.setdefault(str(validation), []).append("val")
        guard = naming_bad_shards(lambda: [f for d, s in folders.items() for f in light_curve_files(d, s)])
    with guard:
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[bar], verbose=0)
    seconds = time.time() - start
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    info = {"epochs": int(len(frame)), "steps_per_epoch": steps, "training_curves": n_curves,
            "seconds": round(seconds, 1), "stopped_by_time_limit": bool(bar.stopped_early),
            "final": {k: float(v) for k, v in frame.iloc[-1].items() if k != "epoch"}}
    return frame, info


def command_line():
    return "astromer " + " ".join(shlex.quote(a) for a in sys.argv[1:])
