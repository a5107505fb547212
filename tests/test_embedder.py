"""astromer.AstromerEmbedder: a scikit-learn transformer (clone, Pipeline, get_params)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import astromer


def star(n, seed, period):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 300, n))
    return np.stack([t, 15 + 0.5 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.02, n), np.full(n, 0.02)], 1)


@pytest.fixture(scope="module")
def preset_dir(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=32, dropout=0.0)
    model.embed([star(10, 0, 1.0)], verbose=0)
    folder = tmp_path_factory.mktemp("emb") / "tiny"
    astromer.save_preset(model, folder)
    return str(folder)


def test_clone_get_params_and_not_fitted(preset_dir):
    emb = astromer.AstromerEmbedder(preset_dir, batch_size=16)
    copy = clone(emb)
    assert copy.get_params() == emb.get_params() and copy is not emb
    assert copy.get_params()["preset"] == preset_dir and copy.get_params()["batch_size"] == 16
    with pytest.raises(NotFittedError):
        emb.transform([star(20, 1, 2.0)])


def test_pipeline_with_an_estimator_and_same_vectors_as_embed(preset_dir):
    curves = [star(40, k, 0.5 if k % 2 else 7.0) for k in range(12)]
    y = np.array([k % 2 for k in range(12)])
    probe = make_pipeline(astromer.AstromerEmbedder(preset_dir), LogisticRegression(max_iter=500))
    probe.fit(curves, y)
    assert probe.predict(curves).shape == (12,)
    emb = probe[0]
    X = emb.transform(curves)
    assert X.shape == (12, emb.model_.width) and np.isfinite(X).all()
    np.testing.assert_array_equal(X, emb.model_.embed(curves, verbose=0).pooled)
    assert list(emb.get_feature_names_out()[:2]) == ["emb_0", "emb_1"]


def test_dataframe_bands_concatenated_per_object(preset_dir):
    rows = [(f"o{k}", band, t, m, e) for k in range(3) for band in ("g", "r")
            for t, m, e in star(25, 10 * k + (band == "r"), 3.0)]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    emb = astromer.AstromerEmbedder(preset_dir).fit(table)
    X = emb.transform(table)
    d = emb.model_.width
    assert emb.bands_ == ["g", "r"] and X.shape == (3, 2 * d) and emb.n_features_out_ == 2 * d
    per_curve = astromer.AstromerEmbedder(preset_dir, pooling="curve").fit(table).transform(table)
    np.testing.assert_array_equal(X[0, :d], per_curve[0])   # o0 g
    np.testing.assert_array_equal(X[0, d:], per_curve[1])   # o0 r
    assert emb.get_feature_names_out()[d] == "r_emb_0"


def test_a_sample_that_cleaning_drops_is_an_error(preset_dir):
    emb = astromer.AstromerEmbedder(preset_dir).fit(None)
    with pytest.raises(ValueError, match=r"1 sample\(s\) have no usable observation after cleaning \(e.g. \[1\]\)"), \
            pytest.warns(UserWarning):
        emb.transform([star(20, 0, 1.0), np.full((5, 3), np.nan)])


def test_mean_and_std_statistics_per_band(preset_dir):
    rows = [(f"o{k}", band, t, m, e) for k in range(3) for band in ("g", "r")
            for t, m, e in star(25, 10 * k + (band == "r"), 3.0)]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    emb = astromer.AstromerEmbedder(preset_dir, statistics=("mean", "std")).fit(table)
    X = emb.transform(table)
    d = emb.model_.width
    assert X.shape == (3, 4 * d) and emb.n_features_out_ == 4 * d
    result = emb.model_.embed(table, verbose=0)
    g0 = result.observations[0]  # o0, band g
    np.testing.assert_allclose(X[0, :d], g0.mean(0), rtol=1e-6)
    np.testing.assert_allclose(X[0, d:2 * d], g0.std(0), rtol=1e-5, atol=1e-7)
    names = emb.get_feature_names_out()
    assert names[0] == "g_emb_mean_0" and names[d] == "g_emb_std_0" and names[2 * d] == "r_emb_mean_0"
    with pytest.raises(ValueError, match=r"unknown statistics \['median'\]"):
        astromer.AstromerEmbedder(preset_dir, statistics=("median",)).fit(table).transform(table)


def test_every_block_is_the_probes_representation(tmp_path):
    """layers="blocks" with mean and std per band: the table the probe of `astromer evaluate` fits on
    (FewShotEvaluation.embedding_table), column for column."""
    import keras

    from astromer.evaluation import FewShotEvaluation
    from astromer.evaluation.labelled import LabelledSet

    keras.utils.set_random_seed(1)
    model = astromer.Astromer(num_layers=2, num_heads=2, head_dim=8, ffn_dim=16, window_size=32, dropout=0.0)
    rows = [(f"o{k}", band, t, m, e) for k in range(4) for band in ("g", "r")
            for t, m, e in star(20, 10 * k + (band == "r"), 2.0 + k)]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    emb = astromer.AstromerEmbedder(model, statistics=("mean", "std"), layers="blocks").fit(table)
    X = emb.transform(table)
    d = model.width
    assert X.shape == (4, 2 * 2 * 2 * d) == (4, emb.n_features_out_)  # bands x (mean, std) x blocks x width
    assert len(emb.get_feature_names_out()) == X.shape[1]
    with pytest.raises(ValueError, match=r"layers must be one of \('last', 'blocks'\), got 'all'"):
        astromer.AstromerEmbedder(model, layers="all").fit(table)
    labels = pd.Series({f"o{k}": "ab"[k % 2] for k in range(4)})
    data = LabelledSet(table=table, labels=labels, test_ids=["o3"], pool_ids=["o0", "o1", "o2"])
    ids, E, _ = FewShotEvaluation(data, lambda: model, methods=["probe"]).embedding_table(model)
    assert ids == ["o0", "o1", "o2", "o3"]
    np.testing.assert_allclose(E, X, rtol=0, atol=1e-6)


def test_fold_on_the_periodogram_period(preset_dir):
    from astromer.baselines import best_periods, object_lc_features
    from astromer.data import fold_light_curves, prepare_light_curves

    rows = [(f"o{k}", band, t, m, e) for k in (2, 0, 1) for band in ("g", "r")
            for t, m, e in star(60, 10 * k + (band == "r"), 0.3 + k)]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    emb = astromer.AstromerEmbedder(preset_dir, fold="periodogram").fit(table)
    X = emb.transform(table)
    periods = best_periods(*object_lc_features(prepare_light_curves(table), n_jobs=1))
    np.testing.assert_allclose(periods.loc[["o2", "o0", "o1"]], [2.3, 0.3, 1.3], rtol=0.02)
    folded = fold_light_curves(table, periods)[0]
    expected = emb.model_.embed(folded, verbose=0).object_vectors(bands=["g", "r"])[1]
    np.testing.assert_array_equal(X, expected)  # rows in the table's object order: o2, o0, o1
    assert not np.allclose(X, astromer.AstromerEmbedder(preset_dir).fit(table).transform(table))
    # a list of arrays is folded too (objects 0..n-1), and a curve without a period is named
    curves = [star(60, 3, 0.7), star(60, 4, 5.0)]
    assert astromer.AstromerEmbedder(preset_dir, fold="periodogram").fit(curves).transform(curves).shape == (2, 16)
    with pytest.raises(ValueError, match=r"fold='periodogram': 1 object\(s\) have no periodogram period \(e.g. \[1\]\)"):
        astromer.AstromerEmbedder(preset_dir, fold="periodogram").fit(None).transform([curves[0], curves[1][:1]])
    with pytest.raises(ValueError, match=r"fold must be one of \(None, 'periodogram'\), got 'bls'"):
        astromer.AstromerEmbedder(preset_dir, fold="bls").fit(curves)


def test_bands_are_text_and_an_unseen_band_or_bandless_input_is_an_error(preset_dir):
    """Integer bands (1, 2) are the bands "1", "2" in fit and transform alike; a band fit did not
    see, curves without bands after a fit on bands, or an object with none of the chosen bands
    is an error naming it, never a row of zeros."""
    rows = [(f"o{k}", band, t, m, e) for k in range(2) for band in (1, 2) for t, m, e in star(25, 7 * k + band, 3.0)]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    emb = astromer.AstromerEmbedder(preset_dir).fit(table)
    assert emb.bands_ == ["1", "2"]
    X = emb.transform(table)
    assert X.shape == (2, 2 * emb.model_.width) and np.all(np.abs(X).sum(axis=1) > 0)
    np.testing.assert_array_equal(X, emb.transform(table.assign(band=table["band"].astype(str))))
    with pytest.raises(ValueError, match=r"^band\(s\) \['3'\] were not in the table given to fit \(its bands: "
                                         r"\['1', '2'\]\)"):
        emb.transform(table.assign(band=3))
    with pytest.raises(ValueError, match=r"^fit saw a table with bands \['1', '2'\]; transform needs one too"):
        emb.transform([star(30, 1, 2.0)])
    chosen = astromer.AstromerEmbedder(preset_dir, bands=[1]).fit(table)
    with pytest.raises(ValueError, match=r"^1 object\(s\) have no usable observation in the bands \['1'\] "
                                         r"\(e\.g\. \['o1'\]\)"):
        chosen.transform(pd.concat([table[table["object_id"] == "o0"], table[table["band"] == 2]]))


def test_time_scales_put_the_embeddings_of_scaled_times_side_by_side(preset_dir):
    """``time_scales=(1, 0.3)``: the curves as observed, then with their times x0.3 (the centred
    window times scaled: scaling the raw times gives the same vectors), twice as wide."""
    curves = [star(40, 1, 2.0), star(25, 2, 0.5), star(60, 3, 9.0)]
    both = astromer.AstromerEmbedder(preset_dir, statistics=("mean", "std"), time_scales=(1.0, 0.3)).fit(curves)
    plain = astromer.AstromerEmbedder(preset_dir, statistics=("mean", "std")).fit(curves)
    scaled = [np.column_stack([c[:, 0] * 0.3, c[:, 1:]]) for c in curves]
    X = both.transform(curves)
    assert X.shape == (3, both.n_features_out_) and both.n_features_out_ == 2 * plain.n_features_out_
    width = plain.n_features_out_ // 2   # per statistic: [observed | scaled]
    mean1, std1 = np.split(plain.transform(curves), 2, axis=1)
    mean3, std3 = np.split(plain.transform(scaled), 2, axis=1)
    np.testing.assert_allclose(X, np.hstack([mean1, mean3, std1, std3]), atol=2e-5)
    assert width and not np.allclose(mean1, mean3, atol=1e-3)   # the scale does change the vectors
    for bad in ((), (0.0,), (1.0, -2.0), ("x",), (float("nan"),)):
        with pytest.raises(ValueError, match="time_scales must be"):
            astromer.AstromerEmbedder(preset_dir, time_scales=bad).fit(curves)
