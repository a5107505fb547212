"""The tensors of a PyTorch checkpoint, rebuilt on NumPy without torch, and the reader's errors.

A ``torch.save`` pickle names its storages by persistent id (``<root>/data/<key>`` in the
archive) and rebuilds each tensor as a view of one (``torch._utils._rebuild_tensor_v2``).
:class:`Storage` and :class:`TorchTensor` stand for them, lazily: bytes are read when
``numpy()`` is called, so optimizer states are never materialised. Every view is checked
(integer, non-negative sizes, strides and offset, inside its storage) before anything is
allocated. The pickle whitelist that maps torch's globals onto these is
:mod:`astromer.presets.converters.torch_pickle`.
"""

import math
import pickle

import numpy as np

from astromer.errors import AstromerError


class UnsafeCheckpointError(AstromerError, pickle.UnpicklingError):
    """The checkpoint's pickle would call code outside the tensor/container whitelist."""


class UnsupportedCheckpointError(AstromerError, ValueError):
    """The file is not a checkpoint this reader understands (e.g. torch's legacy format)."""


_MAX_DIMS = 32


_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
    "UntypedStorage": np.uint8,
}


class StorageType:
    """Stands for ``torch.<Name>Storage`` in the pickle (never callable)."""

    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    def __setstate__(self, state):
        raise UnsafeCheckpointError("The pickle tries to overwrite a storage type (BUILD).")

    def __repr__(self):
        return f"torch.{self.name}"


class Storage:
    """A tensor storage: ``numel`` elements of ``dtype`` in zip member ``data/<key>``, read on demand."""

    def __init__(self, reader, key, storage_type, numel):
        self.reader, self.key, self.storage_type, self.numel = reader, key, storage_type, int(numel)
        self._array = None

    def __setstate__(self, state):
        raise UnsafeCheckpointError("The pickle tries to overwrite a tensor storage's attributes (BUILD).")

    def array(self):
        if self._array is None:
            self._array = self.reader.read_storage(self.key, self.storage_type.dtype, self.numel)
        return self._array


class TorchTensor:
    """A tensor from the checkpoint, not yet copied out of its storage.

    ``shape``, ``dtype`` (NumPy; bfloat16 storages become float32), ``numpy()``
    and ``np.asarray(tensor)`` give its values.
    """

    def __init__(self, storage, offset, shape, stride):
        self.storage = storage
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.stride = tuple(int(s) for s in stride)

    def __setstate__(self, state):
        raise UnsafeCheckpointError("The pickle tries to overwrite a tensor's attributes (BUILD).")

    @property
    def dtype(self):
        d = self.storage.storage_type.dtype
        return np.dtype(np.float32) if d == "bfloat16" else np.dtype(d)

    def numpy(self):
        flat = self.storage.array()
        if not self.shape:
            return np.array(flat[self.offset])
        span = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride) if n > 0) + 1
        if any(n == 0 for n in self.shape):
            return np.zeros(self.shape, dtype=flat.dtype)
        if span > flat.size or self.offset < 0 or min(self.stride) < 0 or math.prod(self.shape) > flat.size:
            raise UnsupportedCheckpointError(
                f"Tensor view (offset {self.offset}, shape {self.shape}, stride {self.stride}) "
                f"runs past its storage of {flat.size} elements; the checkpoint is corrupted."
            )
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :], shape=self.shape, strides=[s * flat.itemsize for s in self.stride], writeable=False
        )
        return np.array(view)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self):
        return f"TorchTensor(shape={self.shape}, dtype={self.dtype})"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """A :class:`TorchTensor` view, validated before anything is allocated: integer sizes, strides and
    offset, not negative, and the view inside its storage with no more elements than the storage."""
    if not isinstance(storage, Storage):
        raise UnsafeCheckpointError("A tensor rebuild received something other than a tensor storage.")
    size = tuple(size) if isinstance(size, list) else size
    stride = tuple(stride) if isinstance(stride, list) else stride
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride) <= _MAX_DIMS
            and all(_is_int(n) and n >= 0 for n in size + stride) and _is_int(storage_offset)
            and storage_offset >= 0):
        raise UnsafeCheckpointError(
            f"A tensor has an invalid view of storage {storage.key!r}: offset {storage_offset!r}, shape {size!r}, "
            f"stride {stride!r} (non-negative integers, at most {_MAX_DIMS} dimensions, one stride per dimension)."
        )
    numel = math.prod(size)
    if numel:
        span = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if numel > storage.numel or span > storage.numel:
            raise UnsafeCheckpointError(
                f"A tensor of shape {size} (stride {stride}, offset {storage_offset}: {numel:,} elements, reaching "
                f"element {span:,}) claims more than its storage {storage.key!r} holds ({storage.numel:,} elements)."
            )
    return TorchTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    if func is not _rebuild_tensor:
        raise UnsafeCheckpointError("_rebuild_from_type_v2 asked to call a non-tensor function.")
    return func(*args)
