"""dtype="auto": bfloat16 only where the hardware has it natively and the accuracy check passes."""

import logging

import numpy as np
import pytest

import astromer
from astromer.presets import precision
from conftest import require_shared


def _small():
    return astromer.Astromer.from_architecture("astromer_v2", num_layers=2, window_size=32)


def test_native_bf16_reads_the_cpu_flags(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    assert precision.cpu_flags(cpuinfo) == {"fpu", "sse", "avx2", "avx512f", "avx512_bf16"}
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert precision.native_bf16() == (True, "CPU flag amx_bf16")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f"})
    native, why = precision.native_bf16()
    assert not native and "avx512_bf16 or amx_bf16" in why


def test_auto_picks_bf16_only_where_native_and_accurate(monkeypatch, caplog):
    model = _small()
    monkeypatch.setattr(precision, "native_bf16", lambda: (False, "no native bfloat16 (test)"))
    assert precision.auto_dtype(model) is model
    monkeypatch.setattr(precision, "native_bf16", lambda: (True, "CPU flag avx512_bf16 (test)"))
    chosen = precision.auto_dtype(model)
    assert chosen is not model and chosen.dtype_policy.name == "mixed_bfloat16"
    assert precision.pooled_cosine(model, chosen) >= 0.999
    curve = np.column_stack([np.linspace(0, 300, 50), np.full(50, 17.0), np.full(50, 0.05)])
    result = chosen.embed([curve], verbose=0)
    assert result.pooled.dtype == np.float32 and result.observations[0].dtype == np.float32
    monkeypatch.setattr(precision, "MIN_COSINE", 1.5)  # an accuracy check that cannot pass
    with caplog.at_level(logging.WARNING, logger="astromer"):
        assert precision.auto_dtype(model) is model
    assert "bfloat16 pooled embeddings reach cosine" in caplog.text


def test_from_preset_dtype_auto(monkeypatch, tmp_path):
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASTROMER_MIRROR", str(require_shared("weights", "astromer")))
    monkeypatch.setattr(precision, "native_bf16", lambda: (True, "test"))
    model = astromer.Astromer.from_preset("astromer_v1", dtype="auto", trainable=False, progress=False)
    assert model.dtype_policy.name == "mixed_bfloat16" and not model.trainable
    monkeypatch.setattr(precision, "native_bf16", lambda: (False, "test"))
    assert astromer.Astromer.from_preset("astromer_v1", dtype="auto", progress=False).dtype_policy.name == "float32"


def test_with_dtype_keeps_the_weights():
    model = _small()
    copy = precision.with_dtype(model, "mixed_bfloat16")
    assert [w.shape for w in copy.get_weights()] == [w.shape for w in model.get_weights()]
    with pytest.raises(Exception):
        precision.with_dtype(model, "no_such_policy")
