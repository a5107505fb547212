"""The magnitude reconstruction head of Astromer."""

import keras
from keras import ops

from astromer.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="astromer")
class ReconstructionHead(keras.layers.Layer):
    """``LayerNorm(eps) -> Dense(1)``, returning reconstructed magnitudes ``(B, T)``."""

    def __init__(self, layer_norm_epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        kw = {"dtype": self.dtype_policy}
        self.norm = LayerNorm(epsilon=self.layer_norm_epsilon, name="norm", **kw)
        self.dense = keras.layers.Dense(1, name="dense", **kw)

    def build(self, input_shape):
        shape = (None, None, input_shape[-1])
        if not self.norm.built:
            self.norm.build(shape)
        if not self.dense.built:
            self.dense.build(shape)
        self.built = True

    def call(self, x):
        return ops.squeeze(self.dense(self.norm(x)), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update({"layer_norm_epsilon": self.layer_norm_epsilon})
        return config
