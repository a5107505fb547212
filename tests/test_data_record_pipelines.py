"""Record pipelines: pretraining / inference / classification windows and images from shards."""

import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import astromer
from astromer.data import (
    LOSS_MASK,
    TARGET,
    WEIGHT,
    gather_observations,
    mask_window,
    pretraining_dataset,
    window_bounds,
    window_curves,
)
from astromer.records import (
    classification_records,
    image_records,
    inference_records,
    light_curve_counts,
    pretraining_records,
    regroup_windows,
)
from astromer.records.schema import image_example, light_curve_example
from conftest import require_shared

W = 200


# ----------------------------------------------------------------------------- material


def _curves_from_csv(path, nrows=None):
    table = pd.read_csv(path, nrows=nrows)
    curves = []
    for (oid, band), g in table.groupby(["object_id", "band"], sort=False):
        arr = g[["time", "mag", "mag_err"]].to_numpy(np.float64)
        curves.append((str(oid), str(band), arr[np.argsort(arr[:, 0], kind="stable")]))
    return curves


@pytest.fixture(scope="module")
def eros():
    """~50 real EROS-1 curves (b and r bands, 11-125 observations)."""
    return _curves_from_csv(require_shared("data", "eros1", "lightcurves.csv.gz"), nrows=6000)


@pytest.fixture(scope="module")
def macho():
    """19 real MACHO curves of ~800 observations (several windows each; MJD ~49000)."""
    return _curves_from_csv(require_shared("data", "macho_samples", "lightcurves.csv.gz"))


def write_shards(directory, curves, n_shards=3, labels=None, name="shard"):
    """Round-robin the curves over n_shards files; returns the file list (shard order)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [str(directory / f"{name}-{k:03d}.tfrecord") for k in range(n_shards)]
    writers = [tf.io.TFRecordWriter(f) for f in files]
    for i, (oid, band, arr) in enumerate(curves):
        label = -1 if labels is None else labels[i]
        writers[i % n_shards].write(
            light_curve_example(oid, band, arr[:, 0], arr[:, 1], arr[:, 2], label=label)
        )
    for w in writers:
        w.close()
    return files


def file_order(curves, n_shards):
    """The curves in the order a 1-cycle, unshuffled read of write_shards' files gives."""
    return [c for k in range(n_shards) for c in curves[k::n_shards]]


def epoch(ds):
    xs, ys = zip(*[(e[0], e[1]) for e in ds.as_numpy_iterator()])
    cat = lambda parts: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return cat(xs), (cat(ys) if isinstance(ys[0], dict) else np.concatenate(ys))


# ----------------------------------------------------------------------------- pretraining


def test_shapes_dtypes_and_element_spec(tmp_path, eros):
    files = write_shards(tmp_path, eros[:20], n_shards=3)
    ds = pretraining_records(files, batch_size=8, seed=0)
    x_spec, y_spec = ds.element_spec
    assert set(x_spec) == {"times", "magnitudes", "mask"}
    for spec in x_spec.values():
        assert spec.shape.as_list() == [None, W] and spec.dtype == tf.float32
    assert y_spec.shape.as_list() == [None, W, 3] and y_spec.dtype == tf.float32
    batches = list(ds.as_numpy_iterator())
    assert [b[1].shape[0] for b in batches] == [8, 8, 4]
    x, y = epoch(ds)
    real = y[..., WEIGHT] > 0  # weight 1 exactly at real observations, a prefix of the window
    np.testing.assert_array_equal(real, np.arange(W) < real.sum(1)[:, None])
    assert sorted(real.sum(1)) == sorted(len(c[2]) for c in eros[:20])
    assert np.all(x["mask"] <= real) and np.all(y[..., LOSS_MASK] <= real)


def test_short_curves_dropped_and_counted(tmp_path, eros):
    base = eros[0][2]
    curves = [("a", "r", base[:3]), ("b", "r", base[:4]), ("c", "r", base[:5]), ("d", "r", base[:30])]
    files = write_shards(tmp_path, curves, n_shards=2)
    counts = light_curve_counts(files)
    assert counts == {"curves": 4, "kept": 2, "dropped": 2, "observations": 35, "windows": 2}
    x, y = epoch(pretraining_records(files, seed=0, shuffle=False))
    assert sorted((y[..., WEIGHT] > 0).sum(1)) == [5, 30]
    x, _ = epoch(inference_records(files, min_observations=5))
    assert len(x["mask"]) == 2
    assert light_curve_counts(files, min_observations=3)["dropped"] == 0
    assert light_curve_counts(files, window_size=4)["windows"] == 2 + 8  # ceil(5/4) + ceil(30/4)


def test_windows_zero_mean_float64_times_and_in_memory_parity(tmp_path, macho):
    curves = macho[:4]
    files = write_shards(tmp_path, curves, n_shards=2)
    ordered = file_order(curves, 2)
    arrays = [c[2] for c in ordered]
    win = window_curves(arrays, W)
    common = dict(sampling=False, shuffle=False, seed=0, probed=1.0, random=0.0, same=0.0,
                  uncertainty_weights=True, batch_size=32)
    x, y = epoch(pretraining_records(files, cycle_length=1, **common))
    mem_x, mem_y = epoch(pretraining_dataset(arrays, window_size=W, **common))
    assert len(win) == len(x["mask"]) > len(curves)  # several windows per curve
    # magnitudes, masks and weights: bit-identical to the in-memory pipeline and window_curves
    np.testing.assert_array_equal(x["magnitudes"], win.magnitudes)
    np.testing.assert_array_equal(x["mask"], win.mask)
    np.testing.assert_array_equal(y[..., [TARGET, LOSS_MASK]], mem_y[..., [TARGET, LOSS_MASK]])
    np.testing.assert_array_equal(y[..., WEIGHT], mem_y[..., WEIGHT])
    real = x["mask"] > 0
    assert np.abs((y[..., TARGET] * real).sum(1) / real.sum(1)).max() < 1e-5
    assert np.all(x["times"][~real] == 0) and np.all(y[..., TARGET][~real] == 0)
    # times: zero-mean in float64 on both routes (records keep float64 times), equal to the exact value
    obj, start, length, _ = window_bounds([len(a) for a in arrays], W)
    exact = np.zeros((len(obj), W))
    for i, (o, s, n) in enumerate(zip(obj, start, length)):
        t = arrays[o][s : s + n, 0]
        exact[i, :n] = t - t.mean()
    rec_err = np.abs(x["times"] - exact).max()
    mem_err = np.abs(mem_x["times"] - exact).max()
    np.testing.assert_array_equal(x["times"], mem_x["times"])
    assert np.abs(x["times"] - win.times).max() <= 1.2e-4  # numpy vs tf float64 sums: 1 float32 ulp at most
    assert rec_err < 1.2e-4 and mem_err < 1.2e-4  # float32 ulp at ~1500 d
    legacy = pretraining_dataset(arrays, window_size=W, time_precision="float32", **common)
    assert np.abs(epoch(legacy)[0]["times"] - exact).max() > 3e-4  # the original's cast-then-centre
    assert np.abs(x["times"].sum(1) / real.sum(1)).max() < 1e-4


def test_masks_differ_between_epochs_and_repeat_with_seed(tmp_path, eros):
    files = write_shards(tmp_path, eros[:12], n_shards=3)

    def by_curve(ds):
        # sequential windows: the target row identifies the curve, whatever the order
        x, y = epoch(ds)
        order = np.lexsort(y[..., TARGET].T)
        return y[order, :, LOSS_MASK], x["mask"][order], y[order, :, TARGET]

    make = lambda seed: pretraining_records(files, sampling=False, batch_size=5, seed=seed)
    a, b, c = make(7), make(7), make(8)
    a1, a2, b1, b2, c1 = by_curve(a), by_curve(a), by_curve(b), by_curve(b), by_curve(c)
    np.testing.assert_array_equal(a1[2], a2[2])  # the same curves, aligned
    assert not np.array_equal(a1[0], a2[0])  # new masks in the second epoch ...
    diff_rows = (a1[0] != a2[0]).any(1)
    assert diff_rows.mean() > 0.9  # ... for (almost) every curve
    for e1, e2 in ((a1, b1), (a2, b2)):  # equal seeds: equal epochs
        for u, v in zip(e1, e2):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a1[0], c1[0])
    counts = a1[0].sum(1)
    lengths = (a1[2] != 0).sum(1)
    np.testing.assert_array_equal(counts, np.floor(lengths * np.float32(0.5)))


def test_random_windows_within_long_curves(tmp_path, macho):
    curves = macho[:3]
    files = write_shards(tmp_path, curves, n_shards=1)
    ds = pretraining_records(files, shuffle=False, seed=1, probed=1.0, random=0.0, same=0.0)
    starts = set()
    for _ in range(3):
        x, y = epoch(ds)
        assert x["mask"].shape == (3, W) and np.all(x["mask"] == 1)
        for i, (_, _, arr) in enumerate(curves):
            # locate the window by its magnitude differences (unique in a real curve)
            d = np.diff(arr[:, 1]).astype(np.float32)
            wd = np.diff(y[i, :, TARGET])
            hits = [s for s in range(len(arr) - W + 1) if np.allclose(d[s : s + W - 1], wd, atol=1e-4)]
            assert len(hits) >= 1
            starts.add((i, hits[0]))
    assert len(starts) > 3  # new windows each epoch


def test_uncertainty_weights_and_repeat(tmp_path, eros):
    files = write_shards(tmp_path, eros[:6], n_shards=2)
    ds = pretraining_records(files, batch_size=4, seed=0, uncertainty_weights=True, repeat=True)
    batches = list(ds.take(6).as_numpy_iterator())  # 6 curves: 1.5 batches per epoch
    assert len(batches) == 6 and all(y.shape == (4, W, 3) for _, y in batches)
    w = np.concatenate([y[..., WEIGHT] for _, y in batches])
    assert w.min() == 0 and 0.001 <= w[w > 0].min() and w.max() <= 1.001 and len(np.unique(w)) > 10


# ----------------------------------------------------------------------------- v1 vs v2 masking


def _window(n):
    mags = np.zeros(W, np.float32)
    mags[:n] = np.random.default_rng(n).permutation(n).astype(np.float32) + 1.0
    return mags, (np.arange(W) < n).astype(np.float32)


def _mask(n, seed, variant, **fractions):
    mags, mask = _window(n)
    out = mask_window(mags, mask, tf.constant(seed, tf.int64), variant=variant, **fractions)
    return mags, mask, {k: v.numpy() for k, v in out.items()}


def test_v1_probed_zero_is_inference_v2_rejects_it(tmp_path, eros):
    mags, mask, v1 = _mask(150, (1, 2), "v1", probed=0.0, random=0.2, same=0.2)
    np.testing.assert_array_equal(v1["loss_mask"], mask)  # every real observation in the loss
    np.testing.assert_array_equal(v1["visible"], mask)  # none hidden
    np.testing.assert_array_equal(v1["input"], mags)  # nothing replaced
    _, _, v2 = _mask(150, (1, 2), "v2", probed=0.0, random=0.2, same=0.2)
    assert v2["loss_mask"].sum() == 0  # v2: probes nothing ...
    files = write_shards(tmp_path, eros[:4], n_shards=1)
    with pytest.raises(ValueError, match="probed"):  # ... so its pipelines refuse it
        pretraining_records(files, probed=0.0)
    x, y = epoch(pretraining_records(files, probed=0.0, masking="v1", seed=0))
    np.testing.assert_array_equal(y[..., LOSS_MASK], x["mask"])
    np.testing.assert_array_equal(x["magnitudes"], y[..., TARGET])


def test_v1_probed_one_hides_v2_probed_one_is_inference():
    for seed in [(0, 1), (5, 9)]:
        mags, mask, v1 = _mask(200, seed, "v1", probed=1.0, random=0.2, same=0.2)
        _, _, v2 = _mask(200, seed, "v2", probed=1.0, random=0.2, same=0.2)
        # both: every real observation probed; 40 same + ceil(160 * 0.2) = 32 random
        np.testing.assert_array_equal(v1["loss_mask"], mask)
        np.testing.assert_array_equal(v2["loss_mask"], mask)
        # v1 hides the other 128; v2 hides none
        assert v1["visible"].sum() == 72 and v2["visible"].sum() == 200
        # the "random" replacements are made in both (values at visible probed positions)
        np.testing.assert_array_equal(v1["input"], v2["input"])
        changed = v1["input"] != mags
        assert 0 < changed.sum() <= 32 and np.all(v1["visible"][changed] == 1)


def test_v1_equals_v2_strictly_between_zero_and_one():
    for n, seed in [(200, (3, 4)), (147, (8, 1)), (10, (2, 2))]:
        _, _, v1 = _mask(n, seed, "v1", probed=0.5, random=0.2, same=0.2)
        _, _, v2 = _mask(n, seed, "v2", probed=0.5, random=0.2, same=0.2)
        for k in v1:
            np.testing.assert_array_equal(v1[k], v2[k])
    with pytest.raises(ValueError, match="variant"):
        mask_window(*_window(10), tf.constant([1, 1]), variant="v3")


def test_in_memory_pipeline_takes_the_masking_variant(eros):
    arrays = [c[2] for c in eros[:5]]
    x, y = epoch(pretraining_dataset(arrays, probed=0.0, masking="v1", seed=0, shuffle=False))
    np.testing.assert_array_equal(y[..., LOSS_MASK], x["mask"])
    with pytest.raises(ValueError, match="masking"):
        pretraining_dataset(arrays, masking="v3")


# ----------------------------------------------------------------------------- inference


def test_inference_windows_cover_every_observation_once(tmp_path, macho, eros):
    curves = macho[:5] + eros[:6]
    files = write_shards(tmp_path, curves, n_shards=3)
    ordered = file_order(curves, 3)
    arrays = [c[2] for c in ordered]
    ds = inference_records(files, batch_size=16)
    x, info = epoch(ds)
    assert set(info) == {"object_id", "band", "label", "window_index", "start", "length", "owned_from"}
    win = window_curves(arrays, W)
    obj, start, length, owned = window_bounds([len(a) for a in arrays], W)
    np.testing.assert_array_equal(x["magnitudes"], win.magnitudes)
    np.testing.assert_array_equal(x["mask"], win.mask)
    np.testing.assert_array_equal(info["start"], start)
    np.testing.assert_array_equal(info["length"], length)
    np.testing.assert_array_equal(info["owned_from"], owned)
    ids = [o.decode() for o in info["object_id"]]
    assert ids == [ordered[o][0] for o in obj]
    np.testing.assert_array_equal(info["window_index"], np.concatenate(
        [np.arange(k) for k in np.bincount(obj)]))
    # regroup: observation indices come back as 0..n-1, exactly once, per object and band
    index = info["start"][:, None] + np.arange(W)[None, :]
    grouped = regroup_windows(index, info)
    assert list(grouped) == [(c[0], c[1]) for c in ordered]
    for (oid, band, arr) in ordered:
        np.testing.assert_array_equal(grouped[(oid, band)], np.arange(len(arr)))
    # per-window values regroup like astromer.data.gather_observations
    ref = gather_observations(win.magnitudes, win, len(arrays))
    mine = regroup_windows(x["magnitudes"], info)
    for (oid, band, _), rows in zip(ordered, ref):
        np.testing.assert_array_equal(mine[(oid, band)], rows)


def test_inference_output_feeds_the_model(tmp_path, eros):
    import astromer

    files = write_shards(tmp_path, eros[:5], n_shards=1)
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16)
    ds = inference_records(files, batch_size=2)
    infos = [info for _, info in ds.as_numpy_iterator()]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data")  # unknown cardinality
        rec = model.predict(ds.map(lambda x, info: x), verbose=0)
    info = {k: np.concatenate([i[k] for i in infos]) for k in infos[0]}
    per_object = regroup_windows(rec, info)
    assert [len(v) for v in per_object.values()] == [len(c[2]) for c in eros[:5]]


# ----------------------------------------------------------------------------- classification


def test_classification_labels(tmp_path, eros):
    curves = eros[:10]
    labels = [i % 3 for i in range(10)]
    labels[4] = -1  # unlabelled
    files = write_shards(tmp_path, curves, n_shards=2, labels=labels)
    ordered_labels = [labels[i] for k in range(2) for i in range(10)[k::2]]
    x, y = epoch(classification_records(files, split=None, batch_size=4, cycle_length=1))
    assert y.dtype == np.int64 and list(y) == [l for l in ordered_labels if l >= 0]
    assert np.all(x["mask"] == (np.arange(W) < x["mask"].sum(1)[:, None]))
    _, y1 = epoch(classification_records(files, split=None, num_classes=3, cycle_length=1))
    assert y1.shape == (9, 3) and y1.dtype == np.float32
    np.testing.assert_array_equal(y1.argmax(1), y)
    _, y2 = epoch(classification_records(files, split=None, drop_unlabelled=False, cycle_length=1))
    assert list(y2) == ordered_labels
    elements = list(classification_records(files, split=None, keep_ids=True, cycle_length=1,
                                           batch_size=100).as_numpy_iterator())
    (x3, y3, info), = elements
    assert [o.decode() for o in info["object_id"]] == [
        curves[i][0] for k in range(2) for i in range(10)[k::2] if labels[i] >= 0]
    np.testing.assert_array_equal(info["label"], y3)
    ds = classification_records(files, split=None, sampling=True, shuffle=True, seed=3)
    assert sorted(epoch(ds)[1]) == sorted(l for l in labels if l >= 0)


# ----------------------------------------------------------------------------- shuffling


def test_file_level_and_record_level_shuffle_determinism(tmp_path, eros):
    n_shards, per = 6, 4
    curves = eros[: n_shards * per]
    files = write_shards(tmp_path, curves, n_shards=n_shards)
    shard_of = {c[0] + c[1]: i % n_shards for i, c in enumerate(curves)}

    def order(ds):
        return [o.decode() + b.decode()
                for _, _, info in ds.as_numpy_iterator()
                for o, b in zip(info["object_id"], info["band"])]

    def make(seed, **kw):
        return classification_records(files, split=None, keep_ids=True, drop_unlabelled=False,
                                      shuffle=True, seed=seed, batch_size=7, **kw)

    # file level only: one shard at a time, no record buffer -> contiguous shard blocks
    files_only = dict(cycle_length=1, shuffle_buffer=1)
    a, b = make(11, **files_only), make(11, **files_only)
    epochs_a = [order(a) for _ in range(4)]
    epochs_b = [order(b) for _ in range(4)]
    assert epochs_a == epochs_b  # same seed, same sequence of epochs
    shard_orders = []
    for e in epochs_a:
        shards = [shard_of[k] for k in e]
        blocks = [shards[i] for i in range(0, len(shards), per)]
        assert shards == [s for s in blocks for _ in range(per)]  # whole shards in turn
        assert sorted(blocks) == list(range(n_shards))
        shard_orders.append(tuple(blocks))
    assert len(set(shard_orders)) > 1  # reshuffled between epochs
    unshuffled = classification_records(files, split=None, keep_ids=True, drop_unlabelled=False,
                                        cycle_length=1)
    assert [shard_of[k] for k in order(unshuffled)] == [s for s in range(n_shards) for _ in range(per)]

    # both levels (interleave 3 shards + an 8-record buffer)
    c, d = make(5, cycle_length=3, shuffle_buffer=8), make(5, cycle_length=3, shuffle_buffer=8)
    ec = [order(c) for _ in range(3)]
    assert ec == [order(d) for _ in range(3)]
    assert len({tuple(e) for e in ec}) == 3 and all(sorted(e) == sorted(shard_of) for e in ec)
    assert ec[0] != order(make(6, cycle_length=3, shuffle_buffer=8))


def test_folder_split_and_bad_arguments(tmp_path, eros):
    write_shards(tmp_path / "train", eros[:6], n_shards=2)
    write_shards(tmp_path / "test", eros[6:9], n_shards=1)
    assert light_curve_counts(tmp_path, split="train")["curves"] == 6
    assert light_curve_counts(tmp_path, split="test")["curves"] == 3
    assert light_curve_counts(tmp_path)["curves"] == 9
    x, _ = epoch(pretraining_records(tmp_path, seed=0))  # split="train" by default
    assert len(x["mask"]) == 6
    with pytest.raises(FileNotFoundError, match="no light-curve record files"):
        pretraining_records(tmp_path / "nothing")
    with pytest.raises(ValueError, match="masking"):
        pretraining_records(tmp_path, masking="v3")
    with pytest.raises(ValueError, match="same"):
        pretraining_records(tmp_path, same=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        inference_records(tmp_path, batch_size=0)


# ----------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def galaxies():
    folder = require_shared("data", "gz1_sdss", "images")
    labels = pd.read_csv(require_shared("data", "gz1_sdss", "labels.csv"), dtype={"OBJID": str})
    rows = labels[labels["OBJID"].map(lambda o: (folder / f"{o}.jpeg").exists())].head(3)
    return [(o, int(c), (folder / f"{o}.jpeg").read_bytes()) for o, c in zip(rows.OBJID, rows.CLASS)]


def test_image_decode_crop_resize(tmp_path, galaxies):
    decoded = [tf.io.decode_jpeg(b, channels=3).numpy() for _, _, b in galaxies]
    assert decoded[0].shape == (423, 423, 3)
    png = tf.io.encode_png(decoded[2]).numpy()  # a PNG too: lossless, so same pixels
    path = str(tmp_path / "images.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for (oid, label, data), fmt in zip(galaxies, ["jpeg", "jpeg", "png"]):
            payload = data if fmt == "jpeg" else png
            w.write(image_example(payload, fmt, 423, 423, 3, oid, label=label))

    images, labels = next(iter(image_records(path, image_size=None, crop=101, batch_size=8)))
    assert images.shape == (3, 101, 101, 3) and images.dtype == tf.float32
    np.testing.assert_array_equal(labels.numpy(), [g[1] for g in galaxies])
    for img, ref in zip(images.numpy(), decoded):  # centre crop of the decoded pixels
        np.testing.assert_allclose(img, ref[161:262, 161:262] / 255.0, atol=1e-6)

    ds = image_records(path, image_size=64, crop=0.5, batch_size=2, num_classes=6, keep_ids=True)
    (im1, y1, info1), (im2, y2, info2) = list(ds.as_numpy_iterator())
    images = np.concatenate([im1, im2])
    assert images.shape == (3, 64, 64, 3) and 0.0 <= images.min() and images.max() <= 1.0
    assert y1.shape == (2, 6) and [o.decode() for o in info1["object_id"]] == [galaxies[0][0], galaxies[1][0]]
    side = int(np.round(423 * 0.5))  # 212 (211.5 rounds half to even)
    off = (423 - side) // 2
    ref = tf.image.resize(decoded[0][off : off + side, off : off + side] / 255.0, (64, 64),
                          antialias=True).numpy()
    np.testing.assert_allclose(images[0], ref, atol=1e-5)
    assert images[0].std() > 0.01  # the galaxy is in the centre crop
    alone = next(iter(image_records(path, image_size=32, batch_size=8, labels=False)))
    assert tuple(alone.shape) == (3, 32, 32, 3)          # images only: what AstroPT.fit pretrains on
    model = astromer.AstroPT(num_layers=1, num_heads=2, embed_dim=16, block_size=16, patch_size=8, num_channels=3)
    model.compile(jit_compile=False)
    history = model.fit(image_records(path, image_size=32, batch_size=2, labels=False), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="crop"):
        image_records(path, crop=1.5)
    with pytest.raises(FileNotFoundError, match="image record"):
        image_records(tmp_path / "none")


# ----------------------------------------------------------------------------- fit


def test_fit_tiny_astromer_one_epoch_on_records(tmp_path, eros):
    import astromer
    import keras

    keras.utils.set_random_seed(0)
    files = write_shards(tmp_path, eros[:24], n_shards=3)
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16)
    model.compile()
    seen = []
    count = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    ds = pretraining_records(files, batch_size=8, seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data")  # unknown cardinality
        history = model.fit(ds, epochs=1, verbose=0, callbacks=[count], shuffle=False)
    assert np.isfinite(history.history["loss"]).all()
    assert seen == [0, 1, 2]  # 24 curves, batches of 8


def test_length_buckets_on_records_cut_to_fixed_quarters_and_train_v1(tmp_path, eros):
    """Streamed records: lengths unknown ahead, so the cuts are W/4, W/2, 3W/4, W (multiples of 8);
    every real step of every window is kept; Astromer 1 trains on the cut batches (key_bias)."""
    import astromer
    import keras

    varied = [(o, b, a[:(12, 40, 90, 125)[i % 4]]) for i, (o, b, a) in enumerate(eros[:24])]
    files = write_shards(tmp_path, varied, n_shards=3)
    opts = dict(batch_size=8, window_size=200, sampling=False, shuffle=False, seed=0, masking="v1")
    full = list(pretraining_records(files, **opts).as_numpy_iterator())
    cut = list(pretraining_records(files, length_buckets="attended", **opts).as_numpy_iterator())
    real = lambda batches: sorted((y[..., WEIGHT] > 0).sum(1).tolist() for _, y in batches)  # noqa: E731
    assert sum(real(full), []) and sorted(sum(real(full), [])) == sorted(sum(real(cut), []))
    assert {x["mask"].shape[1] for x, _ in cut} <= {56, 104, 152, 200} and len({x["mask"].shape[1] for x, _ in cut}) > 1
    for x, y in cut:
        n = (y[..., WEIGHT] > 0).sum(1)
        assert (n < x["mask"].shape[1]).all() or x["mask"].shape[1] == 200  # a kept padded step below W
    keras.utils.set_random_seed(0)
    model = astromer.Astromer.from_architecture("astromer_v1", num_layers=1)
    model.compile()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data")  # unknown cardinality
        history = model.fit(pretraining_records(files, length_buckets="attended", **opts), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(ValueError, match="length_buckets must be None, 'ignored' or 'attended', got 'v1'"):
        pretraining_records(files, length_buckets="v1")


# ----------------------------------------------------------------------------- records writer


def test_reads_a_dataset_folder_from_the_records_writer(tmp_path, eros):
    from astromer.records.sources import long_table_source
    from astromer.records.writer import write_dataset

    curves = eros[:16]
    frame = pd.DataFrame(
        [(oid, band, *row) for oid, band, arr in curves for row in arr],
        columns=["object_id", "band", "time", "mag", "mag_err"],
    )
    ids = sorted(frame["object_id"].unique())
    labels = pd.DataFrame({"object_id": ids, "label": ["a", "b"] * (len(ids) // 2) + ["a"] * (len(ids) % 2)})
    meta = write_dataset(long_table_source(frame, labels=labels), tmp_path / "ds",
                         splits="train=0.5,test=0.5", shard_size=2, progress=False)
    n_train = meta["splits"]["train"]["records"]
    assert light_curve_counts(tmp_path / "ds", split="train", min_observations=1)["curves"] == n_train
    x, y = epoch(pretraining_records(tmp_path / "ds", batch_size=4, seed=0, min_observations=1))
    assert len(y) == n_train  # split="train" by default, one random window per curve
    _, info = epoch(inference_records(tmp_path / "ds", split="test"))
    assert set(o.decode() for o in info["object_id"]) <= set(ids)
    _, lab = epoch(classification_records(tmp_path / "ds", split="test", num_classes=2))
    assert lab.shape[1] == 2
    with pytest.raises(KeyError, match="split"):
        pretraining_records(tmp_path / "ds", split="nope")
