"""The astromer record schema (version 2): one light curve per ``tf.train.SequenceExample``,
one image per ``tf.train.Example``. See ``records/README.md`` for the full description.

Light curve (``SequenceExample``)
    context:
        ``object_id`` bytes, ``band`` bytes, ``label`` int64 (-1 = unlabelled),
        ``label_name`` bytes, ``length`` int64 (observations).
    feature lists (each ONE feature holding the whole column, as the original v2 layout):
        ``time64`` bytes: the float64 times, little-endian, exactly as given (JD,
        MJD or days: no precision is lost); ``mag`` float32, ``err`` float32.

Version 1 records (``time`` float32 days minus an int64 context ``time_offset``,
which loses up to ~20 s on a ten-year curve) are still read.

Image (``Example``)
    ``image`` bytes (encoded PNG/JPEG), ``format`` bytes ("png"/"jpeg"), ``height``,
    ``width``, ``channels`` int64, ``object_id`` bytes, ``label`` int64 (-1 = unlabelled),
    ``label_name`` bytes, ``target_names`` bytes list and ``targets`` float list (extra
    regression targets, same order).
"""

import numpy as np
import tensorflow as tf

SCHEMA_VERSION = 2
METADATA_FILE = "metadata.json"   # the dataset description at the top of a records folder
FORMAT_NAME = "astromer-records"   # its "format" field
READABLE_SCHEMA_VERSIONS = (1, 2)
LIGHT_CURVE_KIND = "light_curve"
IMAGE_KIND = "image"
UNLABELLED = -1


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[_to_bytes(v) for v in values]))


def _to_bytes(value):
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def light_curve_example(object_id, band, time, mag, err, label=UNLABELLED, label_name=""):
    """Serialise one light curve (float64 times, sorted) to bytes.

    ``time``, ``mag`` and ``err`` must be equally long 1-D arrays; the writer
    is responsible for cleaning (finite, sorted) before calling this.
    """
    time = np.asarray(time, dtype=np.float64)
    mag = np.asarray(mag, dtype=np.float32)
    err = np.asarray(err, dtype=np.float32)
    if not (time.ndim == mag.ndim == err.ndim == 1 and len(time) == len(mag) == len(err)):
        raise ValueError(
            f"light curve {object_id!r} band {band!r}: time, mag and err must be 1-D and equally "
            f"long, got shapes {time.shape}, {mag.shape}, {err.shape}"
        )
    context = tf.train.Features(
        feature={
            "object_id": _bytes([object_id]),
            "band": _bytes([band]),
            "label": _ints([label]),
            "label_name": _bytes([label_name]),
            "length": _ints([len(time)]),
        }
    )
    columns = {
        "time64": _bytes([time.astype("<f8").tobytes()]),
        "mag": _floats(mag),
        "err": _floats(err),
    }
    lists = tf.train.FeatureLists(
        feature_list={k: tf.train.FeatureList(feature=[v]) for k, v in columns.items()}
    )
    return tf.train.SequenceExample(context=context, feature_lists=lists).SerializeToString(deterministic=True)


_LC_CONTEXT = {
    "object_id": tf.io.FixedLenFeature([], tf.string),
    "band": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=UNLABELLED),
    "label_name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "length": tf.io.FixedLenFeature([], tf.int64),
    "time_offset": tf.io.FixedLenFeature([], tf.int64, default_value=0),
}
_LC_SEQUENCE = {**{k: tf.io.RaggedFeature(tf.float32) for k in ("time", "mag", "err")},
                "time64": tf.io.RaggedFeature(tf.string)}


def parse_light_curve(serialized):
    """Parse one serialised light curve (graph-friendly) into a dict of tensors.

    Returns ``object_id``, ``band``, ``label_name`` (string scalars), ``label``,
    ``length`` (int64 scalars), ``time`` (float64, absolute days), ``mag`` and
    ``err`` (float32), each of shape ``(length,)``.
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=_LC_CONTEXT, sequence_features=_LC_SEQUENCE
    )
    out = dict(context)
    del out["time_offset"]
    for key in ("mag", "err"):
        out[key] = sequence[key].flat_values  # the single whole-column feature
    exact = sequence["time64"].flat_values  # schema 2: one bytes feature, float64 little-endian
    out["time"] = tf.cond(
        tf.size(exact) > 0,
        lambda: tf.io.decode_raw(tf.reshape(exact, [-1])[0], tf.float64, little_endian=True),
        lambda: tf.cast(sequence["time"].flat_values, tf.float64) + tf.cast(context["time_offset"], tf.float64),
    )
    return out


def image_example(image_bytes, image_format, height, width, channels, object_id,
                  label=UNLABELLED, label_name="", targets=None):
    """Serialise one encoded image (PNG/JPEG bytes) with its id, label and extra targets."""
    targets = dict(targets or {})
    feature = {
        "image": _bytes([image_bytes]),
        "format": _bytes([image_format]),
        "height": _ints([height]),
        "width": _ints([width]),
        "channels": _ints([channels]),
        "object_id": _bytes([object_id]),
        "label": _ints([label]),
        "label_name": _bytes([label_name]),
        "target_names": _bytes(list(targets)),
        "targets": _floats([float(v) for v in targets.values()]),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


_IMAGE_FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "format": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "channels": tf.io.FixedLenFeature([], tf.int64),
    "object_id": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=UNLABELLED),
    "label_name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "target_names": tf.io.VarLenFeature(tf.string),
    "targets": tf.io.VarLenFeature(tf.float32),
}


def parse_image(serialized):
    """Parse one serialised image record; ``image`` stays encoded (decode in the pipeline)."""
    out = tf.io.parse_single_example(serialized, _IMAGE_FEATURES)
    out["target_names"] = tf.sparse.to_dense(out["target_names"], default_value="")
    out["targets"] = tf.sparse.to_dense(out["targets"])
    return out
