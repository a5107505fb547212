"""Test helper: write ``torch.save``-layout zip files without torch (for the safe reader's tests).

Tensors are given as :class:`Tensor` (a NumPy array, optionally stored in a
larger storage at an offset with strides). The pickle uses the same globals as
torch does (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``, ...),
written by name with the pure-Python pickler.
"""

import collections
import io
import pickle
import zipfile

import ml_dtypes
import numpy as np

_STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(ml_dtypes.bfloat16): "BFloat16Storage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}


class Global:
    """Pickled as ``GLOBAL module name`` (the pickler never imports it)."""

    def __init__(self, module, name):
        self.module, self.name = module, name


class Tensor:
    def __init__(self, array, storage=None, offset=0, stride=None):
        self.array = np.asarray(array)
        self.storage = self.array.reshape(-1) if storage is None else np.asarray(storage)
        self.offset = offset
        if stride is None:
            stride, acc = [], 1
            for n in reversed(self.array.shape):
                stride.insert(0, acc)
                acc *= n
        self.stride = tuple(stride)


class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


class _Pickler(pickle._Pickler):
    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages = []

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            name = _STORAGE_NAMES[obj.array.dtype]
            return ("storage", Global("torch", name), obj.key, "cpu", obj.array.size)
        return None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        if isinstance(obj, Tensor):
            storage = _Storage(str(len(self.storages)), obj.storage)
            self.storages.append(storage)
            self.save_reduce(
                Global("torch._utils", "_rebuild_tensor_v2"),
                (storage, obj.offset, tuple(obj.array.shape), obj.stride, False, collections.OrderedDict()),
                obj=None,
            )
            return
        super().save(obj, save_persistent_id)

    def save_reduce(self, func, args, *rest, obj=None, **kwargs):
        if isinstance(func, Global):
            self.save(func)
            self.save(args)
            self.write(pickle.REDUCE)
            return
        super().save_reduce(func, args, *rest, obj=obj, **kwargs)


def write_torch_zip(path, obj, root="archive", pickle_bytes=None):
    """Write ``obj`` (dicts/lists/tuples/numbers/str and :class:`Tensor`) as torch's zip layout.

    ``pickle_bytes`` replaces the pickle (e.g. a malicious one written with the standard pickle).
    """
    buf = io.BytesIO()
    pickler = _Pickler(buf)
    if pickle_bytes is None:
        pickler.dump(obj)
        data = buf.getvalue()
    else:
        data = pickle_bytes
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{root}/data.pkl", data)
        zf.writestr(f"{root}/byteorder", "little")
        for storage in pickler.storages:
            zf.writestr(f"{root}/data/{storage.key}", np.ascontiguousarray(storage.array).tobytes())
        zf.writestr(f"{root}/version", "3\n")
    return path
