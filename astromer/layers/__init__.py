"""Keras layers of astromer (``keras.ops`` only: TensorFlow, JAX and torch backends)."""

from astromer.layers.attention import MaskedSelfAttention
from astromer.layers.attention_block import AttentionBlock
from astromer.layers.causal_attention import CausalSelfAttention
from astromer.layers.causal_block import CausalBlock
from astromer.layers.layer_norm import LayerNorm
from astromer.layers.patch_standardization import PatchStandardization, standardize_patches
from astromer.layers.patch_tokenizers import PatchDecoder, PatchEncoder
from astromer.layers.position_embedding import LearnedPositionEmbedding
from astromer.layers.reconstruction_head import ReconstructionHead
from astromer.layers.spiral import SpiralPatcher, spiral_order, spiral_rank_grid
from astromer.layers.time_encoding import (
    TimeMagnitudeEmbedding,
    sinusoidal_time_encoding,
    time_encoding_rates,
)

__all__ = [
    "AttentionBlock",
    "CausalBlock",
    "CausalSelfAttention",
    "LayerNorm",
    "LearnedPositionEmbedding",
    "MaskedSelfAttention",
    "PatchDecoder",
    "PatchEncoder",
    "PatchStandardization",
    "ReconstructionHead",
    "SpiralPatcher",
    "TimeMagnitudeEmbedding",
    "sinusoidal_time_encoding",
    "spiral_order",
    "spiral_rank_grid",
    "standardize_patches",
    "time_encoding_rates",
]
