"""pretraining_dataset: shapes, filtering, sampling, per-epoch masks, determinism, parity."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astromer.data import (
    LOSS_MASK,
    TARGET,
    WEIGHT,
    error_weights,
    error_weights_tf,
    prepare_light_curves,
    pretraining_dataset,
    window_curves,
)

W = 32


def curve(n, seed=0):
    rng = np.random.default_rng(seed)
    t = 49000.0 + np.sort(rng.uniform(0, 2800, n))
    mags = 5.0 + 0.25 * np.arange(n, dtype=np.float64)  # consecutive obs differ by exactly 0.25 (within [-30, 40])
    return np.stack([t, mags, 0.05 + rng.uniform(0, 0.05, n)], axis=1)


def epoch(ds):
    xs, ys = zip(*[(x, y) for x, y in ds.as_numpy_iterator()])
    x = {k: np.concatenate([b[k] for b in xs]) for k in xs[0]}
    return x, np.concatenate(ys)


def test_shapes_dtypes_and_fixed_element_spec():
    ds = pretraining_dataset([curve(n, n) for n in (20, 32, 90)], batch_size=2, window_size=W, seed=0)
    x_spec, y_spec = ds.element_spec
    assert set(x_spec) == {"times", "magnitudes", "mask"}
    for spec in x_spec.values():
        assert spec.shape.as_list() == [None, W] and spec.dtype == tf.float32
    assert y_spec.shape.as_list() == [None, W, 3] and y_spec.dtype == tf.float32
    batches = list(ds.as_numpy_iterator())
    assert [b[1].shape for b in batches] == [(2, W, 3), (1, W, 3)]  # drop_remainder=False
    assert (TARGET, LOSS_MASK, WEIGHT) == (0, 1, 2)


def test_short_curves_dropped_with_warning():
    nan_heavy = curve(8, 3)
    nan_heavy[:5, 1] = np.nan  # 3 finite rows left
    curves = [curve(3), curve(10, 1), nan_heavy, curve(40, 2)]
    with pytest.warns(UserWarning) as record:
        ds = pretraining_dataset(curves, window_size=W, batch_size=8, shuffle=False, seed=1)
    messages = [str(w.message) for w in record]
    assert messages == ["prepare_light_curves: 2 of 4 curves kept; 2 curves dropped: too_few_observations "
                        "(e.g. 0, 2); 5 rows dropped: nonfinite_mag (e.g. 2)"]
    x, y = epoch(ds)
    assert x["mask"].shape[0] == 2
    np.testing.assert_array_equal((y[..., WEIGHT] > 0).sum(1), [10, W])
    with pytest.raises(ValueError, match="no usable light curves: all 1 were dropped"):
        pretraining_dataset([curve(3)], window_size=W)


def test_sampling_windows_are_random_consecutive_slices():
    curves = [curve(12, 0), curve(W, 1), curve(100, 2)]
    curves[2][:, 1] = np.arange(100) ** 2 / 1000.0  # step (2i+1)/1000 reveals the start i
    ds = pretraining_dataset(curves, window_size=W, batch_size=8, shuffle=False, seed=3)
    offsets = set()
    for _ in range(6):
        x, y = epoch(ds)
        real = y[..., WEIGHT] > 0  # weight = 1 exactly at real positions
        np.testing.assert_array_equal(real.sum(1), [12, W, W])
        target = y[..., TARGET]
        for i in range(2):
            np.testing.assert_allclose(np.diff(target[i, real[i]]), 0.25, atol=1e-4)
        assert np.all(target[~real] == 0) and np.all(x["times"][~real] == 0)
        assert abs(target[2].mean()) < 1e-4 and abs(x["times"][2].mean()) < 0.05
        start = round((np.diff(target[2])[0] * 1000 - 1) / 2)
        steps = (2 * (start + np.arange(W - 1)) + 1) / 1000
        np.testing.assert_allclose(np.diff(target[2]), steps, atol=1e-4)
        offsets.add(start)
    assert len(offsets) > 2 and min(offsets) >= 0 and max(offsets) <= 100 - W


def test_sequential_windows_match_window_curves():
    curves = [curve(20, 0), curve(70, 1)]
    ds = pretraining_dataset(
        curves, window_size=W, sampling=False, shuffle=False, batch_size=16, seed=0,
        probed=1.0, random=0.0, same=0.0, uncertainty_weights=True,
    )
    x, y = epoch(ds)
    win = window_curves(prepare_light_curves(curves).curves, W)
    assert len(win) == 4 and x["times"].shape == (4, W)
    np.testing.assert_array_equal(x["times"], win.times)
    np.testing.assert_array_equal(x["magnitudes"], win.magnitudes)
    np.testing.assert_array_equal(y[..., TARGET], win.magnitudes)
    np.testing.assert_array_equal(x["mask"], win.mask)
    np.testing.assert_array_equal(y[..., LOSS_MASK], win.mask)
    np.testing.assert_array_equal(y[..., WEIGHT], error_weights(win.errors, win.mask))


def test_masks_change_each_epoch_and_repeat_with_seed():
    curves = [curve(n, n) for n in (25, 60, 120)]
    make = lambda seed: pretraining_dataset(curves, window_size=W, batch_size=2, seed=seed)
    a, b, c = make(7), make(7), make(8)
    a1, a2 = epoch(a), epoch(a)
    b1, b2 = epoch(b), epoch(b)
    c1 = epoch(c)
    for (xa, ya), (xb, yb) in ((a1, b1), (a2, b2)):
        for k in xa:
            np.testing.assert_array_equal(xa[k], xb[k])
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a1[1][..., LOSS_MASK], a2[1][..., LOSS_MASK])
    assert not np.array_equal(a1[1][..., LOSS_MASK], c1[1][..., LOSS_MASK])
    # masking counts per element follow the Astromer rule (W=32 real -> 16 probed)
    assert sorted(a1[1][..., LOSS_MASK].sum(1).tolist()) == [12, 16, 16]


def test_shuffle_changes_order_between_epochs():
    curves = [curve(5 + i, i) for i in range(12)]  # lengths identify the curves
    ds = pretraining_dataset(curves, window_size=W, batch_size=64, seed=0, probed=1.0)
    orders = [tuple(epoch(ds)[0]["mask"].sum(1).astype(int)) for _ in range(3)]
    assert all(sorted(o) == list(range(5, 17)) for o in orders)
    assert len(set(orders)) > 1
    unshuffled = pretraining_dataset(curves, window_size=W, shuffle=False, seed=0, probed=1.0)
    assert list(epoch(unshuffled)[0]["mask"].sum(1).astype(int)) == list(range(5, 17))


def test_repeat_and_dataframe_input():
    df = pd.DataFrame(
        {
            "object_id": np.repeat(["a", "b"], [10, 40]),
            "time": np.concatenate([np.arange(10.0), np.arange(40.0)]),
            "mag": np.linspace(15, 16, 50),
        }
    )
    ds = pretraining_dataset(df, window_size=W, batch_size=3, repeat=True, seed=2)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    batches = list(ds.take(5).as_numpy_iterator())
    assert all(y.shape == (3, W, 3) for _, y in batches)
    _, y = batches[0]
    assert set(np.unique(y[..., WEIGHT])) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="needs magnitude errors"):
        pretraining_dataset(df, uncertainty_weights=True)


def test_error_weights_tf_matches_numpy():
    rng = np.random.default_rng(0)
    errors = rng.uniform(0.01, 0.3, (6, W)).astype(np.float32)
    errors[1] = 0.2
    errors[2, :4] = 0
    mask = (np.arange(W)[None, :] < np.array([32, 10, 20, 1, 0, 31])[:, None]).astype(np.float32)
    np.testing.assert_array_equal(error_weights_tf(errors, mask).numpy(), error_weights(errors, mask))


def test_bad_arguments():
    with pytest.raises(ValueError, match="probed"):
        pretraining_dataset([curve(10)], probed=0.0)
    with pytest.raises(ValueError, match="same"):
        pretraining_dataset([curve(10)], same=1.5)
    with pytest.raises(ValueError, match="min_observations"):
        pretraining_dataset([curve(10)], min_observations=0)


def test_reference_loader_parity(shared_dir):
    v2 = np.load(shared_dir / "reference" / "astromer_v2_leak" / "reference.npz")
    raws = [v2[k] for k in ("raw_curve_58_6272_729", "raw_curve_111_23746_772")]
    curves = [r[np.isfinite(r).all(1) & (r[:, 2] > 0) & (r[:, 2] < 1)] for r in raws]
    ds = pretraining_dataset(
        curves, window_size=200, sampling=False, shuffle=False, seed=0,
        probed=1.0, random=0.0, same=0.0, uncertainty_weights=True, time_precision="float32",
    )
    x, y = epoch(ds)
    ref = {k: v2[f"loader_inference_{k}"][..., 0] for k in ("input", "times", "mask_in", "mask_out", "target", "w_error")}
    np.testing.assert_array_equal(x["times"], ref["times"])
    np.testing.assert_array_equal(x["magnitudes"], ref["input"])
    np.testing.assert_array_equal(x["mask"], 1 - ref["mask_in"])
    np.testing.assert_array_equal(y[..., TARGET], ref["target"])
    np.testing.assert_array_equal(y[..., LOSS_MASK], ref["mask_out"])
    real = ref["mask_out"] > 0
    assert np.abs(y[..., WEIGHT] - ref["w_error"])[real].max() <= 2.5e-7
    # masked pretraining on the same windows: same counts as the original loader
    ds = pretraining_dataset(curves, window_size=200, sampling=False, shuffle=False, seed=0)
    _, y = epoch(ds)
    np.testing.assert_array_equal(y[..., LOSS_MASK].sum(1), v2["loader_masked_mask_out"][..., 0].sum(1))
    np.testing.assert_array_equal(y[..., TARGET], v2["loader_masked_target"][..., 0])


@pytest.mark.parametrize("arch,padding", [("astromer_v1", "attended"), ("astromer_v2", "ignored")])
def test_length_bucketed_training_is_the_same_training(arch, padding):
    """Batches cut to their length bucket (v1: one weighted padded step kept, ``key_bias``) give the
    same loss and the same SGD update as the full windows, step by step (both models start every
    step from the same weights, so float32 rounding does not compound over the steps)."""
    import keras

    from astromer import Astromer

    curves = [curve(n, seed=n) for n in (5, 9, 13, 17, 24, 40)]  # 40: two windows of 24
    opts = dict(batch_size=1, window_size=24, sampling=False, shuffle=False, seed=3, masking="v1")
    full = list(pretraining_dataset(curves, **opts).as_numpy_iterator())
    cut = list(pretraining_dataset(curves, length_buckets=padding, **opts).as_numpy_iterator())
    assert len(cut) == len(full) == 7
    assert sorted({c[0]["mask"].shape[1] for c in cut}) != [24]  # some batches were cut
    keras.utils.set_random_seed(0)
    models = [Astromer.from_architecture(arch, num_layers=2, window_size=24, dropout=0.0) for _ in "ab"]
    models[1].set_weights(models[0].get_weights())
    for m in models:
        m.compile(optimizer=keras.optimizers.SGD(0.1))
    for (xf, yf), (xc, yc) in zip(full, cut):
        models[1].set_weights(models[0].get_weights())  # plain SGD: no optimizer state to carry
        t = xc["mask"].shape[1]
        np.testing.assert_array_equal(yc, yf[:, :t])
        assert ("key_bias" in xc) == (padding == "attended")  # every batch: one structure
        if t == 24 and "key_bias" in xc:
            assert not xc["key_bias"].any()  # nothing cut, nothing weighted
        lf = float(np.ravel(models[0].train_on_batch(xf, yf))[0])
        lc = float(np.ravel(models[1].train_on_batch(xc, yc))[0])
        assert lc == pytest.approx(lf, rel=1e-5, abs=1e-6)
        for a, b in zip(models[0].get_weights(), models[1].get_weights()):
            np.testing.assert_allclose(b, a, atol=1e-5)


def test_length_buckets_group_windows_and_keep_every_one():
    curves = [curve(n, seed=n) for n in [6] * 9 + [20] * 7 + [100] * 5]
    ds = pretraining_dataset(curves, batch_size=4, window_size=32, sampling=True, seed=1,
                             length_buckets="attended")
    batches = list(ds.as_numpy_iterator())
    real = [int((y[..., 2] > 0).sum()) for _, y in batches]
    assert sum(len(y) for _, y in batches) == 21 and sum(real) == 9 * 6 + 7 * 20 + 5 * 32
    cuts = {6: 8, 20: 24, 32: 32}  # one kept padded step each: 7 -> 8, 21 -> 24
    for x, y in batches:  # one bucket per batch, every window's real steps inside its cut
        n = set((y[..., 2] > 0).sum(1).tolist())
        assert len(n) == 1 and x["mask"].shape[1] == cuts[n.pop()]
        t = x["mask"].shape[1]
        if t < 32:
            real_n = {8: 6, 24: 20}[t]
            np.testing.assert_allclose(x["key_bias"][:, real_n:], np.log((32 - real_n) / (t - real_n)), rtol=1e-6)
            assert not x["key_bias"][:, :real_n].any()
    with pytest.raises(ValueError, match="length_buckets must be None, 'ignored' or 'attended', got True"):
        pretraining_dataset(curves, length_buckets=True)
