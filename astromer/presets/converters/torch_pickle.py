"""The restricted unpickler of ``data.pkl`` in a torch checkpoint: a closed list of globals, nothing imported.

Unpickling with the standard library would import and call whatever the pickle names
(``os.system`` is one opcode away). :class:`SafeTorchUnpickler` instead resolves globals
from a closed list:

- the torch functions that rebuild tensors (``torch._utils._rebuild_tensor_v2``
  and relatives) and the storage types (``torch.FloatStorage``, ...),
  re-implemented on NumPy in :mod:`astromer.presets.converters.torch_tensors`;
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

Builtins that would allocate by a size or a ``range`` argument
(``bytearray(10**9)``, ``list(range(10**9))``) are refused, and
:func:`check_memo_indices` refuses, before unpickling, a memo index beyond the
pickle's length (the C unpickler sizes its memo by the largest index: a 9-byte
pickle could otherwise take gigabytes).
"""

import _compat_pickle
import collections
import pickle
import pickletools

import numpy as np

from astromer.presets.converters.torch_tensors import (
    _STORAGE_DTYPES,
    Storage,
    StorageType,
    UnsafeCheckpointError,
    UnsupportedCheckpointError,
    _is_int,
    _rebuild_from_type_v2,
    _rebuild_parameter,
    _rebuild_tensor,
)


# ----------------------------------------------------------------------------- builtins
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
