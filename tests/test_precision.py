"""dtype="auto": bfloat16 only where the hardware has it natively, the accuracy check passes and it is faster."""

import logging
import time

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


def test_auto_picks_bf16_only_where_native_accurate_and_faster(monkeypatch, caplog):
    model = _small()
    monkeypatch.setattr(precision, "speedup", lambda model, other: 1.5)  # timing is the machine's: fixed here
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
    monkeypatch.setattr(precision, "MIN_COSINE", 0.999)
    monkeypatch.setattr(precision, "speedup", lambda model, other: 0.7)  # native and accurate, but slower
    with caplog.at_level(logging.INFO, logger="astromer"):
        assert precision.auto_dtype(model) is model
    assert "bfloat16 runs at 0.70x float32's speed here, < 1.1x" in caplog.text


class _Encoder:
    """Stands in for a model and its encoder: sleeps ``delay`` seconds per call, records batch sizes."""

    window_size = 16

    def __init__(self, delay, calls):
        self.delay, self.calls = delay, calls

    def encoder_model(self):
        return self

    def predict_on_batch(self, x):
        self.calls.append(len(x["mask"]))
        time.sleep(self.delay)
        return x["mask"]


def test_speedup_times_both_encoders():
    model = _small()
    assert 0.2 < precision.speedup(model, model, batch=8, repeats=2) < 5  # the same encoder twice: about 1
    calls = []
    assert precision.speedup(_Encoder(0.05, calls), _Encoder(0.0, calls), batch=4, repeats=2) > 10
    assert calls == [4] * 6  # per model: one untimed (compiling) call, two timed ones


def test_from_preset_dtype_auto(monkeypatch, tmp_path):
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASTROMER_MIRROR", str(require_shared("weights", "astromer")))
    monkeypatch.setattr(precision, "native_bf16", lambda: (True, "test"))
    monkeypatch.setattr(precision, "speedup", lambda model, other: 1.5)
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
