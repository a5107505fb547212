"""The Astromer model: inputs, architectures, saving, and a tiny fit() on arrays."""

import keras
import numpy as np
import pytest

import astromer
from astromer import Astromer
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
