"""AstroPT embeddings: one block's hidden states, pooled over tokens (``AstroPT.embed`` / ``embed_tokens``)."""

import keras
import numpy as np

from astromer.models.batched_inference import predict_in_batches, require_finite

POOLINGS = ("mean", "none", "last", "exp_decay")


class _HiddenStates(keras.Model):
    """Inference wrapper (not saved): tokens -> hidden state at one layer, for ``predict``."""

    def __init__(self, astropt, layer):
        super().__init__(name=f"{astropt.name}_hidden_{layer}")
        self.astropt = astropt
        self.layer_index = layer

    def call(self, tokens):
        return self.astropt._hidden_at(tokens, self.layer_index)


def resolve_layer(model, layer):
    """``layer`` (``None``: the model's ``embedding_layer``, or its centre block) as a block index or "final"."""
    if layer is None:
        layer = model.num_layers // 2 if model.embedding_layer is None else model.embedding_layer
    if layer == "final":
        return layer
    layer = int(layer)
    if not -model.num_layers <= layer < model.num_layers:
        raise ValueError(f"layer must be a block index in [-{model.num_layers}, {model.num_layers}) or 'final'.")
    return layer % model.num_layers


def hidden_model(model, layer):
    """The (cached, never saved) :class:`_HiddenStates` of ``model`` at ``layer``."""
    cache = model.__dict__.setdefault("_hidden_cache", {})
    if layer not in cache:
        cache[layer] = _HiddenStates(model, layer)
    return cache[layer]


def pool_tokens(h, pooling):
    """Hidden states ``(B, N, d)`` pooled over tokens by one of :data:`POOLINGS`."""
    if pooling == "none":
        return h
    if pooling == "mean":
        return h.mean(axis=1)
    if pooling == "last":
        return h[:, -1]
    weights = np.logspace(0, -1, h.shape[1], dtype=np.float32)[None, :, None]
    return (weights * h).sum(axis=1) / weights.sum(axis=1)


def embed_tokens(model, tokens, layer=None, pooling=None, num_tokens=None, batch_size=64, verbose=0):
    """:meth:`AstroPT.embed_tokens` of ``model``."""
    layer = resolve_layer(model, layer)
    pooling = model.embedding_pooling if pooling is None else pooling
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
    num_tokens = model.embedding_tokens if num_tokens is None else num_tokens
    tokens = np.asarray(tokens, dtype="float32")
    if num_tokens is not None:
        tokens = tokens[:, : int(num_tokens)]
    h = predict_in_batches(hidden_model(model, layer), tokens, batch_size=batch_size, verbose=verbose)
    return pool_tokens(h, pooling)


def embed_images(model, images, layer=None, pooling=None, num_tokens=None, batch_size=64, verbose=0):
    """:meth:`AstroPT.embed` of ``model``: tokenised 1024 images at a time, checked finite."""
    images = model._check_images(images)
    parts = [
        model.embed_tokens(
            model.tokenize(images[i : i + 1024]), layer=layer, pooling=pooling, num_tokens=num_tokens,
            batch_size=batch_size, verbose=verbose,
        )
        for i in range(0, images.shape[0], 1024)
    ]
    out = np.concatenate(parts, axis=0)
    require_finite(out, [f"image {i}" for i in range(len(out))], "embedding")
    return out
