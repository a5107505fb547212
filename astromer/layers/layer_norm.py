"""Layer normalisation over the last axis, with a hand-written gradient.

Same weights, config and results (to float32 rounding) as ``keras.layers.LayerNormalization``
over the last axis, in fewer passes over memory. Keras' TensorFlow path builds the norm from
``moments`` and its backward pass from the autodiff of each op (about 15 elementwise and
reduction passes over a ``(batch, steps, width)`` tensor); here the input is centred once and the
gradient is the closed form

    dx = inv * (g - mean(g) - x_hat * mean(g * x_hat)),   g = dy * gamma,

so an Astromer 1 training step on TensorFlow runs 1.06-1.16x faster (``benchmarks/README.md``;
``benchmarks/results/profile_step.md`` shows where the time goes). Any other axis, ``rms_scaling`` or a norm
without ``center``/``scale`` falls back to Keras' own code.
"""

import keras
from keras import ops


def layer_norm_last_axis(x, gamma, beta, epsilon):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis, in float32."""

    @ops.custom_gradient
    def norm(x, gamma, beta):
        centred = x - ops.mean(x, axis=-1, keepdims=True)
        inv = ops.rsqrt(ops.mean(ops.square(centred), axis=-1, keepdims=True) + epsilon)
        x_hat = centred * inv
        y = x_hat * gamma + beta

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow passes it positionally, JAX by keyword
                (upstream,) = args
            g = upstream * gamma
            dx = inv * (g - ops.mean(g, axis=-1, keepdims=True)
                        - x_hat * ops.mean(g * x_hat, axis=-1, keepdims=True))
            rows = tuple(range(len(x_hat.shape) - 1))
            return dx, ops.sum(upstream * x_hat, axis=rows), ops.sum(upstream, axis=rows)

        return y, grad

    return norm(x, gamma, beta)


@keras.saving.register_keras_serializable(package="astromer")
class LayerNorm(keras.layers.LayerNormalization):
    """``keras.layers.LayerNormalization`` (same arguments and weights), faster over the last axis."""

    def _fast(self, ndim):
        axis = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        return (len(axis) == 1 and axis[0] in (-1, ndim - 1) and self.center and self.scale
                and not self.rms_scaling)

    def call(self, inputs):
        if not self._fast(len(inputs.shape)):
            return super().call(inputs)
        x = ops.cast(inputs, "float32")  # as Keras: the statistics in float32 under bfloat16 too
        y = layer_norm_last_axis(x, ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32"),
                                 self.epsilon)
        return ops.cast(y, self.compute_dtype)
