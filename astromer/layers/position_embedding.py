"""AstroPT's learned absolute position embedding (a lookup table, one row per position)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="astromer")
class LearnedPositionEmbedding(keras.layers.Layer):
    """``positions`` (integers, any shape) to vectors ``(..., dim)`` from a learned table.

    The table has ``max_length`` rows (the original ``wpe``, ``block_size`` x
    ``n_embd``), initialised N(0, 0.02) like nanoGPT. ``call(positions)``;
    :meth:`for_length` gives positions ``0..length-1`` as ``(1, length, dim)``.
    """

    def __init__(self, max_length, dim, init_std=0.02, **kwargs):
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.dim = int(dim)
        self.init_std = float(init_std)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            shape=(self.max_length, self.dim),
            initializer=keras.initializers.RandomNormal(stddev=self.init_std),
            name="embeddings",
        )
        self.built = True

    def call(self, positions):
        return ops.take(self.embeddings, ops.cast(positions, "int32"), axis=0)

    def for_length(self, length):
        if length > self.max_length:
            raise ValueError(f"Sequence of {length} tokens is longer than the block size {self.max_length}.")
        return self.embeddings[None, :length]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.dim,)

    def compute_output_spec(self, positions):
        return keras.KerasTensor(tuple(positions.shape) + (self.dim,), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"max_length": self.max_length, "dim": self.dim, "init_std": self.init_std})
        return config
