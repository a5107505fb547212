"""mask_window: exact Astromer counts, padding safety, randomness and determinism."""

import numpy as np
import pytest
import tensorflow as tf

from astromer.data import inference_windows, mask_window

W = 200


def window(n, seed=0):
    """Distinct magnitudes (so replaced values are detectable) padded to W."""
    rng = np.random.default_rng(seed)
    mags = np.zeros(W, np.float32)
    mags[:n] = rng.permutation(n).astype(np.float32) + 1.0
    mask = (np.arange(W) < n).astype(np.float32)
    return mags, mask


def run(n, seed=(1, 2), **fractions):
    mags, mask = window(n)
    out = mask_window(mags, mask, tf.constant(seed, tf.int64), **fractions)
    return mags, mask, {k: v.numpy() for k, v in out.items()}


def categories(mags, mask, out):
    probed = out["loss_mask"] > 0
    hidden = probed & (out["visible"] == 0)
    changed = out["input"] != mags
    return probed, hidden, changed


@pytest.mark.parametrize(
    "n, n_probed, n_hidden",
    [(200, 100, 64), (147, 73, 46), (10, 5, 3), (5, 2, 0), (1, 0, 0)],
)
def test_counts(n, n_probed, n_hidden):
    # n_same = ceil(0.2 p), n_random = ceil(0.2 (p - n_same)), hidden = the rest
    n_same = int(np.ceil(n_probed * 0.2))
    n_random = int(np.ceil((n_probed - n_same) * 0.2))
    assert n_hidden == n_probed - n_same - n_random
    for seed in [(0, 0), (3, 9), (123, 4)]:
        mags, mask, out = run(n, seed)
        probed, hidden, changed = categories(mags, mask, out)
        assert probed.sum() == n_probed and hidden.sum() == n_hidden
        assert out["visible"].sum() == n - n_hidden
        assert changed.sum() <= n_random
        assert not (changed & ~probed).any() and not (changed & hidden).any()


def test_n200_random_replacements_take_other_real_values():
    most = 0
    for s in range(10):
        mags, mask, out = run(200, (s, 7))
        probed, hidden, changed = categories(mags, mask, out)
        assert set(out["input"][changed]) <= set(mags[:200])
        assert (probed & ~hidden).sum() == 36  # 20 same + 16 random
        most = max(most, int(changed.sum()))
    assert most == 16  # a random pick equals its own value only by chance


def test_padding_never_selected():
    for s in range(5):
        mags, mask, out = run(37, (s, s))
        pad = mask == 0
        for key in ("input", "visible", "loss_mask"):
            assert np.all(out[key][pad] == 0), key
        assert out["visible"].dtype == np.float32


def test_all_padding_window_is_safe():
    out = mask_window(tf.zeros([W]), tf.zeros([W]), tf.constant([1, 1]))
    for v in out.values():
        assert np.all(v.numpy() == 0)


def test_probed_one_is_inference_mode():
    mags, mask, out = run(150, probed=1.0, random=0.0, same=0.0)
    np.testing.assert_array_equal(out["loss_mask"], mask)
    np.testing.assert_array_equal(out["visible"], mask)
    np.testing.assert_array_equal(out["input"], mags)


def test_seeds_deterministic_and_distinct():
    a = run(200, (5, 6))[2]
    b = run(200, (5, 6))[2]
    c = run(200, (5, 7))[2]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["loss_mask"], c["loss_mask"])


def test_works_in_graph_mode_dataset_map():
    mags, mask = window(120)
    ds = tf.data.Dataset.from_tensors((mags, mask, tf.constant([4, 2], tf.int64))).repeat(4)
    ds = ds.map(lambda m, k, s: mask_window(m, k, s, 0.5, 0.2, 0.2), num_parallel_calls=2)
    outs = list(ds.as_numpy_iterator())
    assert all(o["loss_mask"].sum() == 60 for o in outs)
    eager = mask_window(mags, mask, tf.constant([4, 2], tf.int64))
    np.testing.assert_array_equal(outs[0]["visible"], eager["visible"].numpy())


def test_counts_match_original_loader(shared_dir):
    v2 = np.load(shared_dir / "reference" / "astromer_v2_leak" / "reference.npz")
    raws = [v2[k] for k in ("raw_curve_58_6272_729", "raw_curve_111_23746_772")]
    curves = [r[np.isfinite(r).all(1) & (r[:, 2] > 0) & (r[:, 2] < 1)] for r in raws]
    _, win = inference_windows(curves)
    real = win.mask > 0
    ref_out = v2["loader_masked_mask_out"][..., 0]
    ref_hidden = (v2["loader_masked_mask_in"][..., 0] > 0) & real
    ref_changed = v2["loader_masked_input"][..., 0] != v2["loader_masked_target"][..., 0]
    for i in range(len(win)):
        out = mask_window(win.magnitudes[i], win.mask[i], tf.constant([i, 0]))
        ours = {k: v.numpy() for k, v in out.items()}
        assert ours["loss_mask"].sum() == ref_out[i].sum()
        assert ((ours["loss_mask"] > 0) & (ours["visible"] == 0)).sum() == ref_hidden[i].sum()
        # same semantics in the reference: replaced values sit at visible probed positions
        assert not (ref_changed[i] & ((ref_out[i] == 0) | ref_hidden[i])).any()
        assert ref_changed[i].sum() <= 16
        # hidden positions keep their true value in the original too
        np.testing.assert_array_equal(
            v2["loader_masked_input"][i, ref_hidden[i], 0], win.magnitudes[i][ref_hidden[i]]
        )
    assert [int(x) for x in ref_out.sum(1)] == [73, 100, 100]
