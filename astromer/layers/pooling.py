"""Masked pooling over time, and the learned weighting of layer outputs (Astromer 2's skip head)."""

import keras
from keras import ops


def masked_mean(x, mask):
    """Mean of ``x`` (..., T, d) over the positions where ``mask`` (..., T) is 1 (0 if none)."""
    mask = ops.cast(mask, x.dtype)[..., None]
    return ops.divide_no_nan(ops.sum(x * mask, axis=-2), ops.sum(mask, axis=-2))


def masked_max(x, mask):
    """Max of ``x`` (..., T, d) over the positions where ``mask`` is 1 (0 if none)."""
    valid = ops.cast(mask, "bool")[..., None]
    lowest = ops.full_like(x, -3.0e38)
    best = ops.max(ops.where(valid, x, lowest), axis=-2)
    return ops.where(ops.any(valid, axis=-2), best, ops.zeros_like(best))


@keras.saving.register_keras_serializable(package="astromer")
class MaskedTimePooling(keras.layers.Layer):
    """Pool ``(B, T, d)`` to ``(B, d)`` over real observations (``mask`` 1), by ``"mean"`` or ``"max"``.

    Padding never enters the result. (The original Astromer 2 mean, max and
    attention heads passed the padding mask where a validity mask was expected,
    so they pooled the padding; the skip head was right.)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("mean", "max"):
            raise ValueError(f"mode must be 'mean' or 'max', got {mode!r}")
        self.mode = mode

    def call(self, x, mask):
        return masked_mean(x, mask) if self.mode == "mean" else masked_max(x, mask)

    def compute_output_shape(self, input_shape, mask_shape=None):
        return tuple(input_shape[:-2]) + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="astromer")
class LayerWeighting(keras.layers.Layer):
    """Combine ``(B, L, d)`` per-layer vectors with softmax-normalised learned weights.

    As Astromer 2's ``GammaWeight``: weights start equal (``1/L`` before the
    softmax) and the output is the mean over layers of ``softmax(gamma)_l * x_l``.
    """

    def build(self, input_shape):
        n = int(input_shape[-2])
        self.gamma = self.add_weight(
            name="gamma", shape=(n,), initializer=keras.initializers.Constant(1.0 / n), trainable=True
        )
        self.built = True

    def layer_weights(self):
        return ops.softmax(self.gamma)

    def call(self, x):
        w = ops.cast(self.layer_weights(), x.dtype)
        return ops.mean(x * w[None, :, None], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
