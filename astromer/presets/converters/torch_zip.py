"""Read PyTorch checkpoints (``torch.save`` zip format) without torch and without running their code.

A ``.pt`` file is a zip archive: ``<root>/data.pkl`` is a pickle of the saved
object, and every tensor's bytes sit in ``<root>/data/<key>``. The pickle is
read by the restricted :class:`SafeTorchUnpickler`
(:mod:`astromer.presets.converters.torch_pickle`: a closed list of globals,
anything else refused unexecuted with :class:`UnsafeCheckpointError`), and
tensors come back as lazy :class:`TorchTensor`
(:mod:`astromer.presets.converters.torch_tensors`), so optimizer states are
never materialised.

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

import io
import zipfile
from pathlib import Path

import numpy as np

from astromer.presets.converters.torch_pickle import (
    DATA_CLASSES,
    PickledObject,
    SafeTorchUnpickler,
    _unwrap_numpy,
    check_memo_indices,
)
from astromer.presets.converters.torch_tensors import (
    Storage,
    StorageType,
    TorchTensor,
    UnsafeCheckpointError,
    UnsupportedCheckpointError,
)

# Re-exported: these lived here before the split into torch_tensors / torch_pickle.
__all__ = [
    "DATA_CLASSES",
    "MAX_PICKLE_BYTES",
    "PickledObject",
    "SafeTorchUnpickler",
    "Storage",
    "StorageType",
    "TorchTensor",
    "TorchZipReader",
    "UnsafeCheckpointError",
    "UnsupportedCheckpointError",
    "check_memo_indices",
    "is_torch_zip",
    "load_torch_checkpoint",
    "read_member",
]

# data.pkl holds no tensor bytes (those are separate members): the 2.1B-parameter astroPT
# checkpoint's pickle, optimizer state included, is well under a megabyte.
MAX_PICKLE_BYTES = 256 << 20


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
