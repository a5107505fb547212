"""Cleaning, windowing, zero-mean numerics and error weights (numpy side)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from astromer.data import (
    error_weights,
    gather_observations,
    inference_windows,
    prepare_light_curves,
    window_bounds,
    window_curves,
)

V2_CURVES = ("raw_curve_58_6272_729", "raw_curve_111_23746_772")


@pytest.fixture(scope="module")
def v1(shared_dir):
    return np.load(shared_dir / "reference" / "astromer_v1" / "reference.npz")


@pytest.fixture(scope="module")
def v2(shared_dir):
    return np.load(shared_dir / "reference" / "astromer_v2_leak" / "reference.npz")


def v2_record_filter(raw):
    """What the original did before writing records: finite, 0 < err < 1, stable sort by time."""
    keep = np.isfinite(raw).all(axis=1) & (raw[:, 2] > 0) & (raw[:, 2] < 1)
    return raw[keep]


def curve(n, seed=0, t0=49000.0):
    rng = np.random.default_rng(seed)
    t = t0 + np.sort(rng.uniform(0, 2800, n))
    return np.stack([t, 18.3 + rng.normal(0, 0.3, n), 0.05 + rng.uniform(0, 0.02, n)], axis=1)


# ---------------------------------------------------------------- reference parity


def test_v1_windows_bit_exact(v1):
    raws = [v1["raw_lc150"], v1["raw_lc200"], v1["raw_lc437"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean, sorted input: no warning
        _, win = inference_windows(raws, window_size=200, time_precision="float32")
    ref = [0, 1, 3, 4, 5]  # the original repeats lc200's window (index 2)
    assert list(v1["window_ids"]) == ["lc150", "lc200", "lc200", "lc437", "lc437", "lc437"]
    assert len(win) == 5
    np.testing.assert_array_equal(win.object_index, [0, 1, 2, 2, 2])
    np.testing.assert_array_equal(win.length, v1["window_length"][ref])
    np.testing.assert_array_equal(win.times, v1["times"][ref, :, 0])
    np.testing.assert_array_equal(win.magnitudes, v1["input"][ref, :, 0])
    np.testing.assert_array_equal(win.mask, 1.0 - v1["mask_in"][ref, :, 0])


def test_v2_filter_sort_and_windows_bit_exact(v2):
    curves = [v2_record_filter(v2[k]) for k in V2_CURVES]
    assert [len(c) for c in curves] == [147, 296]
    prepared, win = inference_windows(curves, window_size=200, time_precision="float32")
    assert prepared.n_dropped.sum() == 0 and not prepared.was_unsorted.any()
    np.testing.assert_array_equal(win.start, [0, 0, 96])
    np.testing.assert_array_equal(win.length, [147, 200, 200])
    for case in ("inference", "masked"):
        np.testing.assert_array_equal(win.times, v2[f"loader_{case}_times"][..., 0])
        np.testing.assert_array_equal(win.magnitudes, v2[f"loader_{case}_target"][..., 0])
    np.testing.assert_array_equal(win.magnitudes, v2["loader_inference_input"][..., 0])
    np.testing.assert_array_equal(win.mask, 1.0 - v2["loader_inference_mask_in"][..., 0])
    np.testing.assert_array_equal(win.mask, v2["loader_inference_mask_out"][..., 0])


def test_float64_mean_would_not_match(v2):
    """Guards the numerics: a float64 mean is off by ~0.04 d, float32 sequential is exact."""
    c = v2_record_filter(v2[V2_CURVES[1]])[:200].astype(np.float32)
    t64 = (c[:, 0] - c[:, 0].astype(np.float64).mean()).astype(np.float32)
    assert np.abs(t64 - v2["loader_inference_times"][1, :, 0]).max() > 1e-3


def test_error_weights_vs_v2_reference(v2):
    curves = [v2_record_filter(v2[k]) for k in V2_CURVES]
    _, win = inference_windows(curves, window_size=200, time_precision="float32")
    ref = v2["loader_inference_w_error"][..., 0]
    real = win.mask > 0
    ours = error_weights(win.errors, win.mask)
    assert np.abs(ours - ref)[real].max() <= 2.5e-7
    assert np.all(ours[~real] == 0)  # the original gives padding a non-zero weight
    assert np.all(ref[~real] > 0.1)
    # The original rebuilt errors as (err - mean) + mean in float32; with that, exact.
    rebuilt = np.where(real, (win.errors - win.err_mean[:, None]) + win.err_mean[:, None], 0)
    np.testing.assert_array_equal(error_weights(rebuilt, win.mask)[real], ref[real])


def test_error_weights_edge_cases():
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 0, 0]], np.float32)
    errors = np.array(
        [[0.1, 0.2, 0.4, 0.0], [0.0, 0.1, 0.1, 0.2], [0, 0, 0, 0], [0.3, 0.3, 0, 0]], np.float32
    )
    w = error_weights(errors, mask)
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w[0, :3], [1.001, (5 - 2.5) / 7.5 + 1e-3, 0.001], rtol=1e-6)
    assert w[1, 0] == np.float32(1e-3)  # err == 0 -> 1/err treated as 0, like divide_no_nan
    np.testing.assert_array_equal(w[2], 0)
    np.testing.assert_array_equal(w[3], np.float32([1e-3, 1e-3, 0, 0]))  # constant errors
    np.testing.assert_array_equal(w[mask == 0], 0)
    with pytest.raises(ValueError, match="shape"):
        error_weights(errors[:, :3], mask)


# ---------------------------------------------------------------- windowing


@pytest.mark.parametrize(
    "n, starts, owned",
    [(150, [0], [0]), (200, [0], [0]), (400, [0, 200], [0, 0]), (437, [0, 200, 237], [0, 0, 163])],
)
def test_window_bounds(n, starts, owned):
    obj, start, length, owned_from = window_bounds([n], 200)
    np.testing.assert_array_equal(start, starts)
    np.testing.assert_array_equal(owned_from, owned)
    np.testing.assert_array_equal(length, [min(n, 200)] * len(starts))
    np.testing.assert_array_equal(obj, 0)


def test_gather_observations_one_row_per_observation():
    lengths = [150, 200, 437, 1, 401]
    curves = [curve(n, seed=n) for n in lengths]
    win = window_curves(curves, window_size=200)
    assert len(win) == 1 + 1 + 3 + 1 + 3
    # per-window value = absolute observation index inside its curve
    index = win.start[:, None] + np.arange(200)[None, :]
    back = gather_observations(index, win, n_objects=len(curves))
    for n, got in zip(lengths, back):
        np.testing.assert_array_equal(got, np.arange(n))
    # trailing dims are carried along; magnitudes map back to the true values
    stacked = np.stack([win.magnitudes + win.mag_mean[:, None]] * 2, axis=-1)
    back = gather_observations(stacked, win, n_objects=len(curves))
    for c, got in zip(curves, back):
        assert got.shape == (len(c), 2)
        np.testing.assert_allclose(got[:, 0], c[:, 1], atol=1e-5)
    with pytest.raises(ValueError, match="expected"):
        gather_observations(index[:, :100], win, len(curves))


def test_window_curves_zero_mean_padding_and_raw_errors():
    curves = [curve(150, 1), curve(437, 2)]
    win = window_curves(curves, window_size=200)
    real = win.mask > 0
    for arr in (win.times, win.magnitudes, win.errors, win.mask):
        assert arr.dtype == np.float32 and arr.shape == (4, 200)
        assert np.all(arr[~real] == 0)
    np.testing.assert_allclose((win.times * win.mask).sum(1) / win.length, 0, atol=2e-4)  # centred in float64
    np.testing.assert_allclose((win.magnitudes * win.mask).sum(1) / win.length, 0, atol=1e-5)
    # errors stay raw (not zero-meaned); the last window of curve 1 starts at 237
    np.testing.assert_array_equal(win.errors[3], curves[1][237:, 2].astype(np.float32))
    assert win.errors[real].min() > 0.04
    np.testing.assert_allclose(win.err_mean[0], curves[0][:, 2].mean(), rtol=1e-5)
    assert win.time_mean.dtype == np.float64 and win.mag_mean.shape == (4,)
    np.testing.assert_allclose(win.time_mean[0], curves[0][:, 0].mean(), rtol=1e-15)


# ---------------------------------------------------------------- cleaning


def test_nonfinite_rows_counted_and_warned():
    a = curve(10)
    a[[2, 5], 1] = np.nan
    a[7, 2] = np.inf
    with pytest.warns(UserWarning) as record:
        p = prepare_light_curves([curve(5), a], ids=["x", "y"])
    assert [str(w.message) for w in record] == [
        "prepare_light_curves: 2 curves; 1 rows dropped: nonfinite_err (e.g. y); 2 rows dropped: nonfinite_mag (e.g. y)"]
    np.testing.assert_array_equal(p.n_dropped, [0, 3])
    assert p.n_dropped.dtype == np.int64
    assert len(p.curves[1]) == 7 and np.isfinite(p.curves[1]).all()
    assert p.ids == ["x", "y"] and p.has_errors and p.dropped == []


def test_bad_curve_dropped_and_counted_not_fatal():
    bad = np.full((4, 3), np.nan)
    with pytest.warns(UserWarning, match=r"1 of 2 curves kept; 1 curves dropped: too_few_observations \(e.g. star-7\)"):
        p = prepare_light_curves([curve(5), bad], ids=["ok", "star-7"])
    assert p.ids == ["ok"] and p.dropped == ["star-7"] and p.kept.tolist() == [0]
    assert p.report.rows["nonfinite_time"] == 4 and p.report.curves["too_few_observations"] == 1
    with pytest.warns(UserWarning, match="too_few_observations"):
        p = prepare_light_curves([curve(5), curve(4)], ids=["a", "b"], min_observations=5)
    assert p.ids == ["a"] and p.dropped == ["b"]
    with pytest.raises(ValueError, match=r"no usable light curves: all 2 were dropped \(2 curves dropped"):
        prepare_light_curves([bad, bad], ids=["p", "q"])


def test_unsorted_sorted_stably_and_duplicates():
    a = np.array([[3.0, 1.0, 0.1], [1.0, 2.0, 0.1], [2.0, 3.0, 0.1], [1.0, 4.0, 0.1], [2.0, 3.0, 0.1]])
    with pytest.warns(UserWarning, match="1 curves re-sorted by time: resorted"):
        p = prepare_light_curves([a])
    np.testing.assert_array_equal(p.curves[0][:, 0], [1, 1, 2, 3])  # the exact duplicate (2, 3, 0.1) dropped
    np.testing.assert_array_equal(p.curves[0][:, 1], [2, 4, 3, 1])  # stable; equal times, other values kept
    assert p.was_unsorted.tolist() == [True] and p.report.rows["duplicate_row"] == 1


def test_bad_inputs_rejected():
    single = prepare_light_curves(curve(5))                     # one (n, 3) array is one curve, id 0
    assert single.ids == [0] and np.array_equal(single.curves[0], prepare_light_curves([curve(5)]).curves[0])
    with pytest.raises(ValueError, match=r"index 0 \(id 0\) has shape \(3, 7\); expected \(n, 2\)"):
        prepare_light_curves(np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"index 1 \(id 1\) has shape \(5, 4\)"):
        prepare_light_curves([curve(5), np.zeros((5, 4))])
    with pytest.raises(ValueError, match="index 1.*2 columns"):
        prepare_light_curves([curve(5), curve(5)[:, :2]])
    with pytest.raises(ValueError, match="ids has 1 entries"):
        prepare_light_curves([curve(5), curve(5)], ids=["a"])
    with pytest.raises(ValueError, match="no light curves"):
        prepare_light_curves([])


def test_two_column_curves_get_zero_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = prepare_light_curves([curve(6)[:, :2], curve(3)[:, :2].tolist()])
    assert not p.has_errors
    assert p.curves[0].shape == (6, 3) and p.curves[0].dtype == np.float64
    np.testing.assert_array_equal(p.curves[1][:, 2], 0)
    assert "no magnitude errors" in p.summary()


def test_dataframe_missing_columns_listed():
    df = pd.DataFrame({"oid": [1], "time": [0.0], "magnitude": [1.0]})
    with pytest.raises(ValueError, match=r"\['object_id', 'mag'\].*\['oid', 'time', 'magnitude'\]"):
        prepare_light_curves(df)


def test_dataframe_long_layout_with_bands():
    df = pd.DataFrame(
        {
            "object_id": ["b", "a", "b", "a", "b", "b"],
            "band": ["r", "g", "g", "g", "r", "g"],
            "time": [2.0, 1.0, 5.0, 3.0, 1.0, 4.0],
            "mag": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan],
            "mag_err": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )
    with pytest.warns(UserWarning, match="1 rows dropped: nonfinite_mag"):
        p = prepare_light_curves(df)
    assert p.ids == [("b", "r"), ("a", "g"), ("b", "g")]  # first appearance
    # times stay float64; magnitudes and errors are float32 values (as in records and windows)
    np.testing.assert_array_equal(p.curves[0], [[1.0, 5.0, 0.5], [2.0, 1.0, np.float32(0.1)]])
    np.testing.assert_array_equal(p.curves[1][:, 1], [2.0, 4.0])
    np.testing.assert_array_equal(p.curves[2], [[5.0, 3.0, np.float32(0.3)]])
    np.testing.assert_array_equal(p.n_dropped, [0, 0, 1])
    np.testing.assert_array_equal(p.was_unsorted, [True, False, False])
    with pytest.warns(UserWarning, match="re-sorted"):
        p2 = prepare_light_curves(df.drop(columns=["band", "mag_err"]).dropna())
    assert p2.ids == ["b", "a"] and not p2.has_errors
    assert [len(c) for c in p2.curves] == [3, 2]
