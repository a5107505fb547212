"""The Astromer model: inputs, architectures, saving, and a tiny fit() on arrays."""

import keras
import numpy as np
import pytest

import astromer
from astromer import Astromer
from astromer.data.windows import length_buckets
from astromer.losses import MaskedRMSE
from astromer.metrics import MaskedR2

RNG = np.random.default_rng(1)


def _inputs(b=3, t=20):
    times = np.sort(RNG.uniform(0, 300, size=(b, t)), axis=1).astype("float32")
    times -= times.mean(axis=1, keepdims=True)
    mags = RNG.normal(size=(b, t)).astype("float32")
    mask = np.ones((b, t), "float32")
    mask[0, 15:] = 0  # padding
    return {"times": times, "magnitudes": mags, "mask": mask}


def small(**kw):
    return Astromer(num_layers=2, num_heads=2, head_dim=8, ffn_dim=16, window_size=20, **kw)


@pytest.mark.parametrize("arch", ["astromer_v1", "astromer_v2", "modern"])
def test_architectures_shapes(arch):
    model = Astromer.from_architecture(arch, window_size=20)
    x = _inputs()
    assert tuple(model(x).shape) == (3, 20)
    layers = model.encode(x, all_layers=True)
    assert len(layers) == model.num_layers + 1
    assert all(tuple(z.shape) == (3, 20, model.width) for z in layers)
    np.testing.assert_allclose(np.asarray(layers[-1]), np.asarray(model.encode(x)), atol=1e-6)


def test_trailing_axis_is_accepted():
    model = small()
    x = _inputs()
    x3 = {k: v[..., None] for k, v in x.items()}
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x3)), atol=1e-6)


def test_bad_inputs_are_named():
    model = small()
    with pytest.raises(KeyError, match="missing \\['mask'\\]"):
        model({"times": np.zeros((1, 4)), "magnitudes": np.zeros((1, 4))})
    with pytest.raises(ValueError, match="'magnitudes' must be"):
        model({"times": np.zeros((1, 4)), "magnitudes": np.zeros((1, 4, 2)), "mask": np.ones((1, 4))})
    with pytest.raises(TypeError, match="expects a dict"):
        model(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="Unknown architecture"):
        Astromer.from_architecture("astromer_v9")


@pytest.mark.parametrize("block_style,mask_token", [("pre", True), ("post", False)])
def test_padding_never_changes_real_outputs_with_key_mask(block_style, mask_token):
    kw = {} if block_style == "pre" else dict(block_style="post", use_leak=True, ffn_activation="tanh")
    model = small(mask_token=mask_token, **kw)
    x = _inputs()
    base = np.asarray(model.encode(x))
    x2 = dict(x, magnitudes=x["magnitudes"].copy(), times=x["times"].copy())
    x2["magnitudes"][0, 15:] = 99.0
    x2["times"][0, 15:] = 1234.0
    changed = np.asarray(model.encode(x2))
    np.testing.assert_allclose(changed[0, :15], base[0, :15], atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    model = Astromer.from_architecture("astromer_v2", num_layers=2, window_size=20, time_rates=list(
        np.linspace(1.0, 1e-4, 256)))
    x = _inputs()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Astromer)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)


def _packed_targets(x, probed):
    target = x["magnitudes"]
    return np.stack([target, probed * x["mask"], np.ones_like(target)], axis=-1).astype("float32")


def test_masked_rmse_matches_the_original_formula():
    y_pred = RNG.normal(size=(2, 6)).astype("float32")
    target = RNG.normal(size=(2, 6)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 0, 0]], "float32")
    weights = RNG.uniform(0.1, 1, size=(2, 6)).astype("float32")
    y_true = np.stack([target, mask, weights], -1)
    per = ((target - y_pred) ** 2 * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(float(MaskedRMSE()(y_true, y_pred)), np.sqrt(per.mean()), rtol=1e-5)
    perw = ((target - y_pred) ** 2 * mask * weights).sum(1) / mask.sum(1)
    np.testing.assert_allclose(
        float(MaskedRMSE(uncertainty_weighted=True)(y_true, y_pred)), np.sqrt(perw.mean()), rtol=1e-5
    )
    metric = MaskedR2()
    metric.update_state(y_true, y_pred)
    means = (target * mask).sum(1) / mask.sum(1)
    ss_tot = (((target - means[:, None]) ** 2) * mask).sum()
    ss_res = (((target - y_pred) ** 2) * mask).sum()
    np.testing.assert_allclose(float(metric.result()), 1 - ss_res / ss_tot, rtol=1e-5)


def test_compile_defaults_and_fit_on_arrays(tmp_path):
    model = small()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    assert isinstance(model.loss, MaskedRMSE)
    x = _inputs(b=16)
    probed = (RNG.uniform(size=(16, 20)) < 0.5).astype("float32")
    y = _packed_targets(x, probed)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    after = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(history.history) >= {"loss", "r2"}
    assert after["loss"] < before["loss"] * 0.8
    path = tmp_path / "fitted.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-5)
    assert isinstance(loaded.loss, MaskedRMSE)


def test_public_api():
    assert astromer.__version__
    assert astromer.Astromer is Astromer
    assert callable(astromer.load_preset)


def _curves(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [np.column_stack([np.sort(rng.uniform(0, 500, n)), rng.normal(17, 0.3, n), np.full(n, 0.05)])
            for n in lengths]


@pytest.mark.parametrize("arch", ["astromer_v1", "astromer_v2", "modern"])
def test_length_buckets_skip_padding_and_embed_alike(arch):
    """Windows cut to their length bucket give the full-length embeddings: padding dropped where
    it is ignored (v2, modern), one weighted stand-in padded step where it is attended (v1)."""
    keras.utils.set_random_seed(0)
    model = Astromer.from_architecture(arch, num_layers=2, window_size=40)
    curves = _curves([3, 9, 16, 20, 25, 31, 40, 57, 95])  # short, full, and curves of 2-3 windows
    full = model.embed(curves, verbose=0, bucketing=False)
    cut = model.embed(curves, verbose=0, bucketing=True)
    # real lengths 3, 9, 16, 20, 25, 31, then full windows (57 and 95: the last window is
    # shifted back to be full); v1 needs one step more than its length for the stand-in
    weighted = arch == "astromer_v1"
    assert weighted != model.padding_is_ignored
    cache = model.__dict__["_encoder_by_length_weighted" if weighted else "_encoder_by_length"]
    lengths = np.array([3, 9, 16, 20, 25, 31] + [40] * 6)
    expected, _ = length_buckets(np.minimum(lengths + weighted, 40), 40, row_cost=2 * model.width + model.ffn_dim)
    assert sorted(cache) == [e for e in expected if e < 40] and len(cache) >= 2
    for a, b in zip(full.observations, cut.observations):
        np.testing.assert_allclose(b, a, atol=2e-5)
    np.testing.assert_allclose(cut.pooled, full.pooled, atol=2e-5)


def test_attended_padding_stand_in_is_exact_and_nonzero_tails_are_kept():
    """Astromer 1 attends its padding: P identical padded keys are the same softmax as p kept ones
    weighted log(P / p) (any p >= 1); a step after the last visible one whose time or magnitude is
    not 0 is not padding and is encoded as it is."""
    keras.utils.set_random_seed(1)
    model = Astromer.from_architecture("astromer_v1", window_size=20)
    x = _inputs(4, 20)  # window 0: 15 real steps, 5 padded (time, magnitude, mask all 0)
    for k in ("times", "magnitudes"):
        x[k][0, 15:] = 0
    full = np.asarray(model.encode(x))
    for keep in (1, 2, 5):
        cut = {k: v[:1, :15 + keep] for k, v in x.items()}
        bias = np.zeros((1, 15 + keep), "float32")
        bias[0, 15:] = np.log(5 / keep)
        out = np.asarray(model.encode(cut, key_bias=bias))
        np.testing.assert_allclose(out[0, :15], full[0, :15], atol=1e-5)
        if keep < 5:  # without the weight, the cut window is a different input
            assert np.abs(np.asarray(model.encode(cut))[0, :15] - full[0, :15]).max() > 1e-3
    np.testing.assert_allclose(model.encode_windows(x, bucketing=True)[0, :15], full[0, :15], atol=1e-5)
    # window 1: hidden at its end but not zero: real steps for the bucketing
    x["mask"][1, 12:] = 0
    full = np.asarray(model.encode(x))
    np.testing.assert_allclose(model.encode_windows(x, lengths=[15, 12, 20, 20], bucketing=True)[1],
                               full[1], atol=1e-5)
    auto = model.embed(_curves([5, 12] * 40), verbose=0, batch_size=64)  # "auto": on from batch_size
    assert model.__dict__["_encoder_by_length_weighted"] and len(auto.ids) == 80


@pytest.mark.parametrize("arch", ["astromer_v1", "astromer_v2"])
def test_embed_every_block_side_by_side(arch):
    """layers="blocks": each observation's row is every block's output (input embedding left out),
    block 0 first, the last block equal to the default embedding; with and without length buckets."""
    keras.utils.set_random_seed(0)
    model = Astromer.from_architecture(arch, num_layers=3, window_size=24)
    curves = _curves([7, 20, 30])
    last = model.embed(curves, verbose=0, bucketing=False)
    d = model.width
    for bucketing in (False, True):
        blocks = model.embed(curves, verbose=0, layers="blocks", bucketing=bucketing)
        assert blocks[0].shape == (7, 3 * d)
        for a, b in zip(last.observations, blocks.observations):
            np.testing.assert_allclose(b[:, 2 * d:], a, atol=2e-5)
    x = {k: v[:1] for k, v in _inputs(2, 24).items()}
    per_block = model.encode(x, all_layers=True)
    np.testing.assert_allclose(np.asarray(model.encoder_model("blocks").predict_on_batch(x))[..., d:2 * d],
                               np.asarray(per_block[2]), atol=2e-5)
    with pytest.raises(ValueError, match="layers must be one of \\('last', 'blocks'\\), got 'all'"):
        model.embed(curves, verbose=0, layers="all")


def test_hidden_steps_inside_a_window_count_towards_its_length():
    x = _inputs(4, 20)  # window 0: 15 steps, then padding
    x["mask"][1, 4] = 0  # a hidden step inside a window still counts towards its length
    model = Astromer.from_architecture("astromer_v2", window_size=20)
    real = np.arange(20)[None, :, None] < np.array([15, 20, 20, 20])[:, None, None]
    np.testing.assert_allclose(model.encode_windows(x, bucketing=True), np.asarray(model.encode(x)) * real,
                               atol=2e-5)
