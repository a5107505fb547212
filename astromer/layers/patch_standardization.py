"""Per-patch standardisation of AstroPT tokens, with the original's precision quirks."""

import keras
import ml_dtypes
import numpy as np
from keras import ops

PRECISIONS = ("float32", "float16", "bfloat16")


def _round(x, dtype):
    return x.astype(dtype).astype(np.float32)


def standardize_patches(patches, epsilon=1e-8, ddof=1, precision="float32"):
    """NumPy twin of :class:`PatchStandardization`, bit-exact with the originals.

    Each patch (last axis) becomes ``(x - mean) / (std + epsilon)`` with the
    unbiased (``ddof=1``) standard deviation. The statistics are accumulated
    in float64 and rounded to float32, as torch's CPU ``std_mean`` does, so
    the result matches the original bit for bit (a float32 accumulation
    moves a few values in 100,000 by one float16 step).

    ``precision``:

    - ``"float32"``: plain float32 result;
    - ``"float16"``: astroPT 2 (``normalise(use_hf=True)``): float32 arithmetic,
      the result rounded to float16 (returned as float32);
    - ``"bfloat16"``: astroPT 1 (local files): the pixels are bfloat16 and
      every operation is rounded to bfloat16.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    x64 = np.asarray(patches, dtype=np.float64)
    if precision == "bfloat16":
        x64 = _round(x64, ml_dtypes.bfloat16).astype(np.float64)
    mean = x64.mean(axis=-1, keepdims=True).astype(np.float32)
    std = x64.std(axis=-1, ddof=ddof, keepdims=True).astype(np.float32)
    x = x64.astype(np.float32)
    eps = np.float32(epsilon)
    if precision == "bfloat16":
        bf = ml_dtypes.bfloat16
        mean, std = _round(mean, bf), _round(std, bf)
        return _round(_round(x - mean, bf) / _round(std + eps, bf), bf)
    out = (x - mean) / (std + eps)
    if precision == "float16":
        out = _round(out, np.float16)
    return out


@keras.saving.register_keras_serializable(package="astromer")
class PatchStandardization(keras.layers.Layer):
    """Standardise every patch token: ``(x - mean) / (std + epsilon)`` over its last axis.

    As the original astroPT: the standard deviation is unbiased (``ddof=1``)
    and ``epsilon=1e-8`` is added to it (not to the variance). ``precision``
    emulates the original data paths (see :func:`standardize_patches`):
    ``"float16"`` rounds the result to float16 (astroPT 2), ``"bfloat16"``
    computes in bfloat16 (astroPT 1), ``"float32"`` (new models) does neither.

    This layer runs inside the model graph (``fit()`` on images), in float32:
    its statistics can differ from the original's float64 accumulation in the
    last bit (and XLA's CPU division is not correctly rounded), so with
    ``precision="float16"`` a few values in 10,000 move by one float16 step
    (measured on the reference images: 5 of 196,608 on TensorFlow, 119 on
    JAX; each <= 1e-3). Irrelevant for training; for the bit-exact tokens of
    the original the model's host-side preprocessing (``AstroPT.tokenize``,
    ``embed``) uses :func:`standardize_patches`.
    """

    def __init__(self, epsilon=1e-8, ddof=1, precision="float32", **kwargs):
        super().__init__(**kwargs)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        self.epsilon = float(epsilon)
        self.ddof = int(ddof)
        self.precision = precision

    def call(self, patches):
        x = ops.cast(patches, "float32")
        if self.precision == "bfloat16":
            x = self._round(x, "bfloat16")
        n = x.shape[-1]
        mean = ops.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        # Corrected two-pass variance: the second term removes the error of the rounded mean.
        s1 = ops.sum(centred, axis=-1, keepdims=True)
        var = (ops.sum(ops.square(centred), axis=-1, keepdims=True) - ops.square(s1) / n) / (n - self.ddof)
        std = ops.sqrt(ops.maximum(var, 0.0))
        if self.precision == "bfloat16":
            mean, std = self._round(mean, "bfloat16"), self._round(std, "bfloat16")
            out = self._round(x - mean, "bfloat16") / self._round(std + self.epsilon, "bfloat16")
            return self._round(out, "bfloat16")
        out = (x - mean) / (std + self.epsilon)
        if self.precision == "float16":
            out = self._round(out, "float16")
        return out

    @staticmethod
    def _round(x, dtype):
        return ops.cast(ops.cast(x, dtype), "float32")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, patches):
        return keras.KerasTensor(patches.shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon, "ddof": self.ddof, "precision": self.precision})
        return config
