"""AstroPT layers: spiral order and patcher, standardisation, tokenisers, causal attention and blocks."""

import ml_dtypes
import numpy as np
import pytest
from keras import ops

from astromer.layers import (
    CausalBlock,
    CausalSelfAttention,
    LearnedPositionEmbedding,
    PatchDecoder,
    PatchEncoder,
    PatchStandardization,
    SpiralPatcher,
    spiral_order,
    spiral_rank_grid,
    standardize_patches,
)
from conftest import require_shared


# ----------------------------------------------------------------------------- spiral order
def test_spiral_order_matches_the_original_for_n_1_to_32():
    ref = np.load(require_shared("reference", "astropt_v2", "spiral_orders.npz"))
    for n in range(1, 33):
        np.testing.assert_array_equal(spiral_order(n), ref[f"order{n}"], err_msg=f"n={n}")
        np.testing.assert_array_equal(spiral_rank_grid(n), ref[f"n{n}"], err_msg=f"n={n}")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 16])
def test_spiral_order_is_a_centre_first_permutation(n):
    order = spiral_order(n)
    assert sorted(order.tolist()) == list(range(n * n))
    assert divmod(int(order[0]), n) == (n // 2, (n - 1) // 2)
    assert order[-1] == 0
    steps = np.abs(np.diff(np.stack(np.divmod(order, n)), axis=1)).sum(axis=0)
    assert (steps == 1).all()  # consecutive tokens are neighbouring patches


def test_spiral_order_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n >= 1"):
        spiral_order(0)


# ----------------------------------------------------------------------------- patcher
def _images(b=2, h=64, w=64, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(b, h, w, c), dtype=np.uint8)


def test_patcher_layout_is_p1_p2_channel_in_spiral_order():
    images = _images()
    tokens = np.asarray(SpiralPatcher(16)(images))
    assert tokens.shape == (2, 16, 768) and tokens.dtype == np.float32
    order = spiral_order(4)
    for k in (0, 5, 15):
        r, c = divmod(int(order[k]), 4)
        patch = images[:, r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16, :].reshape(2, -1)
        np.testing.assert_array_equal(tokens[:, k], patch)
    raster = np.asarray(SpiralPatcher(16, spiral=False)(images))
    np.testing.assert_array_equal(raster[:, order], tokens)


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("spiral", [False, True])
def test_patcher_round_trip(transpose, spiral):
    images = _images(h=48, w=48 if spiral else 32).astype("float32")
    patcher = SpiralPatcher(16, transpose=transpose, spiral=spiral)
    tokens = patcher(images)
    grid = None if spiral else patcher.grid_shape(images.shape[1:3])
    np.testing.assert_array_equal(np.asarray(patcher.inverse(tokens, grid_shape=grid)), images)


def test_patcher_transpose_equals_patching_the_transposed_image():
    images = _images()
    a = np.asarray(SpiralPatcher(16, transpose=True)(images))
    b = np.asarray(SpiralPatcher(16)(images.transpose(0, 2, 1, 3)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.asarray(SpiralPatcher(16)(images)))


def test_patcher_errors():
    with pytest.raises(ValueError, match="multiple of the patch size"):
        SpiralPatcher(16)(_images(h=40))
    with pytest.raises(ValueError, match="square patch grid"):
        SpiralPatcher(16)(_images(h=32, w=64))
    with pytest.raises(ValueError, match="batch, H, W, C"):
        SpiralPatcher(16)(_images()[0])


# ----------------------------------------------------------------------------- standardisation
def test_standardisation_is_unbiased_with_the_original_epsilon():
    x = np.random.default_rng(1).normal(5.0, 3.0, size=(2, 4, 768)).astype("float32")
    expected = (x - x.mean(-1, keepdims=True)) / (x.std(-1, ddof=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(standardize_patches(x), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(PatchStandardization()(x)), expected, atol=1e-5)
    flat = np.full((1, 1, 768), 7.0, dtype="float32")  # zero std: epsilon keeps it finite
    assert np.all(standardize_patches(flat) == 0.0)
    assert np.all(np.asarray(PatchStandardization()(flat)) == 0.0)


@pytest.mark.parametrize("precision,dtype", [("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)])
def test_standardisation_precisions_round_like_the_originals(precision, dtype):
    x = np.random.default_rng(2).integers(0, 256, size=(2, 8, 768)).astype("float32")
    for out in (standardize_patches(x, precision=precision), np.asarray(PatchStandardization(precision=precision)(x))):
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.astype(dtype).astype(np.float32), out)
        np.testing.assert_allclose(out, standardize_patches(x), atol=0.05)


def test_standardisation_rejects_unknown_precision():
    with pytest.raises(ValueError, match="precision"):
        PatchStandardization(precision="float64")


# ----------------------------------------------------------------------------- tokenisers
@pytest.mark.parametrize(
    "style,bias,enc_params,dec_params",
    [
        ("aim", False, 768 * 256 + 256 * 64, 64 * 256 + 256 * 768),
        ("aim", True, 768 * 256 + 256 + 256 * 64 + 64, 64 * 256 + 256 + 256 * 768 + 768),
        ("affine", False, 768 * 64, 64 * 768),
        ("relu_mlp", False, 768 * 64 + 64 + 64 * 64 + 64, 64 * 128 + 128 + 128 * 64 + 64 + 64 * 768 + 768),
    ],
)
def test_tokenisers_shapes_and_parameters(style, bias, enc_params, dec_params):
    enc = PatchEncoder(style, 64, use_bias=bias)
    dec = PatchDecoder(style, 64, 768, use_bias=bias)
    x = np.random.default_rng(3).normal(size=(2, 5, 768)).astype("float32")
    h = enc(x)
    assert tuple(h.shape) == (2, 5, 64) and tuple(dec(h).shape) == (2, 5, 768)
    assert enc.count_params() == enc_params and dec.count_params() == dec_params


def test_aim_tokeniser_is_linear_tanh_gelu_linear():
    enc = PatchEncoder("aim", 8)
    x = np.random.default_rng(4).normal(size=(1, 3, 12)).astype("float32")
    enc.build(x.shape)
    w1, w2 = (np.asarray(d.kernel) for d in enc.denses)
    a = x @ w1
    gelu = 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3)))
    np.testing.assert_allclose(np.asarray(enc(x)), gelu @ w2, atol=1e-6)


def test_relu_mlp_tokeniser_ends_with_relu_in_the_encoder_only():
    x = np.random.default_rng(5).normal(size=(1, 50, 12)).astype("float32")
    assert np.asarray(PatchEncoder("relu_mlp", 8)(x)).min() >= 0.0
    assert np.asarray(PatchDecoder("relu_mlp", 8, 12)(np.abs(x[..., :8]) * 50)).min() < 0.0


def test_unknown_tokeniser():
    with pytest.raises(ValueError, match="tokenizer"):
        PatchEncoder("vq", 8)


# ----------------------------------------------------------------------------- position embedding
def test_learned_position_embedding_lookup():
    layer = LearnedPositionEmbedding(10, 4)
    out = np.asarray(layer(np.array([[0, 3, 9]])))
    table = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(out[0], table[[0, 3, 9]])
    np.testing.assert_array_equal(np.asarray(layer.for_length(4))[0], table[:4])
    with pytest.raises(ValueError, match="block size"):
        layer.for_length(11)


# ----------------------------------------------------------------------------- causal attention and blocks
def _future_invariance(layer, t=7, d=16, cut=3):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, t, d)).astype("float32")
    y = x.copy()
    y[:, cut:] = rng.normal(size=(2, t - cut, d))
    a, b = np.asarray(layer(x)), np.asarray(layer(y))
    np.testing.assert_allclose(a[:, :cut], b[:, :cut], atol=1e-6)
    assert np.abs(a[:, cut:] - b[:, cut:]).max() > 1e-3


def test_attention_is_causal():
    layer = CausalSelfAttention(4, 16)
    _future_invariance(layer)
    _, weights = layer(np.ones((1, 5, 16), "float32"), return_attention_scores=True)
    weights = np.asarray(weights)
    assert np.all(np.triu(weights[0, 0], k=1) == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_block_is_causal_and_pre_ln_without_bias():
    block = CausalBlock(4, 16)
    _future_invariance(block)
    names = sorted(v.path.split("/", 1)[1] for v in block.weights)
    assert names == sorted(
        ["ln_1/gamma", "ln_2/gamma", "attn/c_attn/kernel", "attn/c_proj/kernel", "c_fc/kernel", "c_proj/kernel"]
    )
    assert block.ln_1.epsilon == 1e-5


def test_block_with_bias_has_norm_and_dense_biases():
    block = CausalBlock(2, 8, use_bias=True)
    block.build((None, None, 8))
    assert len(block.weights) == 12


def test_attention_heads_are_contiguous_slices():
    """Head h uses features [h*dh, (h+1)*dh) of q, k and v, as torch's view(B, T, H, dh)."""
    layer = CausalSelfAttention(2, 4)
    layer.build((None, None, 4))
    kernel = np.zeros((4, 12), "float32")
    kernel[:, 8:] = np.eye(4)  # v = x, q = k = 0: uniform causal weights, per head
    layer.c_attn.kernel.assign(kernel)
    layer.c_proj.kernel.assign(np.eye(4, dtype="float32"))
    x = np.arange(12, dtype="float32").reshape(1, 3, 4)
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out[0], np.cumsum(x[0], axis=0) / np.arange(1, 4)[:, None], atol=1e-6)
    assert ops.shape(out) == (1, 3, 4)
