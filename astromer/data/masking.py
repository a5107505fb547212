"""BERT-style masking of one padded window (TensorFlow ops, graph-safe).

Counts follow the original Astromer masking exactly (float32 arithmetic):
``n_probed = floor(n * probed)``, ``n_same = ceil(n_probed * same)``,
``n_random = ceil((n_probed - n_same) * random)``, the rest of the probed are
hidden. For n = 200 and (0.5, 0.2, 0.2): 100 probed, 20 same, 16 random,
64 hidden.

Two variants (``variant=``) differ only in the settings that switch masking off:

- ``"v2"`` (Astromer 2, ``astromer-science/main-code`` ``src/data/masking.py``):
  ``probed == 1`` is the inference setting: every real observation is in the
  loss and none is hidden (the "same"/"random" replacements are still made).
  ``probed == 0`` probes nothing (pipelines reject it).
- ``"v1"`` (Astromer 1 library, ``astromer-science/python-library``
  ``ASTROMER/core/masking.py`` ``get_masked`` and ``core/data.py``
  ``mask_sample``): ``probed == 0`` is the inference setting: every real
  observation is in the loss, none is hidden and nothing is replaced.
  ``probed == 1`` is NOT special: every real observation is probed and the
  usual "same"/"random" counts stay visible, all the others are hidden.

For ``0 < probed < 1`` both variants are the same procedure (the v2 code
copied v1's ``get_masked``/``set_random``): same counts, hidden positions keep
their true value (only the attention mask hides them), "same" positions are
chosen first among the probed, "random" ones among the remaining probed, and
a random position takes the magnitude that a uniform random permutation of the
window's real magnitudes puts there (``tf.random.shuffle``; it may be its own).
"""

from __future__ import annotations

import tensorflow as tf


def _count(n, frac, rounding):
    return tf.cast(rounding(tf.cast(n, tf.float32) * tf.cast(frac, tf.float32)), tf.int32)


def _random_ranks(seed, real):
    """Rank of each real position in a random order; padding ranks last."""
    size = tf.shape(real)[0]
    u = tf.random.stateless_uniform([size], seed=seed, dtype=tf.float32)
    u = tf.where(real, u, tf.constant(2.0, tf.float32))  # padding after every real position
    order = tf.argsort(u, stable=True)
    ranks = tf.scatter_nd(order[:, None], tf.range(size), [size])
    return order, ranks


VARIANTS = ("v1", "v2")


def mask_window(magnitudes, mask, seed, probed=0.5, random=0.2, same=0.2, variant="v2"):
    """Choose probed / same / random / hidden positions in one window.

    Args:
        magnitudes: (W,) float magnitudes (zero-mean), 0 at padding.
        mask: (W,) 1 for real observations, 0 for padding.
        seed: shape-(2,) int32/int64 tensor for the stateless RNG.
        probed: fraction of real observations that enter the loss.
        random: fraction of the non-"same" probed that get the magnitude of a
            random real observation of the window (may be their own) and stay visible.
        same: fraction of the probed that keep their value and stay visible.
        variant: ``"v2"`` (default) or ``"v1"``; see the module docstring.

    Returns:
        dict of (W,) float32 tensors: ``input`` (magnitudes for the model;
        hidden positions keep their true value, padding 0), ``visible`` (1
        where the encoder may attend: real and not hidden) and ``loss_mask``
        (1 at probed positions).

    As in the original Astromer 2, ``probed == 1`` is the inference setting:
    every real observation is in the loss and all of them stay visible. With
    ``variant="v1"`` that setting is ``probed == 0`` instead.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    magnitudes = tf.convert_to_tensor(magnitudes, tf.float32)
    real = tf.convert_to_tensor(mask) > 0
    seed = tf.convert_to_tensor(seed)
    seeds = tf.random.experimental.stateless_split(seed, num=2)

    n = tf.reduce_sum(tf.cast(real, tf.int32))
    n_probed = _count(n, probed, tf.math.floor)
    n_same = _count(n_probed, same, tf.math.ceil)
    n_random = _count(n_probed - n_same, random, tf.math.ceil)

    _, ranks = _random_ranks(seeds[0], real)
    probe = ranks < n_probed
    is_same = ranks < n_same
    is_random = (ranks >= n_same) & (ranks < n_same + n_random)
    hidden = probe & ~is_same & ~is_random

    # Random source: the k-th real observation takes the value of the k-th real
    # position in a second random order (a permutation of the real positions).
    shuffled, _ = _random_ranks(seeds[1], real)
    k = tf.maximum(tf.cumsum(tf.cast(real, tf.int32)) - 1, 0)
    source = tf.gather(shuffled, k)
    replaced = tf.where(is_random, tf.gather(magnitudes, source), magnitudes)

    real_f = tf.cast(real, tf.float32)
    if variant == "v2":
        all_visible = tf.cast(probed, tf.float32) >= 1.0
    else:  # v1: get_masked(frac=0) -> every position in the loss, nothing hidden
        all_visible = tf.cast(probed, tf.float32) == 0.0
        probe = tf.where(all_visible, real, probe)
    visible = tf.where(all_visible, real_f, real_f * (1.0 - tf.cast(hidden, tf.float32)))
    return {
        "input": replaced * real_f,
        "visible": visible,
        "loss_mask": tf.cast(probe, tf.float32),
    }
