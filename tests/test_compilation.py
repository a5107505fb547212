"""The package's compile default: XLA where TensorFlow runs without oneDNN (astromer.models.compilation)."""

import keras
import pytest

from astromer import Astromer
from astromer.models.compilation import default_jit_compile, tensorflow_without_onednn


def test_xla_by_default_only_where_tensorflow_lacks_onednn(monkeypatch):
    monkeypatch.delenv("ASTROMER_XLA", raising=False)
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.util import _pywrap_util_port

        assert tensorflow_without_onednn() == (not _pywrap_util_port.IsMklEnabled())
    else:
        assert not tensorflow_without_onednn()
    expected = True if tensorflow_without_onednn() else "auto"
    assert default_jit_compile() == expected
    model = Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=8, window_size=8)
    model.compile()
    # Keras resolves "auto": XLA on JAX, off on a TensorFlow CPU
    assert model.jit_compile == (expected is True or keras.backend.backend() == "jax")
    model.compile(jit_compile=False)  # the caller's choice wins
    assert model.jit_compile is False


@pytest.mark.parametrize("value, expected", [("0", "auto"), ("1", True), ("auto", None), (" AUTO ", None)])
def test_the_environment_overrides_the_default(monkeypatch, value, expected):
    monkeypatch.setenv("ASTROMER_XLA", value)
    want = (True if tensorflow_without_onednn() else "auto") if expected is None else expected
    assert default_jit_compile() == want


def test_a_bad_setting_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("ASTROMER_XLA", "yes")
    with pytest.raises(ValueError, match="ASTROMER_XLA must be 0, 1 or auto; got 'yes'"):
        default_jit_compile()
