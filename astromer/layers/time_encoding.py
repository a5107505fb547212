"""Magnitude projection plus the original Astromer sinusoidal encoding of observation time."""

import keras
import numpy as np
from keras import ops


def time_encoding_rates(dim, base=10000.0):
    """Angular rates of the original encoding: ``1 / base**(2k/dim)`` for ``k = 0..dim-1``.

    Note the original uses ``2k`` (not ``2*(k//2)``) for every feature, and
    computes the rates in float32; we do the same.
    """
    k = np.arange(dim, dtype=np.float32)
    exponent = (np.float32(2.0) * k) / np.float32(dim)
    return (np.float32(1.0) / np.power(np.float32(base), exponent)).astype(np.float32)


def sinusoidal_time_encoding(times, dim, base=10000.0, rates=None):
    """Encode observation times ``(..., T)`` (days) as ``(..., T, dim)`` features.

    Feature ``k`` is ``sin(t * r_k)`` for even ``k`` and ``cos(t * r_k)`` for odd
    ``k``, with ``r_k = 1 / base**(2k/dim)``: exactly the original Astromer
    encoding, vectorised (the original loops over features with ``tf.map_fn``).
    ``rates`` overrides the computed rates (e.g. the exact float32 values the
    original TensorFlow arithmetic produced, which converters supply: with
    times of ~1500 days a one-ulp difference in a rate moves the angle by ~1e-4).
    """
    if dim % 2:
        raise ValueError(f"The time encoding needs an even dimension, got dim={dim}.")
    rates = time_encoding_rates(dim, base) if rates is None else np.asarray(rates, np.float32)
    if rates.shape != (dim,):
        raise ValueError(f"time encoding rates must have shape ({dim},), got {rates.shape}.")
    angles = ops.expand_dims(ops.convert_to_tensor(times, dtype="float32"), -1) * ops.convert_to_tensor(rates)
    # sin on even features, cos on odd ones: a select, not an interleaving stack (TensorFlow's
    # Pack along the last axis cost 8% of an Astromer 1 forward pass); the same values bit for bit
    even = ops.convert_to_tensor(np.arange(dim) % 2 == 0)
    return ops.where(even, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="astromer")
class TimeMagnitudeEmbedding(keras.layers.Layer):
    """Input embedding of Astromer: ``Dense(mag) + sinusoidal(time)``.

    With ``mask_token=True`` a trainable scalar replaces the magnitude wherever
    ``visible == 0`` (hidden or padded positions) before the projection, as the
    original Astromer 2 ``AddMSKToken`` layer intended. The released original
    models have no token (the original functional graph drops that layer), so it
    is off when a checkpoint is converted. ``time_rates`` optionally fixes the
    float32 angular rates (see :func:`sinusoidal_time_encoding`).

    Call with ``times`` and ``magnitudes`` of shape ``(B, T)`` and an optional
    ``visible`` ``(B, T)`` (1 = visible observation); returns ``(B, T, dim)``.
    """

    def __init__(self, dim, mask_token=False, time_base=10000.0, time_rates=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.use_mask_token = bool(mask_token)
        self.time_base = float(time_base)
        self.time_rates = None if time_rates is None else [float(r) for r in time_rates]
        if self.time_rates is not None and len(self.time_rates) != self.dim:
            raise ValueError(f"time_rates must hold {self.dim} values, got {len(self.time_rates)}.")
        self.magnitude_projection = keras.layers.Dense(
            self.dim, dtype=self.dtype_policy, name="magnitude_projection"
        )
        # Times reach the angles in float32 under a bfloat16/float16 policy too: cast on entry,
        # a time of 300 days would be off by a whole day in bfloat16 (8 bits of mantissa).
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True  # call() casts every input itself

    def build(self, input_shape=None):
        if not self.magnitude_projection.built:
            self.magnitude_projection.build((None, None, 1))
        if self.use_mask_token:
            self.mask_token = self.add_weight(
                name="mask_token", shape=(1,), initializer="zeros", trainable=True
            )
        self.built = True

    def call(self, times, magnitudes, visible=None):
        magnitudes = ops.cast(magnitudes, self.compute_dtype)
        if self.use_mask_token and visible is not None:
            visible = ops.cast(visible, self.compute_dtype)
            token = ops.cast(self.mask_token, self.compute_dtype)
            magnitudes = magnitudes * visible + token * (1.0 - visible)
        projected = self.magnitude_projection(ops.expand_dims(magnitudes, -1))
        encoding = sinusoidal_time_encoding(times, self.dim, self.time_base, self.time_rates)
        return projected + ops.cast(encoding, projected.dtype)

    def compute_output_shape(self, times_shape, *args, **kwargs):
        return tuple(times_shape) + (self.dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "mask_token": self.use_mask_token,
                "time_base": self.time_base,
                "time_rates": self.time_rates,
            }
        )
        return config
