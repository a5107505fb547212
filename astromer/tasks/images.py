"""The one reader of image inputs (``astromer pretrain``/``embed``/``probe`` on galaxies, the GZ1
benchmark): a records folder of images, an image folder (one subfolder per class, or flat with a
labels table), an HDF5 or FITS stack of cutouts, a ``.npy`` array or arrays in memory.

Every input becomes the same :class:`ImageSet`: float32 pixels in [0, 1] preprocessed by the
one image preprocessing (:func:`astromer.records.image_pipelines.prepare_image`), plus a table
with one row per image (``object_id`` as text, ``label`` name or None, ``split`` for records,
and every carried column: regression targets, a split column, ...).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report
from astromer.tasks.inputs import InputError, is_records

IMAGE_SETTINGS = "images.json"  # written next to a preset by `astromer pretrain` on images


@dataclass
class ImageSet:
    """Images in memory with one table row per image (same order)."""

    images: np.ndarray
    table: pd.DataFrame
    report: Report = field(default_factory=Report)
    description: str = ""

    def __len__(self):
        return len(self.images)

    @property
    def class_names(self):
        return sorted({str(v) for v in self.table["label"].dropna()})

    def subset(self, mask):
        mask = np.asarray(mask)
        return ImageSet(self.images[mask], self.table[mask].reset_index(drop=True), self.report,
                        self.description)


def is_image_input(path) -> bool:
    """Whether ``path`` is an image input (image records, an image folder, an HDF5/FITS stack, .npy)."""
    from astromer.records.image_arrays import fits_holds_images, is_fits, is_hdf5
    from astromer.records.sources import image_layout

    path = os.fspath(path)
    if is_records(path):
        from astromer.records import read_metadata

        return read_metadata(path).get("kind") == "image"
    if os.path.isfile(path):
        if is_fits(path):  # a FITS file may be a light-curve table
            return fits_holds_images(path)
        return is_hdf5(path) or path.lower().endswith(".npy")
    if os.path.isdir(path):
        return image_layout(path) is not None
    return False


def read_images_input(path, labels=None, *, split=None, image_size=64, crop=None, channels=3,
                      id_column="object_id", label_column="label", path_column=None, columns=(),
                      images_key=None, ids_key=None, channels_first=None, progress=False) -> ImageSet:
    """Read any image input into an :class:`ImageSet` (see the module docstring).

    ``labels``: a labels table (``object_id``, ``label_column``, more columns) for a flat folder
    or a stack; with class subfolders the folder names are the labels and a table only adds
    columns. ``columns``: labels-table columns carried into the table (targets, a split column).
    A records folder gives its ``split`` (all splits unless ``split``), label names and stored
    numeric targets. Images that do not decode or hold NaN/inf pixels are dropped and counted;
    an input with no image left is an error.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    if is_records(path):
        result = _records_images(path, split, image_size, crop, channels, labels, id_column, columns)
    else:
        if split is not None:
            raise InputError("--split selects a split of a records folder; this input is not one")
        from astromer.records.image_pipelines import source_images
        from astromer.records.sources import image_source

        src = image_source(path, labels, id_column=id_column, label_column=label_column,
                           path_column=path_column, columns=columns, images_key=images_key,
                           ids_key=ids_key, channels_first=channels_first)
        images, ids, report = source_images(src, image_size=image_size, crop=crop, channels=channels,
                                            progress=progress)
        rows = [{"object_id": oid, "label": src.items[oid].label_name, **src.items[oid].targets,
                 **src.extra.get(oid, {})} for oid in ids]
        table = pd.DataFrame(rows, columns=list(dict.fromkeys(
            ["object_id", "label", *[k for r in rows[:1] for k in r]])))
        table["object_id"] = table["object_id"].astype(str)
        result = ImageSet(images, table, report, f"{path} ({src.description.get('layout', src.description['type'])})")
    if len(result) == 0:
        lines = "; ".join(result.report.lines()) or "no image files found"
        raise InputError(f"{path} holds no usable image ({lines})")
    return result


def _records_images(path, split, image_size, crop, channels, labels, id_column, columns):
    import tensorflow as tf

    from astromer.records import read_images, read_metadata
    from astromer.records.image_pipelines import _check_geometry, prepare_image

    meta = read_metadata(path)
    if meta.get("kind") != "image":
        raise InputError(f"records folder {path!r} holds {meta.get('kind')} records, not images")
    splits = [split] if split else list(meta["splits"])
    if split and split not in meta["splits"]:
        raise InputError(f"records folder {path!r} has no split {split!r} (splits: {sorted(meta['splits'])})")
    size = _check_geometry(image_size, crop)
    images, rows = [], []
    for name in splits:
        ds = read_images(path, name).map(
            lambda r: (prepare_image(r["image"], channels=channels, crop=crop, size=size),
                       r["object_id"], r["label_name"], r["target_names"], r["targets"]),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        for image, oid, label, names, values in ds.as_numpy_iterator():
            images.append(image)
            row = {"object_id": oid.decode(), "label": label.decode() or None, "split": name}
            row.update({n.decode(): float(v) for n, v in zip(names, values)})
            rows.append(row)
    table = pd.DataFrame(rows)
    if labels is not None and len(table):
        from astromer.tasks.inputs import read_table

        extra = labels if isinstance(labels, pd.DataFrame) else read_table(labels, "labels table")
        missing = [c for c in (id_column, *columns) if c not in extra.columns]
        if missing:
            raise InputError(f"labels table has no column(s) {missing}; columns: {list(extra.columns)}")
        extra = extra[[id_column, *columns]].rename(columns={id_column: "object_id"})
        extra["object_id"] = extra["object_id"].astype(str)
        table = table.merge(extra.drop_duplicates("object_id"), on="object_id", how="left")
    stack = np.stack(images) if images else np.zeros((0, 1, 1, 1), np.float32)
    return ImageSet(stack, table, Report(), f"{path} (image records, splits {', '.join(splits)})")


def image_settings(model_dir):
    """The image size / crop / channels a preset folder was pretrained with (``images.json``), or {}."""
    if model_dir is None:
        return {}
    p = os.path.join(os.fspath(model_dir), IMAGE_SETTINGS)
    if not os.path.isfile(p):
        return {}
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def load_astropt(preset=None, model=None):
    """An AstroPT from ``--model`` (a preset folder, .keras file or original checkpoint) or ``--preset``."""
    from astromer.tasks.encoders import load_encoder

    return load_encoder(preset, model, kind="AstroPT")
