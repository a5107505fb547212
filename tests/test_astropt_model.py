"""astromer.AstroPT: forward, causality, fit with the next-patch Huber loss, generate, embed, saving."""

import keras
import numpy as np
import pytest

import astromer
from astromer.models.astropt.architectures import SIZES, architecture


def _tiny(**overrides):
    kwargs = dict(num_layers=2, num_heads=2, embed_dim=16, block_size=16, patch_size=4, num_channels=3)
    kwargs.update(overrides)
    return astromer.AstroPT(**kwargs)


def _images(n=8, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def test_forward_shapes_and_inputs():
    model = _tiny()
    tokens = model.tokenize(_images(2))
    assert tokens.shape == (2, 16, 48) and tokens.dtype == np.float32
    assert tuple(model(tokens).shape) == (2, 16, 48)
    assert tuple(model(tokens[:, :5]).shape) == (2, 5, 48)
    assert tuple(model(_images(2)).shape) == (2, 15, 48)  # images: the training forward on tokens[:, :-1]
    explicit = model({"tokens": tokens[:, :5], "positions": np.arange(5)[None].repeat(2, 0)})
    np.testing.assert_allclose(np.asarray(explicit), np.asarray(model(tokens[:, :5])), atol=1e-6)
    shifted = np.asarray(model(tokens[:, :5], positions=np.arange(3, 8)[None].repeat(2, 0)))
    assert np.abs(shifted - np.asarray(explicit)).max() > 1e-4
    with pytest.raises(ValueError, match="block size"):
        model(np.zeros((1, 17, 48), "float32"))
    with pytest.raises(ValueError, match="3-channel"):
        model.embed(np.zeros((1, 16, 16, 1), "uint8"))


def test_future_tokens_never_change_past_predictions():
    model = _tiny()
    tokens = model.tokenize(_images(2))
    changed = tokens.copy()
    changed[:, 9:] = np.random.default_rng(1).normal(size=changed[:, 9:].shape)
    a, b = np.asarray(model(tokens)), np.asarray(model(changed))
    np.testing.assert_allclose(a[:, :9], b[:, :9], atol=1e-6)
    assert np.abs(a[:, 9:] - b[:, 9:]).max() > 1e-4


def test_published_sizes_and_families():
    assert architecture("089M", "v1")["num_layers"] == 12 and SIZES["309M"]["embed_dim"] == 1024
    model = astromer.AstroPT.from_architecture("001M", family="v1", block_size=64)
    assert (model.num_layers, model.num_heads, model.embed_dim, model.tokenizer) == (4, 8, 128, "relu_mlp")
    assert model.token_precision == "bfloat16" and not model.transpose_images
    v2 = astromer.AstroPT.from_architecture("001M", block_size=64)
    assert v2.tokenizer == "aim" and v2.transpose_images and v2.token_precision == "float16"
    # aim tokenisers (768 -> 512 -> 128 and back) dominate the v2 count at this size
    assert v2.count_params() - model.count_params() == (768 * 512 + 512 * 128) * 2 - (
        768 * 128 + 128 + 128 * 128 + 128 + 128 * 256 + 256 + 256 * 128 + 128 + 128 * 768 + 768
    )
    with pytest.raises(ValueError, match="Unknown AstroPT size"):
        astromer.AstroPT.from_architecture("3M")


def test_fit_on_images_with_the_next_patch_huber_loss():
    keras.utils.set_random_seed(0)
    model = _tiny()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    images = _images(16)
    before = model.evaluate(images, batch_size=8, verbose=0)
    history = model.fit(images, batch_size=8, epochs=6, verbose=0)
    after = model.evaluate(images, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < before
    # the loss is the Huber loss of the next tokens
    tokens = np.asarray(model.standardize(model.patcher(images)))
    expected = float(keras.losses.Huber(1.0)(tokens[:, 1:], model(tokens[:, :-1])))
    assert after == pytest.approx(expected, rel=1e-4)


def test_fit_on_tokens_and_default_optimizer():
    model = _tiny(dropout=0.1)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and model.optimizer.weight_decay == 0.1
    tokens = model.tokenize(_images(8))
    history = model.fit(tokens, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])



def test_compile_uses_xla_by_default_and_can_opt_out():
    # Keras' "auto" is XLA off on a TensorFlow CPU machine; AstroPT measured faster with it on.
    model = _tiny()
    model.compile()
    assert model.jit_compile is True
    model.compile(jit_compile=False)
    assert model.jit_compile is False

def test_generate_and_reassemble():
    model = _tiny()
    tokens = model.tokenize(_images(2))
    out = model.generate(tokens[:, :4], new_tokens=3)
    assert out.shape == (2, 7, 48)
    np.testing.assert_array_equal(out[:, :4], tokens[:, :4])
    np.testing.assert_allclose(out[:, 4], np.asarray(model(tokens[:, :4]))[:, -1], atol=1e-5)
    long = model.generate(tokens, new_tokens=2)  # context cropped to the block size
    assert long.shape == (2, 18, 48)
    a = model.generate(tokens[:, :4], 2, temperature=0.5, seed=1)
    b = model.generate(tokens[:, :4], 2, temperature=0.5, seed=1)
    np.testing.assert_array_equal(a, b)
    images = model.tokens_to_images(tokens)
    assert images.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(model.patcher(images), tokens)


def test_embed_layers_and_poolings():
    model = _tiny(num_layers=3)
    images = _images(3)
    tokens = model.tokenize(images)
    states = [np.asarray(s) for s in model.hidden_states(tokens)]
    np.testing.assert_allclose(model.embed(images), states[1 + 3 // 2].mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(model.embed(images, layer=-1, pooling="last"), states[3][:, -1], atol=1e-5)
    np.testing.assert_allclose(model.embed(images, layer=0, num_tokens=4), states[1][:, :4].mean(1), atol=1e-5)
    final = np.asarray(model.final_norm(states[3]))
    np.testing.assert_allclose(model.embed(images, layer="final", pooling="none"), final, atol=1e-5)
    assert model.embed(images, pooling="exp_decay").shape == (3, 16)
    with pytest.raises(ValueError, match="layer"):
        model.embed(images, layer=3)
    with pytest.raises(ValueError, match="pooling"):
        model.embed(images, pooling="max")


def test_keras_file_round_trip(tmp_path):
    model = _tiny(tokenizer="relu_mlp", transpose_images=True, token_precision="bfloat16", embedding_tokens=8)
    tokens = model.tokenize(_images(2))
    path = tmp_path / "astropt.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, astromer.AstroPT)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded(tokens)), np.asarray(model(tokens)), atol=1e-6)
    np.testing.assert_allclose(loaded.embed(_images(2)), model.embed(_images(2)), atol=1e-6)
