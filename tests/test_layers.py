"""Layers: numerics, masking semantics and serialisation (get_config / from_config)."""

import keras
import numpy as np
import pytest

from astromer.layers import (
    AttentionBlock,
    LayerNorm,
    MaskedSelfAttention,
    ReconstructionHead,
    TimeMagnitudeEmbedding,
    sinusoidal_time_encoding,
    time_encoding_rates,
)

RNG = np.random.default_rng(0)


def _x(b=2, t=7, d=16):
    return RNG.normal(size=(b, t, d)).astype("float32")


def test_time_encoding_matches_the_original_formula_in_float64():
    times = np.array([[0.0, 1.5, 37.25, -800.0]], dtype="float32")
    dim = 8
    got = np.asarray(sinusoidal_time_encoding(times, dim))
    k = np.arange(dim)
    angle = times[..., None].astype(np.float64) / 10000.0 ** (2 * k / dim)  # 2k, not 2*(k//2)
    expected = np.where(k % 2 == 0, np.sin(angle), np.cos(angle))
    assert got.shape == (1, 4, dim)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    np.testing.assert_allclose(got[0, 0], [0, 1] * 4, atol=1e-7)  # t=0: sin 0, cos 1


def test_time_encoding_selects_the_same_values_as_interleaving_sin_and_cos():
    """The select (sin on even features, cos on odd) equals sin/cos of the half-rate angles
    stacked and interleaved, bit for bit, over the centred day range of real windows."""
    from keras import ops

    times = np.linspace(-1500, 1500, 2 * 101, dtype="float32").reshape(2, 101)
    r = time_encoding_rates(16)
    t = ops.expand_dims(ops.convert_to_tensor(times), -1)
    interleaved = ops.reshape(ops.stack([ops.sin(t * r[0::2]), ops.cos(t * r[1::2])], axis=-1), (2, 101, 16))
    np.testing.assert_array_equal(np.asarray(sinusoidal_time_encoding(times, 16)), np.asarray(interleaved))


def test_time_encoding_rejects_odd_dims_and_bad_rates():
    with pytest.raises(ValueError, match="even dimension"):
        sinusoidal_time_encoding(np.zeros((1, 2), "float32"), 5)
    with pytest.raises(ValueError, match="time_rates must hold 4 values"):
        TimeMagnitudeEmbedding(4, time_rates=[1.0, 2.0])


def test_mask_token_replaces_hidden_magnitudes_only():
    layer = TimeMagnitudeEmbedding(8, mask_token=True)
    layer.build(None)
    layer.mask_token.assign([0.37])
    times = np.zeros((1, 3), "float32")
    mags = np.array([[1.0, 2.0, 3.0]], "float32")
    visible = np.array([[1.0, 0.0, 1.0]], "float32")
    out = np.asarray(layer(times, mags, visible))
    ref = np.asarray(layer(times, np.array([[1.0, 0.37, 3.0]], "float32")))  # no mask: no token
    np.testing.assert_allclose(out, ref, atol=1e-6)


@pytest.mark.parametrize("fmt", ["key", "query", "query_key"])
def test_attention_mask_formats(fmt):
    layer = MaskedSelfAttention(2, 4, mask_format=fmt, mask_alpha=-1e9)
    x = _x(1, 5, 8)
    hidden = np.array([[0, 0, 1, 0, 1]], "float32")
    layer.build(x.shape)
    logits, _ = layer.attention_logits(x, hidden)
    plain, _ = layer.attention_logits(x, None)
    term = np.asarray(logits) - np.asarray(plain)
    h = hidden[0]
    expected = {
        "key": np.broadcast_to(h[None, :], (5, 5)),
        "query": np.broadcast_to(h[:, None], (5, 5)),
        "query_key": np.minimum(1, h[:, None] + h[None, :]),
    }[fmt] * -1e9
    np.testing.assert_allclose(term[0, 0], expected, rtol=1e-6)


def test_key_mask_gives_hidden_keys_zero_weight():
    layer = MaskedSelfAttention(2, 4, mask_format="key")
    x = _x(1, 5, 8)
    hidden = np.array([[0, 1, 0, 0, 1]], "float32")
    _, weights = layer(x, hidden=hidden, return_attention_scores=True)
    weights = np.asarray(weights)
    assert np.all(weights[..., [1, 4]] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)


def test_fully_hidden_window_stays_finite():
    layer = MaskedSelfAttention(2, 4, mask_format="key")
    out = layer(_x(1, 5, 8), hidden=np.ones((1, 5), "float32"))
    assert np.isfinite(np.asarray(out)).all()


def test_post_block_without_leak_has_no_residual():
    """Original Astromer: out = LN2(FFN(LN1(MHA(x)))) -- recompute it by hand."""
    block = AttentionBlock(2, 4, 6, style="post", use_leak=False)
    x = _x(2, 5, 8)
    block.build(x.shape)
    a = block.norm1(block.attention(x))
    expected = block.norm2(block.ffn_outer(block.ffn_inner(a)))
    np.testing.assert_allclose(np.asarray(block(x)), np.asarray(expected), atol=1e-6)


def test_post_block_with_leak_adds_projected_skips():
    block = AttentionBlock(2, 4, 6, style="post", use_leak=True)
    x = _x(2, 5, 8)
    block.build(x.shape)
    a = block.norm1(block.leak_attention(x) + block.attention(x))
    expected = block.norm2(block.leak_ffn(a) + block.ffn_outer(block.ffn_inner(a)))
    np.testing.assert_allclose(np.asarray(block(x)), np.asarray(expected), atol=1e-6)


def test_pre_block_is_residual():
    block = AttentionBlock(2, 4, 6, style="pre", ffn_activation="gelu")
    x = _x(2, 5, 8)
    block.build(x.shape)
    h = x + block.attention(block.norm1(x))
    expected = h + block.ffn_outer(block.ffn_inner(block.norm2(h)))
    np.testing.assert_allclose(np.asarray(block(x)), np.asarray(expected), atol=1e-5)


def test_block_argument_errors():
    with pytest.raises(ValueError, match="use_leak"):
        AttentionBlock(2, 4, 6, style="pre", use_leak=True)
    with pytest.raises(ValueError, match="style must be one of"):
        AttentionBlock(2, 4, 6, style="sandwich")
    with pytest.raises(ValueError, match="mask_format must be one of"):
        MaskedSelfAttention(2, 4, mask_format="causal")


def test_layer_norm_epsilon_is_used():
    block = AttentionBlock(2, 4, 6, layer_norm_epsilon=1e-6)
    assert block.norm1.epsilon == 1e-6 and block.norm2.epsilon == 1e-6
    assert ReconstructionHead(1e-6).norm.epsilon == 1e-6


def _gradients(fn, *args):
    """d(sum(fn(*args) * weights))/d(args) on the active backend (a fixed, non-uniform upstream)."""
    weights = np.random.default_rng(1).normal(size=np.shape(fn(*args))).astype("float32")
    if keras.backend.backend() == "jax":
        import jax

        return [np.asarray(g) for g in jax.grad(lambda *a: (fn(*a) * weights).sum(), argnums=(0, 1, 2))(*args)]
    import tensorflow as tf

    args = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        loss = tf.reduce_sum(fn(*args) * weights)
    return [np.asarray(g) for g in tape.gradient(loss, args)]


def _norm_pair(shape, **kwargs):
    """A LayerNorm and a keras.layers.LayerNormalization with the same random gamma and beta."""
    ours, theirs = LayerNorm(**kwargs), keras.layers.LayerNormalization(**kwargs)
    for layer in (ours, theirs):
        layer.build(shape)
    rng = np.random.default_rng(2)
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in theirs.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def test_layer_norm_matches_keras_values_and_gradients():
    """The hand-written backward pass gives Keras' autodiff gradients (x, gamma, beta)."""
    x = (RNG.normal(size=(3, 7, 16)) * 4 + 2).astype("float32")
    ours, theirs = _norm_pair(x.shape, epsilon=1e-6)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=2e-6)
    from astromer.layers.layer_norm import layer_norm_last_axis
    from keras import ops

    got = _gradients(lambda a, g, b: layer_norm_last_axis(a, g, b, 1e-6), x, *ours.get_weights())
    want = _gradients(lambda a, g, b: ops.layer_normalization(a, g, b, epsilon=1e-6), x, *ours.get_weights())
    assert [g.shape for g in got] == [(3, 7, 16), (16,), (16,)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max())


def test_layer_norm_other_axes_use_keras_code():
    x = RNG.normal(size=(2, 5, 6)).astype("float32")
    ours, theirs = _norm_pair(x.shape, axis=1)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(theirs(x)))
    ours, theirs = _norm_pair(x.shape, center=False)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(theirs(x)))


def test_layer_norm_keeps_bfloat16_outputs_and_float32_statistics():
    x = (RNG.normal(size=(2, 5, 8)) * 100 + 1000).astype("float32")
    ours, theirs = _norm_pair(x.shape, dtype="mixed_bfloat16")
    out = ours(keras.ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    ref = theirs(keras.ops.cast(x, "bfloat16"))
    np.testing.assert_allclose(np.asarray(keras.ops.cast(out, "float32")),
                               np.asarray(keras.ops.cast(ref, "float32")), atol=1e-2)


X158 = np.random.default_rng(5).normal(size=(1, 5, 8)).astype("float32")


@pytest.mark.parametrize(
    "make,call",
    [
        (lambda: TimeMagnitudeEmbedding(8, mask_token=True, time_rates=list(np.linspace(1, 0.01, 8))),
         lambda l: l(np.ones((1, 3), "float32") * 5, np.ones((1, 3), "float32"), np.array([[1, 0, 1]], "float32"))),
        (lambda: MaskedSelfAttention(2, 4, mask_format="query_key", mask_alpha=1.0, temperature=0.5),
         lambda l: l(X158, hidden=np.array([[0, 0, 0, 1, 1]], "float32"))),
        (lambda: AttentionBlock(2, 4, 6, use_leak=True, mask_format="key"),
         lambda l: l(X158, hidden=np.array([[0, 0, 0, 1, 1]], "float32"))),
        (lambda: ReconstructionHead(1e-6), lambda l: l(X158)),
        (lambda: LayerNorm(epsilon=1e-6), lambda l: l(X158)),
    ],
)
def test_layer_config_round_trip(make, call):
    layer = make()
    out = np.asarray(call(layer))
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    assert clone.get_config() == layer.get_config()
    call(clone)  # build
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(call(clone)), out, atol=1e-6)
