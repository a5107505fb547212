"""Read PyTorch checkpoints (``torch.save`` zip format) without torch and without running their code.

A ``.pt`` file is a zip archive: ``<root>/data.pkl`` is a pickle of the saved
object, and every tensor's bytes sit in ``<root>/data/<key>``. Unpickling
with the standard library would import and call whatever the pickle names
(``os.system`` is one opcode away). :class:`SafeTorchUnpickler` instead
resolves globals from a closed list:

- the torch functions that rebuild tensors (``torch._utils._rebuild_tensor_v2``
  and relatives) and the storage types (``torch.FloatStorage``, ...),
  re-implemented here on NumPy;
- ``collections.OrderedDict`` and plain builtins (``set``, ``frozenset``,
  ``bytearray``, ``complex``, ``slice``, ...);
- numpy scalars and arrays and ``_codecs.encode`` (how protocol-2 pickles
  store bytes), re-implemented here as data-only decoders.

Any other global becomes an inert stub class. A stub is never imported or
run: when the pickle tries to call it (REDUCE, INST, OBJ) or to instantiate
it (NEWOBJ), the load stops with :class:`UnsafeCheckpointError` naming the
global. The only exception is NEWOBJ/BUILD of the original astroPT's own
data classes (``ModalityConfig``, ``ModalityRegistry``, ``GPTConfig``):
they give a :class:`PickledObject` holding the pickled fields, nothing more.

Tensors come back as :class:`TorchTensor` (lazy: bytes are read when
``numpy()`` is called), so optimizer states are never materialised.

Nothing in the file may make the reader allocate more than the archive holds.
Before unpickling, every memo index of the pickle is checked against the
pickle's length (the C unpickler sizes its memo by the largest index: a
9-byte pickle could otherwise take gigabytes); a storage may not claim more
bytes than its ``data/<key>`` member records, a tensor view not more elements
than its storage, and sizes, strides and offsets are checked when the tensor
is rebuilt, before anything is allocated; builtins that would allocate by
a size or a ``range`` argument (``bytearray(10**9)``, ``list(range(10**9))``)
are refused; ``data.pkl`` may not exceed :data:`MAX_PICKLE_BYTES`. Every
refusal is an :class:`UnsafeCheckpointError` naming the file.
"""

import _compat_pickle
import collections
import io
import math
import pickle
import pickletools
import zipfile
from pathlib import Path

import numpy as np

from astromer.errors import AstromerError


class UnsafeCheckpointError(AstromerError, pickle.UnpicklingError):
    """The checkpoint's pickle would call code outside the tensor/container whitelist."""


class UnsupportedCheckpointError(AstromerError, ValueError):
    """The file is not a checkpoint this reader understands (e.g. torch's legacy format)."""


# data.pkl holds no tensor bytes (those are separate members): the 2.1B-parameter astroPT
# checkpoint's pickle, optimizer state included, is well under a megabyte.
MAX_PICKLE_BYTES = 256 << 20
_MAX_DIMS = 32


# ----------------------------------------------------------------------------- tensors
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


def _bounded(name, func):
    """``func`` (a builtin) refusing the arguments by which a few pickle bytes allocate without bound:
    a ``range`` to expand, or a size for ``bytes``/``bytearray``. torch.save never writes either."""

    def build(*args, **kwargs):
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, range) or (name in ("bytes", "bytearray") and _is_int(arg)):
                shown = repr(arg) if len(repr(arg)) < 40 else repr(arg)[:37] + "..."
                raise UnsafeCheckpointError(
                    f"Refusing to load this checkpoint: its pickle calls builtins.{name}({shown}), which would "
                    "allocate memory the file does not hold."
                )
        return func(*args, **kwargs)

    build.__name__ = name
    return build


# ----------------------------------------------------------------------------- numpy / bytes
class _NumpyDType:
    """``numpy.dtype(code, align, copy)`` as pickled; BUILD sets the byte order."""

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str) or len(code) > 8:
            raise UnsafeCheckpointError(f"Unexpected numpy dtype argument {code!r}.")
        dtype = np.dtype(code)
        if dtype.hasobject or dtype.fields is not None:
            raise UnsafeCheckpointError(f"numpy dtype {code!r} (objects or records) is not allowed.")
        self.dtype = dtype

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, _NumpyDType) or not isinstance(data, (bytes, bytearray)):
        raise UnsafeCheckpointError("numpy scalar with an unexpected dtype or payload.")
    return np.frombuffer(bytes(data), dtype=dtype.dtype, count=1)[0]


class _NumpyArray:
    """``numpy.ndarray`` via ``_reconstruct``: BUILD carries (version, shape, dtype, fortran, bytes)."""

    def __setstate__(self, state):
        _version, shape, dtype, is_fortran, raw = state
        if not isinstance(dtype, _NumpyDType) or not isinstance(raw, (bytes, bytearray)):
            raise UnsafeCheckpointError("numpy array with object entries or an unexpected payload.")
        arr = np.frombuffer(bytes(raw), dtype=dtype.dtype)
        self.value = arr.reshape(shape, order="F" if is_fortran else "C").copy()


def _numpy_reconstruct(cls, shape, dtype_code):
    return _NumpyArray()


def _codecs_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpointError(f"_codecs.encode called with {encoding!r}: only latin1 text is allowed.")
    return text.encode("latin1")


_NUMPY_ARRAY_MARKER = object()

_ALLOWED = {
    ("collections", "OrderedDict"): _bounded("OrderedDict", collections.OrderedDict),
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Size"): _bounded("Size", tuple),
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "dtype"): _NumpyDType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): _NUMPY_ARRAY_MARKER,
}
_BUILTINS = {
    name: _bounded(name, getattr(__import__("builtins"), name))
    for name in ("set", "frozenset", "bytearray", "bytes", "complex", "slice", "range", "tuple", "list",
                 "dict", "int", "float", "bool", "str")
}
for _name in _STORAGE_DTYPES:
    _ALLOWED[("torch", _name)] = StorageType(_name)
    _ALLOWED[("torch.storage", _name)] = StorageType(_name)

# The original astroPT pickles these dataclasses (model_args["modalities"],
# ckpt["modality_registry"]): they may be re-created as inert records.
DATA_CLASSES = {
    f"{module}.{name}"
    for module in ("astropt.model", "model", "__main__")
    for name in ("ModalityConfig", "ModalityRegistry", "GPTConfig")
}


# ----------------------------------------------------------------------------- stubs
class _StubMeta(type):
    def __call__(cls, *args, **kwargs):
        raise UnsafeCheckpointError(
            f"Refusing to load this checkpoint: its pickle calls {cls.global_name}, which is not a "
            "tensor, storage or plain container. Loading it would execute code from the file "
            "(torch.load(weights_only=False) would run it). Only load it with torch if you trust its source."
        )


class PickledObject(metaclass=_StubMeta):
    """An object of a class we do not import: the pickled fields, as attributes and in ``fields``."""

    global_name = "?"

    def __new__(cls, *args):
        if cls.global_name not in DATA_CLASSES:
            raise UnsafeCheckpointError(
                f"Refusing to load this checkpoint: its pickle instantiates {cls.global_name}, which is "
                "not a known data class. Loading it with torch would run that class's code."
            )
        obj = object.__new__(cls)
        object.__setattr__(obj, "fields", {})
        return obj

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise UnsafeCheckpointError(f"Unexpected pickled state for {self.global_name}.")
        self.fields.update(state)
        for key, value in state.items():
            if isinstance(key, str) and key.isidentifier() and not key.startswith("__"):
                object.__setattr__(self, key, value)

    def __repr__(self):
        return f"<{self.global_name} {self.fields!r}>"


_STUBS = {}


def _stub(module, name):
    key = f"{module}.{name}"
    if key not in _STUBS:
        _STUBS[key] = _StubMeta(name, (PickledObject,), {"global_name": key, "__module__": __name__})
    return _STUBS[key]


# ----------------------------------------------------------------------------- unpickler
class SafeTorchUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of a torch zip checkpoint with the whitelist above."""

    def __init__(self, file, reader):
        super().__init__(file)
        self.reader = reader
        self.storages = {}

    def find_class(self, module, name):
        # Python 2 names, as protocol 0-2 pickles write them (``__builtin__``, ``copy_reg``): a
        # renaming only, nothing is imported.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "builtins" and name in _BUILTINS:
            return _BUILTINS[name]
        return _stub(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise UnsafeCheckpointError(f"Unexpected persistent id {pid!r}: only tensor storages are allowed.")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise UnsafeCheckpointError(f"Persistent id names {storage_type!r}, not a torch storage type.")
        if not (_is_int(numel) and numel >= 0) or not isinstance(key, (str, int)):
            raise UnsafeCheckpointError(f"Persistent id {pid!r}: the storage key or size is not valid.")
        key = str(key)
        if key not in self.storages:
            self.reader.check_storage(key, storage_type, numel)
            self.storages[key] = Storage(self.reader, key, storage_type, numel)
        elif self.storages[key].numel != numel or self.storages[key].storage_type is not storage_type:
            raise UnsafeCheckpointError(f"Storage {key!r} is named twice with different types or sizes.")
        return self.storages[key]


def _unwrap_numpy(obj, depth=0):
    if depth > 50:
        return obj
    if isinstance(obj, _NumpyArray):
        return obj.value
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _unwrap_numpy(obj[k], depth + 1)
    elif isinstance(obj, list):
        obj[:] = [_unwrap_numpy(v, depth + 1) for v in obj]
    elif isinstance(obj, tuple):
        return type(obj)(_unwrap_numpy(v, depth + 1) for v in obj) if type(obj) is tuple else obj
    return obj


class TorchZipReader:
    """Access to one ``torch.save`` zip archive (kept open until :meth:`close`)."""

    def __init__(self, path):
        self.path = Path(path)
        if not zipfile.is_zipfile(self.path):
            raise UnsupportedCheckpointError(
                f"{self.path} is not a zip-format torch checkpoint (torch >= 1.6 writes zips; the legacy "
                "format is not supported: re-save it with a recent torch)."
            )
        self.zip = zipfile.ZipFile(self.path)
        pkl = [n for n in self.zip.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise UnsupportedCheckpointError(f"{self.path} is a zip archive but not a torch checkpoint (no data.pkl).")
        self.root = pkl[0][: -len("data.pkl")]
        self.big_endian = False
        if self.root + "byteorder" in self.zip.namelist():
            self.big_endian = self.zip.read(self.root + "byteorder").strip() == b"big"

    def read_pickle_bytes(self):
        return read_member(self.zip, self.root + "data.pkl", MAX_PICKLE_BYTES, self.path)

    @staticmethod
    def _itemsize(storage_type):
        return 2 if storage_type.dtype == "bfloat16" else np.dtype(storage_type.dtype).itemsize

    def check_storage(self, key, storage_type, numel):
        """Before any allocation: the member ``data/<key>`` exists and records at least the claimed bytes."""
        try:
            info = self.zip.getinfo(f"{self.root}data/{key}")
        except KeyError as exc:
            raise UnsupportedCheckpointError(f"{self.path}: tensor storage {key!r} is missing.") from exc
        claimed = numel * self._itemsize(storage_type)
        if claimed > info.file_size:
            raise UnsafeCheckpointError(
                f"Storage {key!r} claims {numel:,} elements of {storage_type} ({claimed:,} bytes) but the archive "
                f"holds {info.file_size:,} bytes for it."
            )

    def read_storage(self, key, dtype, numel):
        itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
        nbytes = numel * itemsize
        try:
            with self.zip.open(f"{self.root}data/{key}") as f:
                raw = f.read(nbytes)  # streamed: never more than the storage's own size
        except KeyError as exc:
            raise UnsupportedCheckpointError(f"{self.path}: tensor storage {key!r} is missing.") from exc
        except zipfile.BadZipFile as exc:
            raise UnsupportedCheckpointError(f"{self.path}: tensor storage {key!r} is corrupted ({exc}).") from exc
        if len(raw) < nbytes:
            raise UnsupportedCheckpointError(f"{self.path}: tensor storage {key!r} is truncated.")
        if dtype == "bfloat16":
            u16 = np.frombuffer(raw, dtype=">u2" if self.big_endian else "<u2", count=numel)
            return (u16.astype(np.uint32) << 16).view(np.float32)
        dt = np.dtype(dtype)
        if self.big_endian:
            dt = dt.newbyteorder(">")
        return np.frombuffer(raw, dtype=dt, count=numel).astype(dt.newbyteorder("="))

    def load(self):
        data = self.read_pickle_bytes()
        try:
            check_memo_indices(data, self.path)
            unpickler = SafeTorchUnpickler(io.BytesIO(data), self)
            return _unwrap_numpy(unpickler.load())
        except UnsafeCheckpointError as exc:
            raise UnsafeCheckpointError(f"{self.path}: {exc}") from exc

    def close(self):
        self.zip.close()


def read_member(zf, name, limit, path):
    """The bytes of zip member ``name``, refused (UnsafeCheckpointError naming ``path``) when its header
    records more than ``limit`` bytes, and read so that no more than ``limit`` are ever decompressed."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise UnsafeCheckpointError(f"{path}: {name} would expand to {info.file_size:,} bytes, more than the "
                                    f"{limit:,} allowed; refusing to read it.")
    with zf.open(info) as f:
        return f.read(limit)


_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


def check_memo_indices(data, path="the checkpoint"):
    """Refuse a pickle whose memo indices exceed its length (before unpickling: the C unpickler
    allocates its memo up to twice the largest index, 16 bytes per slot)."""
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name in _MEMO_OPCODES and int(arg) > len(data):
                raise UnsafeCheckpointError(
                    f"The pickle ({len(data):,} bytes) uses memo index {int(arg):,}: unpickling it would allocate "
                    f"{16 * int(arg):,} bytes for the memo; refusing to load it."
                )
    except (ValueError, TypeError) as exc:
        raise UnsupportedCheckpointError(f"{path}: its pickle is malformed ({exc}).") from exc


def load_torch_checkpoint(path):
    """Unpickle a ``torch.save`` zip file safely; tensors are :class:`TorchTensor` (lazy).

    Raises :class:`UnsafeCheckpointError` if the pickle would call anything
    but the tensor/container whitelist (nothing from the file is executed),
    :class:`UnsupportedCheckpointError` for files that are not zip checkpoints.
    The archive stays open while tensors reference it (closed when they are
    garbage-collected).
    """
    return TorchZipReader(path).load()


def is_torch_zip(path):
    """True for a zip archive with a top-level ``<root>/data.pkl`` (a torch >= 1.6 checkpoint)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") and n.count("/") == 1 for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
