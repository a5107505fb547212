"""Keras layers of astromer (``keras.ops`` only: TensorFlow, JAX and torch backends)."""

from astromer.layers.attention import MaskedSelfAttention
from astromer.layers.attention_block import AttentionBlock
from astromer.layers.reconstruction_head import ReconstructionHead
from astromer.layers.time_encoding import (
    TimeMagnitudeEmbedding,
    sinusoidal_time_encoding,
    time_encoding_rates,
)

__all__ = [
    "AttentionBlock",
    "MaskedSelfAttention",
    "ReconstructionHead",
    "TimeMagnitudeEmbedding",
    "sinusoidal_time_encoding",
    "time_encoding_rates",
]
