"""predict_in_batches: the same numbers as Model.predict, batch by batch."""

import logging

import keras
import numpy as np
import pytest

import astromer
from astromer.models.batched_inference import expected_retracing, predict_in_batches


def _windows(n, steps=12, seed=0):
    rng = np.random.default_rng(seed)
    return {"times": np.sort(rng.uniform(0, 50, (n, steps)), 1).astype("float32"),
            "magnitudes": rng.normal(size=(n, steps)).astype("float32"),
            "mask": (rng.uniform(size=(n, steps)) > 0.2).astype("float32")}


def test_dict_inputs_with_a_partial_last_batch_match_predict():
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=8, window_size=12)
    encoder = model.encoder_model()
    x = _windows(11)
    got = predict_in_batches(encoder, x, batch_size=4, verbose=0)  # 4 + 4 + 3
    assert got.shape == (11, 12, 8)
    np.testing.assert_allclose(got, encoder.predict(x, batch_size=4, verbose=0), rtol=1e-5, atol=1e-5)


def test_array_inputs_and_a_progress_bar(capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.arange(15, dtype="float32").reshape(5, 3)
    got = predict_in_batches(model, x, batch_size=2, verbose=1)
    # batches of 2, 2, 1 vs one batch of 5: equal up to float32 summation order
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert "3/3" in capsys.readouterr().out  # one bar step per batch


def test_bad_inputs_are_named():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="batch_size"):
        predict_in_batches(model, np.zeros((2, 3), "float32"), batch_size=0)
    with pytest.raises(ValueError, match="same number of rows"):
        predict_in_batches(model, {"a": np.zeros((2, 3)), "b": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="0 rows"):
        predict_in_batches(model, np.zeros((0, 3), "float32"), verbose=0)


def test_require_finite_names_the_owners_of_ragged_outputs():
    from astromer.models.batched_inference import NonFiniteOutputError, require_finite

    rows = [np.zeros((3, 2)), np.array([[0.0, np.inf]]), np.zeros((0, 2)), np.array([[np.nan, 1.0], [0, 0]])]
    with pytest.raises(NonFiniteOutputError, match=r"the embedding of 2 input\(s\) contains NaN or inf: b, d \("):
        require_finite(rows, ["a", "b", "c", "d"], "embedding")
    require_finite(rows[:1] + rows[2:3], ["a", "c"], "embedding")  # finite (and empty) rows pass


def test_length_buckets_are_the_least_compute_of_any_choice():
    """The dynamic programme against every choice of at most K cut lengths (multiples of 8 or W)."""
    import itertools

    from astromer.data.windows import length_buckets

    rng = np.random.default_rng(3)
    for _ in range(40):
        width, k = int(rng.choice([40, 64, 200])), int(rng.integers(1, 5))
        lengths, row_cost = rng.integers(0, width + 1, int(rng.integers(1, 30))), float(rng.uniform(0, 900))
        edges, index = length_buckets(lengths, width, row_cost, max_buckets=k)
        cut = np.asarray(edges)[index]
        assert len(edges) <= k and (cut >= lengths).all() and all(e % 8 == 0 or e == width for e in edges)
        candidates = sorted({min(width, c) for c in range(8, width + 8, 8)})
        best = min(((e := np.asarray(c))[np.searchsorted(e, lengths)] * (row_cost + e[np.searchsorted(
            e, lengths)])).sum() for n in range(1, k + 1) for c in itertools.combinations(candidates, n)
            if c[-1] >= lengths.max())
        assert (cut * (row_cost + cut)).sum() == pytest.approx(best, rel=1e-9)
    # EROS-1-like windows (~120 of 200 steps, some full) get cuts just above them, not at 3W/4
    edges, _ = length_buckets(np.r_[np.full(90, 118), np.full(60, 124), np.full(50, 200)], 200, 640)
    assert edges == [120, 128, 200]
    with pytest.raises(ValueError, match=r"window lengths must lie in \[0, 40\], got 3..41"):
        length_buckets([3, 41], 40, 100)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_bucketed_embedding_drops_only_the_retracing_warning():
    """Encoding by length buckets traces Keras's predict step once per bucket shape, and
    TensorFlow warns about that ("... triggered tf.function retracing") on every large embed;
    inside ``expected_retracing`` that warning (and only it) is dropped, and only there."""
    tf_logger, records = logging.getLogger("tensorflow"), _Records()
    tf_logger.addHandler(records)
    try:
        with expected_retracing():
            tf_logger.warning("5 out of the last 5 calls to <function f> triggered tf.function retracing. Tracing is expensive")
            tf_logger.warning("another TensorFlow warning")
        tf_logger.warning("5 out of the last 6 calls to <function g> triggered tf.function retracing. Tracing is expensive")
        assert records.messages == ["another TensorFlow warning",
                                    "5 out of the last 6 calls to <function g> triggered tf.function retracing. "
                                    "Tracing is expensive"]
        records.messages.clear()
        rng = np.random.default_rng(0)
        curves = [np.column_stack([np.sort(rng.uniform(0, 500, n)), rng.normal(17, 0.3, n), np.full(n, 0.05)])
                  for n in rng.integers(3, 64, 120)]
        model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=8, window_size=64)
        result = model.embed(curves, verbose=0, batch_size=8, bucketing=True)
        cache = model.__dict__["_encoder_by_length_weighted" if not model.padding_is_ignored else "_encoder_by_length"]
        assert len(cache) >= 2  # several bucket shapes were traced
        assert len(result.ids) == 120
        assert not [m for m in records.messages if "retracing" in m]
    finally:
        tf_logger.removeHandler(records)
