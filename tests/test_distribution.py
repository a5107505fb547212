"""Data parallelism on 2 simulated CPU devices, and gradient accumulation.

The 2-device runs happen in subprocesses, because the device count must be set
before the backend initialises: JAX through
``XLA_FLAGS=--xla_force_host_platform_device_count=2``, TensorFlow through two
logical CPUs. Both parts run under either CI backend (the subprocess picks its
own backend).
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from astromer.distribution import accumulating_optimizer

_COMMON = textwrap.dedent(
    """
    import numpy as np

    def fixed_data(n=16, steps=12, seed=0):
        rng = np.random.default_rng(seed)
        times = np.sort(rng.uniform(0, 50, (n, steps)), axis=1).astype("float32")
        times -= times.mean(axis=1, keepdims=True)
        mags = rng.normal(0, 1, (n, steps)).astype("float32")
        visible = (rng.uniform(size=(n, steps)) > 0.3).astype("float32")
        loss_mask = 1.0 - visible
        loss_mask[:, 0] = 1.0
        y = np.stack([mags, loss_mask, np.ones_like(mags)], axis=-1).astype("float32")
        x = {"times": times, "magnitudes": mags * visible, "mask": visible}
        return x, y

    def tiny_model():
        import astromer
        return astromer.Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=8, window_size=12,
                                 dropout=0.0, name="tiny")

    def train(model, x, y, epochs=3):
        losses = []
        for _ in range(epochs):
            h = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            losses.append(float(h.history["loss"][-1]))
        return losses, [np.asarray(w) for w in model.get_weights()]
    """
)

_JAX_WORKER = _COMMON + textwrap.dedent(
    """
    import json, os, keras, jax
    from astromer.distribution import data_parallel
    assert len(jax.devices()) == 2, jax.devices()
    x, y = fixed_data()

    keras.utils.set_random_seed(0)
    single = tiny_model()
    init = single.get_weights()
    single.compile(optimizer=keras.optimizers.SGD(0.1))
    l1, w1 = train(single, x, y)

    dist = data_parallel()
    with dist.scope():
        model = tiny_model()
        model.set_weights(init)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    l2, w2 = train(model, x, y)
    devices = len(model.trainable_variables[0].value.sharding.device_set)
    print("RESULT", json.dumps({"devices": devices, "single": l1, "parallel": l2,
        "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "max_weight_change": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, init))}))
    """
)

_TF_WORKER = _COMMON + textwrap.dedent(
    """
    import json, keras
    from keras import ops
    from astromer.distribution import data_parallel, simulate_host_devices
    names = simulate_host_devices(2)
    assert len(names) == 2, names
    x, y = fixed_data()

    def masked_mse(y_true, y_pred):  # a mean over windows: exact under tf.distribute
        r = ops.square(y_true[..., 0] - y_pred) * y_true[..., 1]
        return ops.sum(r, axis=1) / ops.sum(y_true[..., 1], axis=1)

    keras.utils.set_random_seed(0)
    single = tiny_model()
    init = single.get_weights()
    single.compile(optimizer=keras.optimizers.SGD(0.1), loss=masked_mse, metrics=[])
    l1, w1 = train(single, x, y)

    strategy = data_parallel()
    with strategy.scope():
        model = tiny_model()
        model.set_weights(init)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=masked_mse, metrics=[])
    l2, w2 = train(model, x, y)
    print("RESULT", json.dumps({"devices": strategy.num_replicas_in_sync, "single": l1, "parallel": l2,
        "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "max_weight_change": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, init))}))
    """
)


_JAX_MODEL_PARALLEL_WORKER = textwrap.dedent(
    """
    import json, keras, jax
    import numpy as np
    import astromer
    from astromer.distribution import model_parallel_layout
    assert len(jax.devices()) == 2, jax.devices()
    rng = np.random.default_rng(0)
    tokens = rng.normal(size=(8, 9, 4)).astype("float32")
    x, y = tokens[:, :-1], tokens[:, 1:]

    def tiny():
        return astromer.AstroPT(num_layers=2, num_heads=2, embed_dim=8, block_size=8, patch_size=2,
                                num_channels=1, name="tiny_pt")

    def train(model):
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        h = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
        return h.history["loss"], [np.asarray(w) for w in model.get_weights()]

    keras.utils.set_random_seed(0)
    single = tiny()
    init = single.get_weights()
    l1, w1 = train(single)

    layout = model_parallel_layout(model_devices=2, model=single)
    with layout.scope():
        model = tiny()
        model.set_weights(init)
    specs = {v.path: list(v.value.sharding.spec) for v in model.weights}
    l2, w2 = train(model)
    print("RESULT", json.dumps({"single": l1, "parallel": l2, "specs": specs,
        "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "max_weight_change": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, init))}))
    """
)


def _run_worker(code, backend, extra_env=None):
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "KERAS_BACKEND")}
    env.update({"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "JAX_PLATFORMS": "cpu"})
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"worker failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _check(result):
    assert result["devices"] == 2
    assert result["max_weight_change"] > 1e-3  # training moved the weights
    np.testing.assert_allclose(result["parallel"], result["single"], rtol=1e-5, atol=1e-6)
    assert result["max_weight_diff"] < 1e-5, result


def test_jax_data_parallel_on_two_devices_matches_one_device():
    result = _run_worker(_JAX_WORKER, "jax", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    _check(result)


def test_jax_model_parallel_astropt_on_two_devices_matches_one_device():
    result = _run_worker(_JAX_MODEL_PARALLEL_WORKER, "jax",
                         {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    specs = result["specs"]
    # Megatron-style: first Dense of each sublayer split by columns, second by rows.
    assert specs["tiny_pt/block_0/attn/c_attn/kernel"] == [None, "model"], specs
    assert specs["tiny_pt/block_1/c_proj/kernel"] == ["model", None], specs
    assert specs["tiny_pt/encoder/c_fc/kernel"] == [None, "model"], specs
    assert "model" not in specs["tiny_pt/final_norm/gamma"], specs  # replicated
    assert "model" not in specs["tiny_pt/position_embedding/embeddings"], specs
    assert result["max_weight_change"] > 1e-3
    np.testing.assert_allclose(result["parallel"], result["single"], rtol=1e-5, atol=1e-6)
    assert result["max_weight_diff"] < 1e-5, result


def test_tensorflow_mirrored_strategy_on_two_cpus_matches_one_device():
    _check(_run_worker(_TF_WORKER, "tensorflow"))


# ----------------------------------------------------------------------------- accumulation


def _linear_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], "float32"), np.zeros(2, "float32")])
    return model


def _linear_loss(y_true, y_pred):
    # Linear in the output (and the model is linear): the gradient does not depend
    # on the weights, so k accumulated steps of B equal one step of kB exactly.
    return keras.ops.mean(y_true * y_pred, axis=-1)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_gradient_accumulation_k_steps_of_b_equal_one_step_of_kb(name):
    k, b = 3, 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(k * b, 3)).astype("float32")
    y = rng.normal(size=(k * b, 2)).astype("float32")

    acc = _linear_model()
    acc.compile(optimizer=accumulating_optimizer(name, steps=k, learning_rate=0.1), loss=_linear_loss)
    start = [w.copy() for w in acc.get_weights()]
    changed = []
    for i in range(k):
        before = [w.copy() for w in acc.get_weights()]
        acc.train_on_batch(x[i * b : (i + 1) * b], y[i * b : (i + 1) * b])
        changed.append(any(not np.array_equal(p, q) for p, q in zip(before, acc.get_weights())))
    assert changed == [False] * (k - 1) + [True]  # weights move on the k-th batch only

    big = _linear_model()
    big.compile(optimizer=keras.optimizers.get(name).__class__(learning_rate=0.1), loss=_linear_loss)
    big.train_on_batch(x, y)
    for a, c, s in zip(acc.get_weights(), big.get_weights(), start):
        assert not np.allclose(c, s)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_accumulating_optimizer_copies_an_instance():
    base = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=0.05)
    opt = accumulating_optimizer(base, steps=4)
    assert isinstance(opt, keras.optimizers.AdamW)
    assert opt.gradient_accumulation_steps == 4
    assert opt.weight_decay == pytest.approx(0.05)
    assert float(opt.learning_rate) == pytest.approx(3e-4)
    with pytest.raises(ValueError):
        accumulating_optimizer("adam", steps=0)
