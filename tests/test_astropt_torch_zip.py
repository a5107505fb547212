"""The safe torch checkpoint reader: real checkpoints load, malicious pickles are refused unexecuted."""

import io
import os
import pickle
import subprocess
import sys
import zipfile

import ml_dtypes
import numpy as np
import pytest

from astromer.presets.converters.torch_zip import (
    PickledObject,
    TorchTensor,
    UnsafeCheckpointError,
    UnsupportedCheckpointError,
    is_torch_zip,
    load_torch_checkpoint,
)
from conftest import require_shared
from torch_zip_writer import Global, Tensor, _Pickler, write_torch_zip


def test_torch_is_not_needed():
    code = (
        "import sys\n"
        "from astromer.presets.converters.torch_zip import load_torch_checkpoint\n"
        f"c = load_torch_checkpoint({str(require_shared('reference', 'astropt_v1', '000000_ckpt.pt'))!r})\n"
        "print(len(c['model']), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["30", "False"]


def test_reference_v2_checkpoint_loads_with_stub_classes():
    ckpt = load_torch_checkpoint(require_shared("reference", "astropt_v2", "ckpt.pt"))
    assert sorted(ckpt) == sorted(
        ["model", "optimizer", "model_args", "iter_num", "best_val_loss", "config", "modality_registry"]
    )
    keys = list(ckpt["model"])
    assert len(keys) == 24 and all(k.startswith("_orig_mod.") for k in keys)
    wte = ckpt["model"]["_orig_mod.transformer.wte.images.c_fc.weight"]
    assert isinstance(wte, TorchTensor) and wte.shape == (256, 768) and wte.dtype == np.float32
    assert np.asarray(wte).std() == pytest.approx(0.02, rel=0.1)
    registry = ckpt["modality_registry"]
    assert isinstance(registry, PickledObject) and registry.global_name == "astropt.model.ModalityRegistry"
    images = registry.modalities["images"]
    assert (images.name, images.input_size, images.patch_size, images.embed_pos) == ("images", 768, 16, True)
    assert ckpt["model_args"]["modalities"][0] is images
    assert isinstance(ckpt["best_val_loss"], np.float32)
    assert float(ckpt["best_val_loss"]) == pytest.approx(0.43054258823394775, rel=1e-6)
    assert ckpt["config"]["use_hf"] is True and ckpt["iter_num"] == 0
    assert ckpt["optimizer"]["state"] == {} and len(ckpt["optimizer"]["param_groups"]) == 2


def test_reference_v1_checkpoint_loads():
    ckpt = load_torch_checkpoint(require_shared("reference", "astropt_v1", "000000_ckpt.pt"))
    assert ckpt["model_args"] == {
        "n_layer": 3, "n_head": 4, "n_embd": 64, "n_chan": 3, "block_size": 64, "dropout": 0.0, "patch_size": 16,
    }
    assert float(np.asarray(ckpt["best_val_loss"])) == pytest.approx(0.4310486912727356, rel=1e-6)
    bias = np.asarray(ckpt["model"]["_orig_mod.transformer.wte.0.bias"])
    assert bias.shape == (64,) and bias.std() > 0


def test_dtypes_views_and_containers(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    obj = {
        "f32": Tensor(a),
        "transposed_view": Tensor(a.T, storage=a.reshape(-1), stride=(1, 4)),
        "offset_view": Tensor(a[1], storage=a.reshape(-1), offset=4),
        "f16": Tensor(a.astype(np.float16)),
        "bf16": Tensor((a / 3).astype(ml_dtypes.bfloat16)),
        "i64": Tensor(np.arange(5, dtype=np.int64)),
        "scalar": Tensor(np.array(2.5, dtype=np.float32)),
        "plain": [1, 2.5, "x", (3, None), {"y": True}, b"raw", {1, 2}],
    }
    path = write_torch_zip(tmp_path / "t.pt", obj)
    assert is_torch_zip(path)
    out = load_torch_checkpoint(path)
    np.testing.assert_array_equal(np.asarray(out["f32"]), a)
    np.testing.assert_array_equal(np.asarray(out["transposed_view"]), a.T)
    np.testing.assert_array_equal(np.asarray(out["offset_view"]), a[1])
    assert out["f16"].numpy().dtype == np.float16
    np.testing.assert_array_equal(out["bf16"].numpy(), (a / 3).astype(ml_dtypes.bfloat16).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(out["i64"]), np.arange(5))
    assert float(np.asarray(out["scalar"])) == 2.5
    assert out["plain"] == [1, 2.5, "x", (3, None), {"y": True}, b"raw", {1, 2}]


def test_not_a_checkpoint(tmp_path):
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UnsupportedCheckpointError, match="legacy"):
        load_torch_checkpoint(legacy)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert not is_torch_zip(other)
    with pytest.raises(UnsupportedCheckpointError, match="no data.pkl"):
        load_torch_checkpoint(other)


# ----------------------------------------------------------------------------- malicious pickles
class _Call:
    """Pickles as a call of ``func(*args)`` (what an attacker's __reduce__ does)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _marker_command(marker):
    return f"touch {marker}"


def _attacks(marker):
    return {
        "os.system": _Call(os.system, _marker_command(marker)),
        "builtins.eval": _Call(eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.exec": _Call(exec, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.check_call": _Call(subprocess.check_call, ["touch", str(marker)]),
    }


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "builtins.exec", "subprocess.check_call"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, name):
    marker = tmp_path / "pwned"
    attack = _attacks(marker)[name]
    # The payload hides inside an otherwise well-formed checkpoint.
    payload = pickle.dumps({"model": {"w": 1}, "config": attack, "iter_num": 0}, protocol=2)
    path = write_torch_zip(tmp_path / "evil.pt", None, pickle_bytes=payload)
    with pytest.raises(UnsafeCheckpointError, match="calls (posix|os|builtins|subprocess)\\.") as info:
        load_torch_checkpoint(path)
    assert name.split(".")[1] in str(info.value)
    assert "execute code" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 1, 4, 5])
def test_malicious_pickle_refused_for_every_protocol(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps([_Call(os.system, _marker_command(marker))], protocol=protocol)
    path = write_torch_zip(tmp_path / "evil.pt", None, pickle_bytes=payload)
    with pytest.raises(UnsafeCheckpointError):
        load_torch_checkpoint(path)
    assert not marker.exists()


class Gadget:
    """An arbitrary class: instantiating it (NEWOBJ) must be refused too."""

    def __reduce__(self):
        import copyreg

        return copyreg.__newobj__, (Gadget,), {"x": 1}


def test_instantiating_an_unknown_class_is_refused(tmp_path):
    path = write_torch_zip(tmp_path / "evil.pt", None, pickle_bytes=pickle.dumps({"a": Gadget()}, protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="instantiates .*Gadget"):
        load_torch_checkpoint(path)


def test_calling_a_data_class_or_a_storage_is_refused(tmp_path):
    evil = _Call_global(("astropt.model", "ModalityConfig"), ("images", 768))
    path = write_torch_zip(tmp_path / "evil.pt", {"m": evil})
    with pytest.raises(UnsafeCheckpointError, match="calls astropt.model.ModalityConfig"):
        load_torch_checkpoint(path)
    bad_persistent = tmp_path / "bad_pid.pt"
    payload = b"\x80\x02X\x04\x00\x00\x00evilQ."  # BINPERSID with a non-storage id
    write_torch_zip(bad_persistent, None, pickle_bytes=payload)
    with pytest.raises(UnsafeCheckpointError, match="persistent id"):
        load_torch_checkpoint(bad_persistent)


class _Call_global:
    """REDUCE of a named global (written by name, never imported by the writer)."""

    def __init__(self, global_name, args):
        self.global_name, self.args = global_name, args

    def __reduce__(self):
        return Global(*self.global_name), self.args


def test_overwriting_a_tensor_is_refused(tmp_path):
    """BUILD on a rebuilt tensor (to swap its storage or shape) is not something torch.save writes."""
    buf = io.BytesIO()
    pickler = _Pickler(buf)
    pickler.save(Tensor(np.zeros(3, "float32")))
    pickler.save({"shape": (10**9,)})
    buf.write(pickle.BUILD + pickle.STOP)
    data = b"\x80\x02" + buf.getvalue()
    path = tmp_path / "build.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data)
        zf.writestr("archive/data/0", np.zeros(3, "float32").tobytes())
    with pytest.raises(UnsafeCheckpointError, match="overwrite a tensor"):
        load_torch_checkpoint(path)


# ----------------------------------------------------------------------------- allocation limits
def _refused_without_allocating(path):
    """The UnsafeCheckpointError message of loading ``path``; fails if loading traced 16 MiB or more."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(UnsafeCheckpointError) as info:
            load_torch_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message[len(f"{path}: "):]


def test_memo_index_cannot_allocate(tmp_path):
    """A 9-byte pickle whose LONG_BINPUT index is 1e8: the C unpickler would allocate 1.6 GB for its memo."""
    import struct

    payload = b"\x80\x02N" + b"r" + struct.pack("<I", 100_000_000) + b"."
    path = write_torch_zip(tmp_path / "memo.pt", None, pickle_bytes=payload)
    assert _refused_without_allocating(path) == (
        "The pickle (9 bytes) uses memo index 100,000,000: unpickling it would allocate 1,600,000,000 bytes for "
        "the memo; refusing to load it."
    )


def test_tensor_view_cannot_claim_more_than_its_storage(tmp_path):
    """One stored float viewed with stride 0 as 400 million: numpy() would have allocated 1.6 GB."""
    huge = np.broadcast_to(np.float32(0), (400_000_000,))  # a shape only, no memory
    path = write_torch_zip(tmp_path / "view.pt", {"w": Tensor(huge, storage=np.zeros(1, "float32"), stride=(0,))})
    assert _refused_without_allocating(path) == (
        "A tensor of shape (400000000,) (stride (0,), offset 0: 400,000,000 elements, reaching element 1) claims "
        "more than its storage '0' holds (1 elements)."
    )
    bad = write_torch_zip(tmp_path / "negative.pt", {"w": Tensor(np.zeros(3, "float32"), stride=(-1,))})
    assert _refused_without_allocating(bad) == (
        "A tensor has an invalid view of storage '0': offset 0, shape (3,), stride (-1,) (non-negative integers, "
        "at most 32 dimensions, one stride per dimension)."
    )


def test_storage_cannot_claim_more_than_the_archive_holds(tmp_path):
    huge = np.broadcast_to(np.float32(0), (400_000_000,))
    buf = io.BytesIO()
    _Pickler(buf).dump({"w": Tensor(huge, storage=huge)})  # persistent id: 400,000,000 floats
    path = tmp_path / "storage.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/data/0", np.zeros(1, "float32").tobytes())  # the archive holds 4 bytes
    assert _refused_without_allocating(path) == (
        "Storage '0' claims 400,000,000 elements of torch.FloatStorage (1,600,000,000 bytes) but the archive "
        "holds 4 bytes for it."
    )


def test_builtins_cannot_allocate_from_a_size(tmp_path):
    import struct

    sized = b"\x80\x02c__builtin__\nbytearray\nJ" + struct.pack("<i", 1_600_000_000) + b"\x85R."
    path = write_torch_zip(tmp_path / "bytearray.pt", None, pickle_bytes=sized)
    assert _refused_without_allocating(path) == (
        "Refusing to load this checkpoint: its pickle calls builtins.bytearray(1600000000), which would allocate "
        "memory the file does not hold."
    )
    ranged = pickle.dumps({"x": _Call(list, range(10**9))}, protocol=2)
    path = write_torch_zip(tmp_path / "range.pt", None, pickle_bytes=ranged)
    assert _refused_without_allocating(path).startswith("Refusing to load this checkpoint: its pickle calls "
                                                        "builtins.list(range(0, 1000000000)), which would allocate")


def test_oversized_pickle_is_not_read(tmp_path, monkeypatch):
    from astromer.presets.converters import torch_zip

    path = write_torch_zip(tmp_path / "big.pt", {"note": "x" * 5000})
    size = zipfile.ZipFile(path).getinfo("archive/data.pkl").file_size
    monkeypatch.setattr(torch_zip, "MAX_PICKLE_BYTES", 1000)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_torch_checkpoint(path)
    assert str(info.value) == (f"{path}: archive/data.pkl would expand to {size:,} bytes, more than the 1,000 "
                               "allowed; refusing to read it.")
