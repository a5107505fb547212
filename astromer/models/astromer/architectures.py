"""Named Astromer architectures: the two originals and the modern default."""

# Astromer 1 (2023): post-LN blocks without residuals, additive (+1) query-key mask term.
ASTROMER_V1 = dict(
    num_layers=2, num_heads=4, head_dim=64, ffn_dim=128, dropout=0.1,
    ffn_activation="tanh", block_style="post", use_leak=False,
    attention_mask_format="query_key", attention_mask_alpha=1.0,
    layer_norm_epsilon=1e-6, mask_token=False,
)

# Astromer 2 (2025): post-LN blocks with projected residuals ("use_leak"), key mask at -1e9.
ASTROMER_V2 = dict(
    num_layers=6, num_heads=4, head_dim=64, ffn_dim=512, dropout=0.1,
    ffn_activation="tanh", block_style="post", use_leak=True,
    attention_mask_format="key", attention_mask_alpha=-1e9,
    layer_norm_epsilon=1e-6, mask_token=False,
)

# For training from scratch here: pre-LN residual blocks, key mask, trainable mask token.
MODERN = dict(
    num_layers=2, num_heads=4, head_dim=64, ffn_dim=256, dropout=0.1,
    ffn_activation="gelu", block_style="pre", use_leak=False,
    attention_mask_format="key", attention_mask_alpha=-1e9,
    layer_norm_epsilon=1e-6, mask_token=True,
)

ARCHITECTURES = {"astromer_v1": ASTROMER_V1, "astromer_v2": ASTROMER_V2, "modern": MODERN}
