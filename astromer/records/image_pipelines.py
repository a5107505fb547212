"""tf.data pipeline of image records (:func:`astromer.records.schema.parse_image`):
decoded, centre-cropped, resized float images for AstroPT's ``fit()``/``predict()``.
Shards are listed and streamed as for light curves (:mod:`astromer.records.streams`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from astromer.records.schema import parse_image
from astromer.records.streams import record_files, reports_bad_shards, serialized_records


def _pair(value, name):
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")


def centre_crop(image, crop):
    """Centre crop of an (H, W, C) image: ``crop`` a fraction in (0, 1] of each side,
    or pixels (int or (height, width) pair; must fit in the image)."""
    if crop is None:
        return image
    if isinstance(crop, float):
        if not 0.0 < crop <= 1.0:
            raise ValueError(f"a fractional crop must be in (0, 1], got {crop}")
        shape = tf.shape(image)
        h = tf.maximum(tf.cast(tf.round(tf.cast(shape[0], tf.float32) * crop), tf.int32), 1)
        w = tf.maximum(tf.cast(tf.round(tf.cast(shape[1], tf.float32) * crop), tf.int32), 1)
    else:
        h, w = _pair(crop, "crop")
        shape = tf.shape(image)
        tf.debugging.assert_less_equal([h, w], shape[:2],
                                       message="crop larger than the image")
    shape = tf.shape(image)
    return tf.image.crop_to_bounding_box(image, (shape[0] - h) // 2, (shape[1] - w) // 2, h, w)


def prepare_image(encoded, *, channels=3, crop=None, size=None):
    """One encoded image (JPEG, 8- or 16-bit PNG) to float32 pixels in [0, 1]: decoded with
    ``channels`` channels (None: as stored), centre-cropped (:func:`centre_crop`), resized to
    ``size`` ((height, width); bilinear with antialiasing; None keeps the cropped size).
    The one preprocessing of :func:`image_records` and :func:`source_images`."""
    image = tf.io.decode_image(encoded, channels=int(channels or 0), dtype=tf.float32,
                               expand_animations=False)
    image = centre_crop(image, crop)
    if size is not None:
        image = tf.image.resize(image, size, method="bilinear", antialias=True)
        image = tf.ensure_shape(image, [size[0], size[1], None if channels is None else int(channels)])
    return tf.clip_by_value(image, 0.0, 1.0)


def _check_geometry(image_size, crop):
    size = None if image_size is None else _pair(image_size, "image_size")
    if isinstance(crop, float) and not 0.0 < crop <= 1.0:
        raise ValueError(f"a fractional crop must be in (0, 1], got {crop}")
    if crop is not None and not isinstance(crop, float):
        _pair(crop, "crop")
    return size


def source_images(source, *, image_size=224, crop=None, channels=3, progress=False):
    """The images of a :class:`~astromer.records.items.Source` (an image folder, arrays, an
    HDF5/FITS stack) in memory, preprocessed exactly as :func:`image_records` preprocesses the
    records the same source would be converted to.

    Returns ``(images (N, H, W, C) float32 in [0, 1], object ids, report)``: images that do not
    decode or hold NaN/inf pixels are dropped and counted in ``report`` (as the records writer
    counts them). With ``image_size=None`` every cropped image must have the same size.
    """
    from astromer.records.convert import image_bytes
    from astromer.records.image_arrays import PixelError

    size = _check_geometry(image_size, crop)
    report = source.report
    encoded, ids = [], []
    items = list(source.items.values())
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="reading images", unit="image")
    for item in items:
        try:
            data = image_bytes(item)[0]
        except OSError as exc:
            report.add("objects", "unreadable", 1, f"{item.object_id} ({item.path}: {exc.strerror or exc})")
            continue
        except PixelError as exc:
            report.add("objects", exc.reason, 1, f"{item.object_id} ({item.path}: {exc})")
            continue
        encoded.append(data)
        ids.append(item.object_id)
    if not encoded:
        return np.zeros((0, *(size or (0, 0)), int(channels or 1)), np.float32), ids, report
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(encoded, dtype=tf.string))
    ds = ds.map(lambda e: prepare_image(e, channels=channels, crop=crop, size=size),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    try:
        images = [np.asarray(x) for x in ds.batch(256).as_numpy_iterator()]
        return np.concatenate(images, axis=0), ids, report
    except tf.errors.InvalidArgumentError as exc:
        raise ValueError("these images differ in size or channels after cropping; give image_size "
                         f"(and channels) to resize them to one shape ({str(exc).splitlines()[0][:160]})") from exc


@reports_bad_shards("image")
def image_records(
    path_or_files,
    *,
    split=None,
    image_size=224,
    crop=None,
    batch_size=64,
    shuffle=False,
    seed=None,
    channels=3,
    num_classes=None,
    drop_unlabelled=False,
    keep_ids=False,
    labels=True,
    repeat=False,
    cycle_length=8,
    shuffle_buffer=1_000,
) -> tf.data.Dataset:
    """Decoded image batches from image records.

    Each image is decoded (JPEG or PNG, ``channels`` channels), converted to
    float32 in [0, 1], centre-cropped (``crop``: None, a fraction of each side
    in (0, 1], or pixels as int / (height, width)), then resized to
    ``image_size`` (int or (height, width); bilinear with antialiasing; None
    keeps the cropped size, which must then be equal for all images).
    Patching (AstroPT) is the model's job.

    Yields ``(images (B, H, W, C) float32, labels)`` with integer (B,) int64
    labels, or one-hot (B, num_classes) float32 when ``num_classes`` is given;
    with ``keep_ids`` a third element ``{"object_id", "label"}``. ``labels=False`` yields the
    images alone (with ``keep_ids``: ``(images, info)``), which is what ``AstroPT.fit`` takes to
    pretrain (its targets are the next patches; labels given to ``fit`` would be taken as targets).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    size = _check_geometry(image_size, crop)
    files = record_files(path_or_files, split, kind="image")
    ds = serialized_records(files, shuffle=shuffle, seed=seed, cycle_length=cycle_length,
                            shuffle_buffer=shuffle_buffer, repeat=repeat)
    ds = ds.map(parse_image, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if drop_unlabelled:
        ds = ds.filter(lambda r: r["label"] >= 0)

    def make(r):
        image = prepare_image(r["image"], channels=channels, crop=crop, size=size)
        label = r["label"]
        if num_classes is not None:
            label = tf.one_hot(label, int(num_classes), dtype=tf.float32)
        info = {"object_id": r["object_id"], "label": r["label"]}
        if not labels:
            return (image, info) if keep_ids else image
        return (image, label, info) if keep_ids else (image, label)

    ds = ds.map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(int(batch_size), drop_remainder=False).prefetch(tf.data.AUTOTUNE)
