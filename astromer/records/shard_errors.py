"""Naming the damaged shard behind a read error: :class:`CorruptShardError` and its helpers.

TensorFlow reports a truncated, corrupt or vanished shard as ``DataLossError``
or ``NotFoundError`` without saying which file; :func:`find_bad_shard` finds it,
and :func:`reporting_bad_shards` / :func:`naming_bad_shards` turn the read error
into a one-line :class:`CorruptShardError` naming the shard and suggesting
``astromer records verify DIR``. The readers in :mod:`astromer.records.reader` and the
pipelines in :mod:`astromer.records.streams` use them.
"""

from __future__ import annotations

import contextlib
import os

import tensorflow as tf

from astromer.errors import AstromerError
from astromer.records.schema import METADATA_FILE


class CorruptShardError(AstromerError, OSError):
    """A shard of a record dataset is truncated, corrupt or unreadable.

    The message is one line naming the shard file and suggesting
    ``astromer records verify DIR``; ``shard`` is the file's path.
    """

    def __init__(self, message, shard=None):
        super().__init__(message)
        self.shard = shard


class MissingShardError(CorruptShardError, FileNotFoundError):
    """A shard listed in ``metadata.json`` does not exist."""


def _verify_hint(directory):
    if directory is None:
        return "run `astromer records verify DIR` on its dataset folder to check every shard"
    return f"run `astromer records verify {directory}` to check every shard"


def _dataset_folder(path):
    """The dataset folder above a shard (its split folder's parent), if it has metadata.json."""
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        if folder and os.path.isfile(os.path.join(folder, METADATA_FILE)):
            return folder
    return None


#: TensorFlow errors that a damaged or vanished shard raises during iteration.
READ_ERRORS = (tf.errors.DataLossError, tf.errors.NotFoundError)


def tf_error_text(exc) -> str:
    """TensorFlow's own reason, without its ``{{function_node ...}}`` and ``[Op:...]`` wrapping."""
    text = " ".join(str(getattr(exc, "message", exc)).split())
    if text.startswith("{{function_node") and "}}" in text:
        text = text[text.index("}}") + 2:].strip()
    for marker in (" [Op:", " [[{{node"):
        if marker in text:
            text = text[:text.index(marker)]
    text = text.replace("' failed with ", ": ")  # "truncated record at 2187' failed with Read less ..."
    return text.strip() or type(exc).__name__


def _compression_of(path):
    return "GZIP" if path.endswith(".gz") else "ZLIB" if path.endswith(".zlib") else ""


def find_bad_shard(files):
    """The first shard of ``files`` that is missing, has the wrong size or count, or does not read.

    ``files``: a :class:`ShardList` (sizes and record counts from metadata.json
    are checked too) or plain paths. Reads the shards' raw records (no parsing)
    until one fails, so call it only after a read error. Returns a
    :class:`CorruptShardError` (not raised) or None when every shard reads.
    """
    directory = getattr(files, "directory", None)
    records = getattr(files, "records", None) or [None] * len(files)
    sizes = getattr(files, "sizes", None) or [None] * len(files)
    for path, expected_records, expected_size in zip(files, records, sizes):
        path = os.fspath(path)
        hint = _verify_hint(directory or _dataset_folder(path))
        if not os.path.isfile(path):
            return MissingShardError(f"records shard {path} is missing; {hint}", path)
        size = os.path.getsize(path)
        if expected_size is not None and size != expected_size:
            return CorruptShardError(f"records shard {path} has {size} bytes, metadata.json says "
                                     f"{expected_size} (truncated or modified); {hint}", path)
        count = 0
        try:
            ds = tf.data.TFRecordDataset(path, compression_type=_compression_of(path))
            for batch in ds.batch(4096):
                count += int(batch.shape[0])
        except tf.errors.OpError as exc:
            return CorruptShardError(f"records shard {path} is corrupt ({tf_error_text(exc)}); {hint}",
                                     path)
        if expected_records is not None and count != expected_records:
            return CorruptShardError(f"records shard {path} holds {count} records, metadata.json says "
                                     f"{expected_records}; {hint}", path)
    return None


def shard_error(exc, files):
    """The :class:`CorruptShardError` behind a TensorFlow read error ``exc``, or None.

    ``files``: the shard paths read, or a callable returning them (called only
    now; a listing that itself finds a missing or truncated shard gives that
    error, a listing that fails otherwise gives None).
    """
    if not isinstance(exc, READ_ERRORS):
        return None
    if callable(files):
        try:
            files = files()
        except CorruptShardError as listing_error:
            return listing_error
        except Exception:  # noqa: BLE001 - cannot tell: TensorFlow's own error stands
            return None
    return find_bad_shard(files)


try:  # Python iteration that names a bad shard; the dataset itself is unchanged.
    from tensorflow.python.data.ops import dataset_ops as _dataset_ops
    from tensorflow.python.data.ops import iterator_ops as _iterator_ops
except ImportError:  # pragma: no cover - a TensorFlow without these modules: plain datasets
    _dataset_ops = _iterator_ops = None


if _iterator_ops is not None:
    class _ShardErrorIterator(_iterator_ops.OwnedIterator):
        """An ordinary tf.data iterator whose eager ``next`` turns a read error into
        :class:`CorruptShardError` (inside ``tf.function`` it is a plain iterator)."""

        def __init__(self, dataset, files):
            super().__init__(dataset)
            self._shard_files_for_errors = files

        def _next_internal(self):
            if not tf.executing_eagerly():
                return super()._next_internal()
            try:
                return super()._next_internal()
            except READ_ERRORS as exc:
                error = shard_error(exc, self._shard_files_for_errors)
                if error is None:
                    raise
                raise error from None

    class _ShardErrorDataset(_dataset_ops.UnaryUnchangedStructureDataset):
        """The same dataset (same graph, same elements); only its eager iterators differ."""

        def __init__(self, dataset, files):
            self._input_dataset = dataset
            self._shard_files_for_errors = files
            super().__init__(dataset, dataset._variant_tensor)

        def __iter__(self):
            if tf.executing_eagerly():
                return _ShardErrorIterator(self, self._shard_files_for_errors)
            return super().__iter__()


def reporting_bad_shards(dataset, files):
    """``dataset`` whose Python iteration (``for``, ``as_numpy_iterator()``, Keras on JAX)
    raises :class:`CorruptShardError` naming the damaged shard instead of TensorFlow's
    ``DataLossError``/``NotFoundError``.

    ``files``: the shard paths the dataset reads, or a callable returning them
    (called only after an error). Datasets derived from the result
    (``.map``, ``.take``, ...) and graph-mode consumers (Keras ``fit`` on the
    TensorFlow backend) see TensorFlow's own errors.
    """
    if _iterator_ops is None or isinstance(dataset, _ShardErrorDataset):
        return dataset
    return _ShardErrorDataset(dataset, files)


@contextlib.contextmanager
def naming_bad_shards(files):
    """Context manager: a TensorFlow read error inside becomes :class:`CorruptShardError`
    naming the shard (for loops over derived datasets, or Keras ``fit`` on the TensorFlow
    backend, whose graph-mode iterator :func:`reporting_bad_shards` cannot reach).

    ``files``: the shard paths read, or a callable returning them (e.g.
    ``lambda: light_curve_files(directory, split)``), called only after an error.
    """
    try:
        yield
    except READ_ERRORS as exc:
        error = shard_error(exc, files)
        if error is None:
            raise
        raise error from None
