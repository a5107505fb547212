"""Named AstroPT sizes (the published scaling series) and the original families' settings."""

# Sizes of the astroPT scaling series (Smith et al. 2024, Table 1; Hugging Face
# Smith42/astroPT models/fully_trained/<size>_params): layers / heads / width.
SIZES = {
    "001M": {"num_layers": 4, "num_heads": 8, "embed_dim": 128},
    "005M": {"num_layers": 6, "num_heads": 8, "embed_dim": 256},
    "012M": {"num_layers": 6, "num_heads": 8, "embed_dim": 384},
    "021M": {"num_layers": 6, "num_heads": 8, "embed_dim": 512},
    "089M": {"num_layers": 12, "num_heads": 12, "embed_dim": 768},
    "309M": {"num_layers": 24, "num_heads": 16, "embed_dim": 1024},
    "830M": {"num_layers": 16, "num_heads": 8, "embed_dim": 2048},
    "2100M": {"num_layers": 26, "num_heads": 32, "embed_dim": 2560},
}

_COMMON = {"block_size": 1024, "patch_size": 16, "num_channels": 3, "dropout": 0.0, "use_bias": False}

# What differs between the original code bases (see the converters and README):
FAMILIES = {
    # astroPT v1.0.0 (the paper's weights): ReLU-MLP tokeniser with biases, images
    # read untransposed from files in bfloat16, embeddings = last block before
    # ln_f, averaged over the first 64 spiral tokens (linear_probe.py).
    "v1": {
        **_COMMON, "tokenizer": "relu_mlp", "transpose_images": False, "token_precision": "bfloat16",
        "embedding_layer": -1, "embedding_pooling": "mean", "embedding_tokens": 64,
    },
    # astroPT 2.x: "aim" tokeniser, Hugging Face data path (images transposed,
    # tokens rounded to float16), embeddings = output of block n_layer // 2.
    "v2": {
        **_COMMON, "tokenizer": "aim", "transpose_images": True, "token_precision": "float16",
        "embedding_layer": None, "embedding_pooling": "mean", "embedding_tokens": None,
    },
    # The v2 architecture without the data-path quirks, for training from scratch.
    "modern": {
        **_COMMON, "tokenizer": "aim", "transpose_images": False, "token_precision": "float32",
        "embedding_layer": None, "embedding_pooling": "mean", "embedding_tokens": None,
    },
}


def architecture(size, family="v2"):
    """Constructor arguments of ``AstroPT`` for a named size and family."""
    if size not in SIZES:
        raise ValueError(f"Unknown AstroPT size {size!r}; choose one of {list(SIZES)}.")
    if family not in FAMILIES:
        raise ValueError(f"Unknown AstroPT family {family!r}; choose one of {list(FAMILIES)}.")
    return {**FAMILIES[family], **SIZES[size]}
